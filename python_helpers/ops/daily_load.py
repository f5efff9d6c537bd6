"""Load one day of telemetry: the contract gate, then an incremental ``dbt build`` of that day.

    task-watts daily --raw-dir DIR --date YYYY-MM-DD

1. The Great Expectations gate (``python_helpers.ops.gate``) validates the day's files
   (``DIR/inference_calls/date=YYYY-MM-DD/*``, ``DIR/task_events/date=YYYY-MM-DD/*``). A
   blocking failure prints the file, column, rule, row count and examples, writes the Data
   Docs page and exits 2: dbt never runs and the warehouse is not touched.
2. Otherwise ``dbt build --vars {daily_load: true, raw_dir: ...}`` runs on the warehouse with
   the day in ``TASK_WATTS_BATCH_DATE`` (an environment variable, so that the vars, and with
   them dbt's partial parse, stay the same from one day to the next) and checkpoints
   deferred (``TASK_WATTS_DEFER_CHECKPOINT=1``, read by ``profiles.yml``): every change stays
   in DuckDB's write-ahead log. When every model and test passed, a checkpoint publishes the
   day in one step; otherwise the log is deleted, which rolls the day back, and the command
   exits 1 with every table exactly as it was (the previous marts still serve).
   Nothing is copied, so the cost is the day's, not the warehouse's. A marker file
   ``<warehouse>.loading`` exists while a load runs: a load killed midway is rolled back by the
   next ``task-watts daily`` (open the warehouse read-only until then).

Exit codes: 0 loaded, 1 dbt build failed (warehouse unchanged), 2 blocked by the gate.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import yaml

from python_helpers.ops.gate import GateReport, validate_batch
from python_helpers.project import PROJECT_ROOT

LOADED, FAILED, BLOCKED = 0, 1, 2


@dataclass
class LoadResult:
    """What happened to one day."""

    exit_code: int
    gate: GateReport
    messages: list[str]

    @property
    def loaded(self) -> bool:
        return self.exit_code == LOADED


def _release_duckdb() -> None:
    """Close the DuckDB handle dbt-duckdb keeps open in this process after a run."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    env = DuckDBConnectionManager._ENV
    if env is not None:
        env.close()
    DuckDBConnectionManager.close_all_connections()


def run_dbt_build(
    raw_dir: Path,
    db_path: Path,
    dbt_vars: dict[str, Any],
    target_path: Path | None = None,
    log_path: Path | None = None,
    extra_args: Sequence[str] = (),
) -> tuple[bool, list[str]]:
    """``dbt build`` of the project into ``db_path``; returns (success, failure messages).

    ``extra_args`` go to ``dbt build`` as they are (a selection, for example)."""
    from dbt.cli.main import dbtRunner

    args = [
        "build",
        "--project-dir", str(PROJECT_ROOT),
        "--profiles-dir", str(PROJECT_ROOT),
        "--vars", json.dumps({"raw_dir": str(raw_dir), **dbt_vars}),
        "--no-use-colors",
        "--no-send-anonymous-usage-stats",
        "--no-version-check",
        "--quiet",
    ]  # fmt: skip
    args += list(extra_args)
    if target_path is not None:
        args += ["--target-path", str(target_path)]
    if log_path is not None:
        args += ["--log-path", str(log_path)]
    saved = {k: os.environ.get(k) for k in ("TASK_WATTS_RAW_DIR", "TASK_WATTS_DUCKDB_PATH")}
    os.environ["TASK_WATTS_RAW_DIR"] = str(raw_dir)
    os.environ["TASK_WATTS_DUCKDB_PATH"] = str(db_path)
    try:
        result = dbtRunner().invoke(args)
    finally:
        _release_duckdb()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    if result.exception is not None:
        return False, [f"dbt raised: {result.exception}"]
    failures = [
        f"{r.node.name} [{getattr(r.status, 'value', r.status)}]: {r.message}"
        for r in (result.result or [])
        if str(getattr(r.status, "value", r.status)) in {"error", "fail", "runtime error"}
    ]
    return bool(result.success), failures


def batch_summary(db_path: Path, batch_date: date) -> list[str]:
    """Accepted and quarantined rows of the day, by reason (read-only)."""
    day = batch_date.isoformat()
    lines = []
    with duckdb.connect(str(db_path), read_only=True) as con:
        for name, accepted in (
            ("inference_calls", "int_inference_calls__accepted"),
            ("task_events", "int_task_events__accepted"),
        ):
            n = con.sql(f"select count(*) from {accepted} where batch_date = '{day}'").fetchall()
            reasons = con.sql(
                f"select reason, count(*), bool_and(is_rejected) from quarantine__{name} "
                f"where batch_date = '{day}' group by reason order by reason"
            ).fetchall()
            listed = ", ".join(
                f"{reason} {count}{'' if rejected else ' (kept, flagged)'}"
                for reason, count, rejected in reasons
            )
            lines.append(f"  {name}: {n[0][0]} accepted; quarantine__{name}: {listed or 'nothing'}")
    return lines


DEFER_CHECKPOINT = "TASK_WATTS_DEFER_CHECKPOINT"
# The day dbt loads (macros/telemetry_batches.sql reads it).
BATCH_DATE = "TASK_WATTS_BATCH_DATE"
# Models that read no telemetry (seeds and constants only): a daily load leaves them be.
SEED_ONLY_MODELS = ["int_batch_size_efficiency__bands", "metricflow_time_spine"]


def _loading_marker(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".loading")


def _discard_log(db_path: Path, keep_file: bool) -> None:
    """Roll back every change since the last checkpoint by deleting DuckDB's write-ahead log.

    The file itself still holds the last checkpoint's state (blocks a deferred load wrote
    ahead are unreferenced there); a warehouse the load itself created is removed."""
    db_path.with_name(db_path.name + ".wal").unlink(missing_ok=True)
    if not keep_file:
        db_path.unlink(missing_ok=True)


@contextmanager
def _load_lock(db_path: Path) -> Iterator[None]:
    """One load at a time per warehouse: an exclusive lock on ``<warehouse>.lock``, held for the
    whole load (the OS releases it if the process dies). So a marker found under the lock is
    always a load that died, never one still running."""
    lock_path = db_path.with_name(db_path.name + ".lock")
    with lock_path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SystemExit(
                f"another daily load of {db_path} is running ({lock_path} is locked); "
                "wait for it to finish"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def roll_back_interrupted_load(db_path: Path) -> bool:
    """Roll back a daily load that was killed midway (its marker file is still there).

    Call it only under the load lock (load_day does)."""
    marker = _loading_marker(Path(db_path))
    if not marker.exists():
        return False
    _discard_log(Path(db_path), keep_file=True)
    marker.unlink()
    return True


def load_day(
    raw_dir: Path,
    batch_date: date,
    db_path: Path,
    docs_dir: Path | None = None,
    target_path: Path | None = None,
    log_path: Path | None = None,
    extra_vars: dict[str, Any] | None = None,
) -> LoadResult:
    """Gate, then build ``batch_date`` into ``db_path`` atomically; see the module docstring."""
    raw_dir, db_path = Path(raw_dir).resolve(), Path(db_path)
    gate = validate_batch(raw_dir, batch_date, docs_dir=docs_dir, overrides=extra_vars)
    messages = [gate.render()]
    if not gate.passed:
        messages.append(f"batch {batch_date} blocked: nothing loaded, {db_path} unchanged")
        return LoadResult(BLOCKED, gate, messages)

    with _load_lock(db_path):
        return _build_day(raw_dir, batch_date, db_path, gate, messages, target_path, log_path,
                          extra_vars)  # fmt: skip


def _build_day(
    raw_dir: Path,
    batch_date: date,
    db_path: Path,
    gate: GateReport,
    messages: list[str],
    target_path: Path | None,
    log_path: Path | None,
    extra_vars: dict[str, Any] | None,
) -> LoadResult:
    """The dbt half of load_day, under the warehouse's load lock."""
    roll_back_interrupted_load(db_path)
    existed = db_path.exists()
    seeded = False
    tables: set[str] = set()
    if existed:
        with duckdb.connect(str(db_path)) as con:
            con.execute("checkpoint")  # nothing of an earlier session waits in the log
            tables = {
                name for (name,) in con.execute("select table_name from duckdb_tables()").fetchall()
            }
            seeded = {p.stem for p in (PROJECT_ROOT / "seeds").glob("*.csv")} <= tables
    marker = _loading_marker(db_path)
    marker.touch()
    dbt_vars = {"daily_load": True, **(extra_vars or {})}
    saved = {key: os.environ.get(key) for key in (DEFER_CHECKPOINT, BATCH_DATE)}
    os.environ[DEFER_CHECKPOINT] = "1"
    os.environ[BATCH_DATE] = batch_date.isoformat()
    try:
        # Unit tests check the SQL and the seeds are the coefficients: neither changes with a
        # day's data, so every full build (and CI) runs them and a daily load does not (but
        # loads the seeds into a warehouse that has none yet). A changed seed needs a full
        # build anyway, to reprice history.
        excluded = ["test_type:unit"] + (["resource_type:seed"] if seeded else [])
        # Tables made from seeds and constants alone are what the last full build left.
        if seeded and set(SEED_ONLY_MODELS) <= tables:
            excluded += SEED_ONLY_MODELS
        ok, failures = run_dbt_build(
            raw_dir, db_path, dbt_vars, target_path, log_path,
            extra_args=["--exclude", *excluded],
        )  # fmt: skip
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    if not ok:
        _discard_log(db_path, existed)
        marker.unlink(missing_ok=True)
        messages += [f"  {line}" for line in failures]
        messages.append(f"dbt build of {batch_date} failed: {db_path} unchanged")
        return LoadResult(FAILED, gate, messages)
    with duckdb.connect(str(db_path)) as con:
        con.execute("checkpoint")
    marker.unlink()
    messages.append(f"batch {batch_date} loaded into {db_path}")
    messages += batch_summary(db_path, batch_date)
    return LoadResult(LOADED, gate, messages)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw-dir", type=Path, required=True, help="folder of date=... folders")
    parser.add_argument("--date", type=date.fromisoformat, required=True, help="YYYY-MM-DD")
    parser.add_argument(
        "--db",
        type=Path,
        default=Path(os.environ.get("TASK_WATTS_DUCKDB_PATH", "target/task_watts.duckdb")),
        help="warehouse file (default $TASK_WATTS_DUCKDB_PATH or target/task_watts.duckdb)",
    )
    parser.add_argument(
        "--docs-dir", type=Path, default=Path("target/gx_docs"), help="Data Docs output folder"
    )
    parser.add_argument("--target-path", type=Path, default=None, help="dbt --target-path")
    parser.add_argument("--log-path", type=Path, default=None, help="dbt --log-path")
    parser.add_argument(
        "--vars",
        type=yaml.safe_load,
        default={},
        help="YAML dict of dbt vars, as for dbt --vars; the gate reads the same thresholds",
    )
    args = parser.parse_args(argv)
    if not isinstance(args.vars, dict):
        parser.error("--vars must be a YAML mapping, e.g. '{max_no_task_call_share: 0.2}'")
    result = load_day(
        args.raw_dir, args.date, args.db, args.docs_dir, args.target_path, args.log_path,
        extra_vars=args.vars,
    )  # fmt: skip
    print("\n".join(result.messages))
    return result.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
