# task-watts: `make demo` (clone -> scorecard) and `make test` (every check).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_CALLS ?= 200000
TEST_CALLS ?= 20000
SEED ?= 42
DEMO_RAW := target/sample
TEST_RAW := target/test_sample
TEST_DB := target/test_build.duckdb

.PHONY: help venv browser sample test-sample scorecard daily demo test lint lint-python lint-sql pytest dbt-test semantic-test export report crosscheck clean

help:
	@echo "make demo   - install, generate the sample workload, dbt build, print the scorecard"
	@echo "make test   - ruff, sqlfluff, dbt build (models + data and unit tests), mf validate-configs, pytest"
	@echo "make export - Parquet of every public mart in target/export (after make demo)"
	@echo "make crosscheck - regenerate docs/coefficient-crosscheck.md (seeds vs EcoLogits, ML.ENERGY, published figures)"
	@echo "make clean  - remove target/ and the virtual environment"

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# --no-compile: byte-compiling every installed module (pyspark alone has thousands) took
	# half of the install; Python compiles the modules it imports on first use instead.
	$(BIN)/pip install --quiet --disable-pip-version-check --no-compile -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

sample: $(STAMP)
	$(BIN)/task-watts sample --calls $(DEMO_CALLS) --seed $(SEED) --out $(DEMO_RAW)

# Validate and load one day: make daily RAW=/data/telemetry DATE=2026-07-01
daily: $(STAMP)
	$(BIN)/task-watts daily --raw-dir $(RAW) --date $(DATE)

scorecard: $(STAMP)
	$(BIN)/task-watts scorecard

demo: sample
	TASK_WATTS_RAW_DIR=$(DEMO_RAW) $(BIN)/dbt build
	$(BIN)/task-watts scorecard
	$(BIN)/task-watts export --out target/export
	@echo ""
	@echo "Semantic layer (MetricFlow), from this folder:"
	@echo "  $(BIN)/mf query --metrics task_wh,task_gco2e,completion_rate --group-by metric_time__quarter,task__feature"
	@echo "  $(BIN)/mf query --saved-query feature_scorecard_quarterly --order task__feature,metric_time__quarter"
	@echo "  $(BIN)/mf list metrics     (add --explain to a query to see its SQL)"
	@echo ""
	$(BIN)/task-watts report

# The roadmap report (target/report/index.html, self-contained) and the disclosures
# (target/disclosures/: a JSON per model and a carbon.txt fragment), from the warehouse.
report: $(STAMP)
	$(BIN)/task-watts report

# Parquet files of every public mart, for BI tools (reads the warehouse read-only).
export: $(STAMP)
	$(BIN)/task-watts export --out target/export

# The coefficient seeds priced through the project beside EcoLogits, ML.ENERGY and the
# published per-query figures (make test fails when the committed table is stale).
crosscheck: $(STAMP)
	$(BIN)/task-watts crosscheck --out docs/coefficient-crosscheck.md

lint-python: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The dbt templater compiles every model, and staging globs the raw folder:
# lint against the small test sample so a clean clone lints every file.
# (Macros and generic tests are Jinja definitions, not lintable SQL.)
lint-sql: test-sample
	TASK_WATTS_RAW_DIR=$(TEST_RAW) $(BIN)/sqlfluff lint models tests/dbt/singular analyses

lint: lint-python lint-sql

# dbt build on a small generated workload in its own DuckDB file, so a demo
# warehouse is never touched by the tests.
test-sample: $(STAMP)
	$(BIN)/task-watts sample --calls $(TEST_CALLS) --seed $(SEED) --out $(TEST_RAW)

# --warn-error: on the generated sample even a warning-level test (the power envelope, the
# unmapped-call share) is a bug, so it fails here as it never would on real telemetry.
dbt-test: test-sample
	rm -f $(TEST_DB)
	TASK_WATTS_RAW_DIR=$(TEST_RAW) TASK_WATTS_DUCKDB_PATH=$(TEST_DB) $(BIN)/dbt build --warn-error

# The report's browser test renders the page in Debian's Chromium, driven through
# its chromedriver (nothing downloaded at run time). Installed here when missing,
# so `make test` works on a fresh machine; without root it says what to install.
# apt runs as root here: on some images apt's _apt sandbox user cannot run gpgv.
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		if [ "$$(id -u)" = "0" ]; then \
			apt-get -o APT::Sandbox::User=root update && DEBIAN_FRONTEND=noninteractive apt-get -o APT::Sandbox::User=root install -y chromium chromium-driver; \
		else \
			echo "the browser test needs: sudo apt-get install chromium chromium-driver" >&2; exit 1; \
		fi; \
	fi

# Two workers (one per core); --dist loadfile keeps a module's tests, and so its
# module-scoped builds, on one worker.
pytest: $(STAMP) browser
	$(BIN)/python -m pytest -n 2 --dist loadfile

# The semantic layer against the test warehouse: dbt parse writes
# target/semantic_manifest.json, mf validate-configs checks it and runs every
# semantic model, dimension and metric on that warehouse. mf reads only
# target/semantic_manifest.json, so a last parse with the default paths points
# it back at the demo warehouse for `mf query`.
semantic-test: dbt-test
	TASK_WATTS_RAW_DIR=$(TEST_RAW) TASK_WATTS_DUCKDB_PATH=$(TEST_DB) $(BIN)/dbt parse --quiet
	TASK_WATTS_RAW_DIR=$(TEST_RAW) TASK_WATTS_DUCKDB_PATH=$(TEST_DB) $(BIN)/mf validate-configs
	$(BIN)/dbt parse --quiet

test: lint dbt-test semantic-test pytest

clean:
	rm -rf target logs $(VENV)
