"""Cross-check the coefficient seeds against EcoLogits, ML.ENERGY and published per-query figures.

Prices a handful of probe calls through the real dbt project (seeds, staging, pricing and the
footprint formula, in a throwaway DuckDB file) and sets each beside what the independent
sources say for the same call:

* ``per_1k``: 1,000 output tokens, no input, at the batch ML.ENERGY measured (self-hosted) or
  the coefficient's reference batch (vendor APIs);
* ``typical``: the typical query of the published per-query figures (100 in / 500 out, 10 s).

Run ``task-watts crosscheck --out docs/coefficient-crosscheck.md`` to regenerate
the published table; ``make test`` checks the committed table is current and holds the seeds to
the agreement rules documented there.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

from python_helpers.project import PROJECT_ROOT
from python_helpers.tools.reference_figures import (
    ECOLOGITS_AGREEMENT_FACTOR,
    ECOLOGITS_MODELS,
    ML_ENERGY_COMMIT,
    ML_ENERGY_MEASUREMENTS,
    PER_QUERY_ANCHORS,
    TYPICAL_INPUT_TOKENS,
    TYPICAL_LATENCY_S,
    TYPICAL_OUTPUT_TOKENS,
)
from python_helpers.tools.sample_workload import SAMPLE_MARKER

PROBE_DAY = "2026-08-04"
PER_1K_LATENCY_S = 20.0


@dataclass(frozen=True)
class Probe:
    """One call to price: which model, where, and the size of the call."""

    kind: str  # per_1k or typical
    model: str
    provider: str
    region: str
    gpu_type: str | None
    gpu_count: int | None
    batch_size: int | None
    input_tokens: int
    output_tokens: int
    latency_s: float

    @property
    def call_id(self) -> str:
        return f"probe_{self.kind}_{self.model}"


@dataclass(frozen=True)
class Priced:
    """The project's figures for one probe, read from fct_inference_call_footprint."""

    accelerator_wh: float
    facility_wh: float
    facility_wh_low: float
    facility_wh_high: float


def _read_seed(project: Path, name: str) -> list[dict[str, str]]:
    with (project / "seeds" / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def build_probes(project: Path = PROJECT_ROOT) -> list[Probe]:
    """Two probes per model in the coefficient seed, served where the seeds say it runs."""
    deployments = _read_seed(project, "deployment_batch_sizes")
    regions = _read_seed(project, "datacenter_regions")
    measured_batch = {m.model: m.batch_size for m in ML_ENERGY_MEASUREMENTS}
    probes: list[Probe] = []
    for coef in _read_seed(project, "model_energy_coefficients"):
        model, provider = coef["model"], coef["provider"]
        if provider == "self_hosted":
            region = next(d["region"] for d in deployments if d["model"] == model)
            gpu_type, gpu_count = coef["gpu_type"], int(coef["gpus_per_replica"])
            batch: int | None = measured_batch.get(model, int(coef["reference_batch_size"]))
        else:
            region = next(r["region"] for r in regions if r["operator"] == provider)
            gpu_type, gpu_count, batch = None, None, None
        common = (model, provider, region, gpu_type, gpu_count, batch)
        probes.append(Probe("per_1k", *common, 0, 1000, PER_1K_LATENCY_S))
        probes.append(
            Probe(
                "typical", *common, TYPICAL_INPUT_TOKENS, TYPICAL_OUTPUT_TOKENS, TYPICAL_LATENCY_S
            )
        )
    return probes


def _write_raw(probes: list[Probe], raw_dir: Path) -> None:
    """The probes as contract-shaped raw files: one completed task per call."""
    raw_dir.mkdir(parents=True, exist_ok=True)
    start = f"{PROBE_DAY} 12:00:00"
    with (raw_dir / "inference_calls.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(
            ["call_id", "task_id", "started_at", "ended_at", "model", "provider", "region",
             "gpu_type", "gpu_count", "batch_size", "input_tokens", "cached_input_tokens",
             "output_tokens", "status", "measured_energy_j"]
        )  # fmt: skip
        for p in probes:
            end = f"{PROBE_DAY} 12:{int(p.latency_s) // 60:02d}:{p.latency_s % 60:06.3f}"
            writer.writerow(
                [p.call_id, p.call_id, start, end, p.model, p.provider, p.region,
                 p.gpu_type or "", p.gpu_count or "", p.batch_size or "", p.input_tokens, 0,
                 p.output_tokens, "ok", ""]
            )  # fmt: skip
    with (raw_dir / "task_events.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["event_id", "task_id", "feature", "event_type", "event_at", "user_id",
                         "quality_score"])  # fmt: skip
        for p in probes:
            writer.writerow([f"{p.call_id}_s", p.call_id, "chat_answer", "started",
                             f"{PROBE_DAY} 11:59:59", "probe", ""])  # fmt: skip
            writer.writerow([f"{p.call_id}_c", p.call_id, "chat_answer", "completed",
                             f"{PROBE_DAY} 12:05:00", "probe", ""])  # fmt: skip
    # Generated probes with no real user: they may build under the public demo key.
    (raw_dir / SAMPLE_MARKER).write_text("task-watts crosscheck probes\n", encoding="utf-8")


def price_probes(
    probes: list[Probe], work_dir: Path, project: Path = PROJECT_ROOT
) -> dict[str, Priced]:
    """Build the project on the probes alone (models only) and read their footprints."""
    raw_dir, db_path = work_dir / "raw", work_dir / "crosscheck.duckdb"
    _write_raw(probes, raw_dir)
    env = {**os.environ, "TASK_WATTS_RAW_DIR": str(raw_dir), "TASK_WATTS_DUCKDB_PATH": str(db_path)}
    dbt = Path(sys.executable).with_name("dbt")
    command = [
        str(dbt), "build", "--select", "+fct_inference_call_footprint",
        "--exclude-resource-type", "test", "unit_test",
        "--target-path", str(work_dir / "target"), "--log-path", str(work_dir / "logs"),
        "--quiet", "--no-use-colors",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"dbt build of the probe calls failed:\n{done.stdout}{done.stderr}")
    with duckdb.connect(str(db_path), read_only=True) as con:
        rows = con.execute(
            "select call_id, accelerator_wh, facility_wh, facility_wh_low, facility_wh_high "
            "from fct_inference_call_footprint"
        ).fetchall()
    return {row[0]: Priced(*row[1:]) for row in rows}


def ecologits_wh(model: str, output_tokens: int, latency_s: float) -> tuple[float, float] | None:
    """EcoLogits' [min, max] facility Wh for a request, or None for a model it does not know."""
    if model not in ECOLOGITS_MODELS:
        return None
    from ecologits.tracers.utils import llm_impacts

    provider, name = ECOLOGITS_MODELS[model]
    impacts = llm_impacts(
        provider=provider,
        model_name=name,
        output_token_count=output_tokens,
        request_latency=latency_s,
        electricity_mix_zone="USA",
    )
    energy = impacts.energy.value
    low, high = getattr(energy, "min", energy), getattr(energy, "max", energy)
    return float(low) * 1000, float(high) * 1000


@dataclass(frozen=True)
class ModelRow:
    """Everything the published table says about one model."""

    model: str
    provider: str
    per_1k: Priced
    typical: Priced
    ecologits_typical: tuple[float, float] | None
    ml_energy_wh_per_1k: float | None
    ml_energy_setup: str | None


def cross_check(work_dir: Path, project: Path = PROJECT_ROOT) -> list[ModelRow]:
    """Price the probes with ``project``'s seeds and gather the independent figures beside them."""
    probes = build_probes(project)
    priced = price_probes(probes, work_dir, project)
    measurements = {m.model: m for m in ML_ENERGY_MEASUREMENTS}
    rows = []
    for probe in (p for p in probes if p.kind == "per_1k"):
        m = measurements.get(probe.model)
        rows.append(
            ModelRow(
                model=probe.model,
                provider=probe.provider,
                per_1k=priced[probe.call_id],
                typical=priced[f"probe_typical_{probe.model}"],
                ecologits_typical=ecologits_wh(
                    probe.model, TYPICAL_OUTPUT_TOKENS, TYPICAL_LATENCY_S
                ),
                ml_energy_wh_per_1k=m.wh_per_1k_tokens if m else None,
                ml_energy_setup=(
                    f"{m.joules_per_token} J/token, {m.gpu_count}x {m.gpu_type}, batch "
                    f"{m.batch_size} (`{m.source_file}`)"
                    if m
                    else None
                ),
            )
        )
    return rows


def _priced_span(priced: Priced) -> str:
    """Central facility Wh with its bounds, as the table prints it."""
    return f"{priced.facility_wh:.4f} ({priced.facility_wh_low:.4f}-{priced.facility_wh_high:.4f})"


def render(rows: list[ModelRow]) -> str:
    anchors = "; ".join(f"{a.name} {a.wh} Wh" for a in PER_QUERY_ANCHORS)
    lines = [
        "# Coefficient cross-check",
        "",
        "Generated by `task-watts crosscheck --out docs/coefficient-crosscheck.md`;"
        " `make test` fails when this file is stale or a rule below is broken. Each figure is the",
        "project's price for a probe call built through the real dbt project (seeds, pricing and",
        "the footprint formula), beside what independent sources say for the same call.",
        "",
        f"- **Per 1k output tokens**: 1,000 output tokens, no input, {PER_1K_LATENCY_S:.0f} s,"
        " at the batch ML.ENERGY measured (self-hosted) or the coefficient's reference batch"
        " (vendor).",
        f"- **Typical prompt**: {TYPICAL_INPUT_TOKENS} input + {TYPICAL_OUTPUT_TOKENS} output"
        f" tokens, {TYPICAL_LATENCY_S:.0f} s (Epoch AI's typical query), same batch.",
        "- Facility Wh = accelerator x host overhead x PUE of the region the seeds serve it from;"
        " central (low-high bounds).",
        f"- **EcoLogits**: `ecologits` 0.11.1 `llm_impacts` for the same output tokens and latency,"
        f" zone USA (its own PUE and server model). Agreement rule: the project's central value"
        f" within {ECOLOGITS_AGREEMENT_FACTOR:g}x of EcoLogits' range, and the ranges overlap.",
        f"- **ML.ENERGY**: the measurement the seed cites ({ML_ENERGY_COMMIT}); rule: the"
        " project's accelerator Wh per 1k output tokens at that setup within 1 %.",
        f"- **Published per-query figures** (GPT-4o class): {anchors}. Rule: for vendor models the"
        " typical prompt's central value lies within the anchors' span and its bounds contain"
        " every anchor.",
        "",
        "| model | per 1k output tokens, facility Wh | typical prompt, facility Wh |"
        " EcoLogits, typical prompt Wh | ML.ENERGY measured, accelerator Wh/1k |"
        " project accelerator Wh/1k |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        eco = (
            "not modelled"
            if r.ecologits_typical is None
            else (f"{r.ecologits_typical[0]:.4f}-{r.ecologits_typical[1]:.4f}")
        )
        measured = (
            "n/a (vendor API)"
            if r.ml_energy_wh_per_1k is None
            else f"{r.ml_energy_wh_per_1k:.5f} ({r.ml_energy_setup})"
        )
        lines.append(
            f"| {r.model} | {_priced_span(r.per_1k)} | {_priced_span(r.typical)}"
            f" | {eco} | {measured} | {r.per_1k.accelerator_wh:.5f} |"
        )
    lines += [
        "",
        "Qwen3 models are not in EcoLogits; their check is the ML.ENERGY measurement they cite.",
        "A vendor API's per-token energy is never disclosed: those rows are calibrated to the"
        " published per-query figures (see `seeds/model_energy_coefficients.csv`, notes).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the Markdown table here (else stdout)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="task-watts-crosscheck-") as tmp:
        text = render(cross_check(Path(tmp)))
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        print(text)


if __name__ == "__main__":
    main()
