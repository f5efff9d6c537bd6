"""The report's charts: one Plotly figure per section, drawn from the rows ``data.load`` reads.

Each function takes plain rows (dicts) and returns a ``Chart``; nothing here reads the warehouse
or writes HTML, so a chart can be checked on hand-made rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import plotly.graph_objects as go

from python_helpers.project import project_vars

TIERS: Final[tuple[str, ...]] = tuple(project_vars()["model_tiers"])
#: Colours from the cheapest tier to the dearest; a project with more tiers reuses the last.
_PALETTE: Final = ("#4c9f70", "#3b75af", "#e0a030", "#c2443c")
TIER_COLOURS: Final = {t: _PALETTE[min(i, len(_PALETTE) - 1)] for i, t in enumerate(TIERS)}
BAND_ORDER: Final = ("1", "2-4", "5-16", "17-64", "65+", "unknown")


@dataclass(frozen=True)
class Chart:
    """A figure and the id of the element it is drawn in."""

    chart_id: str
    figure: go.Figure
    height: int = 460


def _layout(fig: go.Figure, title: str, height: int, **kwargs: object) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.01},
        height=height,
        margin={"l": 70, "r": 30, "t": 60, "b": 60},
        template="plotly_white",
        legend={"orientation": "h", "y": -0.2},
        **kwargs,
    )
    return fig


def frontier_chart(frontier: Sequence[dict]) -> Chart:
    """Latest quarter's points, the previous quarter's in grey beside them.

    No line joins the features: each is benchmarked only against its own observed options
    (mart_quality_frontier), so a frontier drawn across features would be a comparison of
    different tasks on different grids, the very thing the mart no longer makes.
    """
    quarters = sorted({r["quarter_label"] for r in frontier})
    latest = quarters[-1]
    fig = go.Figure()
    for q, colour, opacity in ((quarters[-2] if len(quarters) > 1 else None, "#9a9a9a", 0.6),
                               (latest, "#1f5fa8", 1.0)):  # fmt: skip
        if q is None:
            continue
        pts = [r for r in frontier if r["quarter_label"] == q]
        labels = [
            r["feature"]
            if not r["distance_gco2e_per_task"] or q != latest
            else f"{r['feature']}<br>-{r['distance_gco2e_per_task']:.2g} g/task "
            f"(-{r['distance_share']:.0%} vs own {r['benchmark_model']})"
            for r in pts
        ]
        fig.add_trace(
            go.Scatter(
                x=[r["task_gco2e"] for r in pts],
                y=[r["quality"] for r in pts],
                mode="markers+text",
                text=labels,
                textposition="top center",
                textfont={"size": 10 if q == latest else 9, "color": colour},
                marker={
                    "size": 11,
                    "color": colour,
                    "symbol": ["circle" if r["is_on_frontier"] else "x" for r in pts],
                },
                opacity=opacity,
                name=f"features {q}",
                hovertemplate="%{text}<br>%{x:.4g} gCO2e/task, completion %{y:.1%}<extra></extra>",
            )
        )
    # Arrows: where each feature moved since the previous quarter.
    for r in frontier:
        if r["quarter_label"] == latest and r["previous_task_gco2e"] is not None:
            fig.add_annotation(
                x=_log10(r["task_gco2e"]), y=r["quality"],
                ax=_log10(r["previous_task_gco2e"]), ay=r["previous_quality"],
                xref="x", yref="y", axref="x", ayref="y",
                showarrow=True, arrowhead=2, arrowsize=1, arrowwidth=1, arrowcolor="#bbbbbb",
            )  # fmt: skip
    _layout(
        fig,
        f"Carbon vs quality per feature, {latest}"
        f" (grey: {quarters[-2] if len(quarters) > 1 else 'n/a'}; x: an own option dominates it)",
        560,
        xaxis={
            "title": "gCO2e per completed task (location-based, log scale)",
            "type": "log",
            "range": _log_range([r["task_gco2e"] for r in frontier]),
        },
        yaxis={"title": "completion rate", "tickformat": ".0%"},
    )
    return Chart("chart-frontier", fig, 560)


def task_wh_chart(weekly: Sequence[dict]) -> Chart:
    """Weekly task-Wh per feature."""
    fig = go.Figure()
    for feature in sorted({r["feature"] for r in weekly}):
        pts = [r for r in weekly if r["feature"] == feature]
        fig.add_trace(
            go.Scatter(
                x=[r["week_start"].isoformat() for r in pts],
                y=[r["task_wh"] for r in pts],
                mode="lines",
                name=feature,
            )
        )
    _layout(
        fig,
        "task-Wh by feature, weekly (facility Wh per completed task)",
        460,
        yaxis={"title": "Wh per completed task (log scale)", "type": "log"},
        xaxis={"title": "week (UTC, by task start)"},
    )
    return Chart("chart-task-wh", fig)


def tier_chart(levers: Sequence[dict]) -> Chart:
    """Energy share by model tier, per feature and quarter."""
    fig = go.Figure()
    x = [[r["feature"] for r in levers], [r["quarter_label"] for r in levers]]
    for t in TIERS:
        fig.add_trace(
            go.Bar(
                x=x,
                y=[(r[f"facility_wh_{t}"] or 0) / r["facility_wh"] for r in levers],
                name=t,
                marker_color=TIER_COLOURS[t],
            )
        )
    _layout(
        fig, "Lever 1 - energy by model tier", 420, barmode="stack", yaxis={"tickformat": ".0%"}
    )
    return Chart("chart-tier", fig, 420)


def band_chart(bands: Sequence[dict]) -> Chart:
    """Energy share by batch-size band, per feature and quarter."""
    keys = sorted({(r["feature"], r["quarter_label"]) for r in bands})
    fig = go.Figure()
    for band in BAND_ORDER:
        share = {
            (r["feature"], r["quarter_label"]): r["energy_share"]
            for r in bands
            if r["batch_size_band"] == band
        }
        fig.add_trace(
            go.Bar(
                x=[[k[0] for k in keys], [k[1] for k in keys]],
                y=[share.get(k, 0.0) for k in keys],
                name=f"batch {band}",
            )
        )
    _layout(
        fig,
        "Lever 2 - energy by batch-size band (small batches cost more per token)",
        420,
        barmode="stack",
        yaxis={"tickformat": ".0%"},
    )
    return Chart("chart-batch", fig, 420)


def cache_waste_chart(levers: Sequence[dict]) -> Chart:
    """Prefix-cache hit rate and the share of energy wasted on uncompleted tasks."""
    x = [[r["feature"] for r in levers], [r["quarter_label"] for r in levers]]
    fig = go.Figure(
        [
            go.Bar(x=x, y=[r["cache_hit_rate"] for r in levers], name="prefix-cache hit rate"),
            go.Bar(
                x=x,
                y=[r["wasted_share"] for r in levers],
                name="energy wasted on tasks never completed",
                marker_color="#c2443c",
            ),
        ]
    )
    _layout(
        fig,
        "Lever 3 - prefix-cache hit rate, and the share of energy wasted",
        420,
        barmode="group",
        yaxis={"tickformat": ".0%"},
    )
    return Chart("chart-cache-waste", fig, 420)


def routing_chart(routing: Sequence[dict]) -> Chart:
    """Today's task-gCO2e against the recommended mix (or the floor-only option)."""
    feats = [r["feature"] for r in routing]
    fig = go.Figure(
        [
            go.Bar(x=feats, y=[r["today_task_gco2e"] for r in routing], name="today"),
            go.Bar(
                x=feats,
                y=[r["projected_task_gco2e"] for r in routing],
                name="recommended mix (meets floor and latency)",
                marker_color="#4c9f70",
            ),
            go.Bar(
                x=feats,
                y=[r["floor_only_task_gco2e"] for r in routing],
                name="meets the floor only (latency target missed)",
                marker_color="#e0a030",
            ),
        ]
    )
    _layout(
        fig,
        "Routing what-if: gCO2e per completed task",
        440,
        barmode="group",
        yaxis={"title": "gCO2e per completed task (log scale)", "type": "log"},
    )
    return Chart("chart-routing", fig, 440)


def shifting_chart(shifting: Sequence[dict]) -> Chart:
    """Deferrable features: emissions as run, if time-shifted, if place-shifted."""
    x = [[r["feature"] for r in shifting], [r["quarter_label"] for r in shifting]]
    fig = go.Figure(
        [
            go.Bar(x=x, y=[r["gco2e_location"] / 1000 for r in shifting], name="as run"),
            go.Bar(
                x=x,
                y=[r["time_shifted_gco2e"] / 1000 for r in shifting],
                name="lowest-intensity hour of the day",
                marker_color="#4c9f70",
            ),
            go.Bar(
                x=x,
                y=[r["place_shifted_gco2e"] / 1000 for r in shifting],
                name="lowest-intensity region serving the model",
                marker_color="#3b75af",
            ),
        ]
    )
    _layout(
        fig,
        "Time and place: deferrable features",
        420,
        barmode="group",
        yaxis={"title": "kgCO2e per quarter (location-based)"},
    )
    return Chart("chart-shifting", fig, 420)


def model_card_chart(card: Sequence[dict]) -> Chart:
    """gCO2e per 1k tokens with bounds, by model x accelerator x quarter, grouped by tier."""
    fig = go.Figure()
    for t in TIERS:
        pts = [r for r in card if r["model_tier"] == t]
        if not pts:
            continue
        fig.add_trace(
            go.Scatter(
                x=[f"{r['model']} / {r['accelerator']} {r['quarter_label']}" for r in pts],
                y=[r["gco2e_per_1k_tokens"] for r in pts],
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [
                        r["gco2e_per_1k_tokens_high"] - r["gco2e_per_1k_tokens"] for r in pts
                    ],
                    "arrayminus": [
                        r["gco2e_per_1k_tokens"] - r["gco2e_per_1k_tokens_low"] for r in pts
                    ],
                },
                mode="markers",
                marker={
                    "size": 10,
                    "color": TIER_COLOURS[t],
                    "symbol": [
                        "diamond-open" if r["is_disclosure_missing"] else "circle" for r in pts
                    ],
                },
                name=f"{t} tier",
            )
        )
    _layout(
        fig,
        "Model card: gCO2e per 1,000 tokens with bounds (open diamond = vendor, no disclosure)",
        480,
        yaxis={"title": "gCO2e per 1k tokens (log scale)", "type": "log"},
        xaxis={"tickangle": -30},
    )
    return Chart("chart-model-card", fig, 480)


def sci_chart(sci: Sequence[dict]) -> Chart:
    """SCI per feature, latest quarter, with bounds and its operational/embodied split."""
    latest = max(r["quarter_label"] for r in sci)
    pts = [r for r in sci if r["quarter_label"] == latest]
    feats = [r["feature"] for r in pts]
    units = [r["functional_units"] or 1 for r in pts]
    fig = go.Figure(
        [
            go.Bar(
                x=feats,
                y=[r["operational_gco2e"] / u for r, u in zip(pts, units, strict=True)],
                name="E x I per task (operational)",
                marker_color="#3b75af",
            ),
            go.Bar(
                x=feats,
                y=[r["embodied_gco2e"] / u for r, u in zip(pts, units, strict=True)],
                name="M per task (embodied)",
                marker_color="#9a9a9a",
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [r["sci_gco2e_per_task_high"] - r["sci_gco2e_per_task"] for r in pts],
                    "arrayminus": [
                        r["sci_gco2e_per_task"] - r["sci_gco2e_per_task_low"] for r in pts
                    ],
                },
            ),
        ]
    )
    _layout(
        fig,
        f"SCI per completed task, {latest}",
        420,
        barmode="stack",
        yaxis={"title": "gCO2e per completed task (log scale)", "type": "log"},
    )
    return Chart("chart-sci", fig, 420)


def _log_range(values: Sequence[float | None]) -> list[float]:
    """A log-axis range with room for labels on both sides."""
    logs = [_log10(v) for v in values if v]
    return [min(logs) - 0.35, max(logs) + 0.35] if logs else [-3, 1]


def _log10(x: float) -> float:
    return math.log10(x) if x and x > 0 else 0.0
