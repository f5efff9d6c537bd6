"""The hand-written DuckDB reference (python_helpers/tools/reference) equals the dbt marts.

The reference is the yardstick of ``task-watts benchmark``: it must compute the same numbers
as the project from the same raw files, or the comparison of costs means nothing. Checked on
the shared sample (flat files) and on a day-partitioned sample with broken rows and odd
values (every quarantine reason, ISO offsets, epoch milliseconds, padded ids, duplicates with
different content); and the comparison itself must fail when one coefficient moves by 1e-6.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import duckdb
import harness
import pytest

from python_helpers.tools.benchmark import partition_by_day
from python_helpers.tools.reference import compare, run_reference
from python_helpers.tools.sample_workload import write_sample_workload

pytestmark = pytest.mark.e2e

#: Agreement expected between two independent summation orders of the same doubles.
TIGHT = 1e-12


def test_reference_equals_the_marts_and_a_perturbed_coefficient_is_caught(
    sample_project: Path, tmp_path: Path
) -> None:
    raw = sample_project / "target" / "sample"
    run = run_reference(raw, tmp_path / "reference.duckdb")
    counts = run.counts
    assert counts["raw_calls"] == counts["accepted_calls"] + counts["rejected_calls"] > 0
    assert counts["raw_events"] == counts["accepted_events"] + counts["rejected_events"] > 0

    comparison = compare(harness.database(sample_project), run.db_path, raw_rows=run.counts)
    assert comparison.equal, comparison.render()
    assert comparison.worst < TIGHT, comparison.render()
    assert all(n > 0 for n, _ in comparison.rows.values())

    # One host overhead 1e-6 higher: the comparison must report the energy columns.
    seeds = tmp_path / "seeds"
    shutil.copytree(harness.ROOT / "seeds", seeds)
    regions = seeds / "datacenter_regions.csv"
    with regions.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    rows[0]["host_overhead"] = repr(float(rows[0]["host_overhead"]) * (1 + 1e-6))
    with regions.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    perturbed = run_reference(raw, tmp_path / "perturbed.duckdb", seeds_dir=seeds)
    different = compare(harness.database(sample_project), perturbed.db_path)
    assert not different.equal
    problems = different.problems
    assert any("fct_task_footprint.facility_wh:" in p for p in problems), problems
    assert any("mart_feature_task_watts.task_wh:" in p for p in problems), problems


def _odd_rows(template: dict, overrides: list[dict]) -> list[dict]:
    clean = {k: "" if v is None or v != v else v for k, v in template.items()}
    return [{**clean, **o} for o in overrides]


def _write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_reference_equals_the_marts_on_partitioned_broken_input(tmp_path: Path) -> None:
    write_sample_workload(tmp_path / "flat", n_calls=3_000, seed=5, broken=True)
    raw = tmp_path / "raw"
    days = partition_by_day(tmp_path / "flat", raw)
    day = days[len(days) // 2].isoformat()
    calls_dir = raw / "inference_calls" / f"date={day}"
    events_dir = raw / "task_events" / f"date={day}"
    with duckdb.connect() as con:
        call = con.sql(f"select * from '{calls_dir}/*.parquet' limit 1").fetchdf().iloc[0]
        event = con.sql(f"select * from '{events_dir}/*.parquet' limit 1").fetchdf().iloc[0]
    # Calls without a task (blank task_id) so the window tests do not depend on the times.
    no_task = {"task_id": " \t "}
    _write_csv(calls_dir / "odd.csv", _odd_rows(call.to_dict(), [
        {**no_task, "call_id": "odd-1", "started_at": f"{day}T12:00:00+02:00",
         "ended_at": f"{day}T12:00:05+02:00"},
        {**no_task, "call_id": "odd-1", "started_at": f"{day}T09:00:00Z",
         "ended_at": f"{day}T09:00:09Z", "output_tokens": "7"},  # earlier copy wins
        {**no_task, "call_id": "\u00a0odd-2 ", "batch_size": "", "measured_energy_j": "1234.5"},
        {**no_task, "call_id": "odd-3", "started_at": "2026-01-02T00:00:00",
         "ended_at": "2026-01-02T00:00:01"},  # outside the batch day
        {**no_task, "call_id": "odd-4", "status": "weird"},
        {**no_task, "call_id": "odd-5", "measured_energy_j": "nan"},
        {**no_task, "call_id": "odd-6", "gpu_count": "0"},
        {**no_task, "call_id": "odd-7", "output_tokens": "20000000"},
    ]))  # fmt: skip
    _write_csv(events_dir / "odd.csv", _odd_rows(event.to_dict(), [
        {"event_id": "odd-e1", "event_type": "Rated", "quality_score": "0.5"},
        {"event_id": "odd-e2", "event_type": "rated", "quality_score": "1.5"},
        {"event_id": "odd-e3", "event_type": "exploded"},
        {"event_id": "odd-e4", "feature": "nope"},
        {"event_id": "odd-e5", "task_id": "\u00a0"},
        {"event_id": "odd-e6", "event_at": "2026-01-02T00:00:00"},
    ]))  # fmt: skip

    db = tmp_path / "dbt.duckdb"
    for command in ("seed", "run"):
        assert harness.run_dbt(command, raw, db, tmp_path).success
    run = run_reference(raw, tmp_path / "reference.duckdb", store_inputs=True)
    reasons = {reason for _, reason in run.quarantine}
    assert {"bad_timestamp", "duplicate_call", "unknown_model", "unknown_status",
            "invalid_value", "no_task", "tokens_out_of_range", "unknown_event_type",
            "unknown_feature", "missing_task_id"} <= reasons  # fmt: skip
    comparison = compare(db, run.db_path, raw_rows=run.counts)
    assert comparison.equal, comparison.render()
    assert comparison.worst < TIGHT, comparison.render()

    # --store-inputs keeps the rows the build keeps (the benchmark's like-for-like yardstick):
    # the same accepted calls, events and tasks, key for key, even with duplicates and padding.
    stored = {
        "int_inference_calls__accepted": "call_id",
        "int_task_events__accepted": "event_id",
        "int_tasks__matured": "task_id",
    }
    with duckdb.connect() as con:
        con.execute(f"attach '{db}' as build (read_only)")
        con.execute(f"attach '{run.db_path}' as reference (read_only)")
        for table, key in stored.items():
            build_keys = {k for (k,) in con.sql(f"select {key} from build.{table}").fetchall()}
            reference_keys = {
                k for (k,) in con.sql(f"select {key} from reference.{table}").fetchall()
            }
            assert build_keys == reference_keys and len(build_keys) > 100, table
        for table, key, content in (
            ("int_inference_calls__accepted", "call_id", ["started_at", "output_tokens"]),
            ("int_task_events__accepted", "event_id", ["event_at", "user_id_hash"]),
        ):
            content = ["source_file", *content]
            build_row = ", ".join(f"b.{c}" for c in content)
            reference_row = ", ".join(f"r.{c}" for c in content)
            (winner,) = con.execute(
                f"select count(*) from build.{table} as b join reference.{table} as r "
                f"using ({key}) where ({build_row}) is distinct from ({reference_row})"
            ).fetchone()
            assert winner == 0, f"{table}: another copy of a duplicated id was kept"
