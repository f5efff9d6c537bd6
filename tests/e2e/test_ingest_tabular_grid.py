"""The tabular request-log and grid-intensity converters, checked against hand-worked rows.

Fixtures (tests/fixtures/gateway, tests/fixtures/grid) are small hand-written files shaped as
the real exports: a LiteLLM LiteLLM_SpendLogs export (ISO timestamps as CSV, epoch
milliseconds as JSON Lines), Electricity Maps hourly CSVs of both header generations and
Carbon Aware SDK emissions JSON. The last test builds the converted files with dbt into a
throwaway DuckDB and checks that the hourly grid figure reaches the per-call footprint.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from python_helpers.ingest import grid, tabular

ROOT = Path(__file__).resolve().parents[2]
GATEWAY = ROOT / "tests" / "fixtures" / "gateway"
GRID = ROOT / "tests" / "fixtures" / "grid"
LITELLM_MAPPING = ROOT / "python_helpers" / "ingest" / "mappings" / "litellm_spend_logs.yml"
DBT = ROOT / ".venv" / "bin" / "dbt"

CALL_COLUMNS = (
    "call_id, task_id, started_at, ended_at, model, provider, region, gpu_type, gpu_count, "
    "batch_size, input_tokens, cached_input_tokens, output_tokens, status, measured_energy_j"
)


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


# Worked by hand from litellm_spend_logs_iso.csv (the .jsonl holds the same calls in epoch ms):
# - model: model_group 'gpt-4o' wins over the dated snapshot in `model`; req-004 has an empty
#   model_group, so its `model` 'gpt-4o' is used.
# - region: the log has none, so '<provider>-us' = 'openai-us'.
# - task_id: metadata.spend_logs_metadata.task_id; req-005 only has a top-level task_id;
#   req-004 has neither, so its session_id 'sess-9'.
# - req-001: usage_object.prompt_tokens_details.cached_tokens = 1024 (<= 1200 prompt tokens).
# - req-002: status 'failure', error_class RateLimitError -> 'error'.
# - req-003: cache_hit True = LiteLLM's response cache answered: tokens 500/120 -> 0/0.
# - req-004: '2026-03-02T12:05:00+01:00' -> 11:05:00 UTC; '12:05:02.5+01:00' -> 11:05:02.5.
# - req-005: older additional_usage_values.cache_read_input_tokens = 200.
# - req-006: 'failure' with error_class 'Timeout' -> 'timeout'; cached 50 capped at 0 prompt.
# fmt: off
EXPECTED_CALLS: list[tuple[Any, ...]] = [
    ("req-001", "task-A", ts("2026-03-02 10:15:00.250"), ts("2026-03-02 10:15:04.750"),
     "gpt-4o", "openai", "openai-us", None, None, None, 1200, 1024, 300, "ok", None),
    ("req-002", "task-A", ts("2026-03-02 10:20:00"), ts("2026-03-02 10:20:01.500"),
     "gpt-4o", "openai", "openai-us", None, None, None, 800, 0, 0, "error", None),
    ("req-003", "task-B", ts("2026-03-02 10:40:00"), ts("2026-03-02 10:40:00.020"),
     "gpt-4o", "openai", "openai-us", None, None, None, 0, 0, 0, "ok", None),
    ("req-004", "sess-9", ts("2026-03-02 11:05:00"), ts("2026-03-02 11:05:02.500"),
     "gpt-4o", "openai", "openai-us", None, None, None, 2000, 0, 150, "ok", None),
    ("req-005", "task-C", ts("2026-03-02 11:30:00"), ts("2026-03-02 11:30:03"),
     "gpt-4o", "openai", "openai-us", None, None, None, 900, 200, 50, "ok", None),
    ("req-006", "task-C", ts("2026-03-02 11:45:00"), ts("2026-03-02 11:46:00"),
     "gpt-4o", "openai", "openai-us", None, None, None, 0, 0, 0, "timeout", None),
]
# fmt: on

# carbon_aware_eastus_5min.json, hour 10:00 UTC: twelve 5-minute ratings (four of them
# written as 05:30-05:45 at -05:00):
# 401.5 + 398.0 + 405.25 + 410.0 + 412.75 + 420.0 + 415.5 + 409.0 + 403.25 + 399.5 + 396.0
# + 395.25 = 4866.0; / 12 = 405.5. Hour 11:00 UTC: one 1-hour record at 06:00-05:00 = 388.0.
EASTUS_HOUR_10 = 405.5
EASTUS_HOUR_11 = 388.0


def read_calls(path: Path) -> list[tuple[Any, ...]]:
    with duckdb.connect() as con:
        return con.execute(
            f"SELECT {CALL_COLUMNS} FROM read_parquet(?) ORDER BY call_id", [str(path)]
        ).fetchall()


def read_grid(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def grid_values(rows: list[dict[str, str]]) -> dict[tuple[str, str], float]:
    return {(r["grid_zone"], r["hour_start_at"]): float(r["gco2e_per_kwh"]) for r in rows}


def write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# Request logs.
# --------------------------------------------------------------------------------------------


def test_litellm_iso_csv_converts_to_the_hand_worked_calls(tmp_path: Path) -> None:
    out = tabular.convert(GATEWAY / "litellm_spend_logs_iso.csv", LITELLM_MAPPING, tmp_path)
    assert out == tmp_path / "inference_calls.parquet"
    assert read_calls(out) == EXPECTED_CALLS


def test_litellm_epoch_ms_jsonl_converts_through_the_command_line(tmp_path: Path) -> None:
    code = tabular.main(
        [
            "--input",
            str(GATEWAY / "litellm_spend_logs_epoch_ms.jsonl"),
            "--mapping",
            str(LITELLM_MAPPING),
            "--out",
            str(tmp_path),
            "--var",
            "timestamp_unit=epoch_ms",
        ]
    )
    assert code == 0
    assert read_calls(tmp_path / "inference_calls.parquet") == EXPECTED_CALLS


def test_contract_types_are_written(tmp_path: Path) -> None:
    out = tabular.convert(GATEWAY / "litellm_spend_logs_iso.csv", LITELLM_MAPPING, tmp_path)
    with duckdb.connect() as con:
        schema = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(out)]).fetchall()
    assert [(name, type_) for name, type_, *_ in schema] == list(tabular.CONTRACT_TYPES.items())


@pytest.mark.parametrize(
    ("unit", "value"),
    [
        ("iso", "'2026-03-02T11:15:00.123456+01:00'"),
        ("iso", "'2026-03-02 10:15:00.123456'"),
        ("epoch_s", "1772446500.123456"),
        ("epoch_ms", "1772446500123.456"),
        ("epoch_us", "1772446500123456"),
        ("epoch_ns", "1772446500123456789"),
    ],
)
def test_every_timestamp_unit_gives_the_same_utc_instant(unit: str, value: str) -> None:
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        got = con.execute(f"SELECT {tabular._timestamp_sql(value, unit)}").fetchone()
    assert got == (ts("2026-03-02 10:15:00.123456"),)


GENERIC_MAPPING = """
vars:
  team: blue
columns:
  call_id: 'id "quoted"'
  task_id: {sql: "${team} || '-' || conversation"}
  started_at: {column: t0, unit: epoch_s}
  ended_at: {column: t1, unit: epoch_s}
  model: {constant: qwen3-30b-a3b}
  provider:
    column: engine
    values: {vllm: self_hosted, azure: azure.ai.openai}
  region:
    column: region
    default:
      sql: "CASE WHEN provider = 'self_hosted' THEN 'europe-west1' ELSE provider || '-us' END"
  gpu_type: {column: gpu, default: B200}
  gpu_count: {constant: 1}
  input_tokens: tokens in
  output_tokens: tokens out
  status:
    column: outcome
    values: {200: ok, 500: error, 499: cancelled}
"""


def test_mapping_features_sql_constants_value_maps_defaults_and_quoting(tmp_path: Path) -> None:
    log = write_text(
        tmp_path / "log" / "part-0.csv",
        'id "quoted",conversation,t0,t1,engine,gpu,tokens in,tokens out,outcome\n'
        "a1,c1,1772446500,1772446501.5,vllm,,100,10,200\n"
        "a2,c2,1772446800,1772446802,azure,H100,200,20,500\n",
    )
    write_text(
        tmp_path / "log" / "part-1.csv",
        'id "quoted",conversation,t0,t1,engine,gpu,tokens in,tokens out,outcome\n'
        "a3,c3,1772446900,1772446901,bespoke,A100,300,30,499\n",
    )
    mapping = write_text(tmp_path / "generic.yml", GENERIC_MAPPING)
    out = tabular.convert(log.parent, mapping, tmp_path / "raw", {"team": "red"})
    # fmt: off
    assert read_calls(out) == [
        # no region column: default by mapped provider; empty gpu -> default B200
        ("a1", "red-c1", ts("2026-03-02 10:15:00"), ts("2026-03-02 10:15:01.500"),
         "qwen3-30b-a3b", "self_hosted", "europe-west1", "B200", 1, None, 100, None, 10, "ok",
         None),
        ("a2", "red-c2", ts("2026-03-02 10:20:00"), ts("2026-03-02 10:20:02"),
         "qwen3-30b-a3b", "azure.ai.openai", "azure.ai.openai-us", "H100", 1, None, 200, None,
         20, "error", None),
        # an unlisted value passes through unchanged
        ("a3", "red-c3", ts("2026-03-02 10:21:40"), ts("2026-03-02 10:21:41"),
         "qwen3-30b-a3b", "bespoke", "bespoke-us", "A100", 1, None, 300, None, 30,
         "cancelled", None),
    ]
    # fmt: on


@pytest.mark.parametrize(
    ("edit", "key", "fragment"),
    [
        (
            ("  model: {constant: qwen3-30b-a3b}\n", "  model: {constant: x}\n  modle: id\n"),
            "columns.modle",
            "not a contract column",
        ),
        (("  model: {constant: qwen3-30b-a3b}\n", ""), "columns", "model"),
        (
            ("unit: epoch_s}\n  ended_at", "unit: epoch_sec}\n  ended_at"),
            "columns.started_at.unit",
            "unknown timestamp unit 'epoch_sec'",
        ),
        (
            ("input_tokens: tokens in", "input_tokens: tokens_in"),
            "columns.input_tokens.column",
            "'tokens_in' is not in the input",
        ),
        (
            ("{sql: \"${team} || '-' || conversation\"}", "{sql: \"conversaton || 'x'\"}"),
            "columns.task_id",
            "invalid expression",
        ),
        (("${team} ||", "${squad} ||"), "columns.task_id.sql", "${squad}"),
        (
            ("gpu_count: {constant: 1}", "gpu_count: {constant: 1, sql: '2'}"),
            "columns.gpu_count",
            "exactly one of",
        ),
    ],
    ids=[
        "unknown-column",
        "missing-required",
        "unknown-unit",
        "missing-source-column",
        "bad-sql",
        "undeclared-var",
        "two-sources",
    ],
)
def test_mapping_errors_name_the_file_and_the_key(
    tmp_path: Path, edit: tuple[str, str], key: str, fragment: str
) -> None:
    log = write_text(
        tmp_path / "log.csv",
        'id "quoted",conversation,t0,t1,engine,gpu,tokens in,tokens out,outcome\n'
        "a1,c1,1772446500,1772446501,vllm,,100,10,200\n",
    )
    old, new = edit
    assert old in GENERIC_MAPPING
    mapping = write_text(tmp_path / "broken.yml", GENERIC_MAPPING.replace(old, new))
    with pytest.raises(tabular.MappingError) as excinfo:
        tabular.convert(log, mapping, tmp_path / "raw")
    message = str(excinfo.value)
    assert str(mapping) in message
    assert key in message
    assert fragment in message
    assert not (tmp_path / "raw" / "inference_calls.parquet").exists()


def test_cli_reports_a_mapping_error_with_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mapping = write_text(tmp_path / "m.yml", "columns:\n  call_id: request_id\n")
    code = tabular.main(
        [
            "--input",
            str(GATEWAY / "litellm_spend_logs_iso.csv"),
            "--mapping",
            str(mapping),
            "--out",
            str(tmp_path / "raw"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert str(mapping) in err
    assert "missing required column(s): task_id, started_at" in err


# --------------------------------------------------------------------------------------------
# Grid intensity.
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("basis", "label", "expected"),
    [
        ("direct", "direct", [371.2, 365.05, 358.4]),
        ("lifecycle", "life-cycle", [421.9, 415.1, 408.6]),
    ],
)
def test_electricity_maps_older_headers(
    tmp_path: Path, basis: str, label: str, expected: list[float]
) -> None:
    # "Carbon Intensity gCO₂eq/kWh (direct)" / "(LCA)" and "Zone Id", capital I.
    out = grid.convert(GRID / "US-MIDA-PJM_2026_hourly.csv", "electricitymaps", basis, tmp_path)
    rows = read_grid(out)
    assert list(rows[0]) == ["grid_zone", "hour_start_at", "gco2e_per_kwh", "source"]
    assert grid_values(rows) == {
        ("US-MIDA-PJM", f"2026-03-02 {h}:00:00"): v
        for h, v in zip(("09", "10", "11"), expected, strict=True)
    }
    assert {r["source"] for r in rows} == {
        f"Electricity Maps export US-MIDA-PJM_2026_hourly.csv, {label} basis"
    }


def test_electricity_maps_newer_headers_skip_blank_hours(tmp_path: Path) -> None:
    # "Carbon intensity gCO₂eq/kWh (direct)" / "(Life cycle)" and "Zone id"; 11:00 has no
    # direct figure (left to the monthly/annual fallback) but has a life-cycle one.
    direct = grid_values(
        read_grid(
            grid.convert(GRID / "FR_2026_hourly.csv", "electricitymaps", "direct", tmp_path / "d")
        )
    )
    lifecycle = grid_values(
        read_grid(
            grid.convert(
                GRID / "FR_2026_hourly.csv", "electricitymaps", "lifecycle", tmp_path / "l"
            )
        )
    )
    assert direct == {("FR", "2026-03-02 10:00:00"): 21.37, ("FR", "2026-03-02 12:00:00"): 24.9}
    assert lifecycle == {
        ("FR", "2026-03-02 10:00:00"): 38.12,
        ("FR", "2026-03-02 11:00:00"): 39.5,
        ("FR", "2026-03-02 12:00:00"): 41.06,
    }


def test_zone_map_overrides_electricity_maps_zone_ids(tmp_path: Path) -> None:
    zone_file = write_text(tmp_path / "zones.yml", "US-MIDA-PJM: US\n")
    code = grid.main(
        [
            "--input",
            str(GRID / "US-MIDA-PJM_2026_hourly.csv"),
            "--format",
            "electricitymaps",
            "--basis",
            "direct",
            "--zone-map",
            str(zone_file),
            "--out",
            str(tmp_path / "raw"),
        ]
    )
    assert code == 0
    rows = read_grid(tmp_path / "raw" / "grid_intensity_hourly.csv")
    assert {r["grid_zone"] for r in rows} == {"US"}
    assert grid.parse_zone_map(["US-MIDA-PJM=US", "eastus=US"]) == {
        "US-MIDA-PJM": "US",
        "eastus": "US",
    }


def test_carbon_aware_five_minute_records_average_per_hour(tmp_path: Path) -> None:
    out = grid.convert(
        GRID / "carbon_aware_eastus_5min.json",
        "carbon-aware-sdk",
        "direct",
        tmp_path,
        {"eastus": "US"},
    )
    rows = read_grid(out)
    values = grid_values(rows)
    assert values.keys() == {("US", "2026-03-02 10:00:00"), ("US", "2026-03-02 11:00:00")}
    assert values[("US", "2026-03-02 10:00:00")] == pytest.approx(EASTUS_HOUR_10, abs=1e-9)
    assert values[("US", "2026-03-02 11:00:00")] == pytest.approx(EASTUS_HOUR_11, abs=1e-9)
    assert rows[0]["source"] == (
        "Carbon Aware SDK emissions export carbon_aware_eastus_5min.json, direct basis, "
        "time-weighted hourly mean of sub-hourly records"
    )


def test_carbon_aware_long_records_split_and_partial_hours_weigh_by_time(tmp_path: Path) -> None:
    out = grid.convert(
        GRID / "carbon_aware_multi_hour.json",
        "carbon-aware-sdk",
        "lifecycle",
        tmp_path,
        {"westus": "US-MIDW-MISO", "westeurope": "BE"},
    )
    assert grid_values(read_grid(out)) == pytest.approx(
        {
            # one 2-hour record at 08:00 UTC: both its hours get its rating
            ("US-MIDW-MISO", "2026-03-02 08:00:00"): 250.0,
            ("US-MIDW-MISO", "2026-03-02 09:00:00"): 250.0,
            # 09:00 UTC: 150 for 15 min and 120 for 30 min: (150*15 + 120*30) / 45 = 130
            ("BE", "2026-03-02 09:00:00"): 130.0,
        }
    )


def test_unknown_electricity_maps_headers_list_the_columns_found(tmp_path: Path) -> None:
    bad = write_text(
        tmp_path / "DE_2026_hourly.csv",
        "Datetime (UTC),Zone Id,Carbon Intensity (gCO2/kWh)\n2026-03-02 10:00:00,DE,380\n",
    )
    with pytest.raises(grid.GridInputError) as excinfo:
        grid.convert(bad, "electricitymaps", "direct", tmp_path / "raw")
    message = str(excinfo.value)
    assert str(bad) in message
    assert "carbon intensity (direct)" in message
    assert "columns found: Datetime (UTC), Zone Id, Carbon Intensity (gCO2/kWh)" in message
    assert not (tmp_path / "raw" / "grid_intensity_hourly.csv").exists()


def test_unmapped_carbon_aware_location_is_named(tmp_path: Path) -> None:
    with pytest.raises(grid.GridInputError) as excinfo:
        grid.convert(
            GRID / "carbon_aware_multi_hour.json",
            "carbon-aware-sdk",
            "direct",
            tmp_path,
            {"westus": "US-MIDW-MISO"},
        )
    message = str(excinfo.value)
    assert "carbon_aware_multi_hour.json" in message
    assert "key 'location'" in message
    assert "'westeurope'" in message
    assert "'westus'" not in message


def test_conflicting_duplicate_hours_are_named_identical_ones_collapse(tmp_path: Path) -> None:
    header = (
        "Datetime (UTC),Country,Zone name,Zone id,Carbon intensity gCO₂eq/kWh (direct),"
        "Carbon intensity gCO₂eq/kWh (Life cycle)\n"
    )
    same = write_text(
        tmp_path / "same.csv",
        header + "2026-03-02 10:00:00,France,France,FR,21.0,38.0\n"
        "2026-03-02 10:00:00,France,France,FR,21.0,38.0\n",
    )
    out = grid.convert(same, "electricitymaps", "direct", tmp_path / "ok")
    assert grid_values(read_grid(out)) == {("FR", "2026-03-02 10:00:00"): 21.0}
    # Two zones mapped onto one project zone disagree for the same hour.
    clash = write_text(
        tmp_path / "clash.csv",
        header + "2026-03-02 10:00:00,France,France,FR,21.0,38.0\n"
        "2026-03-02 10:00:00,Belgium,Belgium,BE,103.0,140.0\n",
    )
    with pytest.raises(grid.GridInputError) as excinfo:
        grid.convert(clash, "electricitymaps", "direct", tmp_path / "bad", {"BE": "FR"})
    message = str(excinfo.value)
    assert str(clash) in message
    assert "FR 2026-03-02 10:00 (from BE, FR: [21.0, 103.0])" in message


def test_daily_electricity_maps_export_is_refused(tmp_path: Path) -> None:
    daily = write_text(
        tmp_path / "FR_2026_daily.csv",
        "Datetime (UTC),Zone Id,Carbon Intensity gCO₂eq/kWh (direct)\n"
        "2026-03-01 00:00:00,FR,20\n2026-03-02 00:00:00,FR,22\n",
    )
    with pytest.raises(grid.GridInputError, match="not hourly for zone"):
        grid.convert(daily, "electricitymaps", "direct", tmp_path)


# --------------------------------------------------------------------------------------------
# End to end: converted files through dbt.
# --------------------------------------------------------------------------------------------


@pytest.mark.e2e
def test_converted_files_build_and_price_calls_with_the_hourly_grid(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    tabular.convert(GATEWAY / "litellm_spend_logs_iso.csv", LITELLM_MAPPING, raw)
    grid.convert(
        GRID / "carbon_aware_eastus_5min.json",
        "carbon-aware-sdk",
        "direct",
        raw,
        {"eastus": "US"},  # openai-us sits on grid zone US (seeds/datacenter_regions.csv)
    )
    shutil.copy(GATEWAY / "task_events.csv", raw / "task_events.csv")
    db = tmp_path / "warehouse.duckdb"
    env = {
        **os.environ,
        "TASK_WATTS_RAW_DIR": str(raw),
        "TASK_WATTS_DUCKDB_PATH": str(db),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    result = subprocess.run(
        [
            str(DBT),
            "build",
            "--project-dir",
            str(ROOT),
            "--profiles-dir",
            str(ROOT),
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "SELECT call_id, grid_zone, grid_period, grid_gco2e_per_kwh "
            "FROM fct_inference_call_footprint ORDER BY call_id"
        ).fetchall()
    expected_hour = {  # by the hour each call started in (EXPECTED_CALLS)
        "req-001": EASTUS_HOUR_10,
        "req-002": EASTUS_HOUR_10,
        "req-003": EASTUS_HOUR_10,
        "req-004": EASTUS_HOUR_11,
        "req-005": EASTUS_HOUR_11,
        "req-006": EASTUS_HOUR_11,
    }
    assert [r[0] for r in rows] == [c[0] for c in EXPECTED_CALLS]
    for call_id, zone, period, gco2e in rows:
        assert (zone, period) == ("US", "hour"), call_id
        assert gco2e == pytest.approx(expected_hour[call_id], abs=1e-9), call_id
