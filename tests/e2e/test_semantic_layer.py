"""The semantic layer: real `mf query` runs agree with the marts, ratios are ratios of sums.

A generated workload is built with `dbt build` into a throwaway copy of the project (a folder of
symlinks to the real project's files with its own target/), because `mf` only ever reads
``<project root>/target/semantic_manifest.json`` and the DuckDB file the profile names. The
MetricFlow CLI then runs there as a user would run it, writing CSV; the expected numbers are
computed here with plain SQL sums over the marts and divided in Python - never through
MetricFlow or the code that built the marts.
"""

from __future__ import annotations

import csv
import json
import math
import subprocess
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import harness
import pytest

pytestmark = pytest.mark.e2e

N_CALLS, SEED = harness.N_CALLS, harness.SEED
REL_TOL = 1e-9
ROOT, BIN = harness.ROOT, harness.BIN
Row = dict[str, Any]
clean_env, run_ok, database = harness.clean_env, harness.run_ok, harness.database


def query(project: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(database(project)), read_only=True) as con:
        return con.sql(sql).fetchall()


def mf_query(project: Path, *args: str) -> list[Row]:
    """`mf query ... --csv`, the rows as dicts of text (empty text for null)."""
    out = project / "target" / "mf_query.csv"
    out.unlink(missing_ok=True)
    run_ok([BIN / "mf", "query", *args, "--csv", str(out)], project)
    with out.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# --------------------------------------------------------------------------------------------
# Comparing numbers.
# --------------------------------------------------------------------------------------------


def as_number(text: str) -> float | None:
    return None if text == "" else float(text)


def as_day(text: str) -> date:
    return datetime.fromisoformat(text).date()


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, empty when the denominator is zero or empty (like NULLIF)."""
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def close(actual: float | None, expected: float | None) -> bool:
    if actual is None or expected is None:
        return actual is None and expected is None
    return math.isclose(actual, expected, rel_tol=REL_TOL, abs_tol=1e-12)


def assert_same_table(
    actual: Mapping[tuple[Any, ...], Mapping[str, float | None]],
    expected: Mapping[tuple[Any, ...], Mapping[str, float | None]],
) -> None:
    assert actual.keys() == expected.keys()
    mismatches = [
        (key, metric, actual[key][metric], value)
        for key, values in expected.items()
        for metric, value in values.items()
        if not close(actual[key][metric], value)
    ]
    assert not mismatches, f"{len(mismatches)} mismatches, e.g. {mismatches[:5]}"


def keyed(rows: Iterable[Row], key_columns: Sequence[str], metrics: Sequence[str]) -> dict:
    """mf rows -> {(period, group...): {metric: value}}; the period column is parsed as a date."""
    out = {}
    for row in rows:
        key = tuple(as_day(row[c]) if c.startswith("metric_time") else row[c] for c in key_columns)
        assert key not in out, f"duplicate row for {key}"
        out[key] = {m: as_number(row[m]) for m in metrics}
    return out


# --------------------------------------------------------------------------------------------
# Fixtures.
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def project(sample_project: Path) -> Path:
    """The session's shared sample project (conftest.py)."""
    return sample_project


GRAINS = ("day", "quarter")

TASK_METRICS = (
    "tasks",
    "completed_tasks",
    "tasks_facility_wh",
    "wasted_wh",
    "task_wh",
    "task_wh_low",
    "task_wh_high",
    "task_gco2e",
    "task_gco2e_low",
    "task_gco2e_high",
    "task_gco2e_market",
    "completion_rate",
    "retry_rate",
    "wasted_wh_share",
)

#: Ratio columns mart_feature_task_watts stores per feature and day (same names as the metrics).
MART_RATIO_COLUMNS = (
    "task_wh",
    "task_wh_low",
    "task_wh_high",
    "task_gco2e",
    "task_gco2e_low",
    "task_gco2e_high",
    "task_gco2e_market",
    "completion_rate",
    "wasted_wh_share",
)

CALL_METRICS = (
    "calls",
    "facility_wh",
    "facility_wh_low",
    "facility_wh_high",
    "gco2e_location",
    "gco2e_market",
    "gco2e_embodied",
    "water_ml",
    "output_tokens_per_accelerator_wh",
    "facility_wh_per_1k_tokens",
    "accelerator_wh_per_1k_tokens",
    "cache_hit_rate",
    "mean_batch_size",
)


# --------------------------------------------------------------------------------------------
# 1. Per completed task, by feature: agrees with mart_feature_task_watts.
# --------------------------------------------------------------------------------------------


def expected_task_metrics(project: Path, grain: str) -> dict:
    """Feature x period from the mart's sums, divided here (sum / sum)."""
    rows = query(
        project,
        f"""
        select
            cast(date_trunc('{grain}', task_date) as date), feature,
            sum(tasks), sum(completed_tasks), sum(attempts), sum(retries),
            sum(facility_wh), sum(facility_wh_low), sum(facility_wh_high), sum(wasted_wh),
            sum(gco2e_location), sum(gco2e_location_low), sum(gco2e_location_high),
            sum(gco2e_market)
        from mart_feature_task_watts
        group by all
        """,
    )
    out = {}
    for period, feature, tasks, done, attempts, retries, wh, wh_lo, wh_hi, wasted, *co2 in rows:
        g, g_lo, g_hi, g_mkt = co2
        out[(period, feature)] = {
            "tasks": tasks,
            "completed_tasks": done,
            "tasks_facility_wh": wh,
            "wasted_wh": wasted,
            "task_wh": ratio(wh, done),
            "task_wh_low": ratio(wh_lo, done),
            "task_wh_high": ratio(wh_hi, done),
            "task_gco2e": ratio(g, done),
            "task_gco2e_low": ratio(g_lo, done),
            "task_gco2e_high": ratio(g_hi, done),
            "task_gco2e_market": ratio(g_mkt, done),
            "completion_rate": ratio(done, tasks),
            "retry_rate": ratio(retries, attempts),
            "wasted_wh_share": ratio(wasted, wh),
        }
    return out


@pytest.fixture(scope="module")
def task_metrics_by_feature(project: Path) -> dict[str, dict]:
    """One `mf query` per grain for every per-task metric by feature, shared by the tests."""
    return {
        grain: keyed(
            mf_query(
                project,
                "--metrics",
                ",".join(TASK_METRICS),
                "--group-by",
                f"metric_time__{grain},task__feature",
            ),
            (f"metric_time__{grain}", "task__feature"),
            TASK_METRICS,
        )
        for grain in GRAINS
    }


@pytest.mark.parametrize("grain", GRAINS)
def test_task_metrics_by_feature_equal_the_feature_mart(
    project: Path, task_metrics_by_feature: dict[str, dict], grain: str
) -> None:
    expected = expected_task_metrics(project, grain)
    assert len(expected) > (100 if grain == "day" else 10)
    assert_same_table(task_metrics_by_feature[grain], expected)


def test_daily_ratios_are_the_marts_own_columns(
    project: Path, task_metrics_by_feature: dict[str, dict]
) -> None:
    """At day grain MetricFlow returns exactly the ratios the mart stores."""
    metrics = MART_RATIO_COLUMNS
    expected = {
        (day, feature): dict(zip(metrics, values, strict=True))
        for day, feature, *values in query(
            project, f"select task_date, feature, {', '.join(metrics)} from mart_feature_task_watts"
        )
    }
    actual = {
        key: {m: values[m] for m in metrics}
        for key, values in task_metrics_by_feature["day"].items()
    }
    assert_same_table(actual, expected)


def test_quarterly_task_wh_is_a_ratio_of_sums_not_a_mean_of_daily_ratios(
    project: Path, task_metrics_by_feature: dict[str, dict]
) -> None:
    daily = query(
        project,
        """
        select feature, cast(date_trunc('quarter', task_date) as date), task_wh,
               facility_wh, completed_tasks
        from mart_feature_task_watts
        """,
    )
    groups: dict[tuple[date, str], list[tuple[float | None, float, int]]] = defaultdict(list)
    for feature, quarter, task_wh, wh, done in daily:
        groups[(quarter, feature)].append((task_wh, wh, done))
    ratio_of_sums = {k: sum(r[1] for r in v) / sum(r[2] for r in v) for k, v in groups.items()}
    mean_of_ratios = {
        k: sum(r[0] for r in v if r[0] is not None) / sum(1 for r in v if r[0] is not None)
        for k, v in groups.items()
    }
    # Pick the feature-quarter where the two readings differ most: the data must tell them apart.
    key = max(groups, key=lambda k: abs(mean_of_ratios[k] / ratio_of_sums[k] - 1))
    assert abs(mean_of_ratios[key] / ratio_of_sums[key] - 1) > 0.01, "sample cannot tell them apart"

    actual = task_metrics_by_feature["quarter"]
    assert close(actual[key]["task_wh"], ratio_of_sums[key])
    assert not math.isclose(actual[key]["task_wh"], mean_of_ratios[key], rel_tol=0.005)


# --------------------------------------------------------------------------------------------
# 2. The inventory (calls), by model and by feature: agrees with the call fact and the model mart.
# --------------------------------------------------------------------------------------------


def expected_call_metrics(project: Path, grain: str) -> dict:
    rows = query(
        project,
        f"""
        select
            cast(date_trunc('{grain}', started_at) as date), model, feature,
            count(*), sum(facility_wh), sum(facility_wh_low), sum(facility_wh_high),
            sum(gco2e_location), sum(gco2e_market), sum(gco2e_embodied), sum(water_ml),
            sum(output_tokens), sum(input_tokens), sum(cached_input_tokens), sum(accelerator_wh),
            sum(batch_size), count(batch_size)
        from fct_inference_call_footprint
        group by all
        """,
    )
    out = {}
    for period, model, feature, calls, wh, lo, hi, loc, mkt, emb, water, *rest in rows:
        out_tok, in_tok, cached, acc_wh, batch_sum, batch_calls = rest
        tokens = in_tok + out_tok
        out[(period, model, feature)] = {
            "calls": calls,
            "facility_wh": wh,
            "facility_wh_low": lo,
            "facility_wh_high": hi,
            "gco2e_location": loc,
            "gco2e_market": mkt,
            "gco2e_embodied": emb,
            "water_ml": water,
            "output_tokens_per_accelerator_wh": ratio(out_tok, acc_wh),
            "facility_wh_per_1k_tokens": ratio(wh * 1000, tokens),
            "accelerator_wh_per_1k_tokens": ratio(acc_wh * 1000, tokens),
            "cache_hit_rate": ratio(cached, in_tok),
            "mean_batch_size": ratio(batch_sum, batch_calls),
        }
    return out


@pytest.mark.parametrize("grain", GRAINS)
def test_inventory_metrics_by_model_and_feature_equal_the_call_fact(
    project: Path, grain: str
) -> None:
    """Energy, carbon, water and token efficiency by model x feature (feature joined via task)."""
    rows = mf_query(
        project,
        "--metrics", ",".join(CALL_METRICS),
        "--group-by", f"metric_time__{grain},model,task__feature",
    )  # fmt: skip
    actual = keyed(rows, (f"metric_time__{grain}", "model", "task__feature"), CALL_METRICS)
    expected = expected_call_metrics(project, grain)
    assert len({key[1] for key in expected}) > 3 and len({key[2] for key in expected}) > 3
    assert_same_table(actual, expected)


def test_quarterly_model_figures_equal_the_model_efficiency_mart(project: Path) -> None:
    """mart_model_efficiency (model x gpu x month) rolled up by its sums to model x quarter."""
    rows = query(
        project,
        """
        select
            cast(date_trunc('quarter', month_start) as date), model,
            sum(calls), sum(facility_wh), sum(gco2e_location), sum(output_tokens),
            sum(accelerator_wh), sum(accelerator_wh_low), sum(accelerator_wh_high),
            sum(input_tokens), sum(cached_input_tokens),
            sum(mean_batch_size * calls_with_batch_size), sum(calls_with_batch_size)
        from mart_model_efficiency
        group by all
        """,
    )
    expected = {}
    for quarter, model, calls, wh, co2, out_tok, acc, acc_lo, acc_hi, in_tok, *rest in rows:
        cached, batch_sum, batch_calls = rest
        expected[(quarter, model)] = {
            "calls": calls,
            "facility_wh": wh,
            "gco2e_location": co2,
            "output_tokens_per_accelerator_wh": ratio(out_tok, acc),
            "output_tokens_per_accelerator_wh_low": ratio(out_tok, acc_hi),
            "output_tokens_per_accelerator_wh_high": ratio(out_tok, acc_lo),
            "gco2e_per_1k_tokens": ratio(co2 * 1000, in_tok + out_tok),
            "cache_hit_rate": ratio(cached, in_tok),
            "mean_batch_size": ratio(batch_sum, batch_calls),
        }
    metrics = tuple(next(iter(expected.values())))
    actual = keyed(
        mf_query(
            project, "--metrics", ",".join(metrics), "--group-by", "metric_time__quarter,model"
        ),
        ("metric_time__quarter", "model"),
        metrics,
    )
    assert_same_table(actual, expected)


# --------------------------------------------------------------------------------------------
# 3. Saved queries.
# --------------------------------------------------------------------------------------------


def test_feature_scorecard_saved_query_matches_the_feature_mart(project: Path) -> None:
    rows = mf_query(project, "--saved-query", "feature_scorecard_quarterly")
    actual = keyed(
        rows,
        ("metric_time__quarter", "task__feature"),
        ("task_wh", "task_gco2e", "completion_rate", "output_tokens_per_accelerator_wh"),
    )
    sums = query(
        project,
        """
        select cast(date_trunc('quarter', task_date) as date), feature,
               sum(facility_wh), sum(gco2e_location), sum(completed_tasks), sum(tasks),
               sum(output_tokens), sum(accelerator_wh)
        from mart_feature_task_watts
        group by all
        """,
    )
    assert actual.keys() == {(q, f) for q, f, *_ in sums}
    for quarter, feature, wh, co2, done, tasks, out_tok, acc_wh in sums:
        got = actual[(quarter, feature)]
        assert close(got["task_wh"], wh / done)
        assert close(got["task_gco2e"], co2 / done)
        assert close(got["completion_rate"], done / tasks)
        # Token efficiency is dated by call start, the mart by task start: a task that starts
        # before midnight at a quarter's end moves its later calls. Equal up to such tasks.
        assert math.isclose(got["output_tokens_per_accelerator_wh"], out_tok / acc_wh, rel_tol=1e-3)
    shares = [
        sum(
            as_number(r[f"energy_share_{t}"]) or 0 for t in ("small", "medium", "large", "frontier")
        )
        for r in rows
    ]
    assert all(math.isclose(s, 1.0, rel_tol=1e-9) for s in shares)


def test_model_efficiency_card_has_one_row_per_model_gpu_and_quarter(project: Path) -> None:
    rows = mf_query(project, "--saved-query", "model_efficiency_card")
    got = {
        (as_day(r["metric_time__quarter"]), r["model"], r["call__gpu_type"]): int(r["calls"])
        for r in rows
    }
    assert len(got) == len(rows)
    expected = {
        (quarter, model, gpu or ""): calls
        for quarter, model, gpu, calls in query(
            project,
            """
            select cast(date_trunc('quarter', month_start) as date), model, gpu_type, sum(calls)
            from mart_model_efficiency group by all
            """,
        )
    }
    assert got == expected


def test_emissions_by_zone_and_hour_add_up_to_the_inventory(project: Path) -> None:
    rows = mf_query(project, "--saved-query", "emissions_by_grid_zone_and_hour")
    hours = {int(float(r["call__hour_of_day"])) for r in rows}
    assert hours <= set(range(24)) and len(hours) == 24
    totals = query(
        project,
        """
        select sum(facility_wh), sum(gco2e_location), sum(gco2e_market), sum(gco2e_embodied),
               sum(water_ml), count(distinct (region, grid_zone, hour(started_at)))
        from fct_inference_call_footprint
        """,
    )[0]
    metrics = ("facility_wh", "gco2e_location", "gco2e_market", "gco2e_embodied", "water_ml")
    for metric, total in zip(metrics, totals, strict=False):
        assert close(sum(float(r[metric]) for r in rows), total), metric
    cells = {(r["call__region"], r["call__grid_zone"], r["call__hour_of_day"]) for r in rows}
    assert len(cells) == totals[-1]


# --------------------------------------------------------------------------------------------
# 4. Documentation: every public mart, column, semantic model and metric is described.
# --------------------------------------------------------------------------------------------

UNIT_MARKER = "Unit - "


def test_docs_generate_describes_every_public_object(project: Path) -> None:
    run_ok([BIN / "dbt", "docs", "generate", "--no-use-colors"], project)
    target = project / "target"
    manifest = json.loads((target / "manifest.json").read_text())
    catalog = json.loads((target / "catalog.json").read_text())
    assert (target / "index.html").exists()

    public = {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["package_name"] == "task_watts"
        and node["name"].startswith(("fct_", "mart_"))
    }
    marts = ROOT / "models" / "marts"
    assert {p.stem for p in marts.rglob("*") if p.suffix in (".sql", ".py")} <= public.keys()
    for name, node in public.items():
        assert node["description"].strip(), name
        built = catalog["nodes"][node["unique_id"]]["columns"]
        undocumented = [
            c for c in built if not node["columns"].get(c, {}).get("description", "").strip()
        ]
        assert not undocumented, (name, undocumented)

    semantic_models = manifest["semantic_models"].values()
    assert {s["name"] for s in semantic_models} >= {"tasks", "inference_calls", "features"}
    for sm in semantic_models:
        assert sm["description"].strip(), sm["name"]
        for element in (*sm["entities"], *sm["dimensions"], *sm["measures"]):
            assert (element.get("description") or "").strip(), (sm["name"], element["name"])

    metrics = list(manifest["metrics"].values())
    assert len(metrics) >= 40
    for metric in metrics:
        description = metric["description"]
        assert UNIT_MARKER in description and description.split(UNIT_MARKER)[1].strip(), metric[
            "name"
        ]
        assert metric["label"].strip(), metric["name"]
    for kind in ("saved_queries", "exposures"):
        assert manifest[kind], kind
        for item in manifest[kind].values():
            assert item["description"].strip(), item["name"]


def test_exposures_record_who_depends_on_which_mart(project: Path) -> None:
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    assert set(exposures) == {
        "task_watts_scorecard", "task_watts_roadmap_report", "bi_footprint_dashboard"
    }  # fmt: skip
    scorecard_deps = set(exposures["task_watts_scorecard"]["depends_on"]["nodes"])
    assert "model.task_watts.mart_feature_quarter" in scorecard_deps
    report_deps = set(exposures["task_watts_roadmap_report"]["depends_on"]["nodes"])
    assert "model.task_watts.mart_model_efficiency" in report_deps
    dashboard_deps = set(exposures["bi_footprint_dashboard"]["depends_on"]["nodes"])
    assert {
        f"model.task_watts.{m}"
        for m in (
            "fct_inference_call_footprint",
            "fct_task_footprint",
            "mart_feature_task_watts",
            "mart_model_efficiency",
        )
    } <= dashboard_deps
    assert "metric.task_watts.task_wh" in dashboard_deps


def test_mf_follows_the_warehouse_path_without_a_reparse(project: Path, tmp_path: Path) -> None:
    """A warehouse built or copied under another file name is what `mf` reads when
    TASK_WATTS_DUCKDB_PATH names it, with the semantic manifest of the earlier build: the
    catalog is task_watts whatever the file is called, so nothing needs re-parsing."""
    other = tmp_path / "somewhere_else.duckdb"
    other.write_bytes(database(project).read_bytes())
    with duckdb.connect(str(other)) as con:
        con.execute("delete from fct_task_footprint where feature <> 'summarize'")
        (want,) = con.execute(
            "select count(*) filter (where not is_pending) from fct_task_footprint"
        ).fetchall()[0]
    out = tmp_path / "mf.csv"
    proc = subprocess.run(
        [str(BIN / "mf"), "query", "--metrics", "tasks", "--csv", str(out)],
        cwd=project,
        env={**clean_env(), "TASK_WATTS_DUCKDB_PATH": str(other)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with out.open(newline="", encoding="utf-8") as handle:
        (row,) = list(csv.DictReader(handle))
    assert int(float(row["tasks"])) == want
    # ... and the project's own warehouse still answers for every feature.
    assert int(float(mf_query(project, "--metrics", "tasks")[0]["tasks"])) > want
