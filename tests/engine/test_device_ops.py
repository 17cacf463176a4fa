"""Every op of the op tables computes on the device (the strict double of tests/device_double.py) as on the CPU.

Two checks over every Case row of the ``test_ops_*`` tables, each failing with the list of op types (or cases)
that leak, with the first case and the reason:

- op by op: the case's graph is built on the CPU, where it runs forward, and under a 'cudnn' context; every
  function of it, one at a time, computes forward and first-order backward from the same inputs on both. The
  device results must be device arrays equal to the CPU's within float32 tolerance, computed without numpy
  touching device data (the double raises a TypeError then) and without any copy between host and device, apart
  from the few ops listed in ``TRANSFERS`` with their reason;
- through Variables: the case runs forward and backward under 'cuda:float' as a user runs it, twice; the second
  time copies nothing (the inputs are on the device by then), and outputs and input gradients equal the CPU's.
"""

from __future__ import annotations

import glob
import importlib
import os
import traceback

import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
from nnabla._array import NdArray
from nnabla.function import registry
from opcheck import Case

# op type -> (copies (to host, to device) allowed in the first forward + backward, in each one after, why)
TRANSFERS = {
    "Shape": ((0, 1), (0, 0), "its output is the input's shape, host metadata: copied once, then kept"),
    "ONNXResize": ((0, 3), (0, 0), "weights made on the host from shapes and arguments: copied once, then kept"),
    "ONNXNonMaxSuppression": ((0, 1), (0, 0), "the selection is made from the data when the graph is built"),
    "NmsDetection2d": ((1, 1), (1, 1), "sequential suppression on a host copy, as NNabla's (no CUDA kernel)"),
    # sample orders from the shape, copied once and kept
    "RandomCrop": ((0, 1), (0, 0), "the order of the samples' draws (from the shape): copied once, then kept"),
    "RandomFlip": ((0, 1), (0, 0), "the order of the samples' draws (from the shape): copied once, then kept"),
    "RandomShift": ((0, 1), (0, 0), "the order of the samples' draws (from the shape): copied once, then kept"),
    # NNabla's CPU kernels' draws are reproduced on the host (seed=s gives NNabla's numbers); NNabla's CUDA
    # kernels draw on the device instead: this one still computes on a host copy
    "ImageAugmentation": ((1, 1), (1, 1), "computed on a host copy of the images"),
}


def op_cases() -> list:
    """Every Case row of the tables in tests/engine/test_ops_*.py (gathered as test_registry_coverage does)."""
    cases = []
    here = os.path.dirname(__file__)
    for path in sorted(glob.glob(os.path.join(here, "test_ops_*.py"))):
        module = importlib.import_module(os.path.basename(path)[:-3])
        for table in vars(module).values():
            if isinstance(table, (list, tuple)) and table and all(isinstance(c, Case) for c in table):
                cases.extend(table)
    return cases


def _graph(case, ctx):
    """The case's graph built in ``ctx``: its functions, in the order a forward runs them."""
    wrt = case.grad_inputs
    if wrt is None:
        wrt = [i for i, a in enumerate(case.inputs) if np.issubdtype(np.asarray(a).dtype, np.floating)]
    with nn.context_scope(ctx):
        xs = [nn.Variable.from_numpy_array(a, need_grad=case.grad and i in wrt) for i, a in enumerate(case.inputs)]
        out = case.fn(*xs)
    ys = list(out) if isinstance(out, (list, tuple)) else [out]
    functions = []
    for y in ys:
        y.visit(lambda f: functions.append(f) if f not in functions else None)
    return ys, functions


def _run(func, inputs, output_grads, xp):
    """Forward of ``func`` on ``inputs`` (arrays of module xp), then backward from ``output_grads`` (or None)."""
    for v, a in zip(func.inputs, inputs):
        v._data = NdArray._wrap(a)
    ys = list(func._compute_outputs(func.inputs))
    if output_grads is None:
        return ys, None
    for o, y, g in zip(func.outputs, ys, output_grads):
        o._data = NdArray._wrap(y)
        o._grad = NdArray._wrap(g) if g is not None else None
    need = [v.need_grad for v in func.inputs]
    return ys, list(func._input_grads(func.inputs, func.outputs, need))


def _counted(device, allowed, when, run):
    """``run()``, failing when it copies between host and device more than ``allowed`` (to host, to device)."""
    before = (device.transfers.to_host, device.transfers.to_device)
    result = run()
    copies = (device.transfers.to_host - before[0], device.transfers.to_device - before[1])
    if copies[0] > allowed[0] or copies[1] > allowed[1]:
        raise AssertionError(f"copied {copies[0]} time(s) to the host and {copies[1]} to the device{when}")
    return result


def _compare(func, cpu, dev, what, device):
    for k, (c, d) in enumerate(zip(cpu, dev)):
        if c is None:
            continue
        if not isinstance(d, device.ndarray):
            raise AssertionError(f"{what} {k} is a {type(d).__name__}, not a device array")
        if d.shape != np.shape(c) or d.dtype != np.asarray(c).dtype:
            raise AssertionError(f"{what} {k}: {d.shape} {d.dtype} on the device, {np.shape(c)} {c.dtype} on the CPU")
        if not func.stochastic:
            np.testing.assert_allclose(d.get(), c, rtol=1e-4, atol=1e-5, err_msg=f"{what} {k}")


def reason(e: Exception) -> str:
    """A failure in one line: the exception's type and first line; for a mismatch also what differed, by how much."""
    lines = [line.strip() for line in str(e).strip().splitlines()] or [""]
    if lines[0].startswith("Not equal to tolerance"):
        keep = [lines[1]] if len(lines) > 1 else []  # err_msg: which output or gradient
        lines = [lines[0], *keep, *(line for line in lines[2:] if line.startswith(("Mismatched", "Max ")))]
        return f"{type(e).__name__}: {'; '.join(lines)}"[:400]
    return f"{type(e).__name__}: {lines[0][:200]}"


def check_case(case, device, rng, failures, passed):
    """Each function of the case's graph, op by op, forward and first-order backward on the CPU and on
    ``device``: op type names that differ or copy go into ``failures`` (name -> why), the others into ``passed``.
    """
    ys, cpu_functions = _graph(case, nn.Context(["cpu:float"]))
    for y in ys:
        y.forward()
    dev_ys, dev_functions = _graph(case, nn.Context(["cudnn:float"]))  # dev_ys keeps the outputs alive
    for fc, fd in zip(cpu_functions, dev_functions):
        name = fc.info.type_name
        if name in failures:
            continue
        inputs = [v._data._get().copy() for v in fc.inputs]
        grads = None
        if case.grad and fc.differentiable and any(v.need_grad for v in fc.inputs):
            grads = [
                np.asarray(rng.randn(*o.shape), o.data.dtype) if o.data.dtype.kind == "f" else None for o in fc.outputs
            ]
        try:
            cpu = _run(fc, [a.copy() for a in inputs], grads, np)
            dev_inputs = [device.asarray(a) for a in inputs]
            dev_grads = None if grads is None else [None if g is None else device.asarray(g) for g in grads]
            first, later, _ = TRANSFERS.get(name, ((0, 0), (0, 0), ""))
            dev = _counted(device, first, "", lambda: _run(fd, dev_inputs, dev_grads, device))
            if name in TRANSFERS:  # what is kept is not copied again
                _counted(device, later, " the second time", lambda: _run(fd, dev_inputs, dev_grads, device))
            _compare(fc, cpu[0], dev[0], "output", device)
            if grads is not None:
                _compare(fc, cpu[1], dev[1], "gradient of input", device)
        except Exception as e:
            frames = [f for f in traceback.extract_tb(e.__traceback__) if f"{os.sep}nnabla{os.sep}" in f.filename]
            where = f" at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno}" if frames else ""
            failures[name] = f"{case.name}: {reason(e)}{where}"
        else:
            passed.add(name)


def test_every_op_of_the_tables_computes_on_the_device_as_on_the_cpu(device):
    rng = np.random.RandomState(0)
    failures, passed = {}, set()
    cases = op_cases()
    assert len(cases) > 400
    for case in cases:
        check_case(case, device, rng, failures, passed)
    report = "\n".join(f"  {name}: {why}" for name, why in sorted(failures.items()))
    assert not failures, f"{len(failures)} op type(s) leak or differ on the device ({len(passed)} pass):\n{report}"
    assert len(passed) > 200


@pytest.mark.parametrize("name", sorted(TRANSFERS))
def test_the_allowed_transfers_name_real_functions(name):
    assert name in registry()


def _through_variables(case, ctx, device):
    """Forward and backward of the case twice under ``ctx``: (outputs, input gradients, copies the second time)."""
    rng = np.random.RandomState(0)
    wrt = case.grad_inputs
    if wrt is None:
        wrt = [i for i, a in enumerate(case.inputs) if np.issubdtype(np.asarray(a).dtype, np.floating)]
    wrt = wrt if case.grad else []
    with nn.context_scope(ctx):
        xs = [nn.Variable.from_numpy_array(a, need_grad=i in wrt) for i, a in enumerate(case.inputs)]
        out = case.fn(*xs)
        ys = list(out) if isinstance(out, (list, tuple)) else [out]
        if case.grad:
            terms = [F.sum(y * nn.Variable.from_numpy_array(np.asarray(rng.randn(*y.shape), np.float32))) for y in ys]
            roots = [terms[0] if len(terms) == 1 else F.add_n(*terms)]
        else:
            roots = ys
        copies = None
        for _ in range(2):
            before = (device.transfers.to_host, device.transfers.to_device)
            for root in roots:
                root.forward()
                if case.grad:
                    root.backward()
            copies = (device.transfers.to_host - before[0], device.transfers.to_device - before[1])
    return [y.d.copy() for y in ys], [xs[i].g.copy() for i in wrt], copies, functions_in(ys)


def functions_in(ys) -> set:
    names = set()
    for y in ys:
        y.visit(lambda f: names.add(f.info.type_name))
    return names


def check_through_variables(case, device):
    """The case run twice under 'cuda:float' as a user runs it: raises unless its outputs and input gradients
    equal the CPU's and the second run copies no more than ``TRANSFERS`` allows."""
    ys, gs, _, names = _through_variables(case, nn.Context(["cpu:float"]), device)
    dys, dgs, copies, _ = _through_variables(case, nn.Context(["cuda:float"]), device)
    allowed = [sum(TRANSFERS[n][1][k] for n in names if n in TRANSFERS) for k in (0, 1)]
    if copies[0] > allowed[0] or copies[1] > allowed[1]:
        raise AssertionError(f"the second run copied {copies[0]} time(s) to the host and {copies[1]} back")
    if not any(registry()[n].stochastic for n in names):
        for k, (c, d) in enumerate(zip(ys + gs, dys + dgs)):
            np.testing.assert_allclose(d, c, rtol=1e-4, atol=1e-5, err_msg=f"output or gradient {k}")


def test_every_case_runs_through_variables_under_a_cuda_context(device):
    failures = {}
    for case in op_cases():
        try:
            check_through_variables(case, device)
        except Exception as e:
            failures[case.name] = reason(e)
    report = "\n".join(f"  {name}: {why}" for name, why in sorted(failures.items()))
    assert not failures, f"{len(failures)} case(s) leak or differ under 'cuda':\n{report}"


def _pf_run(build, shapes, ctx, device, passes=1):
    """A parametric function built and run under ``ctx`` from the same initial parameters: (outputs, parameter
    gradients, copies of the second forward + backward)."""
    from test_parametric_functions import make_inputs

    nn.clear_parameters()
    nn.seed(313)
    with nn.context_scope(ctx):
        out = build(*make_inputs(shapes))
        ys = list(out) if isinstance(out, (list, tuple)) else [out]
        rng = np.random.RandomState(1)
        terms = [F.sum(y * nn.Variable.from_numpy_array(np.asarray(rng.randn(*y.shape), np.float32))) for y in ys]
        root = terms[0] if len(terms) == 1 else F.add_n(*terms)
        for _ in range(passes - 1):
            root.forward()
        copies = None
        for _ in range(2):
            before = (device.transfers.to_host, device.transfers.to_device)
            root.forward()
            root.backward()
            copies = (device.transfers.to_host - before[0], device.transfers.to_device - before[1])
    params = nn.get_parameters()
    result = [y.d.copy() for y in ys], {k: p.g.copy() for k, p in params.items()}, copies, functions_in(ys)
    nn.clear_parameters()
    return result


def pf_cases():
    from pf_quantized_cases import CASES
    from test_parametric_functions import TABLE

    cases = [(row[0], row[1], row[2], 1) for row in TABLE]
    return cases + [(name, build, [shape], passes) for name, (shape, build, passes, _) in CASES.items()]


def check_parametric_function(build, shapes, passes, device):
    """A parametric function case under 'cudnn:float': raises unless its outputs and parameter gradients equal
    the CPU's and its second step copies no more than ``TRANSFERS`` allows."""
    ys, gs, _, names = _pf_run(build, shapes, nn.Context(["cpu:float"]), device, passes)
    dys, dgs, copies, _ = _pf_run(build, shapes, nn.Context(["cudnn:float"]), device, passes)
    allowed = [sum(TRANSFERS[n][1][k] for n in names if n in TRANSFERS) for k in (0, 1)]
    if copies[0] > allowed[0] or copies[1] > allowed[1]:
        raise AssertionError(f"the second step copied {copies[0]} time(s) to the host and {copies[1]} back")
    if not any(registry()[n].stochastic for n in names):
        for k, (c, d) in enumerate(zip(ys + list(gs.values()), dys + list(dgs.values()))):
            np.testing.assert_allclose(d, c, rtol=1e-4, atol=1e-5, err_msg=f"output or gradient {k}")


def test_every_parametric_function_trains_on_the_device_as_on_the_cpu(device):
    failures = {}
    for name, build, shapes, passes in pf_cases():
        try:
            check_parametric_function(build, shapes, passes, device)
        except Exception as e:
            failures[name] = reason(e)
    report = "\n".join(f"  {name}: {why}" for name, why in sorted(failures.items()))
    assert not failures, f"{len(failures)} parametric function case(s) leak or differ under 'cudnn':\n{report}"


@pytest.mark.parametrize("preset", ["zero", "fill", "none"])
def test_leaf_gradients_set_on_the_host_add_up_with_the_device_s(device, preset):
    """x.grad.zero() / fill() before backward, then two backward calls: the same sums under 'cuda' as on the CPU."""
    results = []
    for ctx in (nn.Context(["cpu:float"]), nn.Context(["cuda:float"])):
        with nn.context_scope(ctx):
            x = nn.Variable.from_numpy_array(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3), need_grad=True)
            w = nn.Variable.from_numpy_array(np.array(0.5, np.float32), need_grad=True)  # a 0-d gradient
            loss = F.sum(F.prelu(F.tanh(x) - 0.5, w))
            for v in (x, w):
                v.grad.zero() if preset == "zero" else v.grad.fill(1.0) if preset == "fill" else None
            for _ in range(2):
                loss.forward()
                loss.backward()
            results.append((x.g.copy(), w.g.copy()))
    (cx, cw), (dx, dw) = results
    np.testing.assert_allclose(dx, cx, rtol=1e-6)
    np.testing.assert_allclose(dw, cw, rtol=1e-6)
    assert cw == pytest.approx(
        2 * float(((np.tanh(np.linspace(-1, 1, 6)) - 0.5) * (np.tanh(np.linspace(-1, 1, 6)) < 0.5)).sum())
        + (1.0 if preset == "fill" else 0.0),
        rel=1e-5,
    )


def test_augmentations_drawn_on_the_device_are_valid_samples(device):
    """Crop, flip, shift and erase draw on the device (other numbers than the CPU's): each sample is still a
    window, a flip, a shift or a box-erased copy of its input, and nothing crosses on the way."""
    x = np.arange(4 * 2 * 5 * 6, dtype=np.float32).reshape(4, 2, 5, 6)
    with nn.context_scope(nn.Context(["cuda:float"])):
        v = nn.Variable.from_numpy_array(x)
        crop, flip = F.random_crop(v, (3, 4), seed=1), F.random_flip(v, axes=(3,), seed=2)
        shift = F.random_shift(v, (0, 0, 1, 2), border_mode="nearest", seed=3)
        erase = F.random_erase(v, prob=1.0, replacements=(-2.0, -1.0), seed=4)
        outputs = (crop, flip, shift, erase)
        for y in outputs:
            y.forward()
        before = device.transfers.total
        for y in outputs:
            y.forward()
        assert device.transfers.total == before
    for b in range(4):
        c = crop.d[b]
        windows = [x[b, :, i : i + 3, j : j + 4] for i in range(3) for j in range(3)]
        assert any(np.array_equal(c, w) for w in windows)
        assert np.array_equal(flip.d[b], x[b]) or np.array_equal(flip.d[b], x[b, :, :, ::-1])
        shifted = [
            np.take(np.take(x[b], np.clip(np.arange(5) - i, 0, 4), 1), np.clip(np.arange(6) - j, 0, 5), 2)
            for i in range(-1, 2)
            for j in range(-2, 3)
        ]
        assert any(np.array_equal(shift.d[b], s) for s in shifted)
        e = erase.d[b]
        hit = e != x[b]
        assert hit.any() and ((e[hit] >= -2) & (e[hit] < -1)).all()
        assert np.array_equal(hit[0], hit[1])  # one box for all channels (share)
        rows, cols = np.nonzero(hit[0])
        assert hit[0][rows.min() : rows.max() + 1, cols.min() : cols.max() + 1].all()  # a box


def test_the_functions_outside_the_tables_compute_on_the_device(device):
    """Generators, random_choice, arange/linspace, assign and sink (checked by named tests on the CPU) give device
    arrays under 'cuda' and copy nothing once their inputs are there; nn.seed replays the device's draws."""
    with nn.context_scope(nn.Context(["cuda:float"])):
        x = nn.Variable.from_numpy_array(np.arange(12, dtype=np.float32).reshape(3, 4), need_grad=True)
        w = nn.Variable.from_numpy_array(np.ones((3, 4), np.float32))
        dst = nn.Variable.from_numpy_array(np.zeros((3, 4), np.float32))
        outputs = {
            "Rand": F.rand(shape=(2, 3)),
            "Randn": F.randn(shape=(2, 3), seed=3),
            "Randint": F.randint(0, 5, shape=(4,)),
            "RandBinomial": F.rand_binomial(shape=(3,)),
            "RandBeta": F.rand_beta(shape=(3,)),
            "RandGamma": F.rand_gamma(shape=(3,)),
            "RandomChoice": F.random_choice(x, w, shape=(5,)),
            "Arange": F.arange(0, 5),
            "Linspace": F.linspace(0, 1, 5),
            "Assign": F.assign(dst, x),
        }
        sink = F.sink(*outputs.values())
        sink.forward()
        before = device.transfers.total
        sink.forward()
        assert device.transfers.total == before
        for name, y in outputs.items():
            assert isinstance(y.data._array, device.ndarray), name
        assert np.array_equal(dst.d, x.d)
        choice = outputs["RandomChoice"].d
        assert choice.shape == (3, 5) and (choice // 4 == np.arange(3)[:, None]).all()  # row r: from x[r]
        nn.seed(5)
        first = F.rand(shape=(3,))
        first.forward()
        nn.seed(5)
        again = F.rand(shape=(3,))
        again.forward()
        assert np.array_equal(first.d, again.d)
