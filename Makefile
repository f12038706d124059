# The README's two commands: `make run` and `make test`. Both create or refresh .venv first.
PY ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: run test test-fast check setup bench lint screenshots clean

$(STAMP): pyproject.toml tools/setup-system.sh
	bash tools/setup-system.sh
	$(PY) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -e '.[dev,cluster]'
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/selfie-desk

# The tests, after the checks: lint, the layers (import-linter: cli > ui > workers > neural > core, the core
# without torch or Qt) and the types (mypy: strict on the core).
test: check
	$(VENV)/bin/python -m pytest -q

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

clean:
	rm -rf $(VENV)

# The installers (docs/packaging.md): the PyInstaller bundle, a .deb and a tar.gz in dist/.
.PHONY: package
package: $(STAMP)
	bash packaging/build.sh
