"""Fixtures shared across test modules: the generated sample most end-to-end tests read."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import harness
import pytest

#: The suite's own pseudonymisation key: hand-made raw folders are not the generated sample,
#: so (like real telemetry) they only build with a key set. Public, and only for tests.
TEST_PSEUDONYM_KEY = "task-watts test suite key (public, tests only)"
KEY_VARIABLES = ("TASK_WATTS_PSEUDONYM_KEY", "TASK_WATTS_PSEUDONYM_KEY_FILE")


@pytest.fixture(scope="session", autouse=True)
def pseudonym_key() -> Iterator[None]:
    """Set the test key for in-process dbt runs unless the caller set a key of their own."""
    if any(os.environ.get(name) for name in KEY_VARIABLES):
        yield
        return
    os.environ["TASK_WATTS_PSEUDONYM_KEY"] = TEST_PSEUDONYM_KEY
    try:
        yield
    finally:
        os.environ.pop("TASK_WATTS_PSEUDONYM_KEY", None)


@pytest.fixture(scope="session")
def sample_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway project copy with the shared sample built into target/task_watts.duckdb.

    Built once per session and read by the semantic-layer, report and BI tests; tests must not
    write into its warehouse (copy it first).
    """
    return harness.build_project(tmp_path_factory.mktemp("shared") / "project")
