"""A BI tool can read the results: the DuckDB file read-only, the Parquet export, docs/bi.md.

One generated workload is built into a throwaway copy of the project (see test_semantic_layer),
laid out exactly as `make demo` lays it out (target/sample, target/task_watts.duckdb), so the
commands of docs/bi.md run there word for word. Expected values come from the
warehouse through a separate connection or from pyarrow, never from python_helpers.outputs.export.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from harness import BIN, ROOT, clean_env, database, run_ok

pytestmark = pytest.mark.e2e

BI_DOC = ROOT / "docs" / "bi.md"
PUBLIC_PREFIXES = ("fct_", "mart_")


@pytest.fixture(scope="module")
def project(sample_project: Path) -> Path:
    """The session's shared sample project (conftest.py)."""
    return sample_project


def documented_marts() -> set[str]:
    """The public marts: the models directly under models/marts/."""
    folder = ROOT / "models" / "marts"
    return {p.stem for p in folder.iterdir() if p.suffix in (".sql", ".py")}


def warehouse_marts(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.sql(
        "select table_name from information_schema.tables where table_schema = 'main'"
    ).fetchall()
    return sorted(name for (name,) in rows if name.startswith(PUBLIC_PREFIXES))


# --------------------------------------------------------------------------------------------
# 1. The DuckDB file, opened read-only by another process.
# --------------------------------------------------------------------------------------------

READER = """
import json, sys
import duckdb

con = duckdb.connect(sys.argv[1], read_only=True)
out = {}
for (name,) in con.sql(
    "select table_name from information_schema.tables where table_schema = 'main' "
    "and (table_name like 'fct\\\\_%' escape '\\\\' or table_name like 'mart\\\\_%' escape '\\\\')"
).fetchall():
    rows = con.sql(f'select * from "{name}"').fetchall()
    out[name] = {"rows": len(rows), "columns": len(rows[0]) if rows else None}
try:
    con.execute("create table bi_scratch as select 1 as x")
    out["_write"] = "allowed"
except duckdb.Error as exc:
    out["_write"] = type(exc).__name__
print(json.dumps(out))
"""


def test_every_public_mart_reads_from_a_read_only_second_process(project: Path) -> None:
    db = database(project)
    # A reader is already attached (a notebook, say); a BI tool's process joins it.
    with duckdb.connect(str(db), read_only=True) as con:
        marts = warehouse_marts(con)
        expected = {
            m: {
                "rows": con.sql(f'select count(*) from "{m}"').fetchall()[0][0],
                "columns": len(con.sql(f'select * from "{m}" limit 0').columns),
            }
            for m in marts
        }
        proc = subprocess.run(
            [sys.executable, "-c", READER, str(db)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    write = seen.pop("_write")
    assert documented_marts() <= set(marts)
    assert seen == expected
    assert all(v["rows"] > 0 for v in seen.values()), seen
    assert write != "allowed", "a read-only connection must not write"


# --------------------------------------------------------------------------------------------
# 2. The Parquet export.
# --------------------------------------------------------------------------------------------


def _is_numeric(dtype: pa.DataType) -> bool:
    return pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_decimal(dtype)


def test_parquet_export_matches_the_warehouse(project: Path) -> None:
    out = project / "target" / "export"
    stdout = run_ok([BIN / "python", "-m", "python_helpers.outputs.export", "--out", out], project)
    files = {p.stem: p for p in out.glob("*.parquet")}
    with duckdb.connect(str(database(project)), read_only=True) as con:
        marts = warehouse_marts(con)
        assert set(files) == set(marts) >= documented_marts()
        for mart in marts:
            assert mart in stdout
            table = pq.read_table(files[mart])
            columns = [c[0] for c in con.sql(f'select * from "{mart}" limit 0').description]
            assert table.column_names == columns, mart
            assert table.num_rows == con.sql(f'select count(*) from "{mart}"').fetchall()[0][0]
            numeric = [f.name for f in table.schema if _is_numeric(f.type)]
            if not numeric:
                continue
            sums = con.sql(
                "select " + ", ".join(f'sum("{c}")' for c in numeric) + f' from "{mart}"'
            ).fetchall()[0]
            for column, expected in zip(numeric, sums, strict=True):
                got = pc.sum(table[column]).as_py()
                if expected is None:
                    assert got is None, (mart, column)
                else:
                    assert math.isclose(float(got), float(expected), rel_tol=1e-9), (mart, column)


# --------------------------------------------------------------------------------------------
# 3. docs/bi.md, word for word.
# --------------------------------------------------------------------------------------------


def bi_doc_blocks() -> list[str]:
    """The ```bash blocks of docs/bi.md, in order."""
    text = BI_DOC.read_text(encoding="utf-8")
    return re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL)


def test_bi_docs_work_word_for_word(project: Path) -> None:
    """Every command of docs/bi.md runs from the project root after the build `make demo` does.

    `make demo` itself is not re-run (a 200k-call build); the throwaway project holds the same
    files at the same paths, from a smaller sample.
    """
    blocks = bi_doc_blocks()
    assert blocks, "docs/bi.md has no bash examples"
    outputs: list[Any] = []
    for block in blocks:
        proc = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block],
            cwd=project,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert proc.returncode == 0, (
            f"docs/bi.md block failed:\n{block}\n{proc.stdout}\n{proc.stderr}"
        )
        assert proc.stdout.strip(), f"docs/bi.md block printed nothing:\n{block}"
        outputs.append(proc.stdout)
    text = "\n".join(outputs)
    # The page shows all three routes.
    assert "read_only=True" in "\n".join(blocks)
    assert "task-watts export" in "\n".join(blocks)
    assert "mf query" in "\n".join(blocks)
    assert "task_wh" in text
