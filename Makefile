# The README's two commands: `make run` and `make test`. Both create or refresh .venv first.
PY ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: run test setup bench lint screenshots clean

$(STAMP): pyproject.toml tools/setup-system.sh
	bash tools/setup-system.sh
	$(PY) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/selfie-desk

test: $(STAMP)
	$(VENV)/bin/python -m pytest -q

bench: $(STAMP)
	$(VENV)/bin/python tools/benchmark.py

screenshots: $(STAMP)
	bash tools/setup-system.sh --shots
	$(VENV)/bin/python tools/screenshots.py

lint: $(STAMP)
	$(VENV)/bin/ruff check selfie_desk tests tools

clean:
	rm -rf $(VENV)

# The installers (docs/packaging.md): the PyInstaller bundle, a .deb and a tar.gz in dist/.
.PHONY: package
package: $(STAMP)
	bash packaging/build.sh
