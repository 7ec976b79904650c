# Two entry points for a fresh machine: `make demo` runs the main job, `make test` runs the gate
# (scripts/check: lint, format check, mypy --strict, import contracts, all tests; CI runs it).
# Each creates .venv on first use and installs the project with its pinned dependencies.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-vpp check bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/contivpy demo

test: $(STAMP)
	scripts/check

# The contract, descriptor and real-node suites against a real VPP 26.06:
#   CONTIVPY_VPP_SOCKET=<a running VPP's api.sock> [CONTIVPY_VPP_RESTART=<command>] \
#   [CONTIVPY_VPP_BINARY=<vpp binary, for the real-node tests>] make test-vpp
# `contivpy vpp start --workdir D --binary B` starts one (socket D/api.sock; restart command
# `contivpy vpp restart --workdir D`). Tests that need the simulator's fault injection skip.
# The suites are chosen by marker (pyproject.toml): `vpp` runs on the test's VPP target,
# `realvpp` needs a real one.
VPP_SUITES := -m "vpp or realvpp" tests

test-vpp: $(STAMP)
	@test -n "$$CONTIVPY_VPP_SOCKET" || { \
		echo "make test-vpp: set CONTIVPY_VPP_SOCKET to a running VPP's API socket"; exit 2; }
	$(BIN)/python -m pytest -q -p no:randomly $(VPP_SUITES)

# The same gate under its older name.
check: test

bench: $(STAMP)
	$(BIN)/contivpy bench scheduler
	$(BIN)/contivpy bench vpp

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis \
		.import_linter_cache
