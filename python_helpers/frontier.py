"""The carbon-vs-quality efficient frontier of a portfolio of features.

Each feature in a quarter is a point: its carbon per completed task (lower is better) and its
quality signal (completion rate, higher is better). A point is *on* the efficient frontier when no
other point is at least as good on both axes and strictly better on one (Pareto-efficient). For a
point off the frontier, the frontier point that serves as its benchmark is the lowest-carbon
frontier point whose quality is at least as high: the distance is the carbon per task it would
shed by reaching that point without losing quality.

The inputs are already aggregated to feature x quarter (tens of rows whatever the call volume),
so plain Python over small sequences is the clearest form; nothing here scales with calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


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
# The mart: feature x quarter rows in, frontier positions with the previous quarter out.
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
    ("is_on_frontier", "bool"),
    ("frontier_task_gco2e", "float64"),
    ("frontier_peer", "string"),
    ("distance_gco2e_per_task", "float64"),
    ("distance_share", "float64"),
    ("avoidable_gco2e", "float64"),
    ("previous_quarter", "string"),
    ("previous_quality", "float64"),
    ("previous_task_gco2e", "float64"),
    ("previous_is_on_frontier", "bool"),
)


def frontier_rows(feature_quarters: Sequence[dict]) -> list[dict]:
    """Frontier position of every feature in every quarter, beside its previous quarter.

    ``feature_quarters`` holds rows of ``mart_feature_quarter`` (feature, quarter,
    quarter_start, completed_tasks, completion_rate, task_gco2e, task_wh). Quality is the
    completion rate, the signal every feature has; the frontier is drawn per quarter.
    """
    by_quarter: dict[str, list[dict]] = {}
    for row in feature_quarters:
        by_quarter.setdefault(row["quarter_label"], []).append(row)
    placed: dict[tuple[str, str], tuple[dict, FrontierPosition]] = {}
    for quarter, rows in by_quarter.items():
        points = [
            Point(r["feature"], _num(r["task_gco2e"]), _num(r["completion_rate"])) for r in rows
        ]
        for row, pos in zip(rows, _align(points, frontier_positions(points)), strict=True):
            if pos is not None:
                placed[(quarter, row["feature"])] = (row, pos)
    quarters = sorted(by_quarter)
    out = []
    for (quarter, feature), (row, pos) in sorted(placed.items()):
        i = quarters.index(quarter)
        prev = placed.get((quarters[i - 1], feature)) if i > 0 else None
        out.append(
            {
                "feature_quarter_id": f"{feature}|{row['quarter_start']}",
                "feature": feature,
                "quarter_label": quarter,
                "quarter_start": row["quarter_start"],
                "completed_tasks": int(row["completed_tasks"]),
                "quality": pos.quality,
                "task_gco2e": pos.carbon,
                "task_wh": _num(row["task_wh"]),
                "is_on_frontier": pos.on_frontier,
                "frontier_task_gco2e": pos.frontier_carbon,
                "frontier_peer": pos.frontier_peer,
                "distance_gco2e_per_task": pos.distance,
                "distance_share": pos.distance_share,
                "avoidable_gco2e": pos.distance * int(row["completed_tasks"]),
                "previous_quarter": quarters[i - 1] if prev else None,
                "previous_quality": prev[1].quality if prev else None,
                "previous_task_gco2e": prev[1].carbon if prev else None,
                "previous_is_on_frontier": prev[1].on_frontier if prev else None,
            }
        )
    return out


def _align(points: Sequence[Point], positions: Sequence[FrontierPosition]) -> list:
    """Positions in the order of ``points``, None where a point could not be placed."""
    by_label = {p.label: p for p in positions}
    return [by_label.get(p.label) for p in points]


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
