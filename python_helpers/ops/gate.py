"""The contract gate: validate one day's raw telemetry with Great Expectations before dbt.

Each file of the day (``<raw>/inference_calls/date=YYYY-MM-DD/*``, ``<raw>/task_events/...``)
is read with DuckDB exactly as staging reads it, only its contract columns are fetched (a
prompt or completion text column is never read), and the typed frame is validated by a GX 1.x
suite through pandas (the SQL route to DuckDB is broken on this stack).

Expectations come in two severities:

* **blocking** (schema level): required columns present, at least one row, every value
  castable to its contract type, required values present, and the drift thresholds
  (share of calls without task_id, share of unknown batch sizes). One failure blocks the
  batch: nothing is loaded.
* **quarantine** (row level): token ranges, cached <= input, known model / region / status /
  event type / feature, unique ids, timestamps inside the batch's day. They never block:
  dbt routes the offending rows to the quarantine models with a reason code. The gate lists
  them so the operator sees them before the load.

Every failure names the file, the column, the rule, how many rows broke it and a few example
values; the same results are rendered as Data Docs (static HTML) under ``docs_dir``.
"""

from __future__ import annotations

import csv
import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import duckdb
import pandas as pd

from python_helpers.ops.contract import CONTRACTS, ROW_KEY, ColumnSpec, RowRules, row_rules
from python_helpers.project import PROJECT_ROOT, project_vars

INPUTS: Final[tuple[str, ...]] = ("inference_calls", "task_events")
EXTENSIONS: Final[tuple[str, ...]] = ("parquet", "csv", "jsonl", "ndjson", "json")
EXAMPLES: Final = 5


# --------------------------------------------------------------------------------------------
# Settings: the thresholds live in dbt_project.yml vars, the known values in the seeds.
# --------------------------------------------------------------------------------------------


def _seed_column(name: str, column: str) -> list[str]:
    with (PROJECT_ROOT / "seeds" / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
        return sorted({row[column] for row in csv.DictReader(handle)})


@dataclass(frozen=True)
class GateSettings:
    """Thresholds and reference values the suites check against."""

    lookback_days: int
    tolerance_minutes: int
    max_no_task_call_share: float
    max_unknown_batch_size_share: float
    min_own_day_row_share: float
    call_statuses: tuple[str, ...]
    event_types: tuple[str, ...]
    models: tuple[str, ...]
    regions: tuple[str, ...]
    features: tuple[str, ...]
    rules: dict[str, RowRules]
    now: datetime

    @classmethod
    def from_project(
        cls, now: datetime | None = None, overrides: dict[str, Any] | None = None
    ) -> GateSettings:
        """The vars as dbt resolves them - dbt_project.yml, then ``--vars`` overrides - and the
        reference values from the seeds. The daily load passes the same overrides to dbt, so a
        threshold changed with ``--vars`` changes the gate and the models alike."""
        v = project_vars(overrides)
        return cls(
            lookback_days=int(v["late_arrival_lookback_days"]),
            tolerance_minutes=int(v["timestamp_tolerance_minutes"]),
            max_no_task_call_share=float(v["max_no_task_call_share"]),
            max_unknown_batch_size_share=float(v["max_unknown_batch_size_share"]),
            min_own_day_row_share=float(v["min_own_day_row_share"]),
            call_statuses=tuple(v["call_statuses"]),
            event_types=tuple(v["event_types"]),
            models=tuple(_seed_column("model_energy_coefficients", "model")),
            regions=tuple(_seed_column("datacenter_regions", "region")),
            features=tuple(_seed_column("feature_catalogue", "feature")),
            rules={name: row_rules(name, overrides) for name in INPUTS},
            now=now or datetime.now(UTC).replace(microsecond=0, tzinfo=None),
        )

    def window(self, batch_date: date) -> tuple[datetime, datetime]:
        """Earliest and latest acceptable timestamp for a row of ``batch_date``'s batch."""
        day = datetime.combine(batch_date, datetime.min.time())
        tolerance = timedelta(minutes=self.tolerance_minutes)
        latest = min(day + timedelta(days=1) + tolerance, self.now + tolerance)
        return day - timedelta(days=self.lookback_days), latest - timedelta(microseconds=1)


# --------------------------------------------------------------------------------------------
# Findings and the report.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One broken rule in one file."""

    file: str
    column: str | None
    rule: str
    count: int
    rows: int
    examples: tuple[str, ...]
    blocking: bool
    warning: bool = False

    def message(self) -> str:
        where = f"column {self.column}" if self.column else "file"
        examples = f", e.g. {', '.join(self.examples)}" if self.examples else ""
        kind = "BLOCKED" if self.blocking else "WARNING" if self.warning else "quarantine"
        return (
            f"{kind}: {self.file}: {where}: {self.rule}: {self.count} of {self.rows} rows{examples}"
        )


@dataclass
class GateReport:
    """What the gate found in one day's files."""

    batch_date: date
    files: dict[str, list[Path]]
    findings: list[Finding] = field(default_factory=list)
    docs_index: Path | None = None

    @property
    def passed(self) -> bool:
        return not any(f.blocking for f in self.findings)

    @property
    def blocking(self) -> list[Finding]:
        return [f for f in self.findings if f.blocking]

    def render(self) -> str:
        n_files = sum(len(v) for v in self.files.values())
        head = (
            f"gate {self.batch_date}: {'PASSED' if self.passed else 'BLOCKED'} "
            f"({n_files} files, {len(self.blocking)} blocking, "
            f"{len(self.findings) - len(self.blocking)} row-level findings)"
        )
        lines = [head, *(f"  {f.message()}" for f in self.findings)]
        if self.docs_index is not None:
            lines.append(f"  Data Docs: {self.docs_index}")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Reading one file as staging does.
# --------------------------------------------------------------------------------------------


def batch_files(raw_dir: Path, name: str, batch_date: date) -> list[Path]:
    """The day's files of input ``name``: ``<raw_dir>/<name>/date=<day>/**/*.<ext>``."""
    folder = Path(raw_dir) / name / f"date={batch_date.isoformat()}"
    return sorted(p for ext in EXTENSIONS for p in folder.rglob(f"*.{ext}") if p.is_file())


def _reader(path: Path) -> str:
    quoted = "'" + str(path).replace("'", "''") + "'"
    suffix = path.suffix.lower().lstrip(".")
    if suffix == "parquet":
        return f"read_parquet({quoted}, hive_partitioning = false)"
    if suffix == "csv":
        return f"read_csv({quoted}, header = true, hive_partitioning = false)"
    return f"read_json({quoted}, format = 'newline_delimited', hive_partitioning = false)"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


#: Ids are stripped of any surrounding whitespace (tabs and NBSP too); blank is no id.
_BLANK = r"'^[\s\x{00a0}]+|[\s\x{00a0}]+$'"


def _epoch_or_iso(col: str) -> str:
    """Staging's to_utc_timestamp: ISO text (offset -> UTC) or epoch s/ms/us/ns by magnitude."""
    number = f"try_cast(cast({col} as varchar) as double)"
    return (
        f"case when {number} is null then try_cast(try_cast({col} as timestamptz) as timestamp) "
        f"when abs({number}) < 1e11 then make_timestamp(cast(round({number} * 1e6) as bigint)) "
        f"when abs({number}) < 1e14 then make_timestamp(cast(round({number} * 1e3) as bigint)) "
        f"when abs({number}) < 1e17 then make_timestamp(cast(round({number}) as bigint)) "
        f"else make_timestamp(cast(round({number} / 1e3) as bigint)) end"
    )


def _typed(spec: ColumnSpec) -> str:
    col = _quote(spec.name)
    if spec.sql_type == "timestamp":
        return _epoch_or_iso(col)
    if spec.blank_is_null:
        return f"nullif(regexp_replace(cast({col} as varchar), {_BLANK}, '', 'g'), '')"
    if spec.lowercase:
        return f"lower(cast({col} as varchar))"
    return f"try_cast({col} as {spec.sql_type})"


def read_frame(
    con: duckdb.DuckDBPyConnection, path: Path, name: str, rules: RowRules
) -> pd.DataFrame:
    """The file's contract columns, typed, plus derived columns the blocking rules check.

    ``<col>__uncastable`` holds the raw text of a value that does not cast to its type,
    ``<col>__empty`` the row's key where a required value is missing. Columns outside the
    contract, and the column stored only pseudonymised (the user id), appear as empty
    placeholders (so the column-set rule sees them) and their values are never read. Raises
    ``duckdb.Error`` when the file cannot be read.
    """
    source = _reader(path)
    in_file = [row[0] for row in con.sql(f"describe select * from {source}").fetchall()]
    duplicated = _duplicated_header_names(path)
    if duplicated:
        raise DuplicateColumnsError(duplicated)
    specs = {spec.name: spec for spec in CONTRACTS[name]}
    # An optional column a file does not carry reads as empty: absent and empty are the same.
    for spec in CONTRACTS[name]:
        if not spec.required and spec.name not in in_file:
            in_file.append(spec.name)
            empty = f"cast(null as {spec.sql_type}) as {_quote(spec.name)}"
            source = f"(select *, {empty} from {source})"
    key = _quote(ROW_KEY[name])
    row_label = "'row ' || cast(row_number() over () as varchar)"
    key_label = (
        f"coalesce(cast({key} as varchar), {row_label})" if ROW_KEY[name] in in_file else row_label
    )
    selects: list[str] = []
    for column in in_file:
        spec = specs.get(column)
        # A pseudonymised column (the user id) is checked for presence only: its values would
        # otherwise reach GX results and the Data Docs, which list unexpected values.
        if spec is None or spec.pseudonymise:
            selects.append(f"null as {_quote(column)}")
            continue
        typed = _typed(spec)
        selects.append(f"{typed} as {_quote(column)}")
        if spec.sql_type != "varchar":
            selects.append(
                f"case when {_quote(column)} is not null and {typed} is null "
                f"then cast({_quote(column)} as varchar) end as {_quote(column + '__uncastable')}"
            )
        if spec.not_null:
            # A whitespace-only id is as missing as an empty one.
            missing = typed if spec.blank_is_null else _quote(column)
            selects.append(
                f"case when {missing} is null then {key_label} end as {_quote(column + '__empty')}"
            )
    selects += _derived_checks(name, in_file, rules)
    frame = con.sql(f"select {', '.join(selects)} from {source}").df()
    for column in in_file:
        if column in specs and specs[column].sql_type == "timestamp":
            # UTC-aware: GX's pandas engine compares an aware (or a naive nanosecond) column
            # with its bounds in one vectorised step, but a naive microsecond column one value
            # at a time in Python. Microseconds keep years 1-9999 (nanoseconds stop at 2262).
            frame[column] = pd.to_datetime(frame[column]).dt.tz_localize(UTC)
    return frame


class DuplicateColumnsError(ValueError):
    """A file names the same column twice (a reader would silently rename the second)."""

    def __init__(self, columns: list[str]) -> None:
        super().__init__(", ".join(columns))
        self.columns = columns


def _duplicated_header_names(path: Path) -> list[str]:
    """Column names a CSV header repeats; only the header line is read."""
    if path.suffix.lower() != ".csv":
        return []
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        header = next(csv.reader(handle), [])
    seen: set[str] = set()
    repeated = [c for c in header if c in seen or seen.add(c)]
    return sorted(set(repeated))


def _derived_checks(name: str, columns: Sequence[str], rules: RowRules) -> list[str]:
    """Columns for rules a plain GX expectation cannot state on the typed frame.

    GX treats NaN as missing and skips it, so a range that excludes non-finite values gets a
    ``<col>__non_finite`` column; a vendor API never logs a batch size, so the unknown-batch
    share counts self-hosted calls only (vendor rows are null here, which GX leaves out).
    """
    specs = {spec.name: spec for spec in CONTRACTS[name]}
    out: list[str] = []
    for rule in rules.ranges:
        if rule.finite and rule.column in columns:
            typed = _typed(specs[rule.column])
            out.append(
                f"case when not isfinite({typed}) then cast({_quote(rule.column)} as varchar) "
                f"end as {_quote(rule.column + '__non_finite')}"
            )
    if name == "inference_calls" and {"provider", "batch_size"} <= set(columns):
        out.append(
            f"case when lower(cast({_quote('provider')} as varchar)) = 'self_hosted' "
            f"then {_typed(specs['batch_size'])} is not null end "
            f"as {_quote('batch_size__known_self_hosted')}"
        )
    return out


def _number(value: float) -> str:
    return f"{int(value):,}" if value.is_integer() else f"{value:g}"


def _row_rules(rules: RowRules, present: set[str]) -> list[Rule]:
    """The contract's row rules (var telemetry_row_rules) as quarantine-level expectations,
    for the columns the file carries."""
    import great_expectations.expectations as gxe

    out: list[Rule] = []
    for r in rules.ranges:
        if r.column not in present:
            continue
        if r.minimum is not None and r.maximum is not None:
            wording = f"between {_number(r.minimum)} and {_number(r.maximum)}"
        elif r.minimum is not None:
            wording = f">= {_number(r.minimum)}"
        else:
            wording = f"<= {_number(r.maximum)}"
        out.append(
            Rule(
                gxe.ExpectColumnValuesToBeBetween(
                    column=r.column, min_value=r.minimum, max_value=r.maximum
                ),
                r.column,
                wording,
                False,
            )
        )
        if r.finite and f"{r.column}__non_finite" in present:
            out.append(
                Rule(
                    gxe.ExpectColumnValuesToBeNull(column=f"{r.column}__non_finite"),
                    r.column,
                    "finite (not NaN or Infinity)",
                    False,
                )
            )
    for pair in rules.pairs:
        if not {pair.column, pair.other} <= present:
            continue
        greater, lesser = (pair.other, pair.column) if pair.at_most else (pair.column, pair.other)
        out.append(
            Rule(
                gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                    column_A=greater, column_B=lesser, or_equal=True
                ),
                pair.column,
                pair.wording,
                False,
            )
        )
    return out


# --------------------------------------------------------------------------------------------
# The suites.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """An expectation with the column and wording the report uses."""

    expectation: Any
    column: str | None
    rule: str
    blocking: bool
    warning: bool = False


def _rules(name: str, columns: Sequence[str], settings: GateSettings, day: date) -> list[Rule]:
    import great_expectations.expectations as gxe

    specs = CONTRACTS[name]
    present = set(columns)
    required = [s.name for s in specs if s.required]
    rules = [
        Rule(
            gxe.ExpectTableColumnsToMatchSet(column_set=required, exact_match=False),
            None,
            "required columns present",
            True,
        ),
        Rule(gxe.ExpectTableRowCountToBeBetween(min_value=1), None, "at least one row", True),
    ]
    for spec in specs:
        if spec.name not in present:
            continue
        if spec.sql_type != "varchar":
            rules.append(
                Rule(
                    gxe.ExpectColumnValuesToBeNull(column=f"{spec.name}__uncastable"),
                    spec.name,
                    f"values castable to {spec.sql_type}",
                    True,
                )
            )
        if spec.not_null:
            rules.append(
                Rule(
                    gxe.ExpectColumnValuesToBeNull(column=f"{spec.name}__empty"),
                    spec.name,
                    "required value present",
                    True,
                )
            )

    def add(column: str, expectation: Any, rule: str, blocking: bool = False) -> None:
        if column in present:
            rules.append(Rule(expectation, column, rule, blocking))

    # aware bounds, as the timestamp columns are (read_frame)
    earliest, latest = (bound.replace(tzinfo=UTC) for bound in settings.window(day))
    window = f"between {earliest:%Y-%m-%d %H:%M} and {latest:%Y-%m-%d %H:%M} UTC"
    # Late rows are fine, but a batch that (almost) never falls on its own day is the wrong
    # folder or a clock bug: loading it would report the day as loaded with nothing in it.
    day_start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    day_end = day_start + timedelta(days=1) - timedelta(microseconds=1)
    own_day = settings.min_own_day_row_share
    stamp = "started_at" if name == "inference_calls" else "event_at"
    add(
        stamp,
        gxe.ExpectColumnValuesToBeBetween(
            column=stamp, min_value=day_start, max_value=day_end, mostly=own_day
        ),
        f"at least {own_day:.0%} of rows on the batch's own day {day} "
        "(change with --vars '{min_own_day_row_share: ...}')",
        blocking=True,
    )
    if name == "inference_calls":
        no_task = settings.max_no_task_call_share
        unknown_batch = settings.max_unknown_batch_size_share
        add(
            "task_id",
            gxe.ExpectColumnValuesToNotBeNull(column="task_id", mostly=1 - no_task),
            f"share of calls without task_id at most {no_task:.0%} "
            "(change with --vars '{max_no_task_call_share: ...}')",
            blocking=True,
        )
        if "batch_size__known_self_hosted" in present:
            rules.append(
                Rule(
                    gxe.ExpectColumnValuesToBeInSet(
                        column="batch_size__known_self_hosted",
                        value_set=[True],
                        mostly=1 - unknown_batch,
                    ),
                    "batch_size",
                    f"share of self-hosted calls with unknown batch size at most "
                    f"{unknown_batch:.0%} (they are priced at their deployment's assumed batch; "
                    "change with --vars '{max_unknown_batch_size_share: ...}')",
                    blocking=False,
                    warning=True,
                )
            )
        for column in ("started_at", "ended_at"):
            add(
                column,
                gxe.ExpectColumnValuesToBeBetween(
                    column=column, min_value=earliest, max_value=latest
                ),
                window,
            )
        add("model", gxe.ExpectColumnValuesToBeInSet(column="model", value_set=settings.models),
            "model in seeds/model_energy_coefficients.csv")  # fmt: skip
        add("region", gxe.ExpectColumnValuesToBeInSet(column="region", value_set=settings.regions),
            "region in seeds/datacenter_regions.csv")  # fmt: skip
        add("status",
            gxe.ExpectColumnValuesToBeInSet(column="status", value_set=settings.call_statuses),
            f"status in {', '.join(settings.call_statuses)}")  # fmt: skip
        add("call_id", gxe.ExpectColumnValuesToBeUnique(column="call_id"), "unique in the batch")
    else:
        add("event_type",
            gxe.ExpectColumnValuesToBeInSet(column="event_type", value_set=settings.event_types),
            f"event_type in {', '.join(settings.event_types)}")  # fmt: skip
        add("feature",
            gxe.ExpectColumnValuesToBeInSet(column="feature", value_set=settings.features),
            "feature in seeds/feature_catalogue.csv")  # fmt: skip
        add("event_id", gxe.ExpectColumnValuesToBeUnique(column="event_id"), "unique in the batch")
        add("event_at",
            gxe.ExpectColumnValuesToBeBetween(column="event_at", min_value=earliest,
                                              max_value=latest),
            window)  # fmt: skip
    return rules + _row_rules(settings.rules[name], present)


# --------------------------------------------------------------------------------------------
# Running the checkpoint.
# --------------------------------------------------------------------------------------------


def _examples(values: Iterable[Any]) -> tuple[str, ...]:
    out: list[str] = []
    for value in values:
        text = repr(value) if isinstance(value, str) else str(value)
        if text not in out:
            out.append(text)
        if len(out) == EXAMPLES:
            break
    return tuple(out)


def _finding(file: str, rule: Rule, result: Any, rows: int) -> Finding:
    """Turn a failed expectation result into a Finding."""
    res = result.result or {}
    if result.exception_info and result.exception_info.get("raised_exception"):
        message = str(result.exception_info.get("exception_message", "")).splitlines()[:1]
        return Finding(file, rule.column, rule.rule, rows, rows, tuple(message), rule.blocking)
    details = res.get("details", {}).get("mismatched")
    if details is not None:  # the column-set rule
        missing = list(details.get("missing") or [])
        known = {spec.name for specs in CONTRACTS.values() for spec in specs}
        unexpected = [
            c
            for c in details.get("unexpected") or []
            if c not in known
            and not c.endswith(("__uncastable", "__empty", "__non_finite", "__known_self_hosted"))
        ]
        examples = [f"missing {c}" for c in missing] + [f"unexpected {c}" for c in unexpected]
        column = ", ".join(missing) or None
        return Finding(file, column, rule.rule, len(missing), rows, tuple(examples), True)
    if "observed_value" in res and "unexpected_count" not in res:  # the row-count rule
        return Finding(file, None, rule.rule, 0, rows, (f"{res['observed_value']} rows",), True)
    count = int(res.get("unexpected_count") or 0)
    return Finding(
        file,
        rule.column,
        rule.rule,
        count,
        rows,
        _examples(res.get("partial_unexpected_list") or []),
        rule.blocking,
        rule.warning,
    )


def _context(docs_dir: Path | None) -> Any:
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    try:
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context.variables.progress_bars = ProgressBarsConfig(globally=False)
    except Exception:  # cosmetic only
        pass
    if docs_dir is not None:
        context.add_data_docs_site(
            site_name="task_watts",
            site_config={
                "class_name": "SiteBuilder",
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(Path(docs_dir).resolve()),
                },
            },
        )
    return context


#: Parts of a reader's error that quote the file's content (a user id among it): withheld.
_CONTENT_IN_ERROR = re.compile(
    r"""(could not convert string|original line:?|line content:?)\s*("[^"]*"|'[^']*'|\S.*$)""",
    re.IGNORECASE | re.MULTILINE,
)


def _read_error(error: Exception) -> str:
    """The reader's error without the row content DuckDB quotes in it (report, Data Docs)."""
    text = " ".join(_CONTENT_IN_ERROR.sub(r"\1 <content withheld>", str(error)).split())
    if "unicode" in text.lower() or "utf-8" in text.lower() or "utf8" in text.lower():
        return f"not valid UTF-8 ({text[:160]})"
    return text[:200]


def validate_batch(
    raw_dir: Path,
    batch_date: date,
    docs_dir: Path | None = None,
    settings: GateSettings | None = None,
    overrides: dict[str, Any] | None = None,
) -> GateReport:
    """Run the checkpoint on every file of ``batch_date``; see the module docstring.

    ``overrides`` are the ``--vars`` of the dbt build that follows (thresholds included).
    """
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.checkpoint import UpdateDataDocsAction

    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    settings = settings or GateSettings.from_project(overrides=overrides)
    files = {name: batch_files(Path(raw_dir), name, batch_date) for name in INPUTS}
    report = GateReport(batch_date, files)
    context = _context(docs_dir)
    source = context.data_sources.add_pandas("raw_telemetry")
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    checkpoints: list[tuple[Any, pd.DataFrame, str, list[Rule], int]] = []
    result_format = {"result_format": "SUMMARY", "partial_unexpected_count": 20}

    def register(label: str, frame: pd.DataFrame, rules: list[Rule], file: str) -> None:
        asset = source.add_dataframe_asset(label)
        suite = context.suites.add(gx.ExpectationSuite(name=label))
        for rule in rules:
            suite.add_expectation(rule.expectation)
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(
                name=label, data=asset.add_batch_definition_whole_dataframe(label), suite=suite
            )
        )
        actions = []
        if docs_dir is not None:
            actions = [UpdateDataDocsAction(name="data_docs", site_names=["task_watts"])]
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=label,
                validation_definitions=[definition],
                actions=actions,
                result_format=result_format,
            )
        )
        checkpoints.append((checkpoint, frame, file, rules, len(frame)))

    for name in INPUTS:
        if not files[name]:
            report.findings.append(
                Finding(
                    f"{raw_dir}/{name}/date={batch_date}/", None,
                    "the day's folder holds at least one file", 0, 0, (), True,
                )
            )  # fmt: skip
            continue
        for i, path in enumerate(files[name]):
            label = f"{name}.{batch_date}.{i}.{path.name}"
            try:
                frame = read_frame(con, path, name, settings.rules[name])
            except DuplicateColumnsError as error:
                # Validated like any other failure, so the Data Docs show it too.
                rule = Rule(
                    gxe.ExpectColumnValuesToBeNull(column="duplicated_column"),
                    ", ".join(error.columns),
                    "column names unique (a reader would rename the second copy)",
                    True,
                )
                frame = pd.DataFrame({"duplicated_column": error.columns})
                register(label, frame, [rule], str(path))
                continue
            except duckdb.Error as error:
                rule = Rule(
                    gxe.ExpectColumnValuesToBeNull(column="read_error"), None, "file readable",
                    True,
                )  # fmt: skip
                frame = pd.DataFrame({"read_error": [_read_error(error)]})
                register(label, frame, [rule], str(path))
                continue
            register(label, frame, _rules(name, list(frame.columns), settings, batch_date),
                     str(path))  # fmt: skip
    con.close()

    for checkpoint, frame, file, rules, rows in checkpoints:
        outcome = checkpoint.run(batch_parameters={"dataframe": frame})
        for validation in outcome.run_results.values():
            by_id = {o.expectation_config.id: o for o in validation.results}
            for rule in rules:
                result = by_id[rule.expectation.id]
                if not result.success:
                    n = 0 if rule.rule == "file readable" else rows
                    report.findings.append(_finding(file, rule, result, n))
    if docs_dir is not None:
        report.docs_index = Path(docs_dir).resolve() / "index.html"
    return report
