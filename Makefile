# The two set-up commands: `make lab` and `make test`. Both build .venv from nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install extension test test-unit test-notebooks test-extension lint lab bench wheel clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,lab]"
	touch $(STAMP)

install: $(STAMP)

# The JupyterLab extension, prebuilt (needs node/npm only here), then installed into .venv's share/jupyter.
extension: install
	$(MAKE) -C labextension build VENV=$(abspath $(VENV))
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/jupyter labextension list 2>&1 | grep nnabla-nb

lint: install
	$(BIN)/ruff check .

test-unit: install
	$(BIN)/python -m pytest tests -q

test-notebooks: install
	$(BIN)/python -m pytest -q -p no:cacheprovider --nbval tutorials --nbval-sanitize-with tutorials/sanitize.cfg

# TypeScript unit tests, then JupyterLab + Debian Chromium (installed by labextension/scripts if missing)
test-extension: extension
	$(MAKE) -C labextension test VENV=$(abspath $(VENV))

test: lint test-unit test-notebooks test-extension

# A wheel carrying the prebuilt extension: pip install of it is all a user needs.
wheel: extension
	$(BIN)/python -m pip wheel --quiet --no-deps -w dist .

bench: install
	$(BIN)/python benchmarks/bench_training.py
	$(BIN)/python benchmarks/bench_overhead.py
	$(BIN)/python benchmarks/bench_kit.py

lab: extension
	@echo "Starting JupyterLab on tutorials/ (open the URL printed below)"
	$(BIN)/jupyter lab --notebook-dir=tutorials --no-browser --ip=127.0.0.1 $(if $(filter 0,$(shell id -u)),--allow-root)

clean:
	rm -rf $(VENV) build dist
	$(MAKE) -C labextension clean
