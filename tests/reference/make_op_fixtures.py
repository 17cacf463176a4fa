"""Record real NNabla's results for every case of the op tables, for tests/engine/test_vs_nnabla.py.

Run by hand with the python of a real NNabla 1.36 install (not by CI):
    "$(/work/shared/tools/nnabla-reference)" tests/reference/make_op_fixtures.py
Under that python ``nnabla`` is real NNabla, so the tables' lambdas (the ``CASES`` of tests/engine/test_ops_*.py)
build real NNabla graphs. For each case it stores the inputs, the forward outputs, the input gradients of
sum_k <y_k, w_k> for fixed weights w_k (through ``backward`` of the graph), and, where the case is one function
of the inputs, that function's ``backward`` called directly with ``accum`` False and True over preset gradients.
Everything goes to tests/engine/fixtures/op_cases_nnabla.npz. The CI test replays ``record`` on this engine.
"""

from __future__ import annotations

import importlib
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ENGINE_TESTS = os.path.join(HERE, "..", "engine")
FIXTURE = os.path.join(ENGINE_TESTS, "fixtures", "op_cases_nnabla.npz")
MODULES = [
    "test_ops_activation",
    "test_ops_array",
    "test_ops_convolution",
    "test_ops_core",
    "test_ops_indexing",
    "test_ops_logical",
    "test_ops_loss",
    "test_ops_math",
    "test_ops_normalization",
    "test_ops_pooling",
    "test_ops_random",
    "test_ops_reduction",
    "test_ops_softmax",
    # the newer tables (test_ops_augmentation has no CASES table: its random ops are checked by their statistics)
    "test_ops_convolution_variants",
    "test_ops_detection",
    "test_ops_geometry",
    "test_ops_gradient",
    "test_ops_linalg",
    "test_ops_quantize",
    "test_ops_recurrent",
    "test_ops_reparam",
    "test_ops_selection",
    "test_ops_signal",
]
# cases that bring real NNabla down (a crash, not an error): not run there, recorded as refused
CRASHES = {
    "test_ops_array/transpose_negative": "NNabla 1.36 aborts (munmap_chunk: invalid pointer) on negative axes",
    "test_ops_array/slice_clipped": "NNabla 1.36 segfaults on a start before the first element (-10 of 4)",
    "test_ops_convolution_variants/sync_batch_normalization": "NNabla 1.36 segfaults without a communicator"
    " (comm=None); this engine, with no distributed training, normalizes over the local batch",
}
PRESET_GRAD = 0.5  # the value input gradients hold before a direct Function.backward call


def load_tables() -> dict:
    """module name -> its CASES; names only this engine has are stubbed, so the tables import under NNabla."""
    import nnabla.function

    for name in ("FunctionError", "TensorNormalization"):
        if not hasattr(nnabla.function, name):
            setattr(nnabla.function, name, type(name, (Exception,), {}))
    if ENGINE_TESTS not in sys.path:
        sys.path.insert(0, ENGINE_TESTS)
    return {name: importlib.import_module(name).CASES for name in MODULES}


def case_keys(cases) -> list:
    """(key, case) with keys unique within the table."""
    out, seen = [], {}
    for case in cases:
        key = case.name
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            key = f"{key}#{seen[key]}"
        out.append((key, case))
    return out


def _outputs(y):
    return list(y) if isinstance(y, (tuple, list)) else [y]


def _float(a) -> bool:
    return np.issubdtype(np.asarray(a).dtype, np.floating)


def record(nn, F, case) -> dict:
    """The case's results as name -> array: in*, out*, grad* (graph backward), direct*/accum* (Function.backward)."""
    out = {f"in{i}": a for i, a in enumerate(case.inputs) if isinstance(a, np.ndarray)}
    # gradients of every float input, also where the table checks none numerically (steps, indices, no_reduce)
    wrt = case.grad_inputs
    if wrt is None:
        wrt = [i for i, a in enumerate(case.inputs) if _float(a)]
    xs = [nn.Variable.from_numpy_array(np.asarray(a), need_grad=(i in wrt)) for i, a in enumerate(case.inputs)]
    ys = _outputs(case.fn(*xs))
    for y in ys:
        y.forward()
    for k, y in enumerate(ys):
        out[f"out{k}"] = np.array(y.d)
    if not wrt:
        return out
    try:
        _record_backward(nn, F, case, xs, ys, wrt, out)
    except Exception as e:  # a backward NNabla refuses: the forward results still count
        out["grad_error"] = _error(e)
    return out


def _error(e) -> np.ndarray:
    message = str(e).strip().splitlines()
    return np.array(f"{type(e).__name__}: {message[-1] if message else ''}"[:300])


def _record_backward(nn, F, case, xs, ys, wrt, out) -> None:
    rng = np.random.RandomState(0)
    weights = [np.asarray(rng.randn(*y.shape), np.float32) for y in ys]
    terms = [F.sum(y * nn.Variable.from_numpy_array(w)) for y, w in zip(ys, weights)]
    total = terms[0] if len(terms) == 1 else F.add_n(*terms)
    for x in xs:
        x.grad.zero()
    total.forward()
    total.backward()
    for i in wrt:
        out[f"grad{i}"] = np.array(xs[i].g)
    # one function of the inputs: its backward, called directly, overwriting and accumulating
    # (NNabla hands out new Python objects for the same variables, so the inputs are matched by being leaves)
    func = ys[0].parent
    if func is None or len(func.inputs) != len(xs) or any(v.parent is not None for v in func.inputs):
        return
    inputs, outputs = list(func.inputs), list(func.outputs)
    if len(outputs) != len(ys) or [v.shape for v in inputs] != [x.shape for x in xs]:
        return
    for accum in (False, True):
        for o, w in zip(outputs, weights):
            o.g = w
        for x in xs:
            x.g = np.full(x.shape, PRESET_GRAD, np.float32)
        func.backward(inputs, outputs, accum=[accum] * len(xs))
        for i in wrt:
            out[f"{'accum' if accum else 'direct'}{i}"] = np.array(xs[i].g)


def main() -> None:
    import nnabla as nn
    import nnabla.functions as F

    arrays, failed = {}, []
    for module, cases in load_tables().items():
        for key, case in case_keys(cases):
            nn.seed(313)
            if f"{module}/{key}" in CRASHES:
                arrays[f"{module}/{key}/error"] = np.array("crash: " + CRASHES[f"{module}/{key}"])
                failed.append(f"{module}/{key}")
                continue
            try:
                results = record(nn, F, case)
            except Exception as e:  # NNabla refuses the case: say so in the fixture
                results = {"error": _error(e)}
                failed.append(f"{module}/{key}")
            for name, a in results.items():
                arrays[f"{module}/{key}/{name}"] = a
    np.savez_compressed(FIXTURE, nnabla_version=np.array(nn.__version__), **arrays)
    n_cases = len({k.rsplit("/", 1)[0] for k in arrays})
    print(f"{n_cases} cases, {len(failed)} refused by NNabla: {failed}", file=sys.stderr)
    print(f"wrote {os.path.normpath(FIXTURE)} ({os.path.getsize(FIXTURE)} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
