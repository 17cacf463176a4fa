"""Faults over a long training run: memory stays flat for 10,000 steps of a small tutorial-like loop, and NaN/Inf
appearing mid-training is caught by ``nnabla.utils.inspection.NanInfTracer`` naming the function, when asked."""

import gc
import os

import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
import nnabla.parametric_functions as PF
import nnabla.solvers as S
from nnabla.utils.inspection import NanInfTracer


def _tiny_classifier(batch=8):
    nn.clear_parameters()
    rng = np.random.RandomState(0)
    x = nn.Variable((batch, 4))
    t = nn.Variable((batch, 1))
    h = F.relu(PF.affine(x, 8, name="fc1"))
    loss = F.mean(F.softmax_cross_entropy(PF.affine(h, 3, name="fc2"), t))
    solver = S.Adam(0.01)
    solver.set_parameters(nn.get_parameters())
    data = rng.randn(64, 4).astype(np.float32)
    labels = (data[:, :1] > 0).astype(np.int32) + (data[:, 1:2] > 0)
    return x, t, loss, solver, data, labels


def _step(x, t, loss, solver, data, labels, i, batch=8):
    k = (i * batch) % len(data)
    x.d = data[k : k + batch]
    t.d = labels[k : k + batch]
    loss.forward(clear_no_need_grad=True)
    solver.zero_grad()
    loss.backward(clear_buffer=True)
    solver.weight_decay(1e-4)
    solver.update()


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads the resident size from /proc")
def test_memory_stays_flat_over_ten_thousand_steps():
    """Python objects (a precise count) and the resident size (numpy buffers too) after 10,000 steps."""
    x, t, loss, solver, data, labels = _tiny_classifier()
    for i in range(500):  # plans made, buffers allocated, the allocator settled
        _step(x, t, loss, solver, data, labels, i)
    gc.collect()
    objects, rss = len(gc.get_objects()), _rss_bytes()
    for i in range(500, 10_000):
        _step(x, t, loss, solver, data, labels, i)
    gc.collect()
    object_growth, rss_growth = len(gc.get_objects()) - objects, _rss_bytes() - rss
    assert object_growth < 50, f"{object_growth} more Python objects after 9,500 training steps"
    assert rss_growth < 4 * 2**20, f"resident memory grew by {rss_growth / 2**20:.1f} MiB over 9,500 steps"
    assert float(loss.d) < 0.5  # it did train


def test_nan_appearing_in_training_is_caught_by_name():
    x, t, loss, solver, data, labels = _tiny_classifier()
    for i in range(20):
        _step(x, t, loss, solver, data, labels, i)
    nn.get_parameters()["fc1/affine/W"].d[0, 0] = np.nan  # as a diverging step would leave it
    tracer = NanInfTracer(trace_nan=True, trace_inf=True)
    x.d = data[:8]
    t.d = labels[:8]
    with pytest.raises(ValueError, match="Affine") as info:
        with tracer.trace():
            loss.forward(function_post_hook=tracer.forward_post_hook)
    assert "nan or inf" in str(info.value)


def test_inf_in_gradients_is_caught_by_the_solver_check():
    x, t, loss, solver, data, labels = _tiny_classifier()
    x.d = data[:8]
    t.d = labels[:8]
    loss.forward()
    solver.zero_grad()
    loss.backward()
    assert not solver.check_inf_or_nan_grad()
    nn.get_parameters()["fc2/affine/b"].g[0] = np.inf
    assert solver.check_inf_or_nan_grad()
