"""OTLP/JSON GenAI spans -> task-watts raw files (python_helpers.ingest.otlp).

Three kinds of evidence:

* Real spans: the real ``openai`` client, instrumented by the real
  ``opentelemetry-instrumentation-openai-v2``, calls a stub OpenAI-compatible server started
  here on 127.0.0.1; the SDK's own protobuf encoder and ``google.protobuf.json_format`` turn
  the finished spans into OTLP/JSON, with ids rewritten to hex as the Collector's ``file``
  exporter writes them. Hand-written spans with the old attribute names share the same file.
* End to end: the converted files and a hand-written CSV of the same calls in the contract
  (values worked out from what the stub returned) are each built with dbt; the public marts
  must be identical.
* Unit tests of the mapping on small hand-written OTLP/JSON.

The expected rows are never computed with python_helpers code: span ids and times are read
from the exported JSON with plain dict look-ups, everything else is written out by hand.
"""

from __future__ import annotations

import base64
import csv
import json
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import duckdb
import harness
import pyarrow.parquet as pq
import pytest

from python_helpers.ingest.otlp import (
    OUTCOME_SOURCE,
    Options,
    OtlpInputError,
    Summary,
    convert,
    main,
)

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "otlp"
SDK_FIXTURE = FIXTURES / "openai_v2_chat.jsonl"
PUBLIC_MARTS = ("fct_inference_call_footprint", "fct_task_footprint", "mart_feature_task_watts")
EPOCH = datetime(1970, 1, 1)

# --------------------------------------------------------------------------------------------
# Hand-written OTLP/JSON building blocks for the unit tests.
# --------------------------------------------------------------------------------------------

T0 = 1_795_168_800_000_000_000  # 2026-11-20T10:00:00Z in ns
TRACE_A = "0af7651916cd43dd8448eb211c80319c"
TRACE_B = "4bf92f3577b34da6a3ce929d0e0e4736"


def ns_to_dt(ns: int | str) -> datetime:
    """Naive UTC datetime at microsecond precision, as the contract stores it."""
    return EPOCH + timedelta(microseconds=int(ns) // 1000)


def attr(key: str, value: Any) -> dict[str, Any]:
    """One OTLP attribute; an int becomes intValue (a decimal string, as proto3 JSON writes)."""
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    return {"key": key, "value": {"stringValue": value}}


def span(
    span_id: str,
    *,
    trace_id: str = TRACE_A,
    parent: str = "",
    start_s: float = 0,
    end_s: float = 1,
    attrs: dict[str, Any] | None = None,
    status_code: int | str | None = None,
    events: list[tuple[str, float]] | None = None,
    name: str = "span",
) -> dict[str, Any]:
    """One span; times are seconds after T0."""
    out: dict[str, Any] = {
        "traceId": trace_id,
        "spanId": span_id,
        "parentSpanId": parent,
        "name": name,
        "startTimeUnixNano": str(T0 + int(start_s * 1e9)),
        "endTimeUnixNano": str(T0 + int(end_s * 1e9)),
        "attributes": [attr(k, v) for k, v in (attrs or {}).items()],
    }
    if status_code is not None:
        out["status"] = {"code": status_code}
    if events:
        out["events"] = [
            {"name": n, "timeUnixNano": str(T0 + int(s * 1e9)), "attributes": []} for n, s in events
        ]
    return out


def export(spans: list[dict[str, Any]], resource: dict[str, Any] | None = None) -> dict:
    """One ExportTraceServiceRequest."""
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [attr(k, v) for k, v in (resource or {}).items()]},
                "scopeSpans": [{"scope": {"name": "test"}, "spans": spans}],
            }
        ]
    }


def chat(span_id: str, **kwargs: Any) -> dict[str, Any]:
    """An inference span with the current attribute names (overridable through ``attrs``)."""
    attrs = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.response.model": "gpt-4o-2024-08-06",
        "gen_ai.usage.input_tokens": 100,
        "gen_ai.usage.output_tokens": 10,
    }
    attrs.update(kwargs.pop("attrs", {}))
    return span(span_id, attrs={k: v for k, v in attrs.items() if v is not None}, **kwargs)


@dataclass
class Converted:
    summary: Summary
    calls: list[dict[str, Any]]
    events: list[dict[str, Any]]

    def call(self, span_id: str) -> dict[str, Any]:
        (row,) = [c for c in self.calls if c["call_id"].endswith("-" + span_id)]
        return row


def run_convert(tmp_path: Path, *docs: dict, options: Options | None = None) -> Converted:
    """Write ``docs`` as a Collector file (one document per line) and convert it."""
    src = tmp_path / "spans.jsonl"
    src.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    out = tmp_path / "raw"
    summary = convert(src, out, options or Options())
    events_path = out / "task_events.parquet"
    return Converted(
        summary,
        pq.read_table(out / "inference_calls.parquet").to_pylist(),
        pq.read_table(events_path).to_pylist() if events_path.exists() else [],
    )


# --------------------------------------------------------------------------------------------
# Unit tests of the mapping.
# --------------------------------------------------------------------------------------------


def test_status_mapping(tmp_path: Path) -> None:
    doc = export(
        [
            chat("0000000000000001", status_code=2, attrs={"error.type": "APITimeoutError"}),
            chat("0000000000000002", status_code=2, attrs={"error.type": "httpx.ReadTimeout"}),
            chat("0000000000000003", status_code=2, attrs={"error.type": "CancelledError"}),
            chat("0000000000000004", status_code=2, attrs={"error.type": "InternalServerError"}),
            chat("0000000000000005", status_code=2),
            chat("0000000000000006", status_code=1),
            chat("0000000000000007"),
            chat("0000000000000008", status_code=0, attrs={"error.type": "Timeout"}),
            chat("0000000000000009", status_code="STATUS_CODE_ERROR"),
        ]
    )
    got = run_convert(tmp_path, doc)
    statuses = {c["call_id"][-1]: c["status"] for c in got.calls}
    assert statuses == {
        "1": "timeout",
        "2": "timeout",
        "3": "cancelled",
        "4": "error",
        "5": "error",
        "6": "ok",
        "7": "ok",
        "8": "ok",  # error.type without an error status is not a failure
        "9": "error",  # enum name, as MessageToDict writes it
    }


def test_provider_is_lowercased_and_old_names_coalesce(tmp_path: Path) -> None:
    old = {
        "gen_ai.operation.name": None,
        "gen_ai.provider.name": None,
        "gen_ai.system": "OpenAI",
        "llm.request.type": "chat",
        "gen_ai.usage.input_tokens": None,
        "gen_ai.usage.output_tokens": None,
        "gen_ai.usage.prompt_tokens": 1000,
        "gen_ai.usage.completion_tokens": 200,
        "gen_ai.usage.cache_read_input_tokens": 256,
    }
    anthropic = {"gen_ai.provider.name": "Anthropic", "gen_ai.request.model": "claude-sonnet-4"}
    got = run_convert(
        tmp_path,
        export([chat("00000000000000a1", attrs=old), chat("00000000000000a2", attrs=anthropic)]),
    )
    a1, a2 = got.call("00000000000000a1"), got.call("00000000000000a2")
    assert (a1["provider"], a1["region"], a1["gpu_type"]) == ("openai", "openai-us", None)
    assert (a1["input_tokens"], a1["cached_input_tokens"], a1["output_tokens"]) == (1000, 256, 200)
    assert (a2["provider"], a2["region"]) == ("anthropic", "anthropic-us")


def test_int_and_double_token_attributes(tmp_path: Path) -> None:
    got = run_convert(
        tmp_path,
        export(
            [
                chat("00000000000000b1", attrs={"gen_ai.usage.input_tokens": 120}),
                chat(
                    "00000000000000b2",
                    attrs={
                        "gen_ai.usage.input_tokens": 120.0,
                        "gen_ai.usage.output_tokens": 30.0,
                        "gen_ai.usage.cache_read.input_tokens": 64.0,
                    },
                ),
            ]
        ),
    )
    b1, b2 = got.call("00000000000000b1"), got.call("00000000000000b2")
    assert (b1["input_tokens"], b1["cached_input_tokens"], b1["output_tokens"]) == (120, 0, 10)
    assert (b2["input_tokens"], b2["cached_input_tokens"], b2["output_tokens"]) == (120, 64, 30)
    # b1 had no cache figure: written as 0 but counted as unknown.
    assert got.summary.calls_without_cache_figure == 1


def test_model_prefers_request_alias(tmp_path: Path) -> None:
    got = run_convert(
        tmp_path,
        export(
            [
                chat("00000000000000c1"),
                chat("00000000000000c2", attrs={"gen_ai.request.model": None}),
            ]
        ),
    )
    assert got.call("00000000000000c1")["model"] == "gpt-4o"
    assert got.call("00000000000000c2")["model"] == "gpt-4o-2024-08-06"


def test_non_inference_spans_are_skipped_and_counted(tmp_path: Path, capsys) -> None:
    doc = export(
        [
            chat("00000000000000d1"),
            chat("00000000000000d2", attrs={"gen_ai.operation.name": "embeddings"}),
            chat("00000000000000d3", attrs={"gen_ai.operation.name": "execute_tool"}),
            chat("00000000000000d4", attrs={"gen_ai.operation.name": "invoke_agent"}),
            span("00000000000000d5", attrs={"http.request.method": "POST"}),
            # OpenLLMetry's pre-convention embedding span: model and usage, no operation name.
            span(
                "00000000000000d6",
                attrs={
                    "llm.request.type": "embedding",
                    "gen_ai.system": "OpenAI",
                    "gen_ai.request.model": "text-embedding-3-small",
                    "gen_ai.usage.prompt_tokens": 12,
                },
            ),
            # No operation name but a model and usage: an inference call.
            span(
                "00000000000000d7",
                attrs={
                    "gen_ai.system": "openai",
                    "gen_ai.request.model": "gpt-4o",
                    "gen_ai.usage.input_tokens": 5,
                    "gen_ai.usage.output_tokens": 1,
                },
            ),
        ]
    )
    src = tmp_path / "spans.jsonl"
    src.write_text(json.dumps(doc) + "\n", encoding="utf-8")
    assert main(["--spans", str(src), "--out", str(tmp_path / "raw")]) == 0
    printed = capsys.readouterr().out
    calls = pq.read_table(tmp_path / "raw" / "inference_calls.parquet").to_pylist()
    assert sorted(c["call_id"][-2:] for c in calls) == ["d1", "d7"]
    assert "read 7 spans from 1 file(s)" in printed
    assert "2 became inference calls, 5 skipped" in printed
    assert "skipped 1: operation embeddings (not an inference call)" in printed
    assert "skipped 1: operation embedding (not an inference call)" in printed
    assert "skipped 1: operation execute_tool (not an inference call)" in printed
    assert "skipped 1: operation invoke_agent (not an inference call)" in printed
    assert "skipped 1: not a GenAI inference span" in printed


def test_task_id_from_attribute_ancestor_or_trace_id(tmp_path: Path) -> None:
    opts = Options(task_attribute="app.task.id")
    root = span("00000000000000e1", attrs={"app.task.id": "task-42"})
    children = [
        # Trace A: the task id sits on the root, two levels above this call.
        span("00000000000000e2", parent="00000000000000e1"),
        chat("00000000000000e3", parent="00000000000000e2"),
        # Set on the call itself, it wins over the root's.
        chat("00000000000000e4", parent="00000000000000e1", attrs={"app.task.id": "own"}),
        # Trace B: no task attribute anywhere -> the trace id.
        chat("00000000000000f1", trace_id=TRACE_B),
    ]
    # Children often come before their parents in a Collector file, and in another line.
    doc_children, doc_root = export(children), export([root])
    got = run_convert(tmp_path, doc_children, doc_root, options=opts)
    assert got.call("00000000000000e3")["task_id"] == "task-42"
    assert got.call("00000000000000e4")["task_id"] == "own"
    assert got.call("00000000000000f1")["task_id"] == TRACE_B
    assert got.call("00000000000000f1")["call_id"] == f"{TRACE_B}-00000000000000f1"
    assert (got.summary.calls_task_from_attribute, got.summary.calls_task_from_trace) == (2, 1)


def test_derived_task_events(tmp_path: Path) -> None:
    opts = Options(
        task_attribute="app.task.id",
        feature_attribute="app.feature",
        default_feature="summarize",
        outcome_events={"task.completed": "completed", "task.abandoned": "abandoned"},
        outcome_attribute="app.outcome",
    )
    attempt_1 = span(
        "0000000000000011",
        start_s=0,
        end_s=5,
        attrs={"app.task.id": "t-1", "app.feature": "chat_answer", "user.id": "u-1"},
    )
    attempt_2 = span(
        "0000000000000021",
        trace_id=TRACE_B,
        start_s=10,
        end_s=20,
        attrs={"app.task.id": "t-1", "app.feature": "chat_answer"},
        events=[("task.completed", 19), ("user.clicked", 18)],
    )
    other = span(
        "0000000000000031",
        trace_id="1" * 32,
        start_s=30,
        end_s=40,
        attrs={"app.task.id": "t-2", "app.outcome": "Escalated"},
    )
    doc = export(
        [
            attempt_1,
            chat("0000000000000012", parent="0000000000000011", start_s=1, end_s=2),
            attempt_2,
            chat("0000000000000022", trace_id=TRACE_B, parent=attempt_2["spanId"], start_s=11),
            other,
            chat("0000000000000032", trace_id="1" * 32, parent="0000000000000031", start_s=31),
        ]
    )
    got = run_convert(tmp_path, doc, options=opts)
    events = sorted(
        (e["task_id"], e["event_type"], e["event_at"], e["feature"], e["user_id"])
        for e in got.events
    )
    at = ns_to_dt
    assert events == [
        ("t-1", "completed", at(T0 + 19 * 10**9), "chat_answer", "u-1"),
        ("t-1", "retried", at(T0 + 10 * 10**9), "chat_answer", "u-1"),
        ("t-1", "started", at(T0 + 1 * 10**9), "chat_answer", "u-1"),
        ("t-2", "escalated", at(T0 + 40 * 10**9), "summarize", None),
        ("t-2", "started", at(T0 + 31 * 10**9), "summarize", None),
    ]
    assert {e["outcome_source"] for e in got.events} == {OUTCOME_SOURCE} == {"derived_from_spans"}
    assert len({e["event_id"] for e in got.events}) == len(got.events)


def test_no_outcome_rule_writes_only_started_events(tmp_path: Path, capsys) -> None:
    src = tmp_path / "spans.json"
    # One pretty-printed document is accepted as well as one document per line.
    src.write_text(json.dumps(export([chat("0000000000000041")]), indent=2), encoding="utf-8")
    assert main(["--spans", str(src), "--out", str(tmp_path / "raw")]) == 0
    assert "no terminal task events" in capsys.readouterr().out
    events = pq.read_table(tmp_path / "raw" / "task_events.parquet").to_pylist()
    assert [e["event_type"] for e in events] == ["started"]
    assert events[0]["feature"] is None


def test_self_hosted_gpu_and_region(tmp_path: Path) -> None:
    vllm = {"gen_ai.provider.name": None, "gen_ai.request.model": "llama-3.1-8b-instruct"}
    got = run_convert(
        tmp_path,
        export(
            [
                # gpu.type on the span: own accelerators, even through an OpenAI client.
                chat("0000000000000051", attrs={"gpu.type": "B200", "task_watts.batch_size": 32}),
                # GPU from --gpu-type, no vendor provider.
                chat("0000000000000052", attrs=vllm),
                # OpenAI client pointed at a local server, GPU from --gpu-type.
                chat("0000000000000053", attrs={"server.address": "127.0.0.1"}),
                # The real vendor: the application's cloud.region is not where it serves.
                chat("0000000000000054", attrs={"server.address": "api.openai.com"}),
            ],
            resource={"cloud.region": "us-east-1"},
        ),
        options=Options(gpu_type="H100", gpu_count=2),
    )
    assert [
        (c["provider"], c["gpu_type"], c["gpu_count"], c["region"], c["batch_size"])
        for c in sorted(got.calls, key=lambda c: c["call_id"])
    ] == [
        ("self_hosted", "B200", 2, "us-east-1", 32),
        ("self_hosted", "H100", 2, "us-east-1", None),
        ("self_hosted", "H100", 2, "us-east-1", None),
        ("openai", None, None, "openai-us", None),
    ]


def test_region_option_overrides_vendor_default(tmp_path: Path) -> None:
    got = run_convert(tmp_path, export([chat("0000000000000061")]), options=Options(region="x"))
    assert got.calls[0]["region"] == "x"


def test_folder_input_duplicates_and_base64_ids(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    doc = export([chat("0000000000000071")])
    (folder / "a.jsonl").write_text(json.dumps(doc) + "\n" + json.dumps(doc) + "\n")
    b64 = chat("0000000000000072")
    b64["traceId"] = base64.b64encode(bytes.fromhex(TRACE_A)).decode()
    b64["spanId"] = base64.b64encode(bytes.fromhex("0000000000000072")).decode()
    (folder / "b.json").write_text(json.dumps(export([b64]), indent=1))
    (folder / "notes.txt").write_text("not an export")
    summary = convert(folder, tmp_path / "raw", Options())
    calls = pq.read_table(tmp_path / "raw" / "inference_calls.parquet").to_pylist()
    assert sorted(c["call_id"] for c in calls) == [
        f"{TRACE_A}-0000000000000071",
        f"{TRACE_A}-0000000000000072",
    ]
    assert (summary.files, summary.spans_read, summary.duplicate_spans) == (2, 3, 1)


def test_timestamps_are_naive_utc_microseconds(tmp_path: Path) -> None:
    s = chat("0000000000000081")
    s["startTimeUnixNano"] = "1795168800123456789"
    s["endTimeUnixNano"] = 1795168801000000999  # an exporter writing a JSON number
    got = run_convert(tmp_path, export([s]))
    assert got.calls[0]["started_at"] == datetime(2026, 11, 20, 10, 0, 0, 123456)
    assert got.calls[0]["ended_at"] == datetime(2026, 11, 20, 10, 0, 1, 0)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("this is not json\n", "not an OTLP/JSON trace export"),
        ('{"resourceLogs": []}\n', "document 1 has no resourceSpans"),
        ('{"resourceSpans": "oops"}\n', "not an OTLP/JSON trace export"),
    ],
)
def test_malformed_input_names_the_file(tmp_path: Path, capsys, content: str, message: str) -> None:
    src = tmp_path / "broken.jsonl"
    src.write_text(content, encoding="utf-8")
    with pytest.raises(OtlpInputError, match=message) as info:
        convert(src, tmp_path / "raw", Options())
    assert str(src) in str(info.value)
    # The command prints one line naming the file and exits 2: no traceback.
    assert main(["--spans", str(src), "--out", str(tmp_path / "raw")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {src}") and "Traceback" not in err
    assert not (tmp_path / "raw" / "inference_calls.parquet").exists()


def test_missing_input_and_bad_outcome_option(tmp_path: Path, capsys) -> None:
    assert main(["--spans", str(tmp_path / "nope"), "--out", str(tmp_path)]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--spans", "x", "--out", "y", "--outcome-event", "task.done=finished"])


# --------------------------------------------------------------------------------------------
# Real spans: openai client + openai-v2 instrumentation + a local stub server.
# --------------------------------------------------------------------------------------------

# What the stub answers, by the user's message: response id, prompt, completion and cached
# tokens. openai-v2 exports prompt and completion tokens but not the cached ones.
STUB_REPLIES = {
    "question a, first": ("chatcmpl-a1", 1200, 300, 512),
    "question a, follow-up": ("chatcmpl-a2", 800, 150, 0),
    "question b, second try": ("chatcmpl-b2", 400, 80, 128),
}
SLOW_MESSAGE = "question b, first try"  # the stub answers too late: the client times out
CLIENT_TIMEOUT_S = 0.3


class StubOpenAI(BaseHTTPRequestHandler):
    """Just enough of the OpenAI API: /chat/completions and /embeddings."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path.endswith("/embeddings"):
            reply: dict[str, Any] = {
                "object": "list",
                "model": body["model"],
                "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}],
                "usage": {"prompt_tokens": 7, "total_tokens": 7},
            }
        else:
            message = body["messages"][-1]["content"]
            if message == SLOW_MESSAGE:
                time.sleep(CLIENT_TIMEOUT_S * 4)
            response_id, prompt, completion, cached = STUB_REPLIES.get(
                message, ("chatcmpl-x", 1, 1, 0)
            )
            reply = {
                "id": response_id,
                "object": "chat.completion",
                "created": 1_795_000_000,
                "model": "gpt-4o-2024-08-06",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "an answer"},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                    "prompt_tokens_details": {"cached_tokens": cached},
                },
            }
        data = json.dumps(reply).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (the timeout case)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def stub_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), StubOpenAI)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1"
    finally:
        server.shutdown()
        server.server_close()


def _b64_to_hex(value: str) -> str:
    return base64.b64decode(value).hex()


def to_collector_document(spans: Any) -> dict[str, Any]:
    """The SDK's OTLP protobuf as JSON, shaped as the Collector's file exporter writes it."""
    from google.protobuf.json_format import MessageToDict
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    doc = MessageToDict(encode_spans(spans), use_integers_for_enums=True)
    for resource_spans in doc["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            for s in scope_spans["spans"]:
                # proto3 JSON writes bytes as base64; OTLP/JSON wants lowercase hex ids and
                # the Collector writes an empty parentSpanId on roots.
                s["traceId"] = _b64_to_hex(s["traceId"])
                s["spanId"] = _b64_to_hex(s["spanId"])
                s["parentSpanId"] = _b64_to_hex(s.get("parentSpanId", ""))
    return doc


def generate_sdk_export(base_url: str) -> list[dict[str, Any]]:
    """Run a small instrumented application; return its spans as Collector file lines.

    Task a: two chat calls under one root span, then a ``task.completed`` span event.
    Task b: a call that times out under one root span, the retry under a second root span
    with the same task id, an embeddings call (not inference), then ``task.completed``.
    """
    import openai
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "assistant"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        client = openai.OpenAI(
            base_url=base_url, api_key="stub", max_retries=0, timeout=CLIENT_TIMEOUT_S
        )
        tracer = provider.get_tracer("assistant-app")

        def ask(message: str) -> None:
            client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": message}]
            )

        with tracer.start_as_current_span("answer a", attributes={"app.task.id": "a"}) as root:
            ask("question a, first")
            ask("question a, follow-up")
            root.add_event("task.completed")
        with (
            tracer.start_as_current_span("answer b #1", attributes={"app.task.id": "b"}),
            pytest.raises(openai.APITimeoutError),
        ):
            ask(SLOW_MESSAGE)
        with tracer.start_as_current_span("answer b #2", attributes={"app.task.id": "b"}) as root:
            client.embeddings.create(model="text-embedding-3-small", input="b")
            ask("question b, second try")
            root.add_event("task.completed")
    finally:
        instrumentor.uninstrument()
    provider.force_flush()
    # One export batch per line, as a Collector does.
    return [to_collector_document(exporter.get_finished_spans())]


# Hand-written spans with the OLD attribute names (OpenLLMetry 0.40 style: gen_ai.system
# "OpenAI", prompt/completion tokens, cache_read_input_tokens, llm.request.type, no operation
# name) and a self-hosted service with the current names. Task "old-1" completes by a span
# event, task "new-1" by an outcome attribute.
HAND_WRITTEN_OTLP = """
{"resourceSpans": [{
  "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "legacy"}}]},
  "scopeSpans": [{"scope": {"name": "opentelemetry.instrumentation.openai.v1"}, "spans": [
    {"traceId": "5b8aa5a2d2c872e8321cf37308d69df2", "spanId": "5fb397be34d26b51",
     "parentSpanId": "051581bf3cb55c13", "name": "openai.chat",
     "startTimeUnixNano": "1795168801000000000", "endTimeUnixNano": "1795168804500000000",
     "attributes": [
       {"key": "llm.request.type", "value": {"stringValue": "chat"}},
       {"key": "gen_ai.system", "value": {"stringValue": "OpenAI"}},
       {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}},
       {"key": "gen_ai.response.model", "value": {"stringValue": "gpt-4o-2024-08-06"}},
       {"key": "gen_ai.usage.prompt_tokens", "value": {"intValue": "1000"}},
       {"key": "gen_ai.usage.completion_tokens", "value": {"doubleValue": 200.0}},
       {"key": "gen_ai.usage.cache_read_input_tokens", "value": {"intValue": "256"}},
       {"key": "llm.usage.total_tokens", "value": {"intValue": "1200"}}],
     "status": {"code": 1}},
    {"traceId": "5b8aa5a2d2c872e8321cf37308d69df2", "spanId": "6ab2f7c1d8e90a12",
     "parentSpanId": "051581bf3cb55c13", "name": "anthropic.chat",
     "startTimeUnixNano": "1795168805000000000", "endTimeUnixNano": "1795168806000000000",
     "attributes": [
       {"key": "llm.request.type", "value": {"stringValue": "chat"}},
       {"key": "gen_ai.system", "value": {"stringValue": "Anthropic"}},
       {"key": "gen_ai.request.model", "value": {"stringValue": "claude-sonnet-4"}},
       {"key": "gen_ai.usage.prompt_tokens", "value": {"doubleValue": 500}},
       {"key": "gen_ai.usage.completion_tokens", "value": {"intValue": "50"}},
       {"key": "error.type", "value": {"stringValue": "anthropic.InternalServerError"}}],
     "status": {"code": 2, "message": "overloaded"}},
    {"traceId": "5b8aa5a2d2c872e8321cf37308d69df2", "spanId": "7c3e9f0a1b2c3d4e",
     "parentSpanId": "051581bf3cb55c13", "name": "openai.embeddings",
     "startTimeUnixNano": "1795168800500000000", "endTimeUnixNano": "1795168800700000000",
     "attributes": [
       {"key": "llm.request.type", "value": {"stringValue": "embedding"}},
       {"key": "gen_ai.system", "value": {"stringValue": "OpenAI"}},
       {"key": "gen_ai.request.model", "value": {"stringValue": "text-embedding-3-small"}},
       {"key": "gen_ai.usage.prompt_tokens", "value": {"intValue": "12"}}]}]},
   {"scope": {"name": "legacy-app"}, "spans": [
    {"traceId": "5b8aa5a2d2c872e8321cf37308d69df2", "spanId": "051581bf3cb55c13",
     "parentSpanId": "", "name": "POST /ask",
     "startTimeUnixNano": "1795168800000000000", "endTimeUnixNano": "1795168811000000000",
     "attributes": [
       {"key": "app.task.id", "value": {"stringValue": "old-1"}},
       {"key": "app.feature", "value": {"stringValue": "chat_answer"}},
       {"key": "user.id", "value": {"stringValue": "u-42"}}],
     "events": [{"name": "task.completed", "timeUnixNano": "1795168810000000000"}]}]}]},
 {"resource": {"attributes": [
    {"key": "service.name", "value": {"stringValue": "rag"}},
    {"key": "cloud.region", "value": {"stringValue": "us-east-1"}}]},
  "scopeSpans": [{"scope": {"name": "rag-app"}, "spans": [
    {"traceId": "9e107d9d372bb6826bd81d3542a419d6", "spanId": "a1b2c3d4e5f60718",
     "parentSpanId": "b2c3d4e5f6071829", "name": "chat llama-3.1-8b-instruct",
     "startTimeUnixNano": "1795168900250000000", "endTimeUnixNano": "1795168903000000000",
     "attributes": [
       {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
       {"key": "gen_ai.request.model", "value": {"stringValue": "llama-3.1-8b-instruct"}},
       {"key": "gpu.type", "value": {"stringValue": "H100"}},
       {"key": "gpu.count", "value": {"intValue": "1"}},
       {"key": "task_watts.batch_size", "value": {"intValue": "32"}},
       {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "2000"}},
       {"key": "gen_ai.usage.output_tokens", "value": {"doubleValue": 300.0}},
       {"key": "gen_ai.usage.cache_read.input_tokens", "value": {"intValue": "1024"}}],
     "status": {}},
    {"traceId": "9e107d9d372bb6826bd81d3542a419d6", "spanId": "c3d4e5f60718293a",
     "parentSpanId": "b2c3d4e5f6071829", "name": "execute_tool search",
     "startTimeUnixNano": "1795168900100000000", "endTimeUnixNano": "1795168900200000000",
     "attributes": [
       {"key": "gen_ai.operation.name", "value": {"stringValue": "execute_tool"}}]},
    {"traceId": "9e107d9d372bb6826bd81d3542a419d6", "spanId": "b2c3d4e5f6071829",
     "parentSpanId": "", "name": "rag answer",
     "startTimeUnixNano": "1795168900000000000", "endTimeUnixNano": "1795168904000000000",
     "attributes": [
       {"key": "app.task.id", "value": {"stringValue": "new-1"}},
       {"key": "app.feature", "value": {"stringValue": "doc_qa"}},
       {"key": "app.task.outcome", "value": {"stringValue": "completed"}}]}]}]}]}
"""

# The same calls and events written directly in the contract, worked out by hand. SDK rows
# take their ids and times from the exported spans ({placeholders}); their tokens are what
# the stub answered, with cached_input_tokens 0 because openai-v2 does not export the
# cached figure the stub sent (512 and 128).
EXPECTED_CALLS_CSV = """\
call_id,task_id,started_at,ended_at,model,provider,region,gpu_type,gpu_count,batch_size,input_tokens,cached_input_tokens,output_tokens,status,measured_energy_j
{a1_id},a,{a1_start},{a1_end},gpt-4o,openai,openai-us,,,,1200,0,300,ok,
{a2_id},a,{a2_start},{a2_end},gpt-4o,openai,openai-us,,,,800,0,150,ok,
{b1_id},b,{b1_start},{b1_end},gpt-4o,openai,openai-us,,,,0,0,0,timeout,
{b2_id},b,{b2_start},{b2_end},gpt-4o,openai,openai-us,,,,400,0,80,ok,
5b8aa5a2d2c872e8321cf37308d69df2-5fb397be34d26b51,old-1,2026-11-20 10:00:01,2026-11-20 10:00:04.5,gpt-4o,openai,openai-us,,,,1000,256,200,ok,
5b8aa5a2d2c872e8321cf37308d69df2-6ab2f7c1d8e90a12,old-1,2026-11-20 10:00:05,2026-11-20 10:00:06,claude-sonnet-4,anthropic,anthropic-us,,,,500,0,50,error,
9e107d9d372bb6826bd81d3542a419d6-a1b2c3d4e5f60718,new-1,2026-11-20 10:01:40.25,2026-11-20 10:01:43,llama-3.1-8b-instruct,self_hosted,us-east-1,H100,1,32,2000,1024,300,ok,
"""  # noqa: E501
EXPECTED_EVENTS_CSV = """\
event_id,task_id,feature,event_type,event_at,user_id,quality_score
e1,a,chat_answer,started,{a1_start},,
e2,a,chat_answer,completed,{a_done},,
e3,b,chat_answer,started,{b1_start},,
e4,b,chat_answer,retried,{b_root2_start},,
e5,b,chat_answer,completed,{b_done},,
e6,old-1,chat_answer,started,2026-11-20 10:00:01,u-42,
e7,old-1,chat_answer,completed,2026-11-20 10:00:10,u-42,
e8,new-1,doc_qa,started,2026-11-20 10:01:40.25,,
e9,new-1,doc_qa,completed,2026-11-20 10:01:44,,
"""
CONVERT_ARGS = (
    "--task-attribute", "app.task.id",
    "--feature-attribute", "app.feature",
    "--default-feature", "chat_answer",
    "--outcome-event", "task.completed=completed",
    "--outcome-attribute", "app.task.outcome",
)  # fmt: skip


def _spans_by_name(lines: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for doc in lines:
        for rs in doc["resourceSpans"]:
            for ss in rs["scopeSpans"]:
                for s in ss["spans"]:
                    found.setdefault(s["name"], []).append(s)
    return found


def _attribute(s: dict[str, Any], key: str) -> Any:
    for a in s.get("attributes", []):
        if a["key"] == key:
            return next(iter(a["value"].values()))
    return None


def expected_placeholders(lines: list[dict[str, Any]]) -> dict[str, str]:
    """Ids and times of the SDK spans, read from the export with dict look-ups."""
    by_name = _spans_by_name(lines)
    chats = by_name["chat gpt-4o"]
    by_response = {_attribute(s, "gen_ai.response.id"): s for s in chats}
    (timed_out,) = [s for s in chats if s.get("status", {}).get("code") == 2]
    calls = {
        "a1": by_response["chatcmpl-a1"],
        "a2": by_response["chatcmpl-a2"],
        "b1": timed_out,
        "b2": by_response["chatcmpl-b2"],
    }
    out: dict[str, str] = {}
    for key, s in calls.items():
        out[f"{key}_id"] = f"{s['traceId']}-{s['spanId']}"
        out[f"{key}_start"] = str(ns_to_dt(s["startTimeUnixNano"]))
        out[f"{key}_end"] = str(ns_to_dt(s["endTimeUnixNano"]))
    (root_a,) = by_name["answer a"]
    (root_b2,) = by_name["answer b #2"]
    out["a_done"] = str(ns_to_dt(root_a["events"][0]["timeUnixNano"]))
    out["b_done"] = str(ns_to_dt(root_b2["events"][0]["timeUnixNano"]))
    out["b_root2_start"] = str(ns_to_dt(root_b2["startTimeUnixNano"]))
    return out


@pytest.fixture(scope="module")
def sdk_export(stub_url: str) -> list[dict[str, Any]]:
    return generate_sdk_export(stub_url)


def write_mixed_export(sdk_lines: list[dict[str, Any]], path: Path) -> None:
    """The SDK lines and the hand-written old/new-name document in one Collector file."""
    hand_written = json.loads(HAND_WRITTEN_OTLP)
    lines = [*sdk_lines, hand_written]
    path.write_text("".join(json.dumps(d) + "\n" for d in lines), encoding="utf-8")


TIMESTAMP_COLUMNS = {"started_at", "ended_at", "event_at"}


def as_text(row: dict[str, Any], columns: list[str]) -> tuple[str, ...]:
    """A Parquet or CSV row as comparable text: empty for null, one timestamp spelling."""
    out = []
    for column in columns:
        value = row[column]
        if value is None or value == "":
            out.append("")
        elif column in TIMESTAMP_COLUMNS and isinstance(value, str):
            out.append(str(datetime.fromisoformat(value)))
        else:
            out.append(str(value))
    return tuple(out)


def test_real_sdk_spans_convert_to_the_expected_rows(sdk_export, tmp_path: Path) -> None:
    """The converted Parquet holds exactly the hand-worked rows (no dbt involved)."""
    src = tmp_path / "spans.jsonl"
    write_mixed_export(sdk_export, src)
    summary = convert(src, tmp_path / "raw", _options_from_args(CONVERT_ARGS))
    ph = expected_placeholders(sdk_export)

    want_calls = list(csv.DictReader(EXPECTED_CALLS_CSV.format(**ph).splitlines()))
    got_calls = pq.read_table(tmp_path / "raw" / "inference_calls.parquet").to_pylist()
    columns = list(want_calls[0])
    assert sorted(as_text(r, columns) for r in got_calls) == sorted(
        as_text(r, columns) for r in want_calls
    )
    # Event ids are the converter's own; the rest of each event is compared.
    want_events = list(csv.DictReader(EXPECTED_EVENTS_CSV.format(**ph).splitlines()))
    got_events = pq.read_table(tmp_path / "raw" / "task_events.parquet").to_pylist()
    columns = [c for c in want_events[0] if c != "event_id"]
    assert sorted(as_text(r, columns) for r in got_events) == sorted(
        as_text(r, columns) for r in want_events
    )
    # SDK: 4 chat + 1 embeddings + 3 root spans; by hand: 3 calls, 1 embeddings, 1 tool, 2 roots.
    assert (summary.spans_read, summary.calls, summary.skipped_total) == (15, 7, 8)
    assert summary.calls_without_cache_figure == 5  # the 4 openai-v2 calls + anthropic


def _options_from_args(args: tuple[str, ...]) -> Options:
    """The same options the command line would build (keeps one source for both tests)."""
    from python_helpers.ingest.otlp import build_parser

    parsed = build_parser().parse_args(["--spans", "x", "--out", "y", *args])
    return Options(
        task_attribute=parsed.task_attribute,
        feature_attribute=parsed.feature_attribute,
        default_feature=parsed.default_feature,
        outcome_events=dict(parsed.outcome_event),
        outcome_attribute=parsed.outcome_attribute,
    )


def test_committed_sdk_fixture_still_converts(tmp_path: Path) -> None:
    """A file the real SDK wrote (no network, no openai needed) keeps converting."""
    summary = convert(SDK_FIXTURE, tmp_path / "raw", _options_from_args(CONVERT_ARGS))
    calls = pq.read_table(tmp_path / "raw" / "inference_calls.parquet").to_pylist()
    assert summary.calls == 4
    assert sorted((c["task_id"], c["status"], c["input_tokens"]) for c in calls) == [
        ("a", "ok", 800),
        ("a", "ok", 1200),
        ("b", "ok", 400),
        ("b", "timeout", 0),
    ]


def test_live_sdk_attributes_match_the_committed_fixture(sdk_export) -> None:
    """Bumping the instrumentation pins must not silently change what it emits."""

    def keys(lines: list[dict[str, Any]]) -> set[tuple[str, str]]:
        return {
            (name.split(" ")[0], a["key"])
            for name, spans in _spans_by_name(lines).items()
            for s in spans
            for a in s.get("attributes", [])
        }

    committed = [json.loads(line) for line in SDK_FIXTURE.read_text().splitlines() if line]
    assert keys(sdk_export) == keys(committed)


# --------------------------------------------------------------------------------------------
# End to end through dbt.
# --------------------------------------------------------------------------------------------


def dbt_build(raw_dir: Path, work_dir: Path) -> Path:
    """``dbt build`` of the project on ``raw_dir`` into a DuckDB file under ``work_dir``."""
    db_path = work_dir / "task_watts.duckdb"
    result = harness.run_dbt("build", raw_dir, db_path, work_dir)
    failures = [
        f"{r.node.name}: {r.message}"
        for r in (result.result or [])
        if str(getattr(r.status, "value", r.status)) in {"error", "fail", "runtime error"}
    ]
    assert result.success and not failures, f"dbt build failed: {result.exception} {failures}"
    return db_path


def mart_rows(db_path: Path, mart: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        rows = con.execute(f"select * from {mart}").fetchall()
    return sorted(rows, key=lambda r: tuple((v is None, str(v)) for v in r))


def assert_same_rows(mart: str, got: list[tuple], want: list[tuple]) -> None:
    assert len(got) == len(want), f"{mart}: {len(got)} rows vs {len(want)}"
    for g, w in zip(got, want, strict=True):
        for i, (a, b) in enumerate(zip(g, w, strict=True)):
            if isinstance(a, float) and isinstance(b, float):
                same = math.isclose(a, b, rel_tol=1e-12) or (math.isnan(a) and math.isnan(b))
            else:
                same = a == b
            assert same, f"{mart} column {i}: {a!r} != {b!r}\n got  {g}\n want {w}"


@pytest.mark.e2e
def test_marts_from_spans_equal_marts_from_the_contract(sdk_export, tmp_path: Path) -> None:
    src = tmp_path / "spans.jsonl"
    write_mixed_export(sdk_export, src)
    from_spans = tmp_path / "raw_from_spans"
    assert main(["--spans", str(src), "--out", str(from_spans), *CONVERT_ARGS]) == 0

    ph = expected_placeholders(sdk_export)
    by_hand = tmp_path / "raw_by_hand"
    by_hand.mkdir()
    (by_hand / "inference_calls.csv").write_text(EXPECTED_CALLS_CSV.format(**ph))
    (by_hand / "task_events.csv").write_text(EXPECTED_EVENTS_CSV.format(**ph))

    db_spans = dbt_build(from_spans, tmp_path / "build_spans")
    db_hand = dbt_build(by_hand, tmp_path / "build_hand")
    for mart in PUBLIC_MARTS:
        got, want = mart_rows(db_spans, mart), mart_rows(db_hand, mart)
        assert got, f"{mart} is empty"
        assert_same_rows(mart, got, want)

    with duckdb.connect(str(db_spans), read_only=True) as con:
        tasks = con.execute(
            "select task_id, outcome, call_count, retries from fct_task_footprint order by 1"
        ).fetchall()
        priced = con.execute(
            "select count(*) from fct_inference_call_footprint where facility_wh > 0"
        ).fetchall()[0][0]
    assert tasks == [
        ("a", "completed", 2, 0),
        ("b", "completed", 2, 1),
        ("new-1", "completed", 1, 0),
        ("old-1", "completed", 2, 0),
    ]
    # Every call with tokens is priced (the timed-out SDK call carries none).
    assert priced == 6
