"""The same project on Apache Spark (local PySpark) builds the same tables as on DuckDB.

One generated sample with broken rows (every quarantine reason) is built twice: by dbt on
DuckDB and by ``task-watts spark -- build`` (dbt-spark's session method on a local
SparkSession, the Python models run from their compiled code). Every model, data test and
unit test must pass on Spark, the quarantine must reconcile there, and every table both
builds wrote must agree (python_helpers/spark/compare.py); a 1e-6 change in one column of one
Spark table must be reported.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import harness
import pytest

from python_helpers.spark.compare import compare_builds
from python_helpers.tools.sample_workload import write_sample_workload

pytestmark = pytest.mark.e2e


def _spark_build(raw: Path, spark_dir: Path, work: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TASK_WATTS_RAW_DIR": str(raw),
        "TASK_WATTS_SPARK_DIR": str(spark_dir),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    command = [
        sys.executable, "-m", "python_helpers", "spark", "--", "build",
        "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
        "--no-use-colors",
    ]  # fmt: skip
    return subprocess.run(
        command, cwd=harness.ROOT, env=env, capture_output=True, text=True, timeout=1200
    )


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("spark")
    raw = root / "raw"
    write_sample_workload(raw, n_calls=3_000, seed=5, broken=True)
    # Broken events in a second file, as CSV: the text reader's row numbers on Spark too.
    with duckdb.connect() as con:
        event = con.execute(f"select * from '{raw}/task_events.parquet' limit 1").fetchdf()
    odd = event.loc[[0] * 6].astype(str).reset_index(drop=True)
    odd["event_id"] = ["odd-1", "odd-2", "odd-3", "odd-4", " odd-5\u00a0", event["event_id"][0]]
    odd.loc[0, "event_type"] = "exploded"
    odd.loc[1, "feature"] = "no_such_feature"
    odd.loc[2, "task_id"] = " \t "
    odd.loc[3, ["event_type", "quality_score"]] = ["Rated", "1.5"]
    odd.to_csv(raw / "task_events.csv", index=False)
    duck = root / "duckdb"
    duck.mkdir()
    assert harness.run_dbt("build", raw, duck / "warehouse.duckdb", duck).success
    spark_work = root / "spark_work"
    done = _spark_build(raw, root / "spark", spark_work)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return {
        "duckdb": duck / "warehouse.duckdb",
        "spark": root / "spark" / "warehouse" / "task_watts.db",
        "target": spark_work / "target",
        "root": root,
    }


def test_every_node_passes_on_spark_with_the_quarantine_reconciled(builds: dict) -> None:
    results = json.loads((builds["target"] / "run_results.json").read_text())["results"]
    statuses = {r["unique_id"]: r["status"] for r in results}
    failed = {
        uid: s for uid, s in statuses.items() if s not in ("success", "pass", "warn", "no-op")
    }
    assert not failed, failed
    nodes = json.loads((builds["target"] / "manifest.json").read_text())["nodes"].values()
    stored = {
        n["unique_id"]
        for n in nodes
        if n["resource_type"] == "model" and n["config"]["materialized"] != "ephemeral"
    }
    assert stored <= set(statuses) and len(stored) >= 20  # every stored model ran, and passed
    assert sum(uid.startswith("unit_test.") for uid in statuses) == 5
    reconciled = [uid for uid in statuses if "reconciles_with_quarantine" in uid]
    assert len(reconciled) == 2 and all(statuses[uid] == "pass" for uid in reconciled)
    # The Python models ran on Spark: their tables are there, as Parquet.
    for model in ("fct_inference_call_footprint", "fct_task_footprint", "mart_routing_what_if"):
        assert list((builds["spark"] / model).glob("*.parquet")), model
    quarantine = builds["spark"] / "quarantine__inference_calls"
    with duckdb.connect() as con:
        reasons = dict(
            con.execute(
                f"select reason, count(*) from read_parquet('{quarantine}/*.parquet') group by 1"
            ).fetchall()
        )
    # The broken rows reached the quarantine on Spark too, for their reasons.
    assert {"duplicate_call", "unknown_model", "negative_tokens"} <= set(reasons), reasons
    events = builds["spark"] / "quarantine__task_events"
    with duckdb.connect() as con:
        event_reasons = {
            r
            for (r,) in con.execute(
                f"select reason from read_parquet('{events}/*.parquet')"
            ).fetchall()
        }
    assert {"unknown_event_type", "unknown_feature", "missing_task_id", "invalid_value",
            "duplicate_event"} <= event_reasons, event_reasons  # fmt: skip


def test_spark_and_duckdb_build_the_same_tables(builds: dict) -> None:
    manifest = builds["target"] / "manifest.json"
    comparison = compare_builds(builds["duckdb"], builds["spark"], manifest)
    assert comparison.equal, comparison.render()
    public = [t for t in comparison.rows if t.startswith(("fct_", "mart_"))]
    assert len(public) == 11, comparison.render()
    assert all(n > 0 for n, _ in (comparison.rows[t] for t in public)), comparison.render()


def test_a_one_in_a_million_change_on_spark_is_reported(builds: dict) -> None:
    copy = builds["root"] / "perturbed"
    shutil.copytree(builds["spark"], copy)
    table = copy / "mart_feature_task_watts"
    with duckdb.connect() as con:
        con.execute(
            f"copy (select * replace (task_wh * (1 + 1e-6) as task_wh) "
            f"from read_parquet('{table}/*.parquet')) to '{copy}/changed.parquet'"
        )
    for old in table.glob("*.parquet"):
        old.unlink()
    (copy / "changed.parquet").rename(table / "part-0.parquet")
    comparison = compare_builds(builds["duckdb"], copy, builds["target"] / "manifest.json")
    assert not comparison.equal
    assert any(p.startswith("mart_feature_task_watts.task_wh:") for p in comparison.problems)
