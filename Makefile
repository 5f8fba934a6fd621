# backcourt — make targets. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BC := $(VENV)/bin/backcourt
STAMP := $(VENV)/.installed
SEASON ?= 2024-25
PYTEST_WORKERS ?= 2

.DEFAULT_GOAL := help
.PHONY: help venv cloud-venvs bq-venv checkov-venv browser demo test test-fast test-cloud lint soak bench bench-units clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,gcp]'
	@touch $(STAMP)

venv: $(STAMP) ## Create .venv and install backcourt with its dev tools (idempotent)

cloud-venvs: ## Create the emulator venvs (.venv-wf: workflows-emulator, .venv-bq: bqemulator)
	bash scripts/wf-venv.sh
	bash scripts/bq-venv.sh

bq-venv: ## Create .venv-bq with bqemulator (TOOLING.md recipe)
	bash scripts/bq-venv.sh

checkov-venv: ## Create .venv-checkov with checkov (Terraform policy checks)
	bash scripts/checkov-venv.sh

browser: ## Install Debian's chromium for the HTML report test (needs root/apt; CI does it)
	bash scripts/install-chromium.sh

demo: $(STAMP) ## Generate the 2024-25 sample season and backfill it through the available phases
	$(BC) sample-data --season $(SEASON)
	$(BC) backfill --season $(SEASON)
	$(BC) status --season $(SEASON)

test: $(STAMP) cloud-venvs checkov-venv browser ## Run the test suite (unit, local, contract and emulator tests)
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile -q --ignore=tests/cloud

test-fast: $(STAMP) ## Unit tests only
	$(PY) -m pytest -q tests/unit

test-cloud: $(STAMP) cloud-venvs ## End to end: backfill workflow on the functions and the emulators
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile -q tests/cloud

lint: $(STAMP) ## ruff + mypy (strict on the package) + import-linter (the layering contracts)
	$(VENV)/bin/ruff check shared tests bench functions
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

soak: $(STAMP) ## Fault-injection soak: a sample season under random faults vs a clean run
	$(PY) bench/soak.py $(or $(SOAK_ARGS),--seeds 20261129 20261207)

bench: $(STAMP) ## Benchmark: 4 seasons batched backfill 2-6, floor, identity (BENCH_ARGS=--profile, --per-date)
	$(PY) bench/backfill.py $(BENCH_ARGS)

bench-units: $(STAMP) ## Largest unit of each processor as the process function runs it: time, CPU, peak RSS vs 540 s / 1 GiB (UNITS_HOME=a copy of a backfilled home)
	@test -n "$(UNITS_HOME)" || { echo "set UNITS_HOME to a COPY of a backfilled home (make bench BENCH_ARGS='--home DIR' keeps one; copy DIR/batched)"; exit 2; }
	$(PY) bench/units.py --home $(UNITS_HOME)

clean: ## Remove the local home (.backcourt/) and caches
	rm -rf .backcourt .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
