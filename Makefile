# The two set-up commands: `make lab` and `make test`. Both build .venv from nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test test-unit test-notebooks lint lab bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,lab]"
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check .

test-unit: install
	$(BIN)/python -m pytest tests -q

test-notebooks: install
	$(BIN)/python -m pytest -q -p no:cacheprovider --nbval tutorials --nbval-sanitize-with tutorials/sanitize.cfg

test: lint test-unit test-notebooks

bench: install
	$(BIN)/python benchmarks/bench_training.py
	$(BIN)/python benchmarks/bench_overhead.py
	$(BIN)/python benchmarks/bench_kit.py

lab: install
	@echo "Starting JupyterLab on tutorials/ (open the URL printed below)"
	$(BIN)/jupyter lab --notebook-dir=tutorials --no-browser --ip=127.0.0.1

clean:
	rm -rf $(VENV) build dist
