"""Write every public mart of the warehouse to Parquet, one file per mart, for BI tools.

The DuckDB file is opened read-only (as any BI tool would open it), so the export can run
beside other readers but not while `dbt build` holds the file. Public marts are the tables
named ``fct_*`` or ``mart_*`` in the ``main`` schema (models/marts); each becomes
``<out>/<mart>.parquet`` with the warehouse's column names and types.

    task-watts export [--database target/task_watts.duckdb] [--out target/export]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb

from python_helpers.outputs.build_status import add_database_argument, no_warehouse

DEFAULT_OUT = "target/export"
PUBLIC_PREFIXES = ("fct_", "mart_")


@dataclass(frozen=True)
class ExportedMart:
    """One mart written to Parquet."""

    name: str
    path: Path
    rows: int


def public_marts(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Names of the public marts (``fct_*``, ``mart_*`` tables in schema main), sorted."""
    rows = con.sql(
        """
        select table_name
        from information_schema.tables
        where table_schema = 'main' and table_type = 'BASE TABLE'
        order by table_name
        """
    ).fetchall()
    return [name for (name,) in rows if name.startswith(PUBLIC_PREFIXES)]


def _sql_string(value: str) -> str:
    """A single-quoted SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def export_marts(database: Path, out_dir: Path) -> list[ExportedMart]:
    """Copy each public mart of ``database`` to ``out_dir/<mart>.parquet``; return the files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    exported: list[ExportedMart] = []
    with duckdb.connect(str(database), read_only=True) as con:
        for name in public_marts(con):
            path = out_dir / f"{name}.parquet"
            con.execute(
                f'copy (select * from main."{name}") to {_sql_string(str(path))} '
                "(format parquet, compression zstd)"
            )
            rows = con.sql(f'select count(*) from main."{name}"').fetchall()[0][0]
            exported.append(ExportedMart(name, path, rows))
    return exported


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_database_argument(parser)
    parser.add_argument(
        "--out", type=Path, default=Path(DEFAULT_OUT), help="output folder (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    problem = no_warehouse(args.database)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    exported = export_marts(args.database, args.out)
    if not exported:
        print(f"no public marts (fct_*, mart_*) in {args.database}", file=sys.stderr)
        return 1
    for mart in exported:
        print(f"{mart.path}  {mart.rows:,} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
