"""The scorecard on a hand-made warehouse: each quarter printed, traps flagged, gaps counted."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from python_helpers.outputs.scorecard import main

# Quarter rows as mart_feature_quarter holds them (its sums-then-divide roll-up is checked by
# the dbt unit test feature_quarter_ratios_are_sums_divided). Values worked by hand:
# `trap`:   Q2 task_wh 40/20 = 2.0, tokens/Wh 20000/4 = 5000, completion 20/20;
#           Q3 task_wh 48/16 = 3.0, tokens/Wh 60000/6 = 10000, completion 16/24.
# `steady`: Q2 task_wh 6/3 = 2.0, tokens/Wh 3000; Q3 task_wh 10/3, tokens/Wh 1500/1.5 = 1000.
QUARTER_ROWS = [
    # feature, quarter_start, label, tasks, task_wh, task_gco2e, completion, tok/Wh, wasted,
    # cache, batch, share small, share medium
    ("trap", "2026-04-01", "2026-Q2", 20, 2.0, 0.8, 1.0, 5000.0, 0.0, 0.5, 10.0, 0.0, 1.0),
    ("trap", "2026-07-01", "2026-Q3", 24, 3.0, 20 / 16, 16 / 24, 10000.0, 0.3125, 0.8, 10.0,
     1.0, 0.0),
    ("steady", "2026-04-01", "2026-Q2", 4, 2.0, 0.2, 0.75, 3000.0, 1 / 6, 0.1, 8.0, 1.0, 0.0),
    ("steady", "2026-07-01", "2026-Q3", 3, 10 / 3, 1 / 3, 1.0, 1000.0, 0.0, 0.1, 8.0, 1.0, 0.0),
]  # fmt: skip


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "scorecard.duckdb"
    with duckdb.connect(str(path)) as con:
        con.sql(
            """
            create table mart_feature_quarter (
                feature varchar, quarter_start date, quarter_label varchar, tasks bigint,
                task_wh double, task_gco2e double, completion_rate double,
                output_tokens_per_accelerator_wh double, wasted_wh_share double,
                cache_hit_rate double, mean_batch_size double,
                energy_share_small double, energy_share_medium double,
                energy_share_large double, energy_share_frontier double,
                pending_tasks bigint default 0, pending_facility_wh double default 0
            )
            """
        )
        con.executemany(
            "insert into mart_feature_quarter values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "null, null, 0, 0)",
            QUARTER_ROWS,
        )
        # The newest quarter still has tasks in progress: 3 + 2 of them, 0.5 + 0.25 Wh.
        con.sql(
            "update mart_feature_quarter set pending_tasks = 3, pending_facility_wh = 0.5 "
            "where feature = 'trap' and quarter_label = '2026-Q3'"
        )
        con.sql(
            "update mart_feature_quarter set pending_tasks = 2, pending_facility_wh = 0.25 "
            "where feature = 'steady' and quarter_label = '2026-Q3'"
        )
        con.sql(
            "create table fct_inference_call_footprint as select * from (values "
            "(true, 100.0), (false, 4.0), (false, 1.0)) as t(has_task, facility_wh)"
        )
        con.sql(
            "create table quarantine__inference_calls as select * from (values "
            "('r1', true), ('r1', true), ('r2', true), ('r3', false))"
            " as t(source_row_id, is_rejected)"
        )
    return path


def _row(output: str, feature: str | None, quarter: str) -> list[str]:
    """Fields of the first table line (below the header rule) for the feature and quarter."""
    table = output.split("-" * 40, 1)[1]
    for line in table.splitlines():
        fields = line.split()
        if quarter in fields and (feature is None or fields[0] == feature):
            return fields
    raise AssertionError(f"no line for {feature} {quarter} in:\n{output}")


def test_scorecard_prints_each_quarter_and_the_change(
    warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--database", str(warehouse)]) == 0
    output = capsys.readouterr().out
    assert "2026-Q3 beside 2026-Q2" in output
    trap_q2 = _row(output, "trap", "2026-Q2")
    # tasks, task-Wh, task-gCO2e, completion, tok/Wh
    assert trap_q2[2:7] == ["20", "2.000", "0.8000", "100.0%", "5,000"]
    steady_q3 = _row(output, None, "2026-Q3")  # features sort: steady's Q3 line comes first
    assert steady_q3[0] == "2026-Q3"
    # steady Q3: 3.333 Wh per completed task, +67% on 2.000
    assert steady_q3[1:4] == ["3", "3.333", "+67%"]


def test_scorecard_flags_the_efficiency_trap_and_counts_what_is_missing(
    warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["--database", str(warehouse)])
    output = capsys.readouterr().out
    # trap: tok/Wh 5,000 -> 60000/6 = 10,000 (+100%); task-Wh 2.000 -> 48/16 = 3.000 (+50%);
    # completion 20/20 -> 16/24.
    assert "! trap: output tokens per Wh +100% but task-Wh +50% (completion 100% -> 67%)" in output
    # steady's task-Wh rose but its tokens per Wh fell (3000/1 -> 1500/1.5 = 1,000): no trap.
    assert "! steady" not in output
    # unattributed: 4 + 1 of 105 Wh; quarantined: two distinct rejected rows (r3 is only flagged)
    assert "5.0 Wh of 105.0 Wh (4.76%)" in output
    assert "Quarantined calls (rejected, energy NOT counted above): 2;" in output
    assert "in no figure above until they complete or time out): 5 tasks, 0.8 Wh." in output


def test_scorecard_without_a_warehouse_says_what_to_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--database", str(tmp_path / "missing.duckdb")]) == 2
    assert "make demo" in capsys.readouterr().err


def test_scorecard_after_a_failed_build_names_the_failed_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No mart, and dbt's run results beside the warehouse say which node failed."""
    database = tmp_path / "task_watts.duckdb"
    with duckdb.connect(str(database)) as con:
        con.sql("create table stg_telemetry__inference_calls (call_id varchar)")
    (tmp_path / "run_results.json").write_text(
        json.dumps(
            {
                "results": [
                    {
                        "unique_id": "model.task_watts.stg_telemetry__task_events",
                        "status": "success",
                    },
                    {
                        "unique_id": "test.task_watts.calls_name_tasks_with_events.abc",
                        "status": "fail",
                        "message": "Got 2 results, configured to fail if >=2",
                    },
                ]
            }
        )
    )
    assert main(["--database", str(database)]) == 2
    err = capsys.readouterr().err
    assert "has no mart_feature_quarter, fct_inference_call_footprint" in err
    assert "calls_name_tasks_with_events.abc: Got 2 results, configured to fail if >=2" in err
    assert "CatalogException" not in err
