"""The dbt project these helpers belong to: where it is, and its vars as dbt resolves them.

Every operation and tool finds the project through here, so a checkout, an installed
package (editable) and a test's temporary copy all resolve the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import yaml

PROJECT_ROOT: Final = Path(__file__).resolve().parents[1]


def project_vars(overrides: dict[str, Any] | None = None, root: Path = PROJECT_ROOT) -> dict:
    """``dbt_project.yml`` vars with ``--vars`` overrides on top, as dbt merges them."""
    project = yaml.safe_load((root / "dbt_project.yml").read_text(encoding="utf-8"))
    return {**project["vars"], **(overrides or {})}
