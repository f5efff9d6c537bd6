"""Measure a full build, the hand-written DuckDB reference and a one-day load, side by side.

    task-watts benchmark --calls 1000000 [--memory-limit 4GB] [--out target/benchmark]

In one run, on one generated workload (N calls, written as ``date=YYYY-MM-DD`` partitions:
calls by start day, events by event day, the layout daily loads read):

1. **parse** (``dbt parse`` into a fresh target) and **full build**: ``dbt build`` (seeds,
   models and every data and unit test) of all days into its own DuckDB file, reusing that
   parse as a scheduled build reuses its project's; the ratio with the parse added is printed
   too (an upper bound for a build from a fresh clone: it counts dbt's start-up twice);
2. **reference**: ``task-watts reference`` (``python_helpers/tools/reference``), the same
   work written as one plain DuckDB script, on the same files; its outputs are then
   compared with the marts (:func:`python_helpers.tools.reference.compare`);
3. **reference storing its inputs**: the reference again with ``--store-inputs``: it also
   keeps the accepted rows and the task table in the file, as a warehouse that takes daily
   loads must (the dbt build does), so build / this is the like-for-like ratio;
4. **daily load**: every day but the last two is built into a third file and the day before
   the last is loaded with ``task-watts daily`` (setup, reported but not compared); then
   ``task-watts daily`` loads the last day (gate, incremental ``dbt build``, publish): what
   one more day costs in steady state, reusing the previous load's parse.

Each step runs in a child process: wall seconds, CPU seconds (user + system of the child and
its children, from ``wait4``), peak RSS and the size of the file it wrote are recorded, with
the ratios build / reference and daily / full. The machine (CPU, cores, RAM) and its load
average before and after are stated. A Markdown table is printed and written with a JSON
copy to ``--out``. Speed is measured here, never asserted in a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from python_helpers.project import PROJECT_ROOT
from python_helpers.tools.reference import RAW_COUNT, compare
from python_helpers.tools.sample_workload import SAMPLE_MARKER, write_sample_workload

CALLS, EVENTS, GRID = "inference_calls", "task_events", "grid_intensity_hourly.csv"


@dataclass(frozen=True)
class Phase:
    """One measured step of the benchmark."""

    name: str
    wall_s: float
    cpu_s: float | None
    peak_rss_mb: float | None
    file_mb: float | None = None


def machine() -> dict[str, object]:
    """CPU model, core count, memory and Python of this machine."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(memory_gb),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
    }


def machine_description() -> str:
    m = machine()
    return (
        f"{m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM, Python {m['python']}, "
        f"DuckDB {m['duckdb']}"
    )


def _mb(path: Path) -> float | None:
    return path.stat().st_size / 1024**2 if path.exists() else None


class _PeakRss(threading.Thread):
    """The child's own peak resident memory (VmHWM), read from /proc while it runs.

    Not wait4's ru_maxrss: Linux carries a process's high-water mark across fork and exec, so a
    child started by this (large) benchmark process would report this process's peak."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.status = Path(f"/proc/{pid}/status")
        self.stop = threading.Event()
        self.mb: float | None = None

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                text = self.status.read_text()
            except OSError:  # the child is gone
                return
            hwm = re.search(r"^VmHWM:\s+(\d+) kB", text, re.M)
            if hwm:
                self.mb = max(self.mb or 0.0, int(hwm.group(1)) / 1024)
            self.stop.wait(0.1)


def measure(name: str, argv: list[str], env: dict[str, str], log: Path, output: Path | None):
    """Run ``argv`` as a child process; its wall and CPU time, peak RSS and output file size."""
    start = time.perf_counter()
    with log.open("a") as handle:
        handle.write(f"\n$ {' '.join(argv)}\n")
        handle.flush()
        process = subprocess.Popen(
            argv, cwd=PROJECT_ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT
        )
        peak = _PeakRss(process.pid)
        peak.start()
        # wait4: this child's own CPU time, its reaped children included.
        _, status, usage = os.wait4(process.pid, 0)
        peak.stop.set()
        peak.join()
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{name} failed (exit {os.waitstatus_to_exitcode(status)}); see {log}")
    return Phase(
        name,
        wall,
        usage.ru_utime + usage.ru_stime,
        peak.mb,
        _mb(output) if output else None,
    )


def partition_by_day(flat_dir: Path, out_dir: Path) -> list[date]:
    """Rewrite the sample's flat files as date=YYYY-MM-DD partitions; returns the call days."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    with duckdb.connect() as con:
        for name, column in ((CALLS, "started_at"), (EVENTS, "event_at")):
            con.execute(f"""
                copy (
                    select *, cast({column} as date) as date
                    from read_parquet('{flat_dir / name}.parquet')
                    order by {column}
                ) to '{out_dir / name}'
                (format parquet, partition_by (date), compression zstd)
            """)
        calls = f"read_parquet('{flat_dir / CALLS}.parquet')"
        days = con.execute(
            f"select distinct cast(started_at as date) from {calls} order by 1"
        ).fetchall()
    shutil.copyfile(flat_dir / GRID, out_dir / GRID)
    # Still the generated sample: it builds under the public demo key like the flat one.
    shutil.copyfile(flat_dir / SAMPLE_MARKER, out_dir / SAMPLE_MARKER)
    return [d for (d,) in days]


def all_days_but(raw_days: Path, out_dir: Path, last: date) -> Path:
    """A raw folder with every partition before ``last`` (hard links: DuckDB's ** glob does
    not follow symlinked folders), and the grid file."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    for name in (CALLS, EVENTS):
        for folder in sorted((raw_days / name).iterdir()):
            if date.fromisoformat(folder.name.removeprefix("date=")) < last:
                (out_dir / name / folder.name).mkdir(parents=True)
                for file in folder.iterdir():
                    os.link(file, out_dir / name / folder.name / file.name)
    os.link(raw_days / GRID, out_dir / GRID)
    os.link(raw_days / SAMPLE_MARKER, out_dir / SAMPLE_MARKER)
    return out_dir


def node_seconds(target_path: Path) -> dict[str, object]:
    """Time per resource type and the slowest models and tests of the last dbt invocation."""
    results = json.loads((target_path / "run_results.json").read_text())["results"]
    by_type: dict[str, float] = {}
    timed = []
    for r in results:
        # <type>.<project>.<name>[.<hash of a generic test's arguments>]
        kind, name = r["unique_id"].split(".")[0], r["unique_id"].split(".")[2]
        by_type[kind] = by_type.get(kind, 0.0) + r["execution_time"]
        timed.append((kind, name, r["execution_time"]))
    timed.sort(key=lambda item: item[2], reverse=True)
    return {
        "seconds_by_type": {k: round(v, 2) for k, v in sorted(by_type.items())},
        "slowest_models": [(n, round(s, 2)) for k, n, s in timed if k == "model"][:8],
        "slowest_tests": [(n, round(s, 2)) for k, n, s in timed if k == "test"][:6],
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "target" / "benchmark")
    parser.add_argument(
        "--memory-limit",
        default=None,
        help="DuckDB memory_limit for every step (TASK_WATTS_DUCKDB_MEMORY_LIMIT), e.g. 4GB",
    )
    args = parser.parse_args(argv)

    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*.duckdb*"):
        stale.unlink()
    log = out / "benchmark.log"
    log.write_text("")
    bin_dir = Path(sys.executable).parent
    raw_flat, raw_days = out / "raw_flat", out / "raw"
    full_db, reference_db = out / "full.duckdb", out / "reference.duckdb"
    stored_reference_db = out / "reference_stored.duckdb"
    daily_db = out / "daily.duckdb"
    env = {
        **os.environ,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "TASK_WATTS_DUCKDB_MEMORY_LIMIT": args.memory_limit
        or os.environ.get("TASK_WATTS_DUCKDB_MEMORY_LIMIT", "8GB"),
    }
    load_before = os.getloadavg()
    started = datetime.now(UTC)

    start = time.perf_counter()
    summary = write_sample_workload(raw_flat, n_calls=args.calls, seed=args.seed)
    days = partition_by_day(raw_flat, raw_days)
    shutil.rmtree(raw_flat)
    phases = [Phase("generate sample (in process)", time.perf_counter() - start, None, None)]
    last_day = days[-1]

    dbt = str(bin_dir / "dbt")
    full_target = out / "full_target"
    phases.append(
        measure(
            "parse (dbt parse, once per change to the project)",
            [dbt, "parse", "--target-path", str(full_target), "--log-path", str(out / "logs"),
             "--quiet"],
            {**env, "TASK_WATTS_RAW_DIR": str(raw_days), "TASK_WATTS_DUCKDB_PATH": str(full_db)},
            log,
            None,
        )
    )  # fmt: skip
    phases.append(
        measure(
            "full build (dbt build, parse reused)",
            [dbt, "build", "--target-path", str(full_target), "--log-path", str(out / "logs"),
             "--quiet"],
            {**env, "TASK_WATTS_RAW_DIR": str(raw_days), "TASK_WATTS_DUCKDB_PATH": str(full_db)},
            log,
            full_db,
        )
    )  # fmt: skip
    full_nodes = node_seconds(full_target)
    phases.append(
        measure(
            "reference (hand-written DuckDB)",
            [str(bin_dir / "python"), "-m", "python_helpers.tools.reference",
             "--raw-dir", str(raw_days), "--db", str(reference_db)],
            env,
            log,
            reference_db,
        )
    )  # fmt: skip
    phases.append(
        measure(
            "reference storing its inputs (accepted rows, task table)",
            [str(bin_dir / "python"), "-m", "python_helpers.tools.reference",
             "--raw-dir", str(raw_days), "--db", str(stored_reference_db), "--store-inputs"],
            env,
            log,
            stored_reference_db,
        )
    )  # fmt: skip
    start = time.perf_counter()
    with duckdb.connect() as con:
        raw_rows = {
            key: con.execute(
                f"select count(*) from read_parquet('{raw_days / name}/*/*.parquet')"
            ).fetchall()[0][0]
            for name, key in RAW_COUNT.items()
        }
    comparison = compare(full_db, reference_db, raw_rows=raw_rows)
    compare_seconds = time.perf_counter() - start

    # The measured load is the second in a row, as every load after the first is: the one
    # before it left its parse in the target folder, which dbt reuses (the vars are the same
    # every day; only TASK_WATTS_BATCH_DATE changes).
    day_before = days[-2]
    previous = all_days_but(raw_days, out / "raw_but_last_two_days", day_before)
    daily_target = out / "daily_target"
    phases.append(
        measure(
            f"setup: dbt build of the days before {day_before}",
            [dbt, "build", "--target-path", str(daily_target), "--log-path", str(out / "logs"),
             "--quiet"],
            {**env, "TASK_WATTS_RAW_DIR": str(previous), "TASK_WATTS_DUCKDB_PATH": str(daily_db)},
            log,
            daily_db,
        )
    )  # fmt: skip
    for label, day in (("setup: daily load", day_before), ("daily load", last_day)):
        phases.append(
            measure(
                f"{label} of {day} (task-watts daily)",
                [str(bin_dir / "task-watts"), "daily", "--raw-dir", str(raw_days),
                 "--date", day.isoformat(), "--db", str(daily_db),
                 "--docs-dir", str(out / "gx_docs"), "--target-path", str(daily_target),
                 "--log-path", str(out / "logs")],
                env,
                log,
                daily_db,
            )
        )  # fmt: skip
    daily_nodes = node_seconds(daily_target)
    daily_comparison = compare(daily_db, reference_db, raw_rows=raw_rows)
    load_after = os.getloadavg()

    parse, full, reference, stored_reference = phases[1], phases[2], phases[3], phases[4]
    daily = phases[7]
    # dbt parse and the build each start dbt (about 1.3-2.1 CPU-s), so this counts start-up
    # twice: an upper bound on a build from a fresh target.
    full_with_parse = (
        full.cpu_s + parse.cpu_s if full.cpu_s is not None and parse.cpu_s is not None else None
    )
    with duckdb.connect() as con:
        day_calls = con.execute(
            f"select count(*) from read_parquet('{raw_days / CALLS}/date={last_day}/*.parquet')"
        ).fetchone()[0]
    ratios = {
        "build_vs_reference_cpu": _ratio(full.cpu_s, reference.cpu_s),
        "build_with_parse_vs_reference_cpu": _ratio(full_with_parse, reference.cpu_s),
        "build_vs_reference_wall": _ratio(full.wall_s, reference.wall_s),
        "build_vs_reference_file": _ratio(full.file_mb, reference.file_mb),
        "build_vs_reference_peak_rss": _ratio(full.peak_rss_mb, reference.peak_rss_mb),
        "build_vs_stored_reference_cpu": _ratio(full.cpu_s, stored_reference.cpu_s),
        "build_vs_stored_reference_file": _ratio(full.file_mb, stored_reference.file_mb),
        "daily_vs_full_cpu": _ratio(daily.cpu_s, full.cpu_s),
        "daily_vs_full_wall": _ratio(daily.wall_s, full.wall_s),
    }
    result = {
        "started_utc": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "memory_limit": env["TASK_WATTS_DUCKDB_MEMORY_LIMIT"],
        "workload": {
            "calls": summary.calls,
            "tasks": summary.tasks,
            "events": summary.events,
            "seed": args.seed,
            "days": len(days),
            "last_day": last_day.isoformat(),
            "last_day_calls": day_calls,
        },
        "phases": [asdict(p) for p in phases],
        "ratios": ratios,
        "equality": {
            "equal": comparison.equal,
            "max_relative_difference": comparison.worst,
            "by_table": comparison.max_rel_diff,
            "problems": comparison.problems,
            "compare_seconds": round(compare_seconds, 2),
            # Events dated after the last call day are in the full build, not in the daily
            # path: a difference here can come from them (the sample has none).
            "daily_load_equal": daily_comparison.equal,
            "daily_load_max_relative_difference": daily_comparison.worst,
            "daily_load_problems": daily_comparison.problems,
        },
        "full_build_nodes": full_nodes,
        "daily_load_nodes": daily_nodes,
    }
    (out / "results.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    report = render(result)
    (out / "results.md").write_text(report + "\n")
    print(report)
    return 0 if comparison.equal else 1


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def render(result: dict) -> str:
    """The benchmark as Markdown."""
    w, r = result["workload"], result["ratios"]
    lines = [
        f"# task-watts benchmark: {w['calls']:,} calls",
        "",
        f"- machine: {machine_description()}",
        f"- load average (1/5/15 min) before: {result['load_average_before']}, "
        f"after: {result['load_average_after']}; DuckDB memory_limit {result['memory_limit']}",
        f"- workload: {w['calls']:,} calls, {w['tasks']:,} tasks, {w['events']:,} events "
        f"(seed {w['seed']}), {w['days']} days as date= partitions; the daily load adds "
        f"{w['last_day']} ({w['last_day_calls']:,} calls)",
        "",
        "| step | wall (s) | CPU (s) | peak RSS (MB) | file (MB) |",
        "|---|---:|---:|---:|---:|",
        *(
            f"| {p['name']} | {_fmt(p['wall_s'])} | {_fmt(p['cpu_s'])} | "
            f"{_fmt(p['peak_rss_mb'], 0)} | {_fmt(p['file_mb'], 0)} |"
            for p in result["phases"]
        ),
        "",
        f"- full build / reference: CPU {_fmt(r['build_vs_reference_cpu'], 2)}x, "
        f"wall {_fmt(r['build_vs_reference_wall'], 2)}x, "
        f"file {_fmt(r['build_vs_reference_file'], 2)}x, "
        f"peak RSS {_fmt(r['build_vs_reference_peak_rss'], 2)}x",
        f"- full build with its parse (parse + build CPU) / reference: CPU "
        f"{_fmt(r.get('build_with_parse_vs_reference_cpu'), 2)}x",
        f"- full build / reference storing its inputs: "
        f"CPU {_fmt(r.get('build_vs_stored_reference_cpu'), 2)}x, "
        f"file {_fmt(r.get('build_vs_stored_reference_file'), 2)}x",
        f"- daily load / full build: CPU {_fmt(100 * (r['daily_vs_full_cpu'] or 0))} %, "
        f"wall {_fmt(100 * (r['daily_vs_full_wall'] or 0))} %",
        f"- reference = marts: {'yes' if result['equality']['equal'] else 'NO'} "
        f"(max relative difference {result['equality']['max_relative_difference']:.2g})"
        + "".join(f"\n  - {p}" for p in result["equality"]["problems"]),
        f"- reference = marts after the daily load: "
        f"{'yes' if result['equality']['daily_load_equal'] else 'NO'} (max relative difference "
        f"{result['equality']['daily_load_max_relative_difference']:.2g})"
        + "".join(f"\n  - {p}" for p in result["equality"]["daily_load_problems"]),
        "",
        "Full build, dbt node seconds by type: "
        + ", ".join(f"{k} {v}" for k, v in result["full_build_nodes"]["seconds_by_type"].items()),
        "",
        "Slowest models (s): "
        + ", ".join(f"{n} {s}" for n, s in result["full_build_nodes"]["slowest_models"]),
        "",
        "Slowest tests (s): "
        + ", ".join(f"{n} {s}" for n, s in result["full_build_nodes"]["slowest_tests"]),
        "",
        "Daily load, dbt node seconds by type: "
        + ", ".join(f"{k} {v}" for k, v in result["daily_load_nodes"]["seconds_by_type"].items())
        + "; slowest models (s): "
        + ", ".join(f"{n} {s}" for n, s in result["daily_load_nodes"]["slowest_models"][:5]),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
