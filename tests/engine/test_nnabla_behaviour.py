"""Rules where NNabla 1.36's behaviour is easy to get wrong; each expected value was read off real NNabla."""

from __future__ import annotations

import subprocess
import sys

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


# -- negative base_axis -------------------------------------------------------------------------------------
def test_negative_base_axis_counts_from_the_end():
    x = nn.Variable.from_numpy_array(np.arange(24, dtype=np.float32).reshape(2, 3, 4))
    ones = lambda *s: nn.Variable.from_numpy_array(np.ones(s, np.float32))  # noqa: E731
    y = F.affine(x, ones(4, 5), base_axis=-1)
    y.forward()
    assert y.shape == (2, 3, 5) and y.parent.info.args == {"base_axis": -1}
    np.testing.assert_allclose(y.d[1, 2], [86.0] * 5)
    assert F.affine(x, ones(12, 5), base_axis=-2).shape == (2, 5)
    assert F.affine(x, ones(24, 5), base_axis=-3).shape == (5,)
    for bad in (-4, 3):  # NNabla's range is [-ndim, ndim)
        with pytest.raises(FunctionError, match=f"base_axis={bad} is out of range"):
            F.affine(x, ones(4, 5), base_axis=bad)
    assert F.prelu(x, ones(4), base_axis=-1).shape == (2, 3, 4)
    assert F.top_k_data(x, 2, base_axis=-1).shape == (2, 3, 2)
    assert F.kl_multinomial(x, x, base_axis=-1).shape == (2, 3, 1)
    assert F.mean_subtraction(x, ones(4), ones(1), base_axis=-1).shape == (2, 3, 4)


# -- NdArray ------------------------------------------------------------------------------------------------
def nd(values, dtype=np.float32):
    return nn.NdArray.from_numpy_array(np.asarray(values, dtype))


@pytest.mark.parametrize("dtype", [np.int32, np.float64])
def test_in_place_arithmetic_gives_float32(dtype):
    a = nd([1, 2, 3], dtype)
    a += 1
    assert a.dtype == np.dtype(np.float32)
    np.testing.assert_array_equal(a.data, [2, 3, 4])
    a = nd([1, 2, 3], dtype)
    a /= 2
    np.testing.assert_array_equal(a.data, [0.5, 1, 1.5])


def test_ndarray_dtype_is_a_numpy_dtype():
    a = nd([1, 2])
    assert isinstance(a.dtype, np.dtype) and a.dtype == np.float32 and a.dtype is not np.float32
    assert nd([1], np.int64).dtype == np.dtype("int64")


def test_item_assignment_writes_in_place():
    a = nd(np.zeros((2, 3)))
    view = a.data
    a[0, 1] = 5
    a[1] = np.array([1, 2, 3])
    np.testing.assert_array_equal(view, [[0, 5, 0], [1, 2, 3]])


def test_masked_fill_narrow_and_modification_count():
    mask = nd([[1, 0, 1], [0, 0, 1]])
    b = nd(np.arange(6).reshape(2, 3))
    assert b.bool_fill(mask, 9) is b
    np.testing.assert_array_equal(b.data, [[9, 1, 9], [3, 4, 9]])
    b = nd(np.arange(6).reshape(2, 3))
    b.masked_fill(mask, 7)
    np.testing.assert_array_equal(b.data, [[7, 1, 7], [3, 4, 7]])
    b = nd(np.arange(6).reshape(2, 3))
    part = b.narrow(0, 1, 1)
    np.testing.assert_array_equal(part.data, [[3, 4, 5]])
    part.data[...] = 5
    np.testing.assert_array_equal(b.data, [[0, 1, 2], [5, 5, 5]])
    with pytest.raises(ValueError, match="expected to be 0, but got 1"):
        b.narrow(1, 1, 1)
    fresh = nn.NdArray((3,))
    assert fresh.modification_count == 0 and nd([1]).modification_count == 1
    fresh.fill(1)
    assert fresh.modification_count > 0
    fresh.clear()
    assert fresh.modification_count == 0


# -- inplace, communicator_callbacks, no_grad ---------------------------------------------------------------
INPLACE = {
    "relu": lambda a, b, inplace: F.relu(a, inplace=inplace),
    "leaky_relu": lambda a, b, inplace: F.leaky_relu(a, 0.2, inplace=inplace),
    "add2": lambda a, b, inplace: F.add2(a, b, inplace=inplace),
    "sub2": lambda a, b, inplace: F.sub2(a, b, inplace=inplace),
    "mul2": lambda a, b, inplace: F.mul2(a, b, inplace=inplace),
    "div2": lambda a, b, inplace: F.div2(a, b, inplace=inplace),
    "pow2": lambda a, b, inplace: F.pow2(b, a, inplace=inplace),
    "add_scalar": lambda a, b, inplace: F.add_scalar(a, 2, inplace=inplace),
    "mul_scalar": lambda a, b, inplace: F.mul_scalar(a, 3, inplace=inplace),
    "pow_scalar": lambda a, b, inplace: F.pow_scalar(b, 3, inplace=inplace),
    "reshape": lambda a, b, inplace: F.reshape(a, (3, 2), inplace=inplace),
}


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_gives_the_out_of_place_results(name):
    """NNabla 1.36 gives the same outputs and gradients with inplace=True (checked on all eleven): so here."""
    rng = np.random.RandomState(0)
    a0, b0 = rng.randn(2, 3).astype(np.float32), rng.rand(2, 3).astype(np.float32) + 0.5
    results = []
    for inplace in (False, True):
        a, b = leaf(a0), leaf(b0)
        mid = F.identity(a)
        y = (
            INPLACE[name](mid, b, inplace)
            if name not in ("pow2", "pow_scalar")
            else INPLACE[name](a, F.identity(b), inplace)
        )
        t = F.sum(F.sin(y) * 3)
        t.forward()
        t.backward()
        results.append((y.d.copy(), a.g.copy(), b.g.copy()))
        np.testing.assert_array_equal(a.d, a0)
    for got, want in zip(results[1], results[0]):
        np.testing.assert_array_equal(got, want)
    assert INPLACE[name](leaf(a0), leaf(b0), True).parent.info.args["inplace"] is True


def test_communicator_callbacks_must_be_communicator_callbacks():
    x = leaf()
    y = F.sum(F.tanh(x))
    y.forward()
    y.backward(communicator_callbacks=None)
    y.backward(communicator_callbacks=[])
    with pytest.raises(TypeError, match="communicator_callbacks must be a CommunicatorBackwardCallback.*object"):
        y.backward(communicator_callbacks=[object()])


# -- Variable and Function members ---------------------------------------------------------------------------
def test_variable_item_assignment_becomes_a_scatter_nd_node():
    v = leaf(np.zeros((2, 3)))
    v[0, 1] = 5
    assert v.parent.name == "ScatterNd"
    v.forward()
    np.testing.assert_array_equal(v.d, [[0, 5, 0], [0, 0, 0]])
    base = leaf(np.ones((2, 3)))
    u = F.identity(base)
    u[1] = np.array([7.0, 8.0, 9.0])
    u.forward()
    np.testing.assert_array_equal(u.d, [[1, 1, 1], [7, 8, 9]])
    w = nn.Variable.from_numpy_array(np.arange(6, dtype=np.float32).reshape(2, 3))
    w[w.d > 2] = 0
    w.forward()
    np.testing.assert_array_equal(w.d, [[0, 1, 2], [0, 0, 0]])


def test_rank_references_and_arguments():
    x = leaf()
    y = F.tanh(x)
    z = F.exp(y)
    assert (x.rank, y.rank, z.rank) == (0, 1, 2)
    assert x.get_number_of_references == 1
    shared = x.get_unlinked_variable()
    assert x.get_number_of_references == 2 and shared.get_number_of_references == 2
    assert y.parent.arguments == {}
    assert F.add_scalar(x, 2).parent.arguments == {"val": 2.0, "inplace": False}  # stored as a float, as NNabla
    assert F.affine(nn.Variable((2, 3)), nn.Variable((3, 4))).parent.arguments == {"base_axis": 1}


def test_parameter_and_function_seeds():
    import nnabla.random as R

    # the default, as NNabla's, in a fresh process (other tests reseed this one)
    fresh = subprocess.run([sys.executable, "-c", "import nnabla.random as R; print(R.pseed)"], capture_output=True)
    assert fresh.stdout.decode().strip() == "313", fresh.stderr.decode()
    try:
        R.set_parameter_seed(5)
        assert R.pseed == 5
        np.testing.assert_allclose(R.prng.rand(), 0.22199317108973948)
        before = R.function_rng.get_state()[1].copy()
        R.set_function_seed(7)
        assert R.pseed == 5 and not np.array_equal(R.function_rng.get_state()[1], before)
        nn.seed(9)
        assert R.pseed == 9
    finally:
        nn.seed(313)


def test_nnabla_module_paths():
    import nnabla.auto_forward
    import nnabla.callback
    import nnabla.dtypes
    import nnabla.function_bases
    import nnabla.normalization_functions
    import nnabla.parameter
    import nnabla.solver
    import nnabla.variable

    assert nnabla.variable.Variable is nn.Variable
    assert nnabla.solver.Solver is S.Solver
    assert nnabla.normalization_functions.batch_normalization is F.batch_normalization
    assert nnabla.function_bases.tanh is F.tanh
    assert nnabla.dtypes.np_dtpye_to_int[np.float32] == 11 and nnabla.dtypes.int_to_np_dtype[12] is np.double
    assert nnabla.callback.set_function_pre_hook is nn.set_function_pre_hook
    assert nn.no_grad is nnabla.parameter.no_grad
    with nn.parameter_scope("outer"):
        assert nnabla.parameter.current_scope is nnabla.parameter.root_scope["outer"]
    with nn.no_grad():
        assert nnabla.parameter.current_no_grad is True
    assert nnabla.parameter.current_no_grad is False


def test_concatenate_refuses_0d_inputs_as_nnabla():
    scalar = nn.Variable.from_numpy_array(np.array(1.0, np.float32))
    with pytest.raises(FunctionError, match="Concatenate"):
        F.concatenate(scalar, scalar)
    with pytest.raises(FunctionError, match="Concatenate"):
        F.concatenate(nn.Variable((1,)), scalar)


# -- batch normalization's backward -----------------------------------------------------------------------
def test_batch_normalization_backward_uses_the_statistics_of_its_forward():
    """New data written into x between forward and backward: the gradients use the forward's batch mean and
    variance with the new x, dmean's sum(x - mean) term included (values from NNabla 1.36)."""
    import nnabla.parametric_functions as PF

    nn.clear_parameters()
    x = nn.Variable.from_numpy_array(np.array([[1, 2], [3, 5], [0, -1], [4, 4]], np.float32)[..., None, None])
    x.need_grad = True
    y = PF.batch_normalization(x, batch_stat=True)
    y.forward()
    x.d = np.array([[2, 2], [0, 1], [1, 3], [-2, 0]], np.float32)[..., None, None]
    x.grad.zero()
    for p in nn.get_parameters().values():
        p.grad.zero()
    y.backward(np.array([[1, -1], [0.5, 2], [-1, 0], [2, 1]], np.float32)[..., None, None])
    expected_x = [1.122603, -0.602697, -0.205547, 0.602697, -0.648267, -0.062348, -0.268788, 0.062348]
    np.testing.assert_allclose(x.g.ravel(), expected_x, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(nn.get_parameters()["bn/gamma"].g.ravel(), [-5.059634, -2.182177], rtol=1e-6)
    np.testing.assert_allclose(nn.get_parameters()["bn/beta"].g.ravel(), [2.5, 2.0])
