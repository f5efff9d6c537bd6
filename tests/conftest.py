"""Fixtures shared across test modules: the generated sample most end-to-end tests read."""

from __future__ import annotations

from pathlib import Path

import harness
import pytest


@pytest.fixture(scope="session")
def sample_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway project copy with the shared sample built into target/task_watts.duckdb.

    Built once per session and read by the semantic-layer, report and BI tests; tests must not
    write into its warehouse (copy it first).
    """
    return harness.build_project(tmp_path_factory.mktemp("shared") / "project")
