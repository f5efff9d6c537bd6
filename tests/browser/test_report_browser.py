"""The report, rendered in a real headless Chromium from the system packages.

The session's shared sample (conftest.py) is the warehouse; the report command writes the page
and the disclosures, and Chromium (driven by selenium through the system
chromedriver, no driver download) loads the page from disk: no request may leave the file, no
request may fail, the console must stay free of errors, and every chart must have drawn. A
full-page screenshot is kept as a test artifact under target/test-artifacts/.
"""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import duckdb
import harness
import pytest

from python_helpers.outputs.report import build_report

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = ROOT / "target" / "test-artifacts"
CHARTS = (
    "chart-frontier", "chart-task-wh", "chart-tier", "chart-batch", "chart-cache-waste",
    "chart-routing", "chart-shifting", "chart-model-card", "chart-sci",
)  # fmt: skip


@pytest.fixture(scope="module")
def built(sample_project: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The report and disclosures written from the session's shared sample warehouse."""
    work = tmp_path_factory.mktemp("report")
    db = harness.database(sample_project)
    index, charts, _files = build_report(db, work / "report", work / "disclosures")
    return {"db": db, "index": index, "disclosures": work / "disclosures", "charts": charts}


def test_routing_never_recommends_the_trap_on_the_sample(built):
    with duckdb.connect(str(built["db"]), read_only=True) as con:
        (rec, excluded, today) = con.sql(
            "select recommended_mix, excluded_models, today_mix from mart_routing_what_if"
            " where feature = 'summarize'"
        ).fetchall()[0]
    # Today summarize runs on the small model, which completes far below the 85% floor.
    assert today.startswith("llama-3.1-8b-instruct")
    reasons = dict(part.split(": ", 1) for part in excluded.split("; "))
    assert "below the 85% floor" in reasons["llama-3.1-8b-instruct"]
    assert rec is None or "llama" not in rec


def test_disclosures_written_for_every_model(built):
    doc = tomllib.loads((built["disclosures"] / "carbon.txt").read_text())
    names = {e["url"].rsplit("/", 1)[1] for e in doc["org"]["disclosures"]}
    assert names == {p.name for p in built["disclosures"].glob("*.json")}
    for name in names:
        assert json.loads((built["disclosures"] / name).read_text())["periods"]


def test_page_is_self_contained(built):
    text = built["index"].read_text()
    assert "<script src" not in text and "<link " not in text
    assert tuple(built["charts"]) == CHARTS


def test_method_notes_report_the_pending_tasks_of_the_warehouse(built):
    with duckdb.connect(str(built["db"]), read_only=True) as con:
        pending, timed_out = con.sql(
            "select count(*) filter (where outcome = 'pending'), "
            "count(*) filter (where outcome = 'timed_out') from fct_task_footprint"
        ).fetchall()[0]
    text = built["index"].read_text()
    assert pending > 0, "the sample's last day should hold tasks still in progress"
    assert f"<li><b>Mature cohorts</b>: {pending:,} tasks (their " in text
    assert f"; {timed_out:,} tasks timed out" in text


def test_report_renders_in_headless_chromium(built, tmp_path):
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("Chromium is not installed: apt-get install -y chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1280,1000",
    ):
        opts.add_argument(flag)  # fmt: skip
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    try:
        driver.get("about:blank")
        driver.get_log("performance")  # drop the browser's own start-up traffic
        driver.get_log("browser")
        driver.get(built["index"].as_uri())
        drawn = driver.execute_script(
            """
            return [...document.querySelectorAll('.js-plotly-plot')].map(e => ({
                id: e.id,
                traces: (e._fullData || []).length,
                svg: e.querySelectorAll('.main-svg').length,
                marks: e.querySelectorAll('.scatterlayer .trace, .barlayer .trace').length,
                width: e.getBoundingClientRect().width,
            }));
            """
        )
        events = [json.loads(m["message"])["message"] for m in driver.get_log("performance")]
        console = driver.get_log("browser")
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1280, min(int(height), 16_000))
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / "report_screenshot.png"
        assert driver.save_screenshot(str(shot))
        shutil.copy(built["index"], ARTIFACTS / "report_index.html")
    finally:
        driver.quit()

    requested = [e["params"]["request"]["url"] for e in events
                 if e["method"] == "Network.requestWillBeSent"]  # fmt: skip
    assert requested, "the page load was not observed"
    outside = [u for u in requested if not u.startswith(("file://", "data:", "about:"))]
    assert outside == [], f"the page made network requests: {outside}"
    failed = [e["params"] for e in events if e["method"] == "Network.loadingFailed"]
    assert failed == [], f"failed requests: {failed}"
    errors = [m for m in console if m["level"] == "SEVERE"]
    assert errors == [], f"console errors: {errors}"
    by_id = {c["id"]: c for c in drawn}
    assert set(by_id) == set(CHARTS)
    for c in by_id.values():
        assert c["traces"] > 0 and c["svg"] > 0 and c["marks"] > 0 and c["width"] > 300, c
    assert shot.stat().st_size > 50_000
