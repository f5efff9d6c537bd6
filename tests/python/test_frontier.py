"""The efficient frontier on hand-made points whose frontier was worked out on paper.

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

from python_helpers.frontier import (
    Point,
    dominates,
    efficient_frontier,
    frontier_positions,
    frontier_rows,
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


def test_rows_carry_the_previous_quarter_and_the_avoidable_carbon():
    def row(feature, quarter, start, carbon, quality, completed):
        return {
            "feature": feature, "quarter_label": quarter, "quarter_start": start,
            "completed_tasks": completed, "completion_rate": quality,
            "task_gco2e": carbon, "task_wh": carbon * 10,
        }  # fmt: skip

    q2, q3 = date(2026, 4, 1), date(2026, 7, 1)
    out = frontier_rows(
        [
            row("fast", "2026-Q2", q2, 0.01, 0.90, 100),
            row("slow", "2026-Q2", q2, 0.02, 0.95, 100),
            row("fast", "2026-Q3", q3, 0.01, 0.90, 100),
            # slow got worse: dearer and below fast's quality -> off the frontier, 0.03 g/task
            row("slow", "2026-Q3", q3, 0.04, 0.60, 200),
        ]
    )
    slow_q3 = next(r for r in out if r["feature"] == "slow" and r["quarter_label"] == "2026-Q3")
    assert slow_q3["is_on_frontier"] is False
    assert slow_q3["frontier_peer"] == "fast"
    assert slow_q3["distance_gco2e_per_task"] == pytest.approx(0.03)
    assert slow_q3["avoidable_gco2e"] == pytest.approx(6.0)  # 0.03 x 200 completed tasks
    assert slow_q3["previous_quarter"] == "2026-Q2"
    assert slow_q3["previous_is_on_frontier"] is True
    assert slow_q3["previous_task_gco2e"] == pytest.approx(0.02)
    slow_q2 = next(r for r in out if r["feature"] == "slow" and r["quarter_label"] == "2026-Q2")
    assert slow_q2["previous_quarter"] is None
