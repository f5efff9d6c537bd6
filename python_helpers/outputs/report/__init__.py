"""Write the roadmap report: one self-contained HTML page, plus the disclosure files.

    task-watts report [--database target/task_watts.duckdb]
        [--out target/report] [--disclosures target/disclosures]
        [--base-url https://example.com/ai/disclosures]

Reads only public marts (the footprint marts and the roadmap marts), opening the DuckDB file
read-only as a BI tool would. Charts are Plotly figures; plotly.js is read from the installed
``plotly`` package and inlined once, so the page makes no network request and opens offline.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import duckdb

from python_helpers.outputs.build_status import (
    add_database_argument,
    explain_missing,
    missing_tables,
    no_warehouse,
    public_key_warning,
)
from python_helpers.outputs.disclosures import write_disclosures
from python_helpers.outputs.report.data import REPORT_MARTS, load
from python_helpers.outputs.report.page import render

DEFAULT_OUT = "target/report"
DEFAULT_DISCLOSURES = "target/disclosures"
#: Placeholder: where the organisation will publish the disclosure files (replace with yours).
DEFAULT_BASE_URL = "https://example.com/ai/disclosures"


def build_report(
    database: Path, out_dir: Path, disclosures_dir: Path, base_url: str = DEFAULT_BASE_URL
) -> tuple[Path, list[str], list[Path]]:
    """Write index.html and the disclosures; return the page, its chart ids and the files."""
    with duckdb.connect(str(database), read_only=True) as con:
        missing = missing_tables(con, REPORT_MARTS)
        if missing:
            raise SystemExit(explain_missing(database, missing))
        data = load(con)
        warning = public_key_warning(con)
    if not data["frontier"]:
        raise SystemExit(f"{database}: the roadmap marts are empty - run `dbt build` first")
    page, chart_ids = render(data, str(database), warning)
    out_dir.mkdir(parents=True, exist_ok=True)
    index = out_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    files = write_disclosures(
        disclosures_dir, data["card"], data["card_regions"], base_url, last_updated=date.today()
    )
    return index, chart_ids, files


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_database_argument(parser)
    parser.add_argument("--out", default=DEFAULT_OUT, help="folder for index.html")
    parser.add_argument("--disclosures", default=DEFAULT_DISCLOSURES)
    parser.add_argument(
        "--base-url", default=DEFAULT_BASE_URL, help="where disclosures are published"
    )
    args = parser.parse_args(argv)
    database = args.database
    problem = no_warehouse(database)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    index, _, files = build_report(database, Path(args.out), Path(args.disclosures), args.base_url)
    print(f"disclosures: {len(files) - 1} model JSON files and carbon.txt in {files[-1].parent}")
    print(f"report: {index.resolve()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
