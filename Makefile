# wxless: `make run` (local stack) and `make test` (the whole suite) work on a fresh machine
# with nothing but Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: run test lint fmt bench package install clean soak

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python infra/local_run.py

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m bench

# The long forms of the reliability checks: 60 s of mixed load with retries on the local stack,
# then 10 minutes of coverage-guided fuzzing of the callback body.
soak: $(STAMP)
	WXLESS_LOAD_SECONDS=60 WXLESS_LOAD_CLIENTS=16 $(BIN)/python -m pytest -q tests/load
	$(BIN)/python tests/fuzz/atheris_callback.py -max_total_time=600 -rss_limit_mb=2048

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build
