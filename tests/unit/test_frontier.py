"""The efficient frontier on hand-made points whose frontier was worked out on paper, and the
mart's like-for-like placement of each feature against its own observed options.

Points (carbon per task, quality):
    A (1.0, 0.50)  cleanest, worst quality            -> on the frontier
    A2 (1.0, 0.50) identical to A: neither dominates  -> on the frontier
    B (2.0, 0.80)                                       -> on the frontier
    C (3.0, 0.90)  best quality                         -> on the frontier
    D (2.5, 0.70)  B is cleaner and better              -> off; benchmark B, distance 0.5 (20%)
    E (4.0, 0.85)  only C has quality >= 0.85           -> off; benchmark C, distance 1.0 (25%)
    H (2.0, 0.75)  same carbon as B, lower quality      -> off; benchmark B, distance 0
"""

from __future__ import annotations

import math
from datetime import date

import pytest

from python_helpers.formula.frontier import (
    Point,
    dominates,
    efficient_frontier,
    frontier_positions,
    frontier_rows,
    split_saving,
)

POINTS = [
    Point("A", 1.0, 0.50),
    Point("A2", 1.0, 0.50),
    Point("B", 2.0, 0.80),
    Point("C", 3.0, 0.90),
    Point("D", 2.5, 0.70),
    Point("E", 4.0, 0.85),
    Point("H", 2.0, 0.75),
]


def test_frontier_is_the_hand_worked_set_in_quality_order():
    assert [p.label for p in efficient_frontier(POINTS)] == ["A", "A2", "B", "C"]


@pytest.mark.parametrize(
    ("label", "on", "peer", "distance", "share"),
    [
        ("A", True, "A", 0.0, 0.0),
        ("B", True, "B", 0.0, 0.0),
        ("C", True, "C", 0.0, 0.0),
        ("D", False, "B", 0.5, 0.2),
        ("E", False, "C", 1.0, 0.25),
        ("H", False, "B", 0.0, 0.0),
    ],
)
def test_positions_match_the_hand_worked_distances(label, on, peer, distance, share):
    pos = {p.label: p for p in frontier_positions(POINTS)}[label]
    assert pos.on_frontier is on
    assert pos.frontier_peer == peer
    assert pos.distance == pytest.approx(distance)
    assert pos.distance_share == pytest.approx(share)


def test_dominance_needs_one_strict_improvement():
    assert dominates(Point("x", 1, 0.9), Point("y", 2, 0.8))
    assert dominates(Point("x", 2, 0.9), Point("y", 2, 0.8))
    assert not dominates(Point("x", 2, 0.8), Point("y", 2, 0.8))
    assert not dominates(Point("x", 1, 0.7), Point("y", 2, 0.8))


def test_a_point_without_completed_tasks_is_left_out():
    positions = frontier_positions([Point("ok", 1.0, 0.9), Point("none", math.nan, 0.0)])
    assert [p.label for p in positions] == ["ok"]


# --------------------------------------------------------------------------------------------
# The mart: a feature against its own models, regions and quarters only.
# --------------------------------------------------------------------------------------------


def fq(feature, quarter, start, carbon, wh, quality, completed, target=12_000):
    """A mart_feature_quarter row."""
    return {
        "feature": feature, "quarter_label": quarter, "quarter_start": start,
        "completed_tasks": completed, "completion_rate": quality, "task_gco2e": carbon,
        "task_wh": wh, "latency_target_ms": target,
    }  # fmt: skip


def cell(feature, quarter, model, region, tasks, completed, wh, g, p95=5_000):
    """A mart_feature_model_quarter row."""
    return {
        "feature": feature, "quarter_label": quarter, "model": model, "region": region,
        "tasks": tasks, "completed_tasks": completed, "facility_wh": wh, "gco2e_location": g,
        "p95_attempt_latency_ms": p95,
    }  # fmt: skip


Q2, Q3 = date(2026, 4, 1), date(2026, 7, 1)

# The tracker's case, by hand.
#   chat_answer 2026-Q3 as run: qwen3-30b-a3b in us-east, 1000 tasks, 880 completed,
#       880 Wh, 88 g -> 1.0 Wh and 0.1 g per completed task (grid 0.1 g/Wh), completion 0.88.
#   chat_answer 2026-Q2, its own other option: qwen3-32b in eu-north, 500 tasks, 450 completed,
#       360 Wh, 18 g -> 0.8 Wh and 0.04 g per task (grid 0.05 g/Wh), completion 0.90 >= 0.88.
#   code_assist 2026-Q2 and Q3, ANOTHER feature on a far cleaner grid: 950 of 1000 completed,
#       95 Wh, 2.85 g -> 0.003 g per task, completion 0.95. Against it chat_answer would look
#       97 % avoidable (1 - 0.003 / 0.1); against its own option it is 60 %:
#   distance = 0.1 - 0.04 = 0.06 g/task, share 0.06 / 0.1 = 0.6, x 880 completed = 52.8 g;
#   energy effect = (1.0 - 0.8) Wh x 0.1 g/Wh = 0.02; grid effect = 0.8 Wh x (0.1 - 0.05) = 0.04;
#   0.02 + 0.04 = 0.06.
TRACE_QUARTERS = [
    fq("chat_answer", "2026-Q3", Q3, 0.1, 1.0, 0.88, 880),
    fq("code_assist", "2026-Q3", Q3, 0.003, 0.1, 0.95, 950),
]
TRACE_CELLS = [
    cell("chat_answer", "2026-Q3", "qwen3-30b-a3b", "us-east", 1000, 880, 880.0, 88.0),
    cell("chat_answer", "2026-Q2", "qwen3-32b", "eu-north", 500, 450, 360.0, 18.0),
    cell("code_assist", "2026-Q2", "qwen3-235b", "eu-north", 1000, 950, 95.0, 2.85),
    cell("code_assist", "2026-Q3", "qwen3-235b", "eu-north", 1000, 950, 95.0, 2.85),
]


def _row(out, feature, quarter="2026-Q3"):
    return next(r for r in out if r["feature"] == feature and r["quarter_label"] == quarter)


def test_the_frontier_never_benchmarks_a_feature_against_another_feature():
    chat = _row(frontier_rows(TRACE_QUARTERS, TRACE_CELLS), "chat_answer")
    assert chat["frontier_peer"] == "qwen3-32b in eu-north, 2026-Q2"
    assert "code_assist" not in chat["frontier_peer"] and "code_assist" not in chat["headline"]
    assert chat["benchmark_model"] == "qwen3-32b"
    assert chat["is_on_frontier"] is False
    # its own Q2 cell; not code_assist's, nor its only Q3 cell (that is itself as run)
    assert chat["compared_options"] == 1
    assert chat["frontier_task_gco2e"] == pytest.approx(0.04)
    assert chat["distance_gco2e_per_task"] == pytest.approx(0.06)
    assert chat["distance_share"] == pytest.approx(0.6)
    assert chat["avoidable_gco2e"] == pytest.approx(52.8)


def test_a_feature_with_no_cleaner_own_option_has_nothing_avoidable():
    # code_assist's only other option, its Q2 cell, is no cleaner than 0.003 g/task as run.
    code = _row(frontier_rows(TRACE_QUARTERS, TRACE_CELLS), "code_assist")
    assert code["frontier_peer"] == "as run"
    assert code["is_on_frontier"] is True
    assert code["distance_gco2e_per_task"] == 0.0
    assert code["avoidable_gco2e"] == 0.0


def test_energy_and_grid_effects_sum_to_the_saving_and_are_said_in_the_headline():
    chat = _row(frontier_rows(TRACE_QUARTERS, TRACE_CELLS), "chat_answer")
    assert chat["energy_effect_gco2e_per_task"] == pytest.approx(0.02)
    assert chat["grid_effect_gco2e_per_task"] == pytest.approx(0.04)
    assert chat["energy_effect_gco2e_per_task"] + chat["grid_effect_gco2e_per_task"] == (
        pytest.approx(chat["distance_gco2e_per_task"])
    )
    assert chat["avoidable_energy_effect_gco2e"] == pytest.approx(17.6)  # 0.02 x 880
    assert chat["avoidable_grid_effect_gco2e"] == pytest.approx(35.2)  # 0.04 x 880
    assert chat["crosses_region"] is True  # eu-north was not used by chat_answer in Q3
    assert "60% of its carbon per task" in chat["headline"]
    assert "energy effect 0.02 g/task" in chat["headline"]
    assert "grid effect 0.04 g/task (a different region's grid)" in chat["headline"]


@pytest.mark.parametrize(
    ("now_g", "now_wh", "bench_g", "bench_wh", "energy", "grid"),
    [
        # cleaner grid and less energy: (1.0 - 0.8) x 0.1 = 0.02; 0.8 x (0.1 - 0.05) = 0.04
        (0.1, 1.0, 0.04, 0.8, 0.02, 0.04),
        # less energy on a DIRTIER grid (0.15 g/Wh): (1.0 - 0.5) x 0.1 = 0.05;
        # 0.5 x (0.1 - 0.15) = -0.025; total 0.05 - 0.025 = 0.025 = 0.1 - 0.075
        (0.1, 1.0, 0.075, 0.5, 0.05, -0.025),
        # same energy, other grid only (0.2 g/Wh -> 0.05 g/Wh, 2 Wh): energy 0, grid 2 x 0.15 = 0.3
        (0.4, 2.0, 0.1, 2.0, 0.0, 0.3),
    ],
)
def test_split_saving_adds_up_to_the_total(now_g, now_wh, bench_g, bench_wh, energy, grid):
    got_energy, got_grid = split_saving(now_g, now_wh, bench_g, bench_wh)
    assert got_energy == pytest.approx(energy, abs=1e-12)
    assert got_grid == pytest.approx(grid, abs=1e-12)
    assert got_energy + got_grid == pytest.approx(now_g - bench_g)


def test_an_option_seen_only_later_is_not_hindsight_for_an_earlier_quarter():
    # chat_answer in Q2 (0.1 g/task, completion 0.88) may not use a cleaner cell first seen in Q3.
    quarters = [fq("chat_answer", "2026-Q2", Q2, 0.1, 1.0, 0.88, 880)]
    cells = [
        cell("chat_answer", "2026-Q2", "qwen3-30b-a3b", "us-east", 1000, 880, 880.0, 88.0),
        cell("chat_answer", "2026-Q3", "qwen3-32b", "eu-north", 500, 450, 360.0, 18.0),
    ]
    (row,) = frontier_rows(quarters, cells)
    assert row["frontier_peer"] == "as run"
    assert row["compared_options"] == 0


def test_rows_carry_the_previous_quarter():
    # slow Q2: 2 / 95 = 0.02105 g/task as run; slow Q3 got worse (0.04 g/task, completion
    # 0.60) while its own Q2 cell (200 Wh, 2 g, 95 of 100 -> 0.02105 g/task at 0.95) beats it:
    # distance 0.04 - 2 / 95 = 0.018947, x 200 completed = 3.789 g.
    quarters = [
        fq("slow", "2026-Q2", Q2, 2 / 95, 200 / 95, 0.95, 95),
        fq("slow", "2026-Q3", Q3, 0.04, 0.4, 0.60, 200),
    ]
    cells = [
        cell("slow", "2026-Q2", "m", "r", 100, 95, 200.0, 2.0),
        cell("slow", "2026-Q3", "m", "r", 333, 200, 80.0, 8.0),
    ]
    out = frontier_rows(quarters, cells)
    q3, q2 = _row(out, "slow", "2026-Q3"), _row(out, "slow", "2026-Q2")
    assert q3["is_on_frontier"] is False
    assert q3["frontier_peer"] == "m in r, 2026-Q2"
    assert q3["distance_gco2e_per_task"] == pytest.approx(0.04 - 2 / 95)
    assert q3["avoidable_gco2e"] == pytest.approx((0.04 - 2 / 95) * 200)
    assert q3["crosses_region"] is False
    assert q3["previous_quarter"] == "2026-Q2"
    assert q3["previous_is_on_frontier"] is True
    assert q3["previous_task_gco2e"] == pytest.approx(2 / 95)
    assert q2["previous_quarter"] is None
    # In Q2 its only cell is itself as run, not an alternative.
    assert q2["frontier_peer"] == "as run" and q2["is_on_frontier"] is True
    assert q2["compared_options"] == 0
    assert "no other option of its own observed yet" in q2["headline"]


def test_rounding_between_the_two_marts_is_not_avoidable_carbon():
    # Two cells in Q3, so both are alternatives: "a" is the same data as the feature point but
    # summed in another mart (carbon 1e-15 lower), "b" is dearer. Neither is a saving.
    quarters = [fq("f", "2026-Q3", Q3, 0.1 + 1e-15, 1.0, 0.9, 90)]
    cells = [
        cell("f", "2026-Q3", "a", "r", 100, 90, 90.0, 9.0),  # 9 / 90 = 0.1 g/task
        cell("f", "2026-Q3", "b", "r", 100, 90, 90.0, 18.0),  # 0.2 g/task
    ]
    (row,) = frontier_rows(quarters, cells)
    assert row["compared_options"] == 2
    assert row["frontier_peer"] == "as run"
    assert row["is_on_frontier"] is True


def test_the_same_grid_up_to_rounding_has_no_grid_effect() -> None:
    """Summed in another order, one grid's intensity differs in the 15th digit between engines;
    that is no grid effect (the whole saving is energy), while a real difference still is."""
    now_wh, bench_wh = 2.0, 1.5
    intensity = 0.4
    energy, grid = split_saving(
        now_wh * intensity, now_wh, bench_wh * intensity * (1 + 3e-15), bench_wh
    )
    assert grid == 0.0
    assert energy == now_wh * intensity - bench_wh * intensity * (1 + 3e-15)
    energy, grid = split_saving(0.8, 2.0, 1.5 * 0.3, 1.5)  # 0.4 vs 0.3 g/Wh
    assert grid == pytest.approx(1.5 * (0.4 - 0.3))
    assert energy == pytest.approx((2.0 - 1.5) * 0.4)
