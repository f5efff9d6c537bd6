"""The preflight: every seed row a new raw folder needs, named with its file and columns."""

from __future__ import annotations

from pathlib import Path

import pytest

from python_helpers.ops.preflight import find_gaps, main, unused_hourly_zones

CALLS_HEADER = (
    "call_id,task_id,started_at,ended_at,model,provider,region,gpu_type,gpu_count,batch_size,"
    "input_tokens,cached_input_tokens,output_tokens,status"
)
# Row by row, against the seeds as shipped:
#  c1 known model, GPU, region, deployment - nothing missing;
#  c2 a model with no coefficient row (B200);
#  c3, c4 a GPU no seed knows (MI300X): no coefficient row for (llama, MI300X), no accelerator;
#  c5 a region no seed knows;
#  c6 us-central1 in 2019: its grid zone has no annual figure at or before 2019;
#  c7 a self-hosted deployment (qwen3-32b, B200, europe-west1) not declared, no batch size.
CALLS = [
    "c1,t1,2026-07-01T10:00:00,2026-07-01T10:00:02,qwen3-32b,self_hosted,us-central1,B200,1,8,10,0,5,ok",
    "c2,t1,2026-07-01T10:00:00,2026-07-01T10:00:02,mystery-9b,self_hosted,us-central1,B200,1,8,10,0,5,ok",
    "c3,t1,2026-07-01T10:00:00,2026-07-01T10:00:02,llama-3.1-8b-instruct,self_hosted,us-central1,MI300X,1,8,10,0,5,ok",
    "c4,t1,2026-07-01T10:00:00,2026-07-01T10:00:02,llama-3.1-8b-instruct,self_hosted,us-central1,MI300X,1,8,10,0,5,ok",
    "c5,t1,2026-07-01T10:00:00,2026-07-01T10:00:02,gpt-4o,openai,mars-north-1,,,,10,0,5,ok",
    "c6,t1,2019-07-01T10:00:00,2019-07-01T10:00:02,qwen3-32b,self_hosted,us-central1,B200,1,8,10,0,5,ok",
    "c7,t1,2026-07-01T10:00:00,2026-07-01T10:00:02,qwen3-32b,self_hosted,europe-west1,B200,1,,10,0,5,ok",
]  # fmt: skip
EVENTS = [
    "event_id,task_id,feature,event_type,event_at,user_id,quality_score",
    "e1,t1,chat_answer,started,2026-07-01T10:00:00,u1,",
    "e2,t1,teleport,completed,2026-07-01T10:00:05,u1,",
]


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    (tmp_path / "inference_calls.csv").write_text("\n".join([CALLS_HEADER, *CALLS]) + "\n")
    (tmp_path / "task_events.csv").write_text("\n".join(EVENTS) + "\n")
    return tmp_path


def test_preflight_lists_every_missing_seed_row(raw: Path) -> None:
    gaps, counts = find_gaps(raw)
    assert counts == {"calls": 7, "events": 2}
    assert {(g.seed, g.key, g.waiting, g.blocking) for g in gaps} == {
        ("model_energy_coefficients", "model='mystery-9b', gpu_type='B200'", "1 calls", True),
        ("model_energy_coefficients", "model='llama-3.1-8b-instruct', gpu_type='MI300X'",
         "2 calls", True),
        ("accelerators", "gpu_type='MI300X'", "2 calls", True),
        ("datacenter_regions", "region='mars-north-1'", "1 calls", True),
        ("grid_carbon_intensity", "grid_zone='US-MIDW-MISO', a year at or before 2019",
         "1 calls in us-central1", True),
        ("deployment_batch_sizes", "model='qwen3-32b', gpu_type='B200', region='europe-west1'",
         "1 calls with no batch size, else priced at var assumed_batch_size 8 (range 1-64)",
         False),
        ("feature_catalogue", "feature='teleport'", "1 events", True),
    }  # fmt: skip


def test_preflight_exit_code_and_message_name_the_seed_file_and_columns(
    raw: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--raw-dir", str(raw)]) == 1
    out = capsys.readouterr().out
    assert "MISSING: seeds/accelerators.csv needs a row for gpu_type='MI300X' (2 calls)" in out
    assert "columns: gpu_type, tdp_w, idle_w," in out
    assert "optional: seeds/deployment_batch_sizes.csv" in out


def test_preflight_passes_a_folder_the_seeds_cover(tmp_path: Path) -> None:
    (tmp_path / "inference_calls.csv").write_text("\n".join([CALLS_HEADER, CALLS[0]]) + "\n")
    (tmp_path / "task_events.csv").write_text("\n".join(EVENTS[:2]) + "\n")
    assert main(["--raw-dir", str(tmp_path)]) == 0


def test_an_hourly_grid_zone_no_call_uses_is_named(tmp_path: Path, capsys) -> None:
    """us-central1 is on zone US-MIDW-MISO (seeds/datacenter_regions.csv), so FR hours price
    nothing and are named; the zone the calls use is not."""
    (tmp_path / "inference_calls.csv").write_text(CALLS_HEADER + "\n" + CALLS[0] + "\n")
    (tmp_path / "grid_intensity_hourly.csv").write_text(
        "grid_zone,hour_start_at,gco2e_per_kwh,source\n"
        "FR,2026-07-01T10:00:00,40,test\nFR,2026-07-01T11:00:00,41,test\n"
        "US-MIDW-MISO,2026-07-01T10:00:00,500,test\n"
    )
    assert unused_hourly_zones(tmp_path) == {"FR": 2}
    assert main(["--raw-dir", str(tmp_path)]) == 0
    assert "zones FR (2 hours) match no call's region" in capsys.readouterr().out
