"""Measure how long `dbt build` takes, and how much memory it needs, at a given workload size.

    task-watts benchmark --calls 10000000 [--out target/benchmark]

Generates the sample workload at that size, builds it into its own DuckDB file with the
models only (`dbt run`, then `dbt test` separately, so both are timed), and writes a Markdown
report with the machine, the sizes, wall time per phase, the slowest models and the peak
resident memory of the dbt process. Speed is measured here, never asserted in a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from python_helpers.project import PROJECT_ROOT
from python_helpers.tools.sample_workload import write_sample_workload


@dataclass(frozen=True)
class Phase:
    """One timed step of the benchmark."""

    name: str
    seconds: float
    peak_rss_mb: float | None


def machine_description() -> str:
    """CPU model, core count and memory of this machine, as plain text."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return (
        f"{cpu}, {os.cpu_count()} cores, {memory_gb:.0f} GB RAM, Python {platform.python_version()}"
    )


def run_dbt(command: str, raw_dir: Path, database: Path, target_path: Path) -> Phase:
    """Run one dbt command in a child process; time it and read the child's peak RSS."""
    env = {
        **os.environ,
        "TASK_WATTS_RAW_DIR": str(raw_dir),
        "TASK_WATTS_DUCKDB_PATH": str(database),
    }
    dbt = Path(sys.executable).with_name("dbt")
    start = time.perf_counter()
    process = subprocess.Popen(
        [str(dbt), command, "--target-path", str(target_path), "--quiet"],
        cwd=PROJECT_ROOT,
        env=env,
    )
    # wait4 gives this child's own resource usage (Linux reports ru_maxrss in KiB).
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"dbt {command} failed with exit code {process.returncode}")
    peak = usage.ru_maxrss / 1024
    return Phase(f"dbt {command}", seconds, peak)


def slowest_nodes(target_path: Path, limit: int = 6) -> list[tuple[str, float]]:
    """The slowest nodes of the last dbt invocation, from its run_results.json."""
    results = json.loads((target_path / "run_results.json").read_text())["results"]
    timed = sorted(
        ((r["unique_id"].split(".")[-1], r["execution_time"]) for r in results),
        key=lambda item: item[1],
        reverse=True,
    )
    return timed[:limit]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "target" / "benchmark")
    args = parser.parse_args(argv)

    out: Path = args.out.resolve()
    raw_dir, database, target_path = out / "raw", out / "benchmark.duckdb", out / "dbt_target"
    out.mkdir(parents=True, exist_ok=True)
    database.unlink(missing_ok=True)

    start = time.perf_counter()
    summary = write_sample_workload(raw_dir, n_calls=args.calls, seed=args.seed)
    phases = [Phase("generate sample", time.perf_counter() - start, None)]
    phases.append(run_dbt("seed", raw_dir, database, target_path))
    phases.append(run_dbt("run", raw_dir, database, target_path))
    slow_models = slowest_nodes(target_path)
    phases.append(run_dbt("test", raw_dir, database, target_path))
    slow_tests = slowest_nodes(target_path)

    lines = [
        f"# task-watts benchmark: {summary.calls:,} calls",
        "",
        f"- machine: {machine_description()}",
        f"- workload: {summary.calls:,} calls, {summary.tasks:,} tasks, {summary.events:,} events "
        f"(seed {args.seed}); warehouse file {database.stat().st_size / 1024**2:,.0f} MB",
        "",
        "| phase | wall time (s) | peak RSS of the process (MB) |",
        "|---|---:|---:|",
        *(
            f"| {p.name} | {p.seconds:,.1f} | "
            f"{'-' if p.peak_rss_mb is None else f'{p.peak_rss_mb:,.0f}'} |"
            for p in phases
        ),
        "",
        "Slowest models (s): " + ", ".join(f"{n} {s:.1f}" for n, s in slow_models),
        "",
        "Slowest tests (s): " + ", ".join(f"{n} {s:.1f}" for n, s in slow_tests),
    ]
    report = "\n".join(lines)
    (out / "results.md").write_text(report + "\n")
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
