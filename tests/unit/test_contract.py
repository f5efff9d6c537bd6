"""The raw contract is declared once, and its two halves agree with each other.

Columns: the staging models' YAML (``config.meta.contract``); row rules: the
``telemetry_row_rules`` var. These checks read the files directly (not through
python_helpers.ops.contract) and hold the declarations to what both readers assume.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from python_helpers.ops.contract import CONTRACTS, ROW_KEY, row_rules

ROOT = Path(__file__).resolve().parents[2]
STAGING = yaml.safe_load(
    (ROOT / "models" / "staging" / "telemetry" / "_telemetry__models.yml").read_text()
)
VARS = yaml.safe_load((ROOT / "dbt_project.yml").read_text())["vars"]
INPUTS = {"inference_calls": "stg_telemetry__inference_calls",
          "task_events": "stg_telemetry__task_events"}  # fmt: skip


def staging_columns(model: str) -> list[dict]:
    (spec,) = [m for m in STAGING["models"] if m["name"] == model]
    return spec["columns"]


def contract_meta(column: dict) -> dict | None:
    return (column.get("config") or {}).get("meta", {}).get("contract")


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_a_column_dbt_requires_is_one_the_gate_requires(name: str) -> None:
    """satisfies_row_rules fails the build on an empty column that is neither nullable nor
    optional; the gate must block such a day first, and require nothing more."""
    gate_requires = {spec.name: spec.not_null for spec in CONTRACTS[name]}
    checked = 0
    for column in staging_columns(INPUTS[name]):
        rules = contract_meta(column)
        if rules is None or "key_id_of" in rules:
            continue
        dbt_requires = not rules.get("nullable", False) and not rules.get("optional", False)
        assert gate_requires[rules.get("raw_name", column["name"])] == dbt_requires, column
        checked += 1
    assert checked == len(gate_requires) > 0


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_the_readers_see_the_declared_columns_in_order(name: str) -> None:
    declared = [
        (contract_meta(c) or {}).get("raw_name", c["name"])
        for c in staging_columns(INPUTS[name])
        if contract_meta(c) is not None and "key_id_of" not in contract_meta(c)
    ]
    assert [spec.name for spec in CONTRACTS[name]] == declared
    assert ROW_KEY[name] in declared


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_every_row_rule_names_a_contract_column_and_a_reason(name: str) -> None:
    staged = {c["name"] for c in staging_columns(INPUTS[name]) if contract_meta(c) is not None}
    declared = VARS["telemetry_row_rules"][name]
    for rule in declared["ranges"]:
        assert set(rule["columns"]) <= staged, rule
        assert ("min" in rule) <= ("below" in rule) and ("max" in rule) <= ("above" in rule), rule
    for pair in declared["pairs"]:
        other = pair.get("at_most", pair.get("at_least"))
        assert {pair["column"], other} <= staged, pair
        assert ("at_most" in pair) != ("at_least" in pair), pair
        assert pair["reason"].isidentifier(), pair


def test_a_bound_named_by_a_var_follows_that_var_and_its_override() -> None:
    tokens = [r for r in row_rules("inference_calls").ranges if r.column == "output_tokens"]
    assert [r.maximum for r in tokens] == [float(VARS["max_tokens_per_call"])]
    overridden = row_rules("inference_calls", {"max_tokens_per_call": 123})
    assert {r.maximum for r in overridden.ranges if r.column.endswith("_tokens")} == {123.0}
