"""Deterministic synthetic workload for task-watts (two quarters: 2026-Q2 and 2026-Q3).

Writes the raw input contract of the project (see the design notes):

* ``inference_calls.parquet``: one row per LLM call, tagged with the task it serves;
* ``task_events.parquet``: the product-analytics side (started/retried/terminal/rated events);
* ``grid_intensity_hourly.csv``: an illustrative hourly carbon-intensity profile for 2026-Q3.

Everything is drawn from ``numpy.random.default_rng`` seeded from ``seed`` (no wall clock), and
generated with vectorised numpy in fixed-size chunks of tasks, so the same seed and size give
byte-identical files and memory stays bounded however many calls are requested.

The numbers below (token medians, outcome rates, latencies, per-token energy, batch mixes) are
the generator's own illustrative choices for a plausible workload, not measurements and not the
project's seeds. The story it encodes: ``summarize`` moves from qwen3-32b to the smaller
llama-3.1-8b-instruct on 2026-07-01; each call gets cheaper, but completion falls and retries
rise, so the energy per *completed* task goes up.

Run as ``task-watts sample --calls N --seed S --out DIR [--broken]``.
"""

from __future__ import annotations

import argparse
import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

# --------------------------------------------------------------------------------------------
# Time axis. All instants are int64 microseconds since the Unix epoch, naive UTC.
# --------------------------------------------------------------------------------------------

US_PER_S = 1_000_000
US_PER_HOUR = 3600 * US_PER_S


def _us(iso: str) -> int:
    """Microseconds since the epoch for a naive-UTC ISO timestamp."""
    return int(np.datetime64(iso, "us").astype(np.int64))


PERIOD_START_US = _us("2026-04-01T00:00:00")
# Exclusive end and extraction cutoff: nothing after it is in the raw files.
PERIOD_END_US = _us("2026-10-01T00:00:00")
SUMMARIZE_SWITCH_US = _us("2026-07-01T00:00:00")
N_HOURS = (PERIOD_END_US - PERIOD_START_US) // US_PER_HOUR

CALLS_FILE = "inference_calls.parquet"
EVENTS_FILE = "task_events.parquet"
GRID_FILE = "grid_intensity_hourly.csv"
#: Marks the folder as generated: only here may dbt pseudonymise user ids under the public
#: demo key with no key set (macros/hash_user_id.sql, pseudonym_key_source).
SAMPLE_MARKER = "_task_watts_sample"

# Tasks per chunk: fixes the RNG stream layout (so output is independent of machine) and
# bounds the working set to a few hundred MB whatever the requested size.
TASKS_PER_CHUNK = 250_000

# --------------------------------------------------------------------------------------------
# Canonical ids (design.md) plus the generator's illustrative serving characteristics.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelSpec:
    """A model as served: canonical ids plus illustrative speed and energy figures."""

    name: str
    tier: str
    provider: str
    gpu_type: str | None
    gpu_count: int | None
    decode_tok_s: float  # vendor APIs: per-sequence decode speed
    ttft_s: float  # queueing + scheduling before the first token
    prefill_tok_s: float  # vendor APIs: uncached prompt tokens processed per second
    j_per_token: float  # self-hosted: accelerator J per decoded token at reference_batch
    reference_batch: int  # batch at which j_per_token holds
    replica_tdp_w: float  # rated power of the replica's GPUs together (0 for vendor APIs)


# Self-hosted J/token are the published ML.ENERGY v3 measurements for the same model, GPU and
# batch (ml-energy/leaderboard public/data/models/*.json), so the generated latencies and
# telemetry energies are physically consistent with what such a deployment draws.
_SH = "self_hosted"
MODELS: tuple[ModelSpec, ...] = (
    ModelSpec("llama-3.1-8b-instruct", "small", _SH, "H100", 1, 0, 0.12, 0, 0.1186, 64, 7e2),
    ModelSpec("qwen3-30b-a3b", "small", _SH, "B200", 1, 0, 0.12, 0, 0.1571, 128, 1000),
    ModelSpec("qwen3-32b", "medium", _SH, "B200", 1, 0, 0.25, 0, 0.2086, 128, 1000),
    ModelSpec("qwen3-235b-a22b-fp8", "large", _SH, "B200", 4, 0, 0.45, 0, 0.9769, 128, 4e3),
    ModelSpec("gpt-4o", "large", "openai", None, None, 40, 0.45, 5_000, np.nan, 64, 0),
    ModelSpec("claude-sonnet-4", "frontier", "anthropic", None, None, 30, 0.7, 4e3, np.nan, 64, 0),
)  # fmt: skip
MODEL_INDEX = {m.name: i for i, m in enumerate(MODELS)}
GPU_TYPES: tuple[str, ...] = ("H100", "B200")
PROVIDERS: tuple[str, ...] = ("self_hosted", "openai", "anthropic")
REGIONS: tuple[str, ...] = (
    "us-central1",
    "europe-west1",
    "us-east-1",
    "francecentral",
    "openai-us",
    "anthropic-us",
)
TIER_QUALITY = {"small": 0.74, "medium": 0.80, "large": 0.84, "frontier": 0.88}

STATUSES: tuple[str, ...] = ("ok", "error", "timeout", "cancelled")
# Marginal shares of failed statuses among all calls (ok is the remainder).
FAIL_SHARES = np.array([0.015, 0.010, 0.005])

EVENT_TYPES: tuple[str, ...] = (
    "started",
    "retried",
    "completed",
    "abandoned",
    "escalated",
    "rated",
)
EV_STARTED, EV_RETRIED, EV_COMPLETED, EV_ABANDONED, EV_ESCALATED, EV_RATED = range(6)

BATCH_SIZES = np.array([1, 2, 4, 8, 16, 32, 64, 128, 256], dtype=np.int32)
# Energy per token relative to batch 64 at each of BATCH_SIZES: the ML.ENERGY v3 median for
# 8-256, continued log-linearly below 8 (never measured there).
BATCH_RELATIVE_ENERGY = np.array([16.565, 10.055, 6.104, 3.705, 2.249, 1.503, 1.0, 0.7038, 0.5288])
# Share of the replica's rated power drawn while serving at each of BATCH_SIZES: ML.ENERGY v3
# measured 64-98% of TDP from batch 8 up; smaller batches are memory-bound and draw less.
BATCH_POWER_SHARE = np.array([0.45, 0.50, 0.60, 0.70, 0.80, 0.85, 0.85, 0.85, 0.85])
# Prefill work per uncached input token, and per cached one, in decode-token equivalents.
PREFILL_TOKEN_WEIGHT = 0.2
CACHED_TOKEN_WEIGHT = 0.1
BATCH_UNKNOWN_SHARE = 0.08  # serving logs that lost the batch context
MAX_ATTEMPTS = 7
RATED_SHARE = 0.30
OPEN_RAMP_US = 24 * US_PER_HOUR  # tasks this close to the cutoff may still be open
# Abandoning users who just leave: no abandoned event is ever logged for these tasks.
SILENT_ABANDON_SHARE = 0.3
# Share of us-central1 calls served by the telemetry-enabled node pool (~15% of self-hosted).
TELEMETRY_SHARE_US_CENTRAL1 = 0.60


@dataclass(frozen=True)
class FeatureSpec:
    """A user-visible feature: where it runs, its traffic shape and its token profile."""

    name: str
    task_share: float
    region: str
    utc_offset_h: int  # users' local time in summer, drives the diurnal cycle
    diurnal_amp: float  # 0 = flat day, 1 = all traffic in working hours
    weekend_factor: float
    input_median: float
    output_median: float
    cache_hit_mean: float
    calls_per_attempt: int
    timeout_s: float
    difficulty: float  # lowers the rating mean relative to the model tier
    batch_probs: tuple[float, ...] | None  # over BATCH_SIZES; None for vendor APIs


# Models per feature (and the summarize cutover) live in OUTCOMES below.
# Columns: name, task share, region, users' UTC offset, diurnal amplitude, weekend factor,
# input median, output median, cache-hit mean, calls per attempt, timeout s, difficulty,
# batch-size mix over BATCH_SIZES.
FEATURES: tuple[FeatureSpec, ...] = (
    FeatureSpec("summarize",    0.20, "us-central1",  -5, 0.8, 0.45, 3000,  250, 0.85, 1,  60, 0.06,
                (0.02, 0.03, 0.08, 0.17, 0.25, 0.22, 0.15, 0.06, 0.02)),
    FeatureSpec("chat_answer",  0.32, "europe-west1",  2, 0.7, 0.60, 1500,  350, 0.60, 1,  60, 0.02,
                (0.22, 0.22, 0.20, 0.15, 0.10, 0.06, 0.03, 0.015, 0.005)),
    FeatureSpec("code_assist",  0.10, "us-east-1",    -4, 0.9, 0.30, 6000,  600, 0.50, 2, 120, 0.06,
                (0.30, 0.25, 0.20, 0.13, 0.07, 0.03, 0.015, 0.005, 0.0)),
    FeatureSpec("doc_qa",       0.12, "francecentral", 2, 0.8, 0.40, 4000,  300, 0.25, 1,  60, 0.05,
                (0.05, 0.07, 0.12, 0.20, 0.24, 0.18, 0.10, 0.03, 0.01)),
    # Deferrable batch jobs: flat day, packed into big batches.
    FeatureSpec("translate",    0.08, "europe-west1",  2, 0.2, 0.85,  800,  800, 0.80, 1, 300, 0.00,
                (0.0, 0.0, 0.01, 0.02, 0.04, 0.08, 0.15, 0.35, 0.35)),
    FeatureSpec("support_reply", 0.14, "openai-us",   -5, 0.7, 0.50, 2000,  400, 0.40, 1,  60, 0.04,
                None),
    FeatureSpec("report_draft", 0.04, "anthropic-us", -5, 0.6, 0.50, 5000, 1500, 0.30, 1, 600, 0.03,
                None),
)  # fmt: skip
FEATURE_INDEX = {f.name: i for i, f in enumerate(FEATURES)}


@dataclass(frozen=True)
class OutcomeSpec:
    """Task outcomes for a feature on a model, for tasks started from ``from_us`` on."""

    feature: str
    model: str
    from_us: int
    p_complete: float
    p_escalate: float
    mean_retries: float


OUTCOMES: tuple[OutcomeSpec, ...] = (
    # The story: the small model completes far fewer summaries and users retry a lot more.
    OutcomeSpec("summarize", "qwen3-32b", PERIOD_START_US, 0.93, 0.0, 0.10),
    OutcomeSpec("summarize", "llama-3.1-8b-instruct", SUMMARIZE_SWITCH_US, 0.55, 0.0, 1.20),
    OutcomeSpec("chat_answer", "qwen3-30b-a3b", PERIOD_START_US, 0.88, 0.0, 0.15),
    OutcomeSpec("code_assist", "qwen3-235b-a22b-fp8", PERIOD_START_US, 0.82, 0.0, 0.25),
    OutcomeSpec("doc_qa", "qwen3-32b", PERIOD_START_US, 0.85, 0.0, 0.20),
    OutcomeSpec("translate", "llama-3.1-8b-instruct", PERIOD_START_US, 0.93, 0.0, 0.05),
    OutcomeSpec("support_reply", "gpt-4o", PERIOD_START_US, 0.82, 0.10, 0.15),
    OutcomeSpec("report_draft", "claude-sonnet-4", PERIOD_START_US, 0.90, 0.0, 0.20),
)

# Per-index lookup tables so per-row work is pure numpy fancy indexing.
_F_REGION = np.array([REGIONS.index(f.region) for f in FEATURES], dtype=np.int8)
_F_CPA = np.array([f.calls_per_attempt for f in FEATURES], dtype=np.int64)
_F_IN_MED = np.array([f.input_median for f in FEATURES])
_F_OUT_MED = np.array([f.output_median for f in FEATURES])
_F_CACHE = np.array([f.cache_hit_mean for f in FEATURES])
_F_TIMEOUT = np.array([f.timeout_s for f in FEATURES])
_F_DIFFICULTY = np.array([f.difficulty for f in FEATURES])
_V_FEATURE = np.array([FEATURE_INDEX[o.feature] for o in OUTCOMES], dtype=np.int8)
_V_MODEL = np.array([MODEL_INDEX[o.model] for o in OUTCOMES], dtype=np.int8)
_V_COMPLETE = np.array([o.p_complete for o in OUTCOMES])
_V_ESCALATE = np.array([o.p_escalate for o in OUTCOMES])
_V_RETRIES = np.array([o.mean_retries for o in OUTCOMES])
_V_QUALITY = (
    np.array([TIER_QUALITY[MODELS[MODEL_INDEX[o.model]].tier] for o in OUTCOMES])
    - _F_DIFFICULTY[_V_FEATURE]
)
_M_PROVIDER = np.array([PROVIDERS.index(m.provider) for m in MODELS], dtype=np.int8)
_M_SELF_HOSTED = np.array([m.provider == "self_hosted" for m in MODELS])
_M_GPU = np.array([GPU_TYPES.index(m.gpu_type) if m.gpu_type else 0 for m in MODELS], np.int8)
_M_GPU_COUNT = np.array([m.gpu_count or 0 for m in MODELS], dtype=np.int32)
_M_DECODE = np.array([m.decode_tok_s for m in MODELS])
_M_TTFT = np.array([m.ttft_s for m in MODELS])
_M_PREFILL = np.array([m.prefill_tok_s for m in MODELS])
_M_J_PER_TOKEN = np.array([m.j_per_token for m in MODELS])
_M_REF_BATCH_INDEX = np.array(
    [int(np.flatnonzero(m.reference_batch == BATCH_SIZES)[0]) for m in MODELS]
)
_M_REPLICA_TDP = np.array([m.replica_tdp_w for m in MODELS])


def _batch_cdf() -> np.ndarray:
    """Cumulative batch-size distribution per feature (rows of ones for vendor features)."""
    probs = np.array([f.batch_probs or (1.0,) + (0.0,) * (len(BATCH_SIZES) - 1) for f in FEATURES])
    return np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)


_F_BATCH_CDF = _batch_cdf()

# --------------------------------------------------------------------------------------------
# Output schemas (the raw-file contract).
# --------------------------------------------------------------------------------------------

TS = pa.timestamp("us")
CALLS_SCHEMA = pa.schema(
    [
        ("call_id", pa.string()),
        ("task_id", pa.string()),
        ("started_at", TS),
        ("ended_at", TS),
        ("model", pa.string()),
        ("provider", pa.string()),
        ("region", pa.string()),
        ("gpu_type", pa.string()),
        ("gpu_count", pa.int32()),
        ("batch_size", pa.int32()),
        ("input_tokens", pa.int64()),
        ("cached_input_tokens", pa.int64()),
        ("output_tokens", pa.int64()),
        ("status", pa.string()),
        ("measured_energy_j", pa.float64()),
    ]
)
EVENTS_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("task_id", pa.string()),
        ("feature", pa.string()),
        ("event_type", pa.string()),
        ("event_at", TS),
        ("user_id", pa.string()),
        ("quality_score", pa.float64()),
    ]
)


@dataclass(frozen=True)
class WorkloadSummary:
    """What :func:`write_sample_workload` wrote."""

    calls: int
    tasks: int
    events: int
    open_tasks: int
    grid_rows: int
    files: tuple[Path, ...]


# --------------------------------------------------------------------------------------------
# Small vectorised helpers.
# --------------------------------------------------------------------------------------------


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expand parents with ``counts`` children: (parent index, position in parent, first child)."""
    first = np.cumsum(counts) - counts
    parent = np.repeat(np.arange(len(counts)), counts)
    position = np.arange(int(counts.sum())) - np.repeat(first, counts)
    return parent, position, first


def _group_cumsum(values: np.ndarray, counts: np.ndarray, *, inclusive: bool) -> np.ndarray:
    """Cumulative sum restarting at each group of ``counts`` consecutive rows."""
    total = np.cumsum(values)
    exclusive = total - values
    first = np.cumsum(counts) - counts
    base = np.repeat(exclusive[first], counts)
    return (total if inclusive else exclusive) - base


def _lognormal(
    rng: np.random.Generator, median: np.ndarray | float, sigma: float, n: int
) -> np.ndarray:
    """Lognormal draws parameterised by their median, which is how the profiles are quoted."""
    return np.asarray(median) * np.exp(sigma * rng.standard_normal(n))


def _beta_mean(rng: np.random.Generator, mean: np.ndarray, concentration: float) -> np.ndarray:
    """Beta draws parameterised by mean and concentration (a + b)."""
    mean = np.clip(mean, 1e-3, 1 - 1e-3)
    return rng.beta(mean * concentration, (1.0 - mean) * concentration)


def _seconds_to_us(seconds: np.ndarray) -> np.ndarray:
    """Round durations to whole microseconds, the resolution of the timestamps."""
    return np.rint(seconds * US_PER_S).astype(np.int64)


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Format ``prefix`` + zero-padded numbers with arrow kernels (no Python loop)."""
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _labels(names: Sequence[str], codes: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    """Map integer codes to their string labels (dictionary decode), optionally masked to null."""
    indices = pa.array(codes.astype(np.int32), mask=null)
    return pa.DictionaryArray.from_arrays(indices, pa.array(names)).cast(pa.string())


def _timestamps(us: np.ndarray) -> pa.Array:
    """Naive-UTC timestamp[us] array from int64 microseconds."""
    return pa.array(us.astype("datetime64[us]"), TS)


# --------------------------------------------------------------------------------------------
# Tasks: when they start, on which model, how many attempts, how they end.
# --------------------------------------------------------------------------------------------

GROWTH = 0.10  # task volume grows ~10% over the two quarters
TASKS_PER_USER = 15


def expected_calls_per_task() -> float:
    """Mean calls per task implied by the feature mix and outcome specs (sizes the task count)."""
    span = PERIOD_END_US - PERIOD_START_US
    total = 0.0
    for v, spec in enumerate(OUTCOMES):
        feature = FEATURES[_V_FEATURE[v]]
        later = [
            o.from_us for o in OUTCOMES if o.feature == spec.feature and o.from_us > spec.from_us
        ]
        covered = (min([*later, PERIOD_END_US]) - spec.from_us) / span
        total += feature.task_share * covered * feature.calls_per_attempt * (1 + spec.mean_retries)
    return total / sum(f.task_share for f in FEATURES)


def _hourly_weights(spec: FeatureSpec) -> np.ndarray:
    """Relative task volume in each hour of the period: working hours, weekends, mild growth."""
    hours = np.arange(N_HOURS)
    local = hours + spec.utc_offset_h
    local_hour = local % 24
    start_day = PERIOD_START_US // (24 * US_PER_HOUR)
    weekday = (start_day + local // 24 + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    working = np.exp(-((local_hour - 13.5) ** 2) / (2 * 3.5**2))
    weight = (1.0 - spec.diurnal_amp) + spec.diurnal_amp * working
    weight = weight * np.where(weekday >= 5, spec.weekend_factor, 1.0)
    return weight * (1.0 + GROWTH * hours / N_HOURS)


def _task_starts(rng: np.random.Generator, n_tasks: int) -> tuple[np.ndarray, np.ndarray]:
    """Start instant (us) and feature code of every task, sorted by start instant."""
    shares = np.array([f.task_share for f in FEATURES])
    counts = rng.multinomial(n_tasks, shares / shares.sum())
    starts, features = [], []
    for code, (spec, count) in enumerate(zip(FEATURES, counts, strict=True)):
        weights = _hourly_weights(spec)
        hour = rng.choice(N_HOURS, size=count, p=weights / weights.sum())
        starts.append(PERIOD_START_US + hour * US_PER_HOUR + rng.integers(0, US_PER_HOUR, count))
        features.append(np.full(count, code, dtype=np.int8))
    t0, feature = np.concatenate(starts), np.concatenate(features)
    order = np.lexsort((feature, t0))
    return t0[order], feature[order]


def _task_users(rng: np.random.Generator, n_tasks: int) -> np.ndarray:
    """User number per task: about one user per TASKS_PER_USER tasks, a few heavy users."""
    n_users = max(1, round(n_tasks / TASKS_PER_USER))
    rank = np.floor(n_users * rng.random(n_tasks) ** 1.5).astype(np.int64)
    return rng.permutation(n_users)[rank]


def _task_variants(t0: np.ndarray, feature: np.ndarray) -> np.ndarray:
    """Outcome variant per task; routing is sticky, so a task keeps the model it started on."""
    variant = np.zeros(len(t0), dtype=np.int8)
    for v, spec in enumerate(OUTCOMES):  # later variants of a feature override earlier ones
        variant[(feature == _V_FEATURE[v]) & (t0 >= spec.from_us)] = v
    return variant


def _task_outcomes(rng: np.random.Generator, variant: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Attempts per task (1 + retries) and the terminal event type it would reach."""
    attempts = 1 + np.minimum(rng.poisson(_V_RETRIES[variant]), MAX_ATTEMPTS - 1)
    u = rng.random(len(variant))
    p_complete = _V_COMPLETE[variant]
    escalate = u < p_complete + _V_ESCALATE[variant]
    terminal = np.where(
        u < p_complete, EV_COMPLETED, np.where(escalate, EV_ESCALATED, EV_ABANDONED)
    )
    return attempts.astype(np.int64), terminal.astype(np.int8)


# --------------------------------------------------------------------------------------------
# Calls: tokens, status, batch, latency, measured energy.
# --------------------------------------------------------------------------------------------


@dataclass
class _Layout:
    """Index arrays tying calls to attempts and attempts to tasks (all chunk-local)."""

    attempts: np.ndarray  # per task
    att_task: np.ndarray  # per attempt
    att_no: np.ndarray  # per attempt, 0 = first
    att_first: np.ndarray  # per task: index of its first attempt
    calls_per_att: np.ndarray  # per attempt
    call_att: np.ndarray  # per call
    step: np.ndarray  # per call, position inside its attempt
    call_first: np.ndarray  # per attempt: index of its first call

    @property
    def call_task(self) -> np.ndarray:
        """Task index of every call."""
        return self.att_task[self.call_att]


def _layout(attempts: np.ndarray, feature: np.ndarray) -> _Layout:
    """Expand tasks into attempts and attempts into calls."""
    att_task, att_no, att_first = _expand(attempts)
    calls_per_att = _F_CPA[feature[att_task]]
    call_att, step, call_first = _expand(calls_per_att)
    return _Layout(attempts, att_task, att_no, att_first, calls_per_att, call_att, step, call_first)


def _tokens(
    rng: np.random.Generator, lay: _Layout, feature: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Input, cached-input and output tokens per call (before failure truncation)."""
    task = lay.call_task
    feat_c = feature[task]
    n = len(task)
    # One prompt per task, re-sent on retries; the code_assist answer step adds the tool result.
    prompt = _lognormal(rng, _F_IN_MED[feature], 0.7, len(feature))
    tool_growth = np.where(lay.step > 0, 1.25, 1.0)
    inputs = np.maximum(
        np.rint(prompt[task] * tool_growth * np.exp(0.08 * rng.standard_normal(n))), 16
    )
    # Retries re-send a prefix the server has just seen, so they hit the cache more.
    cold = _F_CACHE[feat_c]
    retry = lay.att_no[lay.call_att] > 0
    hit = _beta_mean(rng, np.where(retry, cold + 0.5 * (1.0 - cold), cold), 10.0)
    # vLLM-style prefix caching reuses whole KV blocks only, so count full 16-token blocks.
    cached = np.floor(inputs * hit / 16.0) * 16.0
    outputs = np.maximum(np.rint(_lognormal(rng, _F_OUT_MED[feat_c], 0.6, n)), 1)
    return inputs.astype(np.int64), cached.astype(np.int64), outputs.astype(np.int64)


def _statuses(rng: np.random.Generator, protected: np.ndarray) -> np.ndarray:
    """Status code per call; ``protected`` calls (the completing attempt) are always ok.

    Failures are concentrated on the other calls so the overall mix stays near FAIL_SHARES.
    """
    eligible_share = float(np.mean(~protected)) if len(protected) else 0.0
    scale = min(1.0 / eligible_share, 0.5 / FAIL_SHARES.sum()) if eligible_share > 0 else 0.0
    bucket = np.searchsorted(np.cumsum(FAIL_SHARES * scale), rng.random(len(protected)), "right")
    status = np.where(bucket == len(FAIL_SHARES), 0, bucket + 1)
    return np.where(protected, 0, status).astype(np.int8)


def _truncate_failed(rng: np.random.Generator, outputs: np.ndarray, status: np.ndarray):
    """Failed calls stop early: keep a random fraction of the planned output tokens."""
    low = np.array([1.0, 0.0, 0.3, 0.0])[status]  # ok, error, timeout, cancelled
    high = np.array([1.0, 0.2, 0.9, 0.7])[status]
    keep = low + (high - low) * rng.random(len(status))
    return np.floor(outputs * keep).astype(np.int64)


def _batch_sizes(rng: np.random.Generator, feat_c: np.ndarray) -> np.ndarray:
    """Concurrent sequences in the engine when the call ran (1 for vendor calls, never shown)."""
    u = rng.random(len(feat_c))
    batch = np.ones(len(feat_c), dtype=np.int32)
    for code in range(len(FEATURES)):
        mask = feat_c == code
        pick = np.searchsorted(_F_BATCH_CDF[code], u[mask], "right")
        batch[mask] = BATCH_SIZES[np.minimum(pick, len(BATCH_SIZES) - 1)]
    return batch


def _work_tokens(uncached: np.ndarray, cached: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    """Decode-token equivalents of a call's work (prefill is cheaper per token, hits cheaper)."""
    return outputs + PREFILL_TOKEN_WEIGHT * (uncached + CACHED_TOKEN_WEIGHT * cached)


def _j_per_token(model_c: np.ndarray, batch: np.ndarray) -> np.ndarray:
    """Accelerator J per decode-token equivalent at the call's batch (self-hosted models)."""
    at_batch = BATCH_RELATIVE_ENERGY[np.searchsorted(BATCH_SIZES, batch)]
    return _M_J_PER_TOKEN[model_c] * at_batch / BATCH_RELATIVE_ENERGY[_M_REF_BATCH_INDEX[model_c]]


def _latency_s(
    rng: np.random.Generator,
    model_c: np.ndarray,
    feat_c: np.ndarray,
    uncached: np.ndarray,
    cached: np.ndarray,
    outputs: np.ndarray,
    batch: np.ndarray,
    status: np.ndarray,
) -> np.ndarray:
    """Wall-clock seconds per call: time to first token, then the work; timeouts cut off.

    A self-hosted call's work takes as long as its replica needs to spend the call's energy
    share at the power it draws: its J x batch / (power share x rated power). Contention only
    slows calls down, so no call implies more than the rated power.
    """
    n = len(model_c)
    ttft = _M_TTFT[model_c] * np.exp(0.3 * rng.standard_normal(n))
    slowdown = 1.0 + np.abs(0.15 * rng.standard_normal(n))
    self_hosted = _M_SELF_HOSTED[model_c]
    power_w = BATCH_POWER_SHARE[np.searchsorted(BATCH_SIZES, batch)] * _M_REPLICA_TDP[model_c]
    work_j = _work_tokens(uncached, cached, outputs) * _j_per_token(model_c, batch)
    served = np.where(self_hosted, work_j * batch / np.where(self_hosted, power_w, 1.0), 0.0)
    vendor = uncached / np.maximum(_M_PREFILL[model_c], 1) + outputs / np.maximum(
        _M_DECODE[model_c], 1
    )
    timeout = _F_TIMEOUT[feat_c]
    latency = ttft + np.where(self_hosted, served, np.minimum(vendor, 0.98 * timeout)) * slowdown
    # A timeout ends at the client's deadline, but a self-hosted replica that was still working
    # on the call's tokens held its GPUs until it had spent their energy: never shorter than that.
    timed_out = timeout * (1.0 + 0.02 * rng.random(n))
    latency = np.where(
        status == 2, np.maximum(timed_out, np.where(self_hosted, latency, 0.0)), latency
    )
    return np.maximum(latency, 0.005)


def _measured_energy_j(
    rng: np.random.Generator,
    model_c: np.ndarray,
    region_c: np.ndarray,
    uncached: np.ndarray,
    cached: np.ndarray,
    outputs: np.ndarray,
    batch: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Energy reported by the telemetry-enabled fleet, and which calls have it."""
    n = len(model_c)
    fleet = (region_c == REGIONS.index("us-central1")) & _M_SELF_HOSTED[model_c]
    measured = fleet & (rng.random(n) < TELEMETRY_SHARE_US_CENTRAL1)
    joules = _work_tokens(uncached, cached, outputs) * _j_per_token(model_c, batch)
    noise = np.exp(0.15 * rng.standard_normal(n))
    return np.where(measured, np.round(joules * noise, 3), 0.0), measured


# --------------------------------------------------------------------------------------------
# One chunk of tasks -> calls and events tables.
# --------------------------------------------------------------------------------------------

# Median seconds from the last call's end to the terminal event, per terminal event type.
_TERMINAL_DELAY_S = {EV_COMPLETED: 15.0, EV_ABANDONED: 180.0, EV_ESCALATED: 40.0}


@dataclass(frozen=True)
class _ChunkInput:
    """The tasks of one chunk, in start order, with their global numbers."""

    t0: np.ndarray
    feature: np.ndarray
    task_no: np.ndarray
    user_no: np.ndarray
    first_call_no: int
    first_event_no: int


@dataclass(frozen=True)
class _ChunkOutput:
    calls: pa.Table
    events: pa.Table
    open_tasks: int


def _call_times(
    rng: np.random.Generator, lay: _Layout, t0: np.ndarray, latency_us: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Call start instants, attempt start instants and each task's last call end.

    Calls of an attempt run back to back (the code_assist answer waits for its tool step);
    the next attempt starts after the user has read the result and decided to retry.
    """
    n_calls, n_att = len(latency_us), len(lay.att_task)
    lead_s = np.where(
        lay.step == 0, rng.uniform(0.02, 0.25, n_calls), _lognormal(rng, 1.5, 0.7, n_calls)
    )
    busy = _seconds_to_us(lead_s) + latency_us
    start_in_att = _group_cumsum(busy, lay.calls_per_att, inclusive=True) - latency_us
    span = np.add.reduceat(busy, lay.call_first)
    think = _seconds_to_us(_lognormal(rng, 20.0, 0.8, n_att))
    att_start = t0[lay.att_task] + _group_cumsum(span + think, lay.attempts, inclusive=False)
    last_att = lay.att_first + lay.attempts - 1
    return att_start[lay.call_att] + start_in_att, att_start, att_start[last_att] + span[last_att]


def _terminal_times(
    rng: np.random.Generator, t0: np.ndarray, terminal: np.ndarray, last_end: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Terminal instants and which tasks are still open at the extraction cutoff."""
    n = len(t0)
    median = np.select(
        [terminal == code for code in _TERMINAL_DELAY_S], list(_TERMINAL_DELAY_S.values())
    )
    at = last_end + _seconds_to_us(_lognormal(rng, median, 0.9, n))
    # Near the cutoff some users have simply not come back yet (~1% of all tasks).
    ramp = np.clip((t0 - (PERIOD_END_US - OPEN_RAMP_US)) / OPEN_RAMP_US, 0.0, 1.0)
    is_open = (rng.random(n) < ramp) | (at >= PERIOD_END_US)
    return at, is_open


def _simulate_chunk(rng: np.random.Generator, chunk: _ChunkInput) -> _ChunkOutput:
    """Generate all calls and events for one chunk of tasks."""
    t0, feature = chunk.t0, chunk.feature
    variant = _task_variants(t0, feature)
    attempts, terminal = _task_outcomes(rng, variant)
    lay = _layout(attempts, feature)
    task_c = lay.call_task
    feat_c, model_c = feature[task_c], _V_MODEL[variant[task_c]]

    inputs, cached, outputs = _tokens(rng, lay, feature)
    completing = (terminal[task_c] == EV_COMPLETED) & (
        lay.att_no[lay.call_att] == attempts[task_c] - 1
    )
    status = _statuses(rng, completing)
    outputs = _truncate_failed(rng, outputs, status)
    self_hosted = _M_SELF_HOSTED[model_c]
    batch = np.where(self_hosted, _batch_sizes(rng, feat_c), 1).astype(np.int32)
    batch_unknown = ~self_hosted | (rng.random(len(task_c)) < BATCH_UNKNOWN_SHARE)
    latency_us = _seconds_to_us(
        _latency_s(rng, model_c, feat_c, inputs - cached, cached, outputs, batch, status)
    )
    call_start, att_start, last_end = _call_times(rng, lay, t0, latency_us)
    terminal_at, is_open = _terminal_times(rng, t0, terminal, last_end)
    # Some abandoning users just leave: their tasks never get a terminal event.
    is_open |= (terminal == EV_ABANDONED) & (rng.random(len(t0)) < SILENT_ABANDON_SHARE)
    region_c = _F_REGION[feat_c]
    energy, measured = _measured_energy_j(
        rng, model_c, region_c, inputs - cached, cached, outputs, batch
    )

    rated = (terminal == EV_COMPLETED) & ~is_open & (rng.random(len(t0)) < RATED_SHARE)
    rated_at = terminal_at + _seconds_to_us(_lognormal(rng, 60.0, 1.0, len(t0)))
    rated &= rated_at < PERIOD_END_US
    quality = np.round(_beta_mean(rng, _V_QUALITY[variant], 8.0), 4)

    # Nothing that happens after the cutoff has been logged yet.
    keep = call_start + latency_us < PERIOD_END_US
    order = np.flatnonzero(keep)[np.argsort(call_start[keep], kind="stable")]
    columns = {
        "call_id": _ids("c_", chunk.first_call_no + np.arange(len(order)), 9),
        "task_id": _ids("t_", chunk.task_no[task_c[order]], 8),
        "started_at": _timestamps(call_start[order]),
        "ended_at": _timestamps(call_start[order] + latency_us[order]),
        "model": _labels([m.name for m in MODELS], model_c[order]),
        "provider": _labels(PROVIDERS, _M_PROVIDER[model_c[order]]),
        "region": _labels(REGIONS, region_c[order]),
        "gpu_type": _labels(GPU_TYPES, _M_GPU[model_c[order]], ~self_hosted[order]),
        "gpu_count": pa.array(_M_GPU_COUNT[model_c[order]], pa.int32(), ~self_hosted[order]),
        "batch_size": pa.array(batch[order], pa.int32(), batch_unknown[order]),
        "input_tokens": pa.array(inputs[order], pa.int64()),
        "cached_input_tokens": pa.array(cached[order], pa.int64()),
        "output_tokens": pa.array(outputs[order], pa.int64()),
        "status": _labels(STATUSES, status[order]),
        "measured_energy_j": pa.array(energy[order], pa.float64(), ~measured[order]),
    }
    calls = pa.table(columns, schema=CALLS_SCHEMA)

    retried = (lay.att_no > 0) & (att_start < PERIOD_END_US)
    closed = np.flatnonzero(~is_open)
    rated_idx = np.flatnonzero(rated)
    ev_task = np.concatenate([np.arange(len(t0)), lay.att_task[retried], closed, rated_idx])
    ev_type = np.concatenate(
        [
            np.full(len(t0), EV_STARTED, np.int8),
            np.full(int(retried.sum()), EV_RETRIED, np.int8),
            terminal[closed],
            np.full(len(rated_idx), EV_RATED, np.int8),
        ]
    )
    ev_at = np.concatenate([t0, att_start[retried], terminal_at[closed], rated_at[rated_idx]])
    ev_order = np.argsort(ev_at, kind="stable")
    ev_task, ev_type, ev_at = ev_task[ev_order], ev_type[ev_order], ev_at[ev_order]
    is_rating = ev_type == EV_RATED
    events = pa.table(
        {
            "event_id": _ids("e_", chunk.first_event_no + np.arange(len(ev_task)), 9),
            "task_id": _ids("t_", chunk.task_no[ev_task], 8),
            "feature": _labels([f.name for f in FEATURES], feature[ev_task]),
            "event_type": _labels(EVENT_TYPES, ev_type),
            "event_at": _timestamps(ev_at),
            "user_id": _ids("u_", chunk.user_no[ev_task], 6),
            "quality_score": pa.array(quality[ev_task], pa.float64(), ~is_rating),
        },
        schema=EVENTS_SCHEMA,
    )
    return _ChunkOutput(calls, events, int(is_open.sum()))


# --------------------------------------------------------------------------------------------
# Hourly grid intensity (2026-Q3 only, so Q2 exercises the annual fallback).
# --------------------------------------------------------------------------------------------

GRID_SOURCE = "illustrative: synthetic diurnal profile around the annual figure, not a measurement"
# zone, annual gCO2e/kWh (as in the grid seed), summer UTC offset of local solar time
GRID_ZONES: tuple[tuple[str, float, int], ...] = (("US-MIDW-MISO", 412.72, -5), ("BE", 103.37, 2))
GRID_AMPLITUDE = 0.18
GRID_NOISE_SIGMA = 0.04


def _diurnal_shape(local_hour: np.ndarray) -> np.ndarray:
    """Zero-mean daily shape in [-1, 1]: evening peak, morning shoulder, midday solar dip."""
    h = np.arange(24.0)
    raw = (
        0.5 * np.cos(2 * np.pi * (h - 19) / 24)
        + 0.25 * np.cos(4 * np.pi * (h - 8) / 24)
        - 0.6 * np.exp(-((h - 13) ** 2) / 8.0)
    )
    raw -= raw.mean()
    return (raw / np.abs(raw).max())[local_hour]


def _grid_table(rng: np.random.Generator) -> pa.Table:
    """Hourly intensity per zone for 2026-07-01 .. 2026-09-30, averaging ~the annual figure."""
    hours = np.arange((PERIOD_END_US - SUMMARIZE_SWITCH_US) // US_PER_HOUR)
    starts = SUMMARIZE_SWITCH_US + hours * US_PER_HOUR
    zones, stamps, values = [], [], []
    for zone, annual, offset in GRID_ZONES:
        shape = _diurnal_shape((hours + offset) % 24)
        # Mean-one lognormal noise keeps the quarterly mean on the annual figure.
        noise = np.exp(GRID_NOISE_SIGMA * rng.standard_normal(len(hours)) - GRID_NOISE_SIGMA**2 / 2)
        values.append(np.round(annual * (1.0 + GRID_AMPLITUDE * shape) * noise, 2))
        zones.append(np.full(len(hours), zone))
        stamps.append(starts)
    stamp_arr = pa.array(np.concatenate(stamps).astype("datetime64[us]")).cast(pa.timestamp("s"))
    return pa.table(
        {
            "grid_zone": pa.array(np.concatenate(zones).tolist(), pa.string()),
            "hour_start_at": pc.strftime(stamp_arr, "%Y-%m-%d %H:%M:%S"),
            "gco2e_per_kwh": pa.array(np.concatenate(values), pa.float64()),
            "source": pa.array([GRID_SOURCE] * (len(hours) * len(GRID_ZONES)), pa.string()),
        }
    )


def _write_csv(table: pa.Table, path: Path) -> None:
    """Plain CSV, quoting only where needed (the source text contains a comma)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(table.column_names)
        writer.writerows(zip(*(col.to_pylist() for col in table.columns), strict=True))


# --------------------------------------------------------------------------------------------
# Deliberately broken rows (only with broken=True / --broken) to exercise the data tests.
# --------------------------------------------------------------------------------------------

BROKEN_MODEL = "mystery-model-9b"
BROKEN_REGION = "mars-north-1"


def _broken_calls(template: pa.Table, next_call_no: int, n_tasks: int) -> pa.Table:
    """Copies of a valid call, each with exactly one defect, plus an exact duplicate row."""
    base = template.to_pylist()[0]
    defects: list[dict[str, object]] = [
        {"task_id": f"t_{n_tasks:08d}"},  # BROKEN: task with no events
        {"output_tokens": -42},  # BROKEN: negative token count
        {"cached_input_tokens": base["input_tokens"] + 64},  # BROKEN: cached > input
        {"model": BROKEN_MODEL},  # BROKEN: model missing from the seeds
        {"region": BROKEN_REGION},  # BROKEN: region missing from the seeds
    ]
    rows = [
        {**base, **defect, "call_id": f"c_{next_call_no + i:09d}"}
        for i, defect in enumerate(defects)
    ]
    rows.append(dict(base))  # BROKEN: duplicate call_id (a replayed log line)
    return pa.Table.from_pylist(rows, schema=CALLS_SCHEMA)


# --------------------------------------------------------------------------------------------
# Entry points.
# --------------------------------------------------------------------------------------------


def write_sample_workload(
    out_dir: Path, n_calls: int = 200_000, seed: int = 42, broken: bool = False
) -> WorkloadSummary:
    """Write the three raw files for about ``n_calls`` calls into ``out_dir``.

    The task count is ``round(n_calls / expected_calls_per_task())``; the realised call count
    is returned. Same ``seed`` and ``n_calls`` give byte-identical files.
    """
    if n_calls < 1:
        raise ValueError("n_calls must be positive")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    setup_seq, grid_seq, chunks_seq = np.random.SeedSequence(seed).spawn(3)
    setup = np.random.default_rng(setup_seq)
    n_tasks = max(1, round(n_calls / expected_calls_per_task()))
    t0, feature = _task_starts(setup, n_tasks)
    users = _task_users(setup, n_tasks)
    bounds = range(0, n_tasks, TASKS_PER_CHUNK)
    chunk_rngs = [np.random.default_rng(s) for s in chunks_seq.spawn(len(bounds))]

    paths = (out_dir / CALLS_FILE, out_dir / EVENTS_FILE, out_dir / GRID_FILE)
    n_written, n_events, n_open = 0, 0, 0
    template: pa.Table | None = None
    with (
        pq.ParquetWriter(paths[0], CALLS_SCHEMA, compression="zstd") as calls_writer,
        pq.ParquetWriter(paths[1], EVENTS_SCHEMA, compression="zstd") as events_writer,
    ):
        for rng, lo in zip(chunk_rngs, bounds, strict=True):
            hi = min(lo + TASKS_PER_CHUNK, n_tasks)
            part = _simulate_chunk(
                rng,
                _ChunkInput(t0[lo:hi], feature[lo:hi], np.arange(lo, hi), users[lo:hi],
                            n_written, n_events),
            )  # fmt: skip
            calls_writer.write_table(part.calls)
            events_writer.write_table(part.events)
            if template is None and part.calls.num_rows:
                template = part.calls.slice(0, 1)
            n_written += part.calls.num_rows
            n_events += part.events.num_rows
            n_open += part.open_tasks
        if broken:
            if template is None:
                raise ValueError("no calls generated to derive broken rows from")
            bad = _broken_calls(template, n_written, n_tasks)
            calls_writer.write_table(bad)
            n_written += bad.num_rows

    grid = _grid_table(np.random.default_rng(grid_seq))
    _write_csv(grid, paths[2])
    (out_dir / SAMPLE_MARKER).write_text(
        "Generated by `task-watts sample`: synthetic users, pseudonymised under the public demo "
        "key when no TASK_WATTS_PSEUDONYM_KEY is set. Never put real telemetry in this folder.\n",
        encoding="utf-8",
    )
    return WorkloadSummary(n_written, n_tasks, n_events, n_open, grid.num_rows, paths)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; prints a one-line summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200_000, help="approximate number of calls")
    parser.add_argument("--seed", type=int, default=42, help="random seed")
    parser.add_argument("--out", type=Path, default=Path("target/sample"), help="output dir")
    parser.add_argument(
        "--broken", action="store_true", help="append deliberately bad rows (for data tests)"
    )
    args = parser.parse_args(argv)
    s = write_sample_workload(args.out, args.calls, args.seed, args.broken)
    print(
        f"wrote {s.calls} calls, {s.tasks} tasks ({s.open_tasks} open), {s.events} events, "
        f"{s.grid_rows} grid rows to {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
