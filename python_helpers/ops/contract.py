"""The raw input contract, declared once: every reader and writer of raw files uses it.

The contract gate validates against it, the ingest converters write it, and the staging
models cast to the same types (README, "Inputs: the telemetry contract"). Allowed values and
thresholds are dbt vars in dbt_project.yml, read by the models, their tests and the gate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class ColumnSpec:
    """A contract column: DuckDB type, whether files must carry it, whether it may be empty,
    and whether it identifies a person (then only dbt reads it, to pseudonymise it)."""

    name: str
    sql_type: str
    required: bool = True
    not_null: bool = True
    personal: bool = False


CONTRACTS: Final[dict[str, tuple[ColumnSpec, ...]]] = {
    "inference_calls": (
        ColumnSpec("call_id", "varchar"),
        ColumnSpec("task_id", "varchar", not_null=False),
        ColumnSpec("started_at", "timestamp"),
        ColumnSpec("ended_at", "timestamp"),
        ColumnSpec("model", "varchar"),
        ColumnSpec("provider", "varchar"),
        ColumnSpec("region", "varchar"),
        ColumnSpec("gpu_type", "varchar", required=False, not_null=False),
        ColumnSpec("gpu_count", "integer", required=False, not_null=False),
        ColumnSpec("batch_size", "integer", required=False, not_null=False),
        ColumnSpec("input_tokens", "bigint"),
        ColumnSpec("cached_input_tokens", "bigint"),
        ColumnSpec("output_tokens", "bigint"),
        ColumnSpec("status", "varchar"),
        ColumnSpec("measured_energy_j", "double", required=False, not_null=False),
    ),
    "task_events": (
        ColumnSpec("event_id", "varchar"),
        ColumnSpec("task_id", "varchar"),
        ColumnSpec("feature", "varchar"),
        ColumnSpec("event_type", "varchar"),
        ColumnSpec("event_at", "timestamp"),
        ColumnSpec("user_id", "varchar", not_null=False, personal=True),
        ColumnSpec("quality_score", "double", required=False, not_null=False),
    ),
}
ROW_KEY: Final = {"inference_calls": "call_id", "task_events": "event_id"}
