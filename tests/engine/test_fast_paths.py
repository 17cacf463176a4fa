"""The training loop's fast paths keep NNabla's semantics: solvers that skip per-parameter checks while nothing
changed, backward plans that read only the inputs a gradient needs, and gradients written straight into
parameters' buffers."""

from __future__ import annotations

import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
import nnabla.parametric_functions as PF
import nnabla.solvers as S


@pytest.fixture(autouse=True)
def fresh_parameters():
    nn.clear_parameters()
    yield
    nn.clear_parameters()


def mlp(batch=4, seed=0):
    """A small affine/tanh model with its loss, parameters and input/label Variables."""
    nn.seed(seed)
    x = nn.Variable([batch, 3])
    label = nn.Variable([batch, 1])
    y = PF.affine(F.tanh(PF.affine(x, 5, name="l0")), 1, name="l1")
    loss = F.mean(F.squared_error(y, label))
    rng = np.random.RandomState(seed)
    x.d = rng.randn(batch, 3)
    label.d = rng.randn(batch, 1)
    return x, label, loss, nn.get_parameters()


def test_solver_notices_changes_made_between_steps():
    x, label, loss, params = mlp()
    solver = S.Sgd(lr=0.1)
    solver.set_parameters(params)
    for _ in range(2):  # steady state: the O(1) path
        loss.forward()
        solver.zero_grad()
        loss.backward()
        solver.update()
    w = params["l0/affine/W"]
    w.data.fill(0.5)  # a pending fill on a buffer the solver holds a view of
    params["l1/affine/b"].d = np.array([2.0])  # float64: replaces the buffer
    loss.forward()
    solver.zero_grad()
    loss.backward()
    expected = {k: p.d - np.float32(0.1) * p.g for k, p in params.items()}
    solver.update()
    for k, p in params.items():
        np.testing.assert_allclose(p.d, expected[k], rtol=1e-6, err_msg=k)
    assert np.all(w.d != 0.5)


def test_need_grad_toggled_between_steps_is_honoured():
    x, label, loss, params = mlp()
    solver = S.Adam(alpha=0.1)
    solver.set_parameters(params)
    loss.forward()
    solver.zero_grad()
    loss.backward()
    solver.update()
    frozen = params["l1/affine/W"]
    frozen.need_grad = False
    before = frozen.d.copy()
    loss.forward()
    solver.zero_grad()
    loss.backward()
    solver.update()
    np.testing.assert_array_equal(frozen.d, before)
    steps = {k: st.t for k, st in solver.get_states().items()}
    assert steps["l1/affine/W"] == 1 and steps["l0/affine/W"] == 2
    frozen.need_grad = True  # step counts now differ per parameter; updates go on from each one's own count
    loss.forward()
    solver.zero_grad()
    loss.backward()
    solver.update()
    assert {k: st.t for k, st in solver.get_states().items()}["l1/affine/W"] == 2


def test_gradient_zeroed_by_hand_is_skipped_and_reads_zero():
    x, label, loss, params = mlp()
    solver = S.Sgd(lr=0.1)
    solver.set_parameters(params)
    loss.forward()
    solver.zero_grad()
    loss.backward()
    b = params["l0/affine/b"]
    b.grad.zero()  # untouched again: NNabla's solvers skip it
    before = b.d.copy()
    solver.update()
    np.testing.assert_array_equal(b.d, before)
    assert not b.g.any()


def test_untouched_gradients_do_not_count_in_clipping_or_checks():
    x, label, loss, params = mlp()
    solver = S.Sgd(lr=0.1)
    solver.set_parameters(params)
    loss.forward()
    solver.zero_grad()
    loss.backward()
    params["l0/affine/W"].g[...] = np.inf  # stale values a later zero_grad leaves in the flat buffer
    solver.zero_grad()
    assert not solver.check_inf_or_nan_grad()
    params["l1/affine/b"].g = [3.0]
    solver.clip_grad_by_norm(1.0)
    np.testing.assert_allclose(params["l1/affine/b"].g, [1.0])
    assert not params["l0/affine/W"].g.any()


def test_replacing_a_gradient_array_is_noticed():
    x, label, loss, params = mlp()
    solver = S.Sgd(lr=1.0)
    solver.set_parameters(params)
    b = params["l1/affine/b"]
    b.grad = nn.NdArray.from_numpy_array(np.array([0.25], np.float32))
    before = b.d.copy()
    solver.update()
    np.testing.assert_allclose(b.d, before - 0.25)


def test_shared_weights_accumulate_gradients_written_in_place():
    nn.seed(0)
    x = nn.Variable.from_numpy_array(np.random.RandomState(0).randn(4, 3).astype(np.float32))
    h = PF.affine(x, 3, name="shared")
    y = PF.affine(h, 3, name="shared")  # the same W and b twice
    loss = F.sum(y * y)
    params = nn.get_parameters()
    solver = S.Sgd(lr=0.0)
    solver.set_parameters(params)
    solver.zero_grad()
    loss.forward()
    loss.backward()
    w, b = params["shared/affine/W"].d, params["shared/affine/b"].d
    xd = x.d.astype(np.float64)
    hd = xd @ w + b
    gy = 2 * (hd @ w + b)
    gh = gy @ w.T
    np.testing.assert_allclose(params["shared/affine/W"].g, xd.T @ gh + hd.T @ gy, rtol=1e-4)
    np.testing.assert_allclose(params["shared/affine/b"].g, gh.sum(0) + gy.sum(0), rtol=1e-4)


@pytest.mark.parametrize("base_axis", [1, 2])
@pytest.mark.parametrize("frozen", ["W", "b", "x"])
def test_affine_gradients_with_some_inputs_frozen(base_axis, frozen):
    rng = np.random.RandomState(1)
    x = nn.Variable.from_numpy_array(rng.randn(2, 3, 4).astype(np.float32), need_grad=frozen != "x")
    w = nn.Variable.from_numpy_array(rng.randn(*((12 if base_axis == 1 else 4), 2)).astype(np.float32))
    b = nn.Variable.from_numpy_array(rng.randn(2).astype(np.float32))
    w.need_grad, b.need_grad = frozen != "W", frozen != "b"
    y = F.affine(x, w, b, base_axis=base_axis)
    gy = rng.randn(*y.shape).astype(np.float32)
    y.forward()
    y.backward(gy)
    k = w.shape[0]
    x2, g2 = x.d.reshape(-1, k).astype(np.float64), gy.reshape(-1, 2).astype(np.float64)
    if frozen != "x":
        np.testing.assert_allclose(x.g, (g2 @ w.d.T).reshape(x.shape), rtol=1e-5, atol=1e-6)
    if frozen != "W":
        np.testing.assert_allclose(w.g, x2.T @ g2, rtol=1e-5, atol=1e-6)
    if frozen != "b":
        np.testing.assert_allclose(b.g, g2.sum(0), rtol=1e-5, atol=1e-6)


def _train(loss, params, steps, hook=None):
    solver = S.Adam(alpha=0.01)
    solver.set_parameters(params)
    for _ in range(steps):
        loss.forward(clear_no_need_grad=True, function_pre_hook=hook)
        solver.zero_grad()
        loss.backward(clear_buffer=True, function_pre_hook=hook)
        solver.update()
    return [p.d.copy() for p in params.values()]


def test_compiled_plans_match_the_step_by_step_walk():
    # a hook makes forward and backward walk the plan step by step; without one, replayed plans run compiled
    x, label, loss, params = mlp()
    walked = _train(loss, params, 5, hook=lambda f: None)
    nn.clear_parameters()
    x, label, loss, params = mlp()
    compiled = _train(loss, params, 5)
    for a, b in zip(walked, compiled):
        np.testing.assert_array_equal(a, b)


def test_compiled_backward_with_an_unreached_output():
    x = nn.Variable.from_numpy_array(np.arange(6.0, dtype=np.float32).reshape(2, 3), need_grad=True)
    a, b = F.split(x, axis=0)
    y = F.sum(a * 2)  # b is an output of split that no gradient reaches
    for _ in range(3):
        x.grad.zero()
        y.forward()
        y.backward()
        np.testing.assert_array_equal(x.g, [[2, 2, 2], [0, 0, 0]])


def test_input_conversion_is_kept_until_the_input_is_written():
    # a float64 batch is converted to float32 once for forward and backward; writes through the accessors are seen
    x, label, loss, params = mlp()
    first = x.d.copy()
    loss.forward()
    nd = x.data
    loss.forward()
    converted = nd._cast[2]
    loss.backward()
    assert nd._cast[2] is converted
    x.d[...] = 0  # reading .d hands out the buffer: the conversion is dropped
    loss.forward()
    assert not nd._cast[2].any()
    x.d = first
    loss.forward()
    np.testing.assert_array_equal(nd._cast[2], first.astype(np.float32))
    view = x.data.view()
    loss.forward()
    view.data[...] = 1  # views share the count of writes
    loss.forward()
    np.testing.assert_array_equal(nd._cast[2], np.ones_like(first, np.float32))


def test_float64_inputs_train_like_float32_inputs():
    results = []
    for dtype in (np.float64, np.float32):
        nn.clear_parameters()
        x, label, loss, params = mlp()
        x.d, label.d = x.d.astype(dtype), label.d.astype(dtype)
        results.append(_train(loss, params, 3))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def _mixed_graph():
    """A graph with what backward's paths each decide: a leaf and an intermediate used twice, an input without a
    gradient, an output no gradient reaches, a parameter written into (affine), a persistent intermediate."""
    rng = np.random.RandomState(2)
    x = nn.Variable.from_numpy_array(rng.randn(2, 3).astype(np.float32), need_grad=True)
    c = nn.Variable.from_numpy_array(rng.randn(2, 3).astype(np.float32))
    w = nn.Variable.from_numpy_array(rng.randn(3, 3).astype(np.float32), need_grad=True)
    h = F.tanh(x * x + c)
    h.persistent = True
    a, _ = F.split(F.affine(h, w) + h, axis=0)  # the second half is reached by no gradient
    y = F.sum(a * h[0:1] + F.sigmoid(x)[0:1])
    return y, (x, w, h)


def test_a_graphs_first_backward_walks_it_and_later_ones_agree():
    from nnabla._walk import walk

    y, (x, w, h) = _mixed_graph()
    y.forward()
    results = []
    for hook in (None, None, None, lambda f: None):  # walked (no plan), planned and compiled, compiled, walked
        for v in (x, w, h):
            v.grad.zero()
        y.backward(function_pre_hook=hook)
        results.append([v.g.copy() for v in (x, w, h)])
        if len(results) == 1:
            assert walk(y)._backward is None  # the first pass made no plan
    assert walk(y)._backward is not None
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)
    z, (x2, w2, h2) = _mixed_graph()  # the plan walked step by step (clear_buffer) agrees too
    z.forward()
    z.backward(clear_buffer=True)
    for a, b in zip(results[0][:2], (x2.g, w2.g)):
        np.testing.assert_array_equal(a, b)
    assert np.abs(results[0][1]).sum() > 0 and np.abs(results[0][0]).sum() > 0


def test_a_first_backward_accumulates_into_leaves_grads():
    y, (x, w, _) = _mixed_graph()
    y.forward()
    y.backward()
    once = [x.g.copy(), w.g.copy()]
    z, (x2, w2, _) = _mixed_graph()
    x2.g, w2.g = once[0], once[1]
    z.forward()
    z.backward()  # a new graph's first pass adds to the gradients the leaves hold
    np.testing.assert_allclose(x2.g, 2 * once[0], rtol=1e-6)
    np.testing.assert_allclose(w2.g, 2 * once[1], rtol=1e-6)


def test_views_of_a_never_written_ndarray_share_its_count_of_writes():
    # the count is made on the first write or view: views made before any write still share it
    a = nn.NdArray((2, 3))
    v, part = a.view(), a.narrow(0, 0, 1)
    assert a.modification_count == v.modification_count == part.modification_count == 0
    a.fill(2)
    assert a.modification_count == v.modification_count == part.modification_count == 1
    v.zero()
    assert a.modification_count == part.modification_count == 2
    b = nn.NdArray((3,))
    b.zero()
    assert b.modification_count == 1 and b.view().modification_count == 1
