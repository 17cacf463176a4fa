"""Rules where NNabla 1.36's behaviour is easy to get wrong; each expected value was read off real NNabla."""

from __future__ import annotations

import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
import nnabla.solvers as S
import nnabla_ext.cpu
from nnabla.ext_utils import get_extension_context
from nnabla.function import FunctionError

X3 = np.array([1.0, 2.0, 3.0], np.float32)


def leaf(values=X3):
    return nn.Variable.from_numpy_array(np.asarray(values, np.float32), need_grad=True)


# -- solvers and gradients set by hand --------------------------------------------------------------------
@pytest.mark.parametrize("write", ["assign", "slice", "fill"])
def test_solver_applies_gradients_set_by_hand(write):
    p = leaf()
    p.g = [0, 0, 0]
    solver = S.Sgd(lr=0.1)
    solver.set_parameters({"p": p})
    if write == "assign":
        p.g = [1, 1, 1]
    elif write == "slice":
        p.grad.data[...] = 1
    else:
        p.grad.fill(1)
    solver.update()
    np.testing.assert_allclose(p.d, [0.9, 1.9, 2.9], rtol=1e-6)


def test_solver_skips_a_gradient_written_through_a_view_taken_before_zero_grad():
    p = leaf()
    solver = S.Sgd(lr=0.1)
    solver.set_parameters({"p": p})
    view = p.grad.data
    solver.zero_grad()
    view[...] = 1  # NNabla does not notice this write: the gradient stays lazily zero
    solver.update()
    np.testing.assert_array_equal(p.d, X3)


# -- clearing buffers ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("flags", [dict(clear_no_need_grad=True), dict(clear_buffer=True)])
def test_sink_keeps_the_data_of_its_inputs(flags):
    x = leaf()
    o = F.identity(F.tanh(F.identity(x)))
    q = F.identity(o)
    F.sink(o, q).forward(**flags)
    np.testing.assert_allclose(o.d, np.tanh(X3), rtol=1e-6)
    np.testing.assert_allclose(q.d, np.tanh(X3), rtol=1e-6)


# -- recompute ----------------------------------------------------------------------------------------------
def expected_grad(x):
    return (1 - np.tanh(x) ** 2) * np.cos(np.tanh(x)) * np.exp(np.sin(np.tanh(x)))


def test_recompute_scope_marks_variables_created_inside():
    x = leaf()
    with nn.recompute():
        a = F.tanh(x)
        with nn.recompute(False):
            b = F.sin(a)
    c = F.exp(b)
    assert (x.recompute, a.recompute, b.recompute, c.recompute) == (False, True, False, False)
    nn.set_global_recompute(True)
    try:
        assert F.exp(c).recompute
    finally:
        nn.set_global_recompute(False)

    @nn.recompute_fn()
    def network(v):
        return F.tanh(v)

    assert network(x).recompute and not F.tanh(x).recompute


@pytest.mark.parametrize("flags", [{}, dict(clear_no_need_grad=True)])
@pytest.mark.parametrize("clear_buffer", [False, True])
def test_recompute_frees_in_forward_and_recomputes_in_backward(flags, clear_buffer):
    x = leaf()
    with nn.recompute():
        a = F.tanh(x)
        b = F.sin(a)
    y = F.sum(F.exp(b))
    for _ in range(2):  # the second pass runs the plans that are cached after the first
        y.forward(**flags)
        assert a.data._array is None  # freed although nothing asked for clearing, as NNabla does
        x.grad.zero()
        y.backward(clear_buffer=clear_buffer)
        np.testing.assert_allclose(x.g, expected_grad(X3), rtol=1e-5)
        np.testing.assert_allclose(y.d, np.exp(np.sin(np.tanh(X3))).sum(), rtol=1e-6)


def test_recompute_works_after_the_freed_data_was_read():
    x = leaf()
    with nn.recompute():
        a = F.tanh(x)
        b = F.sin(a)
    y = F.sum(F.exp(b))
    y.forward()
    a.d  # reading a freed buffer allocates one: it must still count as freed
    x.grad.zero()
    y.backward()
    np.testing.assert_allclose(x.g, expected_grad(X3), rtol=1e-5)


def test_recompute_replays_dropout():
    x = leaf(np.ones(64))
    with nn.recompute():
        h = F.dropout(F.identity(x), p=0.5)  # kept entries become 2
        m = F.mul_scalar(h, 3.0)
    y = F.sum(F.sin(m))  # sin's backward reads m: m, h and identity's output are recomputed
    y.forward()
    x.grad.zero()
    y.backward()
    kept = x.g != 0
    assert 0 < kept.sum() < 64
    # a replay with another mask would give cos(0) * 6 at some kept entries
    np.testing.assert_allclose(x.g[kept], np.cos(6.0) * 6.0, rtol=1e-5)


# -- n_outputs ----------------------------------------------------------------------------------------------
def test_n_outputs_is_checked_not_ignored():
    x = leaf()
    assert F.relu(x, n_outputs=1).shape == (3,)
    with pytest.raises(FunctionError, match="ReLU: n_outputs=2, but it makes 1 output"):
        F.relu(x, n_outputs=2)
    with pytest.raises(FunctionError, match="n_outputs=0"):
        F.relu(x, n_outputs=0)
    with pytest.raises(TypeError, match="n_outputs must be an int"):
        F.relu(x, n_outputs=None)
    with pytest.raises(FunctionError, match="Concatenate: n_outputs=2"):
        F.concatenate(x, x, axis=0, n_outputs=2)
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        F.concatenate(x, x, axs=0)
    stats = [nn.Variable((1, 3)) for _ in range(4)]
    x2 = nn.Variable((2, 3))
    assert F.batch_normalization(x2, *stats, n_outputs=1).shape == (2, 3)
    with pytest.raises(FunctionError, match="n_outputs=3 does not match output_stat"):
        F.batch_normalization(x2, *stats, n_outputs=3)


# -- signatures whose defaults stand for the stored default --------------------------------------------------
def test_none_defaults_mean_nnablas_defaults():
    x = nn.Variable.from_numpy_array(np.arange(6, dtype=np.float32).reshape(2, 3))
    y = F.cumsum(x, axis=None)
    y.forward()
    np.testing.assert_array_equal(y.d, np.cumsum(x.d, axis=0))
    assert y.parent.info.args["axis"] == 0
    assert F.shape(x, start=None, end=None).parent.info.args == {"start": 0, "end": 0}
    with pytest.raises(TypeError):
        F.max_pooling(nn.Variable((1, 1, 4, 4)))  # kernel has no default
    with pytest.raises(TypeError):
        F.arange()


# -- clip_by_norm (NNabla's composition) ---------------------------------------------------------------------
def test_clip_by_norm_matches_nnabla():
    x = leaf([[1.0, 0.0, 3.0], [0.0, 5.0, 6.0]])
    y, z, w = F.clip_by_norm(x, 1.0), F.clip_by_norm(x, 2.0, axis=1), F.clip_by_norm(x, 100.0)
    s = F.sink(y, z, w)
    s.forward()
    x.grad.zero()
    s.backward()
    np.testing.assert_allclose(y.d, [[0.11867817, 0, 0.35603452], [0, 0.5933909, 0.71206903]], rtol=1e-6)
    np.testing.assert_allclose(z.d, [[0.6324555, 0, 1.8973665], [0, 1.2803688, 1.5364425]], rtol=1e-6)
    np.testing.assert_allclose(w.d, x.d)
    np.testing.assert_allclose(x.g, [[1.4730786, 1.7511337, 0.91696846], [1.3747519, 1.0185014, 0.94725144]], rtol=1e-6)
    with pytest.raises(ValueError, match="clip_norm must be positive"):
        F.clip_by_norm(x, 0.0)


# -- array classes ------------------------------------------------------------------------------------------
def test_array_class_preference():
    try:
        assert nn.array_classes() == ["CpuCachedArray", "CpuArray", "CpuDlpackArray"]
        assert get_extension_context("cpu").array_class == "CpuCachedArray"
        nn.prefer_cached_array(False)
        assert nn.array_classes() == ["CpuArray", "CpuDlpackArray", "CpuCachedArray"]
        assert get_extension_context("cpu").array_class == "CpuArray"
        assert nnabla_ext.cpu.array_classes() == nn.array_classes()
        nn.reset_array_preference()
        assert nn.array_classes() == ["CpuArray", "CpuCachedArray", "CpuDlpackArray"]
    finally:
        nn.reset_array_preference()
        nn.prefer_cached_array(True)
    assert nn.array_classes() == ["CpuCachedArray", "CpuArray", "CpuDlpackArray"]
