"""The same project built on DuckDB and on Spark gives the same tables.

    task-watts spark-compare --duckdb target/test_build.duckdb --spark-dir target/spark

Every table of the DuckDB warehouse that the Spark build also wrote is compared (the public
facts and marts, the accepted inputs, the task table, the quarantine): the Spark tables are
Parquet folders in the session's warehouse, which DuckDB reads directly. Rows are matched on
the table's key (the column its ``unique`` test names in the manifest); numbers must agree
within ``rel_tol`` relative to the larger magnitude (or within ``abs_tol`` of the column's
largest magnitude: differences of sums that are zero on one engine are 1e-13 on the other),
NULL only with NULL, NaN and infinities exactly; every other value exactly. A table of the
DuckDB warehouse missing on Spark is a difference. Row counts and the set of columns must be equal.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from python_helpers.project import PROJECT_ROOT

NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE")
#: Tables without a one-column unique key: matched on these columns instead.
COMPOSITE_KEYS = {
    "stg_telemetry__grid_intensity_hourly": ("grid_zone", "hour_start_at"),
}
#: Compared as counts per reason: the quarantine has no key (a row per raw row and reason).
COUNTED = {"quarantine__inference_calls": "reason", "quarantine__task_events": "reason"}


@dataclass
class EngineComparison:
    """What differs between the two builds, table by table."""

    rows: dict[str, tuple[int, int]] = field(default_factory=dict)
    worst: dict[str, tuple[str, float]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return not self.problems

    def render(self) -> str:
        lines = ["DuckDB build vs Spark build:"]
        for table, (n_duck, n_spark) in self.rows.items():
            column, diff = self.worst.get(table, ("-", 0.0))
            lines.append(
                f"  {table}: {n_duck} rows (DuckDB) vs {n_spark} (Spark), "
                f"max relative difference {diff:.3g} ({column})"
            )
        lines += [f"  DIFFERENT: {p}" for p in self.problems] or ["  equal"]
        return "\n".join(lines)


def unique_keys(manifest: Path) -> dict[str, tuple[str, ...]]:
    """Model name -> the column its ``unique`` data test names."""
    nodes = json.loads(manifest.read_text())["nodes"].values()
    keys: dict[str, tuple[str, ...]] = dict(COMPOSITE_KEYS)
    for node in nodes:
        meta = node.get("test_metadata") or {}
        if node["resource_type"] == "test" and meta.get("name") == "unique":
            keys.setdefault(node["attached_node"].split(".")[-1], (meta["kwargs"]["column_name"],))
    return keys


def _built_tables(manifest: Path) -> set[str]:
    """The models and seeds the project stores as tables (not views, not stored test failures)."""
    nodes = json.loads(manifest.read_text())["nodes"].values()
    return {
        node["alias"] or node["name"]
        for node in nodes
        if node["resource_type"] in ("model", "seed")
        and node["config"]["materialized"] in ("table", "incremental", "seed")
    }


def _is_numeric(data_type: str) -> bool:
    return data_type.upper().startswith(NUMERIC_TYPES) or data_type.upper().startswith("DECIMAL")


def _column_scales(con: Any, left: str, right: str, columns: Sequence[str]) -> dict[str, float]:
    """The largest finite magnitude of each column over both tables: the unit in which a
    difference counts as rounding (see compare_builds)."""
    if not columns:
        return {}
    parts = ", ".join(
        f'max(abs(case when isfinite(cast("{c}" as double)) then cast("{c}" as double) end))'
        for c in columns
    )
    selected = ", ".join(f'"{c}"' for c in columns)
    rows = con.execute(
        f"select {parts} from (select {selected} from {left} union all "
        f"select {selected} from {right})"
    ).fetchall()[0]
    return {c: float(v or 0.0) for c, v in zip(columns, rows, strict=True)}


def compare_builds(
    duckdb_path: Path,
    spark_warehouse: Path,
    manifest: Path,
    rel_tol: float = 1e-9,
    abs_tol: float = 1e-9,
) -> EngineComparison:
    """Compare every table both builds wrote (see the module docstring). Two numbers within
    ``abs_tol`` times the column's largest magnitude are equal whatever their ratio: a saving
    that is a difference of two sums is 0 on one engine and 1e-13 on the other, summed in
    another order. NaN and infinities must match exactly."""
    result = EngineComparison()
    keys = unique_keys(manifest)
    with duckdb.connect() as con:
        con.execute("set enable_progress_bar = false")
        con.execute(f"attach '{duckdb_path}' as d (read_only)")
        built = _built_tables(manifest)
        duckdb_tables = sorted(
            name
            for (name,) in con.execute(
                "select table_name from duckdb_tables() where database_name = 'd'"
            ).fetchall()
            if name in built
        )
        tables = [name for name in duckdb_tables if (spark_warehouse / name).is_dir()]
        missing = sorted(set(duckdb_tables) - set(tables))
        if missing or not tables:
            result.problems.append(f"tables of {duckdb_path} not in {spark_warehouse}: {missing}")
        for table in tables:
            spark = f"read_parquet('{spark_warehouse / table}/*.parquet')"
            d_cols = {c[0]: c[1] for c in con.execute(f"describe d.main.{table}").fetchall()}
            s_cols = {c[0]: c[1] for c in con.execute(f"describe select * from {spark}").fetchall()}
            if set(d_cols) != set(s_cols):
                result.problems.append(
                    f"{table}: columns only in DuckDB {sorted(set(d_cols) - set(s_cols))}, "
                    f"only in Spark {sorted(set(s_cols) - set(d_cols))}"
                )
            n_duck, n_spark = (
                con.execute(f"select count(*) from {rel}").fetchall()[0][0]
                for rel in (f"d.main.{table}", spark)
            )
            result.rows[table] = (n_duck, n_spark)
            if n_duck != n_spark:
                result.problems.append(f"{table}: {n_duck} rows on DuckDB, {n_spark} on Spark")
            if table in COUNTED:
                by = COUNTED[table]
                counts = [
                    dict(con.execute(f"select {by}, count(*) from {rel} group by {by}").fetchall())
                    for rel in (f"d.main.{table}", spark)
                ]
                if counts[0] != counts[1]:
                    result.problems.append(f"{table} per {by}: {counts[0]} vs {counts[1]}")
                continue
            key = keys.get(table)
            if key is None:
                # No key to match rows on (a seed, a one-row table): the same rows exactly.
                differing = sum(
                    con.execute(
                        f"select count(*) from (select * from {a} except all select * from {b})"
                    ).fetchall()[0][0]
                    for a, b in ((f"d.main.{table}", spark), (spark, f"d.main.{table}"))
                )
                if differing:
                    result.problems.append(f"{table}: {differing} rows differ (compared whole)")
                continue
            shared = [c for c in d_cols if c in s_cols and c not in key]
            numeric = [c for c in shared if _is_numeric(d_cols[c]) and _is_numeric(s_cols[c])]
            scales = _column_scales(con, f"d.main.{table}", spark, numeric)
            measures = []
            for c in shared:
                a, b = f'd."{c}"', f's."{c}"'
                if c in numeric:
                    a, b = f"cast({a} as double)", f"cast({b} as double)"
                    measures.append(
                        f"max(case when {a} is not distinct from {b} then 0.0 "
                        f"when {a} is null or {b} is null then 'Infinity'::double "
                        f"when not isfinite({a}) or not isfinite({b}) then 'Infinity'::double "
                        f"when abs({a} - {b}) <= {abs_tol * scales[c]!r} then 0.0 "
                        f"else abs({a} - {b}) / greatest(abs({a}), abs({b})) end)"
                    )
                else:
                    measures.append(
                        f"case when count(*) filter ({a} is distinct from {b}) > 0 "
                        f"then 'Infinity'::double else 0.0 end"
                    )
            on = " and ".join(f'd."{k}" = s."{k}"' for k in key)
            unmatched = " or ".join(f'd."{k}" is null or s."{k}" is null' for k in key)
            row = con.execute(f"""
                select count(*) filter ({unmatched}) {"".join(", " + m for m in measures)}
                from d.main.{table} as d
                full outer join {spark} as s on {on}
            """).fetchall()[0]  # fmt: skip
            if row[0]:
                result.problems.append(f"{table}: {row[0]} keys on one side only")
            diffs = [0.0 if v is None else v for v in row[1:]]
            if shared:
                result.worst[table] = max(zip(shared, diffs, strict=True), key=lambda x: x[1])
            for column, diff in zip(shared, diffs, strict=True):
                if diff > rel_tol:
                    result.problems.append(f"{table}.{column}: relative difference {diff:.3g}")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duckdb", type=Path, required=True, help="the DuckDB warehouse file")
    parser.add_argument(
        "--spark-dir",
        type=Path,
        default=PROJECT_ROOT / "target" / "spark",
        help="TASK_WATTS_SPARK_DIR of the Spark build",
    )
    parser.add_argument(
        "--manifest", type=Path, default=PROJECT_ROOT / "target" / "manifest.json",
        help="a manifest of the project (for the tables' keys)",
    )  # fmt: skip
    parser.add_argument("--rel-tol", type=float, default=1e-9)
    args = parser.parse_args(argv)
    comparison = compare_builds(
        args.duckdb, args.spark_dir / "warehouse" / "task_watts.db", args.manifest, args.rel_tol
    )
    print(comparison.render())
    return 0 if comparison.equal else 1


if __name__ == "__main__":
    sys.exit(main())
