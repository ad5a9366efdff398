# vmssdash make targets. Every target that runs code makes sure .venv exists and is
# at least as new as pyproject.toml, so a fresh clone needs nothing but Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test lint typecheck unit smoke bench chaos screenshots sim clean

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

# The tmux smoke drives `vmssdash demo` in a real terminal (256 colours and NO_COLOR).
# tmux is part of the CI image; without it this fails loudly instead of skipping. It runs
# with no user config and a fresh state dir: an unfinished plan in the user's journal would
# otherwise greet it with a resume dialog.
smoke: $(STAMP)
	@command -v tmux >/dev/null || { echo "make smoke: tmux is required (apt-get install tmux)" >&2; exit 1; }
	@tmp="$$(mktemp -d)"; trap 'rm -rf "$$tmp"' EXIT; \
	  VMSSDASH_CONFIG=/dev/null XDG_STATE_HOME="$$tmp/state" XDG_CACHE_HOME="$$tmp/cache" \
	  bash tests/ui/tmux_smoke.sh

test: lint typecheck unit smoke

bench: $(STAMP)
	$(BIN)/python -m tests.benchmarks

# Reliability figures under faults: a 1,000-VM upgrade on the simulator (429/5xx/resets/VM
# failures), SIGKILL-and-resume x10, and the fuzz properties (about 2-3 minutes).
chaos: $(STAMP)
	$(BIN)/python -m tests.chaos.report

screenshots: $(STAMP)
	$(BIN)/python -m tests.screenshots
	VMSSDASH_KEEP_SCREENSHOTS=1 $(BIN)/python -m pytest -q tests/web/test_browser.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
