# The README's two commands: `make run` and `make test`. Both create or refresh .venv first.
PY ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: run test test-fast test-perturbed check setup bench lint screenshots clean lock

# Installed from the lock (constraints.txt: every package pinned), so a fresh clone next month gets the versions
# that passed; `make lock` refreshes it from pyproject.toml's ranges.
$(STAMP): pyproject.toml constraints.txt tools/setup-system.sh
	bash tools/setup-system.sh
	$(PY) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -c constraints.txt -e '.[dev,cluster]'
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/selfie-desk

# The tests, after the checks: lint, the layers (import-linter: cli > ui > workers > neural > core, the core
# without torch or Qt) and the types (mypy: strict on the core). Twice, each time in a random order
# (pytest-randomly; the seed is printed, `-p randomly -p "randomly_seed=N"` replays it): once as this machine runs,
# once on another BLAS kernel (test-perturbed), so a test that holds on one machine's numerics or on one order only
# fails the day it is written.
test: check
	$(VENV)/bin/python -m pytest -q
	$(MAKE) --no-print-directory test-perturbed

# OpenBLAS forced onto a kernel other than the one it picks here (tools/other_blas_kernel.sh says which).
test-perturbed: $(STAMP)
	OPENBLAS_CORETYPE=$$(bash tools/other_blas_kernel.sh $(VENV)/bin/python) $(VENV)/bin/python -m pytest -q

# Everything that loads no model: under a minute, for the edit-test loop (tests marked slow are left out).
test-fast: $(STAMP)
	$(VENV)/bin/python -m pytest -q -m "not slow"

check: $(STAMP)
	$(VENV)/bin/ruff check -q selfie_desk tests tools
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/mypy selfie_desk/core selfie_desk/neural selfie_desk/cluster

bench: $(STAMP)
	$(VENV)/bin/python tools/benchmark.py

screenshots: $(STAMP)
	bash tools/setup-system.sh --shots
	$(VENV)/bin/python tools/screenshots.py

lint: check

# Refresh the lock (constraints.txt) from pyproject.toml's ranges: review the diff and run `make clean test`.
lock:
	PY=$(PY) bash tools/lock.sh

clean:
	rm -rf $(VENV)

# The installers (docs/packaging.md): the PyInstaller bundle, a .deb and a tar.gz in dist/.
.PHONY: package
package: $(STAMP)
	bash packaging/build.sh
