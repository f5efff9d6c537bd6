"""User ids stay pseudonymous everywhere the project writes, and the key stays in the process.

One generated workload has every user id replaced by a distinctive canary; a distinctive key
is set. The test then runs what an operator runs - a full build, a daily load with quarantined
rows (malformed user ids among them), a load the gate blocks, `dbt docs generate`, the
scorecard, the export and the report - and searches every file under the throwaway project's
target/ and logs/ (compiled and run SQL, manifest, run results, partial-parse cache, dbt.log,
GX Data Docs, Parquet export, report, disclosures), every output printed, and the warehouse
files (their bytes, and every text column and view definition through SQL) for each canary
and for the key. Positive controls prove each search finds a canary where one is planted.

Also: HMAC-SHA-256 under the key (recomputed here), stable across builds under one key,
unlinkable under two keys, and no build of real telemetry without a key.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import harness
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from python_helpers.outputs.build_status import public_key_warning
from python_helpers.tools.sample_workload import write_sample_workload

pytestmark = pytest.mark.e2e

#: Every canary user id contains this token (letters outside hex, so no digest can hold it).
CANARY = "QZCANARY"
KEY = "QZKEYSECRET-7fa0c9e1-never-leaves-the-process"
OTHER_KEY = "QZKEYOTHER-2b8d44aa-a-rotated-key"
#: Ids no sane logger writes: spaces, a quote and a comma, a newline, non-ASCII, very long.
MALFORMED = (
    f"  {CANARY}M1ZQ  ",
    f'{CANARY}M2ZQ,"quoted"',
    f"{CANARY}M3ZQ\nsecond line",
    f"{CANARY}M4ZQ-üñï©ødé",
    f"{CANARY}M5ZQ" * 500,
)
DAY, BLOCKED_DAY = date(2026, 7, 14), date(2026, 7, 15)


def canary_id(user: str) -> str:
    return f"{CANARY}{user.upper().replace('_', '')}ZQ@mail.example"


def needles(*keys: str) -> dict[str, bytes]:
    """What must never be found: the canary token (any case) and each key (text and hex)."""
    out = {"canary": CANARY.encode(), "canary (lower case)": CANARY.lower().encode()}
    for i, key in enumerate(keys):
        out[f"key {i}"] = key.encode()
        out[f"key {i} (hex)"] = key.encode().hex().encode()
    return out


# --------------------------------------------------------------------------------------------
# The searches, each with a positive control below.
# --------------------------------------------------------------------------------------------


def files_under(*folders: Path) -> list[Path]:
    return sorted(
        p for folder in folders if folder.exists() for p in folder.rglob("*") if p.is_file()
    )


def byte_hits(paths: list[Path], wanted: dict[str, bytes]) -> list[tuple[str, str]]:
    """(file, what) for every file whose bytes hold one of ``wanted``."""
    hits = []
    for path in paths:
        data = path.read_bytes()
        hits += [(str(path), name) for name, needle in wanted.items() if needle in data]
    return hits


def parquet_hits(paths: list[Path], wanted: dict[str, bytes]) -> list[tuple[str, str]]:
    """Parquet is compressed: read every string column and look inside the values."""
    hits = []
    for path in paths:
        table = pq.read_table(path)
        for name, field in zip(table.column_names, table.schema, strict=True):
            if not pa.types.is_string(field.type) and not pa.types.is_large_string(field.type):
                continue
            column = table[name]
            for what, needle in wanted.items():
                if pc.any(pc.match_substring(column, needle.decode())).as_py():
                    hits.append((f"{path}:{name}", what))
    return hits


def warehouse_hits(db_path: Path, wanted: dict[str, bytes]) -> list[tuple[str, str]]:
    """DuckDB compresses strings (dictionary, FSST): search every text column and view
    definition through SQL, in every schema (stored test failures included)."""
    hits = []
    with duckdb.connect(str(db_path), read_only=True) as con:
        columns = con.sql(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where data_type = 'VARCHAR'"
        ).fetchall()
        views = " ".join(s for (s,) in con.sql("select sql from duckdb_views()").fetchall() if s)
        for what, needle in wanted.items():
            if needle.decode() in views:
                hits.append((f"{db_path}:views", what))
        for schema, table, column in columns:
            for what, needle in wanted.items():
                n = con.execute(
                    f'select count(*) from "{schema}"."{table}" where contains("{column}", ?)',
                    [needle.decode()],
                ).fetchall()[0][0]
                if n:
                    hits.append((f"{db_path}:{schema}.{table}.{column}", what))
    return hits


# --------------------------------------------------------------------------------------------
# The workload: the generated sample with canary user ids, flat and as two daily batches.
# --------------------------------------------------------------------------------------------


def _with_canaries(table: pa.Table) -> pa.Table:
    users = table["user_id"].to_pylist()
    canaries = pa.array([None if u is None else canary_id(u) for u in users], pa.string())
    return table.set_column(table.schema.get_field_index("user_id"), "user_id", canaries)


def _day_tasks(day: date) -> str:
    """SQL: the tasks whose every call and event falls on ``day`` (a self-contained batch)."""
    return f"""
        select task_id from (
            select task_id, event_at as ts from events
            union all select task_id, started_at from calls
            union all select task_id, ended_at from calls
        ) group by task_id
        having min(ts)::date = '{day}' and max(ts)::date = '{day}'
    """


def _write_csv(rows: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _write_day(con: duckdb.DuckDBPyConnection, raw: Path, day: date) -> list[dict]:
    """The day's calls (Parquet) into raw/inference_calls/date=day; returns its events."""
    tasks = _day_tasks(day)
    folder = raw / "inference_calls" / f"date={day}"
    folder.mkdir(parents=True)
    calls = con.sql(f"select * from calls where task_id in ({tasks})").to_arrow_table()
    pq.write_table(calls, folder / "part-0.parquet")
    events = con.sql(f"select * from events where task_id in ({tasks}) order by event_at")
    names = events.columns
    return [
        {n: ("" if v is None else str(v)) for n, v in zip(names, row, strict=True)}
        for row in events.fetchall()
    ]


@dataclass(frozen=True)
class Workload:
    flat: Path
    daily: Path
    user_ids: list[str]
    day_event: dict[str, str]


def make_workload(folder: Path) -> Workload:
    generated = folder / "generated"
    write_sample_workload(generated, n_calls=3_000, seed=5)
    flat = folder / "raw_flat"  # no sample marker: this is "real" telemetry
    flat.mkdir()
    calls = pq.read_table(generated / "inference_calls.parquet")
    events = _with_canaries(pq.read_table(generated / "task_events.parquet"))
    pq.write_table(calls, flat / "inference_calls.parquet")
    pq.write_table(events, flat / "task_events.parquet")

    daily = folder / "raw_daily"
    with duckdb.connect() as con:
        con.register("calls", calls)
        con.register("events", events)
        rows = _write_day(con, daily, DAY)
        template = rows[0]
        # Quarantined rows carrying malformed ids, and one accepted rating carrying one.
        bad = [
            {"feature": "no_such_feature"},
            {"event_type": "teleported"},
            {"event_at": "2026-01-01 00:00:00"},  # bad_timestamp
            {"quality_score": "7"},
            {"event_type": "rated", "quality_score": "0.5"},
        ]
        for i, (user, change) in enumerate(zip(MALFORMED, bad, strict=True)):
            rows.append({**template, "event_id": f"bad-{i}", "user_id": user, **change})
        _write_csv(rows, daily / "task_events" / f"date={DAY}" / "part-0.csv")
        blocked = _write_day(con, daily, BLOCKED_DAY)
        blocked[0]["event_at"] = "not-a-time"  # uncastable: the gate blocks the batch
        _write_csv(blocked, daily / "task_events" / f"date={BLOCKED_DAY}" / "part-0.csv")
    day_event = {r["event_id"]: r["user_id"] for r in rows}
    return Workload(flat, daily, sorted(set(events["user_id"].to_pylist())), day_event)


# --------------------------------------------------------------------------------------------
# Running the project as an operator would, in a throwaway copy.
# --------------------------------------------------------------------------------------------


def run(args: list[str | Path], project: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(a) for a in args],
        cwd=project,
        env={**harness.clean_env(), **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def ok(proc: subprocess.CompletedProcess, code: int = 0) -> str:
    assert proc.returncode == code, f"{proc.args}: {proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout + proc.stderr


def pseudonyms(db: Path, table: str = "int_task_events__accepted") -> dict[str, tuple[str, str]]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.sql(
            f"select event_id, user_id_hash, user_pseudonym_key_id from {table}"
        ).fetchall()
    return {event: (digest, key_id) for event, digest, key_id in rows}


@dataclass(frozen=True)
class Run:
    project: Path
    workload: Workload
    outputs: str
    other_db: Path
    other_dirs: tuple[Path, ...]


@pytest.fixture(scope="module")
def operated(tmp_path_factory: pytest.TempPathFactory) -> Run:
    tmp = tmp_path_factory.mktemp("pseudonyms")
    workload = make_workload(tmp)
    project = harness.make_project(tmp / "project")
    bin_ = harness.BIN
    keyed = {"TASK_WATTS_PSEUDONYM_KEY": KEY}
    flat = {**keyed, "TASK_WATTS_RAW_DIR": str(workload.flat)}
    out = [ok(run([bin_ / "dbt", "build", "--no-use-colors"], project, flat))]
    out.append(ok(run([bin_ / "dbt", "docs", "generate", "--no-use-colors"], project, flat)))
    out.append(ok(run([bin_ / "task-watts", "scorecard"], project, flat)))
    out.append(ok(run([bin_ / "task-watts", "export", "--out", "target/export"], project, flat)))
    out.append(ok(run([bin_ / "task-watts", "report"], project, flat)))
    # Absolute: the daily load runs dbt with the installed project's folder as project dir.
    target, logs = project / "target", project / "logs"
    daily = [
        bin_ / "task-watts", "daily", "--raw-dir", workload.daily, "--db", target / "daily.duckdb",
        "--docs-dir", target / "gx_docs", "--target-path", target, "--log-path", logs,
    ]  # fmt: skip
    out.append(ok(run([*daily, "--date", DAY.isoformat()], project, keyed)))
    out.append(ok(run([*daily, "--date", BLOCKED_DAY.isoformat()], project, keyed), code=2))
    # Rotation: a copy of that warehouse rebuilt in full under another key (own folders).
    other = tmp / "other_key"
    other.mkdir()
    shutil.copy(target / "task_watts.duckdb", other / "other.duckdb")
    other_env = {
        "TASK_WATTS_PSEUDONYM_KEY": OTHER_KEY,
        "TASK_WATTS_RAW_DIR": str(workload.flat),
        "TASK_WATTS_DUCKDB_PATH": str(other / "other.duckdb"),
    }
    out.append(ok(run([
        bin_ / "dbt", "build", "--no-use-colors",
        "--target-path", other / "target", "--log-path", other / "logs",
    ], project, other_env)))  # fmt: skip
    return Run(project, workload, "\n".join(out), other / "other.duckdb", (other,))


# --------------------------------------------------------------------------------------------
# Nowhere in clear.
# --------------------------------------------------------------------------------------------


def test_no_canary_and_no_key_in_any_artifact(operated: Run) -> None:
    project = operated.project
    target, logs = project / "target", project / "logs"
    # What the run must have written, or the search below proves nothing.
    for expected in (
        target / "manifest.json", target / "run_results.json", target / "catalog.json",
        target / "gx_docs" / "index.html", target / "report" / "index.html",
        logs / "dbt.log", target / "task_watts.duckdb", target / "daily.duckdb",
    ):  # fmt: skip
        assert expected.exists(), expected
    assert list((target / "export").glob("*.parquet"))
    assert list((target / "compiled").rglob("stg_telemetry__task_events.sql"))
    assert "BLOCKED" in operated.outputs and "quarantine__task_events" in operated.outputs

    wanted = needles(KEY, OTHER_KEY)
    files = files_under(target, logs, *operated.other_dirs)
    hits = byte_hits(files, wanted)
    hits += parquet_hits([p for p in files if p.suffix == ".parquet"], wanted)
    for db in (target / "task_watts.duckdb", target / "daily.duckdb", operated.other_db):
        hits += warehouse_hits(db, wanted)
    hits += [
        ("printed output", name) for name, n in wanted.items() if n.decode() in operated.outputs
    ]
    assert not hits, hits
    # The quarantine did receive the malformed ids' rows, pseudonymised.
    quarantined = pseudonyms(target / "daily.duckdb", "quarantine__task_events")
    assert {f"bad-{i}" for i in range(4)} <= set(quarantined)
    assert all(len(digest) == 64 for digest, _ in quarantined.values())


def test_positive_controls_find_planted_canaries(operated: Run, tmp_path: Path) -> None:
    """Each search finds a canary where one is: raw CSV bytes, raw Parquet, a DuckDB table."""
    wanted = needles(KEY)
    csvs = files_under(operated.workload.daily)
    assert {w for _, w in byte_hits([p for p in csvs if p.suffix == ".csv"], wanted)} >= {"canary"}
    flat = operated.workload.flat / "task_events.parquet"
    assert parquet_hits([flat], wanted)
    control = tmp_path / "control.duckdb"
    with duckdb.connect(str(control)) as con:
        con.execute("create table t as select * from read_parquet(?)", [str(flat)])
        con.execute("create schema audit")
        con.execute(f"create view audit.v as select '{KEY}' as k")
    found = {w for _, w in warehouse_hits(control, wanted)}
    assert {"canary", "key 0"} <= found
    key_file = tmp_path / "key.txt"
    key_file.write_text(KEY.encode().hex(), encoding="utf-8")
    assert [w for _, w in byte_hits([key_file], wanted)] == ["key 0 (hex)"]


# --------------------------------------------------------------------------------------------
# Keyed, stable, unlinkable, refused without a key.
# --------------------------------------------------------------------------------------------


def test_pseudonyms_are_hmac_sha256_stable_under_one_key(operated: Run) -> None:
    target = operated.project / "target"
    full = pseudonyms(target / "task_watts.duckdb")
    daily = pseudonyms(target / "daily.duckdb")
    key_id = hmac.new(KEY.encode(), b"task-watts-key-id", hashlib.sha256).hexdigest()[:16]
    for event, user in operated.workload.day_event.items():
        if event not in daily:
            continue
        expected = hmac.new(KEY.encode(), user.encode(), hashlib.sha256).hexdigest()
        assert daily[event] == (expected, key_id)
        if event in full:  # a second build, from other files, under the same key
            assert full[event] == daily[event]
    shared = set(full) & set(daily)
    assert len(shared) > 10
    assert {k for _, k in full.values()} == {key_id}


def test_two_keys_give_unlinkable_pseudonyms(operated: Run) -> None:
    first = pseudonyms(operated.project / "target" / "task_watts.duckdb")
    second = pseudonyms(operated.other_db)
    assert set(first) == set(second)
    assert not {d for d, _ in first.values()} & {d for d, _ in second.values()}
    assert len({k for _, k in first.values()} | {k for _, k in second.values()}) == 2
    # Within each key, the same user keeps one pseudonym (users do repeat across events).
    assert len({d for d, _ in first.values()}) == len({d for d, _ in second.values()})


def test_a_full_rebuild_under_a_new_key_re_pseudonymises_every_row(operated: Run) -> None:
    """The rotated copy holds no pseudonym, and no key id, of the old key in any table."""
    old = pseudonyms(operated.project / "target" / "task_watts.duckdb")
    old_digests = {d for d, _ in old.values()}
    old_key_id = hmac.new(KEY.encode(), b"task-watts-key-id", hashlib.sha256).hexdigest()[:16]
    new_key_id = hmac.new(OTHER_KEY.encode(), b"task-watts-key-id", hashlib.sha256).hexdigest()
    with duckdb.connect(str(operated.other_db), read_only=True) as con:
        columns = con.sql(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where column_name in ('user_id_hash', 'user_pseudonym_key_id')"
        ).fetchall()
        assert {c for _, _, c in columns} == {"user_id_hash", "user_pseudonym_key_id"}
        for schema, table, column in columns:
            values = {
                v for (v,) in con.sql(f'select distinct "{column}" from "{schema}"."{table}"')
                .fetchall()
            }  # fmt: skip
            assert not values & (old_digests | {old_key_id}), (table, column)
            if column == "user_pseudonym_key_id":
                assert values <= {new_key_id[:16]}, (table, values)


def test_real_telemetry_needs_a_key_and_the_opt_out_labels_the_warehouse(
    operated: Run, tmp_path: Path
) -> None:
    project, flat = operated.project, str(operated.workload.flat)
    common = [
        "--no-use-colors", "--target-path", tmp_path / "target", "--log-path", tmp_path / "logs",
    ]  # fmt: skip
    env = {"TASK_WATTS_RAW_DIR": flat, "TASK_WATTS_DUCKDB_PATH": str(tmp_path / "w.duckdb")}
    refused = run([harness.BIN / "dbt", "build", *common], project, env)
    assert refused.returncode != 0
    assert "TASK_WATTS_PSEUDONYM_KEY" in refused.stdout
    # Refused before the first node: not even a seed was loaded.
    if (tmp_path / "w.duckdb").exists():
        assert tables_in(tmp_path / "w.duckdb") == []
    opted = {**env, "TASK_WATTS_ALLOW_PUBLIC_KEY": "1"}
    ok(run([harness.BIN / "dbt", "run", "-s", "pseudonym_key", *common], project, opted))
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.sql("select * from pseudonym_key").fetchall() == [
            ("public-demo-key", "public_key_opt_out", True)
        ]
        assert "PUBLIC demo key" in (public_key_warning(con) or "")


def tables_in(db: Path) -> list[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return [name for (name,) in con.sql("select table_name from information_schema.tables")
                .fetchall()]  # fmt: skip


def test_key_file_and_bad_settings(tmp_path: Path) -> None:
    from python_helpers.ops.pseudonym_plugin import PseudonymKeyError, load_key

    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n", encoding="utf-8")
    from_file = load_key({"TASK_WATTS_PSEUDONYM_KEY_FILE": str(key_file)})
    assert from_file == load_key({"TASK_WATTS_PSEUDONYM_KEY": KEY})
    for bad in (
        {"TASK_WATTS_PSEUDONYM_KEY": "short"},
        {"TASK_WATTS_PSEUDONYM_KEY": KEY, "TASK_WATTS_PSEUDONYM_KEY_FILE": str(key_file)},
        {"TASK_WATTS_PSEUDONYM_KEY_FILE": str(tmp_path / "missing")},
    ):
        with pytest.raises(PseudonymKeyError) as error:
            load_key(bad)
        assert KEY not in str(error.value)
    assert load_key({}).key_id == "public-demo-key"
    assert os.environ.get("TASK_WATTS_PSEUDONYM_KEY") != KEY


def test_a_pseudonymised_column_without_a_raw_name_of_its_own_is_refused(tmp_path: Path) -> None:
    """The stored models select a pseudonymised column's contract name: were it the raw name
    too, the clear value would sit under it, so dbt must stop before any model runs."""
    project = harness.make_project(tmp_path / "project")
    (project / "models").unlink()
    shutil.copytree(harness.ROOT / "models", project / "models")
    declarations = project / "models" / "staging" / "telemetry" / "_telemetry__models.yml"
    declared = "contract: {raw_name: user_id, pseudonymise: true, nullable: true}"
    text = declarations.read_text()
    assert declared in text
    without_raw_name = "contract: {pseudonymise: true, nullable: true}"
    declarations.write_text(text.replace(declared, without_raw_name))
    sample = tmp_path / "raw"
    write_sample_workload(sample, n_calls=200, seed=3)
    proc = run(
        [harness.BIN / "dbt", "build", "--no-use-colors"],
        project,
        {"TASK_WATTS_RAW_DIR": str(sample)},
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert "is marked pseudonymise but has no raw_name of its own" in out, out[-3000:]
    assert "user_id_hash" in out
