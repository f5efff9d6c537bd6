"""Tests for the task-watts footprint formula in python_helpers.formula.footprint.

Inputs are real DuckDB relations wrapped as narwhals LazyFrames; expected values are
worked out by hand (the arithmetic is written out beside each literal) and never
computed by calling the code under test.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import duckdb
import narwhals as nw
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from python_helpers.formula.footprint import PRICING_INPUT_COLUMNS, price_calls, roll_up_tasks

# --------------------------------------------------------------------------------------
# Input builder
# --------------------------------------------------------------------------------------

#: Every column price_calls needs: the identifying columns it passes through, then the
#: pricing inputs. Written out here rather than read from footprint.py.
CALL_SCHEMA = pa.schema(
    [
        ("call_id", pa.string()),
        ("task_id", pa.string()),
        ("has_task", pa.bool_()),
        ("feature", pa.string()),
        ("model", pa.string()),
        ("model_tier", pa.string()),
        ("provider", pa.string()),
        ("region", pa.string()),
        ("grid_zone", pa.string()),
        ("gpu_type", pa.string()),
        ("gpu_count", pa.int64()),
        ("started_at", pa.timestamp("us")),
        ("ended_at", pa.timestamp("us")),
        ("status", pa.string()),
        ("batch_size", pa.int64()),
        ("is_batch_size_assumed", pa.bool_()),
        ("grid_period", pa.string()),
        ("grid_period_start", pa.timestamp("us")),
        ("is_grid_intensity_carried_forward", pa.bool_()),
        ("input_tokens", pa.int64()),
        ("cached_input_tokens", pa.int64()),
        ("output_tokens", pa.int64()),
        ("measured_energy_j", pa.float64()),
        ("coefficient_method", pa.string()),
        ("wh_per_1k_prefill_tokens", pa.float64()),
        ("wh_per_1k_prefill_tokens_low", pa.float64()),
        ("wh_per_1k_prefill_tokens_high", pa.float64()),
        ("wh_per_1k_decode_tokens", pa.float64()),
        ("wh_per_1k_decode_tokens_low", pa.float64()),
        ("wh_per_1k_decode_tokens_high", pa.float64()),
        ("cache_residual", pa.float64()),
        ("cache_residual_low", pa.float64()),
        ("cache_residual_high", pa.float64()),
        ("relative_energy_at_batch", pa.float64()),
        ("relative_energy_at_batch_low", pa.float64()),
        ("relative_energy_at_batch_high", pa.float64()),
        ("relative_energy_at_reference_batch", pa.float64()),
        ("effective_batch_size", pa.int64()),
        ("effective_batch_size_min", pa.int64()),
        ("effective_batch_size_max", pa.int64()),
        ("gpu_idle_w", pa.float64()),
        ("gpu_tdp_w", pa.float64()),
        ("host_overhead", pa.float64()),
        ("host_overhead_low", pa.float64()),
        ("host_overhead_high", pa.float64()),
        ("pue", pa.float64()),
        ("wue_l_per_kwh", pa.float64()),
        ("grid_gco2e_per_kwh", pa.float64()),
        ("market_gco2e_per_kwh", pa.float64()),
        ("embodied_gco2e_per_gpu", pa.float64()),
        ("gpu_lifetime_hours", pa.float64()),
        ("replica_gpu_count", pa.int64()),
        ("call_hours", pa.float64()),
    ]
)

#: A self-hosted, modelled call: the round numbers of worked example 1.
DEFAULT_CALL: dict[str, Any] = {
    "call_id": "call-1",
    "task_id": "task-1",
    "has_task": True,
    "feature": "summarize",
    "model": "llama-3.1-8b-instruct",
    "model_tier": "small",
    "provider": "self_hosted",
    "region": "us-central1",
    "grid_zone": "US-MIDW-MISO",
    "gpu_type": "H100",
    "gpu_count": 2,
    "started_at": datetime(2026, 3, 2, 10, 0, 0),
    "ended_at": datetime(2026, 3, 2, 10, 0, 36),  # 36 s = 0.01 h
    "status": "ok",
    "batch_size": 8,
    "is_batch_size_assumed": False,
    "grid_period": "hour",
    "grid_period_start": datetime(2026, 3, 2, 10, 0, 0),
    "is_grid_intensity_carried_forward": False,
    "input_tokens": 2000,
    "cached_input_tokens": 1500,
    "output_tokens": 400,
    "measured_energy_j": None,
    "coefficient_method": "modeled",
    "wh_per_1k_prefill_tokens": 0.01,
    "wh_per_1k_prefill_tokens_low": 0.005,
    "wh_per_1k_prefill_tokens_high": 0.02,
    "wh_per_1k_decode_tokens": 0.05,
    "wh_per_1k_decode_tokens_low": 0.02,
    "wh_per_1k_decode_tokens_high": 0.1,
    "cache_residual": 0.1,
    "cache_residual_low": 0.05,
    "cache_residual_high": 0.2,
    "relative_energy_at_batch": 1.8,
    # the batch was logged: its plausible range is the batch itself
    "relative_energy_at_batch_low": 1.8,
    "relative_energy_at_batch_high": 1.8,
    "relative_energy_at_reference_batch": 1.0,
    "effective_batch_size": 8,
    "effective_batch_size_min": 8,
    "effective_batch_size_max": 8,
    # idle floor 5 W x 2 GPUs x 0.01 h / 8 = 0.0125 Wh: below the example's energies
    "gpu_idle_w": 5.0,
    "gpu_tdp_w": 700.0,
    "host_overhead": 1.5,
    "host_overhead_low": 1.5,
    "host_overhead_high": 1.5,
    "pue": 1.1,
    "wue_l_per_kwh": 0.5,
    "grid_gco2e_per_kwh": 400.0,
    "market_gco2e_per_kwh": 100.0,
    "embodied_gco2e_per_gpu": 1_000_000.0,
    "gpu_lifetime_hours": 10_000.0,
    "replica_gpu_count": 2,
    "call_hours": 0.01,
}
assert set(DEFAULT_CALL) == set(CALL_SCHEMA.names)

ENERGY_COLUMNS = (
    "accelerator_wh",
    "accelerator_wh_low",
    "accelerator_wh_high",
    "it_wh",
    "facility_wh",
    "facility_wh_low",
    "facility_wh_high",
)
IMPACT_COLUMNS = (
    *ENERGY_COLUMNS,
    "gco2e_location",
    "gco2e_location_low",
    "gco2e_location_high",
    "gco2e_market",
    "gco2e_embodied",
    "water_ml",
)


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    yield connection
    connection.close()


def calls_frame(
    con: duckdb.DuckDBPyConnection, *overrides: dict[str, Any], drop: tuple[str, ...] = ()
) -> nw.LazyFrame:
    """One DuckDB relation with a row per override dict (defaults fill the rest)."""
    rows = []
    for index, override in enumerate(overrides, start=1):
        unknown = set(override) - set(DEFAULT_CALL)
        assert not unknown, f"unknown input columns {unknown}"
        rows.append({**DEFAULT_CALL, "call_id": f"call-{index}", **override})
    schema = pa.schema([field for field in CALL_SCHEMA if field.name not in drop])
    table = pa.Table.from_pydict(
        {name: [row[name] for row in rows] for name in schema.names}, schema=schema
    )
    return nw.from_native(con.from_arrow(table))


def collect(frame: nw.LazyFrame, key: str) -> dict[Any, dict[str, Any]]:
    """Rows of a priced / rolled-up frame keyed by ``key``."""
    relation = nw.to_native(frame)
    columns = relation.columns
    rows = [dict(zip(columns, values, strict=True)) for values in relation.fetchall()]
    keyed = {row[key]: row for row in rows}
    assert len(keyed) == len(rows), "duplicate keys in the output"
    return keyed


def price(con: duckdb.DuckDBPyConnection, *overrides: dict[str, Any]) -> dict[str, dict]:
    return collect(price_calls(calls_frame(con, *overrides)), "call_id")


def close(value: float) -> Any:
    """Float equality up to rounding; exact for zero."""
    return pytest.approx(value, rel=1e-12, abs=0.0)


def assert_row(row: dict[str, Any], expected: dict[str, Any]) -> None:
    for column, value in expected.items():
        if isinstance(value, float):
            assert row[column] is not None, column
            assert row[column] == close(value), column
        else:
            assert row[column] == value, column


# --------------------------------------------------------------------------------------
# 1. Worked examples
# --------------------------------------------------------------------------------------


def test_modeled_call_worked_example(con):
    row = price(con, {})["call-1"]
    # uncached_in    = 2000 - 1500 = 500
    # prefill_wh     = (500 + 0.1*1500) / 1000 * 0.01 = 650 / 1000 * 0.01 = 0.0065
    # decode_wh      = 400 / 1000 * 0.05 = 0.02
    # batch_factor   = 1.8 / 1.0 = 1.8
    # accelerator_wh = (0.0065 + 0.02) * 1.8 = 0.0265 * 1.8 = 0.0477
    # it_wh          = 0.0477 * 1.5 = 0.07155
    # facility_wh    = 0.07155 * 1.1 = 0.078705
    # gco2e_location = 0.078705 / 1000 * 400 = 0.031482
    # gco2e_market   = 0.078705 / 1000 * 100 = 0.0078705
    # gco2e_embodied = 1,000,000 / 10,000 * 2 * 0.01 / 8 = 100 * 2 * 0.01 / 8 = 0.25
    # water_ml       = it_wh * wue = 0.07155 * 0.5 = 0.035775 (WUE is per IT kWh)
    # implied power  = 0.0477 Wh / (2 GPUs * 0.01 h / 8) = 0.0477 / 0.0025 = 19.08 W per GPU
    # low:  prefill = (500 + 0.05*1500) / 1000 * 0.005 = 575 / 1000 * 0.005 = 0.002875
    #       decode  = 400 / 1000 * 0.02 = 0.008
    #       accelerator = (0.002875 + 0.008) * 1.8 = 0.010875 * 1.8 = 0.019575
    #       facility    = 0.019575 * 1.5 * 1.1 = 0.03229875; location = 0.03229875 * 0.4
    # high: prefill = (500 + 0.2*1500) / 1000 * 0.02 = 800 / 1000 * 0.02 = 0.016
    #       decode  = 400 / 1000 * 0.1 = 0.04
    #       accelerator = (0.016 + 0.04) * 1.8 = 0.1008
    #       facility    = 0.1008 * 1.65 = 0.16632; location = 0.16632 * 0.4 = 0.066528
    assert_row(
        row,
        {
            "energy_method": "modeled",
            "batch_factor": 1.8,
            "accelerator_wh": 0.0477,
            "it_wh": 0.07155,
            "facility_wh": 0.078705,
            "gco2e_location": 0.031482,
            "gco2e_market": 0.0078705,
            "gco2e_embodied": 0.25,
            "water_ml": 0.035775,
            "accelerator_wh_basis": "token_model",
            "implied_gpu_power_w": 19.08,
            "accelerator_wh_low": 0.019575,
            "facility_wh_low": 0.03229875,
            "gco2e_location_low": 0.0129195,
            "accelerator_wh_high": 0.1008,
            "facility_wh_high": 0.16632,
            "gco2e_location_high": 0.066528,
            # the coefficients used are kept beside the result
            "wh_per_1k_prefill_tokens": 0.01,
            "wh_per_1k_decode_tokens": 0.05,
            "cache_residual": 0.1,
            "host_overhead": 1.5,
            "pue": 1.1,
            "grid_gco2e_per_kwh": 400.0,
            "market_gco2e_per_kwh": 100.0,
            "effective_batch_size": 8,
            "status": "ok",
        },
    )
    assert row["measured_energy_j"] is None


def test_measured_call_overrides_the_model(con):
    row = price(con, {"measured_energy_j": 7200.0})["call-1"]
    # Same coefficients as the modelled example (which would give 0.0477 Wh), but the
    # serving layer measured 7200 J:
    # accelerator_wh = 7200 / 3600 = 2.0 (low = high = point: no modelling uncertainty)
    # it_wh          = 2.0 * 1.5 = 3.0
    # facility_wh    = 3.0 * 1.1 = 3.3
    # gco2e_location = 3.3 / 1000 * 400 = 1.32
    # gco2e_market   = 3.3 / 1000 * 100 = 0.33
    # gco2e_embodied = 100 * 2 * 0.01 / 8 = 0.25 (independent of the energy path)
    # water_ml       = 3.0 * 0.5 = 1.5
    assert_row(
        row,
        {
            "energy_method": "measured",
            "measured_energy_j": 7200.0,
            "batch_factor": 1.8,
            "accelerator_wh": 2.0,
            "accelerator_wh_low": 2.0,
            "accelerator_wh_high": 2.0,
            "it_wh": 3.0,
            "facility_wh": 3.3,
            "facility_wh_low": 3.3,
            "facility_wh_high": 3.3,
            "gco2e_location": 1.32,
            "gco2e_location_low": 1.32,
            "gco2e_location_high": 1.32,
            "gco2e_market": 0.33,
            "gco2e_embodied": 0.25,
            "water_ml": 1.5,
            "accelerator_wh_basis": "measured",
        },
    )


def test_vendor_estimated_call_with_market_factor_falling_back_to_location(con):
    vendor_call = {
        "model": "gpt-4o",
        "model_tier": "large",
        "provider": "openai",
        "region": "openai-us",
        "gpu_type": None,
        "gpu_count": None,
        "batch_size": None,
        "is_batch_size_assumed": True,
        "coefficient_method": "estimated",
        "input_tokens": 10_000,
        "cached_input_tokens": 4000,
        "output_tokens": 1000,
        "wh_per_1k_prefill_tokens": 0.02,
        "wh_per_1k_prefill_tokens_low": 0.01,
        "wh_per_1k_prefill_tokens_high": 0.04,
        "wh_per_1k_decode_tokens": 0.3,
        "wh_per_1k_decode_tokens_low": 0.15,
        "wh_per_1k_decode_tokens_high": 0.6,
        "cache_residual": 0.25,
        "cache_residual_low": 0.1,
        "cache_residual_high": 0.5,
        # unknown vendor batch = the coefficient's reference batch: same curve point
        "relative_energy_at_batch": 1.2,
        "relative_energy_at_batch_low": 1.2,
        "relative_energy_at_batch_high": 1.2,
        "relative_energy_at_reference_batch": 1.2,
        "effective_batch_size": 16,
        "effective_batch_size_min": 16,
        "effective_batch_size_max": 16,
        # a vendor's hardware is unknown: no power envelope
        "gpu_idle_w": None,
        "gpu_tdp_w": None,
        "host_overhead": 1.2,
        "host_overhead_low": 1.2,
        "host_overhead_high": 1.2,
        "pue": 1.25,
        "wue_l_per_kwh": 2.0,
        "grid_gco2e_per_kwh": 300.0,
        "market_gco2e_per_kwh": None,
        "embodied_gco2e_per_gpu": 2_000_000.0,
        "gpu_lifetime_hours": 40_000.0,
        "replica_gpu_count": 4,
        "call_hours": 0.005,
    }
    row = price(con, vendor_call)["call-1"]
    # uncached_in    = 10000 - 4000 = 6000
    # prefill_wh     = (6000 + 0.25*4000) / 1000 * 0.02 = 7000 / 1000 * 0.02 = 0.14
    # decode_wh      = 1000 / 1000 * 0.3 = 0.3
    # batch_factor   = 1.2 / 1.2 = 1.0
    # accelerator_wh = (0.14 + 0.3) * 1.0 = 0.44
    # it_wh          = 0.44 * 1.2 = 0.528
    # facility_wh    = 0.528 * 1.25 = 0.66
    # gco2e_location = 0.66 / 1000 * 300 = 0.198
    # gco2e_market   = market is null -> location factor: 0.66 / 1000 * 300 = 0.198
    # gco2e_embodied = 2,000,000 / 40,000 * 4 * 0.005 / 16 = 50 * 4 * 0.005 / 16 = 0.0625
    # water_ml       = 0.528 * 2.0 = 1.056
    # low:  prefill = (6000 + 0.1*4000) / 1000 * 0.01 = 0.064; decode = 1 * 0.15 = 0.15
    #       accelerator = 0.214; facility = 0.214 * 1.2 * 1.25 = 0.321; location = 0.0963
    # high: prefill = (6000 + 0.5*4000) / 1000 * 0.04 = 0.32; decode = 1 * 0.6 = 0.6
    #       accelerator = 0.92; facility = 0.92 * 1.5 = 1.38; location = 1.38 * 0.3 = 0.414
    assert_row(
        row,
        {
            "energy_method": "estimated",
            "batch_factor": 1.0,
            "accelerator_wh": 0.44,
            "it_wh": 0.528,
            "facility_wh": 0.66,
            "gco2e_location": 0.198,
            "gco2e_market": 0.198,
            "gco2e_embodied": 0.0625,
            "water_ml": 1.056,
            "accelerator_wh_basis": "token_model",
            "accelerator_wh_low": 0.214,
            "facility_wh_low": 0.321,
            "gco2e_location_low": 0.0963,
            "accelerator_wh_high": 0.92,
            "facility_wh_high": 1.38,
            "gco2e_location_high": 0.414,
            "provider": "openai",
            "is_batch_size_assumed": True,
        },
    )
    assert row["market_gco2e_per_kwh"] is None
    assert row["implied_gpu_power_w"] is None
    assert row["gpu_type"] is None
    assert row["batch_size"] is None


def test_zero_token_call_costs_its_idle_floor_not_zero(con):
    rows = price(
        con,
        {"input_tokens": 0, "cached_input_tokens": 0, "output_tokens": 0},
        {"input_tokens": 0, "cached_input_tokens": 0, "output_tokens": 0, "gpu_idle_w": None},
    )
    # prefill = decode = 0, but the call held its share of 2 GPUs for 0.01 h at batch 8:
    # idle floor = 5 W * 2 * 0.01 h / 8 = 0.0125 Wh (low and high alike: the batch was logged)
    # it = 0.0125 * 1.5 = 0.01875; facility = 0.01875 * 1.1 = 0.020625
    # location = 0.020625 * 0.4 = 0.00825; water = 0.01875 * 0.5 = 0.009375
    assert_row(
        rows["call-1"],
        {
            "accelerator_wh_basis": "idle_floor",
            "accelerator_wh": 0.0125,
            "accelerator_wh_low": 0.0125,
            "accelerator_wh_high": 0.0125,
            "facility_wh": 0.020625,
            "gco2e_location": 0.00825,
            "water_ml": 0.009375,
            "implied_gpu_power_w": 5.0,
            "gco2e_embodied": 0.25,
        },
    )
    # Without a known idle power every energy, carbon and water figure is exactly 0.0, not
    # null; embodied carbon still counts the 0.01 h: 100 * 2 * 0.01 / 8 = 0.25.
    unknown = rows["call-2"]
    for column in IMPACT_COLUMNS:
        if column == "gco2e_embodied":
            continue
        assert unknown[column] is not None, column
        assert unknown[column] == 0.0, column
    assert unknown["gco2e_embodied"] == close(0.25)
    assert unknown["energy_method"] == "modeled"


def test_idle_floor_raises_a_call_the_token_model_prices_below_idle(con):
    # The worked example held for 0.5 h instead of 0.01 h: the token model still gives
    # 0.0477 Wh, but 2 GPUs idle for 0.5 h shared by 8 sequences draw
    # 5 W * 2 * 0.5 / 8 = 0.625 Wh, so the floor sets the value (low and high too:
    # 0.019575 and 0.1008 are both below 0.625).
    # it = 0.625 * 1.5 = 0.9375; facility = 0.9375 * 1.1 = 1.03125; implied power = 5 W.
    row = price(con, {"call_hours": 0.5})["call-1"]
    assert_row(
        row,
        {
            "accelerator_wh_basis": "idle_floor",
            "energy_method": "modeled",
            "accelerator_wh": 0.625,
            "accelerator_wh_low": 0.625,
            "accelerator_wh_high": 0.625,
            "facility_wh": 1.03125,
            "implied_gpu_power_w": 5.0,
        },
    )


def test_assumed_batch_and_host_overhead_bounds_widen_the_range(con):
    # The batch was not logged: central batch 8 (relative energy 1.8), plausible 2-64
    # (relative 3.0 at batch 2 for the high bound, 1.0 at batch 64 for the low bound);
    # host overhead 1.5 with bounds 1.2-2.0.
    # low:  accelerator = 0.010875 * 1.0 = 0.010875; floor 5 * 2 * 0.01 / 64 = 0.00078125
    #       facility = 0.010875 * 1.2 * 1.1 = 0.014355
    # high: accelerator = 0.056 * 3.0 = 0.168; floor 5 * 2 * 0.01 / 2 = 0.05
    #       facility = 0.168 * 2.0 * 1.1 = 0.3696
    # central unchanged: 0.0477 Wh accelerator, 0.078705 Wh facility
    row = price(
        con,
        {
            "batch_size": None,
            "is_batch_size_assumed": True,
            "relative_energy_at_batch_low": 1.0,
            "relative_energy_at_batch_high": 3.0,
            "effective_batch_size_min": 2,
            "effective_batch_size_max": 64,
            "host_overhead_low": 1.2,
            "host_overhead_high": 2.0,
        },
    )["call-1"]
    assert_row(
        row,
        {
            "accelerator_wh": 0.0477,
            "facility_wh": 0.078705,
            "accelerator_wh_low": 0.010875,
            "facility_wh_low": 0.014355,
            "accelerator_wh_high": 0.168,
            "facility_wh_high": 0.3696,
            "effective_batch_size_min": 2,
            "effective_batch_size_max": 64,
        },
    )


def test_failed_call_is_still_priced(con):
    failed = {"status": "error", "input_tokens": 1000, "cached_input_tokens": 0, "output_tokens": 0}
    rows = price(con, failed, {"call_id": "call-ok"})
    row = rows["call-1"]
    # The prompt was prefilled before the call failed:
    # prefill = (1000 + 0.1*0) / 1000 * 0.01 = 0.01; decode = 0
    # accelerator_wh = 0.01 * 1.8 = 0.018; it_wh = 0.018 * 1.5 = 0.027
    # facility_wh = 0.027 * 1.1 = 0.0297
    # gco2e_location = 0.0297 * 0.4 = 0.01188; gco2e_market = 0.0297 * 0.1 = 0.00297
    # water_ml = 0.027 * 0.5 = 0.0135; embodied = 0.25
    # low:  (1000 / 1000 * 0.005) * 1.8 = 0.009, below the idle floor 5 * 2 * 0.01 / 8 =
    #       0.0125, so the floor holds: facility 0.0125 * 1.65 = 0.020625
    # high: (1000 / 1000 * 0.02) * 1.8 = 0.036; facility 0.036 * 1.65 = 0.0594
    assert_row(
        row,
        {
            "status": "error",
            "energy_method": "modeled",
            "accelerator_wh": 0.018,
            "it_wh": 0.027,
            "facility_wh": 0.0297,
            "gco2e_location": 0.01188,
            "gco2e_market": 0.00297,
            "gco2e_embodied": 0.25,
            "water_ml": 0.0135,
            "accelerator_wh_low": 0.0125,
            "facility_wh_low": 0.020625,
            "facility_wh_high": 0.0594,
        },
    )
    # The ok call next to it is the unchanged worked example 1.
    assert rows["call-ok"]["facility_wh"] == close(0.078705)


def test_each_row_priced_with_its_own_coefficients_in_one_relation(con):
    rows = price(
        con,
        {"call_id": "modeled"},
        {"call_id": "measured", "measured_energy_j": 7200.0},
        {"call_id": "cleaner-grid", "grid_gco2e_per_kwh": 40.0, "pue": 1.0, "host_overhead": 1.0},
    )
    assert set(rows) == {"modeled", "measured", "cleaner-grid"}
    assert rows["modeled"]["facility_wh"] == close(0.078705)
    assert rows["measured"]["facility_wh"] == close(3.3)
    # 0.0477 * 1.0 * 1.0 = 0.0477 Wh; 0.0477 / 1000 * 40 = 0.001908 g
    assert rows["cleaner-grid"]["facility_wh"] == close(0.0477)
    assert rows["cleaner-grid"]["gco2e_location"] == close(0.001908)


def test_identifying_columns_pass_through_unchanged(con):
    row = price(con, {})["call-1"]
    for column in (
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
        "is_batch_size_assumed",
        "grid_period",
        "grid_period_start",
        "is_grid_intensity_carried_forward",
    ):
        assert row[column] == DEFAULT_CALL[column], column
    # pricing internals that are not part of the public footprint are dropped
    for internal in ("coefficient_method", "relative_energy_at_batch", "call_hours"):
        assert internal not in row


# --------------------------------------------------------------------------------------
# 2. Properties over generated rows
# --------------------------------------------------------------------------------------

PROPERTY_SETTINGS = settings(max_examples=50, deadline=None)


def _floats(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False)


def _ordered(values: st.SearchStrategy[float]) -> st.SearchStrategy[list[float]]:
    """(low, point, high) drawn independently and sorted."""
    return st.lists(values, min_size=3, max_size=3).map(sorted)


# Residuals are multiples of 1/1024: with token counts below 2**40 every product
# residual * tokens is then exact in binary floating point, so the cache property
# below holds exactly rather than up to rounding.
RESIDUALS = st.integers(min_value=0, max_value=1024).map(lambda n: n / 1024)


@st.composite
def call_rows(draw: st.DrawFn, measured: bool | None = None) -> dict[str, Any]:
    """Pricing inputs of one plausible call; ``measured`` forces (True/False) or draws."""
    input_tokens = draw(st.integers(min_value=0, max_value=2_000_000))
    prefill = draw(_ordered(_floats(0.0, 5.0)))
    decode = draw(_ordered(_floats(0.0, 5.0)))
    residual = draw(st.lists(RESIDUALS, min_size=3, max_size=3).map(sorted))
    relative = draw(_ordered(_floats(0.05, 20.0)))
    batches = draw(
        st.lists(st.integers(min_value=1, max_value=512), min_size=3, max_size=3).map(sorted)
    )
    host = draw(_ordered(_floats(1.0, 3.0)))
    if measured is None:
        measured = draw(st.booleans())
    return {
        "status": draw(st.sampled_from(["ok", "error", "timeout"])),
        "input_tokens": input_tokens,
        "cached_input_tokens": draw(st.integers(min_value=0, max_value=input_tokens)),
        "output_tokens": draw(st.integers(min_value=0, max_value=200_000)),
        "measured_energy_j": draw(_floats(0.0, 1e7)) if measured else None,
        "coefficient_method": draw(st.sampled_from(["modeled", "estimated"])),
        "wh_per_1k_prefill_tokens_low": prefill[0],
        "wh_per_1k_prefill_tokens": prefill[1],
        "wh_per_1k_prefill_tokens_high": prefill[2],
        "wh_per_1k_decode_tokens_low": decode[0],
        "wh_per_1k_decode_tokens": decode[1],
        "wh_per_1k_decode_tokens_high": decode[2],
        "cache_residual_low": residual[0],
        "cache_residual": residual[1],
        "cache_residual_high": residual[2],
        "relative_energy_at_batch_low": relative[0],
        "relative_energy_at_batch": relative[1],
        "relative_energy_at_batch_high": relative[2],
        "relative_energy_at_reference_batch": draw(_floats(0.05, 10.0)),
        "effective_batch_size_min": batches[0],
        "effective_batch_size": batches[1],
        "effective_batch_size_max": batches[2],
        "gpu_idle_w": draw(st.none() | _floats(0.0, 200.0)),
        "gpu_tdp_w": draw(st.none() | _floats(200.0, 1200.0)),
        "host_overhead_low": host[0],
        "host_overhead": host[1],
        "host_overhead_high": host[2],
        "pue": draw(_floats(1.0, 2.5)),
        "wue_l_per_kwh": draw(_floats(0.0, 10.0)),
        "grid_gco2e_per_kwh": draw(_floats(0.0, 1500.0)),
        "market_gco2e_per_kwh": draw(st.none() | _floats(0.0, 1500.0)),
        "embodied_gco2e_per_gpu": draw(_floats(0.0, 5e6)),
        "gpu_lifetime_hours": draw(_floats(1000.0, 100_000.0)),
        "replica_gpu_count": draw(st.integers(min_value=1, max_value=8)),
        "call_hours": draw(_floats(0.0, 2.0)),
    }


def _with_ids(rows: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    return [{**row, "call_id": f"{prefix}-{index}"} for index, row in enumerate(rows)]


@PROPERTY_SETTINGS
@given(rows=st.lists(call_rows(), min_size=1, max_size=40))
def test_property_energy_carbon_and_water_are_never_negative_or_null(con, rows):
    priced = price(con, *_with_ids(rows, "call"))
    assert len(priced) == len(rows)
    for row in priced.values():
        for column in IMPACT_COLUMNS:
            assert row[column] is not None, column
            assert row[column] >= 0.0, column


@PROPERTY_SETTINGS
@given(
    pairs=st.lists(
        st.tuples(call_rows(measured=False), st.integers(min_value=1, max_value=100_000)),
        min_size=1,
        max_size=40,
    )
)
def test_property_more_output_tokens_never_less_energy(con, pairs):
    base = [row for row, _ in pairs]
    more = [{**row, "output_tokens": row["output_tokens"] + extra} for row, extra in pairs]
    priced = price(con, *_with_ids(base, "base"), *_with_ids(more, "more"))
    for index in range(len(pairs)):
        for column in ENERGY_COLUMNS:
            assert priced[f"more-{index}"][column] >= priced[f"base-{index}"][column], column


@PROPERTY_SETTINGS
@given(
    pairs=st.lists(
        st.tuples(call_rows(measured=False), st.integers(min_value=1, max_value=100_000)),
        min_size=1,
        max_size=40,
    )
)
def test_property_more_uncached_input_tokens_never_less_energy(con, pairs):
    base = [row for row, _ in pairs]
    # extra prompt tokens that miss the cache: input grows, cached stays
    more = [{**row, "input_tokens": row["input_tokens"] + extra} for row, extra in pairs]
    priced = price(con, *_with_ids(base, "base"), *_with_ids(more, "more"))
    for index in range(len(pairs)):
        for column in ENERGY_COLUMNS:
            assert priced[f"more-{index}"][column] >= priced[f"base-{index}"][column], column


@st.composite
def cache_hit_pairs(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    row = draw(call_rows(measured=False))
    uncached = row["input_tokens"] - row["cached_input_tokens"]
    moved = draw(st.integers(min_value=0, max_value=uncached))
    hit = {**row, "cached_input_tokens": row["cached_input_tokens"] + moved}
    return row, hit


@PROPERTY_SETTINGS
@given(pairs=st.lists(cache_hit_pairs(), min_size=1, max_size=40))
def test_property_cache_hit_never_raises_energy(con, pairs):
    misses = [miss for miss, _ in pairs]
    hits = [hit for _, hit in pairs]
    priced = price(con, *_with_ids(misses, "miss"), *_with_ids(hits, "hit"))
    for index, (miss, hit) in enumerate(pairs):
        assert hit["input_tokens"] == miss["input_tokens"]
        for column in ENERGY_COLUMNS:
            assert priced[f"hit-{index}"][column] <= priced[f"miss-{index}"][column], column


NULLABLE_COEFFICIENTS = (
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
)


@st.composite
def measured_rows(draw: st.DrawFn) -> dict[str, Any]:
    """A measured call whose per-token coefficients are anything, including missing."""
    row = draw(call_rows(measured=True))
    for column in NULLABLE_COEFFICIENTS:
        row[column] = draw(st.none() | _floats(0.0, 1e6))
    return row


@PROPERTY_SETTINGS
@given(rows=st.lists(measured_rows(), min_size=1, max_size=40))
def test_property_measured_energy_overrides_the_coefficients(con, rows):
    priced = price(con, *_with_ids(rows, "call"))
    for index, row in enumerate(rows):
        out = priced[f"call-{index}"]
        measured_wh = row["measured_energy_j"] / 3600
        facility = measured_wh * row["host_overhead"] * row["pue"]
        assert out["energy_method"] == "measured"
        assert out["accelerator_wh"] == close(measured_wh)
        assert out["it_wh"] == close(measured_wh * row["host_overhead"])
        assert out["facility_wh"] == close(facility)
        assert out["accelerator_wh_low"] == out["accelerator_wh"] == out["accelerator_wh_high"]
        # The host overhead around a measured accelerator is still a model: it keeps bounds.
        assert out["facility_wh_low"] == close(measured_wh * row["host_overhead_low"] * row["pue"])
        assert out["facility_wh_high"] == close(
            measured_wh * row["host_overhead_high"] * row["pue"]
        )


@PROPERTY_SETTINGS
@given(rows=st.lists(call_rows(), min_size=1, max_size=40))
def test_property_low_point_high_are_ordered(con, rows):
    priced = price(con, *_with_ids(rows, "call"))
    for row in priced.values():
        for stem in ("accelerator_wh", "facility_wh", "gco2e_location"):
            assert row[f"{stem}_low"] <= row[stem] <= row[f"{stem}_high"], stem


@PROPERTY_SETTINGS
@given(rows=st.lists(call_rows(), min_size=1, max_size=40))
def test_property_wider_boundary_never_less_energy(con, rows):
    priced = price(con, *_with_ids(rows, "call"))
    for row in priced.values():
        assert row["facility_wh"] >= row["it_wh"] >= row["accelerator_wh"]


# --------------------------------------------------------------------------------------
# 3. Missing pricing columns
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("column", PRICING_INPUT_COLUMNS)
def test_price_calls_names_a_missing_pricing_column(con, column):
    frame = calls_frame(con, {}, drop=(column,))
    with pytest.raises(ValueError, match=re.escape(f"'{column}'")):
        price_calls(frame)


def test_price_calls_names_every_missing_pricing_column(con):
    frame = calls_frame(con, {}, drop=("pue", "cache_residual_low"))
    with pytest.raises(ValueError, match="pricing columns") as raised:
        price_calls(frame)
    assert "'pue'" in str(raised.value)
    assert "'cache_residual_low'" in str(raised.value)
    assert "'cache_residual'" not in str(raised.value)


# --------------------------------------------------------------------------------------
# 4. Rolling calls up to tasks
# --------------------------------------------------------------------------------------

TASKS_SQL = """
select * from (values
    ('T1', 'summarize', 'completed', true,  false, 2, 1, timestamp '2026-03-02 10:00:00',
        timestamp '2026-03-02 10:05:00', timestamp '2026-03-02 10:05:00', 4.5),
    ('T2', 'doc_qa',    'abandoned', false, false, 1, 0, timestamp '2026-03-02 11:00:00',
        timestamp '2026-03-02 11:02:00', null::timestamp, null::double),
    ('T3', 'translate', 'pending',   false, true,  1, 0, timestamp '2026-03-02 12:00:00',
        timestamp '2026-03-02 12:00:00', null::timestamp, null::double)
) as t(task_id, feature, outcome, is_completed, is_pending, attempts, retries, started_at,
       ended_at, completed_at, quality_score)
"""

# Five priced calls with hand-picked figures. The low / high / market / embodied / water
# columns are simple multiples so every per-task sum can be added up by hand.
# c5 says task T3 but has_task is false: roll_up_tasks trusts the flag, so it must not
# reach T3 (which therefore has no calls).
CALL_FOOTPRINT_SQL = """
select
    call_id, task_id, has_task, status, input_tokens, cached_input_tokens, output_tokens,
    accelerator_wh,
    accelerator_wh * 1.5 as it_wh,
    facility_wh,
    facility_wh * 0.5 as facility_wh_low,
    facility_wh * 2.0 as facility_wh_high,
    facility_wh * 0.4 as gco2e_location,
    facility_wh * 0.2 as gco2e_location_low,
    facility_wh * 0.8 as gco2e_location_high,
    facility_wh * 0.1 as gco2e_market,
    gco2e_embodied,
    facility_wh * 0.5 as water_ml
from (values
    ('c1', 'T1', true,  'ok',      1000::bigint, 200::bigint, 100::bigint, 1.0::double,
        2.0::double,  0.25::double),
    ('c2', 'T1', true,  'error',   3000::bigint,   0::bigint,   0::bigint, 0.5::double,
        1.0::double,  0.25::double),
    ('c3', 'T2', true,  'timeout',  500::bigint, 100::bigint,  50::bigint, 0.25::double,
        0.5::double,  0.125::double),
    ('c4', 'T2', true,  'error',    250::bigint,   0::bigint,   0::bigint, 0.125::double,
        0.25::double, 0.125::double),
    ('c5', 'T3', false, 'error',  10000::bigint, 0::bigint, 900::bigint, 8.0::double,
        16.0::double, 1.0::double)
) as c(call_id, task_id, has_task, status, input_tokens, cached_input_tokens,
       output_tokens, accelerator_wh, facility_wh, gco2e_embodied)
"""


def test_roll_up_tasks_sums_calls_per_task(con):
    tasks = nw.from_native(con.sql(TASKS_SQL))
    calls = nw.from_native(con.sql(CALL_FOOTPRINT_SQL))
    result = roll_up_tasks(calls, tasks)
    relation = nw.to_native(result)
    all_rows = relation.fetchall()
    rows = collect(result, "task_id")
    assert len(all_rows) == 3
    assert set(rows) == {"T1", "T2", "T3"}

    # T1 = c1 + c2:
    #   input 1000 + 3000 = 4000; cached 200 + 0 = 200; output 100 + 0 = 100
    #   accelerator 1.0 + 0.5 = 1.5; it 1.5 * 1.5 = 2.25; facility 2.0 + 1.0 = 3.0
    #   low 3.0 * 0.5 = 1.5; high 3.0 * 2 = 6.0; location 3.0 * 0.4 = 1.2
    #   location low 0.6, high 2.4; market 0.3; embodied 0.25 + 0.25 = 0.5; water 1.5
    #   failed: c2 'error' -> 1
    assert_row(
        rows["T1"],
        {
            "feature": "summarize",
            "outcome": "completed",
            "is_completed": True,
            "attempts": 2,
            "retries": 1,
            "quality_score": 4.5,
            "call_count": 2,
            "failed_call_count": 1,
            "input_tokens": 4000,
            "cached_input_tokens": 200,
            "output_tokens": 100,
            "accelerator_wh": 1.5,
            "it_wh": 2.25,
            "facility_wh": 3.0,
            "facility_wh_low": 1.5,
            "facility_wh_high": 6.0,
            "gco2e_location": 1.2,
            "gco2e_location_low": 0.6,
            "gco2e_location_high": 2.4,
            "gco2e_market": 0.3,
            "gco2e_embodied": 0.5,
            "water_ml": 1.5,
        },
    )
    # T2 = c3 + c4:
    #   input 500 + 250 = 750; cached 100; output 50
    #   accelerator 0.25 + 0.125 = 0.375; it 0.5625; facility 0.5 + 0.25 = 0.75
    #   low 0.375; high 1.5; location 0.3; location low 0.15, high 0.6; market 0.075
    #   embodied 0.125 + 0.125 = 0.25; water 0.375
    #   failed: 'timeout' and 'error' -> 2
    assert_row(
        rows["T2"],
        {
            "outcome": "abandoned",
            "is_completed": False,
            "call_count": 2,
            "failed_call_count": 2,
            "input_tokens": 750,
            "cached_input_tokens": 100,
            "output_tokens": 50,
            "accelerator_wh": 0.375,
            "it_wh": 0.5625,
            "facility_wh": 0.75,
            "facility_wh_low": 0.375,
            "facility_wh_high": 1.5,
            "gco2e_location": 0.3,
            "gco2e_location_low": 0.15,
            "gco2e_location_high": 0.6,
            "gco2e_market": 0.075,
            "gco2e_embodied": 0.25,
            "water_ml": 0.375,
        },
    )
    assert rows["T2"]["quality_score"] is None
    assert rows["T2"]["completed_at"] is None

    # T3 has no attributed call (c5's has_task is false): zeros, not nulls.
    t3 = rows["T3"]
    assert t3["call_count"] == 0
    assert t3["failed_call_count"] == 0
    for column in ("input_tokens", "cached_input_tokens", "output_tokens"):
        assert t3[column] == 0, column
    for column in IMPACT_COLUMNS:
        if column in t3:
            assert t3[column] is not None, column
            assert t3[column] == 0.0, column
    assert t3["facility_wh"] == 0.0


def test_roll_up_tasks_returns_64_bit_token_sums_and_drops_unattributed_calls(con):
    tasks = nw.from_native(con.sql(TASKS_SQL))
    calls = nw.from_native(con.sql(CALL_FOOTPRINT_SQL))
    relation = nw.to_native(roll_up_tasks(calls, tasks))
    types = dict(zip(relation.columns, (str(t) for t in relation.types), strict=True))
    for column in ("input_tokens", "cached_input_tokens", "output_tokens"):
        assert types[column] == "BIGINT", column
    # c5's 8.0 / 16.0 Wh appear in no task: total facility = 3.0 + 0.75 + 0 = 3.75
    [(total,)] = relation.aggregate("sum(facility_wh)").fetchall()
    assert total == close(3.75)


def test_price_then_roll_up_end_to_end(con):
    # Worked example 1 (facility 0.078705 Wh) and the failed call (0.0297 Wh) both belong
    # to T1; a call with no known task (has_task false, task_id null) is priced but not
    # attributed.
    calls = calls_frame(
        con,
        {"call_id": "ok", "task_id": "T1"},
        {
            "call_id": "failed",
            "task_id": "T1",
            "status": "error",
            "input_tokens": 1000,
            "cached_input_tokens": 0,
            "output_tokens": 0,
        },
        {"call_id": "orphan", "task_id": None, "has_task": False},
    )
    tasks = nw.from_native(con.sql(TASKS_SQL))
    rows = collect(roll_up_tasks(price_calls(calls), tasks), "task_id")
    assert set(rows) == {"T1", "T2", "T3"}
    # facility 0.078705 + 0.0297 = 0.108405; accelerator 0.0477 + 0.018 = 0.0657
    # embodied 0.25 + 0.25 = 0.5; input 2000 + 1000 = 3000; cached 1500; output 400
    assert_row(
        rows["T1"],
        {
            "call_count": 2,
            "failed_call_count": 1,
            "facility_wh": 0.108405,
            "accelerator_wh": 0.0657,
            "gco2e_embodied": 0.5,
            "input_tokens": 3000,
            "cached_input_tokens": 1500,
            "output_tokens": 400,
        },
    )
    for task_id in ("T2", "T3"):
        assert rows[task_id]["call_count"] == 0
        assert rows[task_id]["facility_wh"] == 0.0
