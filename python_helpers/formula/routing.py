"""Carbon-aware model-mix routing as a constrained optimisation, on observed evidence only.

For one feature, each candidate model carries what it was *observed* to deliver for that
feature: the share of tasks it completed, the energy and location-based carbon it spent per
*started* task (retries and failed attempts included) and its p95 latency per attempt. Routing a
share ``s_m`` of the feature's tasks to model ``m`` gives

    expected gCO2e per completed task = sum(s_m * g_m) / sum(s_m * c_m)
    completion rate of the mix        = sum(s_m * c_m)

with ``g_m`` the gCO2e per started task and ``c_m`` the completion rate. The objective is a
weighted mean of each model's own gCO2e per completed task (``g_m / c_m``, weights
``s_m * c_m``), so blending in a model whose carbon per *completed* task is higher can never
lower it: a model that is cheaper per token but completes so few tasks that its task-gCO2e is
worse (the trap of the article) is never part of an optimal mix.

Constraints, in the spirit of Green-Aware Routing (minimise emissions subject to an accuracy
floor and a latency target):

- latency: a model whose observed p95 attempt latency exceeds the feature's target is not
  admissible (a p95 of a blend is not a blend of p95s, so the check is per model);
- quality floor, ``floor_applies_to``:
  - ``"each_model"`` (default): every model the feature is routed to must meet the floor on
    its own. A router that cannot tell easy tasks from hard ones splits traffic at random, and
    a random cohort handed a model below the bar is exactly the quiet degradation to avoid.
    The optimum is then a single model.
  - ``"mix"``: only the blended completion rate must meet the floor. With one linear
    constraint on the simplex the optimum of the linear-fractional objective lies at a vertex
    of the feasible set: a single model meeting the floor, or a pair that straddles it with
    the floor binding. Both are enumerated, which is exact.

A model never observed on the feature has no evidence and is not evaluated: it is listed as
such, never given invented figures.

A recommendation must pay for itself: ``routing_rows`` recommends a change only when the optimal
admissible mix has a task-gCO2e strictly below the feature's observed one today; otherwise the
feature keeps its current mix. Whenever a model that would have cut carbon further was left out
(latency target, quality floor, too little evidence), the headline names it and says why, and so
do the ``cleaner_excluded_*`` columns, so nobody reads a switch as the cleanest thing observed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

FloorMode = Literal["each_model", "mix"]
#: Relative slack when comparing objectives, so ties break on the rules below, not on rounding.
_REL_TIE = 1e-12


@dataclass(frozen=True)
class Candidate:
    """A model's observed performance on one feature."""

    model: str
    completion_rate: float
    #: Location-based gCO2e per started task (all attempts and failed calls included).
    gco2e_per_started_task: float
    #: Facility Wh per started task.
    wh_per_started_task: float
    #: p95 latency per attempt, milliseconds; None when unknown (then not admissible).
    p95_latency_ms: float | None = None
    #: Where the evidence comes from, e.g. "2026-Q2" (for the report, not the maths).
    observed_in: str = ""
    #: Tasks behind the evidence (for the report: thin evidence is named, not used).
    tasks: int = 0

    @property
    def task_gco2e(self) -> float:
        """gCO2e per completed task (infinite when it completed nothing)."""
        return _ratio(self.gco2e_per_started_task, self.completion_rate)

    @property
    def task_wh(self) -> float:
        """Facility Wh per completed task (infinite when it completed nothing)."""
        return _ratio(self.wh_per_started_task, self.completion_rate)


@dataclass(frozen=True)
class Mix:
    """A routing of the feature's tasks across models, with its expected outcome."""

    shares: tuple[tuple[str, float], ...]
    completion_rate: float
    task_gco2e: float
    task_wh: float

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(m for m, _ in self.shares)

    def describe(self) -> str:
        """'qwen3-32b 100%' or 'a 67% + b 33%'."""
        return " + ".join(f"{m} {s:.0%}" for m, s in self.shares)


@dataclass(frozen=True)
class RoutingDecision:
    """The optimiser's answer for one feature."""

    feasible: bool
    #: The lowest expected gCO2e per completed task meeting every constraint (None if infeasible).
    mix: Mix | None
    #: Models left out and why (below the floor, over the latency target, no completions).
    excluded: dict[str, str] = field(default_factory=dict)
    #: When infeasible: the best model meeting the floor if latency were ignored (a trade-off
    #: for the feature owner to weigh), else None.
    floor_only_best: Mix | None = None
    #: When infeasible: the highest completion rate any latency-admissible model reaches.
    best_admissible_completion: float | None = None


def mix_outcome(candidates: Sequence[Candidate], shares: dict[str, float]) -> Mix:
    """Expected completion, task-gCO2e and task-Wh of routing ``shares`` of tasks to models.

    Shares must be non-negative and sum to 1 over models present in ``candidates``.
    """
    by_model = {c.model: c for c in candidates}
    total = sum(shares.values())
    if any(s < 0 for s in shares.values()) or abs(total - 1.0) > 1e-9:
        raise ValueError(f"shares must be >= 0 and sum to 1, got {shares}")
    kept = tuple(sorted(((m, s) for m, s in shares.items() if s > 0), key=lambda x: (-x[1], x[0])))
    completion = sum(s * by_model[m].completion_rate for m, s in kept)
    gco2e = sum(s * by_model[m].gco2e_per_started_task for m, s in kept)
    wh = sum(s * by_model[m].wh_per_started_task for m, s in kept)
    return Mix(kept, completion, _ratio(gco2e, completion), _ratio(wh, completion))


def optimise_mix(
    candidates: Sequence[Candidate],
    quality_floor: float,
    latency_target_ms: float | None,
    floor_applies_to: FloorMode = "each_model",
) -> RoutingDecision:
    """The model mix minimising expected gCO2e per completed task under the constraints."""
    if floor_applies_to not in ("each_model", "mix"):
        raise ValueError(f"floor_applies_to must be 'each_model' or 'mix', not {floor_applies_to}")
    reasons: dict[str, list[str]] = {c.model: [] for c in candidates}
    admissible: list[Candidate] = []
    for c in candidates:
        if c.completion_rate <= 0:
            reasons[c.model].append("completed no task")
        elif not _meets_latency(c, latency_target_ms):
            reasons[c.model].append(_latency_reason(c, latency_target_ms))
        else:
            admissible.append(c)

    options = [mix_outcome(candidates, {c.model: 1.0}) for c in admissible]
    if floor_applies_to == "mix":
        options += _floor_binding_pairs(candidates, admissible, quality_floor)
    feasible = [m for m in options if _meets_floor(m.completion_rate, quality_floor)]
    for c in candidates:
        in_a_feasible_mix = any(c.model in m.models for m in feasible)
        if (
            c.completion_rate > 0
            and not _meets_floor(c.completion_rate, quality_floor)
            and (floor_applies_to == "each_model" or not in_a_feasible_mix)
        ):
            reasons[c.model].append(
                f"completion {c.completion_rate:.1%} below the {quality_floor:.0%} floor"
            )
    excluded = {m: " and ".join(r) for m, r in reasons.items() if r}

    if feasible:
        return RoutingDecision(True, _best(feasible), excluded)

    floor_only = [
        mix_outcome(candidates, {c.model: 1.0})
        for c in candidates
        if c.completion_rate > 0 and _meets_floor(c.completion_rate, quality_floor)
    ]
    return RoutingDecision(
        feasible=False,
        mix=None,
        excluded=excluded,
        floor_only_best=_best(floor_only) if floor_only else None,
        best_admissible_completion=max((c.completion_rate for c in admissible), default=None),
    )


def _floor_binding_pairs(
    candidates: Sequence[Candidate], admissible: Sequence[Candidate], floor: float
) -> list[Mix]:
    """Two-model mixes whose blended completion sits exactly on the floor."""
    pairs = []
    for hi in admissible:
        for lo in admissible:
            if hi.completion_rate > floor > lo.completion_rate:
                share_hi = (floor - lo.completion_rate) / (hi.completion_rate - lo.completion_rate)
                pairs.append(
                    mix_outcome(candidates, {hi.model: share_hi, lo.model: 1.0 - share_hi})
                )
    return pairs


def _best(options: Sequence[Mix]) -> Mix:
    """Lowest task-gCO2e; near-ties go to higher completion, then fewer models, then name."""
    lowest = min(m.task_gco2e for m in options)
    near = [m for m in options if m.task_gco2e <= lowest * (1 + _REL_TIE)]
    return min(near, key=lambda m: (-m.completion_rate, len(m.shares), m.models))


def _meets_floor(completion_rate: float, floor: float) -> bool:
    # Blended completions computed from a binding share can land a rounding error below.
    return completion_rate >= floor - 1e-12


def _meets_latency(c: Candidate, target_ms: float | None) -> bool:
    if target_ms is None:
        return True
    return c.p95_latency_ms is not None and c.p95_latency_ms <= target_ms


def _latency_reason(c: Candidate, target_ms: float | None) -> str:
    if c.p95_latency_ms is None:
        return "latency unknown"
    return f"p95 latency {c.p95_latency_ms / 1000:.1f} s over the {target_ms / 1000:.1f} s target"


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else float("inf")


# --------------------------------------------------------------------------------------------
# The mart: feature x model x quarter observations in, one routing what-if per feature out.
# --------------------------------------------------------------------------------------------

ROUTING_COLUMNS: tuple[tuple[str, str], ...] = (
    ("feature", "string"),
    ("quarter_label", "string"),
    ("quality_floor", "float64"),
    ("latency_target_ms", "float64"),
    ("floor_applies_to", "string"),
    ("status", "string"),
    ("today_mix", "string"),
    ("today_completion_rate", "float64"),
    ("today_task_wh", "float64"),
    ("today_task_gco2e", "float64"),
    ("today_completed_tasks", "int64"),
    ("today_meets_floor", "bool"),
    ("recommended_mix", "string"),
    ("projected_completion_rate", "float64"),
    ("projected_task_wh", "float64"),
    ("projected_task_gco2e", "float64"),
    ("task_wh_change_share", "float64"),
    ("task_gco2e_change_share", "float64"),
    ("projected_quarterly_saving_gco2e", "float64"),
    ("evidence", "string"),
    ("excluded_models", "string"),
    ("no_evidence_models", "string"),
    ("floor_only_mix", "string"),
    ("floor_only_task_gco2e", "float64"),
    ("best_admissible_mix", "string"),
    ("best_admissible_task_gco2e", "float64"),
    ("cleaner_excluded_model", "string"),
    ("cleaner_excluded_reason", "string"),
    ("cleaner_excluded_task_gco2e", "float64"),
    ("cleaner_excluded_change_share", "float64"),
    ("headline", "string"),
)


def candidates_for_feature(
    observations: Sequence[dict], feature: str, min_tasks: int
) -> list[Candidate]:
    """One candidate per model observed on ``feature``, from its latest quarter with evidence.

    ``observations`` are rows of ``mart_feature_model_quarter``. A model's rows in one quarter
    (several regions) are pooled; its p95 latency is the worst region's (conservative). Quarters
    with fewer than ``min_tasks`` tasks are too thin to count as evidence.
    """
    latest: dict[str, tuple[str, dict]] = {}
    for (model, quarter), acc in _pooled(observations, feature).items():
        if acc["tasks"] >= min_tasks and (model not in latest or quarter > latest[model][0]):
            latest[model] = (quarter, acc)
    return [_candidate(model, quarter, acc) for model, (quarter, acc) in sorted(latest.items())]


def thin_candidates_for_feature(
    observations: Sequence[dict], feature: str, min_tasks: int
) -> list[Candidate]:
    """Models seen on ``feature`` but never on ``min_tasks`` tasks in a quarter (latest quarter).

    They are not evidence and never routed to; they are kept only so that the headline can say
    "would cut N % but has too little evidence" rather than stay silent about them.
    """
    enough = {c.model for c in candidates_for_feature(observations, feature, min_tasks)}
    latest: dict[str, tuple[str, dict]] = {}
    for (model, quarter), acc in _pooled(observations, feature).items():
        newer = model not in latest or quarter > latest[model][0]
        if model not in enough and acc["tasks"] > 0 and newer:
            latest[model] = (quarter, acc)
    return [_candidate(model, quarter, acc) for model, (quarter, acc) in sorted(latest.items())]


def pool_evidence(
    observations: Iterable[Mapping], key: Sequence[str]
) -> dict[tuple[str, ...], dict]:
    """Evidence rows summed per ``key`` columns: tasks, completions, Wh and gCO2e; the p95
    latency is the worst row's (None as soon as one row does not know it)."""
    pooled: dict[tuple[str, ...], dict] = {}
    for r in observations:
        acc = pooled.setdefault(
            tuple(r[k] for k in key), {"tasks": 0, "completed": 0, "wh": 0.0, "g": 0.0, "p95": 0.0}
        )
        acc["tasks"] += int(r["tasks"])
        acc["completed"] += int(r["completed_tasks"])
        acc["wh"] += float(r["facility_wh"])
        acc["g"] += float(r["gco2e_location"])
        p95 = r.get("p95_attempt_latency_ms")
        acc["p95"] = None if p95 is None or acc["p95"] is None else max(acc["p95"], float(p95))
    return pooled


def _pooled(observations: Sequence[dict], feature: str) -> dict[tuple[str, ...], dict]:
    """Sums of the feature's rows per (model, quarter), p95 the worst region's."""
    rows = (r for r in observations if r["feature"] == feature)
    return pool_evidence(rows, ("model", "quarter_label"))


def _candidate(model: str, quarter: str, acc: dict) -> Candidate:
    return Candidate(
        model=model,
        completion_rate=acc["completed"] / acc["tasks"],
        gco2e_per_started_task=acc["g"] / acc["tasks"],
        wh_per_started_task=acc["wh"] / acc["tasks"],
        p95_latency_ms=acc["p95"],
        observed_in=quarter,
        tasks=acc["tasks"],
    )


def routing_rows(
    observations: Sequence[dict],
    catalogue: Sequence[dict],
    floor_applies_to: FloorMode = "each_model",
    min_tasks: int = 50,
) -> list[dict]:
    """The routing what-if of every catalogued feature with observations, for its latest quarter.

    Today is the feature's observed mix in its latest quarter; the projection applies the
    recommended mix to each model's own observed rates on this feature. A change is recommended
    only when it strictly lowers today's task-gCO2e; otherwise today's mix is kept. Models the
    fleet serves but this feature never used are reported as having no evidence, never evaluated.
    """
    fleet = sorted({r["model"] for r in observations})
    out = []
    for feat in sorted(catalogue, key=lambda f: f["feature"]):
        name = feat["feature"]
        rows = [r for r in observations if r["feature"] == name]
        if not rows:
            continue
        quarter = max(r["quarter_label"] for r in rows)
        today_rows = [r for r in rows if r["quarter_label"] == quarter]
        tasks = sum(int(r["tasks"]) for r in today_rows)
        completed = sum(int(r["completed_tasks"]) for r in today_rows)
        today_g = _ratio(sum(float(r["gco2e_location"]) for r in today_rows), completed)
        today_wh = _ratio(sum(float(r["facility_wh"]) for r in today_rows), completed)
        today_c = completed / tasks if tasks else 0.0
        by_model: dict[str, int] = {}
        for r in today_rows:
            by_model[r["model"]] = by_model.get(r["model"], 0) + int(r["tasks"])
        today_mix = " + ".join(
            f"{m} {n / tasks:.0%}" for m, n in sorted(by_model.items(), key=lambda x: -x[1])
        )
        floor = float(feat["quality_floor"])
        target = feat.get("latency_target_ms")
        target_ms = None if target is None else float(target)
        cands = candidates_for_feature(observations, name, min_tasks)
        thin = thin_candidates_for_feature(observations, name, min_tasks)
        decision = optimise_mix(cands, floor, target_ms, floor_applies_to)
        no_evidence = [m for m in fleet if m not in {c.model for c in cands}]
        best = decision.mix
        excluded = {
            **decision.excluded,
            **{c.model: f"only {c.tasks} tasks observed, {min_tasks} needed" for c in thin},
        }
        status = _status(decision, today_g)
        # The mix actually recommended: the optimum only when it pays for itself, else today's.
        mix = best if status == "switch" else None
        cleaner = _cleaner_excluded(
            [c for c in cands if c.model in decision.excluded] + thin,
            best.task_gco2e if status == "switch" else today_g,
        )
        row = {
            "feature": name,
            "quarter_label": quarter,
            "quality_floor": floor,
            "latency_target_ms": target_ms,
            "floor_applies_to": floor_applies_to,
            "status": status,
            "today_mix": today_mix,
            "today_completion_rate": today_c,
            "today_task_wh": _finite_or_none(today_wh),
            "today_task_gco2e": _finite_or_none(today_g),
            "today_completed_tasks": completed,
            "today_meets_floor": _meets_floor(today_c, floor),
            "recommended_mix": None,
            "projected_completion_rate": None,
            "projected_task_wh": None,
            "projected_task_gco2e": None,
            "task_wh_change_share": None,
            "task_gco2e_change_share": None,
            "projected_quarterly_saving_gco2e": None,
            "evidence": "; ".join(
                f"{c.model} observed {c.observed_in}: completion {c.completion_rate:.1%}, "
                f"{c.task_gco2e:.4g} gCO2e/task, p95 {_seconds(c.p95_latency_ms)}"
                for c in cands
            ),
            "excluded_models": "; ".join(f"{m}: {why}" for m, why in sorted(excluded.items()))
            or None,
            "no_evidence_models": ", ".join(no_evidence) or None,
            "floor_only_mix": decision.floor_only_best.describe()
            if decision.floor_only_best
            else None,
            "floor_only_task_gco2e": (
                decision.floor_only_best.task_gco2e if decision.floor_only_best else None
            ),
            "best_admissible_mix": best.describe() if best else None,
            "best_admissible_task_gco2e": best.task_gco2e if best else None,
            "cleaner_excluded_model": cleaner.model if cleaner else None,
            "cleaner_excluded_reason": excluded[cleaner.model] if cleaner else None,
            "cleaner_excluded_task_gco2e": cleaner.task_gco2e if cleaner else None,
            "cleaner_excluded_change_share": _change(today_g, cleaner.task_gco2e)
            if cleaner
            else None,
        }
        if status == "switch":
            row.update(
                recommended_mix=mix.describe(),
                projected_completion_rate=mix.completion_rate,
                projected_task_wh=mix.task_wh,
                projected_task_gco2e=mix.task_gco2e,
                task_wh_change_share=_change(today_wh, mix.task_wh),
                task_gco2e_change_share=_change(today_g, mix.task_gco2e),
                projected_quarterly_saving_gco2e=(today_g - mix.task_gco2e) * completed,
            )
        elif status == "keep":
            # No change: the projection is today as observed.
            row.update(
                recommended_mix=today_mix,
                projected_completion_rate=today_c,
                projected_task_wh=_finite_or_none(today_wh),
                projected_task_gco2e=_finite_or_none(today_g),
                task_wh_change_share=0.0,
                task_gco2e_change_share=0.0,
                projected_quarterly_saving_gco2e=0.0,
            )
        row["headline"] = _headline(row, decision, excluded)
        out.append(row)
    return out


def _status(decision: RoutingDecision, today_task_gco2e: float) -> str:
    """switch only when the optimum strictly lowers today's task-gCO2e (beyond rounding)."""
    if not decision.feasible:
        return "infeasible"
    if decision.mix.task_gco2e < today_task_gco2e * (1 - _REL_TIE):
        return "switch"
    return "keep"


def _cleaner_excluded(excluded: Sequence[Candidate], reference: float) -> Candidate | None:
    """The excluded model with the lowest task-gCO2e, if strictly below ``reference``."""
    cleaner = [c for c in excluded if c.task_gco2e < reference * (1 - _REL_TIE)]
    return min(cleaner, key=lambda c: (c.task_gco2e, c.model), default=None)


def _headline(row: dict, decision: RoutingDecision, excluded: dict[str, str]) -> str:
    name, floor = row["feature"], row["quality_floor"]
    today_models = [m for m, _ in _today_models(row)]
    if row["status"] == "switch":
        text = (
            f"{name}: route to {row['recommended_mix']} - task-gCO2e"
            f" {row['today_task_gco2e']:.4g} -> {row['projected_task_gco2e']:.4g}"
            f" ({row['task_gco2e_change_share']:+.0%}), completion"
            f" {row['today_completion_rate']:.0%} -> {row['projected_completion_rate']:.0%}"
        )
    elif row["status"] == "keep" and row["best_admissible_mix"] == row["today_mix"]:
        text = (
            f"{name}: keep {row['recommended_mix']}"
            " - the lowest-carbon observed option meeting the floor and the latency target"
        )
    elif row["status"] == "keep":
        text = (
            f"{name}: keep the current model ({row['today_mix']})"
            " - no option meeting the floor and the latency target lowers its task-gCO2e"
            f" (best such option {row['best_admissible_mix']}:"
            f" {_signed_change(row['today_task_gco2e'], row['best_admissible_task_gco2e'])})"
        )
        itself = [f"{m}: {excluded[m]}" for m in today_models if m in excluded]
        if itself:
            text += f"; today's model is itself excluded ({'; '.join(itself)})"
    else:
        text = _infeasible_text(row, decision, floor, today_models)
    cleaner = row["cleaner_excluded_model"]
    floor_only = decision.floor_only_best
    if cleaner and not (floor_only is not None and floor_only.models == (cleaner,)):
        cut = row["cleaner_excluded_change_share"]
        size = (
            f"cut task-gCO2e {-cut:.0%}"
            if cut is not None
            else f"reach {row['cleaner_excluded_task_gco2e']:.4g} gCO2e/task"
        )
        text += f"; {cleaner} would {size} but is excluded ({row['cleaner_excluded_reason']})"
    return text + "."


def _infeasible_text(
    row: dict, decision: RoutingDecision, floor: float, today_models: list[str]
) -> str:
    text = (
        f"{row['feature']}: infeasible - no observed model meets the {floor:.0%} floor"
        " within the latency target"
    )
    best = decision.floor_only_best
    if best is not None and best.models == tuple(today_models):
        text += (
            f"; today's {best.describe()} meets the floor but misses the latency target"
            " and no other model has evidence on this feature: revisit the target or the serving"
        )
    elif best is not None:
        text += (
            f"; {best.describe()} meets the floor at {best.task_gco2e:.4g} gCO2e/task"
            f" ({_signed_change(row['today_task_gco2e'], best.task_gco2e)})"
            " but misses the latency target: a trade-off for the feature owner"
        )
    return text


def _signed_change(today: float | None, other: float) -> str:
    change = _change(today, other)
    return f"{other:.4g} gCO2e/task" if change is None else f"{change:+.0%} vs today"


def _today_models(row: dict) -> list[tuple[str, str]]:
    """(model, share text) pairs of today's mix, largest first."""
    return [tuple(part.rsplit(" ", 1)) for part in row["today_mix"].split(" + ")]


def _change(before: float, after: float) -> float | None:
    if before is None or not before or before == float("inf"):
        return None
    return after / before - 1.0


def _finite_or_none(value: float) -> float | None:
    return None if value == float("inf") else value


def _seconds(ms: float | None) -> str:
    return "unknown" if ms is None else f"{ms / 1000:.1f} s"
