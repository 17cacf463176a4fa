# The two set-up commands: `make lab` and `make test`. Both build .venv from nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install extension test test-unit test-notebooks test-packaging test-extension lint lab bench bench-mpi bench-peers bench-ops gpu-check wheel clean

# The editable install is a Python build: its hook (labextension/scripts/build_extension.py) builds the JupyterLab
# extension when it is missing or stale and puts it into .venv's share/jupyter (without node it warns and goes on).
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,lab]"
	touch $(STAMP)

# The engine's native kernels: the install's build hook compiles them; this rebuilds them when their sources change
NATIVE := engine/nnabla/_native/libnnbkernels.so
$(NATIVE): engine/nnabla/_native/kernels.c engine/nnabla/_native/passes.c engine/nnabla/_native/dispatch.c engine/nnabla/_native/build.py | $(STAMP)
	$(BIN)/python engine/nnabla/_native/build.py

install: $(STAMP) $(NATIVE)

# The JupyterLab extension, rebuilt by the same hook when its sources changed, and installed into .venv.
extension: install
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/jupyter labextension list 2>&1 | sed 's/\x1b\[[0-9;]*m//g' | grep -E "nnabla-nb v[^ ]+ enabled +OK"

lint: install
	$(BIN)/ruff check .

test-unit: install
	$(BIN)/python -m pytest tests -q

# The lessons' printed numbers are compared to the digit, and training turns a last-digit difference into another
# curve, so they run as their stored outputs were computed: one BLAS thread (a product's rounding depends on how the
# BLAS splits it among threads), OpenBLAS's AVX2 kernels and numpy's AVX2 loops (AVX-512 ones round some sums and
# functions differently). Any x86-64 with AVX2 then reproduces them.
LESSON_ENV := OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_CORETYPE=Haswell \
	NPY_DISABLE_CPU_FEATURES=X86_V4,AVX512_ICL,AVX512_SPR
test-notebooks: install
	$(LESSON_ENV) $(BIN)/python -m pytest -q -p no:cacheprovider --nbval tutorials --nbval-sanitize-with tutorials/sanitize.cfg

# `pip wheel .` and `uv build` from a fresh clone of HEAD: the wheel and the sdist carry the extension
test-packaging: install
	$(BIN)/python -m pytest tests/packaging -q -m packaging

# TypeScript unit tests, then JupyterLab + Debian Chromium (installed by labextension/scripts if missing) run from
# the wheel installed into a fresh venv, as a user gets it
WHEEL_VENV := .venv-wheel
test-extension: wheel
	rm -rf $(WHEEL_VENV)
	$(BIN)/uv venv --quiet --python $(BIN)/python $(WHEEL_VENV)
	$(BIN)/uv pip install --quiet --python $(WHEEL_VENV)/bin/python "$$(ls dist/nnabla_nb-*.whl)[lab]"
	$(MAKE) -C labextension test VENV=$(abspath $(WHEEL_VENV))

test: lint test-unit test-notebooks test-packaging test-extension

# A wheel carrying the prebuilt extension (built by the hook if stale): pip install of it is all a user needs.
wheel: install
	rm -f dist/nnabla_nb-*.whl
	$(BIN)/python -m pip wheel --quiet --no-deps -w dist .

bench: install
	$(BIN)/python benchmarks/bench_training.py
	$(BIN)/python benchmarks/bench_overhead.py
	$(BIN)/python benchmarks/bench_kit.py

# all_reduce against mpi4py's Allreduce on the same buffers, and the MLP's data-parallel speedup (mpiexec -n 2)
bench-mpi: install
	$(BIN)/python benchmarks/bench_mpi.py

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

# Function by function against real NNabla 1.36: single-function graphs on half a million elements, forward and
# forward + backward, one thread each, ratios sorted with the slowest of ours first
bench-ops: install
	@test -n "$(NNABLA_REF)" || { echo "no nnabla-reference tool found: set NNABLA_REF" >&2; exit 1; }
	$(BIN)/python benchmarks/bench_ops.py --nnabla-python "$$($(NNABLA_REF))"

# The CUDA checks in one run, on a machine with an NVIDIA GPU, cupy and PyTorch (plain python3, no .venv needed):
# op table, training and the tutorial MLP against the CPU, LeNet/ResNet steps against PyTorch CUDA; results in
# --out (default $OUT, else gpu-check-out). GPU_CHECK_ARGS="--device double" runs on the tests' double.
GPU_CHECK_ARGS ?=
gpu-check:
	PYTHONPATH=engine:. PYTHONUNBUFFERED=1 $(PYTHON) benchmarks/gpu_check.py $(GPU_CHECK_ARGS)

lab: extension
	@echo "Starting JupyterLab on tutorials/ (open the URL printed below)"
	$(BIN)/jupyter lab --notebook-dir=tutorials --no-browser --ip=127.0.0.1 $(if $(filter 0,$(shell id -u)),--allow-root)

clean:
	rm -rf $(VENV) $(WHEEL_VENV) build dist
	$(MAKE) -C labextension clean
