"""dbt-duckdb plugin: hold a daily load's changes in the write-ahead log until it is published.

``task-watts daily`` (python_helpers/ops/daily_load.py) sets ``TASK_WATTS_DEFER_CHECKPOINT=1``
for its ``dbt build``. This plugin then opens the DuckDB database with checkpoints deferred:
no automatic checkpoint, no direct-to-file commit of a large write, no checkpoint when the
warehouse is detached. Every change of the load stays in ``<warehouse>.wal`` while the file
keeps the state of the last checkpoint. When every model and test passed, the load
checkpoints (the day is published at once); otherwise it deletes the log, which rolls the
day back. Nothing is copied, so a load costs what its day costs.

Read at connect time from the environment (not from profiles.yml), so a daily load and a full
build share one parsed project.
"""

from __future__ import annotations

import os
from typing import Any, Final

import duckdb
from dbt.adapters.duckdb.plugins import BasePlugin

ENV_VAR: Final[str] = "TASK_WATTS_DEFER_CHECKPOINT"

#: DuckDB settings that keep every change in the write-ahead log (DuckDB 2.0 names).
DEFERRED: Final[dict[str, str]] = {
    "checkpoint_threshold": "1000TB",
    "auto_checkpoint_skip_wal_threshold": str(2**62),
    "checkpoint_on_detach": "DISABLED",
}


def deferred_settings(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The connection settings for this process: DEFERRED under a daily load, else none."""
    environ = dict(os.environ) if environ is None else environ
    return dict(DEFERRED) if environ.get(ENV_VAR) == "1" else {}


class Plugin(BasePlugin):
    def update_connection_config(self, creds: Any, config: dict[str, Any]) -> None:
        config.update(deferred_settings())

    def configure_connection(self, conn: duckdb.DuckDBPyConnection) -> None:
        # checkpoint_on_detach alone does not stop the checkpoint DuckDB makes when the
        # database closes; this pragma does (checked with DuckDB 2.0.1).
        if deferred_settings():
            conn.execute("pragma disable_checkpoint_on_shutdown")
