# Set-up and everyday commands. Every target installs what it needs into .venv first;
# a second run installs nothing (the stamp file is newer than setup.cfg).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
EXTRAS ?= dev,dist
comma := ,
STAMP := $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))
# The demo's default snapshot (the embedded synthetic marketplace).
DEMO_SNAPSHOT ?= snapshots/demo-zh
DEMO_ITEMS ?= 50000

.PHONY: install demo test lint results clean

install: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch first: the pinned CPU build lies on disk here, so later requirements are already met.
# Then the verifiers taskset id `qx-explore` (a module verifiers imports by that name; see its pyproject.toml).
$(STAMP): setup.cfg pyproject.toml qx_env/adapters/qx-explore/pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check -q torch==2.13.0
	$(BIN)/python -m pip install --disable-pip-version-check -q -e ".[$(EXTRAS)]"
	$(BIN)/python -m pip install --disable-pip-version-check -q --no-deps -e qx_env/adapters/qx-explore
	touch $@

# The whole pipeline (benchmarks/demo.py): snapshot, indexes, baselines in every mode, mining,
# SFT then DPO of the tiny model, a simulated day online; writes reports/demo/index.md.
demo: $(STAMP)
	$(BIN)/qx bench demo $(DEMO_SNAPSHOT) --items $(DEMO_ITEMS)

# one pytest worker per core (pytest-xdist), each test file kept on one worker so that its
# module fixtures are made once
test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto --dist loadfile

# benchmarks/RESULTS.md from the published runs declared in benchmarks/published.json
results: $(STAMP)
	$(BIN)/python -m benchmarks.results

lint: $(STAMP)
	$(BIN)/ruff check --line-length 110 qx_env indexes policies training benchmarks tests

clean:
	rm -rf $(VENV) snapshots reports
