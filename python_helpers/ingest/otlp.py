"""Turn an OTLP/JSON export of OpenTelemetry GenAI spans into task-watts raw input files.

    task-watts ingest-otlp --spans FILE_OR_DIR --out RAW_DIR
        [--task-attribute app.task.id] [--feature-attribute app.feature]
        [--default-feature NAME] [--outcome-event task.completed=completed ...]
        [--outcome-attribute KEY] [--region R] [--gpu-type T --gpu-count N]
        [--no-task-events]

Input: what the OpenTelemetry Collector ``file`` exporter writes (one
ExportTraceServiceRequest per line, ids in lowercase hex), a file holding one
pretty-printed document, or a folder of ``*.json`` / ``*.jsonl`` files of either kind.

Output, in the contract of ``models/staging/telemetry``:

* ``RAW_DIR/inference_calls.parquet``: one row per inference span (``gen_ai.operation.name``
  chat / text_completion / generate_content, or, without an operation name, a span carrying
  a model and usage tokens). Embedding, tool, agent and other spans are skipped and counted.
* ``RAW_DIR/task_events.parquet`` (unless ``--no-task-events``, for products that have their
  own analytics export): a ``started`` event per task at its first call, ``retried`` for each
  further root span of the task, and terminal events only from the rules given with
  ``--outcome-event`` / ``--outcome-attribute``. Every row has ``outcome_source =
  'derived_from_spans'``.

Mapping decisions (each one is printed in the summary when it applies):

* Old and new GenAI attribute names are coalesced (``gen_ai.provider.name`` /
  ``gen_ai.system``, ``input_tokens`` / ``prompt_tokens``, ``output_tokens`` /
  ``completion_tokens``, ``cache_read.input_tokens`` / ``cache_read_input_tokens``); the
  provider is lowercased; numbers may arrive as intValue or doubleValue.
* Without ``gen_ai.operation.name``, OpenLLMetry's ``llm.request.type`` (chat, completion,
  embedding, ...) says what a span is.
* The model is ``gen_ai.request.model`` (the alias the coefficient seed uses), else
  ``gen_ai.response.model`` (a dated snapshot).
* A span without a cache figure gets ``cached_input_tokens = 0`` and one without usage gets 0
  tokens: the contract needs numbers, but these are unknowns, so they are counted.
* ``status``: span status code 2 is ``error``, or ``timeout`` / ``cancelled`` when
  ``error.type`` says so; anything else is ``ok``.
* Provider ``self_hosted``: a span-level ``gpu.type`` / ``task_watts.gpu_type`` says so;
  otherwise a GPU type known from the resource (``gpu.type``, ``task_watts.gpu_type``,
  ``host.type``) or ``--gpu-type`` makes a call self-hosted unless its provider is an API
  vendor reached at the vendor's own host or at no recorded host (an OpenAI-compatible
  client talking to a local vLLM reports provider ``openai`` but a non-vendor
  ``server.address``).
* Region: a self-hosted call takes the span's, then the resource's ``cloud.region``, then
  ``--region``. A vendor call takes the span's ``cloud.region``, then ``--region``, then the
  vendor pseudo-region ``<provider>-us`` of the ``datacenter_regions`` seed (``openai-us``,
  ``anthropic-us``). The resource's ``cloud.region`` is deliberately not used for vendor
  calls: it says where the calling application runs, not where the vendor serves it.
* ``task_id``: the ``--task-attribute`` value on the span or its nearest ancestor in the same
  trace, else the trace id. ``call_id`` is ``<trace id>-<span id>``.

The parsing is DuckDB SQL over the whole input (``read_json`` + ``unnest``): Python only loops
over files and the fixed list of attribute names, so it holds at millions of spans.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from python_helpers.ops.contract import CONTRACTS

INFERENCE_OPERATIONS = ("chat", "text_completion", "generate_content")
# OpenLLMetry before the GenAI conventions wrote no operation name, only llm.request.type
# (chat, completion, embedding, rerank): its inference kinds, translated.
LEGACY_REQUEST_TYPES = {"chat": "chat", "completion": "text_completion"}
TERMINAL_OUTCOMES = ("completed", "abandoned", "escalated")
OUTCOME_SOURCE = "derived_from_spans"
# gen_ai.provider.name values of hosted APIs (semantic conventions' well-known list).
VENDOR_PROVIDERS = (
    "openai",
    "anthropic",
    "aws.bedrock",
    "azure.ai.openai",
    "azure.ai.inference",
    "gcp.gemini",
    "gcp.vertex_ai",
    "gcp.gen_ai",
    "cohere",
    "mistral_ai",
    "groq",
    "deepseek",
    "perplexity",
    "x_ai",
    "ibm.watsonx.ai",
)
# server.address suffixes of those vendors' public endpoints.
VENDOR_HOST_PATTERN = (
    r"(^|\.)(openai\.com|anthropic\.com|azure\.com|amazonaws\.com|googleapis\.com|cohere\.(ai|com)"
    r"|mistral\.ai|groq\.com|deepseek\.com|perplexity\.ai|x\.ai|cloud\.ibm\.com)$"
)
# A Collector line holds a whole export batch; DuckDB's default cap (16 MB) is too small.
MAX_OBJECT_BYTES = 1 << 30
# Guards the ancestor walk against a malformed trace whose parent links form a cycle.
MAX_TRACE_DEPTH = 256

_VALUE = "STRUCT(stringValue VARCHAR, intValue VARCHAR, doubleValue VARCHAR, boolValue VARCHAR)"
_ATTRS = f"STRUCT(key VARCHAR, value {_VALUE})[]"
_SPAN = (
    "STRUCT(traceId VARCHAR, spanId VARCHAR, parentSpanId VARCHAR, name VARCHAR,"
    f" startTimeUnixNano VARCHAR, endTimeUnixNano VARCHAR, attributes {_ATTRS},"
    " status STRUCT(code VARCHAR, message VARCHAR),"
    f" events STRUCT(name VARCHAR, timeUnixNano VARCHAR, attributes {_ATTRS})[])"
)
# Only the fields the mapping reads: DuckDB ignores the rest, and fixing the type up front
# spares a schema inference that a sample of spans could get wrong.
RESOURCE_SPANS_TYPE = (
    f"STRUCT(resource STRUCT(attributes {_ATTRS}), scopeSpans STRUCT(spans {_SPAN}[])[])[]"
)


class OtlpInputError(ValueError):
    """An input file that is not an OTLP/JSON trace export; the message names the file."""


@dataclass(frozen=True)
class Options:
    """How spans map onto the contract (the command-line options)."""

    task_attribute: str | None = None
    feature_attribute: str | None = None
    default_feature: str | None = None
    outcome_events: dict[str, str] = field(default_factory=dict)
    outcome_attribute: str | None = None
    region: str | None = None
    gpu_type: str | None = None
    gpu_count: int | None = None
    write_task_events: bool = True

    @property
    def has_outcome_rule(self) -> bool:
        return bool(self.outcome_events) or self.outcome_attribute is not None


@dataclass
class Summary:
    """What a conversion read, wrote and assumed."""

    files: int = 0
    spans_read: int = 0
    duplicate_spans: int = 0
    calls: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    calls_without_cache_figure: int = 0
    calls_without_usage: int = 0
    calls_cached_gt_input: int = 0
    calls_task_from_attribute: int = 0
    calls_task_from_trace: int = 0
    calls_without_region: int = 0
    calls_by_provider: dict[str, int] = field(default_factory=dict)
    tasks: int = 0
    tasks_without_feature: int = 0
    events_by_type: dict[str, int] = field(default_factory=dict)
    unrecognised_outcome_values: int = 0
    notes: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def render(self) -> str:
        """The human-readable report printed at the end of a run."""
        dropped = f" ({self.duplicate_spans} duplicate(s) dropped)" if self.duplicate_spans else ""
        lines = [
            f"read {self.spans_read} spans from {self.files} file(s){dropped}",
            f"{self.calls} became inference calls, {self.skipped_total} skipped",
        ]
        lines += [f"  skipped {n}: {reason}" for reason, n in sorted(self.skipped.items())]
        if self.calls_by_provider:
            providers = ", ".join(f"{p} {n}" for p, n in sorted(self.calls_by_provider.items()))
            lines.append(f"calls by provider: {providers}")
        lines.append(
            f"task_id from the task attribute for {self.calls_task_from_attribute} call(s), "
            f"from the trace id for {self.calls_task_from_trace}"
        )
        if self.calls_without_cache_figure:
            lines.append(
                f"{self.calls_without_cache_figure} call(s) carried no cached-token figure: "
                "written as cached_input_tokens = 0 (unknown, not measured zero)"
            )
        if self.calls_without_usage:
            lines.append(
                f"{self.calls_without_usage} call(s) carried no usage tokens (failed call or "
                "stream without usage): written with 0 tokens, so their energy is not counted"
            )
        if self.calls_cached_gt_input:
            lines.append(
                f"{self.calls_cached_gt_input} call(s) report more cached than input tokens "
                "(input probably excludes cache reads): left as is, the project quarantines them"
            )
        if self.calls_without_region:
            lines.append(
                f"{self.calls_without_region} self-hosted call(s) have no region: "
                "set cloud.region or pass --region"
            )
        if self.events_by_type:
            events = ", ".join(f"{t} {n}" for t, n in sorted(self.events_by_type.items()))
            lines.append(f"task events for {self.tasks} task(s): {events}")
        if self.tasks_without_feature:
            lines.append(
                f"{self.tasks_without_feature} task(s) have no feature: pass "
                "--feature-attribute or --default-feature (the project quarantines them)"
            )
        if self.unrecognised_outcome_values:
            lines.append(
                f"{self.unrecognised_outcome_values} outcome attribute value(s) are not one of "
                f"{', '.join(TERMINAL_OUTCOMES)}: ignored"
            )
        lines += self.notes
        lines += [f"wrote {path}" for path in self.written]
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# SQL building blocks.
# --------------------------------------------------------------------------------------------


def sql_literal(value: str) -> str:
    """A SQL string literal (user-given attribute names end up inside the SQL)."""
    return "'" + value.replace("'", "''") + "'"


def _attr_value(attrs: str, key: str) -> str:
    """The value struct of attribute ``key`` in the attribute list expression ``attrs``."""
    return f"list_filter({attrs}, lambda a: a.key = {sql_literal(key)})[1].value"


def attr_text(attrs: str, *keys: str) -> str:
    """SQL for the first of ``keys`` present in ``attrs``, as text whatever its value type."""
    parts = []
    for key in keys:
        value = _attr_value(attrs, key)
        parts.append(
            f"coalesce({value}.stringValue, {value}.intValue, {value}.doubleValue,"
            f" {value}.boolValue)"
        )
    return f"coalesce({', '.join(parts)})" if len(parts) > 1 else parts[0]


def attr_number(attrs: str, *keys: str) -> str:
    """SQL for the first of ``keys`` present in ``attrs``, as a double.

    Instrumentations write the same attribute as intValue in one span and doubleValue in
    another (and proto3 JSON writes int64 as a decimal string), so every form is accepted.
    """
    parts = []
    for key in keys:
        value = _attr_value(attrs, key)
        parts.append(
            f"try_cast(coalesce({value}.intValue, {value}.doubleValue, {value}.stringValue)"
            " as double)"
        )
    return f"coalesce({', '.join(parts)})" if len(parts) > 1 else parts[0]


def hex_id(expr: str) -> str:
    """SQL normalising a trace/span id to lowercase hex.

    The Collector writes hex; plain proto3 JSON (``MessageToJson``) writes base64, which is
    converted rather than rejected so either export loads.
    """
    return (
        f"case when {expr} is null or {expr} = '' then null"
        f" when regexp_full_match({expr}, '[0-9a-fA-F]+') then lower({expr})"
        f" else lower(hex(from_base64({expr}))) end"
    )


def _legacy_operation(request_type: str) -> str:
    """SQL translating OpenLLMetry's ``llm.request.type`` into a GenAI operation name."""
    cases = " ".join(
        f"when {sql_literal(k)} then {sql_literal(v)}" for k, v in LEGACY_REQUEST_TYPES.items()
    )
    return f"case lower({request_type}) {cases} else lower({request_type}) end"


def _list_sql(values: Iterable[str]) -> str:
    return "[" + ", ".join(sql_literal(v) for v in values) + "]"


# --------------------------------------------------------------------------------------------
# Reading the export.
# --------------------------------------------------------------------------------------------


def find_span_files(path: Path) -> list[Path]:
    """The export files under ``path``: the file itself, or a folder's *.json / *.jsonl."""
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(
            p for p in path.rglob("*") if p.is_file() and p.suffix in {".json", ".jsonl"}
        )
        if not files:
            raise OtlpInputError(f"{path}: folder holds no *.json or *.jsonl file")
        return files
    raise OtlpInputError(f"{path}: no such file or folder")


def _span_columns(options: Options) -> str:
    """The narrow per-span projection: only the attributes the mapping reads."""
    s, r = "s.attributes", "res_attrs"
    task = attr_text(s, options.task_attribute) if options.task_attribute else "null"
    feature = attr_text(s, options.feature_attribute) if options.feature_attribute else "null"
    outcome = attr_text(s, options.outcome_attribute) if options.outcome_attribute else "null"
    if options.outcome_events:
        events = (
            f"list_transform(list_filter(s.events, lambda e: list_contains("
            f"{_list_sql(options.outcome_events)}, e.name)), lambda e: {{'name': e.name,"
            " 'time_ns': try_cast(e.timeUnixNano as bigint)})"
        )
    else:
        events = "cast(null as STRUCT(name VARCHAR, time_ns BIGINT)[])"
    columns = {
        "trace_id": hex_id("s.traceId"),
        "span_id": hex_id("s.spanId"),
        "parent_span_id": hex_id("s.parentSpanId"),
        "span_name": "s.name",
        "start_ns": "try_cast(s.startTimeUnixNano as bigint)",
        "end_ns": "try_cast(s.endTimeUnixNano as bigint)",
        "is_error_status": "coalesce(upper(s.status.code) in ('2', 'STATUS_CODE_ERROR'), false)",
        "operation": (
            f"lower(coalesce({attr_text(s, 'gen_ai.operation.name')},"
            f" {_legacy_operation(attr_text(s, 'llm.request.type'))}))"
        ),
        "provider_raw": f"lower({attr_text(s, 'gen_ai.provider.name', 'gen_ai.system')})",
        "request_model": attr_text(s, "gen_ai.request.model"),
        "response_model": attr_text(s, "gen_ai.response.model"),
        "input_tokens": attr_number(s, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"),
        "output_tokens": attr_number(
            s, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"
        ),
        "cached_tokens": attr_number(
            s, "gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens"
        ),
        "error_type": attr_text(s, "error.type"),
        "server_address": f"lower({attr_text(s, 'server.address')})",
        "span_region": attr_text(s, "cloud.region"),
        "resource_region": attr_text(r, "cloud.region"),
        "span_gpu_type": attr_text(s, "gpu.type", "task_watts.gpu_type"),
        "resource_gpu_type": attr_text(r, "gpu.type", "task_watts.gpu_type", "host.type"),
        "gpu_count": (
            f"coalesce({attr_number(s, 'gpu.count', 'task_watts.gpu_count')},"
            f" {attr_number(r, 'gpu.count', 'task_watts.gpu_count')})"
        ),
        "batch_size": attr_number(s, "task_watts.batch_size", "gen_ai.request.batch_size"),
        "measured_energy_j": attr_number(s, "task_watts.measured_energy_j"),
        "task_value": task,
        "feature_value": feature,
        "user_value": attr_text(s, "user.id", "enduser.id"),
        "outcome_value": f"lower({outcome})",
        "outcome_events": events,
    }
    return ",\n".join(f"{expr} as {name}" for name, expr in columns.items())


def _read_documents(con: duckdb.DuckDBPyConnection, path: Path) -> tuple[int, int]:
    """Load one file's documents into temp table ``docs``; (documents, documents with spans).

    Raises OtlpInputError naming the file when it is not JSON or not shaped like OTLP.
    """
    source = sql_literal(str(path))
    columns = "{'resourceSpans': " + sql_literal(RESOURCE_SPANS_TYPE) + "}"
    # The Collector's one-document-per-line layout parses about a quarter faster when named;
    # 'auto' then covers a pretty-printed document (and reports what is wrong otherwise).
    for json_format in ("newline_delimited", "auto"):
        try:
            con.execute(
                "create or replace temp table docs as"
                " select row_number() over () as doc_no, resourceSpans as resource_spans"
                f" from read_json({source}, format = '{json_format}', columns = {columns},"
                f" maximum_object_size = {MAX_OBJECT_BYTES})"
            )
            break
        except duckdb.Error as exc:
            if json_format == "auto":
                reason = str(exc).splitlines()[0]
                raise OtlpInputError(
                    f"{path}: not an OTLP/JSON trace export (expected one "
                    "ExportTraceServiceRequest JSON document per line, or one pretty-printed "
                    f"document): {reason}"
                ) from exc
    row = con.execute("select count(*), count(resource_spans) from docs").fetchall()[0]
    return int(row[0]), int(row[1])


def load_spans(con: duckdb.DuckDBPyConnection, files: Sequence[Path], options: Options) -> None:
    """Flatten every file's spans into temp table ``spans`` (one row per span, deduplicated)."""
    columns = _span_columns(options)
    con.execute("drop table if exists all_spans")
    for file_no, path in enumerate(files):
        documents, with_spans = _read_documents(con, path)
        if documents and with_spans < documents:
            first_bad = con.execute(
                "select min(doc_no) from docs where resource_spans is null"
            ).fetchall()[0][0]
            raise OtlpInputError(
                f"{path}: document {first_bad} has no resourceSpans (is this a logs or "
                "metrics export? only trace exports can be converted)"
            )
        select = (
            f"select {file_no} as file_no, doc_no, {columns}"
            " from (select doc_no, res_attrs, unnest(ss.spans) as s"
            " from (select doc_no, rs.resource.attributes as res_attrs,"
            " unnest(rs.scopeSpans) as ss"
            " from (select doc_no, unnest(resource_spans) as rs from docs)))"
        )
        if file_no == 0:
            con.execute(f"create temp table all_spans as {select}")
        else:
            con.execute(f"insert into all_spans {select}")
    con.execute("drop table if exists docs")
    # A Collector that retried an export writes the same span twice.
    con.execute(
        "create or replace temp table spans as select * exclude (file_no, doc_no) from all_spans"
        " qualify row_number() over (partition by trace_id, span_id order by file_no, doc_no) = 1"
    )


def classify_spans(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Mark inference spans in ``spans`` (column ``skip_reason`` null) and count the rest."""
    operations = _list_sql(INFERENCE_OPERATIONS)
    con.execute(
        f"""
        create or replace temp table spans as
        select
            *,
            case
                when operation is not null and not list_contains({operations}, operation)
                    then 'operation ' || operation || ' (not an inference call)'
                when operation is null
                    and (coalesce(request_model, response_model) is null
                         or (input_tokens is null and output_tokens is null))
                    then 'not a GenAI inference span (no operation name, model or usage tokens)'
                when coalesce(request_model, response_model) is null
                    then 'inference span without gen_ai.request.model / response.model'
                when trace_id is null or span_id is null
                    then 'span without traceId / spanId'
                when start_ns is null or end_ns is null
                    then 'span without start / end time'
            end as skip_reason
        from spans
        """
    )
    rows = con.execute(
        "select skip_reason, count(*) from spans where skip_reason is not null group by all"
    ).fetchall()
    return {str(reason): int(n) for reason, n in rows}


def resolve_lineage(con: duckdb.DuckDBPyConnection) -> None:
    """Temp table ``lineage``: per span of interest, the task/feature/user found on it or its
    nearest ancestor, and the root it hangs from.

    Walks parent links inside DuckDB (a recursive CTE), so attributes set once on an
    application's root span reach every model call below it. A span whose parent is missing
    from the export stops the walk there.
    """
    con.execute(
        f"""
        create or replace temp table lineage as
        with recursive walk as (
            select
                trace_id,
                span_id as origin_span_id,
                parent_span_id as next_parent_id,
                span_id as top_span_id,
                start_ns as top_start_ns,
                task_value,
                feature_value,
                user_value,
                0 as depth
            from spans
            where skip_reason is null
                or outcome_value is not null
                or len(outcome_events) > 0
            union all
            select
                walk.trace_id,
                walk.origin_span_id,
                parent.parent_span_id,
                parent.span_id,
                parent.start_ns,
                coalesce(walk.task_value, parent.task_value),
                coalesce(walk.feature_value, parent.feature_value),
                coalesce(walk.user_value, parent.user_value),
                walk.depth + 1
            from walk
            inner join spans as parent
                on parent.trace_id = walk.trace_id and parent.span_id = walk.next_parent_id
            where walk.depth < {MAX_TRACE_DEPTH}
        )
        select
            trace_id,
            origin_span_id as span_id,
            arg_max(task_value, depth) as task_value,
            arg_max(feature_value, depth) as feature_value,
            arg_max(user_value, depth) as user_value,
            arg_max(top_span_id, depth) as root_span_id,
            arg_max(top_start_ns, depth) as root_start_ns,
            -- A true root has no parent; a top span whose parent was not exported is not one.
            arg_max_null(next_parent_id, depth) is null as is_true_root
        from walk
        group by trace_id, origin_span_id
        """
    )


def build_calls(con: duckdb.DuckDBPyConnection, options: Options) -> None:
    """Temp table ``calls`` in the ``inference_calls`` contract (plus span ids kept aside)."""
    vendors = _list_sql(VENDOR_PROVIDERS)
    gpu_option = sql_literal(options.gpu_type) if options.gpu_type else "null"
    gpu_count_option = str(int(options.gpu_count)) if options.gpu_count is not None else "null"
    region_option = sql_literal(options.region) if options.region else "null"
    con.execute(
        f"""
        create or replace temp table calls as
        with inference as (
            select
                spans.*,
                lineage.task_value as lineage_task,
                lineage.feature_value as lineage_feature,
                lineage.user_value as lineage_user,
                lineage.root_span_id,
                lineage.root_start_ns,
                lineage.is_true_root,
                coalesce(spans.span_gpu_type, spans.resource_gpu_type, {gpu_option})
                    as known_gpu_type,
                list_contains({vendors}, spans.provider_raw) as is_vendor,
                coalesce(
                    regexp_matches(spans.server_address, {sql_literal(VENDOR_HOST_PATTERN)}),
                    true
                ) as is_vendor_host_or_unknown
            from spans
            inner join lineage using (trace_id, span_id)
            where spans.skip_reason is null
        ),
        typed as (
            select
                *,
                span_gpu_type is not null
                or (
                    known_gpu_type is not null
                    and (not coalesce(is_vendor, false) or not is_vendor_host_or_unknown)
                ) as is_self_hosted
            from inference
        )
        select
            trace_id || '-' || span_id as call_id,
            coalesce(lineage_task, trace_id) as task_id,
            make_timestamp(start_ns // 1000) as started_at,
            make_timestamp(end_ns // 1000) as ended_at,
            coalesce(request_model, response_model) as model,
            case when is_self_hosted then 'self_hosted' else provider_raw end as provider,
            case
                when is_self_hosted then coalesce(span_region, resource_region, {region_option})
                else coalesce(span_region, {region_option}, provider_raw || '-us')
            end as region,
            case when is_self_hosted then known_gpu_type end as gpu_type,
            case
                when is_self_hosted then coalesce(cast(gpu_count as integer), {gpu_count_option})
            end as gpu_count,
            cast(batch_size as integer) as batch_size,
            cast(coalesce(input_tokens, 0) as bigint) as input_tokens,
            cast(coalesce(cached_tokens, 0) as bigint) as cached_input_tokens,
            cast(coalesce(output_tokens, 0) as bigint) as output_tokens,
            case
                when not is_error_status then 'ok'
                when error_type ilike '%timeout%' or error_type ilike '%timed out%'
                    then 'timeout'
                when error_type ilike '%cancel%' then 'cancelled'
                else 'error'
            end as status,
            measured_energy_j,
            -- Kept for the task events and the summary; not written.
            trace_id,
            span_id,
            lineage_task is not null as has_task_attribute,
            lineage_feature as feature,
            lineage_user as user_id,
            root_span_id,
            root_start_ns,
            is_true_root,
            cached_tokens is null as has_no_cache_figure,
            input_tokens is null and output_tokens is null as has_no_usage,
            is_self_hosted
        from typed
        """
    )


CALL_COLUMNS = tuple(spec.name for spec in CONTRACTS["inference_calls"])
EVENT_COLUMNS = (
    "event_id",
    "task_id",
    "feature",
    "event_type",
    "event_at",
    "user_id",
    "quality_score",
    "outcome_source",
)


def build_task_events(con: duckdb.DuckDBPyConnection, options: Options) -> int:
    """Temp table ``task_events`` derived from the calls; returns unrecognised outcome values.

    Only tasks that have calls get events: a task is known here through its calls.
    """
    default_feature = sql_literal(options.default_feature) if options.default_feature else "null"
    outcome_of_event = (
        "case event.name "
        + " ".join(
            f"when {sql_literal(k)} then {sql_literal(v)}"
            for k, v in options.outcome_events.items()
        )
        + " end"
        if options.outcome_events
        else "cast(null as varchar)"
    )
    terminal = _list_sql(TERMINAL_OUTCOMES)
    con.execute(
        f"""
        create or replace temp table task_events as
        with tasks as (
            select
                task_id,
                min(started_at) as started_at,
                coalesce(arg_min(feature, started_at), {default_feature}) as feature,
                arg_min(user_id, started_at) as user_id
            from calls
            group by task_id
        ),
        roots as (
            -- Each further root span of a task is the user trying again.
            select
                task_id,
                trace_id,
                root_span_id,
                make_timestamp(min(root_start_ns) // 1000) as root_started_at
            from calls
            where is_true_root
            group by task_id, trace_id, root_span_id
        ),
        marked as (
            select
                spans.trace_id,
                spans.span_id,
                spans.end_ns,
                spans.outcome_value,
                spans.outcome_events,
                coalesce(lineage.task_value, spans.trace_id) as task_id
            from spans
            inner join lineage using (trace_id, span_id)
            where spans.outcome_value is not null or len(spans.outcome_events) > 0
        ),
        outcomes as (
            select
                task_id,
                trace_id || '-' || span_id || ':attribute' as event_id,
                outcome_value as event_type,
                make_timestamp(end_ns // 1000) as event_at
            from marked
            where list_contains({terminal}, outcome_value)
            union all
            select
                task_id,
                trace_id || '-' || span_id || ':' || event.name || ':' || event.time_ns,
                {outcome_of_event},
                make_timestamp(event.time_ns // 1000)
            from (select *, unnest(outcome_events) as event from marked)
            where event.time_ns is not null
        ),
        events as (
            select 'started:' || task_id as event_id, task_id, 'started' as event_type,
                started_at as event_at
            from tasks
            union all
            select 'retried:' || trace_id || '-' || root_span_id, task_id, 'retried',
                root_started_at
            from roots
            qualify row_number() over (
                partition by task_id order by root_started_at, trace_id, root_span_id
            ) > 1
            union all
            select event_id, task_id, event_type, event_at from outcomes
        )
        select
            events.event_id,
            events.task_id,
            tasks.feature,
            events.event_type,
            events.event_at,
            tasks.user_id,
            cast(null as double) as quality_score,
            {sql_literal(OUTCOME_SOURCE)} as outcome_source
        from events
        inner join tasks using (task_id)
        """
    )
    unrecognised = con.execute(
        f"select count(*) from spans where outcome_value is not null"
        f" and not list_contains({terminal}, outcome_value)"
    ).fetchall()[0][0]
    return int(unrecognised)


def _write_parquet(
    con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str], path: Path
) -> None:
    tmp = path.with_name(path.name + ".tmp")
    con.execute(
        f"copy (select {', '.join(columns)} from {table} order by all)"
        f" to {sql_literal(str(tmp))} (format parquet)"
    )
    # Readers of the raw folder never see a half-written file.
    tmp.replace(path)


def _fill_summary(con: duckdb.DuckDBPyConnection, summary: Summary) -> None:
    """Counts over ``calls`` for the report."""
    row = con.execute(
        """
        select
            count(*),
            count(*) filter (where has_no_cache_figure),
            count(*) filter (where has_no_usage),
            count(*) filter (where cached_input_tokens > input_tokens),
            count(*) filter (where has_task_attribute),
            count(*) filter (where not has_task_attribute),
            count(*) filter (where is_self_hosted and region is null),
            count(distinct task_id)
        from calls
        """
    ).fetchall()[0]
    (
        summary.calls,
        summary.calls_without_cache_figure,
        summary.calls_without_usage,
        summary.calls_cached_gt_input,
        summary.calls_task_from_attribute,
        summary.calls_task_from_trace,
        summary.calls_without_region,
        summary.tasks,
    ) = (int(v) for v in row)
    summary.calls_by_provider = {
        str(p): int(n)
        for p, n in con.execute(
            "select coalesce(provider, '(none)'), count(*) from calls group by all"
        ).fetchall()
    }


def convert(spans_path: Path, out_dir: Path, options: Options) -> Summary:
    """Read the export at ``spans_path`` and write the raw files into ``out_dir``."""
    files = find_span_files(spans_path)
    summary = Summary(files=len(files))
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        load_spans(con, files, options)
        summary.spans_read = con.execute("select count(*) from all_spans").fetchall()[0][0]
        summary.duplicate_spans = (
            summary.spans_read - con.execute("select count(*) from spans").fetchall()[0][0]
        )
        summary.skipped = classify_spans(con)
        resolve_lineage(con)
        build_calls(con, options)
        _fill_summary(con, summary)
        out_dir.mkdir(parents=True, exist_ok=True)
        calls_path = out_dir / "inference_calls.parquet"
        _write_parquet(con, "calls", CALL_COLUMNS, calls_path)
        summary.written.append(calls_path)
        if summary.calls == 0:
            summary.notes.append("no inference span found: inference_calls.parquet is empty")
        if not options.write_task_events:
            summary.notes.append("--no-task-events: task_events not written")
            return summary
        summary.unrecognised_outcome_values = build_task_events(con, options)
        summary.events_by_type = {
            str(t): int(n)
            for t, n in con.execute(
                "select event_type, count(*) from task_events group by all"
            ).fetchall()
        }
        summary.tasks_without_feature = con.execute(
            "select count(distinct task_id) from task_events where feature is null"
        ).fetchall()[0][0]
        if not options.has_outcome_rule:
            summary.notes.append(
                "no --outcome-event / --outcome-attribute given: no terminal task events "
                "written, so tasks stay open (pending within their completion window, then "
                "timed out)"
            )
        events_path = out_dir / "task_events.parquet"
        _write_parquet(con, "task_events", EVENT_COLUMNS, events_path)
        summary.written.append(events_path)
        for other in sorted(out_dir.glob("task_events.*")):
            if other != events_path:
                summary.notes.append(
                    f"warning: {other} also exists and the project reads it too; "
                    "use --no-task-events when the product has its own analytics export"
                )
        return summary
    finally:
        con.close()


# --------------------------------------------------------------------------------------------
# Command line.
# --------------------------------------------------------------------------------------------


def parse_outcome_event(text: str) -> tuple[str, str]:
    """``NAME=outcome`` from the command line, outcome one of TERMINAL_OUTCOMES."""
    name, sep, outcome = text.rpartition("=")
    outcome = outcome.strip().lower()
    if not sep or not name or outcome not in TERMINAL_OUTCOMES:
        raise argparse.ArgumentTypeError(
            f"expected EVENT_NAME=OUTCOME with OUTCOME one of {', '.join(TERMINAL_OUTCOMES)},"
            f" got {text!r}"
        )
    return name, outcome


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0],
    )
    parser.add_argument("--spans", type=Path, required=True, help="OTLP/JSON file or folder")
    parser.add_argument("--out", type=Path, required=True, help="raw folder to write into")
    parser.add_argument("--task-attribute", help="span attribute holding the task id")
    parser.add_argument("--feature-attribute", help="span attribute holding the feature")
    parser.add_argument("--default-feature", help="feature of tasks without that attribute")
    parser.add_argument(
        "--outcome-event",
        action="append",
        type=parse_outcome_event,
        default=[],
        metavar="NAME=OUTCOME",
        help="span event NAME marks the task's outcome (completed, abandoned, escalated)",
    )
    parser.add_argument(
        "--outcome-attribute", help="span attribute whose value is the task's outcome"
    )
    parser.add_argument("--region", help="region of calls without cloud.region")
    parser.add_argument("--gpu-type", help="accelerator of self-hosted calls (e.g. H100)")
    parser.add_argument("--gpu-count", type=int, help="accelerators per self-hosted replica")
    parser.add_argument(
        "--no-task-events",
        action="store_true",
        help="write only inference_calls (the product exports its own task events)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the conversion; exit 0 on success, 2 on unusable input (message on stderr)."""
    args = build_parser().parse_args(argv)
    options = Options(
        task_attribute=args.task_attribute,
        feature_attribute=args.feature_attribute,
        default_feature=args.default_feature,
        outcome_events=dict(args.outcome_event),
        outcome_attribute=args.outcome_attribute,
        region=args.region,
        gpu_type=args.gpu_type,
        gpu_count=args.gpu_count,
        write_task_events=not args.no_task_events,
    )
    try:
        summary = convert(args.spans, args.out, options)
    except OtlpInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(summary.render())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
