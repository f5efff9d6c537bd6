"""The scorecard on a hand-made warehouse: quarterly ratios are sums divided, traps are flagged."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from python_helpers.scorecard import main

# `trap`: 2026-Q2: facility 10 + 30 Wh over 10 + 10 completed -> task_wh 2.000;
#           tokens 20000 / accelerator 4 Wh -> 5,000 tok/Wh
#         2026-Q3: facility 12 + 36 Wh over 4 + 12 completed -> task_wh 48 / 16 = 3.000;
#           tokens 60000 / accelerator 6 Wh -> 10,000 tok/Wh: tokens/Wh +100%, task-Wh +50%
# `steady`: Q2 6 Wh / 3 completed = 2.000; Q3 days (1 Wh / 1) and (9 Wh / 2) -> 10 / 3 = 3.333,
#           whereas the mean of daily ratios would be (1.0 + 4.5) / 2 = 2.75.
MART_ROWS = [
    # feature, task_date, tasks, completed, facility, wasted, gco2e, out_tok, acc_wh, cached,
    # input, batch_sum, batch_calls, wh_small, wh_medium
    ("trap", "2026-04-10", 10, 10, 10.0, 0.0, 4.0, 8000, 2.0, 50, 100, 40, 4, 0.0, 10.0),
    ("trap", "2026-05-10", 10, 10, 30.0, 0.0, 12.0, 12000, 2.0, 50, 100, 40, 4, 0.0, 30.0),
    ("trap", "2026-07-10", 8, 4, 12.0, 6.0, 5.0, 30000, 3.0, 80, 100, 40, 4, 12.0, 0.0),
    ("trap", "2026-08-10", 16, 12, 36.0, 9.0, 15.0, 30000, 3.0, 80, 100, 40, 4, 36.0, 0.0),
    ("steady", "2026-04-10", 4, 3, 6.0, 1.0, 0.6, 3000, 1.0, 10, 100, 8, 1, 6.0, 0.0),
    ("steady", "2026-07-10", 1, 1, 1.0, 0.0, 0.1, 500, 0.5, 10, 100, 8, 1, 1.0, 0.0),
    ("steady", "2026-08-10", 2, 2, 9.0, 0.0, 0.9, 1000, 1.0, 10, 100, 8, 1, 9.0, 0.0),
]


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "scorecard.duckdb"
    with duckdb.connect(str(path)) as con:
        con.sql(
            """
            create table mart_feature_task_watts (
                feature varchar, task_date date, tasks bigint, completed_tasks bigint,
                facility_wh double, wasted_wh double, gco2e_location double,
                output_tokens bigint, accelerator_wh double, cached_input_tokens bigint,
                input_tokens bigint, batch_size_sum bigint, calls_with_batch_size bigint,
                facility_wh_small double, facility_wh_medium double,
                facility_wh_large double default 0, facility_wh_frontier double default 0
            )
            """
        )
        con.executemany(
            "insert into mart_feature_task_watts ("
            "feature, task_date, tasks, completed_tasks, facility_wh, wasted_wh, gco2e_location,"
            " output_tokens, accelerator_wh, cached_input_tokens, input_tokens, batch_size_sum,"
            " calls_with_batch_size, facility_wh_small, facility_wh_medium"
            ") values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            MART_ROWS,
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


def test_scorecard_ratios_are_quarter_sums_divided(
    warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--database", str(warehouse)]) == 0
    output = capsys.readouterr().out
    assert "2026-Q3 beside 2026-Q2" in output
    trap_q2 = _row(output, "trap", "2026-Q2")
    # tasks, task-Wh 40/20, task-gCO2e 16/20, completion 20/20, tok/Wh 20000/4
    assert trap_q2[2:7] == ["20", "2.000", "0.8000", "100.0%", "5,000"]
    steady_q3 = _row(output, None, "2026-Q3")  # features sort: steady's Q3 line comes first
    assert steady_q3[0] == "2026-Q3"
    # steady Q3: 10 Wh / 3 completed = 3.333 (not the mean of daily ratios, 2.75); +67% on 2.000
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


def test_scorecard_without_a_warehouse_says_what_to_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--database", str(tmp_path / "missing.duckdb")]) == 2
    assert "make demo" in capsys.readouterr().err
