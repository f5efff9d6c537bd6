"""Convert a published grid-intensity export into the project's `grid_intensity_hourly.csv`.

    task-watts ingest-grid --input <file> \
        --format electricitymaps|carbon-aware-sdk --basis direct|lifecycle \
        [--zone-map zones.yml | --zone-map eastus=US westeurope=BE ...] --out <raw_dir>

writes ``<raw_dir>/grid_intensity_hourly.csv`` with exactly the columns the project reads:
``grid_zone, hour_start_at (UTC), gco2e_per_kwh, source``.

- Electricity Maps hourly CSV (data portal): `Datetime (UTC)` is the hour, `Zone Id` the
  zone (identity unless the zone map says otherwise), and the intensity column of the chosen
  basis. Both header generations are accepted, case-insensitively: the older ``Carbon
  Intensity gCO₂eq/kWh (direct)`` / ``(LCA)`` / ``(life cycle assessment)`` with ``Zone Id``,
  and the newer ``Carbon intensity gCO₂eq/kWh (direct)`` / ``(Life cycle)`` with ``Zone id``.
  Rows with an empty intensity are skipped (those hours fall back to the monthly or annual
  figure). A daily, monthly or yearly export is refused: it is not hourly data.
- Carbon Aware SDK emissions JSON: ``[{"location", "time", "rating", "duration"}]``; every
  location must be in the zone map; times with an offset are converted to UTC. Each record
  covers ``[time, time + duration)``; an hour's value is the time-weighted mean of the
  records overlapping it, so twelve 5-minute records give their plain mean, and a 2-hour
  record gives both its hours its rating. An hour only partly covered gets the mean of what
  is covered. The SDK reports g/kWh; which basis its data source uses (WattTime is marginal,
  Electricity Maps average) is for the user to declare with ``--basis``.

Two records for the same zone and time are an error naming them, unless identical.
"""

from __future__ import annotations

import argparse
import re
import sys
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path

import duckdb
import yaml

OUTPUT_NAME = "grid_intensity_hourly.csv"
FORMATS: tuple[str, ...] = ("electricitymaps", "carbon-aware-sdk")
BASES: tuple[str, ...] = ("direct", "lifecycle")
BASIS_LABELS: dict[str, str] = {"direct": "direct", "lifecycle": "life-cycle"}

# Electricity Maps header variants seen in real exports, compared after _normalise_header.
# Older portal exports: "Zone Id", "Carbon Intensity gCO₂eq/kWh (direct)", "(LCA)"; the data
# portal page also lists "(life cycle assessment)"; 2024+ exports: "Zone id",
# "Carbon intensity gCO₂eq/kWh (direct)", "(Life cycle)".
EM_DATETIME_HEADERS: tuple[str, ...] = ("datetime (utc)",)
EM_ZONE_HEADERS: tuple[str, ...] = ("zone id",)
EM_INTENSITY_HEADERS: dict[str, tuple[str, ...]] = {
    "direct": ("carbon intensity gco₂eq/kwh (direct)",),
    "lifecycle": (
        "carbon intensity gco₂eq/kwh (life cycle)",
        "carbon intensity gco₂eq/kwh (lca)",
        "carbon intensity gco₂eq/kwh (life cycle assessment)",
    ),
}
CAS_KEYS: tuple[str, ...] = ("location", "time", "rating", "duration")
# .NET TimeSpan as the SDK serialises it: [d.]hh:mm:ss[.fffffff]
TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d+))?$")
DUPLICATES_SHOWN = 5


class GridInputError(ValueError):
    """An export that cannot be converted; the message names the file and the column/key."""


# --------------------------------------------------------------------------------------------
# Small helpers.
# --------------------------------------------------------------------------------------------


def quote_literal(value: str) -> str:
    """A DuckDB string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def quote_identifier(name: str) -> str:
    """A DuckDB identifier, whatever characters it holds."""
    return '"' + str(name).replace('"', '""') + '"'


def _normalise_header(name: str) -> str:
    """Case- and spacing-insensitive form of a header (NFC so that ₂ compares equal)."""
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def parse_zone_map(values: Sequence[str] | None) -> dict[str, str]:
    """Read ``--zone-map``: one YAML file of KEY: ZONE, or KEY=ZONE pairs."""
    if not values:
        return {}
    if len(values) == 1 and "=" not in values[0]:
        path = Path(values[0])
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise GridInputError(f"zone map {path}: cannot be read: {exc}") from exc
        if not isinstance(raw, dict) or not all(
            isinstance(v, str) and v.strip() for v in raw.values()
        ):
            raise GridInputError(f"zone map {path}: expected a mapping of KEY: ZONE strings")
        return {str(k): v.strip() for k, v in raw.items()}
    result = {}
    for pair in values:
        key, sep, zone = pair.partition("=")
        if not sep or not key or not zone:
            raise GridInputError(f"--zone-map expects KEY=ZONE pairs or a YAML file, got {pair!r}")
        result[key] = zone
    return result


def timespan_seconds(text: str) -> float:
    """Seconds in a .NET TimeSpan string such as ``00:05:00`` or ``1.00:00:00``."""
    match = TIMESPAN.match(text.strip())
    if not match:
        raise ValueError(text)
    days, hours, minutes, seconds, fraction = match.groups()
    total = int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + int(seconds)
    return total + (float("0." + fraction) if fraction else 0.0)


def _zone_map_sql(zone_map: Mapping[str, str]) -> str:
    """The zone map as an inline table (key, zone); empty maps still have the columns."""
    if not zone_map:
        return "(SELECT CAST(NULL AS VARCHAR) AS key, CAST(NULL AS VARCHAR) AS zone LIMIT 0)"
    rows = ", ".join(f"({quote_literal(k)}, {quote_literal(v)})" for k, v in zone_map.items())
    return f"(SELECT * FROM (VALUES {rows}) AS t(key, zone))"


# --------------------------------------------------------------------------------------------
# Reading each format into records (zone, start_at, seconds, rating).
# --------------------------------------------------------------------------------------------


def _find_header(columns: Sequence[str], wanted: Sequence[str]) -> str | None:
    normalised = {_normalise_header(c): c for c in columns}
    for candidate in wanted:
        if candidate in normalised:
            return normalised[candidate]
    return None


def electricitymaps_records_sql(
    con: duckdb.DuckDBPyConnection, path: Path, basis: str, zone_map: Mapping[str, str]
) -> str:
    """SQL of the records of an Electricity Maps hourly CSV, after checking its headers."""
    reader = f"read_csv({quote_literal(str(path))}, header = true, all_varchar = true)"
    columns = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()]
    found = {
        "Datetime (UTC)": _find_header(columns, EM_DATETIME_HEADERS),
        "Zone Id": _find_header(columns, EM_ZONE_HEADERS),
        f"carbon intensity ({BASIS_LABELS[basis]})": _find_header(
            columns, EM_INTENSITY_HEADERS[basis]
        ),
    }
    missing = [name for name, column in found.items() if column is None]
    if missing:
        accepted = ", ".join(EM_INTENSITY_HEADERS[basis])
        raise GridInputError(
            f"{path}: not an Electricity Maps hourly export for basis {basis!r}: no column "
            f"{' / '.join(missing)} (intensity headers accepted, any case: {accepted}); "
            f"columns found: {', '.join(columns)}"
        )
    dt, zone, value = (quote_identifier(c) for c in found.values())  # type: ignore[arg-type]
    return f"""
        SELECT
            coalesce(zone_map.zone, trim(src.{zone})) AS grid_zone,
            trim(src.{zone}) AS source_key,
            CAST(CAST(trim(src.{dt}) AS TIMESTAMPTZ) AS TIMESTAMP) AS start_at,
            3600.0 AS seconds,
            CAST(nullif(trim(src.{value}), '') AS DOUBLE) AS rating
        FROM {reader} AS src
        LEFT JOIN {_zone_map_sql(zone_map)} AS zone_map ON zone_map.key = trim(src.{zone})
    """


def carbon_aware_records_sql(
    con: duckdb.DuckDBPyConnection, path: Path, zone_map: Mapping[str, str]
) -> str:
    """SQL of the records of a Carbon Aware SDK emissions JSON, after checking keys,
    locations and durations."""
    reader = f"read_json({quote_literal(str(path))}, format = 'auto')"
    try:
        keys = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()]
    except duckdb.Error as exc:
        raise GridInputError(f"{path}: not a JSON list of emissions records: {exc}") from exc
    missing = [k for k in CAS_KEYS if k not in keys]
    if missing:
        raise GridInputError(
            f"{path}: Carbon Aware SDK records need keys {', '.join(CAS_KEYS)}; missing "
            f"{', '.join(missing)}; keys found: {', '.join(keys)}"
        )
    locations = [
        r[0]
        for r in con.execute(
            f"SELECT DISTINCT CAST(location AS VARCHAR) FROM {reader} ORDER BY 1"
        ).fetchall()
    ]
    unmapped = [loc for loc in locations if loc not in zone_map]
    if unmapped:
        raise GridInputError(
            f"{path}: key 'location': no grid zone for location(s) "
            f"{', '.join(map(repr, unmapped))}; add them to --zone-map as LOCATION=ZONE "
            f"(e.g. {unmapped[0]}=US-MIDA-PJM for a location on the PJM grid)"
        )
    durations = [
        r[0]
        for r in con.execute(f"SELECT DISTINCT CAST(duration AS VARCHAR) FROM {reader}").fetchall()
    ]
    seconds: dict[str, float] = {}
    for text in durations:
        try:
            seconds[text] = timespan_seconds(text or "")
        except ValueError:
            seconds[text] = 0.0
        if seconds[text] <= 0:
            raise GridInputError(
                f"{path}: key 'duration': {text!r} is not a positive hh:mm:ss duration"
            )
    duration_rows = ", ".join(f"({quote_literal(k)}, {v!r})" for k, v in seconds.items())
    return f"""
        SELECT
            zone_map.zone AS grid_zone,
            CAST(src.location AS VARCHAR) AS source_key,
            CAST(CAST(CAST(src.time AS VARCHAR) AS TIMESTAMPTZ) AS TIMESTAMP) AS start_at,
            durations.seconds AS seconds,
            CAST(src.rating AS DOUBLE) AS rating
        FROM {reader} AS src
        JOIN {_zone_map_sql(zone_map)} AS zone_map
            ON zone_map.key = CAST(src.location AS VARCHAR)
        JOIN (SELECT * FROM (VALUES {duration_rows}) AS t(duration, seconds)) AS durations
            ON durations.duration = CAST(src.duration AS VARCHAR)
    """


# --------------------------------------------------------------------------------------------
# Checks and the hourly result.
# --------------------------------------------------------------------------------------------


def check_duplicates(con: duckdb.DuckDBPyConnection, records: str, path: Path) -> None:
    """Fail on two different records for one zone and time (identical ones are one)."""
    rows = con.execute(f"""
        SELECT grid_zone, start_at, list(DISTINCT source_key ORDER BY source_key),
            list(DISTINCT rating ORDER BY rating)
        FROM ({records})
        GROUP BY grid_zone, start_at
        HAVING count(DISTINCT (rating, seconds)) > 1
        ORDER BY grid_zone, start_at
    """).fetchall()
    if rows:
        shown = "; ".join(
            f"{zone} {start:%Y-%m-%d %H:%M} (from {', '.join(keys)}: {ratings})"
            for zone, start, keys, ratings in rows[:DUPLICATES_SHOWN]
        )
        more = f" and {len(rows) - DUPLICATES_SHOWN} more" if len(rows) > DUPLICATES_SHOWN else ""
        raise GridInputError(
            f"{path}: {len(rows)} zone-hour(s) given twice with different values: {shown}{more}"
        )


def check_hourly_export(con: duckdb.DuckDBPyConnection, records: str, path: Path) -> None:
    """Refuse an Electricity Maps daily/monthly/yearly export posing as hourly data."""
    rows = con.execute(f"""
        WITH starts AS (SELECT DISTINCT grid_zone, start_at FROM ({records})),
        gaps AS (
            SELECT grid_zone, start_at, start_at - lag(start_at) OVER (
                PARTITION BY grid_zone ORDER BY start_at) AS gap
            FROM starts
        )
        SELECT grid_zone, min(gap) FROM gaps GROUP BY grid_zone
        HAVING min(gap) > INTERVAL 1 HOUR OR bool_or(date_trunc('hour', start_at) <> start_at)
    """).fetchall()
    if rows:
        raise GridInputError(
            f"{path}: column 'Datetime (UTC)' is not hourly for zone(s) "
            f"{', '.join(r[0] for r in rows)}: download the hourly export"
        )


def hourly_sql(records: str) -> str:
    """Time-weighted hourly means of records covering [start_at, start_at + seconds)."""
    return f"""
        WITH records AS (
            SELECT DISTINCT grid_zone, start_at, seconds, rating,
                start_at + to_microseconds(CAST(round(seconds * 1e6) AS BIGINT)) AS end_at
            FROM ({records})
            -- An hour the export left blank is no figure: the project falls back to the
            -- monthly or annual one for it.
            WHERE rating IS NOT NULL
        ),
        pieces AS (
            SELECT grid_zone, rating, start_at, end_at,
                unnest(generate_series(
                    date_trunc('hour', start_at), end_at - INTERVAL 1 MICROSECOND,
                    INTERVAL 1 HOUR
                )) AS hour_start_at
            FROM records
        ),
        weighted AS (
            SELECT grid_zone, hour_start_at, rating,
                epoch(least(end_at, hour_start_at + INTERVAL 1 HOUR))
                - epoch(greatest(start_at, hour_start_at)) AS overlap_s
            FROM pieces
        )
        SELECT grid_zone, hour_start_at, sum(rating * overlap_s) / sum(overlap_s) AS gco2e_per_kwh
        FROM weighted
        GROUP BY grid_zone, hour_start_at
    """


def describe_source(
    con: duckdb.DuckDBPyConnection, records: str, path: Path, fmt: str, basis: str
) -> str:
    """The `source` text: file name, format and basis (and how sub-hour data was folded)."""
    label = BASIS_LABELS[basis]
    if fmt == "electricitymaps":
        return f"Electricity Maps export {path.name}, {label} basis"
    sub_hourly = con.execute(f"SELECT bool_or(seconds < 3600) FROM ({records})").fetchone()
    text = f"Carbon Aware SDK emissions export {path.name}, {label} basis"
    if sub_hourly and sub_hourly[0]:
        text += ", time-weighted hourly mean of sub-hourly records"
    return text


def convert(
    input_path: Path,
    fmt: str,
    basis: str,
    out_dir: Path,
    zone_map: Mapping[str, str] | None = None,
) -> Path:
    """Convert one export to ``<out_dir>/grid_intensity_hourly.csv``; return its path."""
    if fmt not in FORMATS:
        raise GridInputError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if basis not in BASES:
        raise GridInputError(f"unknown basis {basis!r}; use one of {', '.join(BASES)}")
    if not input_path.is_file():
        raise GridInputError(f"{input_path}: no such file")
    zone_map = dict(zone_map or {})
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        if fmt == "electricitymaps":
            records = electricitymaps_records_sql(con, input_path, basis, zone_map)
        else:
            records = carbon_aware_records_sql(con, input_path, zone_map)
        try:
            check_duplicates(con, records, input_path)
            if fmt == "electricitymaps":
                check_hourly_export(con, records, input_path)
            source = describe_source(con, records, input_path, fmt, basis)
            out_dir.mkdir(parents=True, exist_ok=True)
            out_path = out_dir / OUTPUT_NAME
            tmp_path = out_dir / f".{OUTPUT_NAME}.tmp"
            con.execute(f"""
                COPY (
                    SELECT grid_zone,
                        strftime(hour_start_at, '%Y-%m-%d %H:%M:%S') AS hour_start_at,
                        gco2e_per_kwh,
                        {quote_literal(source)} AS source
                    FROM ({hourly_sql(records)})
                    ORDER BY grid_zone, hour_start_at
                ) TO {quote_literal(str(tmp_path))} (FORMAT csv, HEADER true)
            """)
        except duckdb.Error as exc:
            raise GridInputError(f"{input_path}: cannot be converted: {exc}") from exc
        tmp_path.replace(out_path)
    finally:
        con.close()
    return out_path


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(
        description="Convert an Electricity Maps or Carbon Aware SDK export to "
        "grid_intensity_hourly.csv.",
    )
    parser.add_argument("--input", required=True, type=Path)
    parser.add_argument("--format", required=True, choices=FORMATS)
    parser.add_argument("--basis", required=True, choices=BASES)
    parser.add_argument(
        "--zone-map",
        nargs="*",
        default=[],
        metavar="FILE|KEY=ZONE",
        help="YAML file of KEY: ZONE, or KEY=ZONE pairs (Electricity Maps: identity by default)",
    )
    parser.add_argument("--out", required=True, type=Path, help="raw_dir to write into")
    args = parser.parse_args(argv)
    try:
        out = convert(args.input, args.format, args.basis, args.out, parse_zone_map(args.zone_map))
    except GridInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
