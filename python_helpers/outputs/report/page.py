"""The report page: the template ``report.html.j2`` filled with the rows and charts.

The template holds the page's words and structure; this module holds how a row becomes the
cells of a table (number formats, bounds, the routing exclusion text), and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

import jinja2
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from python_helpers.outputs.report import charts
from python_helpers.outputs.report.data import REPORT_MARTS


def fmt(value: float | None, spec: str = ".4g") -> str:
    """A number in ``spec``, or '-' when the mart has none."""
    return "-" if value is None else format(value, spec)


def seconds(ms: float | None) -> str:
    return "-" if ms is None else f"{ms / 1000:.1f}"


def with_bounds(row: dict, column: str) -> str:
    """'point (low-high)' to three significant figures."""
    low, high = row[f"{column}_low"], row[f"{column}_high"]
    return f"{fmt(row[column], '.3g')} ({fmt(low, '.3g')}-{fmt(high, '.3g')})"


def cleaner_excluded(r: dict) -> str:
    """'qwen3-32b (-40%): p95 latency 14.1 s over the 12.0 s target', or '-'."""
    if r["cleaner_excluded_model"] is None:
        return "-"
    return (
        f"{r['cleaner_excluded_model']} ({fmt(r['cleaner_excluded_change_share'], '+.0%')}):"
        f" {r['cleaner_excluded_reason']}"
    )


def frontier_cells(r: dict) -> list[object]:
    return [
        r["feature"], fmt(r["quality"], ".1%"), fmt(r["task_gco2e"]),
        fmt(r["compared_options"], ",d"), r["frontier_peer"], fmt(r["distance_gco2e_per_task"]),
        fmt(r["distance_share"], ".0%"), fmt(r["energy_effect_gco2e_per_task"]),
        fmt(r["grid_effect_gco2e_per_task"]), fmt(r["avoidable_gco2e"], ",.0f"),
        fmt(r["previous_task_gco2e"]),
    ]  # fmt: skip


def routing_cells(r: dict) -> list[object]:
    return [
        r["feature"], r["status"], r["today_mix"], fmt(r["today_completion_rate"], ".1%"),
        fmt(r["today_task_gco2e"]), r["recommended_mix"] or "none feasible",
        fmt(r["projected_completion_rate"], ".1%"), fmt(r["projected_task_gco2e"]),
        fmt(r["task_gco2e_change_share"], "+.0%"), r["excluded_models"] or "-",
        cleaner_excluded(r), r["no_evidence_models"] or "-",
    ]  # fmt: skip


def evidence_cells(r: dict) -> list[object]:
    return [
        r["feature"], r["quarter_label"], r["model"], r["model_tier"], fmt(r["tasks"], ",d"),
        fmt(r["completion_rate"], ".1%"), fmt(r["retries_per_task"], ".2f"), fmt(r["task_wh"]),
        fmt(r["task_gco2e"]), seconds(r["p95_attempt_latency_ms"]),
    ]  # fmt: skip


def shifting_cells(r: dict) -> list[object]:
    return [
        r["feature"], r["quarter_label"], r["current_region"],
        fmt(r["gco2e_location"] / 1000, ".3g"), fmt(r["hourly_coverage_share"], ".0%"),
        fmt(r["time_saving_share"], ".1%"), r["best_region"], fmt(r["place_saving_share"], ".1%"),
        r["best_option"], fmt(r["task_gco2e"]), fmt(r["best_task_gco2e"]),
    ]  # fmt: skip


def card_cells(r: dict) -> list[object]:
    tokens_per_wh = (
        f"{fmt(r['output_tokens_per_accelerator_wh'], ',.0f')} "
        f"({fmt(r['output_tokens_per_accelerator_wh_low'], ',.0f')}-"
        f"{fmt(r['output_tokens_per_accelerator_wh_high'], ',.0f')})"
    )
    disclosure = (
        "NONE (vendor publishes no energy)" if r["is_disclosure_missing"] else "own telemetry"
    )
    return [
        r["model_tier"], r["model"], r["provider"], r["accelerator"], r["quarter_label"],
        r["energy_method"], disclosure, tokens_per_wh, with_bounds(r, "facility_wh_per_1k_tokens"),
        with_bounds(r, "gco2e_per_1k_tokens"), r["regions"],
    ]  # fmt: skip


def sci_cells(r: dict) -> list[object]:
    return [
        r["feature"], r["quarter_label"], fmt(r["energy_kwh"], ",.2f"),
        fmt(r["intensity_gco2e_per_kwh"], ".0f"), fmt(r["embodied_gco2e"], ",.0f"),
        fmt(r["functional_units"], ",d"), fmt(r["sci_gco2e_per_task"]),
        fmt(r["sci_gco2e_per_task_low"]), fmt(r["sci_gco2e_per_task_high"]),
        fmt(r["embodied_share"], ".0%"),
    ]  # fmt: skip


def routing_headlines(routing: Sequence[dict]) -> list[dict]:
    """The rows the headline box names: every switch and infeasible feature, and a kept one
    when a cleaner model was ruled out (which one and why is the news)."""
    return [r for status in ("switch", "infeasible") for r in routing if r["status"] == status] + [
        r for r in routing if r["status"] == "keep" and r["cleaner_excluded_model"] is not None
    ]


def chart_html(chart: charts.Chart) -> Markup:
    """The figure's div and drawing script (plotly.js itself is inlined once in the head)."""
    inner = chart.figure.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=chart.chart_id,
        default_height=f"{chart.height}px",
        config={"displaylogo": False, "responsive": True},
    )
    return Markup(f'<div class="chart" data-chart="{chart.chart_id}">{inner}</div>')


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
    )
    cell_functions = (
        frontier_cells, routing_cells, evidence_cells, shifting_cells, card_cells, sci_cells
    )  # fmt: skip
    env.filters.update({f.__name__: f for f in cell_functions})
    return env.get_template("report.html.j2")


def render(
    data: dict[str, list[dict]], database: str, warning: str | None = None
) -> tuple[str, list[str]]:
    """The whole page, and the ids of the charts it draws; ``warning`` heads the page."""
    drawn = [
        charts.frontier_chart(data["frontier"]),
        charts.task_wh_chart(data["weekly"]),
        charts.tier_chart(data["levers"]),
        charts.band_chart(data["bands"]),
        charts.cache_waste_chart(data["levers"]),
        charts.routing_chart(data["routing"]),
        charts.shifting_chart(data["shifting"]),
        charts.model_card_chart(data["card"]),
        charts.sci_chart(data["sci"]),
    ]
    markup = {c.chart_id: chart_html(c) for c in drawn}
    latest = max(r["quarter_label"] for r in data["frontier"])
    routing = data["routing"]
    counts = {s: sum(r["status"] == s for r in routing) for s in ("switch", "infeasible")}
    counts["keep"] = len(routing) - counts["switch"] - counts["infeasible"]
    page = _template().render(
        latest=latest,
        database=database,
        warning=warning,
        plotly_js=Markup(get_plotlyjs()),
        chart=markup.__getitem__,
        front=sorted(
            (r for r in data["frontier"] if r["quarter_label"] == latest),
            key=lambda r: -r["avoidable_gco2e"],
        ),
        routing=routing,
        routing_counts=counts,
        routing_headlines=routing_headlines(routing),
        evidence=data["evidence"],
        shifting=data["shifting"],
        card=data["card"],
        sci=data["sci"],
        sci_first=data["sci"][0] if data["sci"] else {},
        maturity=data["maturity"][0],
        marts=REPORT_MARTS,
    )
    return page, [c.chart_id for c in drawn]
