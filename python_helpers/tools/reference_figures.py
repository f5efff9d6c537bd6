"""Published figures the coefficient seeds are checked against, transcribed by hand.

Reference data, not code: each figure is copied from its source (cited beside it) and is
never computed from the project's seeds, so a seed that drifts from its source disagrees
with this file. ``make test`` holds the seeds to these figures; ``python -m
python_helpers.tools.crosscheck`` publishes the comparison in ``docs/coefficient-crosscheck.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

ML_ENERGY_COMMIT: Final = "ml-energy/leaderboard@0cd52dab897c5d91a45f4d413038f3b8b4251b0f"


@dataclass(frozen=True)
class Measurement:
    """One ML.ENERGY v3 configuration: accelerator joules per output token, whole replica."""

    model: str  # the project's model id
    joules_per_token: float  # energy_per_token_joules
    gpu_type: str
    gpu_count: int
    batch_size: int  # max_num_seqs
    source_file: str  # under public/data/models/

    @property
    def wh_per_1k_tokens(self) -> float:
        return self.joules_per_token * 1000 / 3600


#: The measurement each self-hosted coefficient's central value cites.
ML_ENERGY_MEASUREMENTS: Final[tuple[Measurement, ...]] = (
    Measurement(
        "llama-3.1-8b-instruct", 0.1186, "H100", 1, 64,
        "meta-llama__Llama-3.1-8B-Instruct__lm-arena-chat.json",
    ),
    Measurement("qwen3-32b", 0.2086, "B200", 1, 128, "Qwen__Qwen3-32B__lm-arena-chat.json"),
    Measurement(
        "qwen3-30b-a3b", 0.1571, "B200", 1, 128,
        "Qwen__Qwen3-30B-A3B-Instruct-2507__lm-arena-chat.json",
    ),
    Measurement(
        "qwen3-235b-a22b-fp8", 0.9769, "B200", 4, 128,
        "Qwen__Qwen3-235B-A22B-Thinking-2507-FP8__gpqa.json",
    ),
)  # fmt: skip


@dataclass(frozen=True)
class PerQueryAnchor:
    """A published facility-energy figure for one typical chat query to a large hosted model."""

    name: str
    wh: float
    citation: str


#: What a typical GPT-4o-class query is published to cost (Wh, whole data centre). Epoch AI
#: assumes 500 output tokens; the others do not state a size.
PER_QUERY_ANCHORS: Final[tuple[PerQueryAnchor, ...]] = (
    PerQueryAnchor(
        "Google, median Gemini Apps text prompt",
        0.24,
        "Elsner et al., arXiv 2508.15734 (Aug 2025), comprehensive boundary",
    ),
    PerQueryAnchor(
        "Epoch AI, typical GPT-4o query",
        0.30,
        "Epoch AI, 'How much energy does ChatGPT use?' (2025): 500 output tokens, H100, PUE 1.2",
    ),
    PerQueryAnchor(
        "OpenAI, average ChatGPT query",
        0.34,
        "S. Altman, 'The Gentle Singularity' (June 2025); no method stated",
    ),
    PerQueryAnchor(
        "Jegham et al., short GPT-4o query",
        0.43,
        "Jegham et al., 'How Hungry is AI?', arXiv 2505.09598 (upper of 0.42-0.43 Wh)",
    ),
)

#: The typical query the anchors describe, as the project prices it.
TYPICAL_INPUT_TOKENS: Final = 100
TYPICAL_OUTPUT_TOKENS: Final = 500
TYPICAL_LATENCY_S: Final = 10.0

#: Models EcoLogits (PyPI ecologits 0.11.1) knows: project id -> (provider, EcoLogits name).
ECOLOGITS_MODELS: Final[dict[str, tuple[str, str]]] = {
    "gpt-4o": ("openai", "gpt-4o"),
    "claude-sonnet-4": ("anthropic", "claude-sonnet-4-20250514"),
    "llama-3.1-8b-instruct": ("huggingface_hub", "meta-llama/Meta-Llama-3.1-8B-Instruct"),
}

#: Agreement with EcoLogits: the project's central facility Wh for the same call lies within
#: this factor of EcoLogits' [min, max] range, and the two ranges overlap. EcoLogits places
#: gpt-4o-class models (440B MoE, 44-132B active, 16 GPUs) 2-4x above every published
#: per-query figure; the project follows the published figures, hence a factor, not a match.
ECOLOGITS_AGREEMENT_FACTOR: Final = 3.0
