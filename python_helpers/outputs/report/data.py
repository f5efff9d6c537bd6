"""What the report shows, read from the public marts only (as a BI tool would read them).

``load`` returns plain rows keyed by section. The one roll-up done here is the model card's:
``mart_model_efficiency`` is monthly, the card is quarterly, and every card figure is the ratio
of the months' sums (never an average of monthly ratios).
"""

from __future__ import annotations

from typing import Final

import duckdb

from python_helpers.outputs.report.charts import TIERS

#: The public marts the page reads.
REPORT_MARTS: Final = (
    "mart_quality_frontier",
    "mart_feature_task_watts",
    "mart_feature_quarter",
    "mart_feature_batch_bands",
    "mart_routing_what_if",
    "mart_feature_model_quarter",
    "mart_shifting_what_if",
    "mart_model_efficiency",
    "mart_feature_sci",
)

#: Card figures: name -> (numerator, denominator, scale). Bounds swap for a per-Wh figure.
_CARD_RATIOS: Final = {
    "output_tokens_per_accelerator_wh": ("output_tokens", "accelerator_wh", 1),
    "output_tokens_per_accelerator_wh_low": ("output_tokens", "accelerator_wh_high", 1),
    "output_tokens_per_accelerator_wh_high": ("output_tokens", "accelerator_wh_low", 1),
    **{
        f"{figure}{bound}": (f"{numerator}{bound}", "input_tokens + output_tokens", 1000)
        for figure, numerator in (
            ("facility_wh_per_1k_tokens", "facility_wh"),
            ("gco2e_per_1k_tokens", "gco2e_location"),
        )
        for bound in ("", "_low", "_high")
    },
}


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    """Rows of a query as dicts."""
    rel = con.sql(sql)
    names = rel.columns
    return [dict(zip(names, r, strict=True)) for r in rel.fetchall()]


def model_card_sql() -> str:
    """Model x accelerator x quarter from the monthly mart: sums, then the card's ratios."""
    ratios = ",\n".join(
        f"sum({num}) * {scale}.0 / nullif(sum({den}), 0) as {name}"
        for name, (num, den, scale) in _CARD_RATIOS.items()
    )
    tier_order = " ".join(f"when '{t}' then {i}" for i, t in enumerate(TIERS))
    return f"""
        select
            model, model_tier, provider, accelerator, quarter_label,
            cast(date_trunc('quarter', min(month_start)) as date) as quarter_start,
            -- a quarter whose months were priced differently is a mix of methods
            case when count(distinct energy_method) = 1 then min(energy_method)
                 else 'mixed' end as energy_method,
            bool_or(is_disclosure_missing) as is_disclosure_missing,
            array_to_string(list_sort(list_distinct(flatten(list(string_split(regions, ', '))))),
                            ', ') as regions,
            sum(calls) as calls,
            sum(input_tokens) as input_tokens,
            sum(output_tokens) as output_tokens,
            sum(accelerator_wh) as accelerator_wh,
            sum(facility_wh) as facility_wh,
            sum(gco2e_location) as gco2e_location,
            {ratios}
        from mart_model_efficiency
        group by model, model_tier, provider, accelerator, quarter_label
        order by case model_tier {tier_order} end, model, accelerator, quarter_label
    """


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
        "card": rows(con, model_card_sql()),
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
