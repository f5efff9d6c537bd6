"""The coefficient seeds against independent sources: EcoLogits, ML.ENERGY, published figures.

The probe calls are priced through the real dbt project (`task-watts crosscheck` builds it
on them in a throwaway DuckDB file). The figures they are held to come from elsewhere: EcoLogits
computes its own estimate, and ML.ENERGY measurements and per-query figures are hand-copied in
python_helpers.tools.reference_figures with their citations. A second build on a copy of the project
whose coefficient rows drifted 2x (up or down) must break a rule for every model.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from python_helpers.tools.crosscheck import ModelRow, cross_check, render
from python_helpers.tools.reference_figures import (
    ECOLOGITS_AGREEMENT_FACTOR,
    ML_ENERGY_MEASUREMENTS,
    PER_QUERY_ANCHORS,
)

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED_TABLE = ROOT / "docs" / "coefficient-crosscheck.md"
ENERGY_COLUMNS = [
    f"wh_per_1k_{kind}_tokens{bound}"
    for kind in ("prefill", "decode")
    for bound in ("", "_low", "_high")
]


def rule_violations(rows: list[ModelRow]) -> dict[str, list[str]]:
    """Model -> the agreement rules its figures break (empty when all hold)."""
    broken: dict[str, list[str]] = {r.model: [] for r in rows}
    measured = {m.model: m for m in ML_ENERGY_MEASUREMENTS}
    lowest = min(a.wh for a in PER_QUERY_ANCHORS)
    highest = max(a.wh for a in PER_QUERY_ANCHORS)
    for r in rows:
        if r.model in measured:
            # J per token x 1000 tokens / 3600 J per Wh, by hand from the published figure.
            expected = measured[r.model].joules_per_token * 1000 / 3600
            if abs(r.per_1k.accelerator_wh - expected) > 0.01 * expected:
                broken[r.model].append(
                    f"accelerator {r.per_1k.accelerator_wh:.5f} Wh/1k vs ML.ENERGY {expected:.5f}"
                )
        if r.ecologits_typical is not None:
            eco_low, eco_high = r.ecologits_typical
            central = r.typical.facility_wh
            if (
                not eco_low / ECOLOGITS_AGREEMENT_FACTOR
                <= central
                <= (eco_high * ECOLOGITS_AGREEMENT_FACTOR)
            ):
                broken[r.model].append(f"typical {central:.4f} Wh outside 3x of EcoLogits")
            if r.typical.facility_wh_high < eco_low or r.typical.facility_wh_low > eco_high:
                broken[r.model].append("bounds do not overlap EcoLogits' range")
        if r.provider != "self_hosted":
            if not lowest <= r.typical.facility_wh <= highest:
                broken[r.model].append(
                    f"typical {r.typical.facility_wh:.4f} Wh outside the published "
                    f"{lowest}-{highest} Wh"
                )
            if not r.typical.facility_wh_low <= lowest or not r.typical.facility_wh_high >= highest:
                broken[r.model].append("bounds do not contain every published per-query figure")
    return broken


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> list[ModelRow]:
    return cross_check(tmp_path_factory.mktemp("crosscheck"))


def test_every_model_agrees_with_its_independent_sources(rows: list[ModelRow]) -> None:
    assert {r.model for r in rows} >= {m.model for m in ML_ENERGY_MEASUREMENTS}
    assert rule_violations(rows) == {r.model: [] for r in rows}


def test_ecologits_is_consulted_for_the_models_it_knows(rows: list[ModelRow]) -> None:
    known = {r.model for r in rows if r.ecologits_typical is not None}
    assert known == {"gpt-4o", "claude-sonnet-4", "llama-3.1-8b-instruct"}


def test_published_table_is_the_generated_one(rows: list[ModelRow]) -> None:
    assert PUBLISHED_TABLE.read_text(encoding="utf-8") == render(rows), (
        "docs/coefficient-crosscheck.md is stale: run "
        "task-watts crosscheck --out docs/coefficient-crosscheck.md"
    )


def _project_copy(destination: Path) -> Path:
    """The dbt project's own files (no target/, no virtualenv), to edit a seed safely."""
    destination.mkdir()
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(ROOT / name, destination / name)
    for folder in ("models", "macros", "seeds", "tests", "python_helpers"):
        shutil.copytree(
            ROOT / folder, destination / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    return destination


def test_a_row_drifting_2x_breaks_a_rule(tmp_path: Path) -> None:
    project = _project_copy(tmp_path / "project")
    seed = project / "seeds" / "model_energy_coefficients.csv"
    with seed.open(newline="", encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    # Every other model doubles, the rest halve: one build exercises both directions.
    for i, row in enumerate(table):
        for column in ENERGY_COLUMNS:
            row[column] = str(float(row[column]) * (2.0 if i % 2 == 0 else 0.5))
    with seed.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(table[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(table)

    drifted = rule_violations(cross_check(tmp_path / "work", project))

    assert all(drifted.values()), f"drift went unnoticed for: {drifted}"
