# The two commands of a fresh machine: `make demo` and `make test`. Each installs what it needs.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_SCALE ?= 0.002
DEMO_SEED ?= 7
SOURCE_DIR := .local/snowflake
CLI := $(PY) -m visit_conflicts
# The CDK's jsii runtime prints an end-of-life banner on Node 20 (infra tests, mypy over them).
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

ENV ?= dev
CDK := node_modules/.bin/cdk

.PHONY: demo test venv pg-cron lint typecheck unit clean bench bench-micro synth

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11)"; exit 2; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

# The CDK CLI pinned in package.json (package-lock.json), installed into the project, never globally.
$(CDK): package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $(CDK)

# The CloudFormation template of one environment (cdk.json context) in cdk.out: no AWS credentials, no
# Docker (image assets are built only by `cdk deploy`).
synth: venv $(CDK)
	$(CDK) synth -c env=$(ENV) --quiet

# pg_cron exists only as a distribution package for the distribution's PostgreSQL; the tests need it.
pg-cron:
	@if ls /usr/lib/postgresql/*/lib/pg_cron.so >/dev/null 2>&1; then echo "pg_cron present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 postgresql-15-cron >/dev/null; \
	else echo "pg_cron missing: install postgresql-15-cron (needs root)"; exit 2; fi

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: venv
	$(VENV)/bin/mypy visit_conflicts devkit tests bench app.py infra

test: venv $(CDK) pg-cron lint typecheck
	$(VENV)/bin/pytest -n 2 -q

# Local stack, schema, generated data (a small delta on a second run), a full run and its report.
demo: venv
	$(CLI) local up
	$(CLI) db migrate
	@if [ -f $(SOURCE_DIR)/ANALYTICS.db ]; then \
	  echo "== source data exists: simulating the next changes (incremental run)"; \
	  $(CLI) generate --source-dir $(SOURCE_DIR) --mutate --seed $$(( $$(date +%s) % 100000 )); \
	else \
	  $(CLI) generate --source-dir $(SOURCE_DIR) --scale $(DEMO_SCALE) --seed $(DEMO_SEED); \
	fi
	$(CLI) run --source-dir $(SOURCE_DIR) --no-progress

# The production-volume harness (bench/README.md): per scale factor a first load and a nightly run, beside
# the legacy algorithm. The default scales rewrite bench/RESULTS.md and bench/charts/ (committed); any other
# BENCH_SCALES (e.g. `make bench BENCH_SCALES=0.01`, a quick check) writes to bench/results/ only.
BENCH_DEFAULT_SCALES := 0.01,0.1,0.25
BENCH_SCALES ?= $(BENCH_DEFAULT_SCALES)
BENCH_PUBLISH := $(if $(filter $(BENCH_DEFAULT_SCALES),$(BENCH_SCALES)),--publish,)
bench: venv
	$(PY) -m bench.harness --scales $(BENCH_SCALES) --statement-profile $(BENCH_PUBLISH)

# The focused benchmarks of earlier issues (merge, stale cleanup, status, chunk memory, ...).
bench-micro: venv
	$(PY) -m bench.run_all

clean:
	-$(CLI) local down --destroy
	rm -rf .local
