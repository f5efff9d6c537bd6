"""Disclosures: the carbon.txt v0.5 fragment parses as TOML with the expected shape, and each
model's JSON carries energy per 1k tokens with bounds, method, hardware and region intensities."""

from __future__ import annotations

import json
import tomllib
from datetime import date

import pytest

from python_helpers.outputs.disclosures import (
    DOC_TYPES,
    carbon_txt,
    quarter_end,
    validate_carbon_txt,
    write_disclosures,
)


def card(model, accelerator, quarter, start, method, missing, provider="self_hosted"):
    return {
        "model": model, "model_tier": "large", "provider": provider, "accelerator": accelerator,
        "quarter_label": quarter, "quarter_start": start, "regions": "us-east-1 (US-MIDA-PJM)",
        "calls": 10, "input_tokens": 1000, "output_tokens": 500, "energy_method": method,
        "is_disclosure_missing": missing, "gco2e_location": 4.2,
        "output_tokens_per_accelerator_wh": 900.0, "output_tokens_per_accelerator_wh_low": 600.0,
        "output_tokens_per_accelerator_wh_high": 1300.0,
        "facility_wh_per_1k_tokens": 0.5, "facility_wh_per_1k_tokens_low": 0.3,
        "facility_wh_per_1k_tokens_high": 0.9,
        "gco2e_per_1k_tokens": 0.2, "gco2e_per_1k_tokens_low": 0.12,
        "gco2e_per_1k_tokens_high": 0.36,
    }  # fmt: skip


CARDS = [
    card("qwen3-235b-a22b-fp8", "B200", "2026-Q2", date(2026, 4, 1), "modeled", False),
    card("qwen3-235b-a22b-fp8", "B200", "2026-Q3", date(2026, 7, 1), "modeled", False),
    card("gpt-4o", "vendor", "2026-Q3", date(2026, 7, 1), "estimated", True, provider="openai"),
]
REGIONS = [
    {"model": "qwen3-235b-a22b-fp8", "accelerator": "B200", "quarter_label": "2026-Q3",
     "region": "us-east-1", "grid_zone": "US-MIDA-PJM", "gco2e_per_kwh": 415.8, "facility_wh": 9.0},
    {"model": "gpt-4o", "accelerator": "vendor", "quarter_label": "2026-Q3",
     "region": "openai-us", "grid_zone": "US", "gco2e_per_kwh": 369.5, "facility_wh": 3.0},
]  # fmt: skip


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(2026, 1, 1), date(2026, 3, 31)),
        (date(2026, 4, 1), date(2026, 6, 30)),
        (date(2026, 7, 1), date(2026, 9, 30)),
        (date(2026, 10, 1), date(2026, 12, 31)),
    ],
)
def test_quarter_end(start, end):
    assert quarter_end(start) == end


def test_written_files_have_the_carbon_txt_v05_shape(tmp_path):
    files = write_disclosures(
        tmp_path, CARDS, REGIONS, "https://example.org/ai/", last_updated=date(2026, 11, 28)
    )
    assert sorted(p.name for p in files) == [
        "carbon.txt", "gpt-4o.json", "qwen3-235b-a22b-fp8.json",
    ]  # fmt: skip
    doc = tomllib.loads((tmp_path / "carbon.txt").read_text())
    assert doc["version"] == "0.5"
    assert doc["last_updated"] == date(2026, 11, 28)
    entries = doc["org"]["disclosures"]
    assert len(entries) == 2
    for e in entries:
        assert set(e) == {"doc_type", "url", "valid_until", "title"}
        assert e["doc_type"] == "ai-model-card" and e["doc_type"] in DOC_TYPES
        assert e["url"].startswith("https://example.org/ai/") and e["url"].endswith(".json")
        # data up to 2026-Q3, refreshed quarterly: valid to the end of 2026-Q4
        assert e["valid_until"] == date(2026, 12, 31)
        assert isinstance(e["title"], str) and e["title"]
    assert {e["url"].rsplit("/", 1)[1] for e in entries} == {
        "gpt-4o.json", "qwen3-235b-a22b-fp8.json",
    }  # fmt: skip


def test_model_json_carries_bounds_method_hardware_and_regions(tmp_path):
    write_disclosures(tmp_path, CARDS, REGIONS, "https://example.org/ai", date(2026, 11, 28))
    doc = json.loads((tmp_path / "qwen3-235b-a22b-fp8.json").read_text())
    assert doc["model"] == "qwen3-235b-a22b-fp8"
    assert "facility energy" in doc["boundary"]
    assert [p["quarter_label"] for p in doc["periods"]] == ["2026-Q2", "2026-Q3"]
    q3 = doc["periods"][1]
    assert q3["period_start"] == "2026-07-01" and q3["period_end"] == "2026-09-30"
    assert q3["hardware"]["accelerator"] == "B200"
    assert q3["energy_method"] == "modeled"
    assert q3["facility_wh_per_1k_tokens"] == {"point": 0.5, "low": 0.3, "high": 0.9}
    assert q3["location_gco2e_per_1k_tokens"] == {"point": 0.2, "low": 0.12, "high": 0.36}
    assert q3["regions"] == [
        {"region": "us-east-1", "grid_zone": "US-MIDA-PJM",
         "location_gco2e_per_kwh": 415.8, "facility_wh": 9.0},
    ]  # fmt: skip
    assert doc["periods"][0]["regions"] == []  # no region row was given for Q2
    vendor = json.loads((tmp_path / "gpt-4o.json").read_text())
    assert vendor["periods"][0]["hardware"]["accelerator"] is None
    assert vendor["periods"][0]["is_vendor_disclosure_missing"] is True
    assert vendor["co2_eq_emissions"]["emissions"] == 4.2


def test_carbon_txt_round_trips_quotes():
    text = carbon_txt(
        [{"doc_type": "ai-model-card", "url": "https://x.org/a.json", "title": 'say "hi"'}],
        date(2026, 1, 2),
    )
    assert validate_carbon_txt(text) == []
    assert tomllib.loads(text)["org"]["disclosures"][0]["title"] == 'say "hi"'


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('version = "0.4"\n[org]\ndisclosures = []\n', "version must be"),
        ('version = "0.5"\n', "[org] must hold a disclosures array"),
        ('version = "0.5"\n[org]\ndisclosures = [{ doc_type = "model", url = "https://a" }]\n',
         "doc_type 'model' not accepted"),
        ('version = "0.5"\n[org]\ndisclosures = [{ doc_type = "other", url = "ftp://a" }]\n',
         "url must start"),
        ('version = "0.5"\n[org]\ndisclosures = [{ doc_type = "other", url = "https://a",'
         ' valid_until = "soon" }]\n', "valid_until must be a date"),
        ("version = 0.5 = x", "not TOML"),
    ],
)  # fmt: skip
def test_validator_rejects_malformed_documents(text, problem):
    assert any(problem in p for p in validate_carbon_txt(text))
