"""The dbt YAML layout: one YAML per public model, beside it; no description written twice.

* Every public model (a .sql/.py file under models/marts/) has a YAML file of the same stem
  beside it that describes it; folder YAMLs (``_*.yml``) describe no model.
* No description longer than ``MIN_CHARS`` characters is written word for word in two places
  of models/**/*.yml: a meaning shared by several columns, measures or dimensions is a
  ``{% docs %}`` block (models/docs/) referenced with ``doc()``.
* Every ``doc()`` referenced exists, and every doc block is referenced.

Plain file reads, no dbt run: ``dbt parse`` is what renders the blocks.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "models"
MARTS = MODELS / "marts"
#: Shorter descriptions ("Quarter label.", "One sentence for the report.") may repeat.
MIN_CHARS = 40
DOC_REF = re.compile(r"""\bdoc\(\s*["'](\w+)["']\s*\)""")
DOC_CALL = re.compile(r"{{-?\s*doc\([^)]*\)\s*-?}}")
DOC_BLOCK = re.compile(r"{%-?\s*docs\s+(\w+)\s*-?%}")


def yaml_files() -> list[Path]:
    return sorted(MODELS.rglob("*.yml"))


def descriptions(node: object, where: str) -> Iterator[tuple[str, str]]:
    """(description, where) for every ``description:`` in a YAML document, whatever its kind
    (model, column, unit test, semantic model, entity, dimension, measure, metric, saved query,
    source, exposure)."""
    if isinstance(node, dict):
        here = f"{where}/{node['name']}" if isinstance(node.get("name"), str) else where
        for key, value in node.items():
            if key == "description" and isinstance(value, str):
                yield value, here
            else:
                yield from descriptions(value, here)
    elif isinstance(node, list):
        for item in node:
            yield from descriptions(item, where)


def repeated_descriptions(files: list[Path], root: Path = ROOT) -> dict[str, list[str]]:
    """Description text written out (doc() calls removed, whitespace-normalised, longer than
    MIN_CHARS) -> the places it is written, for texts written in more than one place."""
    places: dict[str, list[str]] = defaultdict(list)
    for path in files:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for text, where in descriptions(document, str(path.relative_to(root))):
            normalised = " ".join(DOC_CALL.sub(" ", text).split())
            if len(normalised) > MIN_CHARS:
                places[normalised].append(where)
    return {text: where for text, where in places.items() if len(where) > 1}


def doc_blocks() -> dict[str, list[Path]]:
    blocks: dict[str, list[Path]] = defaultdict(list)
    for path in sorted(MODELS.rglob("*.md")):
        for name in DOC_BLOCK.findall(path.read_text(encoding="utf-8")):
            blocks[name].append(path)
    return blocks


def doc_references() -> dict[str, list[Path]]:
    references: dict[str, list[Path]] = defaultdict(list)
    for path in yaml_files():
        for name in DOC_REF.findall(path.read_text(encoding="utf-8")):
            references[name].append(path)
    return references


def public_model_files() -> list[Path]:
    return sorted(p for p in MARTS.rglob("*") if p.suffix in (".sql", ".py"))


# --------------------------------------------------------------------------------------------
# One YAML per public model, beside it.
# --------------------------------------------------------------------------------------------


def test_there_are_public_models() -> None:
    assert len(public_model_files()) >= 11


@pytest.mark.parametrize("model_file", public_model_files(), ids=lambda p: p.stem)
def test_public_model_has_its_own_yaml_beside_it(model_file: Path) -> None:
    own = model_file.with_suffix(".yml")
    assert own.exists(), f"{model_file.relative_to(ROOT)} has no {own.name} beside it"
    spec = yaml.safe_load(own.read_text(encoding="utf-8"))
    described = [m["name"] for m in spec.get("models", [])]
    assert described == [model_file.stem], (own.name, described)
    (model,) = spec["models"]
    assert model.get("description", "").strip(), model_file.stem
    assert model.get("columns"), model_file.stem


def test_yaml_beside_a_model_describes_only_that_model() -> None:
    """A per-model YAML holds that model's things; folder YAMLs (_*.yml) describe no model."""
    stems = {p.stem for p in public_model_files()}
    for path in sorted(MARTS.rglob("*.yml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if path.name.startswith("_"):
            assert not spec.get("models"), f"{path.name} is a folder YAML but describes models"
        else:
            assert path.stem in stems, f"{path.relative_to(ROOT)} sits beside no model file"
            for test in spec.get("unit_tests", []):
                assert test["model"] == path.stem, (path.name, test["name"])


def test_semantic_models_sit_beside_their_model() -> None:
    """A semantic model on a mart lives in that mart's YAML (seeds have no YAML of their own
    here, so the folder YAML may hold a semantic model on a seed)."""
    for path in sorted(MARTS.rglob("*.yml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for semantic_model in spec.get("semantic_models", []):
            target = re.fullmatch(r"ref\(['\"](\w+)['\"]\)", semantic_model["model"])
            assert target, semantic_model["name"]
            if path.name.startswith("_"):
                assert not (MARTS / f"{target[1]}.yml").exists(), (path.name, target[1])
            else:
                assert target[1] == path.stem, (path.name, semantic_model["name"])


# --------------------------------------------------------------------------------------------
# No description is written twice.
# --------------------------------------------------------------------------------------------


def test_no_description_is_written_twice_anywhere_in_models() -> None:
    """No column, model, measure or metric text is written twice in models/: a shared meaning
    is a doc block."""
    repeated = repeated_descriptions(yaml_files())
    assert not repeated, "\n".join(f"{text!r}: {places}" for text, places in repeated.items())


def test_repeated_descriptions_are_detected(tmp_path: Path) -> None:
    """The check itself: the same long text in two files is reported, a short one is not."""
    text = "Facility energy of every call of the feature's tasks in the quarter, Wh."
    for name in ("a", "b"):
        (tmp_path / f"{name}.yml").write_text(
            yaml.safe_dump(
                {
                    "models": [
                        {
                            "name": name,
                            "description": "Short.",
                            "columns": [
                                {"name": "facility_wh", "description": text},
                                # only a doc() reference: nothing written out, not repeated
                                {"name": "water_ml", "description": '{{ doc("water_ml") }}'},
                            ],
                        }
                    ]
                }
            )
        )
    repeated = repeated_descriptions(sorted(tmp_path.glob("*.yml")), tmp_path)
    assert list(repeated) == [text]
    assert len(repeated[text]) == 2


# --------------------------------------------------------------------------------------------
# Doc blocks.
# --------------------------------------------------------------------------------------------


def test_every_doc_reference_exists() -> None:
    blocks = doc_blocks()
    missing = {name: [str(p.relative_to(ROOT)) for p in paths]
               for name, paths in doc_references().items() if name not in blocks}  # fmt: skip
    assert not missing, f"doc() of undefined blocks: {missing}"


def test_every_doc_block_is_defined_once_and_used() -> None:
    blocks, references = doc_blocks(), doc_references()
    assert blocks, "no doc blocks under models/"
    defined_twice = {name: paths for name, paths in blocks.items() if len(paths) > 1}
    assert not defined_twice, defined_twice
    unused = sorted(set(blocks) - set(references))
    assert not unused, f"doc blocks nothing references: {unused}"


# --------------------------------------------------------------------------------------------
# Exposures name what their application reads.
# --------------------------------------------------------------------------------------------


def _exposure_refs(name: str) -> set[str]:
    spec = yaml.safe_load((MARTS / "_marts__exposures.yml").read_text(encoding="utf-8"))
    (exposure,) = [e for e in spec["exposures"] if e["name"] == name]
    return set(re.findall(r"ref\('(\w+)'\)", " ".join(exposure["depends_on"])))


def _relations_read(source: str) -> set[str]:
    """Tables a module's SQL reads: every `from <name>` of a mart or fact."""
    return set(re.findall(r"\bfrom\s+((?:mart|fct)_\w+)", source))


def test_the_scorecard_exposure_names_exactly_what_the_scorecard_reads() -> None:
    source = (ROOT / "python_helpers" / "outputs" / "scorecard.py").read_text(encoding="utf-8")
    assert _exposure_refs("task_watts_scorecard") == _relations_read(source)


def test_the_report_exposure_names_exactly_what_the_report_reads() -> None:
    source = (ROOT / "python_helpers" / "outputs" / "report" / "data.py").read_text(
        encoding="utf-8"
    )
    assert _exposure_refs("task_watts_roadmap_report") == _relations_read(source)
