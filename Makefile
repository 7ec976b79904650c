# Two entry points for a fresh machine: `make demo` runs the main job, `make test` runs all tests.
# Each creates .venv on first use and installs the project with its pinned dependencies.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test check bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/contivpy demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

check: $(STAMP)
	scripts/check

bench: $(STAMP)
	$(BIN)/contivpy bench scheduler
	$(BIN)/contivpy bench vpp

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
