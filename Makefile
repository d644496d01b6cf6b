# The README's commands. Each target sets up what it needs itself.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TORCH  := torch==2.13.0

.PHONY: setup demo lint test test-fast bench clean

setup: $(STAMP)

# torch first, pinned to the CPU build that lies on this kind of machine (a bare
# `torch` would pull a multi-GB CUDA build); then the project, editable, with extras.
$(STAMP): pyproject.toml setup.py $(wildcard go_engine/*.pyx go_engine/*.pxd)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench,onnx]'
	touch $(STAMP)

demo: setup
	$(BIN)/dpv launch selfplay --config local --max-games 160

# ruff's rules are in pyproject.toml ([tool.ruff]); the code is not ruff-formatted, so no format check.
lint: setup
	$(BIN)/ruff check .

# Everything, as CI runs it: the unit tests on every core (test-fast), then the e2e tier in one process
# (its tests share module fixtures and the session's Ray, and each loads the cores by itself).
test: test-fast
	$(BIN)/python -m pytest -q -m e2e --durations=15 tests

# The inner loop: the unit tests, without the e2e tier that tests/conftest.py marks (Ray, Redis,
# GNU Go, pip install, subprocess runs), in under a minute.
test-fast: setup
	$(BIN)/python -m pytest -q -n auto -m "not e2e" --durations=5 tests

bench: setup
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/search.py
	$(BIN)/python bench/nets.py
	$(BIN)/python bench/search_network.py --quick
	$(BIN)/python bench/inference.py

clean:
	rm -rf build go_engine/*.c go_engine/*.so *.egg-info
