"""A hand-written DuckDB reference of the whole computation, and its equality check with dbt.

    task-watts reference --raw-dir DIR --db FILE [--compare WAREHOUSE] [--memory-limit 4GB]

``pipeline.sql`` (beside this file) does the work of the dbt build that the public marts need,
as one plain DuckDB script: read the raw files and seed CSVs, apply the row rules and
quarantine reasons, de-duplicate, price every call (batch curve, prefill/decode/cache split,
idle floor, host overhead, PUE, hour > month > year grid, bounds, embodied, water), roll the
calls up into tasks and write ``fct_inference_call_footprint``, ``fct_task_footprint``,
``mart_feature_task_watts``, ``mart_model_efficiency`` and both quarantine tables into FILE.
Its parameters are the vars of ``dbt_project.yml``. It is the yardstick of
``task-watts benchmark`` and, through :func:`compare`, an independent check of the marts.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any, Final

import duckdb
import yaml

from python_helpers.ops.pseudonym_plugin import load_key
from python_helpers.ops.pseudonym_plugin import register as register_pseudonym
from python_helpers.project import PROJECT_ROOT, project_vars

PIPELINE: Final = Path(__file__).with_name("pipeline.sql")
#: The optional tail that stores the accepted inputs and the task table (--store-inputs).
STORE_INPUTS: Final = Path(__file__).with_name("store_inputs.sql")
EXTENSIONS: Final = ("parquet", "csv", "jsonl", "ndjson", "json")
#: Characters an id is trimmed of (what RE2's \s matches, plus the non-breaking space).
BLANK_CHARS: Final = "' ' || chr(9) || chr(10) || chr(12) || chr(13) || chr(160)"
OPTIONAL_COLUMNS: Final = {
    "inference_calls": {
        "gpu_type": "varchar",
        "gpu_count": "integer",
        "batch_size": "integer",
        "measured_energy_j": "double",
    },
    "task_events": {"quality_score": "double"},
    "grid_intensity_hourly": {
        "grid_zone": "varchar",
        "hour_start_at": "timestamp",
        "gco2e_per_kwh": "double",
    },
}

#: The outputs compared with the dbt warehouse: table -> key column.
#: The key of ReferenceRun.counts holding each input's raw rows.
RAW_COUNT: Final = {"inference_calls": "raw_calls", "task_events": "raw_events"}

COMPARED: Final = {
    "fct_inference_call_footprint": "call_id",
    "fct_task_footprint": "task_id",
    "mart_feature_task_watts": "feature_day_id",
    "mart_model_efficiency": "model_efficiency_id",
}
#: Columns of mart_model_efficiency compared (a merge of mart_model_card may add others).
MODEL_EFFICIENCY_COLUMNS: Final = (
    "model_efficiency_id", "model", "model_tier", "provider", "gpu_type", "month_start",
    "calls", "measured_calls", "estimated_calls", "energy_method", "input_tokens",
    "cached_input_tokens", "output_tokens", "accelerator_wh", "accelerator_wh_low",
    "accelerator_wh_high", "facility_wh", "gco2e_location", "output_tokens_per_accelerator_wh",
    "output_tokens_per_accelerator_wh_low", "output_tokens_per_accelerator_wh_high",
    "accelerator_wh_per_1k_tokens", "facility_wh_per_1k_tokens", "gco2e_per_1k_tokens",
    "cache_hit_rate", "calls_with_batch_size", "mean_batch_size",
)  # fmt: skip


# --------------------------------------------------------------------------------------------
# Rendering the pipeline
# --------------------------------------------------------------------------------------------


def telemetry_files(raw_dir: Path, name: str) -> list[tuple[str, str]]:
    """(extension, path) of every file holding ``name``: ``name.ext`` or ``name/**/*.ext``."""
    found = []
    for extension in EXTENSIONS:
        paths = [raw_dir / f"{name}.{extension}", *(raw_dir / name).glob(f"**/*.{extension}")]
        found += [(extension, str(p)) for p in paths if p.is_file()]
    return sorted(found, key=lambda item: item[1])


def _quote(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def reader_sql(files: list[tuple[str, str]]) -> str:
    """One SELECT over all ``files`` (by name across formats), with a ``filename`` column."""
    readers = []
    for extension in EXTENSIONS:
        paths = [p for e, p in files if e == extension]
        if not paths:
            continue
        listed = "[" + ", ".join(map(_quote, paths)) + "]"
        common = "union_by_name = true, hive_partitioning = false, filename = true"
        if extension == "parquet":
            readers.append(f"select * from read_parquet({listed}, {common})")
        elif extension == "csv":
            csv = "header = true, all_varchar = true"
            readers.append(f"select * from read_csv({listed}, {csv}, {common})")
        else:
            json = "format = 'newline_delimited'"
            readers.append(f"select * from read_json({listed}, {json}, {common})")
    return "\nunion all by name\n".join(readers)


def timestamp_sql(column: str, column_type: str) -> str:
    """A UTC timestamp from the column as stored: native, ISO text (offsets convert) or epoch
    seconds / ms / us / ns told apart by magnitude. Only the branch the type needs is used."""
    upper = column_type.upper()
    if upper == "TIMESTAMP":
        return column
    if upper.startswith(("TIMESTAMP", "DATE")):
        return f"cast({column} as timestamp)"
    number = f"cast({column} as double)" if upper != "VARCHAR" else f"try_cast({column} as double)"
    epoch = (
        f"case when abs({number}) < 1e11 then make_timestamp(cast(round({number} * 1e6) as bigint))"
        f" when abs({number}) < 1e14 then make_timestamp(cast(round({number} * 1e3) as bigint))"
        f" when abs({number}) < 1e17 then make_timestamp(cast(round({number}) as bigint))"
        f" else make_timestamp(cast(round({number} / 1e3) as bigint)) end"
    )
    if upper != "VARCHAR":
        return epoch
    text = f"cast(cast({column} as timestamptz) as timestamp)"
    return f"case when {number} is null then {text} else {epoch} end"


def _sql_list(values: Sequence[str]) -> str:
    return ", ".join(map(_quote, values))


def create_raw_views(con: duckdb.DuckDBPyConnection, raw_dir: Path) -> dict[str, str]:
    """Views calls_raw, events_raw, grid_raw over the raw folder; returns timestamp SQL."""
    timestamps = {}
    for name, view, required in (
        ("inference_calls", "calls_raw", True),
        ("task_events", "events_raw", True),
        ("grid_intensity_hourly", "grid_raw", False),
    ):
        files = telemetry_files(raw_dir, name)
        optional = OPTIONAL_COLUMNS[name]
        if not files:
            if required:
                raise FileNotFoundError(f"no telemetry file for {name!r} in {raw_dir}")
            nulls = ", ".join(f"cast(null as {t}) as {c}" for c, t in optional.items())
            con.execute(f"create temp view {view} as select {nulls} where false")
            continue
        body = reader_sql(files)
        present = {row[0] for row in con.execute(f"describe {body}").fetchall()}
        missing = ", ".join(
            f"cast(null as {t}) as {c}" for c, t in optional.items() if c not in present
        )
        extra = f", {missing}" if missing else ""
        con.execute(f"create temp view {view} as select *{extra} from ({body})")
        types = {r[0]: r[1] for r in con.execute(f"describe {view}").fetchall()}
        for column in ("started_at", "ended_at", "event_at"):
            if column in types:
                timestamps[column] = timestamp_sql(column, types[column])
    return timestamps


def render(
    timestamps: dict[str, str],
    seeds_dir: Path,
    dbt_vars: dict[str, Any],
    store_inputs: bool = False,
) -> list[str]:
    """The pipeline's statements with the vars, seeds and timestamp expressions filled in;
    with ``store_inputs``, followed by the statements that store the accepted inputs and the
    task table."""
    tiers = dbt_vars["model_tiers"]
    maturity = dbt_vars.get("maturity_as_of")
    values = {
        "seeds": str(seeds_dir).replace("'", "''"),
        "blank_chars": BLANK_CHARS,
        "maturity_as_of": "null" if maturity is None else f"cast({_quote(maturity)} as timestamp)",
        "call_statuses": _sql_list(dbt_vars["call_statuses"]),
        "event_types": _sql_list(dbt_vars["event_types"]),
        **{
            k: str(int(dbt_vars[k]))
            for k in (
                "assumed_batch_size",
                "assumed_batch_size_low",
                "assumed_batch_size_high",
                "max_tokens_per_call",
                "late_arrival_lookback_days",
                "timestamp_tolerance_minutes",
                "default_completion_window_hours",
            )
        },
        "tier_sums": ",\n    ".join(
            f"sum(facility_wh) filter (model_tier = {_quote(t)}) as facility_wh_{t}" for t in tiers
        ),
        "tier_zero_filled": ",\n    ".join(
            f"coalesce(facility_wh_{t}, 0) as facility_wh_{t}" for t in tiers
        ),
        "tier_day_sums": ",\n        ".join(
            f"sum(facility_wh_{t}) filter (not is_pending) as facility_wh_{t}" for t in tiers
        ),
        "tier_day_columns": ",\n    ".join(
            f"coalesce(facility_wh_{t}, 0) as facility_wh_{t},\n    "
            f"facility_wh_{t} / nullif(facility_wh, 0) as energy_share_{t}"
            for t in tiers
        ),
        **timestamps,
    }
    text = Template(PIPELINE.read_text(encoding="utf-8")).substitute(values)
    if store_inputs:
        text += "\n;\n" + STORE_INPUTS.read_text(encoding="utf-8")
    statements = [s.strip() for s in re.split(r"^;\s*$", text, flags=re.MULTILINE)]
    return [s for s in statements if s and not all(
        line.strip().startswith("--") or not line.strip() for line in s.splitlines()
    )]  # fmt: skip


# --------------------------------------------------------------------------------------------
# Running it
# --------------------------------------------------------------------------------------------


@dataclass
class ReferenceRun:
    """What one run of the reference did."""

    db_path: Path
    seconds: float
    steps: list[tuple[str, float]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    quarantine: dict[tuple[str, str], int] = field(default_factory=dict)

    def render(self) -> str:
        c = self.counts
        lines = [
            f"reference: {self.db_path} in {self.seconds:.1f} s",
            f"  inference_calls: {c['raw_calls']} raw = {c['accepted_calls']} accepted + "
            f"{c['rejected_calls']} rejected",
            f"  task_events: {c['raw_events']} raw = {c['accepted_events']} accepted + "
            f"{c['rejected_events']} rejected",
            "  quarantine: "
            + (", ".join(f"{t} {r} {n}" for (t, r), n in sorted(self.quarantine.items()))
               or "nothing"),
            "  slowest steps (s): "
            + ", ".join(f"{n} {s:.2f}" for n, s in sorted(self.steps, key=lambda x: -x[1])[:6]),
        ]  # fmt: skip
        return "\n".join(lines)


def _step_name(statement: str) -> str:
    match = re.search(r"create (?:temp )?(?:table|view|macro) (\w+)", statement)
    return match.group(1) if match else statement.split()[0]


def run_reference(
    raw_dir: Path,
    db_path: Path,
    seeds_dir: Path | None = None,
    overrides: dict[str, Any] | None = None,
    memory_limit: str | None = None,
    threads: int = 2,
    store_inputs: bool = False,
) -> ReferenceRun:
    """Run the reference on ``raw_dir`` into a fresh DuckDB file ``db_path`` (with
    ``store_inputs``, also storing the accepted inputs and the task table)."""
    raw_dir, db_path = Path(raw_dir).resolve(), Path(db_path)
    seeds_dir = Path(seeds_dir or PROJECT_ROOT / "seeds").resolve()
    dbt_vars = project_vars(overrides)
    memory_limit = memory_limit or os.environ.get("TASK_WATTS_DUCKDB_MEMORY_LIMIT", "8GB")
    db_path.parent.mkdir(parents=True, exist_ok=True)
    for stale in (db_path, db_path.with_name(db_path.name + ".wal")):
        stale.unlink(missing_ok=True)
    start = time.perf_counter()
    run = ReferenceRun(db_path, 0.0)
    with duckdb.connect(str(db_path)) as con:
        con.execute(f"set threads = {int(threads)}")
        con.execute(f"set memory_limit = {_quote(memory_limit)}")
        con.execute("set TimeZone = 'UTC'")
        con.execute(f"set temp_directory = {_quote(str(db_path) + '.tmp')}")
        timestamps = create_raw_views(con, raw_dir)
        # The same keyed pseudonym as the build: the key read from the environment here too.
        register_pseudonym(con, load_key())
        for statement in render(timestamps, seeds_dir, dbt_vars, store_inputs):
            t0 = time.perf_counter()
            con.execute(statement)
            run.steps.append((_step_name(statement), time.perf_counter() - t0))
        (row,) = con.execute("""
            select
                (select count(*) from calls_raw),
                (select count(*) from calls_checked),
                (select count(*) from accepted_calls),
                (select count(*) from calls_checked
                 where not passes or rowid in (select row_no from call_duplicates)),
                (select count(*) from events_raw),
                (select count(*) from events_checked),
                (select count(*) from accepted_events),
                (select count(*) from events_checked
                 where not passes or rowid in (select row_no from event_duplicates))
        """).fetchall()
        keys = ("raw_calls", "checked_calls", "accepted_calls", "rejected_calls",
                "raw_events", "checked_events", "accepted_events", "rejected_events")  # fmt: skip
        run.counts = dict(zip(keys, row, strict=True))
        for table, input_name in (
            ("quarantine__inference_calls", "inference_calls"),
            ("quarantine__task_events", "task_events"),
        ):
            for reason, n in con.execute(
                f"select reason, count(*) from {table} group by reason"
            ).fetchall():
                run.quarantine[(input_name, reason)] = n
        con.execute("checkpoint")
    run.seconds = time.perf_counter() - start
    c = run.counts
    for kind in ("calls", "events"):
        if c[f"raw_{kind}"] != c[f"checked_{kind}"] or (
            c[f"raw_{kind}"] != c[f"accepted_{kind}"] + c[f"rejected_{kind}"]
        ):
            raise AssertionError(f"reference lost or duplicated raw {kind}: {c}")
    return run


# --------------------------------------------------------------------------------------------
# Comparing with a dbt warehouse
# --------------------------------------------------------------------------------------------


@dataclass
class Comparison:
    """Where a dbt warehouse and a reference file agree, table by table."""

    rows: dict[str, tuple[int, int]] = field(default_factory=dict)
    max_rel_diff: dict[str, tuple[str, float]] = field(default_factory=dict)
    columns: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return not self.problems

    @property
    def worst(self) -> float:
        return max((v for _, v in self.max_rel_diff.values()), default=0.0)

    def render(self) -> str:
        lines = ["comparison of the dbt marts with the reference:"]
        for table, (n_dbt, n_ref) in self.rows.items():
            column, diff = self.max_rel_diff.get(table, ("-", 0.0))
            lines.append(
                f"  {table}: {n_dbt} rows (dbt) vs {n_ref} (reference), "
                f"{self.columns.get(table, 0)} columns compared, "
                f"max relative difference {diff:.3g} ({column})"
            )
        lines += [f"  DIFFERENT: {p}" for p in self.problems] or ["  equal"]
        return "\n".join(lines)


NUMERIC = re.compile(r"^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|U\w*INT|FLOAT|DOUBLE|DECIMAL)")


def compare(
    dbt_db: Path,
    reference_db: Path,
    rel_tol: float = 1e-9,
    raw_rows: Mapping[str, int] | None = None,
) -> Comparison:
    """Compare every shared column of the compared tables, row by row on their keys.

    Numbers must agree within ``rel_tol`` (relative to the larger magnitude; NULL only with
    NULL), everything else exactly; row counts must be equal, quarantine counts per reason
    equal, and, given ``raw_rows`` (the raw rows of each input as the reference read them:
    ``ReferenceRun.counts``), the dbt warehouse's accepted + rejected rows must add up to them.
    """
    result = Comparison()
    with duckdb.connect() as con:
        con.execute("set enable_progress_bar = false")
        con.execute(f"attach {_quote(str(dbt_db))} as d (read_only)")
        con.execute(f"attach {_quote(str(reference_db))} as r (read_only)")
        for table, key in COMPARED.items():
            d_cols, r_cols = (
                {c[0]: c[1] for c in con.execute(f"describe {db}.main.{table}").fetchall()}
                for db in ("d", "r")
            )
            wanted = MODEL_EFFICIENCY_COLUMNS if table == "mart_model_efficiency" else r_cols
            shared = [c for c in wanted if c in d_cols and c in r_cols]
            missing = [c for c in wanted if c not in d_cols]
            if missing:
                result.problems.append(f"{table}: columns missing in the dbt warehouse: {missing}")
            n_dbt, n_ref = (
                con.execute(f"select count(*) from {db}.main.{table}").fetchone()[0]
                for db in ("d", "r")
            )
            result.rows[table] = (n_dbt, n_ref)
            result.columns[table] = len(shared)
            if n_dbt != n_ref:
                result.problems.append(f"{table}: {n_dbt} rows in dbt, {n_ref} in the reference")
            measures = []
            for c in shared:
                if NUMERIC.match(d_cols[c]) and NUMERIC.match(r_cols[c]):
                    a, b = f"cast(d.{c} as double)", f"cast(r.{c} as double)"
                    measures.append(
                        f"max(case when {a} is not distinct from {b} then 0.0 "
                        f"when {a} is null or {b} is null then 'Infinity'::double "
                        f"else abs({a} - {b}) / greatest(abs({a}), abs({b})) end)"
                    )
                else:
                    measures.append(
                        f"count(*) filter (d.{c} is distinct from r.{c}) * 'Infinity'::double"
                    )
            (row,) = con.execute(f"""
                select
                    count(*) filter (d.{key} is null or r.{key} is null),
                    {", ".join(measures)}
                from d.main.{table} as d
                full outer join r.main.{table} as r on d.{key} = r.{key}
            """).fetchall()  # fmt: skip
            unmatched, diffs = row[0], [0.0 if v is None or math.isnan(v) else v for v in row[1:]]
            if unmatched:
                result.problems.append(f"{table}: {unmatched} keys on one side only")
            worst_column, worst = max(zip(shared, diffs, strict=True), key=lambda x: x[1])
            result.max_rel_diff[table] = (worst_column, worst)
            for column, diff in zip(shared, diffs, strict=True):
                if diff > rel_tol:
                    result.problems.append(f"{table}.{column}: relative difference {diff:.3g}")
        for name, accepted in (
            ("inference_calls", "int_inference_calls__accepted"),
            ("task_events", "int_task_events__accepted"),
        ):
            counts = {
                db: dict(con.execute(
                    f"select reason, count(*) from {db}.main.quarantine__{name} group by reason"
                ).fetchall())
                for db in ("d", "r")
            }  # fmt: skip
            if counts["d"] != counts["r"]:
                result.problems.append(
                    f"quarantine__{name} per reason: dbt {counts['d']}, reference {counts['r']}"
                )
            kept, rejected = con.execute(f"""
                select
                    (select count(*) from d.main.{accepted}),
                    (select count(distinct source_row_id) from d.main.quarantine__{name}
                     where is_rejected)
            """).fetchone()  # fmt: skip
            raw = None if raw_rows is None else raw_rows[RAW_COUNT[name]]
            if raw is not None and raw != kept + rejected:
                result.problems.append(
                    f"{name} in dbt: {raw} raw rows != {kept} accepted + {rejected} rejected"
                )
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw-dir", type=Path, required=True, help="raw telemetry folder")
    parser.add_argument("--db", type=Path, required=True, help="DuckDB file to (re)write")
    parser.add_argument("--seeds-dir", type=Path, default=None, help="default: seeds/")
    parser.add_argument("--memory-limit", default=None, help="DuckDB memory_limit, e.g. 4GB")
    parser.add_argument("--compare", type=Path, default=None, help="a dbt warehouse to check")
    parser.add_argument(
        "--vars", type=yaml.safe_load, default={}, help="YAML dict of dbt vars, as for dbt --vars"
    )
    parser.add_argument(
        "--store-inputs",
        action="store_true",
        help="also store the accepted inputs and the task table, as a warehouse that takes "
        "daily loads must (store_inputs.sql)",
    )
    args = parser.parse_args(argv)
    if not isinstance(args.vars, dict):
        parser.error("--vars must be a YAML mapping, e.g. '{maturity_as_of: 2026-10-01}'")
    run = run_reference(
        args.raw_dir,
        args.db,
        args.seeds_dir,
        args.vars,
        memory_limit=args.memory_limit,
        store_inputs=args.store_inputs,
    )
    print(run.render())
    if args.compare is None:
        return 0
    comparison = compare(args.compare, args.db, raw_rows=run.counts)
    print(comparison.render())
    return 0 if comparison.equal else 1


if __name__ == "__main__":
    sys.exit(main())
