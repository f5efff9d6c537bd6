"""Tests for the synthetic workload generator, checked independently over the written files."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from python_helpers.tools.sample_workload import (
    CALLS_FILE,
    EVENTS_FILE,
    GRID_FILE,
    WorkloadSummary,
    main,
    write_sample_workload,
)

N_CALLS = 20_000
SEED = 42
SWITCH = "2026-07-01"
PERIOD_END = "2026-10-01"
FILES = (CALLS_FILE, EVENTS_FILE, GRID_FILE)

# Canonical ids from the design notes, restated here so the test does not trust the generator.
MODEL_GPU = {
    "llama-3.1-8b-instruct": ("self_hosted", "H100", 1),
    "qwen3-30b-a3b": ("self_hosted", "B200", 1),
    "qwen3-32b": ("self_hosted", "B200", 1),
    "qwen3-235b-a22b-fp8": ("self_hosted", "B200", 4),
    "gpt-4o": ("openai", None, None),
    "claude-sonnet-4": ("anthropic", None, None),
}
REGIONS = {"us-central1", "europe-west1", "us-east-1", "francecentral", "openai-us", "anthropic-us"}
FEATURES = {
    "summarize",
    "chat_answer",
    "code_assist",
    "doc_qa",
    "translate",
    "support_reply",
    "report_draft",
}
EXPECTED_CALLS = {
    "call_id": pa.string(),
    "task_id": pa.string(),
    "started_at": pa.timestamp("us"),
    "ended_at": pa.timestamp("us"),
    "model": pa.string(),
    "provider": pa.string(),
    "region": pa.string(),
    "gpu_type": pa.string(),
    "gpu_count": pa.int32(),
    "batch_size": pa.int32(),
    "input_tokens": pa.int64(),
    "cached_input_tokens": pa.int64(),
    "output_tokens": pa.int64(),
    "status": pa.string(),
    "measured_energy_j": pa.float64(),
}
EXPECTED_EVENTS = {
    "event_id": pa.string(),
    "task_id": pa.string(),
    "feature": pa.string(),
    "event_type": pa.string(),
    "event_at": pa.timestamp("us"),
    "user_id": pa.string(),
    "quality_score": pa.float64(),
}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, WorkloadSummary]:
    """A clean sample at the default seed."""
    out = tmp_path_factory.mktemp("clean")
    return out, write_sample_workload(out, n_calls=N_CALLS, seed=SEED)


@pytest.fixture(scope="module")
def broken_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same sample with the deliberately bad rows, written through the CLI."""
    out = tmp_path_factory.mktemp("broken")
    args = ["--calls", str(N_CALLS), "--seed", str(SEED), "--out", str(out), "--broken"]
    assert main(args) == 0
    return out


def _connect(raw: Path) -> duckdb.DuckDBPyConnection:
    """DuckDB connection with views ``c`` (calls), ``e`` (events) and ``g`` (grid)."""
    con = duckdb.connect()
    con.execute(f"create view c as select * from read_parquet('{raw / CALLS_FILE}')")
    con.execute(f"create view e as select * from read_parquet('{raw / EVENTS_FILE}')")
    con.execute(f"create view g as select * from read_csv('{raw / GRID_FILE}', header = true)")
    return con


@pytest.fixture(scope="module")
def con(sample: tuple[Path, WorkloadSummary]) -> duckdb.DuckDBPyConnection:
    return _connect(sample[0])


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple:
    row = con.execute(sql).fetchone()
    assert row is not None
    return row


def _defects(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Count each kind of bad row the --broken flag is meant to add."""
    models = ", ".join(f"'{m}'" for m in MODEL_GPU)
    regions = ", ".join(f"'{r}'" for r in REGIONS)
    row = _one(
        con,
        f"""
        select
            count(*) filter (where task_id not in (select task_id from e)),
            count(*) filter (where output_tokens < 0 or input_tokens < 0
                             or cached_input_tokens < 0),
            count(*) filter (where cached_input_tokens > input_tokens),
            count(*) filter (where model not in ({models})),
            count(*) - count(distinct call_id),
            count(*) filter (where region not in ({regions}))
        from c
        """,
    )
    keys = ("orphan_task", "negative_tokens", "cached_gt_input", "unknown_model", "dup_id")
    return dict(zip((*keys, "unknown_region"), row, strict=True))


# ------------------------------------------------------------------------------------------
# Determinism and contract
# ------------------------------------------------------------------------------------------


def test_same_seed_gives_identical_files(
    sample: tuple[Path, WorkloadSummary], tmp_path: Path
) -> None:
    again = write_sample_workload(tmp_path, n_calls=N_CALLS, seed=SEED)
    assert again.calls == sample[1].calls
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (sample[0] / name).read_bytes(), name


def test_other_seed_differs(sample: tuple[Path, WorkloadSummary], tmp_path: Path) -> None:
    write_sample_workload(tmp_path, n_calls=N_CALLS, seed=SEED + 1)
    assert (tmp_path / CALLS_FILE).read_bytes() != (sample[0] / CALLS_FILE).read_bytes()


def test_summary_matches_files(
    sample: tuple[Path, WorkloadSummary], con: duckdb.DuckDBPyConnection
) -> None:
    summary = sample[1]
    assert abs(summary.calls - N_CALLS) / N_CALLS < 0.05
    n_calls, n_tasks = _one(con, "select count(*), count(distinct task_id) from c")
    assert n_calls == summary.calls
    assert n_tasks <= summary.tasks  # tasks opened right before the cutoff may have no call yet
    events, tasks = _one(con, "select count(*), count(distinct task_id) from e")
    assert (events, tasks) == (summary.events, summary.tasks)
    assert {p.name for p in summary.files} == set(FILES)
    assert all(p.exists() for p in summary.files)


def test_parquet_schemas_follow_contract(sample: tuple[Path, WorkloadSummary]) -> None:
    for name, expected in ((CALLS_FILE, EXPECTED_CALLS), (EVENTS_FILE, EXPECTED_EVENTS)):
        schema = pq.read_schema(sample[0] / name)
        assert dict(zip(schema.names, schema.types, strict=True)) == expected, name
        for field in schema:
            if pa.types.is_timestamp(field.type):
                assert field.type.tz is None, f"{name}.{field.name} must be naive UTC"


def test_id_formats_and_uniqueness(con: duckdb.DuckDBPyConnection) -> None:
    bad_calls = _one(
        con,
        r"""select count(*) filter (where not regexp_full_match(call_id, 'c_\d{9}')),
                   count(*) filter (where not regexp_full_match(task_id, 't_\d{8}')),
                   count(*) - count(distinct call_id) from c""",
    )
    assert bad_calls == (0, 0, 0)
    bad_events = _one(
        con,
        r"""select count(*) filter (where not regexp_full_match(event_id, 'e_\d{9}')),
                   count(*) filter (where not regexp_full_match(user_id, 'u_\d{6}')),
                   count(*) - count(distinct event_id) from e""",
    )
    assert bad_events == (0, 0, 0)
    users, tasks = _one(con, "select count(distinct user_id), count(distinct task_id) from e")
    assert 8 <= tasks / users <= 25  # about one user per 15 tasks


# ------------------------------------------------------------------------------------------
# Referential integrity and timing
# ------------------------------------------------------------------------------------------


def test_every_call_task_has_events_and_a_start(con: duckdb.DuckDBPyConnection) -> None:
    assert _defects(con)["orphan_task"] == 0
    per_task = con.execute(
        """select count(*) filter (where event_type = 'started') as starts,
                  count(distinct feature) as features, count(distinct user_id) as users
           from e group by task_id"""
    ).fetchall()
    assert {row for row in per_task} == {(1, 1, 1)}


def test_call_times_inside_task_window(con: duckdb.DuckDBPyConnection) -> None:
    outside = _one(
        con,
        f"""
        with w as (
            select task_id,
                   min(event_at) filter (where event_type = 'started') as t_start,
                   case when bool_or(event_type in ('completed', 'abandoned', 'escalated'))
                        then max(event_at) else timestamp '{PERIOD_END}' end as t_end
            from e group by task_id)
        select count(*) filter (where c.started_at < w.t_start or c.ended_at > w.t_end),
               count(*) filter (where c.ended_at <= c.started_at)
        from c join w using (task_id)
        """,
    )
    assert outside == (0, 0)


def test_calls_of_a_task_do_not_overlap(con: duckdb.DuckDBPyConnection) -> None:
    overlaps = _one(
        con,
        """select count(*) from (
               select started_at, lag(ended_at) over (partition by task_id order by started_at)
                      as previous_end
               from c) where started_at < previous_end""",
    )
    assert overlaps == (0,)


def test_terminal_and_rating_order(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute(
        """select count(*) filter (where event_type in ('completed', 'abandoned', 'escalated'))
                      as terminals,
                  min(event_at) filter (where event_type = 'rated')
                      >= min(event_at) filter (where event_type = 'completed') as rated_after,
                  count(*) filter (where event_type = 'rated') as ratings,
                  max(event_at) filter (where event_type = 'retried')
                      <= coalesce(max(event_at) filter (where event_type
                                  in ('completed', 'abandoned', 'escalated')),
                                  timestamp '2100-01-01') as retries_before_end
           from e group by task_id"""
    ).fetchall()
    assert all(terminals <= 1 and ratings <= 1 for terminals, _, ratings, _ in rows)
    assert all(ok is not False for _, ok, _, _ in rows)
    assert all(ok is not False for *_, ok in rows)
    open_share = sum(1 for terminals, *_ in rows if terminals == 0) / len(rows)
    # Silent abandons (30% of ~12% abandoned) all period long, plus the last day's tasks whose
    # users have not come back yet.
    assert 0.02 <= open_share <= 0.07
    # The last day holds a far larger share of open tasks than the period as a whole.
    last_day_open_share = _one(
        con,
        """select avg(case when is_open then 1.0 else 0.0 end) from (
               select task_id, min(event_at) as t,
                      not bool_or(event_type in ('completed', 'abandoned', 'escalated'))
                          as is_open
               from e group by task_id)
           where t >= timestamp '2026-09-30 00:00:00'""",
    )[0]
    assert last_day_open_share > 3 * open_share


# ------------------------------------------------------------------------------------------
# Value domains
# ------------------------------------------------------------------------------------------


def test_tokens_are_consistent(con: duckdb.DuckDBPyConnection) -> None:
    defects = _defects(con)
    assert defects["negative_tokens"] == defects["cached_gt_input"] == 0
    not_blocks = _one(con, "select count(*) from c where cached_input_tokens % 16 <> 0")
    assert not_blocks == (0,)
    hit = dict(
        con.execute(
            """select e.feature, sum(cached_input_tokens) / sum(input_tokens)
               from c join (select distinct task_id, feature from e) e using (task_id)
               group by 1"""
        ).fetchall()
    )
    assert hit["summarize"] > 0.8 > hit["chat_answer"] > 0.5 > hit["doc_qa"] > 0.15


def test_status_and_event_type_values(con: duckdb.DuckDBPyConnection) -> None:
    status = dict(
        con.execute("select status, count(*) / sum(count(*)) over () from c group by 1").fetchall()
    )
    assert set(status) == {"ok", "error", "timeout", "cancelled"}
    assert 0.95 <= status["ok"] <= 0.99
    types = {t for (t,) in con.execute("select distinct event_type from e").fetchall()}
    assert types == {"started", "retried", "completed", "abandoned", "escalated", "rated"}
    features = {f for (f,) in con.execute("select distinct feature from e").fetchall()}
    assert features == FEATURES


def test_failed_call_never_completes_a_task(con: duckdb.DuckDBPyConnection) -> None:
    bad = _one(
        con,
        """with last_call as (
               select task_id, arg_max(status, started_at) as status from c group by task_id)
           select count(*) from last_call join e using (task_id)
           where e.event_type = 'completed' and last_call.status <> 'ok'""",
    )
    assert bad == (0,)


def test_quality_only_on_ratings(con: duckdb.DuckDBPyConnection) -> None:
    row = _one(
        con,
        """select count(*) filter (where event_type = 'rated' and quality_score is null),
                  count(*) filter (where event_type <> 'rated' and quality_score is not null),
                  min(quality_score), max(quality_score) from e""",
    )
    assert row[:2] == (0, 0)
    assert 0.0 <= row[2] <= row[3] <= 1.0


def test_models_regions_and_gpus(con: duckdb.DuckDBPyConnection) -> None:
    defects = _defects(con)
    assert defects["unknown_model"] == defects["unknown_region"] == 0
    rows = con.execute(
        "select distinct model, provider, gpu_type, gpu_count from c order by 1"
    ).fetchall()
    assert {(m, p, g, n) for m, p, g, n in rows} == {(m, *v) for m, v in MODEL_GPU.items()}
    vendor = _one(
        con,
        """select count(*) filter (where gpu_type is not null or gpu_count is not null
                                   or batch_size is not null or measured_energy_j is not null)
           from c where provider <> 'self_hosted'""",
    )
    assert vendor == (0,)


def test_batch_sizes(con: duckdb.DuckDBPyConnection) -> None:
    unknown, bad_values = _one(
        con,
        """select avg((batch_size is null)::int),
                  count(*) filter (where batch_size not in (1, 2, 4, 8, 16, 32, 64, 128, 256))
           from c where provider = 'self_hosted'""",
    )
    assert 0.065 <= unknown <= 0.095
    assert bad_values == 0
    median = dict(con.execute("select region, median(batch_size) from c group by 1").fetchall())
    assert median["us-east-1"] <= 4  # latency-sensitive code_assist
    assert median["europe-west1"] < 128  # chat dominates europe-west1 ...
    translate = _one(
        con,
        """select median(batch_size) from c
           where model = 'llama-3.1-8b-instruct' and region = 'europe-west1'""",
    )[0]
    assert translate >= 128  # ... while translate runs as deferrable big batches


def test_measured_energy(con: duckdb.DuckDBPyConnection) -> None:
    share, outside_fleet, non_positive = _one(
        con,
        """select avg((measured_energy_j is not null)::int)
                      filter (where provider = 'self_hosted'),
                  count(*) filter (where measured_energy_j is not null
                                   and region <> 'us-central1'),
                  count(*) filter (where measured_energy_j <= 0)
           from c""",
    )
    assert 0.10 <= share <= 0.20
    assert (outside_fleet, non_positive) == (0, 0)
    # The small model spends clearly less per output token than the medium one.
    per_token = dict(
        con.execute(
            """select model, sum(measured_energy_j) / sum(output_tokens) from c
               where measured_energy_j is not null group by 1"""
        ).fetchall()
    )
    assert per_token["llama-3.1-8b-instruct"] < 0.8 * per_token["qwen3-32b"]


def test_traffic_has_a_daily_and_weekly_cycle(con: duckdb.DuckDBPyConnection) -> None:
    day, night = _one(
        con,
        """select count(*) filter (where hour(event_at) between 10 and 14),
                  count(*) filter (where hour(event_at) between 0 and 4)
           from e where event_type = 'started' and feature = 'chat_answer'""",
    )
    assert day > 1.8 * night
    weekday, weekend = _one(
        con,
        """select count(*) filter (where isodow(event_at) <= 5) / 5,
                  count(*) filter (where isodow(event_at) > 5) / 2
           from e where event_type = 'started'""",
    )
    assert weekday > 1.4 * weekend


# ------------------------------------------------------------------------------------------
# The story
# ------------------------------------------------------------------------------------------

QUARTERLY_SQL = f"""
with tasks as (
    select task_id, any_value(feature) as feature,
           min(event_at) filter (where event_type = 'started') as started_at,
           bool_or(event_type = 'completed') as completed
    from e group by task_id),
calls as (select task_id, count(*) as n from c group by task_id)
select feature,
       case when started_at < timestamp '{SWITCH}' then 'Q2' else 'Q3' end as quarter,
       avg(completed::int) as completion,
       sum(coalesce(n, 0)) / sum(completed::int) as calls_per_completed
from tasks left join calls using (task_id)
group by all
"""


def _quarterly(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], tuple[float, float]]:
    rows = con.execute(QUARTERLY_SQL).fetchall()
    return {(f, q): (completion, per_completed) for f, q, completion, per_completed in rows}


def test_summarize_switches_model_on_july_first(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute(
        f"""
        with s as (select task_id, min(event_at) as t0 from e
                   where feature = 'summarize' group by task_id)
        select t0 < timestamp '{SWITCH}' as before, model,
               min(started_at) as first_call, count(*) as n
        from c join s using (task_id) group by all
        """
    ).fetchall()
    models = {(before, model) for before, model, _, _ in rows}
    assert models == {(True, "qwen3-32b"), (False, "llama-3.1-8b-instruct")}
    llama_first = next(first for _, m, first, _ in rows if m == "llama-3.1-8b-instruct")
    assert str(llama_first) >= SWITCH


def test_summarize_story_holds_in_raw_data(con: duckdb.DuckDBPyConnection) -> None:
    q = _quarterly(con)
    (c2, per2), (c3, per3) = q[("summarize", "Q2")], q[("summarize", "Q3")]
    assert c2 - c3 > 0.2
    assert per3 > 2.0 * per2


def test_other_features_are_stable(con: duckdb.DuckDBPyConnection) -> None:
    for (feature, quarter), (completion, _) in _quarterly(con).items():
        if feature != "summarize":
            assert 0.75 <= completion <= 0.97, (feature, quarter, completion)
    escalated = _one(
        con,
        """select avg((event_type = 'escalated')::int) from e
           where feature = 'support_reply'
             and event_type in ('completed', 'abandoned', 'escalated')""",
    )[0]
    assert 0.07 <= escalated <= 0.13


# ------------------------------------------------------------------------------------------
# Grid intensity
# ------------------------------------------------------------------------------------------


def test_grid_intensity_covers_q3_hourly(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute(
        """select grid_zone, count(*), count(distinct hour_start_at), min(hour_start_at),
                  max(hour_start_at), avg(gco2e_per_kwh), min(gco2e_per_kwh),
                  count(distinct source), any_value(source)
           from g group by 1"""
    ).fetchall()
    annual = {"US-MIDW-MISO": 412.72, "BE": 103.37}
    assert {row[0] for row in rows} == set(annual)
    for zone, n, distinct, first, last, mean, low, sources, source in rows:
        assert n == distinct == 92 * 24
        assert (str(first), str(last)) == ("2026-07-01 00:00:00", "2026-09-30 23:00:00")
        assert abs(mean / annual[zone] - 1) < 0.02
        assert low > 0
        assert sources == 1 and source.startswith("illustrative:")


def test_grid_csv_header_and_timestamp_format(sample: tuple[Path, WorkloadSummary]) -> None:
    lines = (sample[0] / GRID_FILE).read_text().splitlines()
    assert lines[0] == "grid_zone,hour_start_at,gco2e_per_kwh,source"
    assert lines[1].startswith("US-MIDW-MISO,2026-07-01 00:00:00,")


# ------------------------------------------------------------------------------------------
# Broken rows
# ------------------------------------------------------------------------------------------


def test_default_sample_has_no_bad_rows(con: duckdb.DuckDBPyConnection) -> None:
    assert set(_defects(con).values()) == {0}


def test_broken_flag_adds_each_bad_row_once(broken_dir: Path) -> None:
    defects = _defects(_connect(broken_dir))
    assert defects == dict.fromkeys(defects, 1)


def test_broken_rows_are_appended_to_the_clean_sample(
    sample: tuple[Path, WorkloadSummary], broken_dir: Path
) -> None:
    clean = pq.read_table(sample[0] / CALLS_FILE)
    broken = pq.read_table(broken_dir / CALLS_FILE)
    assert broken.num_rows == clean.num_rows + 6
    assert broken.slice(0, clean.num_rows).equals(clean)
    events = (sample[0] / EVENTS_FILE, broken_dir / EVENTS_FILE)
    assert events[0].read_bytes() == events[1].read_bytes()


def test_the_benchmarks_day_partitions_are_still_the_marked_sample(tmp_path: Path) -> None:
    """Without the marker a key-less build of the re-partitioned sample is refused."""
    from python_helpers.tools.benchmark import all_days_but, partition_by_day
    from python_helpers.tools.sample_workload import SAMPLE_MARKER

    write_sample_workload(tmp_path / "flat", n_calls=300, seed=3)
    days = partition_by_day(tmp_path / "flat", tmp_path / "days")
    assert (tmp_path / "days" / SAMPLE_MARKER).is_file()
    all_days_but(tmp_path / "days", tmp_path / "earlier", days[-1])
    assert (tmp_path / "earlier" / SAMPLE_MARKER).is_file()
