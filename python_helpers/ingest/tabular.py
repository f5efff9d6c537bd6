"""Convert any tabular request log into the project's `inference_calls` contract.

    task-watts ingest-table --input <csv|parquet|jsonl file or folder> \
        --mapping <mapping.yml> --out <raw_dir> [--var name=value ...]

writes ``<raw_dir>/inference_calls.parquet``. The mapping file says, per contract column,
where its value comes from::

    vars:                       # optional named strings: ${name} in `sql` becomes a quoted
      task_id_path: "$.task_id" # SQL string literal, in `unit` the unit (override: --var)
    columns:
      call_id: request_id                       # shorthand for {column: request_id}
      started_at: {column: startTime, unit: epoch_ms}   # unit: iso|epoch_s|_ms|_us|_ns
      task_id: {sql: "json_extract_string(metadata, ${task_id_path})"}
      gpu_type: {constant: null}
      status: {column: status, values: {success: ok, failure: error}}
      region: {column: region, default: {sql: "provider || '-us'"}}
      cached_input_tokens: {sql: "...", default: 0}

Exactly one of ``column`` / ``sql`` / ``constant`` per column. ``values`` maps source
values (compared as text) to contract values; unlisted values pass through. ``default``
fills the column where it came out null or empty, or where its source column is missing
from the input: a scalar is a constant, ``{sql: ...}`` an expression over the *mapped*
contract columns (before defaults), so a default can depend on e.g. the provider.

The whole conversion is one DuckDB ``COPY (SELECT ...) TO`` statement: vectorised and
spilling to disk, so a 10 M-row log converts in the same way as a 10-row one.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import yaml

from python_helpers.ops.contract import CONTRACTS

# Contract column -> DuckDB type of the written Parquet, in the contract's order.
CONTRACT_TYPES: dict[str, str] = {
    spec.name: spec.sql_type.upper() for spec in CONTRACTS["inference_calls"]
}
# A mapping must say where these come from; the others are NULL when left out (an unknown
# batch size or cached-token count is stored unknown, not guessed).
REQUIRED_COLUMNS: tuple[str, ...] = (
    "call_id",
    "task_id",
    "started_at",
    "ended_at",
    "model",
    "provider",
    "region",
    "input_tokens",
    "output_tokens",
    "status",
)
TIMESTAMP_COLUMNS: frozenset[str] = frozenset({"started_at", "ended_at"})
# Multiplier from each epoch unit to microseconds (DuckDB's make_timestamp takes micros).
EPOCH_TO_MICROS: dict[str, float] = {
    "epoch_s": 1e6,
    "epoch_ms": 1e3,
    "epoch_us": 1.0,
    "epoch_ns": 1e-3,
}
TIMESTAMP_UNITS: tuple[str, ...] = ("iso", *EPOCH_TO_MICROS)
SPEC_SOURCES: tuple[str, ...] = ("column", "sql", "constant")
SPEC_KEYS: frozenset[str] = frozenset({*SPEC_SOURCES, "unit", "values", "default"})
INPUT_EXTENSIONS: dict[str, str] = {
    ".parquet": "parquet",
    ".csv": "csv",
    ".jsonl": "json",
    ".ndjson": "json",
    ".json": "json",
}
VAR_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
OUTPUT_NAME = "inference_calls.parquet"


class MappingError(ValueError):
    """A mapping file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class ColumnSpec:
    """Where one contract column comes from, as read from the mapping file."""

    name: str
    source: str  # one of SPEC_SOURCES
    value: Any  # a column name, an SQL expression or a constant
    unit: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    has_default: bool = False
    default: Any = None  # a constant, or {"sql": ...}


@dataclass(frozen=True)
class ColumnMapping:
    """A validated mapping file."""

    path: Path
    columns: dict[str, ColumnSpec]
    variables: dict[str, str]


# --------------------------------------------------------------------------------------------
# SQL rendering: everything the user did not write as SQL goes in as a quoted literal.
# --------------------------------------------------------------------------------------------


def quote_identifier(name: str) -> str:
    """Quote a column name for DuckDB, whatever characters it holds."""
    return '"' + str(name).replace('"', '""') + '"'


def quote_literal(value: Any) -> str:
    """Render a YAML scalar as a DuckDB literal (strings quoted, never spliced raw)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"non-finite constant {value!r}")
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _value_key(key: Any) -> str:
    """The text a value-map key is compared with (YAML turns `true` into a bool)."""
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


# --------------------------------------------------------------------------------------------
# Reading and validating the mapping file.
# --------------------------------------------------------------------------------------------


def _fail(path: Path, key: str, message: str) -> MappingError:
    return MappingError(f"mapping file {path}: {key}: {message}")


def _parse_spec(path: Path, name: str, raw: Any, variables: Mapping[str, str]) -> ColumnSpec:
    """Turn one `columns:` entry into a ColumnSpec, or fail naming the key."""
    key = f"columns.{name}"
    if isinstance(raw, str):
        return ColumnSpec(name=name, source="column", value=raw)
    if not isinstance(raw, dict):
        raise _fail(
            path,
            key,
            f"expected a source column name or a mapping with one of "
            f"{', '.join(SPEC_SOURCES)}; got {raw!r}",
        )
    unknown = sorted(set(raw) - SPEC_KEYS)
    if unknown:
        raise _fail(
            path,
            key,
            f"unknown key(s) {', '.join(map(str, unknown))}; "
            f"allowed: {', '.join(sorted(SPEC_KEYS))}",
        )
    sources = [s for s in SPEC_SOURCES if s in raw]
    if len(sources) != 1:
        raise _fail(path, key, f"give exactly one of {', '.join(SPEC_SOURCES)} (got {sources})")
    source = sources[0]
    value = raw[source]
    if source in ("column", "sql") and (not isinstance(value, str) or not value.strip()):
        raise _fail(path, f"{key}.{source}", "must be a non-empty string")
    unit = raw.get("unit")
    # A unit may be a ${var}, so that one mapping serves exports that differ only in how
    # they write time (LiteLLM from Postgres: ISO; from a JSON logger: epoch ms).
    var = VAR_PATTERN.fullmatch(unit) if isinstance(unit, str) else None
    if var:
        if var.group(1) not in variables:
            raise _fail(path, f"{key}.unit", f"uses {unit}, which `vars` does not declare")
        unit = variables[var.group(1)]
    if name in TIMESTAMP_COLUMNS:
        unit = unit or "iso"
        if unit not in TIMESTAMP_UNITS:
            raise _fail(
                path,
                f"{key}.unit",
                f"unknown timestamp unit {unit!r}; use one of {', '.join(TIMESTAMP_UNITS)}",
            )
    elif unit is not None:
        raise _fail(path, f"{key}.unit", "only started_at and ended_at take a unit")
    values = raw.get("values") or {}
    if not isinstance(values, dict):
        raise _fail(path, f"{key}.values", "must map source values to contract values")
    default = raw.get("default")
    if isinstance(default, dict) and (
        set(default) != {"sql"} or not isinstance(default["sql"], str)
    ):
        raise _fail(path, f"{key}.default", "must be a constant or {sql: <expression>}")
    return ColumnSpec(
        name=name,
        source=source,
        value=value,
        unit=unit,
        values={_value_key(k): v for k, v in values.items()},
        has_default="default" in raw,
        default=default,
    )


def load_mapping(path: Path, overrides: Mapping[str, str] | None = None) -> ColumnMapping:
    """Read and validate a mapping file; `overrides` replace its `vars`."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise MappingError(f"mapping file {path}: cannot be read: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("columns"), dict):
        raise _fail(path, "columns", "missing: the file must have a `columns:` mapping")
    unknown_top = sorted(set(raw) - {"columns", "vars", "description"})
    if unknown_top:
        raise _fail(path, ", ".join(map(str, unknown_top)), "unknown top-level key")
    variables = {str(k): str(v) for k, v in (raw.get("vars") or {}).items()}
    for name in overrides or {}:
        if name not in variables:
            raise _fail(path, f"vars.{name}", "--var names a variable the file does not declare")
    variables.update(overrides or {})
    columns: dict[str, ColumnSpec] = {}
    for name, spec in raw["columns"].items():
        if name not in CONTRACT_TYPES:
            raise _fail(
                path,
                f"columns.{name}",
                f"not a contract column; the contract has {', '.join(CONTRACT_TYPES)}",
            )
        columns[name] = _parse_spec(path, name, spec, variables)
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise _fail(path, "columns", f"missing required column(s): {', '.join(missing)}")
    return ColumnMapping(path=path, columns=columns, variables=variables)


def _substitute_vars(mapping: ColumnMapping, key: str, sql: str) -> str:
    """Put each ${name} of an expression in as a quoted string literal."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in mapping.variables:
            raise _fail(mapping.path, key, f"uses ${{{name}}}, which `vars` does not declare")
        return quote_literal(mapping.variables[name])

    return VAR_PATTERN.sub(replace, sql)


# --------------------------------------------------------------------------------------------
# Reading the input.
# --------------------------------------------------------------------------------------------


def input_files(path: Path) -> tuple[list[str], str]:
    """The files to read and their reader (parquet/csv/json); one format per input."""
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in INPUT_EXTENSIONS)
    else:
        raise FileNotFoundError(f"input {path} does not exist")
    formats = {INPUT_EXTENSIONS.get(p.suffix.lower()) for p in files}
    if not files or None in formats:
        raise ValueError(f"input {path}: expected .parquet, .csv, .jsonl, .ndjson or .json files")
    if len(formats) != 1:
        raise ValueError(f"input {path}: mixes formats {sorted(formats)}; convert one at a time")
    return [str(p) for p in files], formats.pop()


def reader_sql(files: Sequence[str], fmt: str) -> str:
    """A table function reading every input file, columns united by name."""
    file_list = "[" + ", ".join(quote_literal(f) for f in files) + "]"
    if fmt == "parquet":
        return f"read_parquet({file_list}, union_by_name = true)"
    if fmt == "csv":
        return f"read_csv({file_list}, header = true, union_by_name = true)"
    return f"read_json({file_list}, format = 'newline_delimited', union_by_name = true)"


NESTED_TYPE = re.compile(r"^(STRUCT|MAP|UNION)\(|\[\]$")


def source_sql(con: duckdb.DuckDBPyConnection, files: Sequence[str], fmt: str) -> str:
    """The input as a subquery, with nested values (JSON objects and lists) as JSON text.

    A JSON Lines log arrives with its objects as STRUCTs, a CSV or Parquet one with the same
    objects as JSON strings: turning the former into JSON text lets one json_extract_*
    expression serve both. Decided from the schema alone.
    """
    reader = reader_sql(files, fmt)
    schema = con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
    nested = [name for name, type_, *_ in schema if NESTED_TYPE.search(type_)]
    if not nested:
        return f"(SELECT * FROM {reader})"
    replaced = ", ".join(
        f"CAST(to_json({quote_identifier(n)}) AS VARCHAR) AS {quote_identifier(n)}" for n in nested
    )
    return f"(SELECT * REPLACE ({replaced}) FROM {reader})"


def source_columns(con: duckdb.DuckDBPyConnection, source: str) -> list[str]:
    """The input's column names, from its schema only (no row is read)."""
    return [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]


# --------------------------------------------------------------------------------------------
# Building the query.
# --------------------------------------------------------------------------------------------


def _timestamp_sql(expr: str, unit: str) -> str:
    """Convert a source value to a naive UTC timestamp."""
    if unit == "iso":
        # Through timestamptz so that an offset ('...+02:00', 'Z') converts to UTC; a naive
        # value is taken as UTC (the session time zone is UTC).
        return f"CAST(CAST({expr} AS TIMESTAMPTZ) AS TIMESTAMP)"
    if unit in ("epoch_us", "epoch_ns"):
        # Integer arithmetic: a double holds ~15.9 digits, epoch nanoseconds have 19.
        divisor = 1 if unit == "epoch_us" else 1000
        return f"make_timestamp(CAST({expr} AS BIGINT) // {divisor})"
    # Seconds and milliseconds may carry a fraction; as microseconds they stay below 2**53.
    factor = EPOCH_TO_MICROS[unit]
    return f"make_timestamp(CAST(round(CAST({expr} AS DOUBLE) * {factor!r}) AS BIGINT))"


def _mapped_sql(mapping: ColumnMapping, spec: ColumnSpec, available: set[str]) -> str:
    """The expression of one contract column over the source columns (before defaults)."""
    key = f"columns.{spec.name}"
    if spec.source == "constant":
        try:
            expr = quote_literal(spec.value)
        except ValueError as exc:
            raise _fail(mapping.path, f"{key}.constant", str(exc)) from exc
    elif spec.source == "column":
        if spec.value.lower() not in available:
            if spec.has_default:
                return f"CAST(NULL AS {CONTRACT_TYPES[spec.name]})"
            raise _fail(
                mapping.path,
                f"{key}.column",
                f"source column {spec.value!r} is not in the "
                f"input (found: {', '.join(sorted(available))}); map it or give a default",
            )
        expr = quote_identifier(spec.value)
    else:
        expr = "(" + _substitute_vars(mapping, f"{key}.sql", spec.value) + ")"
    if spec.values:
        whens = " ".join(
            f"WHEN {quote_literal(k)} THEN {quote_literal(v)}" for k, v in spec.values.items()
        )
        expr = f"CASE CAST({expr} AS VARCHAR) {whens} ELSE CAST({expr} AS VARCHAR) END"
    if spec.name in TIMESTAMP_COLUMNS:
        return _timestamp_sql(expr, spec.unit or "iso")
    if CONTRACT_TYPES[spec.name] == "VARCHAR":
        # Gateways write '' for "not set" (LiteLLM's model_group, custom_llm_provider):
        # empty is missing, so that a default applies and gpu_type stays NULL.
        return f"nullif(trim(CAST({expr} AS VARCHAR)), '')"
    return f"CAST({expr} AS {CONTRACT_TYPES[spec.name]})"


def _final_sql(mapping: ColumnMapping, name: str) -> str:
    """The expression of one contract column over the mapped columns (defaults applied)."""
    spec = mapping.columns.get(name)
    column = quote_identifier(name)
    if spec is None or not spec.has_default:
        return f"CAST({column} AS {CONTRACT_TYPES[name]})"
    if isinstance(spec.default, dict):
        default = "(" + _substitute_vars(mapping, f"columns.{name}.default", spec.default["sql"])
        default += ")"
    else:
        default = quote_literal(spec.default)
    return f"CAST(coalesce({column}, {default}) AS {CONTRACT_TYPES[name]})"


def build_select(mapping: ColumnMapping, reader: str, available: Sequence[str]) -> str:
    """The single SELECT turning the input into the contract's columns."""
    lowered = {c.lower() for c in available}
    mapped = []
    for name, type_ in CONTRACT_TYPES.items():
        spec = mapping.columns.get(name)
        expr = _mapped_sql(mapping, spec, lowered) if spec else f"CAST(NULL AS {type_})"
        mapped.append(f"{expr} AS {quote_identifier(name)}")
    final = [f"{_final_sql(mapping, name)} AS {quote_identifier(name)}" for name in CONTRACT_TYPES]
    return (
        f"WITH source AS (SELECT * FROM {reader}),\n"
        f"mapped AS (SELECT\n    " + ",\n    ".join(mapped) + "\nFROM source)\n"
        "SELECT\n    " + ",\n    ".join(final) + "\nFROM mapped"
    )


def check_expressions(
    con: duckdb.DuckDBPyConnection, mapping: ColumnMapping, reader: str, available: Sequence[str]
) -> None:
    """Bind each column's expression on its own, so that an error names its mapping key.

    Binding reads the schema only; no row is scanned.
    """
    lowered = {c.lower() for c in available}
    mapped_cols = ", ".join(
        f"CAST(NULL AS {t}) AS {quote_identifier(n)}" for n, t in CONTRACT_TYPES.items()
    )
    for name, spec in mapping.columns.items():
        expr = _mapped_sql(mapping, spec, lowered)
        try:
            con.execute(f"DESCRIBE SELECT {expr} FROM {reader}")
            if spec.has_default:
                con.execute(
                    f"DESCRIBE SELECT {_final_sql(mapping, name)} FROM "
                    f"(SELECT {mapped_cols}) AS mapped"
                )
        except duckdb.Error as exc:
            raise _fail(mapping.path, f"columns.{name}", f"invalid expression: {exc}") from exc


def convert(
    input_path: Path,
    mapping_path: Path,
    out_dir: Path,
    variables: Mapping[str, str] | None = None,
) -> Path:
    """Convert a request log to ``<out_dir>/inference_calls.parquet``; return its path."""
    mapping = load_mapping(mapping_path, variables)
    files, fmt = input_files(input_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    out_path = out_dir / OUTPUT_NAME
    con = duckdb.connect()
    try:
        # Offsets in ISO timestamps convert to UTC whatever the machine's zone.
        con.execute("SET TimeZone = 'UTC'")
        reader = source_sql(con, files, fmt)
        available = source_columns(con, reader)
        check_expressions(con, mapping, reader, available)
        select = build_select(mapping, reader, available)
        tmp_path = out_dir / f".{OUTPUT_NAME}.tmp"
        try:
            con.execute(f"COPY ({select}) TO {quote_literal(str(tmp_path))} (FORMAT parquet)")
        except duckdb.Error as exc:
            tmp_path.unlink(missing_ok=True)
            raise ValueError(
                f"converting {input_path} with mapping file {mapping_path} failed: {exc}"
            ) from exc
        # Written aside and renamed, so a failed run never leaves half a file in raw_dir.
        tmp_path.replace(out_path)
    finally:
        con.close()
    return out_path


def _parse_vars(pairs: Sequence[str]) -> dict[str, str]:
    result = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise argparse.ArgumentTypeError(f"--var expects name=value, got {pair!r}")
        result[name] = value
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(
        description="Convert a tabular request log to inference_calls.parquet via a mapping.",
    )
    parser.add_argument("--input", required=True, type=Path, help="file or folder of files")
    parser.add_argument("--mapping", required=True, type=Path, help="mapping YAML")
    parser.add_argument("--out", required=True, type=Path, help="raw_dir to write into")
    parser.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a `vars` entry of the mapping (repeatable)",
    )
    args = parser.parse_args(argv)
    try:
        out = convert(args.input, args.mapping, args.out, _parse_vars(args.var))
    except (MappingError, ValueError, FileNotFoundError, argparse.ArgumentTypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rows = (
        duckdb.connect()
        .execute(f"SELECT count(*) FROM read_parquet({quote_literal(str(out))})")
        .fetchone()
    )
    print(f"wrote {out} ({rows[0] if rows else 0} calls)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
