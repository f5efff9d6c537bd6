"""Machine-readable disclosures: a JSON document per model and a carbon.txt fragment.

The JSON document carries what a procurement team or a Scope 3 calculation needs from a model
card: energy per 1,000 tokens with bounds, how it was obtained (measured, modeled, estimated),
the hardware, and the grid intensities of the regions that served it, quarter by quarter.

The carbon.txt fragment follows the Green Web Foundation's carbon.txt syntax v0.5 (a TOML file:
``version``, ``last_updated``, and an ``[org]`` table whose ``disclosures`` array lists documents
by ``doc_type``, ``url``, optional ``valid_until`` and ``title``); each model's JSON is listed
with ``doc_type = "ai-model-card"``. Only the shape is produced here: the URLs are where the
organisation will publish the files (``base_url``), which it has to supply.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

SCHEMA = "task-watts/model-energy-disclosure/1"
CARBON_TXT_VERSION = "0.5"
#: doc_type values accepted by carbon.txt v0.5.
DOC_TYPES = (
    "web-page",
    "annual-report",
    "sustainability-page",
    "certificate",
    "csrd-report",
    "ai-model-card",
    "other",
)
BOUNDARY = (
    "facility energy: accelerator + host CPU/DRAM and idle reserve + data-centre overhead (PUE)"
)
_SLUG = re.compile(r"[^a-z0-9._-]+")


def slug(model: str) -> str:
    """A file-name-safe form of a model id."""
    return _SLUG.sub("-", model.lower()).strip("-")


def quarter_end(quarter_start: date) -> date:
    """Last day of the quarter starting on ``quarter_start``."""
    month = quarter_start.month + 3
    year = quarter_start.year + (month - 1) // 12
    return date(year, (month - 1) % 12 + 1, 1) - timedelta(days=1)


def model_disclosure(card_rows: Sequence[dict], region_rows: Sequence[dict]) -> dict:
    """The disclosure document of one model from its model-card rows (``mart_model_efficiency``
    rolled up to quarters by the report).

    ``region_rows`` hold (quarter, accelerator, region, grid_zone, gco2e_per_kwh, facility_wh)
    for the same model: the location-based intensity each serving region was priced with.
    """
    if not card_rows:
        raise ValueError("a disclosure needs at least one model-card row")
    first = card_rows[0]
    periods = []
    for r in sorted(card_rows, key=lambda r: (r["quarter_start"], r["accelerator"])):
        regions = [
            {
                "region": g["region"],
                "grid_zone": g["grid_zone"],
                "location_gco2e_per_kwh": _round(g["gco2e_per_kwh"]),
                "facility_wh": _round(g["facility_wh"]),
            }
            for g in sorted(region_rows, key=lambda g: g["region"])
            if g["quarter_label"] == r["quarter_label"] and g["accelerator"] == r["accelerator"]
        ]
        periods.append(
            {
                "quarter_label": r["quarter_label"],
                "period_start": r["quarter_start"].isoformat(),
                "period_end": quarter_end(r["quarter_start"]).isoformat(),
                "hardware": {
                    "accelerator": None if r["accelerator"] == "vendor" else r["accelerator"],
                    "note": "vendor API: hardware not disclosed"
                    if r["accelerator"] == "vendor"
                    else "self-hosted",
                },
                "energy_method": r["energy_method"],
                "is_vendor_disclosure_missing": bool(r["is_disclosure_missing"]),
                "calls": int(r["calls"]),
                "tokens": {"input": int(r["input_tokens"]), "output": int(r["output_tokens"])},
                "output_tokens_per_accelerator_wh": _bounds(r, "output_tokens_per_accelerator_wh"),
                "facility_wh_per_1k_tokens": _bounds(r, "facility_wh_per_1k_tokens"),
                "location_gco2e_per_1k_tokens": _bounds(r, "gco2e_per_1k_tokens"),
                "regions": regions,
            }
        )
    latest = max(card_rows, key=lambda r: r["quarter_start"])
    return {
        "schema": SCHEMA,
        "model": first["model"],
        "provider": first["provider"],
        "model_tier": first["model_tier"],
        "boundary": BOUNDARY,
        "tokens_counted": "input + output tokens (input includes prefix-cache hits)",
        "emissions_basis": "location-based grid intensity (GHG Protocol Scope 2; SCI)",
        "method": {
            "measured": "accelerator energy reported per call by the serving layer",
            "modeled": "per-token energy coefficients from public benchmarks, batch and cache "
            "adjusted (see seeds/model_energy_coefficients.csv)",
            "estimated": "vendor API with no per-model energy disclosure: tier-based estimate "
            "with wide bounds",
        },
        "periods": periods,
        # Hugging Face model-card style block, as the carbon.txt AI model-card work refers to;
        # here it reports the inference emissions of the latest quarter, not training.
        "co2_eq_emissions": {
            "emissions": _round(latest["gco2e_location"]),
            "source": "task-watts inference telemetry, location-based",
            "training_type": "inference (serving), not training",
            "geographical_location": latest["regions"],
            "hardware_used": latest["accelerator"],
        },
    }


def carbon_txt(entries: Sequence[dict], last_updated: date) -> str:
    """A carbon.txt v0.5 document listing ``entries`` under ``[org] disclosures``.

    Each entry has ``doc_type``, ``url`` and optionally ``valid_until`` (a date) and ``title``.
    """
    lines = [f'version = "{CARBON_TXT_VERSION}"', f"last_updated = {last_updated.isoformat()}", ""]
    lines += ["[org]", "disclosures = ["]
    for e in entries:
        fields = [f"doc_type = {_toml_str(e['doc_type'])}", f"url = {_toml_str(e['url'])}"]
        if e.get("valid_until") is not None:
            fields.append(f"valid_until = {e['valid_until'].isoformat()}")
        if e.get("title"):
            fields.append(f"title = {_toml_str(e['title'])}")
        lines.append("    { " + ", ".join(fields) + " },")
    lines.append("]")
    return "\n".join(lines) + "\n"


def validate_carbon_txt(text: str) -> list[str]:
    """Problems with a carbon.txt v0.5 document (an empty list when it is well formed)."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return [f"not TOML: {exc}"]
    problems = []
    if doc.get("version") != CARBON_TXT_VERSION:
        problems.append(f"version must be {CARBON_TXT_VERSION!r}, got {doc.get('version')!r}")
    if "last_updated" in doc and not isinstance(doc["last_updated"], date):
        problems.append("last_updated must be a date")
    org = doc.get("org")
    if not isinstance(org, dict) or not isinstance(org.get("disclosures"), list):
        return [*problems, "[org] must hold a disclosures array"]
    for i, d in enumerate(org["disclosures"]):
        if not isinstance(d, dict):
            problems.append(f"disclosure {i} is not a table")
            continue
        if d.get("doc_type") not in DOC_TYPES:
            problems.append(f"disclosure {i}: doc_type {d.get('doc_type')!r} not accepted")
        if not str(d.get("url", "")).startswith(("http://", "https://")):
            problems.append(f"disclosure {i}: url must start with http:// or https://")
        if "valid_until" in d and not isinstance(d["valid_until"], date):
            problems.append(f"disclosure {i}: valid_until must be a date")
        if "title" in d and not isinstance(d["title"], str):
            problems.append(f"disclosure {i}: title must be a string")
    return problems


def write_disclosures(
    out_dir: Path,
    card_rows: Sequence[dict],
    region_rows: Sequence[dict],
    base_url: str,
    last_updated: date,
) -> list[Path]:
    """Write ``<model>.json`` per model and ``carbon.txt`` into ``out_dir``; return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written, entries = [], []
    for model in sorted({r["model"] for r in card_rows}):
        rows = [r for r in card_rows if r["model"] == model]
        doc = model_disclosure(rows, [g for g in region_rows if g["model"] == model])
        path = out_dir / f"{slug(model)}.json"
        path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        written.append(path)
        latest = max(r["quarter_start"] for r in rows)
        entries.append(
            {
                "doc_type": "ai-model-card",
                "url": base_url.rstrip("/") + "/" + path.name,
                # Refreshed quarterly: valid until the end of the quarter after the data.
                "valid_until": quarter_end(quarter_end(latest) + timedelta(days=1)),
                "title": f"Inference energy and carbon disclosure: {model}",
            }
        )
    text = carbon_txt(entries, last_updated)
    problems = validate_carbon_txt(text)
    if problems:
        raise ValueError("generated carbon.txt is malformed: " + "; ".join(problems))
    path = out_dir / "carbon.txt"
    path.write_text(text, encoding="utf-8")
    return [*written, path]


def _bounds(row: dict, column: str) -> dict:
    return {
        "point": _round(row[column]),
        "low": _round(row[f"{column}_low"]),
        "high": _round(row[f"{column}_high"]),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else float(f"{float(value):.6g}")


def _toml_str(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid TOML basic string
