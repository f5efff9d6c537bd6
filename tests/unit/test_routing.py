"""The routing optimiser on hand-worked cases.

Expected values are computed by hand in the comments: expected gCO2e per completed task of a
mix = sum(share x gCO2e per started task) / sum(share x completion rate).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from python_helpers.formula.routing import Candidate, mix_outcome, optimise_mix, routing_rows


def cand(model, completion, g_started, p95_ms=1000.0, wh_started=None):
    wh = g_started * 10 if wh_started is None else wh_started
    return Candidate(model, completion, g_started, wh, p95_ms)


# The article's trap, with the sample's summarize figures: the small model is cheaper per
# call (0.0296 g per started task vs 0.034) but completes 58.5% instead of 93%, so per
# completed task it costs 0.0296 / 0.585 = 0.0506 g against 0.034 / 0.93 = 0.0366 g.
BIG = cand("qwen3-32b", 0.93, 0.034)
SMALL_TRAP = cand("llama-3.1-8b", 0.585, 0.0296)


@pytest.mark.parametrize("mode", ["each_model", "mix"])
def test_cheaper_per_call_model_with_worse_task_carbon_is_never_recommended(mode):
    decision = optimise_mix([SMALL_TRAP, BIG], quality_floor=0.85, latency_target_ms=8000,
                            floor_applies_to=mode)  # fmt: skip
    assert decision.feasible
    assert decision.mix.shares == (("qwen3-32b", 1.0),)
    assert decision.mix.task_gco2e == pytest.approx(0.034 / 0.93)
    assert "llama-3.1-8b" not in decision.mix.models


def test_trap_stays_out_even_without_a_floor():
    # With no floor at all the trap still loses: its carbon per completed task is higher.
    decision = optimise_mix([SMALL_TRAP, BIG], quality_floor=0.0, latency_target_ms=None)
    assert decision.mix.models == ("qwen3-32b",)


# Cheapest per completed task but below the floor: A = 0.04 / 0.95 = 0.0421 g, B = 0.02 / 0.80
# = 0.025 g; floor 0.85.
A = cand("a-large", 0.95, 0.04)
B = cand("b-small", 0.80, 0.02)


def test_cheapest_model_breaking_the_floor_is_not_chosen():
    decision = optimise_mix([A, B], quality_floor=0.85, latency_target_ms=5000)
    assert decision.mix.shares == (("a-large", 1.0),)
    assert decision.mix.task_gco2e == pytest.approx(0.04 / 0.95)
    assert "below the 85% floor" in decision.excluded["b-small"]


def test_blended_floor_mixes_on_the_floor_and_no_further():
    # share of A so that 0.95 s + 0.80 (1 - s) = 0.85  ->  s = 1/3
    # expected = (1/3 x 0.04 + 2/3 x 0.02) / 0.85 = 0.0266667 / 0.85 = 0.0313725
    decision = optimise_mix([A, B], quality_floor=0.85, latency_target_ms=5000,
                            floor_applies_to="mix")  # fmt: skip
    shares = dict(decision.mix.shares)
    assert shares["a-large"] == pytest.approx(1 / 3)
    assert shares["b-small"] == pytest.approx(2 / 3)
    assert decision.mix.completion_rate == pytest.approx(0.85)
    assert decision.mix.task_gco2e == pytest.approx(0.0313725, rel=1e-5)


def test_smaller_model_wins_when_it_meets_the_floor():
    # small: 0.009 / 0.90 = 0.01 g per completed task; large: 0.092 / 0.92 = 0.1 g.
    small = cand("small", 0.90, 0.009)
    large = cand("large", 0.92, 0.092)
    decision = optimise_mix([large, small], quality_floor=0.85, latency_target_ms=5000)
    assert decision.mix.shares == (("small", 1.0),)
    assert decision.mix.task_gco2e == pytest.approx(0.01)
    assert decision.mix.task_wh == pytest.approx(0.1)


def test_infeasible_floor_is_reported_not_hidden():
    decision = optimise_mix([cand("x", 0.70, 0.01), cand("y", 0.75, 0.02)], 0.85, 5000)
    assert not decision.feasible
    assert decision.mix is None
    assert set(decision.excluded) == {"x", "y"}
    assert decision.best_admissible_completion == pytest.approx(0.75)
    assert decision.floor_only_best is None


def test_latency_target_excludes_and_the_floor_only_option_is_reported():
    slow = cand("slow", 0.95, 0.03, p95_ms=14_800)
    fast_bad = cand("fast", 0.60, 0.03, p95_ms=7_000)
    decision = optimise_mix([slow, fast_bad], quality_floor=0.85, latency_target_ms=8_000)
    assert not decision.feasible
    assert decision.excluded["slow"] == "p95 latency 14.8 s over the 8.0 s target"
    assert decision.floor_only_best.models == ("slow",)
    assert decision.floor_only_best.task_gco2e == pytest.approx(0.03 / 0.95)


def test_mix_outcome_rejects_shares_that_do_not_sum_to_one():
    with pytest.raises(ValueError):
        mix_outcome([A, B], {"a-large": 0.5, "b-small": 0.4})


rates = st.floats(min_value=0.05, max_value=1.0)
carbon = st.floats(min_value=1e-4, max_value=10.0)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(rates, carbon), min_size=2, max_size=5),
    st.floats(min_value=0.0, max_value=1.0),
    st.sampled_from(["each_model", "mix"]),
)
def test_a_dominated_trap_model_is_never_in_the_optimal_mix(models, floor, mode):
    cands = [cand(f"m{i}", c, g) for i, (c, g) in enumerate(models)]
    decision = optimise_mix(cands, floor, None, mode)
    if not decision.feasible:
        return
    for trap in cands:
        for other in cands:
            # trap: completes less AND costs more per completed task than another admissible model
            if trap.completion_rate < other.completion_rate and trap.task_gco2e > other.task_gco2e:
                assert trap.model not in decision.mix.models
    # The optimum is never worse than any single model that meets the floor.
    singles = [c.task_gco2e for c in cands if c.completion_rate >= floor]
    if singles:
        assert decision.mix.task_gco2e <= min(singles) * (1 + 1e-9)


def obs(feature, quarter, model, tasks, completed, wh, g, p95):
    return {
        "feature": feature, "quarter_label": quarter, "model": model, "tasks": tasks,
        "completed_tasks": completed, "facility_wh": wh, "gco2e_location": g,
        "p95_attempt_latency_ms": p95,
    }  # fmt: skip


def test_routing_rows_use_each_models_latest_evidence_and_list_models_without_any():
    observations = [
        # summarize on the medium model in Q2: 1000 tasks, 930 completed, 34 g, 88 Wh
        obs("summarize", "2026-Q2", "medium", 1000, 930, 88.0, 34.0, 6000),
        # and on the small model in Q3: 1000 tasks, 585 completed, 29.6 g, 73 Wh
        obs("summarize", "2026-Q3", "small", 1000, 585, 73.0, 29.6, 3000),
        obs("other", "2026-Q3", "frontier-api", 100, 90, 900.0, 300.0, 9000),
    ]
    catalogue = [
        {"feature": "summarize", "quality_floor": 0.85, "latency_target_ms": 8000},
        {"feature": "other", "quality_floor": 0.5, "latency_target_ms": 10000},
        {"feature": "unused", "quality_floor": 0.5, "latency_target_ms": 10000},
    ]
    out = {r["feature"]: r for r in routing_rows(observations, catalogue)}
    assert set(out) == {"summarize", "other"}
    s = out["summarize"]
    assert s["quarter_label"] == "2026-Q3"
    assert s["status"] == "switch"
    assert s["today_mix"] == "small 100%"
    assert s["recommended_mix"] == "medium 100%"
    assert s["today_task_gco2e"] == pytest.approx(29.6 / 585)
    assert s["projected_task_gco2e"] == pytest.approx(34.0 / 930)
    assert s["projected_task_wh"] == pytest.approx(88.0 / 930)
    assert s["task_gco2e_change_share"] == pytest.approx((34.0 / 930) / (29.6 / 585) - 1)
    assert s["projected_quarterly_saving_gco2e"] == pytest.approx((29.6 / 585 - 34.0 / 930) * 585)
    assert "small: completion 58.5% below the 85% floor" in s["excluded_models"]
    assert "medium observed 2026-Q2" in s["evidence"]
    assert s["no_evidence_models"] == "frontier-api"
    assert out["other"]["status"] == "keep"
    assert out["other"]["no_evidence_models"] == "medium, small"


def test_thin_evidence_is_not_evidence():
    observations = [
        obs("f", "2026-Q3", "big", 1000, 900, 10.0, 5.0, 100),
        obs("f", "2026-Q2", "tiny-sample", 10, 10, 0.1, 0.01, 100),
    ]
    catalogue = [{"feature": "f", "quality_floor": 0.8, "latency_target_ms": 1000}]
    (row,) = routing_rows(observations, catalogue, min_tasks=50)
    assert row["recommended_mix"] == "big 100%"
    assert row["no_evidence_models"] == "tiny-sample"
    # ...but a thin model that looks cleaner is named: 0.01 g / 10 = 0.001 g/task against big's
    # 5 g / 900 = 0.005556, i.e. 0.001 x 180 - 1 = -82 %.
    assert row["cleaner_excluded_model"] == "tiny-sample"
    assert row["cleaner_excluded_reason"] == "only 10 tasks observed, 50 needed"
    assert row["cleaner_excluded_change_share"] == pytest.approx(-0.82)
    assert "tiny-sample would cut task-gCO2e 82% but is excluded (only 10 tasks" in row["headline"]


# --------------------------------------------------------------------------------------------
# A recommendation must pay for itself, and a cleaner model left out must be named.
# --------------------------------------------------------------------------------------------

CHAT = {"feature": "chat_answer", "quality_floor": 0.80, "latency_target_ms": 12_000}


def _issue_trace():
    """The tracker's chat_answer case, by hand (today = the latest quarter, 2026-Q3):

    today  qwen3-30b-a3b  80 g / 800 completed  = 0.1   g/task, p95 14.1 s (over 12 s)
    Q2     gpt-4o         90.9 g / 900          = 0.101 g/task (+1 %), p95 9.0 s (admissible)
    Q2     qwen3-32b      54 g / 900            = 0.06  g/task (-40 %), p95 13.0 s (over 12 s)
    The only admissible option, gpt-4o, raises task-gCO2e: the answer is to keep today's model.
    """
    return [
        obs("chat_answer", "2026-Q3", "qwen3-30b-a3b", 1000, 800, 1000.0, 80.0, 14_100),
        obs("chat_answer", "2026-Q2", "gpt-4o", 1000, 900, 246.0, 90.9, 9_000),
        obs("chat_answer", "2026-Q2", "qwen3-32b", 1000, 900, 600.0, 54.0, 13_000),
    ]


def test_a_candidate_that_raises_task_gco2e_is_never_recommended():
    (row,) = routing_rows(_issue_trace(), [CHAT])
    assert row["today_task_gco2e"] == pytest.approx(0.1)  # 80 / 800
    assert row["status"] == "keep"
    assert row["recommended_mix"] == "qwen3-30b-a3b 100%"  # today's mix, unchanged
    assert row["projected_task_gco2e"] == pytest.approx(0.1)
    assert row["task_gco2e_change_share"] == 0.0
    assert row["projected_quarterly_saving_gco2e"] == 0.0
    # The optimiser's admissible best is still shown, with its +1 % (90.9 / 900 = 0.101).
    assert row["best_admissible_mix"] == "gpt-4o 100%"
    assert row["best_admissible_task_gco2e"] == pytest.approx(0.101)
    assert "gpt-4o" not in row["recommended_mix"]
    assert "keep the current model (qwen3-30b-a3b 100%)" in row["headline"]
    assert "+1% vs today" in row["headline"]


def test_a_latency_excluded_cleaner_candidate_is_named_with_its_reason():
    (row,) = routing_rows(_issue_trace(), [CHAT])
    # qwen3-32b: 0.06 / 0.1 - 1 = -40 %; its p95 13.0 s is over the 12.0 s target.
    assert row["cleaner_excluded_model"] == "qwen3-32b"
    assert row["cleaner_excluded_reason"] == "p95 latency 13.0 s over the 12.0 s target"
    assert row["cleaner_excluded_task_gco2e"] == pytest.approx(0.06)
    assert row["cleaner_excluded_change_share"] == pytest.approx(-0.40)
    assert (
        "qwen3-32b would cut task-gCO2e 40% but is excluded"
        " (p95 latency 13.0 s over the 12.0 s target)"
    ) in row["headline"]


def test_a_switch_still_names_the_cleaner_model_it_could_not_use():
    # today small: 10 g / 100 completed = 0.1; "mid": 9 g / 100 = 0.09 (-10 %), admissible;
    # "fast-clean": 6 g / 100 = 0.06 (-40 %) but p95 13.0 s over the 12.0 s target.
    observations = [
        obs("chat_answer", "2026-Q3", "today-model", 100, 100, 100.0, 10.0, 5_000),
        obs("chat_answer", "2026-Q2", "mid", 100, 100, 90.0, 9.0, 5_000),
        obs("chat_answer", "2026-Q2", "fast-clean", 100, 100, 60.0, 6.0, 13_000),
    ]
    (row,) = routing_rows(observations, [CHAT], min_tasks=50)
    assert row["status"] == "switch"
    assert row["recommended_mix"] == "mid 100%"
    assert row["task_gco2e_change_share"] == pytest.approx(-0.10)  # 0.09 / 0.1 - 1
    assert row["cleaner_excluded_model"] == "fast-clean"
    assert row["cleaner_excluded_change_share"] == pytest.approx(-0.40)  # 0.06 / 0.1 - 1
    assert "fast-clean would cut task-gCO2e 40% but is excluded (p95 latency" in row["headline"]


def test_the_report_headline_box_lists_a_kept_feature_with_a_cleaner_exclusion():
    from python_helpers.outputs.report.page import routing_headlines

    (row,) = routing_rows(_issue_trace(), [CHAT])
    assert row["status"] == "keep"
    assert routing_headlines([row]) == [row]
    assert "qwen3-32b would cut task-gCO2e 40% but is excluded" in row["headline"]
    kept_quietly = {**row, "cleaner_excluded_model": None}
    assert routing_headlines([kept_quietly]) == []


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=50, max_value=500),  # tasks
            st.floats(min_value=0.05, max_value=1.0),  # completion
            st.floats(min_value=1e-3, max_value=10.0),  # g per started task
            st.sampled_from([1_000.0, 20_000.0]),  # p95 ms
            st.sampled_from(["2026-Q2", "2026-Q3"]),
        ),
        min_size=1,
        max_size=5,
    ),
    st.floats(min_value=0.0, max_value=1.0),
    st.sampled_from(["each_model", "mix"]),
)
def test_no_row_ever_projects_more_carbon_than_today(models, floor, mode):
    observations = [
        obs("f", q, f"m{i}", n, max(1, round(n * c)), g * n, g * n, p95)
        for i, (n, c, g, p95, q) in enumerate(models)
    ]
    catalogue = [{"feature": "f", "quality_floor": floor, "latency_target_ms": 10_000}]
    (row,) = routing_rows(observations, catalogue, floor_applies_to=mode)
    if row["status"] != "infeasible":
        assert row["projected_task_gco2e"] <= row["today_task_gco2e"]
        assert row["task_gco2e_change_share"] <= 0
    if row["status"] == "switch":
        assert row["projected_task_gco2e"] < row["today_task_gco2e"]
