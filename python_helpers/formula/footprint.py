"""The task-watts formula, implemented once.

Every function takes and returns a narwhals ``LazyFrame`` so the same code runs on
a DuckDB relation (the dbt-duckdb default), on Polars, or on a PySpark DataFrame:
nothing here collects rows or loops over them, so it holds at tens of millions of
calls. The per-call formula, in the README's words:

    uncached_in    = input_tokens - cached_input_tokens
    prefill_wh     = (uncached_in + cache_residual * cached_input_tokens) / 1000
                     * wh_per_1k_prefill_tokens
    decode_wh      = output_tokens / 1000 * wh_per_1k_decode_tokens
    batch_factor   = rel_energy(effective batch) / rel_energy(coefficient's reference batch)
    token_model_wh = (prefill_wh + decode_wh) * batch_factor
    idle_floor_wh  = gpu idle W * replica gpus * call hours / effective batch
    accelerator_wh = measured_energy_j / 3600 if measured,
                     else max(token_model_wh, idle_floor_wh)
    it_wh          = accelerator_wh * host_overhead
    facility_wh    = it_wh * pue
    gco2e_location = facility_wh / 1000 * grid_gco2e_per_kwh
    gco2e_market   = facility_wh / 1000 * (market factor, else grid_gco2e_per_kwh)
    gco2e_embodied = embodied g per GPU / lifetime hours * gpu count * call hours / batch
    water_ml       = it_wh * wue_l_per_kwh   (WUE is site water per kWh of IT energy)

The idle floor is physics: a call holds its replica's accelerators for its whole
duration, shared with the other sequences of its batch, and an accelerator never
draws less than its idle power. The rated power (TDP) is the matching ceiling; it
is not applied, it is checked (a call above it has an inconsistent latency or
batch), and ``implied_gpu_power_w`` makes both visible on every call.

``_low`` / ``_high`` variants use the low / high coefficient bounds (per-token
energy, cache residual, host overhead) and, when the batch size was assumed, the
largest / smallest plausible batch of the deployment. A measured call has no
accelerator modelling uncertainty, so its accelerator bounds equal its
measurement; its host overhead still carries bounds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Literal

import narwhals as nw

Bound = Literal["", "_low", "_high"]
BOUNDS: Final[tuple[Bound, ...]] = ("", "_low", "_high")
JOULES_PER_WH: Final = 3600.0

#: Columns every call must carry before pricing (built by int_inference_calls__priced).
PRICING_INPUT_COLUMNS: Final[tuple[str, ...]] = (
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "measured_energy_j",
    "coefficient_method",
    "wh_per_1k_prefill_tokens",
    "wh_per_1k_prefill_tokens_low",
    "wh_per_1k_prefill_tokens_high",
    "wh_per_1k_decode_tokens",
    "wh_per_1k_decode_tokens_low",
    "wh_per_1k_decode_tokens_high",
    "cache_residual",
    "cache_residual_low",
    "cache_residual_high",
    "relative_energy_at_batch",
    "relative_energy_at_batch_low",
    "relative_energy_at_batch_high",
    "relative_energy_at_reference_batch",
    "effective_batch_size",
    "effective_batch_size_min",
    "effective_batch_size_max",
    "gpu_idle_w",
    "gpu_tdp_w",
    "host_overhead",
    "host_overhead_low",
    "host_overhead_high",
    "pue",
    "wue_l_per_kwh",
    "grid_gco2e_per_kwh",
    "market_gco2e_per_kwh",
    "embodied_gco2e_per_gpu",
    "gpu_lifetime_hours",
    "replica_gpu_count",
    "call_hours",
)

#: The public columns of fct_inference_call_footprint, in order.
CALL_FOOTPRINT_COLUMNS: Final[tuple[str, ...]] = (
    "call_id",
    "task_id",
    "has_task",
    "feature",
    "model",
    "model_tier",
    "provider",
    "region",
    "grid_zone",
    "gpu_type",
    "gpu_count",
    "started_at",
    "ended_at",
    "status",
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "batch_size",
    "effective_batch_size",
    "effective_batch_size_min",
    "effective_batch_size_max",
    "is_batch_size_assumed",
    "energy_method",
    "accelerator_wh_basis",
    "accelerator_wh",
    "accelerator_wh_low",
    "accelerator_wh_high",
    "it_wh",
    "facility_wh",
    "facility_wh_low",
    "facility_wh_high",
    "gco2e_location",
    "gco2e_location_low",
    "gco2e_location_high",
    "gco2e_market",
    "gco2e_embodied",
    "water_ml",
    "wh_per_1k_prefill_tokens",
    "wh_per_1k_decode_tokens",
    "cache_residual",
    "batch_factor",
    "gpu_idle_w",
    "gpu_tdp_w",
    "implied_gpu_power_w",
    "host_overhead",
    "pue",
    "wue_l_per_kwh",
    "grid_gco2e_per_kwh",
    "grid_period",
    "grid_period_start",
    "is_grid_intensity_carried_forward",
    "market_gco2e_per_kwh",
    "measured_energy_j",
)


def batch_factor(bound: Bound = "") -> nw.Expr:
    """Energy per token at the call's batch relative to the coefficient's reference batch."""
    return nw.col(f"relative_energy_at_batch{bound}") / nw.col("relative_energy_at_reference_batch")


def prefill_wh(bound: Bound = "") -> nw.Expr:
    """Prefill energy: uncached input at full price, cached input at the cache residual."""
    uncached_input = nw.col("input_tokens") - nw.col("cached_input_tokens")
    effective_prefill_tokens = uncached_input + nw.col(f"cache_residual{bound}") * nw.col(
        "cached_input_tokens"
    )
    return effective_prefill_tokens / 1000.0 * nw.col(f"wh_per_1k_prefill_tokens{bound}")


def decode_wh(bound: Bound = "") -> nw.Expr:
    """Decode energy of the generated tokens."""
    return nw.col("output_tokens") / 1000.0 * nw.col(f"wh_per_1k_decode_tokens{bound}")


def token_model_wh(bound: Bound = "") -> nw.Expr:
    """Accelerator energy the per-token coefficients give at the call's batch."""
    return (prefill_wh(bound) + decode_wh(bound)) * batch_factor(bound)


#: The batch whose GPU share each bound uses: the low energy bound shares the
#: accelerators with the most sequences, the high bound with the fewest.
_BATCH_FOR_BOUND: Final[dict[Bound, str]] = {
    "": "effective_batch_size",
    "_low": "effective_batch_size_max",
    "_high": "effective_batch_size_min",
}


def gpu_share_hours(bound: Bound = "") -> nw.Expr:
    """Accelerator-hours the call holds: replica GPUs x duration / sequences sharing them."""
    return nw.col("replica_gpu_count") * nw.col("call_hours") / nw.col(_BATCH_FOR_BOUND[bound])


def idle_floor_wh(bound: Bound = "") -> nw.Expr:
    """The least energy the call's share of its accelerators can draw: idle power for its time."""
    return nw.col("gpu_idle_w") * gpu_share_hours(bound)


def is_measured() -> nw.Expr:
    """A call whose serving layer attributed accelerator energy to it."""
    return ~nw.col("measured_energy_j").is_null()


def accelerator_wh(bound: Bound = "") -> nw.Expr:
    """Accelerator energy: the measurement, else the token model raised to the idle floor."""
    modeled = nw.max_horizontal(token_model_wh(bound), idle_floor_wh(bound))
    measured = nw.col("measured_energy_j") / JOULES_PER_WH
    return nw.when(is_measured()).then(measured).otherwise(modeled)


def accelerator_wh_basis() -> nw.Expr:
    """What set the central accelerator energy: measured, token_model or idle_floor."""
    floored = idle_floor_wh() > token_model_wh()
    return (
        nw.when(is_measured())
        .then(nw.lit("measured"))
        .when(floored.fill_null(False))
        .then(nw.lit("idle_floor"))
        .otherwise(nw.lit("token_model"))
    )


def implied_gpu_power_w(accelerator: nw.Expr) -> nw.Expr:
    """Average power per accelerator that ``accelerator`` Wh implies over the call's GPU share."""
    share = gpu_share_hours()
    return nw.when((share > 0) & ~nw.col("gpu_tdp_w").is_null()).then(accelerator / share)


def energy_method() -> nw.Expr:
    """'measured' when the call carries energy, else the coefficient's own method."""
    return nw.when(is_measured()).then(nw.lit("measured")).otherwise(nw.col("coefficient_method"))


def facility_wh_from(accelerator: nw.Expr, bound: Bound = "") -> nw.Expr:
    """Widen the boundary: host CPU/DRAM and idle reserve, then data-centre overhead (PUE)."""
    return accelerator * nw.col(f"host_overhead{bound}") * nw.col("pue")


def gco2e_from(facility: nw.Expr, intensity: nw.Expr) -> nw.Expr:
    """Operational emissions of ``facility`` Wh at ``intensity`` gCO2e/kWh."""
    return facility / 1000.0 * intensity


def gco2e_embodied() -> nw.Expr:
    """Embodied carbon amortised over the accelerator's life, shared by the batch."""
    per_gpu_hour = nw.col("embodied_gco2e_per_gpu") / nw.col("gpu_lifetime_hours")
    return (
        per_gpu_hour
        * nw.col("replica_gpu_count")
        * nw.col("call_hours")
        / nw.col("effective_batch_size")
    )


def price_calls(calls: nw.LazyFrame, carried: Sequence[str] = ()) -> nw.LazyFrame:
    """Price every call: energy at three boundaries, carbon, water; keep the coefficients used.

    ``calls`` must carry ``PRICING_INPUT_COLUMNS`` plus the identifying columns listed in
    ``CALL_FOOTPRINT_COLUMNS``. Returns exactly ``CALL_FOOTPRINT_COLUMNS``, then the columns
    named in ``carried`` (bookkeeping the formula does not read), unchanged.
    """
    missing = [c for c in PRICING_INPUT_COLUMNS if c not in calls.collect_schema().names()]
    if missing:
        raise ValueError(f"price_calls: input lacks pricing columns {missing}")
    energy = calls.with_columns(
        batch_factor=batch_factor(),
        energy_method=energy_method(),
        accelerator_wh_basis=accelerator_wh_basis(),
        **{f"accelerator_wh{bound}": accelerator_wh(bound) for bound in BOUNDS},
    )
    boundaries = energy.with_columns(
        implied_gpu_power_w=implied_gpu_power_w(nw.col("accelerator_wh")),
        it_wh=nw.col("accelerator_wh") * nw.col("host_overhead"),
        **{
            f"facility_wh{bound}": facility_wh_from(nw.col(f"accelerator_wh{bound}"), bound)
            for bound in BOUNDS
        },
    )
    carbon = boundaries.with_columns(
        **{
            f"gco2e_location{bound}": gco2e_from(
                nw.col(f"facility_wh{bound}"), nw.col("grid_gco2e_per_kwh")
            )
            for bound in BOUNDS
        },
        gco2e_market=gco2e_from(
            nw.col("facility_wh"),
            nw.coalesce("market_gco2e_per_kwh", "grid_gco2e_per_kwh"),
        ),
        gco2e_embodied=gco2e_embodied(),
        water_ml=nw.col("it_wh") * nw.col("wue_l_per_kwh"),
    )
    return carbon.select(*CALL_FOOTPRINT_COLUMNS, *carried)


#: Additive call measures summed into each task.
TASK_SUM_COLUMNS: Final[tuple[str, ...]] = (
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "accelerator_wh",
    "it_wh",
    "facility_wh",
    "facility_wh_low",
    "facility_wh_high",
    "gco2e_location",
    "gco2e_location_low",
    "gco2e_location_high",
    "gco2e_market",
    "gco2e_embodied",
    "water_ml",
)

#: The public columns of fct_task_footprint, in order.
TASK_FOOTPRINT_COLUMNS: Final[tuple[str, ...]] = (
    "task_id",
    "feature",
    "outcome",
    "is_completed",
    "is_pending",
    "attempts",
    "retries",
    "started_at",
    "ended_at",
    "completed_at",
    "call_count",
    "failed_call_count",
    *TASK_SUM_COLUMNS,
    "quality_score",
)


def roll_up_tasks(call_footprint: nw.LazyFrame, tasks: nw.LazyFrame) -> nw.LazyFrame:
    """One row per task: its outcome and the sums over all of its calls, retries included.

    Every task in ``tasks`` appears once, pending ones included (flagged ``is_pending``:
    readers leave them out of task-Wh until they mature); a task with no call has zero
    energy. Calls
    whose task is unknown are left out here (they remain in the call footprint as
    unattributed energy).
    """
    per_task = (
        call_footprint.filter(nw.col("has_task"))
        .group_by("task_id")
        .agg(
            nw.len().alias("call_count"),
            (nw.col("status") != "ok").cast(nw.Int64).sum().alias("failed_call_count"),
            *[nw.col(column).sum() for column in TASK_SUM_COLUMNS],
        )
        .with_columns(
            # DuckDB widens integer sums to 128 bits; BI tools expect 64.
            nw.col("input_tokens", "cached_input_tokens", "output_tokens").cast(nw.Int64)
        )
    )
    joined = tasks.select(
        "task_id",
        "feature",
        "outcome",
        "is_completed",
        "is_pending",
        "attempts",
        "retries",
        "started_at",
        "ended_at",
        "completed_at",
        "quality_score",
    ).join(per_task, on="task_id", how="left")
    zero_filled = joined.with_columns(
        nw.col("call_count", "failed_call_count", *TASK_SUM_COLUMNS).fill_null(0)
    )
    return zero_filled.select(*TASK_FOOTPRINT_COLUMNS)


def tasks_to_refresh(
    refresh: nw.LazyFrame, call_footprint: nw.LazyFrame, tasks: nw.LazyFrame
) -> tuple[nw.LazyFrame, nw.LazyFrame]:
    """The calls and tasks of the task ids in ``refresh`` (a frame with a ``task_id`` column).

    A daily load rolls up only these tasks; every other task keeps the row the previous load
    wrote. Semi joins, so the engine reads the large frames once and keeps only the matches."""
    return (
        call_footprint.join(refresh, on="task_id", how="semi"),
        tasks.join(refresh, on="task_id", how="semi"),
    )
