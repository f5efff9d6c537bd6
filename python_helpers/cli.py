"""``task-watts``: one command for every operation, output and tool of the project.

    task-watts <command> [options]      (task-watts <command> --help for its options)

Each command is the ``main`` of one module, imported only when called, so ``task-watts
scorecard`` does not pay for Great Expectations or Plotly.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Final

#: command -> (module, one-line summary), in the order a newcomer meets them.
COMMANDS: Final[dict[str, tuple[str, str]]] = {
    "sample": ("python_helpers.tools.sample_workload", "generate the sample telemetry"),
    "preflight": ("python_helpers.ops.preflight", "name raw rows the seeds cannot price"),
    "daily": ("python_helpers.ops.daily_load", "gate and load one day of telemetry"),
    "scorecard": ("python_helpers.outputs.scorecard", "print the per-feature scorecard"),
    "report": ("python_helpers.outputs.report", "write the roadmap report and disclosures"),
    "export": ("python_helpers.outputs.export", "write every public mart as Parquet"),
    "ingest-otlp": ("python_helpers.ingest.otlp", "OpenTelemetry GenAI spans to raw files"),
    "ingest-table": ("python_helpers.ingest.tabular", "gateway logs (CSV/JSONL) to raw files"),
    "ingest-grid": ("python_helpers.ingest.grid", "grid-intensity exports to raw files"),
    "crosscheck": ("python_helpers.tools.crosscheck", "seeds beside EcoLogits and ML.ENERGY"),
    "reference": ("python_helpers.tools.reference", "hand-written DuckDB reference; check marts"),
    "benchmark": ("python_helpers.tools.benchmark", "time and size a build at N calls"),
    "spark": ("python_helpers.spark.session", "run dbt on a local Spark session"),
    "spark-compare": (
        "python_helpers.spark.compare",
        "DuckDB build vs Spark build, table by table",
    ),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    rows = [f"  {name:<{width}}  {summary}" for name, (_, summary) in COMMANDS.items()]
    return "usage: task-watts <command> [options]\n\ncommands:\n" + "\n".join(rows) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help"}:
        sys.stdout.write(usage())
        return 0
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        sys.stderr.write(f"task-watts: no command {command!r}\n\n{usage()}")
        return 2
    module = importlib.import_module(COMMANDS[command][0])
    sys.argv[0] = f"task-watts {command}"
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
