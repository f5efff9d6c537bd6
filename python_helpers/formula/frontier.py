"""The carbon-vs-quality frontier of each feature against its OWN observed options.

A point is a carbon per completed task (lower is better) and a quality signal (completion rate,
higher is better). A point is *on* the efficient frontier when no other point is at least as good
on both axes and strictly better on one (Pareto-efficient). For a point off the frontier, the
benchmark is the lowest-carbon point whose quality is at least as high: the distance is the carbon
per task it would shed by reaching that point without losing quality.

"Avoidable" carbon compares like with like: a feature in a quarter is placed only against what
the *same feature* was observed to do on its own models, regions and quarters (up to that
quarter: no hindsight) - never against another feature. Different features are different tasks,
often on very different grids, so a gap between two of them is nothing a lead can act on. The
saving is split in two: the energy effect (task-Wh saved, priced at the feature's own grid
intensity) and the grid effect (the rest: the benchmark's energy on a cleaner grid), so a lead
sees whether the lever is the model or the region.

The inputs are already aggregated (tens of rows whatever the call volume), so plain Python over
small sequences is the clearest form; nothing here scales with calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from python_helpers.formula.routing import pool_evidence

#: Relative slack on carbon and absolute slack on quality when an option is compared with the
#: feature as it ran: the same cell summed in two marts differs by rounding, not by a saving.
_REL_TOL = 1e-9
_QUALITY_TOL = 1e-12


@dataclass(frozen=True)
class Point:
    """One feature in one quarter: carbon per completed task and its quality (0-1)."""

    label: str
    carbon: float
    quality: float


@dataclass(frozen=True)
class FrontierPosition:
    """Where a point sits relative to the efficient frontier of its group."""

    label: str
    carbon: float
    quality: float
    on_frontier: bool
    #: Lowest carbon on the frontier at a quality at least this point's (own carbon if on it).
    frontier_carbon: float
    #: Label of the frontier point that sets ``frontier_carbon`` (own label if on the frontier).
    frontier_peer: str
    #: carbon - frontier_carbon, >= 0: carbon per task shed by reaching the frontier.
    distance: float
    #: distance / carbon (0-1): the share of the point's carbon per task that is avoidable.
    distance_share: float


def dominates(a: Point, b: Point) -> bool:
    """True when ``a`` is at least as good as ``b`` on both axes and strictly better on one."""
    no_worse = a.carbon <= b.carbon and a.quality >= b.quality
    strictly_better = a.carbon < b.carbon or a.quality > b.quality
    return no_worse and strictly_better


def efficient_frontier(points: Iterable[Point]) -> list[Point]:
    """The non-dominated points, ordered by rising quality (and so rising carbon).

    Identical points (same carbon and quality) are all kept: neither dominates the other.
    """
    pts = [p for p in points if _is_finite(p)]
    frontier = [p for p in pts if not any(dominates(q, p) for q in pts)]
    return sorted(frontier, key=lambda p: (p.quality, p.carbon, p.label))


def frontier_positions(points: Sequence[Point]) -> list[FrontierPosition]:
    """Each point's position against the frontier of ``points`` (one group, e.g. one quarter).

    Points with a missing or non-finite coordinate (a feature with no completed task has no
    carbon per task) cannot be placed: they are left out of the result.
    """
    frontier = efficient_frontier(points)
    on = {id(p) for p in points if any(p is f for f in frontier)}
    positions = []
    for p in points:
        if not _is_finite(p):
            continue
        if id(p) in on:
            peer = p
        else:
            # A dominating point exists and, by transitivity, so does a dominating frontier point.
            candidates = [f for f in frontier if f.quality >= p.quality]
            peer = min(candidates, key=lambda f: (f.carbon, -f.quality, f.label))
        distance = max(p.carbon - peer.carbon, 0.0)
        positions.append(
            FrontierPosition(
                label=p.label,
                carbon=p.carbon,
                quality=p.quality,
                on_frontier=id(p) in on,
                frontier_carbon=peer.carbon,
                frontier_peer=peer.label,
                distance=distance,
                distance_share=distance / p.carbon if p.carbon > 0 else 0.0,
            )
        )
    return positions


def _is_finite(p: Point) -> bool:
    values = (p.carbon, p.quality)
    return all(v is not None and v == v and abs(v) != float("inf") for v in values)


# --------------------------------------------------------------------------------------------
# Like for like: one feature's quarter against the options it was itself observed on.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    """What one feature delivered on one model in one region in one quarter (pooled)."""

    feature: str
    model: str
    region: str
    quarter: str
    tasks: int
    completion_rate: float
    #: gCO2e and facility Wh per completed task (infinite when it completed nothing).
    task_gco2e: float
    task_wh: float
    #: Worst p95 attempt latency of the pooled rows, ms (None when unknown).
    p95_latency_ms: float | None = None

    @property
    def label(self) -> str:
        """'qwen3-32b in eu-north-1, 2026-Q2'."""
        return f"{self.model} in {self.region}, {self.quarter}"

    @property
    def point(self) -> Point:
        return Point(self.label, self.task_gco2e, self.completion_rate)


def feature_options(observations: Sequence[dict], min_tasks: int) -> list[Option]:
    """Each feature's observed (model, region, quarter) options, from mart_feature_model_quarter.

    Rows of one model in one region and quarter (several accelerators) are pooled, sums summed
    then divided; the p95 latency is the worst row's (conservative). Cells with fewer than
    ``min_tasks`` tasks are too thin to count as evidence and are left out.
    """
    pooled = pool_evidence(observations, ("feature", "model", "region", "quarter_label"))
    return [
        Option(
            feature=feature,
            model=model,
            region=region,
            quarter=quarter,
            tasks=acc["tasks"],
            completion_rate=acc["completed"] / acc["tasks"],
            task_gco2e=_per_completed(acc["g"], acc["completed"]),
            task_wh=_per_completed(acc["wh"], acc["completed"]),
            p95_latency_ms=acc["p95"],
        )
        for (feature, model, region, quarter), acc in sorted(pooled.items())
        if acc["tasks"] >= min_tasks
    ]


def benchmark_option(current: Point, options: Sequence[Option]) -> Option | None:
    """The cleanest option at no lower quality, when it is strictly cleaner than ``current``.

    ``options`` must all belong to the current point's feature (the caller filters); None when
    no option would lower the carbon per task without losing quality.
    """
    better = [
        o
        for o in options
        if _is_finite(o.point)
        and o.completion_rate >= current.quality - _QUALITY_TOL
        and o.task_gco2e < current.carbon * (1 - _REL_TOL)
    ]
    return min(better, key=lambda o: (o.task_gco2e, -o.completion_rate, o.label), default=None)


#: Relative difference below which two grid intensities are the same grid (rounding in sums).
SAME_INTENSITY_REL_TOL: Final = 1e-9


def split_saving(
    task_gco2e: float, task_wh: float, benchmark_gco2e: float, benchmark_wh: float
) -> tuple[float | None, float | None]:
    """(energy effect, grid effect) of moving from the current point to the benchmark, g/task.

    With I = gCO2e per facility Wh (the grid intensity each actually ran at):
    energy effect = (Wh_now - Wh_bench) x I_now: the task-Wh saved, priced at today's grid;
    grid effect   = Wh_bench x (I_now - I_bench): the benchmark's energy on its cleaner grid.
    They add up to gCO2e_now - gCO2e_bench exactly. (None, None) when an energy is zero or
    unknown: there is no intensity to split on. Two intensities within SAME_INTENSITY_REL_TOL
    are the same grid: the grid effect is then 0 and the whole saving is energy, instead of a
    1e-15 g/task residue whose sign depends on the order the engine summed in.
    """
    if not _is_positive(task_wh) or not _is_positive(benchmark_wh):
        return None, None
    intensity_now = task_gco2e / task_wh
    intensity_bench = benchmark_gco2e / benchmark_wh
    if abs(intensity_now - intensity_bench) <= SAME_INTENSITY_REL_TOL * max(
        abs(intensity_now), abs(intensity_bench)
    ):
        return task_gco2e - benchmark_gco2e, 0.0
    energy = (task_wh - benchmark_wh) * intensity_now
    grid = benchmark_wh * (intensity_now - intensity_bench)
    return energy, grid


# --------------------------------------------------------------------------------------------
# The mart: feature x quarter rows in, positions against the feature's own options out.
# --------------------------------------------------------------------------------------------

FRONTIER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("feature_quarter_id", "string"),
    ("feature", "string"),
    ("quarter_label", "string"),
    ("quarter_start", "date"),
    ("completed_tasks", "int64"),
    ("quality", "float64"),
    ("task_gco2e", "float64"),
    ("task_wh", "float64"),
    ("compared_options", "int64"),
    ("is_on_frontier", "bool"),
    ("frontier_task_gco2e", "float64"),
    ("frontier_peer", "string"),
    ("benchmark_model", "string"),
    ("benchmark_region", "string"),
    ("benchmark_quarter", "string"),
    ("benchmark_quality", "float64"),
    ("benchmark_task_wh", "float64"),
    ("benchmark_meets_latency", "bool"),
    ("crosses_region", "bool"),
    ("distance_gco2e_per_task", "float64"),
    ("distance_share", "float64"),
    ("energy_effect_gco2e_per_task", "float64"),
    ("grid_effect_gco2e_per_task", "float64"),
    ("avoidable_gco2e", "float64"),
    ("avoidable_energy_effect_gco2e", "float64"),
    ("avoidable_grid_effect_gco2e", "float64"),
    ("previous_quarter", "string"),
    ("previous_quality", "float64"),
    ("previous_task_gco2e", "float64"),
    ("previous_is_on_frontier", "bool"),
    ("headline", "string"),
)

#: frontier_peer when none of the feature's own options beats it as it ran.
AS_RUN = "as run"


def frontier_rows(
    feature_quarters: Sequence[dict], observations: Sequence[dict], min_tasks: int = 50
) -> list[dict]:
    """Every feature in every quarter against its own observed options, beside its last quarter.

    ``feature_quarters`` holds rows of ``mart_feature_quarter`` (feature, quarter_label,
    quarter_start, completed_tasks, completion_rate, task_gco2e, task_wh, latency_target_ms);
    ``observations`` rows of ``mart_feature_model_quarter``. Quality is the completion rate, the
    signal every feature has. A feature's options are its own (model, region, quarter) cells up
    to and including the quarter; another feature is never a benchmark. A quarter's only cell
    is the feature as it ran, not an alternative: the two marts count it with slightly different
    rules (pending, unattributed tasks), and a gap between them is no saving anyone can make.
    """
    options = feature_options(observations, min_tasks)
    regions_run: dict[tuple[str, str], set[str]] = {}
    cells_run: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for r in observations:
        regions_run.setdefault((r["feature"], r["quarter_label"]), set()).add(r["region"])
        cells_run.setdefault((r["feature"], r["quarter_label"]), set()).add(
            (r["model"], r["region"])
        )
    placed: dict[tuple[str, str], dict] = {}
    for row in feature_quarters:
        feature, quarter = row["feature"], row["quarter_label"]
        point = Point(feature, _num(row["task_gco2e"]), _num(row["completion_rate"]))
        if not _is_finite(point):
            continue  # no completed task: no carbon per task to place
        # The like-for-like filter: same feature, evidence no later than the quarter.
        as_run = cells_run.get((feature, quarter), set())
        own = [
            o
            for o in options
            if o.feature == feature
            and o.quarter <= quarter
            and not (o.quarter == quarter and len(as_run) == 1)
        ]
        placed[(feature, quarter)] = _place(
            row, point, own, regions_run.get((feature, quarter), set())
        )
    out = []
    for (feature, quarter), rec in sorted(placed.items()):
        earlier = [q for (f, q) in placed if f == feature and q < quarter]
        prev = placed[(feature, max(earlier))] if earlier else None
        rec["previous_quarter"] = prev["quarter_label"] if prev else None
        rec["previous_quality"] = prev["quality"] if prev else None
        rec["previous_task_gco2e"] = prev["task_gco2e"] if prev else None
        rec["previous_is_on_frontier"] = prev["is_on_frontier"] if prev else None
        out.append(rec)
    return out


def _place(row: dict, point: Point, own: Sequence[Option], regions_run: set[str]) -> dict:
    """One mart row: the feature-quarter point against its own options."""
    bench = benchmark_option(point, own)
    on_frontier = not any(_is_finite(o.point) and _dominates_as_run(o.point, point) for o in own)
    task_wh = _num(row["task_wh"])
    completed = int(row["completed_tasks"])
    distance = point.carbon - bench.task_gco2e if bench else 0.0
    energy, grid = (
        split_saving(point.carbon, task_wh, bench.task_gco2e, bench.task_wh)
        if bench
        else (0.0, 0.0)
    )
    target = row.get("latency_target_ms")
    rec = {
        "feature_quarter_id": f"{row['feature']}|{row['quarter_start']}",
        "feature": row["feature"],
        "quarter_label": row["quarter_label"],
        "quarter_start": row["quarter_start"],
        "completed_tasks": completed,
        "quality": point.quality,
        "task_gco2e": point.carbon,
        "task_wh": task_wh,
        "compared_options": len(own),
        "is_on_frontier": on_frontier,
        "frontier_task_gco2e": bench.task_gco2e if bench else point.carbon,
        "frontier_peer": bench.label if bench else AS_RUN,
        "benchmark_model": bench.model if bench else None,
        "benchmark_region": bench.region if bench else None,
        "benchmark_quarter": bench.quarter if bench else None,
        "benchmark_quality": bench.completion_rate if bench else None,
        "benchmark_task_wh": bench.task_wh if bench else None,
        "benchmark_meets_latency": (
            None
            if bench is None or target is None or bench.p95_latency_ms is None
            else bench.p95_latency_ms <= float(target)
        ),
        "crosses_region": (bench.region not in regions_run) if bench else None,
        "distance_gco2e_per_task": distance,
        "distance_share": distance / point.carbon if point.carbon > 0 else 0.0,
        "energy_effect_gco2e_per_task": energy,
        "grid_effect_gco2e_per_task": grid,
        "avoidable_gco2e": distance * completed,
        "avoidable_energy_effect_gco2e": None if energy is None else energy * completed,
        "avoidable_grid_effect_gco2e": None if grid is None else grid * completed,
    }
    rec["headline"] = frontier_headline(rec)
    return rec


def frontier_headline(rec: dict) -> str:
    """One sentence: how much of the feature's carbon its own observed options call avoidable."""
    name, quarter = rec["feature"], rec["quarter_label"]
    if rec["compared_options"] == 0:
        return (
            f"{name} {quarter}: no other option of its own observed yet (no other model, region"
            " or earlier quarter with enough tasks) - nothing to call avoidable."
        )
    if rec["frontier_peer"] == AS_RUN:
        return (
            f"{name} {quarter}: none of its own {rec['compared_options']} observed option(s)"
            " is cleaner at the same or a better completion rate - nothing avoidable on this"
            " evidence."
        )
    text = (
        f"{name} {quarter}: {rec['distance_share']:.0%} of its carbon per task"
        f" ({rec['distance_gco2e_per_task']:.3g} g/task, {rec['avoidable_gco2e']:,.0f} g over"
        f" the quarter) is avoidable against its own {rec['frontier_peer']}"
        f" (completion {rec['benchmark_quality']:.0%} vs {rec['quality']:.0%})"
    )
    energy, grid = rec["energy_effect_gco2e_per_task"], rec["grid_effect_gco2e_per_task"]
    if energy is not None:
        where = (
            "a different region's grid"
            if rec["crosses_region"]
            else "the same regions' grid at another time"
        )
        text += (
            f": energy effect {energy:.3g} g/task (task-Wh saved, at today's grid intensity)"
            f" + grid effect {grid:.3g} g/task ({where})"
        )
    if rec["benchmark_meets_latency"] is False:
        text += "; that option misses the feature's p95 latency target"
    return text + "."


def _dominates_as_run(option: Point, current: Point) -> bool:
    """``dominates`` with rounding slack: the feature's own cell never dominates it by noise."""
    no_worse = (
        option.carbon <= current.carbon * (1 + _REL_TOL)
        and option.quality >= current.quality - _QUALITY_TOL
    )
    strictly_better = (
        option.carbon < current.carbon * (1 - _REL_TOL)
        or option.quality > current.quality + _QUALITY_TOL
    )
    return no_worse and strictly_better


def _per_completed(total: float, completed: int) -> float:
    return total / completed if completed > 0 else float("inf")


def _is_positive(value: float | None) -> bool:
    return value is not None and value == value and 0 < value < float("inf")


def _num(value: object) -> float:
    return float("nan") if value is None else float(value)  # type: ignore[arg-type]


def arrow_schema(columns: Sequence[tuple[str, str]]):  # -> pyarrow.Schema
    """A pyarrow schema from (name, type name) pairs, so an empty result keeps its columns."""
    import pyarrow as pa

    types = {
        "string": pa.string(),
        "float64": pa.float64(),
        "int64": pa.int64(),
        "bool": pa.bool_(),
        "date": pa.date32(),
    }
    return pa.schema([(name, types[kind]) for name, kind in columns])


def rows_frame(rows: Sequence[dict], columns: Sequence[tuple[str, str]], session: object):
    """A small result (a few rows, computed in Python) as the session's own frame: a pyarrow
    Table on DuckDB, which dbt-duckdb writes as it is; a DataFrame of that table on Spark,
    whose dbt materialization writes only Spark DataFrames."""
    import pyarrow as pa

    table = pa.Table.from_pylist(list(rows), schema=arrow_schema(columns))
    create = getattr(session, "createDataFrame", None)
    return table if create is None else create(table)
