"""The bad-input catalogue: crafted daily batches, each with one defect, and what becomes of it.

Row-level cases each get their own day (``date=YYYY-MM-DD`` folder) in one raw folder that is
built once (a full build reads every day and applies the per-batch rules); blocking cases each
get their own raw folder and are stopped by the Great Expectations gate before dbt runs. The
expected outcome of every case is written out by hand here: which rows, which reason, and the
exact list of clean rows that must still reach the footprint.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from python_helpers.ops.daily_load import BLOCKED, load_day, run_dbt_build
from python_helpers.ops.gate import GateReport, validate_batch
from python_helpers.tools.sample_workload import write_sample_workload

pytestmark = pytest.mark.e2e

CALLS, EVENTS = "inference_calls", "task_events"
BASE_DAY = date(2026, 5, 4)
SECRET = "SECRET PROMPT: my bank password is hunter2"
Row = dict[str, Any]


# --------------------------------------------------------------------------------------------
# A clean day to craft from: the tasks that start and end on BASE_DAY, with their calls.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Day:
    calls: list[Row]
    events: list[Row]
    calls_schema: pa.Schema
    events_schema: pa.Schema


@pytest.fixture(scope="module")
def base_day(tmp_path_factory: pytest.TempPathFactory) -> Day:
    raw = tmp_path_factory.mktemp("catalogue_base")
    write_sample_workload(raw, n_calls=8_000, seed=11)
    calls_t, events_t = (
        pq.read_table(raw / f"{CALLS}.parquet"),
        pq.read_table(raw / f"{EVENTS}.parquet"),
    )
    events = events_t.to_pylist()
    by_task: dict[str, list[Row]] = {}
    for e in events:
        by_task.setdefault(e["task_id"], []).append(e)
    calls = calls_t.to_pylist()
    calls_by_task: dict[str, list[Row]] = {}
    for c in calls:
        calls_by_task.setdefault(c["task_id"], []).append(c)

    def inside(task_id: str) -> bool:
        times = [e["event_at"] for e in by_task[task_id]]
        times += [
            t for c in calls_by_task.get(task_id, []) for t in (c["started_at"], c["ended_at"])
        ]
        return all(t.date() == BASE_DAY for t in times) and task_id in calls_by_task

    tasks = sorted(t for t in by_task if inside(t))
    assert len(tasks) >= 15, len(tasks)
    return Day(
        calls=[c for t in tasks for c in calls_by_task[t]],
        events=[e for t in tasks for e in by_task[t]],
        calls_schema=calls_t.schema,
        events_schema=events_t.schema,
    )


def shifted(day: Day, k: int) -> tuple[list[Row], list[Row]]:
    """The base day moved k days later, every id prefixed with the batch number."""
    delta, p = timedelta(days=k), f"b{k:02d}_"
    calls = [
        {**c, "call_id": p + c["call_id"], "task_id": p + c["task_id"],
         "started_at": c["started_at"] + delta, "ended_at": c["ended_at"] + delta}
        for c in day.calls
    ]  # fmt: skip
    events = [
        {**e, "event_id": p + e["event_id"], "task_id": p + e["task_id"],
         "event_at": e["event_at"] + delta}
        for e in day.events
    ]  # fmt: skip
    return calls, events


# --------------------------------------------------------------------------------------------
# Writing a batch.
# --------------------------------------------------------------------------------------------


def write_parquet(rows: list[Row], schema: pa.Schema | None, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(rows, schema=schema) if schema else pa.Table.from_pylist(rows)
    pq.write_table(table, path)


def write_csv(rows: list[Row], path: Path, encoding: str = "utf-8") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {k: "" if v is None else (v.isoformat() if isinstance(v, datetime) else v)
                 for k, v in row.items()}
            )  # fmt: skip


def day_dir(raw: Path, name: str, day: date) -> Path:
    return raw / name / f"date={day.isoformat()}"


# --------------------------------------------------------------------------------------------
# Row-level cases: (what to do to batch k) -> expected quarantine and expected gate finding.
# --------------------------------------------------------------------------------------------


@dataclass
class Batch:
    k: int
    calls: list[Row]
    events: list[Row]
    calls_format: str = "parquet"
    events_format: str = "parquet"
    # (id, reason, is_rejected) expected in quarantine__inference_calls / __task_events
    call_quarantine: set[tuple[str, str, bool]] = field(default_factory=set)
    event_quarantine: set[tuple[str, str, bool]] = field(default_factory=set)
    # (column, count) of a row-level finding the gate reports (never blocking)
    gate_findings: set[tuple[str | None, int]] = field(default_factory=set)

    @property
    def day(self) -> date:
        return BASE_DAY + timedelta(days=self.k)

    def rejected_calls(self) -> set[str]:
        return {i for i, _, rejected in self.call_quarantine if rejected}

    def rejected_events(self) -> set[str]:
        return {i for i, _, rejected in self.event_quarantine if rejected}


def case_clean(b: Batch, day: Day) -> None:
    """Control batch; also loses one task's completion, which arrives late in batch 2."""
    task = next(e["task_id"] for e in b.events if e["event_type"] == "completed")
    b.events[:] = [
        e for e in b.events if not (e["task_id"] == task and e["event_type"] == "completed")
    ]


def case_duplicate_call_across_days(b: Batch, day: Day) -> None:
    """Batch 1 replays batch 0's first call (same id, same content)."""
    first = shifted(day, 0)[0][0]
    b.calls.append(dict(first))
    b.call_quarantine = {(first["call_id"], "duplicate_call", True)}


def case_late_completion(b: Batch, day: Day) -> None:
    """Batch 2 carries the completion of a batch-0 task, two days after its calls."""
    _, events0 = shifted(day, 0)
    task = next(e["task_id"] for e in events0 if e["event_type"] == "completed")
    done = next(e for e in events0 if e["task_id"] == task and e["event_type"] == "completed")
    b.events.append({**done, "event_at": done["event_at"] + timedelta(days=2)})


def case_negative_tokens(b: Batch, day: Day) -> None:
    b.calls[0]["output_tokens"] = -5
    b.call_quarantine = {(b.calls[0]["call_id"], "negative_tokens", True)}
    b.gate_findings = {("output_tokens", 1)}


def case_cached_gt_input(b: Batch, day: Day) -> None:
    b.calls[0]["cached_input_tokens"] = b.calls[0]["input_tokens"] + 10
    b.call_quarantine = {(b.calls[0]["call_id"], "cached_gt_input", True)}
    b.gate_findings = {("cached_input_tokens", 1)}


def case_unknown_model(b: Batch, day: Day) -> None:
    b.calls[0]["model"] = "mystery-model-9b"
    b.call_quarantine = {(b.calls[0]["call_id"], "unknown_model", True)}
    b.gate_findings = {("model", 1)}


def case_unknown_region(b: Batch, day: Day) -> None:
    b.calls[0]["region"] = "mars-north-1"
    b.call_quarantine = {(b.calls[0]["call_id"], "unknown_region", True)}
    b.gate_findings = {("region", 1)}


def case_call_without_task(b: Batch, day: Day) -> None:
    """Flagged no_task but kept: priced as unattributed energy (has_task = false)."""
    b.calls[0]["task_id"] = None
    b.call_quarantine = {(b.calls[0]["call_id"], "no_task", False)}


def case_events_out_of_order(b: Batch, day: Day) -> None:
    """The file lists events newest first and a retry is stamped before its start."""
    b.events.reverse()
    task = next(e["task_id"] for e in b.events if e["event_type"] == "completed")
    start = next(e for e in b.events if e["task_id"] == task and e["event_type"] == "started")
    b.events.append({**start, "event_id": start["event_id"] + "_r", "event_type": "retried",
                     "event_at": start["event_at"] - timedelta(seconds=30)})  # fmt: skip


def case_timestamp_in_future(b: Batch, day: Day) -> None:
    future = datetime.now() + timedelta(days=30)  # naive UTC, like the data
    b.calls[0]["started_at"], b.calls[0]["ended_at"] = future, future + timedelta(seconds=2)
    b.call_quarantine = {(b.calls[0]["call_id"], "bad_timestamp", True)}
    b.gate_findings = {("started_at", 1), ("ended_at", 1)}


def case_timestamp_outside_lookback(b: Batch, day: Day) -> None:
    """An event stamped 10 days before its batch (lookback is 3 days)."""
    rated = next(e for e in b.events if e["event_type"] != "started")
    rated["event_at"] -= timedelta(days=10)
    b.event_quarantine = {(rated["event_id"], "bad_timestamp", True)}
    b.gate_findings = {("event_at", 1)}


def case_ended_before_started(b: Batch, day: Day) -> None:
    c = b.calls[0]
    c["ended_at"] = c["started_at"] - timedelta(seconds=1)
    b.call_quarantine = {(c["call_id"], "bad_timestamp", True)}
    b.gate_findings = {("ended_at", 1)}


def case_timezone_offset(b: Batch, day: Day) -> None:
    """A CSV whose timestamps carry +02:00: converted to UTC, nothing quarantined."""
    b.calls_format = "csv"
    for c in b.calls:
        for col in ("started_at", "ended_at"):
            local = c[col] + timedelta(hours=2)
            c[col] = local.isoformat(sep="T") + "+02:00"


def case_absurd_token_count(b: Batch, day: Day) -> None:
    b.calls[0]["input_tokens"] = 10**12
    b.call_quarantine = {(b.calls[0]["call_id"], "tokens_out_of_range", True)}
    b.gate_findings = {("input_tokens", 1)}


def case_unknown_status(b: Batch, day: Day) -> None:
    b.calls[0]["status"] = "exploded"
    b.call_quarantine = {(b.calls[0]["call_id"], "unknown_status", True)}
    b.gate_findings = {("status", 1)}


def case_duplicate_call_within_batch(b: Batch, day: Day) -> None:
    """A gateway logs a call twice, the copy one second later: the earlier copy wins."""
    copy = {**b.calls[0], "started_at": b.calls[0]["started_at"] + timedelta(seconds=1),
            "ended_at": b.calls[0]["ended_at"] + timedelta(seconds=1)}  # fmt: skip
    b.calls.append(copy)
    b.call_quarantine = {(copy["call_id"], "duplicate_call", True)}
    b.gate_findings = {("call_id", 2)}


def case_unknown_event_type(b: Batch, day: Day) -> None:
    e = next(e for e in b.events if e["event_type"] == "started")
    extra = {**e, "event_id": e["event_id"] + "_x", "event_type": "clicked"}
    b.events.append(extra)
    b.event_quarantine = {(extra["event_id"], "unknown_event_type", True)}
    b.gate_findings = {("event_type", 1)}


def case_unknown_feature(b: Batch, day: Day) -> None:
    e = next(e for e in b.events if e["event_type"] == "started")
    extra = {**e, "event_id": e["event_id"] + "_f", "event_type": "rated", "feature": "teleport"}
    b.events.append(extra)
    b.event_quarantine = {(extra["event_id"], "unknown_feature", True)}
    b.gate_findings = {("feature", 1)}


def case_duplicate_event_id(b: Batch, day: Day) -> None:
    b.events.append(dict(b.events[0]))
    b.event_quarantine = {(b.events[0]["event_id"], "duplicate_event", True)}
    b.gate_findings = {("event_id", 2)}


def case_quality_out_of_range(b: Batch, day: Day) -> None:
    e = next(e for e in b.events if e["event_type"] == "started")
    extra = {**e, "event_id": e["event_id"] + "_q", "event_type": "rated", "quality_score": 1.7}
    b.events.append(extra)
    b.event_quarantine = {(extra["event_id"], "invalid_value", True)}
    b.gate_findings = {("quality_score", 1)}


def case_prompt_text_columns(b: Batch, day: Day) -> None:
    """Raw rows carry prompt and completion text: never selected, never stored."""
    for c in b.calls:
        c["prompt"], c["completion"] = SECRET, SECRET + " (answer)"


def case_non_finite_measured_energy(b: Batch, day: Day) -> None:
    """NaN sorts above every number and Infinity passes '>= 0': both must be quarantined."""
    b.calls[0]["measured_energy_j"] = float("nan")
    b.calls[1]["measured_energy_j"] = float("inf")
    b.call_quarantine = {
        (b.calls[0]["call_id"], "invalid_value", True),
        (b.calls[1]["call_id"], "invalid_value", True),
    }
    b.gate_findings = {("measured_energy_j", 2)}


def case_whitespace_only_task_id(b: Batch, day: Day) -> None:
    """A tab is no task id: the call is unattributed (no_task), not a task called '\t'."""
    b.calls[0]["task_id"] = "\t"
    b.calls[1]["task_id"] = "\u00a0\n"
    b.call_quarantine = {
        (b.calls[0]["call_id"], "no_task", False),
        (b.calls[1]["call_id"], "no_task", False),
    }


def case_epoch_timestamps(b: Batch, day: Day) -> None:
    """A gateway writes epoch milliseconds (calls) and epoch seconds (events): both read as UTC."""
    b.calls_format = "csv"
    for c in b.calls:
        for col in ("started_at", "ended_at"):
            c[col] = round((c[col] - datetime(1970, 1, 1)).total_seconds() * 1000)
    b.events_format = "csv"
    for e in b.events:
        e["event_at"] = (e["event_at"] - datetime(1970, 1, 1)).total_seconds()


def case_batch_size_never_logged(b: Batch, day: Day) -> None:
    """Empty batch_size everywhere: a warning for the self-hosted calls, vendor calls are normal."""
    b.calls_format = "csv"
    for c in b.calls:
        c["batch_size"] = None
    self_hosted = sum(c["provider"] == "self_hosted" for c in b.calls)
    assert 0 < self_hosted < len(b.calls)
    b.gate_findings = {("batch_size", self_hosted)}


ROW_CASES: list[Callable[[Batch, Day], None]] = [
    case_clean,  # batch 0
    case_duplicate_call_across_days,  # batch 1 (needs batch 0)
    case_late_completion,  # batch 2 (needs batch 0)
    case_negative_tokens,
    case_cached_gt_input,
    case_unknown_model,
    case_unknown_region,
    case_call_without_task,
    case_events_out_of_order,
    case_timestamp_in_future,
    case_timestamp_outside_lookback,
    case_ended_before_started,
    case_timezone_offset,
    case_absurd_token_count,
    case_unknown_status,
    case_duplicate_call_within_batch,
    case_unknown_event_type,
    case_unknown_feature,
    case_duplicate_event_id,
    case_quality_out_of_range,
    case_prompt_text_columns,
    case_non_finite_measured_energy,
    case_whitespace_only_task_id,
    case_epoch_timestamps,
    case_batch_size_never_logged,
]
CASE_NAMES = [f.__name__.removeprefix("case_") for f in ROW_CASES]


@dataclass(frozen=True)
class Catalogue:
    raw: Path
    db: Path
    batches: dict[str, Batch]
    gates: dict[str, GateReport]
    user_ids: set[str]

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.db), read_only=True) as con:
            return con.sql(sql).fetchall()


@pytest.fixture(scope="module")
def catalogue(base_day: Day, tmp_path_factory: pytest.TempPathFactory) -> Catalogue:
    work = tmp_path_factory.mktemp("catalogue")
    raw = work / "raw"
    batches: dict[str, Batch] = {}
    user_ids: set[str] = set()
    for k, case in enumerate(ROW_CASES):
        calls, events = shifted(base_day, k)
        batch = Batch(k, calls, events)
        case(batch, base_day)
        batches[CASE_NAMES[k]] = batch
        user_ids |= {e["user_id"] for e in batch.events if e["user_id"]}
        calls_dir, events_dir = day_dir(raw, CALLS, batch.day), day_dir(raw, EVENTS, batch.day)
        if batch.calls_format == "csv":
            write_csv(batch.calls, calls_dir / "part-0.csv")
        else:
            schema = None if "prompt" in batch.calls[0] else base_day.calls_schema
            write_parquet(batch.calls, schema, calls_dir / "part-0.parquet")
        if batch.events_format == "csv":
            write_csv(batch.events, events_dir / "part-0.csv")
        else:
            write_parquet(batch.events, base_day.events_schema, events_dir / "part-0.parquet")
    gates = {name: validate_batch(raw, b.day) for name, b in batches.items()}
    db = work / "catalogue.duckdb"
    ok, failures = run_dbt_build(raw, db, {}, work / "target", work / "logs")
    assert ok, failures
    return Catalogue(raw, db, batches, gates, user_ids)


def _row_findings(report: GateReport) -> set[tuple[str | None, int]]:
    return {(f.column, f.count) for f in report.findings if not f.blocking}


@pytest.mark.parametrize("case", CASE_NAMES)
def test_row_level_case_is_quarantined_with_its_reason_and_loses_no_clean_row(
    case: str, catalogue: Catalogue
) -> None:
    batch = catalogue.batches[case]
    gate = catalogue.gates[case]
    assert gate.passed, gate.render()
    assert _row_findings(gate) == batch.gate_findings, gate.render()

    day = f"date '{batch.day.isoformat()}'"
    where = f"where batch_date = {day}"
    assert set(catalogue.query(
        f"select call_id, reason, is_rejected from quarantine__inference_calls {where}"
    )) == batch.call_quarantine  # fmt: skip
    assert set(catalogue.query(
        f"select event_id, reason, is_rejected from quarantine__task_events {where}"
    )) == batch.event_quarantine  # fmt: skip

    # No clean row lost: every call not rejected is accepted and priced. Of a duplicate
    # within the batch one copy (same id) survives; across days, batch 0 keeps its copy.
    want_calls = {c["call_id"] for c in batch.calls} - batch.rejected_calls()
    if case == "duplicate_call_within_batch":
        want_calls |= batch.rejected_calls()
    got_calls = {c for (c,) in catalogue.query(
        f"select call_id from int_inference_calls__accepted where batch_date = {day}")}  # fmt: skip
    assert got_calls == want_calls
    priced = {c for (c,) in catalogue.query(
        f"select call_id from fct_inference_call_footprint where call_id like 'b{batch.k:02d}_%'"
    )}  # fmt: skip
    assert priced == {c for c in want_calls if c.startswith(f"b{batch.k:02d}_")}
    want_events = {e["event_id"] for e in batch.events}
    if case != "duplicate_event_id":
        want_events -= batch.rejected_events()
    got_events = {e for (e,) in catalogue.query(
        f"select event_id from int_task_events__accepted where batch_date = {day}")}  # fmt: skip
    assert got_events == want_events

    # Reconciliation: raw rows = accepted + rejected rows, per batch.
    rejected = catalogue.query(
        f"select count(distinct source_row_id) from quarantine__inference_calls "
        f"where batch_date = {day} and is_rejected"
    )[0][0]
    assert len(batch.calls) == len(got_calls) + rejected


def test_call_without_task_keeps_its_energy_as_unattributed(catalogue: Catalogue) -> None:
    call_id = catalogue.batches["call_without_task"].calls[0]["call_id"]
    rows = catalogue.query(
        "select has_task, task_id, feature, facility_wh from fct_inference_call_footprint "
        f"where call_id = '{call_id}'"
    )
    assert len(rows) == 1
    has_task, task_id, feature, facility_wh = rows[0]
    assert (has_task, task_id, feature) == (False, None, None)
    assert facility_wh > 0


def test_a_clean_call_missing_from_the_accepted_table_fails_the_build(
    catalogue: Catalogue, tmp_path: Path
) -> None:
    """The quarantine reports a row that broke no rule and was not accepted as a duplicate;
    has_an_accepted_copy is what stops a row lost for any other reason from passing as one."""
    db = tmp_path / "lost.duckdb"
    shutil.copy(catalogue.db, db)
    clean = catalogue.batches["clean"]
    lost = clean.calls[0]["call_id"]
    with duckdb.connect(str(db)) as con:
        con.execute(f"delete from int_inference_calls__accepted where call_id = '{lost}'")
    ok, failures = run_dbt_build(
        catalogue.raw, db, {}, tmp_path / "target", tmp_path / "logs",
        extra_args=["--select", "quarantine__inference_calls"],
    )  # fmt: skip
    assert not ok
    assert any("has_an_accepted_copy" in f for f in failures), failures
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.sql(
            "select reason, is_rejected from quarantine__inference_calls "
            f"where call_id = '{lost}' and batch_date = date '{clean.day.isoformat()}'"
        ).fetchall() == [("duplicate_call", True)]


def test_late_completion_completes_the_earlier_task(catalogue: Catalogue) -> None:
    late = catalogue.batches["late_completion"].events[-1]
    assert late["event_type"] == "completed" and late["task_id"].startswith("b00_")
    outcome, completed_at = catalogue.query(
        f"select outcome, completed_at from fct_task_footprint where task_id = '{late['task_id']}'"
    )[0]
    assert outcome == "completed"
    assert completed_at == late["event_at"]


def test_events_out_of_order_roll_up_as_if_sorted(catalogue: Catalogue) -> None:
    batch = catalogue.batches["events_out_of_order"]
    retry = batch.events[-1]
    started = next(
        e["event_at"] for e in batch.events
        if e["task_id"] == retry["task_id"] and e["event_type"] == "started"
    )  # fmt: skip
    retries = sum(
        e["event_type"] == "retried" for e in batch.events if e["task_id"] == retry["task_id"]
    )
    outcome, attempts, started_at = catalogue.query(
        "select outcome, attempts, started_at from fct_task_footprint "
        f"where task_id = '{retry['task_id']}'"
    )[0]
    assert (outcome, attempts, started_at) == ("completed", 1 + retries, started)


def test_timezone_offset_is_converted_to_utc(catalogue: Catalogue, base_day: Day) -> None:
    batch = catalogue.batches["timezone_offset"]
    original = base_day.calls[0]
    want = original["started_at"] + timedelta(days=batch.k)  # the UTC instant before +02:00
    got = catalogue.query(
        "select started_at from int_inference_calls__accepted "
        f"where call_id = '{batch.calls[0]['call_id']}'"
    )
    assert got == [(want,)]


def test_epoch_timestamps_read_as_the_same_utc_instants(catalogue: Catalogue) -> None:
    """The batch's files hold epoch milliseconds (calls) and epoch seconds (events): each is
    read back as the UTC instant that number names."""
    batch = catalogue.batches["epoch_timestamps"]
    epoch = datetime(1970, 1, 1)
    call, event = batch.calls[0], batch.events[0]
    got_call = catalogue.query(
        f"select started_at from int_inference_calls__accepted where call_id = '{call['call_id']}'"
    )
    got_event = catalogue.query(
        f"select event_at from int_task_events__accepted where event_id = '{event['event_id']}'"
    )
    assert got_call == [(epoch + timedelta(milliseconds=call["started_at"]),)]
    # Seconds with a fraction: equal to the microsecond the float carries.
    assert (
        abs((got_event[0][0] - (epoch + timedelta(seconds=event["event_at"]))).total_seconds())
        < 1e-6
    )


def test_absent_batch_size_column_is_treated_as_empty(base_day: Day, tmp_path: Path) -> None:
    """Dropping the column must not pass where empty values warn: the same finding either way."""
    raw = tmp_path / "raw"
    calls, events = shifted(base_day, 0)
    write_parquet(_without(calls, "batch_size"), None, day_dir(raw, CALLS, BASE_DAY) / "p.parquet")
    write_parquet(events, base_day.events_schema, day_dir(raw, EVENTS, BASE_DAY) / "p.parquet")
    report = validate_batch(raw, BASE_DAY)
    self_hosted = sum(c["provider"] == "self_hosted" for c in calls)
    assert report.passed, report.render()
    assert {(f.column, f.count, f.warning) for f in report.findings} == {
        ("batch_size", self_hosted, True)
    }
    assert "WARNING: " in report.render()


def test_vars_override_moves_the_gate_threshold_as_it_moves_dbt(
    base_day: Day, tmp_path: Path
) -> None:
    """The drift case blocks at the default 5 % and passes when --vars raises the threshold."""
    mutate, _ = BLOCKING_CASES["calls_without_task_id_drift"]
    raw, blocked = _blocked_batch(base_day, tmp_path, mutate)
    assert not blocked.passed
    assert "--vars '{max_no_task_call_share: ...}'" in blocked.render()
    relaxed = validate_batch(raw, BASE_DAY, overrides={"max_no_task_call_share": 0.5})
    assert relaxed.passed, relaxed.render()


def test_one_declaration_of_the_row_rules_moves_the_gate_and_dbt_together(
    base_day: Day, tmp_path: Path
) -> None:
    """The row rules are declared once (var telemetry_row_rules): tightening the quality range
    with --vars makes the gate report, and dbt quarantine, the same event; and a blank task id
    on an event blocks at the gate while dbt (with no gate in front) quarantines it."""
    raw = tmp_path / "raw"
    calls, events = shifted(base_day, 0)
    blank = {**events[0], "event_id": events[0]["event_id"] + "_blank", "task_id": "\t "}
    rated = {**events[0], "event_id": events[0]["event_id"] + "_q", "event_type": "rated",
             "quality_score": 0.7}  # fmt: skip
    write_parquet(calls, base_day.calls_schema, day_dir(raw, CALLS, BASE_DAY) / "p.parquet")
    write_parquet(
        [*events, blank, rated],
        base_day.events_schema,
        day_dir(raw, EVENTS, BASE_DAY) / "p.parquet",
    )
    # Worked by hand: the declared range is [0, 1], so 0.7 passes; halve the maximum and it fails.
    tighter = {
        "telemetry_row_rules": {
            "inference_calls": {"ranges": [], "pairs": []},
            "task_events": {
                "ranges": [
                    {"columns": ["quality_score"], "min": 0, "max": 0.5,
                     "below": "invalid_value", "above": "quality_above_target", "finite": True}
                ],
                "pairs": [],
            },
        }
    }  # fmt: skip

    def quality_findings(report: GateReport) -> set[tuple[str, int]]:
        return {(f.rule, f.count) for f in report.findings if f.column == "quality_score"}

    default = validate_batch(raw, BASE_DAY)
    assert {(f.column, f.rule) for f in default.blocking} == {
        ("task_id", "required value present")
    }, default.render()
    assert quality_findings(default) == set(), default.render()
    written = [*events, blank, rated]
    above = [e for e in written if e.get("quality_score") is not None and e["quality_score"] > 0.5]
    assert rated in above
    tightened = validate_batch(raw, BASE_DAY, overrides=tighter)
    assert quality_findings(tightened) == {("between 0 and 0.5", len(above))}, tightened.render()

    db = tmp_path / "w.duckdb"
    # The unit tests pin the validation flags under the declared rules, not the tightened ones.
    ok, failures = run_dbt_build(
        raw, db, tighter, tmp_path / "target", tmp_path / "logs",
        extra_args=("--exclude-resource-type", "unit_test"),
    )  # fmt: skip
    assert ok, failures
    with duckdb.connect(str(db), read_only=True) as con:
        quarantined = con.sql(
            "select event_id, reason from quarantine__task_events where is_rejected order by 1"
        ).fetchall()
    assert quarantined == sorted(
        [(blank["event_id"], "missing_task_id")]
        + [(e["event_id"], "quality_above_target") for e in above]
    )


def test_no_table_stores_prompt_text_or_clear_user_ids(catalogue: Catalogue) -> None:
    with duckdb.connect(str(catalogue.db), read_only=True) as con:
        # Every schema: dbt also stores test failures (main_dbt_test__audit).
        columns = con.sql(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where data_type = 'VARCHAR'"
        ).fetchall()
        names = {c for _, _, c in columns}
        assert not names & {"prompt", "completion", "user_id"}
        leaked = []
        for schema, table, column in columns:
            hits = con.sql(
                f'select count(*) from "{schema}"."{table}" where "{column}" like \'%hunter2%\''
                f' or "{column}" in (select unnest(?::varchar[]))',
                params=[sorted(catalogue.user_ids)],
            ).fetchall()[0][0]
            if hits:
                leaked.append((schema, table, column, hits))
    assert not leaked


# --------------------------------------------------------------------------------------------
# Blocking cases: stopped by the gate, with the file, column, rule, count and examples.
# --------------------------------------------------------------------------------------------


def _blocked_batch(
    base_day: Day, tmp: Path, mutate: Callable[..., None]
) -> tuple[Path, GateReport]:
    raw = tmp / "raw"
    calls, events = shifted(base_day, 0)
    write_parquet(events, base_day.events_schema, day_dir(raw, EVENTS, BASE_DAY) / "part-0.parquet")
    mutate(calls, events, day_dir(raw, CALLS, BASE_DAY), base_day.calls_schema)
    return raw, validate_batch(raw, BASE_DAY, docs_dir=tmp / "docs")


def _without(rows: list[Row], column: str) -> list[Row]:
    return [{k: v for k, v in r.items() if k != column} for r in rows]


def _renamed(rows: list[Row], old: str, new: str) -> list[Row]:
    return [{(new if k == old else k): v for k, v in r.items()} for r in rows]


def _blocking(report: GateReport) -> set[tuple[str | None, str, int, tuple[str, ...]]]:
    return {(f.column, f.rule, f.count, f.examples) for f in report.blocking}


BLOCKING_CASES: dict[str, tuple[Callable[..., None], Any]] = {
    "missing_column": (
        lambda c, e, d, s: write_parquet(_without(c, "output_tokens"), None, d / "p.parquet"),
        {("output_tokens", "required columns present", 1, ("missing output_tokens",))},
    ),
    "renamed_column": (
        lambda c, e, d, s: write_parquet(_renamed(c, "task_id", "taskId"), None, d / "p.parquet"),
        {("task_id", "required columns present", 1, ("missing task_id", "unexpected taskId"))},
    ),
    "text_in_numeric_column": (
        lambda c, e, d, s: write_csv([{**c[0], "input_tokens": "twelve"}, *c[1:]], d / "p.csv"),
        {("input_tokens", "values castable to bigint", 1, ("'twelve'",))},
    ),
    "empty_file": (
        lambda c, e, d, s: write_parquet([], s, d / "p.parquet"),
        {(None, "at least one row", 0, ("0 rows",))},
    ),
    "truncated_parquet": (lambda c, e, d, s: truncated(c, d / "p.parquet"), "file readable"),
    "csv_not_utf8": (
        lambda c, e, d, s: write_csv(
            [{**r, "model": r["model"] + "é"} for r in c], d / "p.csv", encoding="latin-1"
        ),
        "not valid UTF-8",
    ),
    "required_value_empty": (
        lambda c, e, d, s: write_parquet([{**c[0], "region": None}, *c[1:]], s, d / "p.parquet"),
        {("region", "required value present", 1, ("'{id}'",))},
    ),
    "calls_without_task_id_drift": (
        lambda c, e, d, s: write_parquet(
            [{**r, "task_id": None if i % 3 == 0 else r["task_id"]} for i, r in enumerate(c)],
            s,
            d / "p.parquet",
        ),
        "share of calls without task_id at most 5%",
    ),
    "no_file_for_the_day": (lambda c, e, d, s: None, "the day's folder holds at least one file"),
    "duplicated_column_name": (
        lambda c, e, d, s: duplicated_header(c, d / "p.csv"),
        {
            (
                "model",
                "column names unique (a reader would rename the second copy)",
                1,
                ("'model'",),
            )
        },
    ),
    "nothing_on_its_own_day": (
        lambda c, e, d, s: write_parquet(
            [
                {
                    **r,
                    "started_at": r["started_at"] - timedelta(days=2),
                    "ended_at": r["ended_at"] - timedelta(days=2),
                }
                for r in c
            ],
            s,
            d / "p.parquet",
        ),
        "of rows on the batch's own day",
    ),
}


def duplicated_header(calls: list[Row], path: Path) -> None:
    """A CSV whose header names ``model`` twice (the second copy holding the region)."""
    write_csv(calls, path)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[0] = lines[0].replace("region", "model")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def truncated(calls: list[Row], path: Path) -> None:
    write_parquet(calls, None, path)
    path.write_bytes(path.read_bytes()[:300])


@pytest.mark.parametrize("case", sorted(BLOCKING_CASES))
def test_blocking_case_stops_the_batch_naming_file_column_rule_and_examples(
    case: str, base_day: Day, tmp_path: Path
) -> None:
    mutate, expected = BLOCKING_CASES[case]
    _, report = _blocked_batch(base_day, tmp_path, mutate)
    assert not report.passed, report.render()
    if isinstance(expected, str):
        assert len(report.blocking) == 1, report.render()
        finding = report.blocking[0]
        assert expected in finding.rule or any(expected in x for x in finding.examples), (
            report.render()
        )
    else:
        first_id = shifted(base_day, 0)[0][0]["call_id"]
        want = {(col, rule, n, tuple(x.replace("{id}", first_id) for x in ex))
                for col, rule, n, ex in expected}  # fmt: skip
        assert _blocking(report) == want, report.render()
    for finding in report.blocking:
        assert CALLS in finding.file  # the message names the file (or the day's folder)
        assert finding.message().startswith("BLOCKED: ")
    if case != "no_file_for_the_day":
        html = list((tmp_path / "docs").rglob("*.html"))
        assert report.docs_index is not None and report.docs_index.exists()
        assert any("inference_calls" in p.read_text(encoding="utf-8") for p in html)


def test_a_blocked_day_leaves_the_warehouse_byte_for_byte_unchanged(
    catalogue: Catalogue, base_day: Day, tmp_path: Path
) -> None:
    raw = tmp_path / "raw"
    day = BASE_DAY + timedelta(days=len(ROW_CASES))
    calls, events = shifted(base_day, len(ROW_CASES))
    write_parquet(_without(calls, "model"), None, day_dir(raw, CALLS, day) / "p.parquet")
    write_parquet(events, base_day.events_schema, day_dir(raw, EVENTS, day) / "p.parquet")
    before = hashlib.sha256(catalogue.db.read_bytes()).hexdigest()
    result = load_day(raw, day, catalogue.db, docs_dir=tmp_path / "docs")
    assert result.exit_code == BLOCKED
    assert "BLOCKED: " in "\n".join(result.messages) and "column model" in "\n".join(
        result.messages
    )
    assert hashlib.sha256(catalogue.db.read_bytes()).hexdigest() == before


def test_the_catalogue_has_at_least_twenty_cases() -> None:
    assert len(ROW_CASES) + len(BLOCKING_CASES) >= 20
    assert json.dumps(sorted(CASE_NAMES + list(BLOCKING_CASES)))
