# Set-up and checks. `make search` and `make test` work on a fresh machine (they create .venv).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install search test test-slow lint format check clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# Pinned first: an unpinned torch pulls a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev,ray,plot]'
	touch $(STAMP)

install: $(STAMP)

## The main job: a NASWOT search over NAS-Bench-201 on built-in defaults.
search: $(STAMP)
	$(BIN)/naswot search --space nb201 --n-samples 100

## The default test suite (CPU, offline, a few minutes).
test: $(STAMP)
	$(BIN)/python -m pytest

## Slow checks (e.g. the Kendall tau reproduction on 300 cells).
test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix src tests benchmarks scripts
	$(BIN)/ruff format src tests benchmarks scripts

check: test lint

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
