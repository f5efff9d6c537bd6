"""End-to-end: generate raw telemetry, `dbt build` it into a throwaway DuckDB, check the marts.

Every build gets its own raw folder, target path, log path and DuckDB file under pytest's tmp
dirs, so nothing here touches a developer's target/ or warehouse. The expected footprints are
recomputed by a deliberately plain oracle in this file (loops over the small sample, the seeds
read with the csv module, the raw Parquet only read into Python lists); it never imports
python_helpers.formula.footprint, which is the code under test.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import harness
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dbt.cli.main import dbtRunnerResult

from python_helpers.tools.sample_workload import write_sample_workload

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SEEDS_DIR = ROOT / "seeds"
N_CALLS = 3_000
SEED = 7
REL_TOL = 1e-9
# dbt_project.yml var assumed_batch_size: self-hosted calls that did not log a batch and whose
# deployment is not in the deployment_batch_sizes seed.
ASSUMED_BATCH_SIZE = 8
# dbt_project.yml var default_completion_window_hours (feature missing from the catalogue).
DEFAULT_WINDOW_HOURS = 72

CALLS = "inference_calls"
EVENTS = "task_events"
GRID_FILE = "grid_intensity_hourly.csv"
STG_CALLS = "stg_telemetry__inference_calls"
PUBLIC_MARTS = (
    "fct_inference_call_footprint",
    "fct_task_footprint",
    "mart_feature_task_watts",
    "mart_model_efficiency",
)
BAD_STATUSES = {"error", "fail", "runtime error"}


# --------------------------------------------------------------------------------------------
# Running dbt.
# --------------------------------------------------------------------------------------------


def _status(result: Any) -> str:
    return str(getattr(result.status, "value", result.status))


@dataclass(frozen=True)
class Build:
    """One dbt invocation against its own raw folder and DuckDB file."""

    raw_dir: Path
    db_path: Path
    work_dir: Path
    result: dbtRunnerResult

    @property
    def node_results(self) -> list[Any]:
        return list(self.result.result or []) if self.result.exception is None else []

    def with_status(self, *statuses: str) -> dict[str, Any]:
        """Node name -> result, for nodes whose status is one of ``statuses``."""
        return {r.node.name: r for r in self.node_results if _status(r) in statuses}

    def describe_failures(self) -> str:
        if self.result.exception is not None:
            return f"dbt raised {self.result.exception!r}"
        bad = self.with_status(*BAD_STATUSES)
        lines = [f"  {name} [{_status(r)}]: {r.message}" for name, r in sorted(bad.items())]
        return "failing nodes:\n" + "\n".join(lines)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.db_path), read_only=True) as con:
            return con.sql(sql).fetchall()

    def scalar(self, sql: str) -> Any:
        return self.query(sql)[0][0]


def build(raw_dir: Path, work_dir: Path, *args: str) -> Build:
    db_path = work_dir / "task_watts.duckdb"
    result = harness.run_dbt("build", raw_dir, db_path, work_dir, *args)
    return Build(raw_dir, db_path, work_dir, result)


def require_success(b: Build) -> Build:
    assert b.result.success, b.describe_failures()
    return b


# --------------------------------------------------------------------------------------------
# Raw files and alternative layouts.
# --------------------------------------------------------------------------------------------


def read_rows(path: Path) -> list[dict[str, Any]]:
    return pq.read_table(path).to_pylist()


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    """Plain CSV as an exporter would write it: str() of each value, empty for null."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})


def write_jsonl(rows: list[dict[str, Any]], path: Path) -> None:
    """JSON Lines with ISO-8601 timestamps and JSON nulls."""
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, default=lambda v: v.isoformat()) + "\n")


def write_partitioned_by_day(table: pa.Table, folder: Path) -> int:
    """``folder/date=YYYY-MM-DD/part.parquet``, one file per call start day."""
    by_day: dict[date, list[dict[str, Any]]] = defaultdict(list)
    for row in table.to_pylist():
        by_day[row["started_at"].date()].append(row)
    for day, rows in by_day.items():
        part = folder / f"date={day.isoformat()}"
        part.mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), part / "part.parquet")
    return len(by_day)


# --------------------------------------------------------------------------------------------
# The oracle: the formula re-derived from the brief, with plain loops.
# --------------------------------------------------------------------------------------------


def read_seed(name: str) -> list[dict[str, str]]:
    with (SEEDS_DIR / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@dataclass(frozen=True)
class Seeds:
    coefficients: dict[tuple[str, str | None], dict[str, str]]
    curve: list[tuple[int, float]]
    cache_residual: float
    regions: dict[str, dict[str, str]]
    grid: list[dict[str, str]]
    deployments: dict[tuple[str, str, str], int]
    accelerators: dict[str, dict[str, str]]
    windows_hours: dict[str, int]

    @classmethod
    def load(cls) -> Seeds:
        return cls(
            coefficients={
                (r["model"], r["gpu_type"] or None): r
                for r in read_seed("model_energy_coefficients")
            },
            curve=sorted(
                (int(r["batch_size"]), float(r["relative_energy_per_token"]))
                for r in read_seed("batch_size_efficiency")
            ),
            cache_residual=next(
                float(r["cache_residual"])
                for r in read_seed("prefix_cache_residual")
                if r["cache_scope"] == "default"
            ),
            regions={r["region"]: r for r in read_seed("datacenter_regions")},
            grid=read_seed("grid_carbon_intensity"),
            deployments={
                (r["model"], r["gpu_type"], r["region"]): int(r["assumed_batch_size"])
                for r in read_seed("deployment_batch_sizes")
            },
            accelerators={r["gpu_type"]: r for r in read_seed("accelerators")},
            windows_hours={
                r["feature"]: int(r["completion_window_hours"])
                for r in read_seed("feature_catalogue")
            },
        )

    def relative_energy(self, batch: int) -> float:
        """Log-linear interpolation on the curve; flat beyond its last point."""
        if batch >= self.curve[-1][0]:
            return self.curve[-1][1]
        for (b0, e0), (b1, e1) in zip(self.curve, self.curve[1:], strict=False):
            if b0 <= batch < b1:
                share = (math.log(batch) - math.log(b0)) / (math.log(b1) - math.log(b0))
                return e0 + (e1 - e0) * share
        raise ValueError(f"batch size {batch} is below the efficiency curve")

    def seed_intensity(self, zone: str, at: datetime) -> float:
        """Monthly location figure covering ``at``, else the latest year at or before its year."""
        month_start = date(at.year, at.month, 1)
        for row in self.grid:
            if (
                row["grid_zone"] == zone
                and row["basis"] == "location"
                and row["period_grain"] == "month"
                and date.fromisoformat(row["period_start"]) == month_start
            ):
                return float(row["gco2e_per_kwh"])
        years = [
            row
            for row in self.grid
            if row["grid_zone"] == zone
            and row["basis"] == "location"
            and row["period_grain"] == "year"
            and date.fromisoformat(row["period_start"]) <= date(at.year, 1, 1)
        ]
        latest = max(years, key=lambda row: row["period_start"])
        return float(latest["gco2e_per_kwh"])


def read_hourly_grid(raw_dir: Path) -> dict[tuple[str, datetime], float]:
    path = raw_dir / GRID_FILE
    if not path.exists():
        return {}
    with path.open(newline="", encoding="utf-8") as handle:
        return {
            (
                row["grid_zone"],
                datetime.fromisoformat(row["hour_start_at"]).replace(
                    minute=0, second=0, microsecond=0
                ),
            ): float(row["gco2e_per_kwh"])
            for row in csv.DictReader(handle)
        }


def expected_call_footprints(
    calls: list[dict[str, Any]], seeds: Seeds, hourly: dict[tuple[str, datetime], float]
) -> dict[str, tuple[float, float]]:
    """call_id -> (facility_wh, gco2e_location)."""
    out: dict[str, tuple[float, float]] = {}
    for call in calls:
        coef = seeds.coefficients[(call["model"], call["gpu_type"] or None)]
        reference_batch = int(coef["reference_batch_size"])
        if call["batch_size"] is not None:
            batch = call["batch_size"]
        elif coef["energy_method"] == "estimated":
            batch = reference_batch
        else:
            batch = seeds.deployments.get(
                (call["model"], call["gpu_type"] or "", call["region"]), ASSUMED_BATCH_SIZE
            )
        batch_factor = seeds.relative_energy(batch) / seeds.relative_energy(reference_batch)

        cached = call["cached_input_tokens"]
        prefill_tokens = call["input_tokens"] - cached + seeds.cache_residual * cached
        prefill_wh = prefill_tokens / 1000 * float(coef["wh_per_1k_prefill_tokens"])
        decode_wh = call["output_tokens"] / 1000 * float(coef["wh_per_1k_decode_tokens"])
        if call["measured_energy_j"] is not None:
            accelerator_wh = call["measured_energy_j"] / 3600
        else:
            accelerator_wh = (prefill_wh + decode_wh) * batch_factor
            if coef["energy_method"] == "modeled":
                # Never below the idle draw of the call's share of its replica's GPUs.
                gpus = call["gpu_count"] or int(coef["gpus_per_replica"])
                hours = (call["ended_at"] - call["started_at"]).total_seconds() / 3600
                idle_w = float(seeds.accelerators[call["gpu_type"]]["idle_w"])
                accelerator_wh = max(accelerator_wh, idle_w * gpus * hours / batch)

        region = seeds.regions[call["region"]]
        facility_wh = accelerator_wh * float(region["host_overhead"]) * float(region["pue"])

        zone, started = region["grid_zone"], call["started_at"]
        hour = started.replace(minute=0, second=0, microsecond=0)
        intensity = hourly.get((zone, hour))
        if intensity is None:
            intensity = seeds.seed_intensity(zone, started)
        out[call["call_id"]] = (facility_wh, facility_wh / 1000 * intensity)
    return out


@dataclass
class Task:
    feature: str
    started_at: datetime | None = None
    first_event_at: datetime | None = None
    last_event_at: datetime | None = None
    completed: bool = False
    terminal: bool = False


def tasks_from_events(events: list[dict[str, Any]]) -> dict[str, Task]:
    tasks: dict[str, Task] = {}
    for event in events:
        task = tasks.setdefault(event["task_id"], Task(event["feature"]))
        at = event["event_at"]
        if task.first_event_at is None or at < task.first_event_at:
            task.first_event_at = at
        if task.last_event_at is None or at > task.last_event_at:
            task.last_event_at = at
        if event["event_type"] in {"completed", "abandoned", "escalated"}:
            task.terminal = True
        if event["event_type"] == "started" and (task.started_at is None or at < task.started_at):
            task.started_at = at
        if event["event_type"] == "completed":
            task.completed = True
    for task in tasks.values():
        task.started_at = task.started_at or task.first_event_at
    return tasks


def pending_task_ids(tasks: dict[str, Task], calls: list[dict[str, Any]], seeds: Seeds) -> set[str]:
    """Tasks with no terminal event whose last event is within their feature's window of the
    horizon (the latest event or call end in the data)."""
    horizon = max(
        max(t.last_event_at for t in tasks.values() if t.last_event_at is not None),
        max(call["ended_at"] for call in calls),
    )
    return {
        task_id
        for task_id, t in tasks.items()
        if not t.terminal
        and t.last_event_at is not None
        and (horizon - t.last_event_at).total_seconds()
        < 3600 * seeds.windows_hours.get(t.feature, DEFAULT_WINDOW_HOURS)
    }


def quarter_of(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def call_task_id(call: dict[str, Any]) -> str | None:
    """The task id as staging keys it: trimmed, empty means none."""
    return (call["task_id"] or "").strip() or None


@dataclass(frozen=True)
class Oracle:
    calls: dict[str, tuple[float, float]]
    # (feature, (year, quarter)) -> [facility_wh, completed tasks, tasks]
    feature_quarters: dict[tuple[str, tuple[int, int]], list[float]]
    unattributed_wh: float

    @classmethod
    def from_raw(cls, raw_dir: Path, seeds: Seeds) -> Oracle:
        calls = read_rows(raw_dir / f"{CALLS}.parquet")
        tasks = tasks_from_events(read_rows(raw_dir / f"{EVENTS}.parquet"))
        per_call = expected_call_footprints(calls, seeds, read_hourly_grid(raw_dir))

        task_wh: dict[str, float] = defaultdict(float)
        unattributed = 0.0
        for call in calls:
            task_id, facility_wh = call_task_id(call), per_call[call["call_id"]][0]
            if task_id in tasks:
                task_wh[task_id] += facility_wh
            else:
                unattributed += facility_wh

        pending = pending_task_ids(tasks, calls, seeds)
        quarters: dict[tuple[str, tuple[int, int]], list[float]] = defaultdict(lambda: [0.0, 0, 0])
        for task_id, task in tasks.items():
            assert task.started_at is not None
            if task_id in pending:
                continue
            acc = quarters[(task.feature, quarter_of(task.started_at.date()))]
            acc[0] += task_wh[task_id]
            acc[1] += task.completed
            acc[2] += 1
        return cls(per_call, dict(quarters), unattributed)


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-12)


def mart_feature_quarters(b: Build) -> dict[tuple[str, tuple[int, int]], list[float]]:
    """mart_feature_task_watts rolled up to feature x quarter by summing, never averaging."""
    rows = b.query(
        """
        select feature, task_date, facility_wh, completed_tasks, tasks
        from mart_feature_task_watts
        """
    )
    out: dict[tuple[str, tuple[int, int]], list[float]] = defaultdict(lambda: [0.0, 0, 0])
    for feature, task_date, facility_wh, completed, tasks in rows:
        acc = out[(feature, quarter_of(task_date))]
        acc[0] += facility_wh
        acc[1] += completed
        acc[2] += tasks
    return dict(out)


# --------------------------------------------------------------------------------------------
# Fixtures: each build once per session/module.
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def seeds() -> Seeds:
    return Seeds.load()


@pytest.fixture(scope="session")
def clean_raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = tmp_path_factory.mktemp("clean") / "raw"
    write_sample_workload(raw, n_calls=N_CALLS, seed=SEED)
    return raw


@pytest.fixture(scope="session")
def clean_build(clean_raw: Path) -> Build:
    return require_success(build(clean_raw, clean_raw.parent))


@pytest.fixture(scope="module")
def edge_build(clean_raw: Path, tmp_path_factory: pytest.TempPathFactory) -> Build:
    """The clean sample with what it never exercises on its own.

    * self-hosted batch sizes between curve points, on the last point and beyond it;
    * vendor calls that did log a batch size;
    * calls whose task is untagged (null, empty, blank) or has no events (unattributed
      energy), allowed through calls_name_tasks_with_events by raising
      max_unmapped_call_share.
    """
    work = tmp_path_factory.mktemp("edge")
    raw = work / "raw"
    raw.mkdir()
    table = pq.read_table(clean_raw / f"{CALLS}.parquet")
    rows = table.to_pylist()
    self_hosted = [r for r in rows if r["provider"] == "self_hosted"]
    vendor = [r for r in rows if r["provider"] != "self_hosted"]
    off_curve = [3, 5, 6, 12, 24, 48, 100, 200, 300, 512, 1000, 4096]
    for i, row in enumerate(self_hosted[::7]):
        row["batch_size"] = off_curve[i % len(off_curve)]
    for row, batch in zip(vendor[::50], [1, 16, 100, 64, 1000], strict=False):
        row["batch_size"] = batch
    for i, task_id in enumerate([None, "", "   ", "t_no_such_task"]):
        rows[5 + 600 * i]["task_id"] = task_id
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), raw / f"{CALLS}.parquet")
    shutil.copy(clean_raw / f"{EVENTS}.parquet", raw)
    shutil.copy(clean_raw / GRID_FILE, raw)
    return require_success(build(raw, work, "--vars", "{max_unmapped_call_share: 0.01}"))


@pytest.fixture(params=["clean", "edge"])
def priced_build(request: pytest.FixtureRequest) -> Build:
    return request.getfixturevalue(f"{request.param}_build")


@pytest.fixture(scope="module")
def broken_build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    work = tmp_path_factory.mktemp("broken")
    write_sample_workload(work / "raw", n_calls=N_CALLS, seed=SEED, broken=True)
    return build(work / "raw", work)


# --------------------------------------------------------------------------------------------
# 1. The clean build.
# --------------------------------------------------------------------------------------------


def test_clean_build_has_every_mart_and_every_call_and_task(
    clean_build: Build, clean_raw: Path
) -> None:
    tables = {
        name
        for (name,) in clean_build.query(
            "select table_name from information_schema.tables where table_schema = 'main'"
        )
    }
    assert set(PUBLIC_MARTS) <= tables
    for mart in PUBLIC_MARTS:
        assert clean_build.scalar(f"select count(*) from {mart}") > 0, mart

    raw_calls = pq.read_metadata(clean_raw / f"{CALLS}.parquet").num_rows
    raw_tasks = len(set(pq.read_table(clean_raw / f"{EVENTS}.parquet")["task_id"].to_pylist()))
    assert clean_build.scalar("select count(*) from fct_inference_call_footprint") == raw_calls
    assert (
        clean_build.scalar("select count(distinct call_id) from fct_inference_call_footprint")
        == raw_calls
    )
    assert clean_build.scalar("select count(*) from fct_task_footprint") == raw_tasks
    assert (
        clean_build.scalar("select sum(tasks + pending_tasks) from mart_feature_task_watts")
        == raw_tasks
    )
    assert clean_build.scalar("select sum(calls) from mart_model_efficiency") == raw_calls


# --------------------------------------------------------------------------------------------
# 2. Independent recomputation.
# --------------------------------------------------------------------------------------------


def test_every_call_footprint_matches_the_oracle(priced_build: Build, seeds: Seeds) -> None:
    expected = Oracle.from_raw(priced_build.raw_dir, seeds).calls
    actual = {
        call_id: (facility_wh, gco2e)
        for call_id, facility_wh, gco2e in priced_build.query(
            "select call_id, facility_wh, gco2e_location from fct_inference_call_footprint"
        )
    }
    assert actual.keys() == expected.keys()
    mismatches = [
        (call_id, actual[call_id], want)
        for call_id, want in sorted(expected.items())
        if not (close(actual[call_id][0], want[0]) and close(actual[call_id][1], want[1]))
    ]
    assert not mismatches, f"{len(mismatches)} calls differ, e.g. {mismatches[:5]}"


def test_feature_quarter_task_wh_matches_the_oracle(priced_build: Build, seeds: Seeds) -> None:
    expected = Oracle.from_raw(priced_build.raw_dir, seeds).feature_quarters
    actual = mart_feature_quarters(priced_build)
    assert actual.keys() == expected.keys()
    for key, (facility_wh, completed, tasks) in expected.items():
        got_wh, got_completed, got_tasks = actual[key]
        assert (got_completed, got_tasks) == (completed, tasks), key
        assert close(got_wh, facility_wh), (key, got_wh, facility_wh)
        if completed:
            assert close(got_wh / got_completed, facility_wh / completed), key


def test_modelled_calls_stay_inside_the_power_envelope(clean_build: Build) -> None:
    """No self-hosted modelled call implies less than idle or more than rated power per GPU."""
    rows = clean_build.query(
        """
        select accelerator_wh_basis, implied_gpu_power_w, gpu_idle_w, gpu_tdp_w
        from fct_inference_call_footprint
        where energy_method = 'modeled'
        """
    )
    assert len(rows) > 1000
    below = [r for r in rows if r[1] < r[2] * (1 - 1e-9)]
    above = [r for r in rows if r[1] > r[3] * (1 + 1e-9)]
    assert not below, below[:5]
    assert not above, above[:5]
    # The floor is exactly idle power where it set the value, and above it elsewhere.
    floored = [r for r in rows if r[0] == "idle_floor"]
    assert floored, "the sample never exercises the idle floor"
    assert all(math.isclose(r[1], r[2], rel_tol=1e-9) for r in floored)
    assert all(r[1] >= r[2] for r in rows if r[0] == "token_model")


def _maturity_raw(raw: Path) -> None:
    """Five days of chat_answer tasks, identical calls; the last day is still in progress.

    Days 1-4: 10 tasks each, 8 completed and 2 abandoned; day 1 also has a task that never got
    a terminal event (it times out: the horizon is 4 days later, the window 24 h). Day 5 (the
    horizon's day): 3 completed, 1 abandoned and 6 tasks still open - pending.
    """
    raw.mkdir(parents=True)
    calls = [
        "call_id,task_id,started_at,ended_at,model,provider,region,gpu_type,gpu_count,"
        "batch_size,input_tokens,cached_input_tokens,output_tokens,status,measured_energy_j"
    ]
    events = ["event_id,task_id,feature,event_type,event_at,user_id,quality_score"]
    plan = {day: ["completed"] * 8 + ["abandoned"] * 2 for day in range(1, 5)}
    plan[1].append(None)
    plan[5] = ["completed"] * 3 + ["abandoned"] + [None] * 6
    for day, outcomes in plan.items():
        for i, outcome in enumerate(outcomes):
            task, at = f"t_{day}_{i}", f"2026-08-0{day} 10:{i:02d}"
            calls.append(
                f"c_{day}_{i},{task},{at}:10,{at}:20,qwen3-30b-a3b,self_hosted,europe-west1,"
                "B200,1,8,500,0,200,ok,"
            )
            events.append(f"s_{day}_{i},{task},chat_answer,started,{at}:00,u_{i},")
            if outcome:
                events.append(f"e_{day}_{i},{task},chat_answer,{outcome},{at}:40,u_{i},")
    (raw / f"{CALLS}.csv").write_text("\n".join(calls) + "\n", encoding="utf-8")
    (raw / f"{EVENTS}.csv").write_text("\n".join(events) + "\n", encoding="utf-8")


def test_immature_last_days_show_no_end_of_period_artefact(tmp_path: Path) -> None:
    _maturity_raw(tmp_path / "raw")
    b = require_success(build(tmp_path / "raw", tmp_path))
    (per_call,) = {round(wh, 12) for (wh,) in b.query(
        "select facility_wh from fct_inference_call_footprint"
    )}  # fmt: skip
    outcomes = dict(b.query("select outcome, count(*) from fct_task_footprint group by outcome"))
    assert outcomes == {"completed": 35, "abandoned": 9, "timed_out": 1, "pending": 6}

    days = {
        row[0].day: row[1:]
        for row in b.query(
            """
            select task_date, tasks, completed_tasks, timed_out_tasks, pending_tasks,
                pending_facility_wh, facility_wh, wasted_wh, task_wh
            from mart_feature_task_watts order by task_date
            """
        )
    }
    f = per_call
    # By hand: a day's task_wh = energy of its matured tasks / its completed tasks.
    expected = {
        1: (11, 8, 1, 0, 0.0, 11 * f, 3 * f, 11 * f / 8),
        2: (10, 8, 0, 0, 0.0, 10 * f, 2 * f, 10 * f / 8),
        3: (10, 8, 0, 0, 0.0, 10 * f, 2 * f, 10 * f / 8),
        4: (10, 8, 0, 0, 0.0, 10 * f, 2 * f, 10 * f / 8),
        # Counting the 6 pending tasks would give 10 f / 3: the end-of-period spike.
        5: (4, 3, 0, 6, 6 * f, 4 * f, 1 * f, 4 * f / 3),
    }
    assert days.keys() == expected.keys()
    for day, want in expected.items():
        got = days[day]
        assert got[:4] == want[:4], day
        for g, w in zip(got[4:], want[4:], strict=True):
            assert math.isclose(g, w, rel_tol=1e-9, abs_tol=1e-12), (day, got, want)


# --------------------------------------------------------------------------------------------
# 3. Energy conservation, checked outside dbt.
# --------------------------------------------------------------------------------------------


def test_energy_is_conserved_across_grains(priced_build: Build, seeds: Seeds) -> None:
    call_wh, unattributed_wh = priced_build.query(
        """
        select sum(facility_wh), coalesce(sum(facility_wh) filter (where not has_task), 0)
        from fct_inference_call_footprint
        """
    )[0]
    task_wh = priced_build.scalar("select sum(facility_wh) from fct_task_footprint")
    mart_wh = priced_build.scalar(
        "select sum(facility_wh + pending_facility_wh) from mart_feature_task_watts"
    )
    model_wh = priced_build.scalar("select sum(facility_wh) from mart_model_efficiency")

    assert close(call_wh, task_wh + unattributed_wh)
    assert close(mart_wh, task_wh)
    assert close(model_wh, call_wh)
    # The unattributed share is the oracle's too: zero on the clean sample, not on the edge one.
    assert close(unattributed_wh, Oracle.from_raw(priced_build.raw_dir, seeds).unattributed_wh)


def test_edge_sample_really_exercises_the_edges(edge_build: Build) -> None:
    """Guard the edge fixture itself, so test 2 and 3 do not pass on a degenerate sample."""
    unattributed = edge_build.scalar(
        "select count(*) from fct_inference_call_footprint where not has_task"
    )
    off_curve = edge_build.scalar(
        """
        select count(distinct effective_batch_size) from fct_inference_call_footprint
        where effective_batch_size not in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
        """
    )
    assert unattributed == 4
    assert off_curve >= 8


# --------------------------------------------------------------------------------------------
# 4. The summarize story on the clean build.
# --------------------------------------------------------------------------------------------


def test_summarize_q3_is_more_efficient_per_token_but_costs_more_per_task(
    clean_build: Build,
) -> None:
    rows = clean_build.query(
        """
        select
            quarter(task_date) as q,
            sum(output_tokens), sum(accelerator_wh), sum(facility_wh),
            sum(completed_tasks), sum(tasks)
        from mart_feature_task_watts
        where feature = 'summarize' and year(task_date) = 2026
        group by quarter(task_date)
        """
    )
    by_quarter = {q: rest for q, *rest in rows}
    assert {2, 3} <= by_quarter.keys()

    def ratios(q: int) -> tuple[float, float, float]:
        output_tokens, accelerator_wh, facility_wh, completed, tasks = by_quarter[q]
        return output_tokens / accelerator_wh, facility_wh / completed, completed / tasks

    tokens_per_wh_q2, task_wh_q2, completion_q2 = ratios(2)
    tokens_per_wh_q3, task_wh_q3, completion_q3 = ratios(3)
    assert tokens_per_wh_q3 > tokens_per_wh_q2
    # Material, not a wobble: above the scorecard's 5 % line, with room for sampling noise.
    assert task_wh_q3 > 1.15 * task_wh_q2
    assert completion_q3 < completion_q2


# --------------------------------------------------------------------------------------------
# 5. Broken telemetry is blocked.
# --------------------------------------------------------------------------------------------


def _test_signature(result: Any) -> str:
    """'<generic test>:<model>.<column>' for generic tests, the node name for singular ones."""
    node = result.node
    meta = getattr(node, "test_metadata", None)
    if meta is None:
        return node.name
    model = (node.attached_node or "").rsplit(".", 1)[-1]
    return f"{meta.name}:{model}.{node.column_name}"


def _quarantined_calls(b: Build) -> set[tuple[str, str, bool]]:
    return set(b.query("select call_id, reason, is_rejected from quarantine__inference_calls"))


def test_broken_telemetry_is_quarantined_and_the_unknown_task_only_warns(
    broken_build: Build,
) -> None:
    """Row-level defects go to the quarantine with one reason each; the one call naming a
    task that has no events (1 of ~3,000, under the default 1 % tolerance) is a warning:
    the build completes and its energy stays in the inventory as unattributed."""
    assert broken_build.result.success, broken_build.describe_failures()
    warned = {_test_signature(r) for r in broken_build.with_status("warn").values()}
    assert warned == {"maps_to_parent:fct_inference_call_footprint.task_id"}

    n_clean = pq.read_metadata(broken_build.raw_dir / f"{CALLS}.parquet").num_rows - 6
    broken_ids = {f"c_{n_clean + i:09d}" for i in range(5)}
    assert _quarantined_calls(broken_build) == {
        (f"c_{n_clean + 1:09d}", "negative_tokens", True),  # output_tokens = -42
        (f"c_{n_clean + 2:09d}", "cached_gt_input", True),  # cached = input + 64
        (f"c_{n_clean + 3:09d}", "unknown_model", True),  # mystery-model-9b
        (f"c_{n_clean + 4:09d}", "unknown_region", True),  # mars-north-1
        ("c_000000000", "duplicate_call", True),  # an exact replay of the first call
    }
    # Nothing clean lost: every other call (and one copy of the replayed one) is accepted.
    accepted = {
        c for (c,) in broken_build.query("select call_id from int_inference_calls__accepted")
    }
    assert len(accepted) == n_clean + 1
    assert broken_ids - accepted == {f"c_{n_clean + i:09d}" for i in (1, 2, 3, 4)}
    assert broken_build.scalar("select count(*) from fct_inference_call_footprint") == n_clean + 1
    assert broken_build.query(
        "select call_id, task_id from fct_inference_call_footprint where not has_task"
    ) == [(f"c_{n_clean:09d}", "t_" + f"{_n_tasks(broken_build):08d}")]
    # The stored warning row says how many, which share of calls and of energy, and the fix.
    (row,) = broken_build.query(
        "select unmapped_rows, total_rows, unmapped_weight, unmapped_weight_share, "
        "how_to_accept, severity_level from main_dbt_test__audit.calls_name_tasks_with_events"
    )
    unattributed_wh = broken_build.scalar(
        "select facility_wh from fct_inference_call_footprint where not has_task"
    )
    total_wh = broken_build.scalar("select sum(facility_wh) from fct_inference_call_footprint")
    assert row[:2] == (1, n_clean + 1)
    assert close(row[2], unattributed_wh) and close(row[3], unattributed_wh / total_wh)
    assert row[4] == "to accept: --vars '{max_unmapped_call_share: 0.001}'" and row[5] == 1


def test_broken_telemetry_fails_when_no_unmapped_call_is_tolerated(
    broken_build: Build,
) -> None:
    """At max_unmapped_call_share 0 the same files fail at the named test, and the marts
    that divide by tasks are not built from books that do not balance."""
    work = broken_build.work_dir / "strict"
    work.mkdir(exist_ok=True)
    strict = build(broken_build.raw_dir, work, "--vars", "{max_unmapped_call_share: 0}")
    assert not strict.result.success
    failed = {_test_signature(r) for r in strict.with_status(*BAD_STATUSES).values()}
    assert failed == {"maps_to_parent:fct_inference_call_footprint.task_id"}, (
        strict.describe_failures()
    )
    assert "mart_feature_task_watts" in strict.with_status("skipped")
    assert (
        strict.scalar(
            "select severity_level from main_dbt_test__audit.calls_name_tasks_with_events"
        )
        == 2
    )


def _n_tasks(b: Build) -> int:
    return len(set(pq.read_table(b.raw_dir / f"{EVENTS}.parquet")["task_id"].to_pylist()))


# --------------------------------------------------------------------------------------------
# 6. Input formats and layouts give the same marts.
# --------------------------------------------------------------------------------------------


def _as_csv(clean_raw: Path, raw: Path) -> None:
    for name in (CALLS, EVENTS):
        write_csv(read_rows(clean_raw / f"{name}.parquet"), raw / f"{name}.csv")


def _as_jsonl(clean_raw: Path, raw: Path) -> None:
    for name in (CALLS, EVENTS):
        write_jsonl(read_rows(clean_raw / f"{name}.parquet"), raw / f"{name}.jsonl")


def _as_partitioned(clean_raw: Path, raw: Path) -> None:
    days = write_partitioned_by_day(pq.read_table(clean_raw / f"{CALLS}.parquet"), raw / CALLS)
    assert days > 90  # about two quarters of days
    shutil.copy(clean_raw / f"{EVENTS}.parquet", raw)


LAYOUTS: dict[str, Callable[[Path, Path], None]] = {
    "csv": _as_csv,
    "jsonl": _as_jsonl,
    "partitioned_parquet": _as_partitioned,
}


def _mart_totals(b: Build) -> dict[str, tuple[int, float]]:
    return {
        mart: tuple(b.query(f"select count(*), sum(facility_wh) from {mart}")[0])
        for mart in PUBLIC_MARTS
    }


def _call_footprints(b: Build) -> dict[str, tuple[float, float]]:
    rows = b.query("select call_id, facility_wh, gco2e_location from fct_inference_call_footprint")
    return {call_id: (wh, g) for call_id, wh, g in rows}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_other_input_formats_build_the_same_marts(
    layout: str,
    clean_raw: Path,
    clean_build: Build,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    work = tmp_path_factory.mktemp(layout)
    raw = work / "raw"
    raw.mkdir()
    LAYOUTS[layout](clean_raw, raw)
    shutil.copy(clean_raw / GRID_FILE, raw)
    assert not list(raw.glob(f"{CALLS}.parquet"))  # the calls really come in the new layout
    other = require_success(build(raw, work))

    want, got = _mart_totals(clean_build), _mart_totals(other)
    for mart in PUBLIC_MARTS:
        assert got[mart][0] == want[mart][0], mart
        assert close(got[mart][1], want[mart][1]), (mart, got[mart][1], want[mart][1])
    want_calls, got_calls = _call_footprints(clean_build), _call_footprints(other)
    assert got_calls.keys() == want_calls.keys()
    differ = [
        c
        for c in want_calls
        if not (
            close(got_calls[c][0], want_calls[c][0]) and close(got_calls[c][1], want_calls[c][1])
        )
    ]
    assert not differ, f"{len(differ)} calls differ, e.g. {differ[:5]}"


# --------------------------------------------------------------------------------------------
# 7. Missing input.
# --------------------------------------------------------------------------------------------


def test_missing_inference_calls_fails_naming_the_file_and_the_folder(
    tmp_path: Path,
) -> None:
    raw = tmp_path / "empty_raw"
    raw.mkdir()
    b = build(raw, tmp_path)
    assert not b.result.success
    messages = [str(b.result.exception)] if b.result.exception is not None else []
    messages += [r.message or "" for r in b.with_status(*BAD_STATUSES).values()]
    assert any("'inference_calls'" in m and str(raw) in m for m in messages), messages
    assert not b.db_path.exists() or STG_CALLS not in {
        name for (name,) in b.query("select table_name from duckdb_tables()")
    }


# --------------------------------------------------------------------------------------------
# 8. A BI tool can read the marts.
# --------------------------------------------------------------------------------------------

READ_ONLY_COUNTS = """
import sys
import duckdb

con = duckdb.connect(sys.argv[1], read_only=True)
for mart in sys.argv[2:]:
    print(mart, con.sql(f"select count(*) from {mart}").fetchall()[0][0])
"""


def test_marts_open_read_only_from_another_process(clean_build: Build) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", READ_ONLY_COUNTS, str(clean_build.db_path), *PUBLIC_MARTS],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    counts = dict(line.split() for line in proc.stdout.splitlines())
    assert counts.keys() == set(PUBLIC_MARTS)
    for mart in PUBLIC_MARTS:
        assert int(counts[mart]) == clean_build.scalar(f"select count(*) from {mart}") > 0


# --------------------------------------------------------------------------------------------
# 9. Every public column is documented, and the README lists them all.
# --------------------------------------------------------------------------------------------


def _documented_columns() -> dict[str, dict[str, str]]:
    """Public mart (a model file directly in models/marts/) -> column -> description, as dbt
    renders it (doc() blocks expanded): read from the manifest of a `dbt parse` into a
    throwaway target path, so each model's own YAML beside it is what is checked."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="documented_columns_") as tmp:
        work_dir = Path(tmp)
        result = harness.run_dbt("parse", work_dir / "raw", work_dir / "parse.duckdb", work_dir)
        assert result.success, result.exception
        manifest = json.loads((work_dir / "target" / "manifest.json").read_text())
    marts = ROOT / "models" / "marts"
    return {
        node["name"]: {
            name: column.get("description") or "" for name, column in node["columns"].items()
        }
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["package_name"] == "task_watts"
        and (ROOT / node["original_file_path"]).parent == marts
    }


def test_every_public_mart_column_is_documented(clean_build: Build) -> None:
    documented = _documented_columns()
    assert documented.keys() == set(PUBLIC_MARTS)
    for mart in PUBLIC_MARTS:
        built = [
            name
            for (name,) in clean_build.query(
                f"select column_name from information_schema.columns where table_name = '{mart}'"
            )
        ]
        assert set(built) == set(documented[mart]), mart
        undescribed = [name for name, text in documented[mart].items() if not text.strip()]
        assert not undescribed, (mart, undescribed)
