# The two set-up commands: `make lab` and `make test`. Both build .venv from nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install extension test test-unit test-notebooks test-extension lint lab bench bench-peers wheel clean

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

# The peers, side by side: PyTorch (CPU) in its own venv under .bench/, built once; real NNabla 1.36 from the
# shared reference tool (set NNABLA_REF to its path when the checkout sits elsewhere).
TORCH_VENV := .bench/torch
NNABLA_REF ?= $(firstword $(wildcard ../shared/tools/nnabla-reference ../../shared/tools/nnabla-reference))

$(TORCH_VENV)/.installed:
	$(PYTHON) -m venv $(TORCH_VENV)
	$(TORCH_VENV)/bin/python -m pip install --quiet torch==2.13.0
	touch $@

bench-peers: install $(TORCH_VENV)/.installed
	@test -n "$(NNABLA_REF)" || { echo "no nnabla-reference tool found: set NNABLA_REF" >&2; exit 1; }
	$(BIN)/python benchmarks/bench_peers.py --torch-python $(TORCH_VENV)/bin/python \
		--nnabla-python "$$($(NNABLA_REF))"

lab: extension
	@echo "Starting JupyterLab on tutorials/ (open the URL printed below)"
	$(BIN)/jupyter lab --notebook-dir=tutorials --no-browser --ip=127.0.0.1 $(if $(filter 0,$(shell id -u)),--allow-root)

clean:
	rm -rf $(VENV) build dist
	$(MAKE) -C labextension clean
