# Two commands on a fresh clone: `make run` and `make test`. Everything else is a convenience.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# A persistent Dagster home inside the git-ignored data folder, so run history survives `make dev` restarts.
export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home
# Bytecode caching on even where the shell turns it off: the job and many tests start fresh Python processes, and
# without cached bytecode each one compiles Dagster, pandas and ours again (13 s instead of 3 s per start).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: env run test dev lint format bench clean

env: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev]'
	touch $@

$(DAGSTER_HOME):
	mkdir -p $@

# SQLite allows one writer: every asset that writes the ledger is in pool `ledger_db`, limited to 1 across runs.
# Dagster 1.13 takes pool limits from the instance, not from code; `default_limit` covers every pool without its
# own limit (`ledger_db` is our only pool). Run monitoring (with `make dev`'s daemon) fails a run that never
# started or ran past 6 hours; a killed run is failed by the next run's `run_settings`. Telemetry off: no banner.
# Written once; an operator's own dagster.yaml is left alone.
$(DAGSTER_HOME)/dagster.yaml: | $(DAGSTER_HOME)
	printf 'concurrency:\n  pools:\n    default_limit: 1\nrun_monitoring:\n  enabled: true\n  max_runtime_seconds: 21600\ntelemetry:\n  enabled: false\n' > $@

# The job's log at WARNING (pipelines/run_config/quiet.yaml), then a short summary of the night, even after a
# failure (the job's exit status is kept): of this run, found by its tag, not of a run `make dev`'s sensor queued.
run: env $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/python -m pipelines.migrate
	@tag=make-run-$$(date +%s%N); PYTHONWARNINGS='ignore:Function `job_execute_command` is superseded' \
	  $(BIN)/dagster job execute -m pipelines.definitions -j nightly_awards -c pipelines/run_config/quiet.yaml \
	    --tags "{\"alu/make_run\": \"$$tag\"}"; \
	  status=$$?; $(BIN)/python -m pipelines.summary --run-tag "$$tag"; exit $$status

test: env
	$(BIN)/pytest -n 2 --dist loadgroup

dev: env $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/python -m pipelines.migrate
	$(BIN)/dagster dev -w workspace.yaml

lint: env
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

format: env
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: env
	$(BIN)/python benchmarks/metering.py
	$(BIN)/python benchmarks/reports.py

clean:
	rm -rf data
