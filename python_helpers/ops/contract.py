"""The raw telemetry contract, read from where the dbt project declares it.

* Its **columns** are the two staging models' columns that carry ``config.meta.contract``
  (``models/staging/telemetry/_telemetry__models.yml``): name, ``data_type``, and how a raw
  value is read (optional, nullable, blank_is_null, lowercase, raw_name/pseudonymise).
* Its **row rules** are the ``telemetry_row_rules`` var of ``dbt_project.yml``: ranges and
  cross-column pairs, each with the quarantine reason of a row breaking it.

The staging, validated and quarantine models read the same declarations (through the macros
in ``macros/telemetry_contract.sql``), the gate checks them on a day's files, and the ingest
converters write the columns. Nothing here restates a column, a type, a bound or a reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final

import yaml

from python_helpers.project import PROJECT_ROOT, project_vars

STAGING_YAML: Final = Path("models") / "staging" / "telemetry" / "_telemetry__models.yml"
INPUTS: Final[tuple[str, ...]] = ("inference_calls", "task_events")


@dataclass(frozen=True)
class ColumnSpec:
    """A raw contract column: its raw name, DuckDB type and how a raw value is read."""

    name: str
    sql_type: str
    required: bool = True
    not_null: bool = True
    blank_is_null: bool = False
    lowercase: bool = False
    staged_as: str | None = None
    pseudonymise: bool = False


@dataclass(frozen=True)
class RangeRule:
    """``minimum <= column <= maximum`` (either may be absent); NaN/Infinity out if finite."""

    column: str
    minimum: float | None
    maximum: float | None
    below: str | None
    above: str | None
    finite: bool


@dataclass(frozen=True)
class PairRule:
    """``column <= other`` (at_most) or ``column >= other`` on every row, else ``reason``."""

    column: str
    other: str
    at_most: bool
    reason: str

    @property
    def wording(self) -> str:
        return f"{self.column} {'<=' if self.at_most else '>='} {self.other}"

    @classmethod
    def declared(cls, pair: Mapping[str, str]) -> PairRule:
        at_most = "at_most" in pair
        other = pair["at_most"] if at_most else pair["at_least"]
        return cls(pair["column"], other, at_most, pair["reason"])


@dataclass(frozen=True)
class RowRules:
    ranges: tuple[RangeRule, ...]
    pairs: tuple[PairRule, ...]


def _meta(node: Mapping[str, Any]) -> dict:
    return ((node.get("config") or {}).get("meta") or node.get("meta") or {}).get("contract")


@cache
def _columns(root: Path) -> dict[str, tuple[tuple[ColumnSpec, ...], str]]:
    spec = yaml.safe_load((root / STAGING_YAML).read_text(encoding="utf-8"))
    out: dict[str, tuple[tuple[ColumnSpec, ...], str]] = {}
    for model in spec["models"]:
        model_meta = _meta(model)
        if not model_meta:
            continue
        columns = []
        for column in model["columns"]:
            rules = _meta(column)
            if rules is None or "key_id_of" in rules:  # not in a raw file: staging adds it
                continue
            raw_name = rules.get("raw_name", column["name"])
            columns.append(
                ColumnSpec(
                    name=raw_name,
                    sql_type=column["data_type"],
                    required=not rules.get("optional", False),
                    not_null=not rules.get("nullable", False),
                    blank_is_null=rules.get("blank_is_null", False),
                    lowercase=rules.get("lowercase", False),
                    staged_as=column["name"] if raw_name != column["name"] else None,
                    pseudonymise=rules.get("pseudonymise", False),
                )
            )
        out[model_meta["input"]] = (tuple(columns), model_meta["row_key"])
    return out


def contract_columns(name: str, root: Path = PROJECT_ROOT) -> tuple[ColumnSpec, ...]:
    """The raw columns of input ``name`` in contract order."""
    return _columns(root)[name][0]


def row_key(name: str, root: Path = PROJECT_ROOT) -> str:
    """The column that identifies a row of input ``name`` (call_id, event_id)."""
    return _columns(root)[name][1]


def _bound(value: Any, variables: Mapping[str, Any]) -> float | None:
    """A bound is a number or the name of a var holding one (as the SQL macro reads it)."""
    if value is None:
        return None
    return float(variables[value]) if isinstance(value, str) else float(value)


def row_rules(
    name: str, overrides: Mapping[str, Any] | None = None, root: Path = PROJECT_ROOT
) -> RowRules:
    """The row rules of input ``name`` as dbt resolves them (``--vars`` overrides included)."""
    variables = project_vars(dict(overrides or {}), root)
    declared = variables["telemetry_row_rules"][name]
    ranges = tuple(
        RangeRule(
            column=column,
            minimum=_bound(rule.get("min"), variables),
            maximum=_bound(rule.get("max"), variables),
            below=rule.get("below"),
            above=rule.get("above"),
            finite=bool(rule.get("finite", False)),
        )
        for rule in declared.get("ranges", [])
        for column in rule["columns"]
    )
    pairs = tuple(PairRule.declared(pair) for pair in declared.get("pairs", []))
    return RowRules(ranges, pairs)


#: Columns of each input, for the converters that write raw files (types and names only).
CONTRACTS: Final[dict[str, tuple[ColumnSpec, ...]]] = {
    name: contract_columns(name) for name in INPUTS
}
ROW_KEY: Final[dict[str, str]] = {name: row_key(name) for name in INPUTS}
