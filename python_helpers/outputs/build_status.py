"""What the last ``dbt build`` left behind, for the commands that read its marts.

The scorecard, the report and the export read public marts. When a build failed, those marts
are missing (or stale), and a bare database error would tell the user nothing: this module
names the marts that are missing, the nodes that failed in ``target/run_results.json`` and
what to do next.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterable
from pathlib import Path

import duckdb

RUN_RESULTS = Path("target") / "run_results.json"
FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})


def missing_tables(con: duckdb.DuckDBPyConnection, names: Iterable[str]) -> list[str]:
    """The tables (or views) of ``names`` the warehouse does not hold."""
    present = {name for (name,) in con.execute("select table_name from duckdb_tables()").fetchall()}
    present |= {name for (name,) in con.execute("select view_name from duckdb_views()").fetchall()}
    return [name for name in names if name not in present]


def failed_nodes(run_results: Path = RUN_RESULTS) -> list[str]:
    """'<node>: <first line of its message>' for each node the last dbt invocation failed."""
    if not run_results.exists():
        return []
    results = json.loads(run_results.read_text(encoding="utf-8")).get("results", [])
    lines = []
    for result in results:
        if str(result.get("status", "")).lower() in FAILED_STATUSES:
            node = result.get("unique_id", "?").split(".", 2)[-1]
            message = (result.get("message") or "").strip().splitlines()
            lines.append(f"{node}: {message[0] if message else 'failed'}")
    return lines


def explain_missing(database: Path, missing: list[str], run_results: Path | None = None) -> str:
    """A message for a warehouse whose marts are missing: which, why, and what to run.

    The run results are looked for beside the warehouse (dbt's target path holds both by
    default), then in ``target/``.
    """
    if run_results is None:
        beside = Path(database).parent / "run_results.json"
        run_results = beside if beside.exists() else RUN_RESULTS
    failures = failed_nodes(run_results)
    lines = [f"{database} has no {', '.join(missing)}: the last `dbt build` did not build it."]
    if failures:
        lines.append(f"The last dbt run ({run_results}) failed at:")
        lines += [f"  {line}" for line in failures[:10]]
        lines.append("Fix that (see logs/dbt.log), then run `dbt build` again.")
    else:
        lines.append("Run `dbt build` (or `make demo`) first.")
    return "\n".join(lines)


def public_key_warning(con: duckdb.DuckDBPyConnection) -> str | None:
    """A warning when the warehouse was built under the public demo key by opt-out."""
    exists = con.sql(
        "select count(*) from information_schema.tables where table_name = 'pseudonym_key'"
    ).fetchall()[0][0]
    if not exists:
        return None
    rows = con.sql("select key_source from pseudonym_key").fetchall()
    if not rows or rows[0][0] != "public_key_opt_out":
        return None
    return (
        "WARNING: throwaway warehouse: user ids were pseudonymised under the PUBLIC demo key "
        "(TASK_WATTS_ALLOW_PUBLIC_KEY=1); anyone can reverse them. Do not share it; set "
        "TASK_WATTS_PSEUDONYM_KEY and rebuild for real use."
    )


#: The warehouse every output reads, unless TASK_WATTS_DUCKDB_PATH or --database says otherwise.
DEFAULT_DATABASE = "target/task_watts.duckdb"


def add_database_argument(parser: argparse.ArgumentParser) -> None:
    """The ``--database`` option every output command takes, with the same default."""
    parser.add_argument(
        "--database",
        type=Path,
        default=Path(os.environ.get("TASK_WATTS_DUCKDB_PATH", DEFAULT_DATABASE)),
        help="DuckDB file built by `dbt build` (default: %(default)s)",
    )


def no_warehouse(database: Path) -> str | None:
    """What to do when ``database`` does not exist yet; None when it does."""
    if database.exists():
        return None
    return f"no warehouse at {database}: run `make demo` (or `dbt build`) first"
