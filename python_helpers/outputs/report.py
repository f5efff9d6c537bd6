"""Write the roadmap report: one self-contained HTML page, plus the disclosure files.

    task-watts report [--database target/task_watts.duckdb]
        [--out target/report] [--disclosures target/disclosures]
        [--base-url https://example.com/ai/disclosures]

Reads only public marts (the footprint marts and the roadmap marts), opening the DuckDB file
read-only as a BI tool would. Charts are Plotly figures; plotly.js is read from the installed
``plotly`` package and inlined once, so the page makes no network request and opens offline.
"""

from __future__ import annotations

import argparse
import html
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from python_helpers.outputs.build_status import explain_missing, missing_tables
from python_helpers.outputs.disclosures import write_disclosures
from python_helpers.outputs.scorecard import public_key_warning

DEFAULT_DATABASE = "target/task_watts.duckdb"
DEFAULT_OUT = "target/report"
DEFAULT_DISCLOSURES = "target/disclosures"
#: Placeholder: where the organisation will publish the disclosure files (replace with yours).
DEFAULT_BASE_URL = "https://example.com/ai/disclosures"
TIERS = ("small", "medium", "large", "frontier")
TIER_COLOURS = {"small": "#4c9f70", "medium": "#3b75af", "large": "#e0a030", "frontier": "#c2443c"}
BAND_ORDER = ("1", "2-4", "5-16", "17-64", "65+", "unknown")


@dataclass(frozen=True)
class Chart:
    """A figure and the id of the element it is drawn in."""

    chart_id: str
    figure: go.Figure
    height: int = 460


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    """Rows of a query as dicts."""
    rel = con.sql(sql)
    names = rel.columns
    return [dict(zip(names, r, strict=True)) for r in rel.fetchall()]


# --------------------------------------------------------------------------------------------
# Data: every query reads a public mart.
# --------------------------------------------------------------------------------------------


def load(con: duckdb.DuckDBPyConnection) -> dict[str, list[dict]]:
    """Everything the page shows, keyed by section."""
    tier_columns = ", ".join(f"facility_wh_{t}" for t in TIERS)
    return {
        "frontier": rows(
            con, "select * from mart_quality_frontier order by quarter_label, feature"
        ),
        "maturity": rows(
            con,
            """
            select coalesce(sum(pending_tasks), 0) as pending_tasks,
                   coalesce(sum(pending_facility_wh), 0) as pending_facility_wh,
                   coalesce(sum(timed_out_tasks), 0) as timed_out_tasks,
                   max(task_date) as last_task_date
            from mart_feature_task_watts
            """,
        ),
        "weekly": rows(
            con,
            """
            select feature, cast(date_trunc('week', task_date) as date) as week_start,
                   sum(facility_wh) / nullif(sum(completed_tasks), 0) as task_wh,
                   sum(wasted_wh) / nullif(sum(facility_wh), 0) as wasted_share
            from mart_feature_task_watts group by all order by feature, week_start
            """,
        ),
        "levers": rows(
            con,
            f"""
            select feature, quarter_label, facility_wh, {tier_columns},
                   cache_hit_rate, wasted_wh_share as wasted_share
            from mart_feature_quarter order by feature, quarter_label
            """,
        ),
        "bands": rows(
            con,
            "select * from mart_feature_batch_bands"
            " order by feature, quarter_label, batch_size_band_order",
        ),
        "routing": rows(con, "select * from mart_routing_what_if order by feature"),
        "evidence": rows(
            con, "select * from mart_feature_model_quarter order by feature, quarter_label, model"
        ),
        "shifting": rows(
            con, "select * from mart_shifting_what_if order by feature, quarter_label"
        ),
        "card": rows(
            con,
            """
            select * from mart_model_card
            order by case model_tier when 'small' then 1 when 'medium' then 2
                     when 'large' then 3 else 4 end, model, accelerator, quarter_label
            """,
        ),
        "card_regions": rows(
            con,
            """
            select model, coalesce(gpu_type, 'vendor') as accelerator,
                   year(started_at) || '-Q' || quarter(started_at) as quarter_label,
                   region, grid_zone,
                   sum(gco2e_location) * 1000 / nullif(sum(facility_wh), 0) as gco2e_per_kwh,
                   sum(facility_wh) as facility_wh
            from fct_inference_call_footprint group by all
            """,
        ),
        "sci": rows(con, "select * from mart_feature_sci order by feature, quarter_label"),
    }


# --------------------------------------------------------------------------------------------
# Charts.
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Page.
# --------------------------------------------------------------------------------------------

CSS = """
body { font-family: system-ui, -apple-system, Segoe UI, sans-serif; margin: 0 auto;
       max-width: 1180px; padding: 0 24px 48px; color: #222; line-height: 1.45; }
h1 { margin-top: 28px; }
h2 { margin-top: 40px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
table { border-collapse: collapse; font-size: 13px; margin: 12px 0; width: 100%; }
th, td { border-bottom: 1px solid #e4e4e4; padding: 4px 8px; text-align: left;
         vertical-align: top; }
th { background: #f5f5f5; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.note { color: #555; font-size: 13px; } .chart { margin: 8px 0 16px; }
.callout { background: #fff6e5; border-left: 4px solid #e0a030; padding: 8px 12px; margin: 12px 0; }
.bad { color: #b02a20; font-weight: 600; } .good { color: #2f7d4f; font-weight: 600; }
"""


def _esc(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _fmt(value: float | None, spec: str = ".4g") -> str:
    return "-" if value is None else format(value, spec)


def table(headers: Sequence[str], body: Sequence[Sequence[object]], numeric: set[int]) -> str:
    """An HTML table; values are escaped, columns in ``numeric`` right-aligned."""
    head = "".join(f"<th>{_esc(h)}</th>" for h in headers)
    trs = []
    for r in body:
        cells = "".join(
            f'<td class="num">{_esc(v)}</td>' if i in numeric else f"<td>{_esc(v)}</td>"
            for i, v in enumerate(r)
        )
        trs.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(trs)}</tbody></table>"


def chart_html(chart: Chart) -> str:
    """The figure's div and drawing script (plotly.js itself is inlined once in the head)."""
    inner = chart.figure.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=chart.chart_id,
        default_height=f"{chart.height}px",
        config={"displaylogo": False, "responsive": True},
    )
    return f'<div class="chart" data-chart="{chart.chart_id}">{inner}</div>'


def render(data: dict[str, list[dict]], database: str) -> tuple[str, list[str]]:
    """The whole page, and the ids of the charts it draws."""
    charts = [
        frontier_chart(data["frontier"]),
        task_wh_chart(data["weekly"]),
        tier_chart(data["levers"]),
        band_chart(data["bands"]),
        cache_waste_chart(data["levers"]),
        routing_chart(data["routing"]),
        shifting_chart(data["shifting"]),
        model_card_chart(data["card"]),
        sci_chart(data["sci"]),
    ]
    c = {ch.chart_id: chart_html(ch) for ch in charts}
    latest = max(r["quarter_label"] for r in data["frontier"])
    front = [r for r in data["frontier"] if r["quarter_label"] == latest]
    routing = data["routing"]
    sections = [
        f"<h1>task-watts roadmap report, {latest}</h1>",
        f'<p class="note">From the public marts of <code>{_esc(database)}</code>. Energy is '
        "facility energy (accelerator + host + data-centre overhead); carbon is location-based "
        "unless stated. Waste is charged to success: a task's retries and every uncompleted "
        "task count in the numerator, only completed tasks in the denominator.</p>",
        _headline_box(routing),
        "<h2>1. Carbon vs quality: avoidable carbon, each feature against its own options</h2>",
        '<p class="note">Each feature is a point (completion rate against gCO2e per completed '
        "task). Its carbon is called avoidable only against what the <b>same feature</b> was "
        "observed to deliver on its own models, regions and quarters (up to this one, at least "
        "the minimum evidence of tasks): the benchmark is the cleanest such option with at least "
        "its completion rate. Features are never compared with each other - they are different "
        "tasks, often on very different grids. The saving is split into an <b>energy effect</b> "
        "(task-Wh saved, at the feature's own grid intensity) and a <b>grid effect</b> (the "
        "rest: the benchmark's energy on a cleaner grid, e.g. another region). Features marked x "
        "have a cleaner own option. Grey: the previous quarter; arrows show movement.</p>",
        c["chart-frontier"],
        table(
            [
                "feature",
                "completion",
                "gCO2e/task",
                "own options",
                "benchmark (own option)",
                "distance g/task",
                "avoidable share",
                "energy effect g/task",
                "grid effect g/task",
                f"avoidable gCO2e in {latest}",
                "previous gCO2e/task",
            ],
            [
                [
                    r["feature"],
                    _fmt(r["quality"], ".1%"),
                    _fmt(r["task_gco2e"]),
                    _fmt(r["compared_options"], ",d"),
                    r["frontier_peer"],
                    _fmt(r["distance_gco2e_per_task"]),
                    _fmt(r["distance_share"], ".0%"),
                    _fmt(r["energy_effect_gco2e_per_task"]),
                    _fmt(r["grid_effect_gco2e_per_task"]),
                    _fmt(r["avoidable_gco2e"], ",.0f"),
                    _fmt(r["previous_task_gco2e"]),
                ]
                for r in sorted(front, key=lambda r: -r["avoidable_gco2e"])
            ],
            {1, 2, 3, 5, 6, 7, 8, 9, 10},
        ),
        "<ul>" + "".join(f"<li>{_esc(r['headline'])}</li>" for r in front) + "</ul>",
        "<h2>2. task-Wh over time, and the three levers</h2>",
        c["chart-task-wh"],
        c["chart-tier"],
        c["chart-batch"],
        c["chart-cache-waste"],
        "<h2>3. Routing what-if: the model mix with the least carbon per completed task</h2>",
        '<p class="note">Per feature, minimise expected gCO2e per <em>completed</em> task subject '
        "to the catalogue's quality floor (completion rate) and p95 latency target, using only "
        "what each model was observed to deliver on that feature: its completion rate, its "
        "retries and failed calls (inside its energy per started task) and its p95 latency per "
        "attempt. Each routed model must meet the floor on its own (a random split would hand a "
        "cohort a model below the bar). A model the feature never used has <b>no evidence</b> and "
        "is not evaluated; evidence from an earlier quarter is used as observed then, and is an "
        "extrapolation to today. The objective is a weighted mean of each model's own carbon per "
        "completed task, so a model cheaper per token whose completion makes task-gCO2e worse is "
        "never recommended. A change is recommended only when it strictly lowers today's "
        "task-gCO2e; otherwise the feature keeps its current model. When a model that would cut "
        "more was excluded (latency, floor, too little evidence), the headline names it and "
        "why.</p>",
        c["chart-routing"],
        table(
            [
                "feature",
                "status",
                "today",
                "completion",
                "gCO2e/task",
                "recommended",
                "completion",
                "gCO2e/task",
                "change",
                "excluded (why)",
                "cleaner but excluded",
                "no evidence",
            ],
            [
                [
                    r["feature"],
                    r["status"],
                    r["today_mix"],
                    _fmt(r["today_completion_rate"], ".1%"),
                    _fmt(r["today_task_gco2e"]),
                    r["recommended_mix"] or "none feasible",
                    _fmt(r["projected_completion_rate"], ".1%"),
                    _fmt(r["projected_task_gco2e"]),
                    _fmt(r["task_gco2e_change_share"], "+.0%"),
                    r["excluded_models"] or "-",
                    _cleaner_excluded_cell(r),
                    r["no_evidence_models"] or "-",
                ]
                for r in routing
            ],
            {3, 4, 6, 7, 8},
        ),
        "<ul>" + "".join(f"<li>{_esc(r['headline'])}</li>" for r in routing) + "</ul>",
        _evidence_table(data["evidence"]),
        "<h2>4. Time and place: deferrable features</h2>",
        '<p class="note">For features the catalogue marks deferrable: the location-based saving '
        "if each call had run at the lowest-intensity hour of its grid zone on the same UTC day "
        "(only calls priced with an hourly intensity can move), or in the lowest-intensity region "
        "where the same model on the same accelerator already serves traffic (that region's PUE "
        "and observed intensity) - in the spirit of the Carbon Aware SDK's best time and best "
        "location queries. The two are alternatives, not added.</p>",
        c["chart-shifting"],
        table(
            [
                "feature",
                "quarter_label",
                "region",
                "kgCO2e as run",
                "hourly coverage",
                "time saving",
                "best region",
                "place saving",
                "best option",
                "gCO2e/task as run",
                "with best option",
            ],
            [
                [
                    r["feature"],
                    r["quarter_label"],
                    r["current_region"],
                    _fmt(r["gco2e_location"] / 1000, ".3g"),
                    _fmt(r["hourly_coverage_share"], ".0%"),
                    _fmt(r["time_saving_share"], ".1%"),
                    r["best_region"],
                    _fmt(r["place_saving_share"], ".1%"),
                    r["best_option"],
                    _fmt(r["task_gco2e"]),
                    _fmt(r["best_task_gco2e"]),
                ]
                for r in data["shifting"]
            ],
            {3, 4, 5, 7, 9, 10},
        ),
        "<h2>5. Model card and procurement</h2>",
        '<p class="note">Per model x accelerator x quarter. Token-per-Wh is the right number for '
        "a model card or comparing two vendors at the same tier - not for the roadmap (section "
        "3). <b>measured</b>: joules reported by our serving layer; <b>modeled</b>: public "
        "per-token benchmarks adjusted for batch and cache; <b>estimated</b>: a vendor API that "
        "publishes no per-model energy, with wide bounds. Machine-readable versions: "
        '<a href="../disclosures/carbon.txt">carbon.txt</a> and one JSON per model under '
        "<code>target/disclosures/</code>.</p>",
        c["chart-model-card"],
        _model_card_table(data["card"]),
        "<h2>6. Software Carbon Intensity per feature</h2>",
        _sci_text(data["sci"]),
        c["chart-sci"],
        table(
            [
                "feature",
                "quarter_label",
                "E kWh",
                "I gCO2e/kWh",
                "M gCO2e",
                "R completed tasks",
                "SCI gCO2e/task",
                "low",
                "high",
                "embodied share",
            ],
            [
                [
                    r["feature"],
                    r["quarter_label"],
                    _fmt(r["energy_kwh"], ",.2f"),
                    _fmt(r["intensity_gco2e_per_kwh"], ".0f"),
                    _fmt(r["embodied_gco2e"], ",.0f"),
                    _fmt(r["functional_units"], ",d"),
                    _fmt(r["sci_gco2e_per_task"]),
                    _fmt(r["sci_gco2e_per_task_low"]),
                    _fmt(r["sci_gco2e_per_task_high"]),
                    _fmt(r["embodied_share"], ".0%"),
                ]
                for r in data["sci"]
            ],
            {2, 3, 4, 5, 6, 7, 8, 9},
        ),
        _method_notes(data["maturity"][0]),
        '<p class="note">Marts behind the charts, for BI tools: mart_quality_frontier, '
        "mart_feature_task_watts, mart_feature_batch_bands, mart_routing_what_if, "
        "mart_feature_model_quarter, mart_shifting_what_if, mart_model_card, mart_feature_sci.</p>",
    ]
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>task-watts roadmap report {latest}</title><style>{CSS}</style>"
        f"<script>{get_plotlyjs()}</script></head><body>" + "\n".join(sections) + "</body></html>\n"
    )
    return page, [ch.chart_id for ch in charts]


def _method_notes(maturity: dict) -> str:
    """What is measured, derived and assumed behind every figure above, and its bounds."""
    return (
        '<h2>Method notes</h2><ul class="note">'
        "<li><b>Measured</b>: self-hosted energy per token at one model x GPU x batch (ML.ENERGY "
        "v3, GPU boundary) and the batch-size curve from 8 to 512; per-call joules where the "
        "serving layer sends them (energy method <i>measured</i>).</li>"
        "<li><b>Derived</b>: prefill energy (0.2x decode, bounds 0.1-0.3x), batch sizes below 8 "
        "(extrapolated), host overhead 1.57 (bounds 1.43-2.20, Google's Gemini boundary split), "
        "idle power (Cloud Carbon Footprint's idle/max ratio), the prefix-cache residual 0.10 "
        "(bounds 0.05-0.30; equal to a price ratio, not an energy measurement). A modelled call "
        "never costs less than its GPUs' idle power over its share of their time.</li>"
        "<li><b>Assumed</b>: vendor-API energy, calibrated to published per-query figures (a "
        "typical gpt-4o query 0.34 Wh, bounds 0.20-1.20); a self-hosted call with no logged "
        "batch takes its deployment's declared batch, and its bounds span the deployment's "
        "range. Every low-high range above carries these bounds.</li>"
        f"<li><b>Mature cohorts</b>: {int(maturity['pending_tasks']):,} tasks (their "
        f"{maturity['pending_facility_wh']:,.1f} Wh) are still inside their feature's completion "
        "window and count in no task-Wh, task-gCO2e or completion rate until they complete or "
        f"time out; {int(maturity['timed_out_tasks']):,} tasks timed out (no terminal event "
        "within the window) and count as waste. The newest days therefore show no end-of-period "
        "spike.</li></ul>"
    )


def _headline_box(routing: Sequence[dict]) -> str:
    switch = [r for r in routing if r["status"] == "switch"]
    infeasible = [r for r in routing if r["status"] == "infeasible"]
    # A kept feature is news when a cleaner model was ruled out: say which and why.
    kept_with_exclusion = [
        r for r in routing if r["status"] == "keep" and r["cleaner_excluded_model"] is not None
    ]
    items = [f"<li>{_esc(r['headline'])}</li>" for r in switch + infeasible + kept_with_exclusion]
    return (
        '<div class="callout"><b>Routing headline.</b> '
        f"{len(switch)} feature(s) to re-route (each strictly lowers task-gCO2e), "
        f"{len(infeasible)} with no observed option meeting both the quality floor and the "
        f"latency target, {len(routing) - len(switch) - len(infeasible)} keeping their current "
        "model (no admissible option lowers its task-gCO2e)."
        f"<ul>{''.join(items)}</ul></div>"
    )


def _cleaner_excluded_cell(r: dict) -> str:
    """'qwen3-32b (-40%): p95 latency 14.1 s over the 12.0 s target', or '-'."""
    if r["cleaner_excluded_model"] is None:
        return "-"
    return (
        f"{r['cleaner_excluded_model']} ({_fmt(r['cleaner_excluded_change_share'], '+.0%')}):"
        f" {r['cleaner_excluded_reason']}"
    )


def _evidence_table(evidence: Sequence[dict]) -> str:
    return "<details><summary>Evidence per feature x model x quarter</summary>" + table(
        ["feature", "quarter_label", "model", "tier", "tasks", "completion", "retries/task",
         "Wh/task", "gCO2e/task", "p95 latency s"],
        [
            [r["feature"], r["quarter_label"], r["model"], r["model_tier"], _fmt(r["tasks"], ",d"),
             _fmt(r["completion_rate"], ".1%"), _fmt(r["retries_per_task"], ".2f"),
             _fmt(r["task_wh"]), _fmt(r["task_gco2e"]),
             _seconds(r["p95_attempt_latency_ms"])]
            for r in evidence
        ],
        {4, 5, 6, 7, 8, 9},
    ) + "</details>"  # fmt: skip


def _model_card_table(card: Sequence[dict]) -> str:
    return table(
        ["tier", "model", "provider", "accelerator", "quarter_label", "method", "disclosure",
         "output tok/Wh (low-high)", "facility Wh/1k tok (low-high)", "gCO2e/1k tok (low-high)",
         "regions"],
        [
            [r["model_tier"], r["model"], r["provider"], r["accelerator"], r["quarter_label"],
             r["energy_method"], "NONE (vendor publishes no energy)" if r["is_disclosure_missing"]
             else "own telemetry",
             f"{_fmt(r['output_tokens_per_accelerator_wh'], ',.0f')} "
             f"({_fmt(r['output_tokens_per_accelerator_wh_low'], ',.0f')}-"
             f"{_fmt(r['output_tokens_per_accelerator_wh_high'], ',.0f')})",
             _with_bounds(r, "facility_wh_per_1k_tokens"),
             _with_bounds(r, "gco2e_per_1k_tokens"),
             r["regions"]]
            for r in card
        ],
        set(),
    )  # fmt: skip


def _with_bounds(row: dict, column: str) -> str:
    """'point (low-high)' to three significant figures."""
    low, high = row[f"{column}_low"], row[f"{column}_high"]
    return f"{_fmt(row[column], '.3g')} ({_fmt(low, '.3g')}-{_fmt(high, '.3g')})"


def _seconds(ms: float | None) -> str:
    return "-" if ms is None else f"{ms / 1000:.1f}"


def _sci_text(sci: Sequence[dict]) -> str:
    first = sci[0] if sci else {}
    return (
        '<p class="note">SCI (Green Software Foundation, ISO/IEC 21031:2024) = (E x I + M) per '
        f"R. <b>R</b>: {_esc(first.get('functional_unit'))}. <b>Boundary</b>: "
        f"{_esc(first.get('software_boundary'))}. "
        f"<b>Method</b>: {_esc(first.get('calculation_method'))}. "
        "Location-based only: the SCI excludes market instruments (RECs, PPAs, offsets).</p>"
    )


def _log_range(values: Sequence[float | None]) -> list[float]:
    """A log-axis range with room for labels on both sides."""
    logs = [_log10(v) for v in values if v]
    return [min(logs) - 0.35, max(logs) + 0.35] if logs else [-3, 1]


def _log10(x: float) -> float:
    import math

    return math.log10(x) if x and x > 0 else 0.0


# --------------------------------------------------------------------------------------------
# Command line.
# --------------------------------------------------------------------------------------------


#: The public marts the page reads.
REPORT_MARTS = (
    "mart_quality_frontier",
    "mart_feature_task_watts",
    "mart_feature_quarter",
    "mart_feature_batch_bands",
    "mart_routing_what_if",
    "mart_feature_model_quarter",
    "mart_shifting_what_if",
    "mart_model_card",
    "mart_feature_sci",
)


def build_report(
    database: Path, out_dir: Path, disclosures_dir: Path, base_url: str = DEFAULT_BASE_URL
) -> tuple[Path, list[str], list[Path]]:
    """Write index.html and the disclosures; return the page, its chart ids and the files."""
    with duckdb.connect(str(database), read_only=True) as con:
        missing = missing_tables(con, REPORT_MARTS)
        if missing:
            raise SystemExit(explain_missing(database, missing))
        data = load(con)
        warning = public_key_warning(con)
    if not data["frontier"]:
        raise SystemExit(f"{database}: the roadmap marts are empty - run `dbt build` first")
    page, chart_ids = render(data, str(database))
    if warning:  # a throwaway warehouse says so at the top of the page
        page = page.replace("</h1>", f'</h1><p class="note"><b>{_esc(warning)}</b></p>', 1)
    out_dir.mkdir(parents=True, exist_ok=True)
    index = out_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    card_rows = [{**r, "quarter_start": r["quarter_start"]} for r in data["card"]]
    files = write_disclosures(
        disclosures_dir, card_rows, data["card_regions"], base_url, last_updated=date.today()
    )
    return index, chart_ids, files


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database", default=os.environ.get("TASK_WATTS_DUCKDB_PATH", DEFAULT_DATABASE)
    )
    parser.add_argument("--out", default=DEFAULT_OUT, help="folder for index.html")
    parser.add_argument("--disclosures", default=DEFAULT_DISCLOSURES)
    parser.add_argument(
        "--base-url", default=DEFAULT_BASE_URL, help="where disclosures are published"
    )
    args = parser.parse_args(argv)
    database = Path(args.database)
    if not database.exists():
        print(f"{database} not found: run `make demo` (or dbt build) first", file=sys.stderr)
        return 2
    index, _, files = build_report(database, Path(args.out), Path(args.disclosures), args.base_url)
    print(f"disclosures: {len(files) - 1} model JSON files and carbon.txt in {files[-1].parent}")
    print(f"report: {index.resolve()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
