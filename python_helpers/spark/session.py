"""A local SparkSession ready for the project, and ``dbt`` run inside the same process.

    task-watts spark -- build [dbt arguments]

dbt-spark's ``session`` method runs every SQL statement on the process's SparkSession
(``SparkSession.builder.getOrCreate()``). Creating that session here first lets the project
give it what a cluster would have:

* the keyed pseudonym functions, ``task_watts_pseudonym`` and ``task_watts_pseudonym_key_id``,
  registered as session functions with the key from the environment (the key never reaches
  SQL, as on DuckDB: python_helpers/ops/pseudonym_plugin.py);
* a way to run dbt Python models. Open-source dbt-spark submits them only to Databricks; here
  the compiled model (dbt's own code: the model, ``dbtObj``, then ``dbt = dbtObj(spark.table)``,
  ``df = model(dbt, spark)`` and the write) is executed against this session, which is what a
  Databricks cluster does with it (:class:`LocalSessionPythonJobHelper`).

Everything Spark writes (tables, the Derby metastore, scratch) lives under one folder,
``TASK_WATTS_SPARK_DIR`` (default ``target/spark``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import pandas as pd

from python_helpers.ops.pseudonym_plugin import (
    KEY_ENV,
    KEY_FILE_ENV,
    Pseudonymiser,
    PseudonymKey,
    load_key,
)
from python_helpers.project import PROJECT_ROOT

SPARK_DIR_ENV: Final = "TASK_WATTS_SPARK_DIR"
#: The profile's submission method for Python models on a local session.
LOCAL_SUBMISSION: Final = "local_session"


def spark_dir() -> Path:
    """Where the local Spark warehouse, metastore and scratch files live."""
    return Path(os.environ.get(SPARK_DIR_ENV, PROJECT_ROOT / "target" / "spark")).resolve()


def session_settings(root: Path) -> dict[str, str]:
    """Settings for a small local session: two cores, few shuffle partitions, UTC, no UI."""
    return {
        "spark.master": "local[2]",
        "spark.app.name": "task-watts",
        "spark.sql.warehouse.dir": str(root / "warehouse"),
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={root / 'metastore_db'};create=true"
        ),
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={root}",
        "spark.local.dir": str(root / "scratch"),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": "4",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        # No ${env:...} expansion in SQL text: nothing in a model or a seed can read the key.
        "spark.sql.variable.substitute": "false",
        "spark.driver.memory": os.environ.get("TASK_WATTS_SPARK_DRIVER_MEMORY", "4g"),
        # dbt-spark turns ANSI mode off for every session; say so here too, so a reader of
        # this session sees the semantics the models run under.
        "spark.sql.ansi.enabled": "false",
    }


def start_session() -> Any:
    """The process's SparkSession, created with :func:`session_settings` and the pseudonym
    functions registered."""
    from pyspark.sql import SparkSession

    root = spark_dir()
    (root / "scratch").mkdir(parents=True, exist_ok=True)
    # Spark's Python workers must run this interpreter (it has the project's packages).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    # pandas-on-Spark asks for it before the session starts (dbt-spark imports it).
    os.environ.setdefault("PYARROW_IGNORE_TIMEZONE", "1")
    # The key is read before the JVM starts and then taken out of the environment, so neither
    # the JVM nor its Python workers inherit it; it travels only in the UDF's closure.
    key = load_key()
    for variable in (KEY_ENV, KEY_FILE_ENV):
        os.environ.pop(variable, None)
    builder = SparkSession.builder.enableHiveSupport()
    for name, value in session_settings(root).items():
        builder = builder.config(name, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("FATAL")
    register_pseudonym_functions(spark, key)
    return spark


#: The raw inputs and the session view each is read through (macros/read_telemetry.sql).
RAW_INPUTS: Final[tuple[str, ...]] = ("inference_calls", "task_events", "grid_intensity_hourly")
EXTENSIONS: Final[tuple[str, ...]] = ("parquet", "csv", "jsonl", "ndjson", "json")


def raw_view_name(name: str) -> str:
    """The session view holding raw input ``name`` (read by spark__read_telemetry)."""
    return f"task_watts_raw_{name}"


def telemetry_files(raw_dir: Path, name: str, batch_date: str | None = None) -> list[Path]:
    """The files of raw input ``name``, found as on DuckDB (macros/read_telemetry.sql):
    ``<name>.<ext>`` or ``<name>/**/*.<ext>``, or only ``<name>/date=<batch_date>/**``."""
    found: list[Path] = []
    for extension in EXTENSIONS:
        if batch_date is None:
            found += raw_dir.glob(f"{name}.{extension}")
            found += raw_dir.glob(f"{name}/**/*.{extension}")
        else:
            found += raw_dir.glob(f"{name}/date={batch_date}/**/*.{extension}")
    return sorted(path for path in found if path.is_file())


def _read_files(spark: Any, paths: list[Path], extension: str) -> list[Any]:
    """Raw files as Spark reads them, each row with ``filename`` and its 0-based
    ``file_row_number``, combined by column name as DuckDB's readers do.

    Parquet is read in one scan with its files' schemas merged by name, and JSON Lines in one
    scan (Spark infers one schema over all lines), malformed lines failing the build. CSV is
    read file by file, because Spark would take the first file's header for all of them, as
    RFC 4180 text (doubled quotes, quoted newlines) and whole, so its rows come in file order.
    Text formats carry no row index: their rows are numbered in that order."""
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    names = [str(path) for path in paths]
    if extension == "parquet":
        frame = spark.read.option("mergeSchema", "true").parquet(*names)
        return [
            frame.select(
                "*",
                F.col("_metadata.file_path").alias("filename"),
                F.col("_metadata.row_index").alias("file_row_number"),
            )
        ]
    if extension == "csv":
        reader = (
            spark.read.option("header", "true").option("escape", '"').option("multiLine", "true")
        )
        raws = [reader.csv(name) for name in names]
    else:
        raws = [spark.read.option("mode", "FAILFAST").json(names)]
    order = Window.partitionBy("filename").orderBy("scan_order")
    return [
        raw.select(
            "*",
            F.col("_metadata.file_path").alias("filename"),
            F.monotonically_increasing_id().alias("scan_order"),
        )
        .withColumn("file_row_number", F.row_number().over(order) - 1)
        .drop("scan_order")
        for raw in raws
    ]


def register_raw_views(spark: Any, raw_dir: str, batch_date: str | None = None) -> dict[str, int]:
    """One session view per raw input with files, holding its rows as read (text formats as
    text), each with ``filename`` and its 0-based ``file_row_number``: the row's identity, as
    DuckDB's readers give it. ``raw_dir`` is the folder as dbt's var ``raw_dir`` holds it, so
    file names read as DuckDB gives them. Returns the number of files per view."""
    from urllib.parse import unquote

    from pyspark.sql import functions as F

    files_per_view: dict[str, int] = {}
    root = Path(raw_dir)
    for name in RAW_INPUTS:
        files = telemetry_files(root, name, batch_date)
        if not files:
            continue
        frames = [
            frame
            for extension in EXTENSIONS
            if (of_kind := [p for p in files if p.suffix == f".{extension}"])
            for frame in _read_files(spark, of_kind, extension)
        ]
        combined = frames[0]
        for frame in frames[1:]:
            combined = combined.unionByName(frame, allowMissingColumns=True)
        # Spark names a file by its URL-encoded absolute URI; DuckDB as it was found: raw_dir
        # as given, then the path under it. Map each file's URI to that name.
        names = {}
        for (uri,) in combined.select("filename").distinct().collect():
            local = Path(unquote(uri.removeprefix("file:")))
            relative = (
                local.relative_to(root.resolve()) if local.is_relative_to(root.resolve()) else None
            )
            names[uri] = f"{raw_dir.rstrip('/')}/{relative}" if relative else str(local)
        mapping = F.create_map(*[F.lit(x) for pair in names.items() for x in pair])
        combined = combined.withColumn("filename", mapping[F.col("filename")])
        combined.createOrReplaceTempView(raw_view_name(name))
        files_per_view[name] = len(files)
    is_sample = (root / "_task_watts_sample").exists()
    spark.sql(f"select {str(is_sample).lower()} as is_generated_sample").createOrReplaceTempView(
        "task_watts_raw_dir"
    )
    return files_per_view


def register_pseudonym_functions(spark: Any, key: PseudonymKey) -> None:
    """``task_watts_pseudonym(varchar)`` (hex HMAC-SHA-256 under the key, vectorised over
    Arrow batches) and ``task_watts_pseudonym_key_id()``, as on DuckDB."""
    from pyspark.sql.functions import pandas_udf

    secret = key.secret
    key_id = key.key_id

    @pandas_udf("string")  # type: ignore[call-overload]
    def pseudonym(values: pd.Series) -> pd.Series:
        # Built on the worker: the secret travels in the function's closure, never in SQL.
        hasher = Pseudonymiser(type(key)(secret, key_id))
        return values.map(lambda v: None if v is None or v != v else hasher.one(v))

    spark.udf.register("task_watts_pseudonym", pseudonym)
    spark.udf.register("task_watts_pseudonym_key_id", lambda: key_id, "string")


class LocalSessionPythonJobHelper:
    """dbt-spark Python submission on this process's SparkSession.

    dbt calls ``submit`` with the model's compiled code, which already ends with the lines a
    Databricks notebook runs (``dbt = dbtObj(spark.table)``, ``df = model(dbt, spark)``, the
    table write); it runs here with ``spark`` bound to the local session."""

    def __init__(self, parsed_model: dict, credentials: Any) -> None:
        self.model_name = parsed_model.get("alias") or parsed_model.get("name", "model")

    def submit(self, compiled_code: str) -> None:
        from pyspark.sql import SparkSession

        # The session is the process's default one; "active" is per thread, and dbt runs
        # models in threads of its own.
        spark = SparkSession.builder.getOrCreate()
        code = compile(compiled_code, f"<dbt python model {self.model_name}>", "exec")
        exec(code, {"spark": spark, "__name__": "__dbt_model__"})


def install_local_submission() -> None:
    """Make ``submission_method: local_session`` available to dbt-spark in this process."""
    from dbt.adapters.base.impl import PythonJobHelper
    from dbt.adapters.spark.impl import SparkAdapter

    helper = type("LocalSessionHelper", (LocalSessionPythonJobHelper, PythonJobHelper), {})
    helpers = dict(SparkAdapter.python_submission_helpers.fget(None))  # type: ignore[attr-defined]
    helpers[LOCAL_SUBMISSION] = helper
    SparkAdapter.python_submission_helpers = property(lambda self: helpers)  # type: ignore[assignment]
    SparkAdapter.default_python_submission_method = property(  # type: ignore[assignment]
        lambda self: LOCAL_SUBMISSION
    )
    SparkAdapter.generate_python_submission_response = (  # type: ignore[method-assign]
        lambda self, result: __import__(
            "dbt.adapters.contracts.connection", fromlist=["AdapterResponse"]
        ).AdapterResponse(_message="OK")
    )


def run_dbt(args: Sequence[str]) -> bool:
    """Run dbt (``args`` as on its command line) against the Spark target, in this process,
    with the raw files of ``TASK_WATTS_RAW_DIR`` registered as session views."""
    from dbt.cli.main import dbtRunner

    args = list(args)
    dbt_vars = _vars_of(args)
    if dbt_vars.get("daily_load") in (True, "true", "True"):
        raise SystemExit(
            "task-watts spark: daily_load is set, but daily loads are DuckDB-only (Spark's "
            "Parquet tables cannot delete a day's rows); run a full build (docs/spark.md)."
        )
    # The folder as dbt's var holds it (dbt_project.yml: TASK_WATTS_RAW_DIR, or target/sample).
    raw_dir = str(dbt_vars.get("raw_dir") or os.environ.get("TASK_WATTS_RAW_DIR", "target/sample"))
    spark = start_session()
    register_raw_views(spark, raw_dir)
    install_local_submission()
    if "--target" not in args and "-t" not in args:
        args += ["--target", "spark"]
    result = dbtRunner().invoke(args)
    return bool(result.success)


def _vars_of(args: Sequence[str]) -> dict[str, Any]:
    """The ``--vars`` dbt is given, as dbt reads them (YAML)."""
    import yaml

    for index, arg in enumerate(args):
        if arg == "--vars" and index + 1 < len(args):
            return yaml.safe_load(args[index + 1]) or {}
        if arg.startswith("--vars="):
            return yaml.safe_load(arg.split("=", 1)[1]) or {}
    return {}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--"]:
        args = args[1:]
    return 0 if run_dbt(args or ["build"]) else 1


if __name__ == "__main__":
    sys.exit(main())
