"""What your telemetry needs from the seeds before a build: run it first on a new raw folder.

``task-watts preflight --raw-dir /data/telemetry`` reads the raw files the way
staging does (``<name>.<ext>`` or ``<name>/**/*.<ext>``, Parquet, CSV, JSON Lines) and lists
every model, accelerator, region, grid zone, deployment and feature that appears in them but
has no row in the seeds, with the exact seed file, the columns to fill and how many calls or
events wait for it. Without those rows the calls are quarantined (``unknown_model``,
``unknown_region``) or priced with fallbacks; nothing is silently dropped, but the energy is
not where you expect it. Exit code 1 when a row that pricing needs is missing, else 0.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from python_helpers.project import PROJECT_ROOT

EXTENSIONS = ("parquet", "csv", "jsonl", "ndjson", "json")

#: Seed file -> the columns a new row must fill (see seeds/_seeds__properties.yml).
SEED_COLUMNS = {
    "model_energy_coefficients": "model, model_tier, provider, gpu_type, gpus_per_replica, "
    "reference_batch_size, wh_per_1k_prefill_tokens(_low/_high), "
    "wh_per_1k_decode_tokens(_low/_high), energy_method, source, notes",
    "accelerators": "gpu_type, tdp_w, idle_w, embodied_kgco2e_gpu, "
    "embodied_kgco2e_server_share, lifetime_years, source, notes",
    "datacenter_regions": "region, operator, grid_zone, location_description, pue, "
    "wue_l_per_kwh, host_overhead(_low/_high), market_gco2e_per_kwh, source, notes",
    "grid_carbon_intensity": "grid_zone, period_grain (year), period_start (YYYY-01-01), "
    "gco2e_per_kwh, basis (location), source, notes",
    "deployment_batch_sizes": "model, gpu_type, region, assumed_batch_size, batch_size_low, "
    "batch_size_high, source, notes",
    "feature_catalogue": "feature, description, quality_floor, latency_target_ms, "
    "is_deferrable, owner, completion_window_hours, notes",
}


@dataclass(frozen=True)
class Gap:
    """One missing seed row: where to add it, what it is, how much waits for it."""

    seed: str
    key: str
    waiting: str
    blocking: bool

    def render(self) -> str:
        kind = "MISSING" if self.blocking else "optional"
        return (
            f"  {kind}: seeds/{self.seed}.csv needs a row for {self.key} ({self.waiting})\n"
            f"           columns: {SEED_COLUMNS[self.seed]}"
        )


def _reader(raw_dir: Path, name: str) -> str | None:
    """A DuckDB relation over every file of input ``name``, as staging would read them."""
    parts = []
    for ext in EXTENSIONS:
        files = sorted(
            str(p)
            for pattern in (f"{name}.{ext}", f"{name}/**/*.{ext}")
            for p in raw_dir.glob(pattern)
            if p.is_file()
        )
        if not files:
            continue
        listed = "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"
        if ext == "parquet":
            parts.append(f"select * from read_parquet({listed}, union_by_name = true)")
        elif ext == "csv":
            parts.append(
                f"select * from read_csv({listed}, header = true, all_varchar = true, "
                "union_by_name = true)"
            )
        else:
            parts.append(
                f"select * from read_json({listed}, format = 'newline_delimited', "
                "union_by_name = true)"
            )
    return "(" + " union all by name ".join(parts) + ")" if parts else None


def _seed(project: Path, name: str) -> list[dict[str, str]]:
    with (project / "seeds" / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _blank(column: str) -> str:
    return f"nullif(trim(cast({column} as varchar)), '')"


def find_gaps(raw_dir: Path, project: Path = PROJECT_ROOT) -> tuple[list[Gap], dict[str, int]]:
    """Every seed row the raw files need, and how many calls and events were read."""
    con = duckdb.connect()
    calls = _reader(raw_dir, "inference_calls")
    events = _reader(raw_dir, "task_events")
    if calls is None:
        raise SystemExit(
            f"no inference_calls file in {raw_dir}: expected inference_calls.parquet/.csv/"
            ".jsonl or a folder inference_calls/ of such files"
        )
    columns = {row[0] for row in con.sql(f"describe select * from {calls}").fetchall()}
    gpu = _blank("gpu_type") if "gpu_type" in columns else "cast(null as varchar)"
    batch = "batch_size" if "batch_size" in columns else "cast(null as integer)"
    con.execute(
        f"""create temp table usage as
        select model, {gpu} as gpu_type, region, lower(cast(provider as varchar)) as provider,
               year(cast(started_at as timestamp)) as call_year,
               count(*) as calls, count(*) filter (where {_blank(batch)} is null) as no_batch
        from {calls} group by all"""
    )
    counts = {"calls": con.execute("select sum(calls) from usage").fetchall()[0][0] or 0}
    gaps: list[Gap] = []

    coefficients = {
        (r["model"], r["gpu_type"]) for r in _seed(project, "model_energy_coefficients")
    }
    for model, gpu_type, n in con.sql(
        "select model, coalesce(gpu_type, ''), sum(calls) from usage group by all order by 3 desc"
    ).fetchall():
        if (model, gpu_type) not in coefficients:
            key = f"model={model!r}, gpu_type={gpu_type or '(empty: vendor API)'!r}"
            gaps.append(Gap("model_energy_coefficients", key, f"{n:,} calls", True))

    accelerators = {r["gpu_type"] for r in _seed(project, "accelerators")}
    for gpu_type, n in con.sql(
        "select gpu_type, sum(calls) from usage where gpu_type is not null group by all"
    ).fetchall():
        if gpu_type not in accelerators:
            gaps.append(Gap("accelerators", f"gpu_type={gpu_type!r}", f"{n:,} calls", True))

    regions = {r["region"]: r["grid_zone"] for r in _seed(project, "datacenter_regions")}
    grid_years = {
        (r["grid_zone"], int(r["period_start"][:4]))
        for r in _seed(project, "grid_carbon_intensity")
        if r["period_grain"] == "year" and r["basis"] == "location"
    }
    uncovered: dict[str, tuple[int, int]] = {}  # region -> (earliest uncovered year, calls)
    for region, year, n in con.execute(
        "select region, call_year, sum(calls) from usage group by all order by 1, 2"
    ).fetchall():
        if region not in regions:
            continue
        if not any(z == regions[region] and y <= year for z, y in grid_years):
            first, total = uncovered.get(region, (year, 0))
            uncovered[region] = (min(first, year), total + n)
    for region, n in con.execute(
        "select region, sum(calls) from usage group by all order by 2 desc"
    ).fetchall():
        if region not in regions:
            gaps.append(Gap("datacenter_regions", f"region={region!r}", f"{n:,} calls", True))
        elif region in uncovered:
            year, waiting = uncovered[region]
            gaps.append(
                Gap(
                    "grid_carbon_intensity",
                    f"grid_zone={regions[region]!r}, a year at or before {year}",
                    f"{waiting:,} calls in {region}",
                    True,
                )
            )

    deployments = {
        (r["model"], r["gpu_type"], r["region"]) for r in _seed(project, "deployment_batch_sizes")
    }
    for model, gpu_type, region, n in con.sql(
        "select model, gpu_type, region, sum(no_batch) from usage "
        "where provider = 'self_hosted' and gpu_type is not null "
        "group by all having sum(no_batch) > 0"
    ).fetchall():
        if (model, gpu_type, region) not in deployments:
            gaps.append(
                Gap(
                    "deployment_batch_sizes",
                    f"model={model!r}, gpu_type={gpu_type!r}, region={region!r}",
                    f"{n:,} calls with no batch size, else priced at var assumed_batch_size 8 "
                    "(range 1-64)",
                    False,
                )
            )

    if events is not None:
        features = {r["feature"] for r in _seed(project, "feature_catalogue")}
        counts["events"] = con.execute(f"select count(*) from {events}").fetchall()[0][0]
        for feature, n in con.sql(
            f"select feature, count(*) from {events} group by all order by 2 desc"
        ).fetchall():
            if feature not in features:
                gaps.append(Gap("feature_catalogue", f"feature={feature!r}", f"{n:,} events", True))
    con.close()
    return gaps, counts


def unused_hourly_zones(raw_dir: Path, project: Path = PROJECT_ROOT) -> dict[str, int]:
    """Grid zones of ``grid_intensity_hourly`` no call's region maps to: zone -> hours.

    Calls take the hourly figure of their region's grid zone (seeds/datacenter_regions.csv);
    hours of any other zone price nothing, which is easy to miss (an export for the wrong zone
    builds fine and every call falls back to the annual figure).
    """
    grid = _reader(raw_dir, "grid_intensity_hourly")
    calls = _reader(raw_dir, "inference_calls")
    if grid is None or calls is None:
        return {}
    regions = {r["region"]: r["grid_zone"] for r in _seed(project, "datacenter_regions")}
    with duckdb.connect() as con:
        used = {regions.get(region) for (region,) in
                con.sql(f"select distinct region from {calls}").fetchall()}  # fmt: skip
        hours = con.sql(f"select grid_zone, count(*) from {grid} group by all").fetchall()
    return {zone: n for zone, n in sorted(hours) if zone not in used}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--raw-dir",
        type=Path,
        default=Path(os.environ.get("TASK_WATTS_RAW_DIR", "target/sample")),
        help="folder of raw telemetry (default $TASK_WATTS_RAW_DIR or target/sample)",
    )
    args = parser.parse_args(argv)
    gaps, counts = find_gaps(args.raw_dir)
    unused = unused_hourly_zones(args.raw_dir)
    if unused:
        zones = ", ".join(f"{zone} ({n:,} hours)" for zone, n in unused.items())
        print(f"note: grid_intensity_hourly zones {zones} match no call's region (regions map to "
              "grid zones in seeds/datacenter_regions.csv): those hours price nothing")  # fmt: skip
    read = ", ".join(f"{n:,} {name}" for name, n in counts.items())
    if not gaps:
        print(f"preflight {args.raw_dir}: read {read}; every model, GPU, region, grid zone and "
              "feature has its seed rows. Next: dbt build")  # fmt: skip
        return 0
    blocking = [g for g in gaps if g.blocking]
    print(f"preflight {args.raw_dir}: read {read}; {len(blocking)} seed rows missing, "
          f"{len(gaps) - len(blocking)} optional")  # fmt: skip
    print("\n".join(g.render() for g in gaps))
    if blocking:
        print("Add these rows (each with its source), then: dbt build")
    return 1 if blocking else 0


if __name__ == "__main__":
    sys.exit(main())
