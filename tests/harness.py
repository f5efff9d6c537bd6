"""The shared end-to-end harness: a throwaway copy of the project, built as `make demo` builds it.

Test modules import these helpers from here (never from each other); conftest.py builds the
one generated sample most end-to-end tests share, once per session.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from dbt.cli.main import dbtRunner, dbtRunnerResult

from python_helpers.tools.sample_workload import write_sample_workload

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
#: The shared sample: 4,000 calls, seed 11.
N_CALLS = 4_000
SEED = 11
#: Entries of the real project that a throwaway copy must not share (build output, caches).
NOT_LINKED = {"target", "logs", ".git", ".pytest_cache", ".ruff_cache", ".hypothesis"}


# --------------------------------------------------------------------------------------------
# A throwaway copy of the project, built like `make demo` builds it (default paths).
# --------------------------------------------------------------------------------------------


def make_project(folder: Path) -> Path:
    """A folder that looks like the project root (symlinks) but has its own empty target/."""
    folder.mkdir(parents=True, exist_ok=True)
    for entry in ROOT.iterdir():
        if entry.name not in NOT_LINKED and not entry.name.endswith(".egg-info"):
            (folder / entry.name).symlink_to(entry)
    (folder / "target").mkdir()
    return folder


def clean_env() -> dict[str, str]:
    """The caller's environment without any TASK_WATTS_* / DBT_* override: defaults apply."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TASK_WATTS_", "DBT_"))}
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    return env


def run(args: Sequence[str | Path], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_ok(args: Sequence[str | Path], cwd: Path, timeout: int = 300) -> str:
    proc = run(args, cwd, timeout)
    assert proc.returncode == 0, f"{args} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc.stdout


def build_project(folder: Path, n_calls: int = N_CALLS, seed: int = SEED) -> Path:
    """Generate a sample into target/sample and `dbt build` it into target/task_watts.duckdb."""
    project = make_project(folder)
    write_sample_workload(project / "target" / "sample", n_calls=n_calls, seed=seed)
    run_ok([BIN / "dbt", "build", "--no-use-colors"], project, timeout=600)
    assert (project / "target" / "semantic_manifest.json").exists()
    return project


def database(project: Path) -> Path:
    return project / "target" / "task_watts.duckdb"


# --------------------------------------------------------------------------------------------
# dbt in this process, on a raw folder and a DuckDB file of the test's own.
# --------------------------------------------------------------------------------------------


def _release_duckdb() -> None:
    """Close the DuckDB file dbt-duckdb keeps open in this process after ``invoke`` returns.

    dbt-duckdb caches one database handle per process (DuckDBConnectionManager._ENV) and
    keeps its write lock after the run; without this, neither another process nor a
    read-only connection from this one can open the file.
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    env = DuckDBConnectionManager._ENV
    if env is not None:
        env.close()
    DuckDBConnectionManager.close_all_connections()


def run_dbt(
    command: str, raw_dir: Path, db_path: Path, work_dir: Path, *args: str
) -> dbtRunnerResult:
    """``dbt <command>`` on the project with the raw folder and DuckDB file given by env."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TASK_WATTS_RAW_DIR", str(raw_dir))
        env.setenv("TASK_WATTS_DUCKDB_PATH", str(db_path))
        try:
            return dbtRunner().invoke(
                [
                    command,
                    "--project-dir", str(ROOT),
                    "--profiles-dir", str(ROOT),
                    "--target-path", str(work_dir / "target"),
                    "--log-path", str(work_dir / "logs"),
                    "--no-use-colors",
                    "--no-send-anonymous-usage-stats",
                    "--no-version-check",
                    *args,
                ]
            )  # fmt: skip
        finally:
            _release_duckdb()
