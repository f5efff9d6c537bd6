"""Print the per-feature task-watts scorecard: the latest quarter beside the previous one.

Reads only public marts (``mart_feature_quarter``, whose ratios are quarter sums divided,
never means of daily ratios; the call fact for unattributed energy; the quarantine), opening
the DuckDB file read-only as any BI tool would.

    task-watts scorecard [--database target/task_watts.duckdb]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

import duckdb

from python_helpers.outputs.build_status import (
    add_database_argument,
    explain_missing,
    missing_tables,
    no_warehouse,
    public_key_warning,
)

TIERS = ("small", "medium", "large", "frontier")
#: Changes smaller than this are noise for the trap warning (a quarter of sampling wobble).
MATERIAL_CHANGE = 0.05

# The quarterly roll-up (sums summed, then divided) lives in the mart; this only reads it.
QUARTERLY_SQL = f"""
select
    feature,
    quarter_label,
    tasks,
    task_wh,
    task_gco2e,
    completion_rate,
    output_tokens_per_accelerator_wh,
    wasted_wh_share,
    cache_hit_rate,
    mean_batch_size,
    {", ".join(f"energy_share_{t}" for t in TIERS)}
from mart_feature_quarter
order by feature, quarter_start
"""


@dataclass(frozen=True)
class FeatureQuarter:
    """One feature's figures for one quarter; ratios are quarter totals divided."""

    feature: str
    quarter: str
    tasks: int
    task_wh: float | None
    task_gco2e: float | None
    completion_rate: float
    output_tokens_per_wh: float | None
    wasted_share: float | None
    cache_hit_rate: float | None
    mean_batch_size: float | None
    tier_shares: tuple[float | None, ...]


def load_quarters(con: duckdb.DuckDBPyConnection) -> list[FeatureQuarter]:
    """Every feature x quarter, from the public mart."""
    rows = con.sql(QUARTERLY_SQL).fetchall()
    return [FeatureQuarter(*row[:10], tier_shares=tuple(row[10:])) for row in rows]


def latest_two_quarters(rows: list[FeatureQuarter]) -> tuple[str | None, str]:
    """The previous and the latest quarter present in the data."""
    quarters = sorted({row.quarter for row in rows})
    if not quarters:
        raise ValueError("mart_feature_task_watts is empty: nothing to score")
    return (quarters[-2] if len(quarters) > 1 else None), quarters[-1]


def is_efficiency_trap(previous: FeatureQuarter, latest: FeatureQuarter) -> bool:
    """Tokens per Wh improved materially while energy per completed task got materially worse."""
    values = (
        previous.output_tokens_per_wh,
        latest.output_tokens_per_wh,
        previous.task_wh,
        latest.task_wh,
    )
    if any(v is None for v in values):
        return False
    return latest.output_tokens_per_wh > previous.output_tokens_per_wh * (
        1 + MATERIAL_CHANGE
    ) and latest.task_wh > previous.task_wh * (1 + MATERIAL_CHANGE)


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _change(previous: float | None, latest: float | None) -> str:
    if previous in (None, 0) or latest is None:
        return "-"
    return f"{(latest - previous) / previous:+.0%}"


def _tier_mix(shares: tuple[float | None, ...]) -> str:
    return " ".join(
        f"{tier[0].upper()}{share:.0%}"
        for tier, share in zip(TIERS, shares, strict=True)
        if share is not None and share >= 0.005
    )


def render(
    rows: list[FeatureQuarter],
    unattributed_wh: float,
    total_wh: float,
    pending: tuple[int, float] = (0, 0.0),
) -> str:
    """The scorecard as plain text; ``pending`` = (tasks, facility Wh) still in progress."""
    previous_q, latest_q = latest_two_quarters(rows)
    by_key = {(row.feature, row.quarter): row for row in rows}
    features = sorted({row.feature for row in rows})
    header = (
        f"{'feature':<14}{'quarter':>9}{'tasks':>8}{'task-Wh':>9}{'Δ':>6}{'task-gCO2e':>11}"
        f"{'Δ':>6}{'complete':>9}{'tok/Wh':>8}{'Δ':>6}{'wasted':>7}{'cache':>7}{'batch':>7}"
        f"  tier mix (energy)"
    )
    lines = [
        f"task-watts scorecard: {latest_q} beside {previous_q or '(no previous quarter)'}",
        "task-Wh = facility Wh of all the feature's tasks / completed tasks (retries and "
        "abandons charged to success);",
        "task-gCO2e location-based; tok/Wh = output tokens per accelerator Wh; "
        "tier mix S/M/L/F = small/medium/large/frontier.",
        "",
        header,
        "-" * len(header),
    ]
    traps = []
    for feature in features:
        latest = by_key.get((feature, latest_q))
        previous = by_key.get((feature, previous_q)) if previous_q else None
        for row, other in ((previous, None), (latest, previous)):
            if row is None:
                continue
            lines.append(
                f"{row.feature if other is None or previous is None else '':<14}"
                f"{row.quarter:>9}{row.tasks:>8}{_fmt(row.task_wh, '.3f'):>9}"
                f"{_change(other.task_wh, row.task_wh) if other else '':>6}"
                f"{_fmt(row.task_gco2e, '.4f'):>11}"
                f"{_change(other.task_gco2e, row.task_gco2e) if other else '':>6}"
                f"{row.completion_rate:>9.1%}{_fmt(row.output_tokens_per_wh, ',.0f'):>8}"
                f"{_change(other.output_tokens_per_wh, row.output_tokens_per_wh) if other else '':>6}"  # noqa: E501
                f"{_fmt(row.wasted_share, '.0%'):>7}{_fmt(row.cache_hit_rate, '.0%'):>7}"
                f"{_fmt(row.mean_batch_size, '.1f'):>7}  {_tier_mix(row.tier_shares)}"
            )
        if previous and latest and is_efficiency_trap(previous, latest):
            tokens_change = _change(previous.output_tokens_per_wh, latest.output_tokens_per_wh)
            traps.append(
                f"  ! {feature}: output tokens per Wh {tokens_change}"
                f" but task-Wh {_change(previous.task_wh, latest.task_wh)}"
                f" (completion {previous.completion_rate:.0%} -> {latest.completion_rate:.0%}):"
                " cheaper calls, costlier tasks."
            )
    lines.append("")
    if traps:
        lines.append("Efficiency traps (token-per-Wh up, task-Wh up):")
        lines.extend(traps)
    else:
        lines.append("No feature improved token-per-Wh while worsening task-Wh.")
    share = unattributed_wh / total_wh if total_wh else 0.0
    lines.append(
        f"Unattributed energy (calls with no known task): {unattributed_wh:,.1f} Wh "
        f"of {total_wh:,.1f} Wh ({share:.2%}), all quarters."
    )
    pending_tasks, pending_wh = pending
    if pending_tasks:
        lines.append(
            f"Pending tasks (open, inside their completion window; in no figure above until they "
            f"complete or time out): {pending_tasks:,} tasks, {pending_wh:,.1f} Wh."
        )
    return "\n".join(lines)


def quarantined_calls(con: duckdb.DuckDBPyConnection) -> int:
    """Raw calls kept out of the footprint by a rejecting rule (0 when no quarantine exists)."""
    exists = con.sql(
        "select count(*) from information_schema.tables "
        "where table_name = 'quarantine__inference_calls'"
    ).fetchall()[0][0]
    if not exists:
        return 0
    return con.sql(
        "select count(distinct source_row_id) from quarantine__inference_calls where is_rejected"
    ).fetchall()[0][0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_database_argument(parser)
    args = parser.parse_args(argv)
    problem = no_warehouse(args.database)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    with duckdb.connect(str(args.database), read_only=True) as con:
        missing = missing_tables(con, ("mart_feature_quarter", "fct_inference_call_footprint"))
        if missing:
            print(explain_missing(args.database, missing), file=sys.stderr)
            return 2
        rows = load_quarters(con)
        unattributed_wh, total_wh = con.sql(
            "select coalesce(sum(case when not has_task then facility_wh end), 0), "
            "coalesce(sum(facility_wh), 0) from fct_inference_call_footprint"
        ).fetchall()[0]
        pending_tasks, pending_wh = con.sql(
            "select coalesce(sum(pending_tasks), 0), coalesce(sum(pending_facility_wh), 0) "
            "from mart_feature_quarter"
        ).fetchall()[0]
        quarantined = quarantined_calls(con)
        warning = public_key_warning(con)
    if warning:
        print(warning)
    print(render(rows, unattributed_wh, total_wh, (int(pending_tasks), float(pending_wh))))
    if quarantined:
        print(
            f"Quarantined calls (rejected, energy NOT counted above): {quarantined:,}; "
            "see quarantine__inference_calls for the reasons."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
