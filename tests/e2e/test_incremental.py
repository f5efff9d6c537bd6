"""Daily incremental loads: day by day equals one full build, re-running a day is a no-op, and
a day whose build fails leaves every table as it was.

Three days of a generated workload are written as ``date=YYYY-MM-DD`` folders (calls by start
day, events by event day), with two cross-day twists: day 2 replays a call of day 1, and the
completion of a day-1 task arrives in day 3, two days after its calls. The days are loaded one
by one with the daily command's function (gate, then an incremental dbt build), then the same
folder is built in one go; every public mart and quarantine must agree.
"""

from __future__ import annotations

import json
import math
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from python_helpers.ops.daily_load import (
    FAILED,
    LOADED,
    SEED_ONLY_MODELS,
    _load_lock,
    load_day,
    run_dbt_build,
)
from python_helpers.tools.sample_workload import write_sample_workload

pytestmark = pytest.mark.e2e

CALLS, EVENTS = "inference_calls", "task_events"
DAYS = [date(2026, 6, 2), date(2026, 6, 3), date(2026, 6, 4)]
TABLES = (
    "fct_inference_call_footprint",
    "fct_task_footprint",
    "mart_feature_task_watts",
    "mart_model_efficiency",
    "mart_feature_model_quarter",
    "mart_shifting_what_if",
    "int_inference_calls__shifting_days",
    "quarantine__inference_calls",
    "quarantine__task_events",
)


# Bookkeeping that differs by design: which daily load (none in a full build) priced a call.
LOAD_COLUMNS = {"fct_inference_call_footprint": "load_batch_date"}


def snapshot(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {
            t: con.sql(
                f"select * exclude ({LOAD_COLUMNS[t]}) from {t} order by all"
                if t in LOAD_COLUMNS
                else f"select * from {t} order by all"
            ).fetchall()
            for t in TABLES
        }


def same(a: dict[str, list[tuple[Any, ...]]], b: dict[str, list[tuple[Any, ...]]]) -> list[str]:
    """Tables whose rows differ (floats compared at 1e-9 relative)."""

    def eq(x: Any, y: Any) -> bool:
        if isinstance(x, float) and isinstance(y, float):
            return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12)
        return x == y

    return [
        t
        for t in TABLES
        if len(a[t]) != len(b[t])
        or not all(all(map(eq, r, s)) for r, s in zip(a[t], b[t], strict=True))
    ]


def outcome(db: Path, task_id: str) -> str:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.sql(
            f"select outcome from fct_task_footprint where task_id = '{task_id}'"
        ).fetchall()[0][0]


@pytest.fixture(scope="module")
def days_raw(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """Raw folder of three days; returns it, the replayed call id and the late task id."""
    work = tmp_path_factory.mktemp("incremental")
    write_sample_workload(work / "sample", n_calls=6_000, seed=3)
    calls = pq.read_table(work / "sample" / f"{CALLS}.parquet")
    events = pq.read_table(work / "sample" / f"{EVENTS}.parquet")
    call_rows = [c for c in calls.to_pylist() if c["started_at"].date() in DAYS]
    task_ids = {c["task_id"] for c in call_rows}
    # Only tasks whose events all fall on the three days (no half tasks at the edges).
    event_rows = [e for e in events.to_pylist() if e["task_id"] in task_ids]
    outside = {e["task_id"] for e in event_rows if e["event_at"].date() not in DAYS}
    call_rows = [c for c in call_rows if c["task_id"] not in outside]
    event_rows = [e for e in event_rows if e["task_id"] not in outside]

    # A completed task of day 1 whose events all fall on day 1: its completion arrives on day 3.
    day1_tasks = {c["task_id"] for c in call_rows if c["started_at"].date() == DAYS[0]}
    late = next(
        e for e in event_rows
        if e["event_type"] == "completed" and e["task_id"] in day1_tasks
        and e["event_at"].date() == DAYS[0]
    )  # fmt: skip
    late["event_at"] += timedelta(days=2)
    replayed = next(c for c in call_rows if c["started_at"].date() == DAYS[0])

    raw = work / "raw"
    for day in DAYS:
        day_calls = [c for c in call_rows if c["started_at"].date() == day]
        if day == DAYS[1]:
            day_calls.append(dict(replayed))  # the gateway logs a day-1 call again on day 2
        day_events = [e for e in event_rows if e["event_at"].date() == day]
        for name, rows, schema in ((CALLS, day_calls, calls.schema),
                                   (EVENTS, day_events, events.schema)):  # fmt: skip
            folder = raw / name / f"date={day.isoformat()}"
            folder.mkdir(parents=True)
            pq.write_table(pa.Table.from_pylist(rows, schema=schema), folder / "part-0.parquet")
    return raw, replayed["call_id"], late["task_id"]


def test_day_by_day_equals_full_build_and_rerun_is_idempotent(
    days_raw: tuple[Path, str, str], tmp_path: Path
) -> None:
    raw, replayed, late_task = days_raw
    daily_db = tmp_path / "daily.duckdb"
    paths = {"target_path": tmp_path / "target", "log_path": tmp_path / "logs"}

    for i, day in enumerate(DAYS):
        if i == 2:
            # A day whose build fails a test (here the energy-conservation tolerance is set
            # impossible) is rolled back: every public table as it was, no log left behind.
            before = snapshot(daily_db)
            failed = load_day(raw, day, daily_db, extra_vars={"energy_conservation_rel_tol": -1},
                              **paths)  # fmt: skip
            assert failed.exit_code == FAILED, "\n".join(failed.messages)
            assert "energy" in "\n".join(failed.messages)
            assert same(before, snapshot(daily_db)) == []
            leftovers = {p.name for p in daily_db.parent.iterdir()} - {daily_db.name}
            # no log, no marker (the lock file stays: it only ever carries a lock)
            assert {n for n in leftovers if n.startswith(daily_db.name)} <= {"daily.duckdb.lock"}
        result = load_day(raw, day, daily_db, **paths)
        assert result.exit_code == LOADED, "\n".join(result.messages)
        if i == 1:
            # Before its late completion, the day-1 task is not completed.
            assert outcome(daily_db, late_task) != "completed"
    # The completion two days after the calls updated the outcome.
    assert outcome(daily_db, late_task) == "completed"
    loaded = snapshot(daily_db)
    dup = [r for r in loaded["quarantine__inference_calls"] if r[5] == replayed]
    assert [(r[0], r[3], r[4]) for r in dup] == [(DAYS[1], "duplicate_call", True)]

    # The day's load tested the day's rows, not the whole warehouse (var daily_test_scope).
    compiled = {p.name: p.read_text() for p in (tmp_path / "target").rglob("*.sql")}
    day_literal = f"date '{DAYS[-1].isoformat()}'"
    assert day_literal in compiled["unique_int_inference_calls__accepted_call_id.sql"]
    assert "int_tasks__to_refresh" in compiled["unique_fct_task_footprint_task_id.sql"]
    for scoped_by_load in ("unique_fct_inference_call_footprint_call_id.sql",
                           "assert_calls_inside_task_window.sql"):  # fmt: skip
        assert f"load_batch_date = {day_literal}" in compiled[scoped_by_load]
    # ...except where the verdict is about every row: one pseudonym key across the warehouse.
    (key_test,) = [t for t in compiled.values() if "= task_watts_pseudonym_key_id()" in t]
    assert day_literal not in key_test and "int_task_events__accepted" in key_test

    # One load at a time: a second load of the same warehouse stops before touching it.
    with _load_lock(daily_db), pytest.raises(SystemExit, match="another daily load"):
        load_day(raw, DAYS[-1], daily_db, **paths)

    # Re-running the last day changes nothing.
    again = load_day(raw, DAYS[-1], daily_db, **paths)
    assert again.exit_code == LOADED, "\n".join(again.messages)
    assert same(loaded, snapshot(daily_db)) == []
    # A daily load leaves the models made of seeds and constants as the full build made them.
    results = json.loads((paths["target_path"] / "run_results.json").read_text())["results"]
    ran = {r["unique_id"].split(".")[-1] for r in results}
    assert "fct_inference_call_footprint" in ran
    assert not ran & set(SEED_ONLY_MODELS)

    # One full build of the same folder gives the same marts and quarantine.
    full_db = tmp_path / "full.duckdb"
    ok, failures = run_dbt_build(raw, full_db, {}, paths["target_path"], paths["log_path"])
    assert ok, failures
    assert same(loaded, snapshot(full_db)) == []
    assert all(len(loaded[t]) > 0 for t in TABLES[:4])
    # load_batch_date names the load that last priced a call: the late completion's load
    # re-priced the day-1 calls of its task; a full build leaves the column empty.
    stamp = "select distinct load_batch_date from fct_inference_call_footprint"
    with duckdb.connect(str(daily_db), read_only=True) as con:
        assert {d for (d,) in con.sql(stamp).fetchall()} == set(DAYS)
        late_stamps = con.sql(f"{stamp} where task_id = '{late_task}'").fetchall()
    assert late_stamps == [(DAYS[-1],)]
    with duckdb.connect(str(full_db), read_only=True) as con:
        assert con.sql(stamp).fetchall() == [(None,)]


def test_the_day_is_read_from_the_environment_and_checked(
    days_raw: tuple[Path, str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The day is TASK_WATTS_BATCH_DATE (so --vars stay the same every day and dbt reuses its
    parse); the old var, a malformed day, and a day set for a full build all stop dbt with a
    message naming what to do."""
    raw, _, _ = days_raw
    db = tmp_path / "w.duckdb"
    paths = (tmp_path / "target", tmp_path / "logs")
    monkeypatch.delenv("TASK_WATTS_BATCH_DATE", raising=False)

    ok, failures = run_dbt_build(raw, db, {"batch_date": "2026-06-02"}, *paths)
    assert not ok
    assert "TASK_WATTS_BATCH_DATE" in "\n".join(failures) and "2026-06-02" in "\n".join(failures)

    monkeypatch.setenv("TASK_WATTS_BATCH_DATE", "2026/06/02")
    ok, failures = run_dbt_build(raw, db, {"daily_load": True}, *paths)
    assert not ok
    assert "YYYY-MM-DD" in "\n".join(failures) and "2026/06/02" in "\n".join(failures)

    monkeypatch.setenv("TASK_WATTS_BATCH_DATE", "2026-06-02")
    ok, failures = run_dbt_build(raw, db, {}, *paths)
    assert not ok
    assert "full build" in "\n".join(failures)
