# vmssdash make targets. Every target that runs code makes sure .venv exists and is
# at least as new as pyproject.toml, so a fresh clone needs nothing but Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test lint typecheck unit bench screenshots sim clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/vmssdash demo

sim: $(STAMP)
	$(BIN)/vmssdash sim

lint: $(STAMP)
	$(BIN)/ruff check vmssdash tests
	$(BIN)/ruff format --check vmssdash tests

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest -q

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python -m tests.benchmarks

screenshots: $(STAMP)
	$(BIN)/python -m tests.screenshots

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
