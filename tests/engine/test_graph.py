"""Graph rules: how backward accumulates, the three execution modes, no_grad, nn.grad, hooks, and build errors."""

import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
import nnabla.parametric_functions as PF
from nnabla.function import FunctionError, PythonFunction


def _var(values, need_grad=True):
    return nn.Variable.from_numpy_array(np.array(values, np.float32), need_grad=need_grad)


# -- backward ---------------------------------------------------------------------------------------------
def test_leaf_gradients_accumulate_across_backward_calls():
    x = _var([1.0, 2.0])
    y = F.sum(x * 3)
    y.forward()
    y.backward()
    np.testing.assert_array_equal(x.g, [3, 3])
    y.backward()
    np.testing.assert_array_equal(x.g, [6, 6])


def test_intermediate_gradients_are_overwritten_by_each_pass():
    x = _var([1.0, 2.0])
    h = x * 3
    y = F.sum(h)
    y.forward()
    y.backward()
    y.backward()
    np.testing.assert_array_equal(h.g, [1, 1])


def test_a_variable_used_twice_gets_both_contributions():
    x = _var([1.0, 2.0])
    h = F.tanh(x)
    y = F.sum(h * h + h)  # d/dh = 2h + 1, both paths into the intermediate h
    y.forward()
    y.backward()
    t = np.tanh(np.array([1.0, 2.0]))
    np.testing.assert_allclose(h.g, 2 * t + 1, rtol=1e-6)
    np.testing.assert_allclose(x.g, (2 * t + 1) * (1 - t * t), rtol=1e-5)


def test_non_scalar_root_starts_from_ones():
    x = _var([1.0, 2.0, 3.0])
    y = x * 2
    y.forward()
    y.backward()
    np.testing.assert_array_equal(x.g, [2, 2, 2])


def test_backward_with_an_array_gradient():
    x = _var([1.0, 2.0])
    y = x * 2
    y.forward()
    y.backward(np.array([1.0, 10.0]))
    np.testing.assert_array_equal(x.g, [2, 20])


def test_backward_grad_none_uses_the_roots_existing_grad():
    x = _var([1.0, 2.0])
    y = x * 2
    y.forward()
    y.g = [5.0, 7.0]
    y.backward(grad=None)
    np.testing.assert_array_equal(x.g, [10, 14])


def test_backward_grad_value_leaves_the_roots_grad_unchanged():
    # NNabla: the initial gradient is set for the pass only
    x = _var([1.0, 2.0])
    y = x * 2
    y.forward()
    y.g = [5.0, 7.0]
    y.backward(grad=1)
    np.testing.assert_array_equal(x.g, [2, 2])
    np.testing.assert_array_equal(y.g, [5, 7])


def test_backward_stops_at_inputs_without_need_grad():
    x = _var([1.0, 2.0], need_grad=False)
    w = _var([3.0, 4.0])
    y = F.sum(x * w)
    y.forward()
    y.backward()
    np.testing.assert_array_equal(w.g, [1, 2])
    np.testing.assert_array_equal(x.g, [0, 0])


class CountingSquare(PythonFunction):
    """y = x * x, counting how often forward and backward run."""

    def __init__(self, ctx=None):
        super().__init__(ctx)
        self.forwards = self.backwards = 0

    @property
    def name(self):
        return "CountingSquare"

    def min_outputs(self):
        return 1

    def setup_impl(self, inputs, outputs):
        outputs[0].reset_shape(inputs[0].shape, True)

    def forward_impl(self, inputs, outputs):
        self.forwards += 1
        outputs[0].d = inputs[0].d * inputs[0].d

    def backward_impl(self, inputs, outputs, propagate_down, accum):
        self.backwards += 1
        if propagate_down[0]:
            g = 2 * inputs[0].d * outputs[0].g
            if accum[0]:
                inputs[0].g += g
            else:
                inputs[0].g = g


def test_no_gradient_work_where_nothing_needs_grad():
    frozen = CountingSquare()
    x = _var([1.0, 2.0], need_grad=False)
    w = _var([1.0, 1.0])
    y = F.sum(frozen(x) * w)  # the square's input needs no gradient: its backward must not run
    y.forward()
    y.backward()
    assert frozen.forwards == 1 and frozen.backwards == 0
    np.testing.assert_array_equal(w.g, [1, 4])


def test_no_gradient_work_seen_by_a_backward_hook():
    x = _var([1.0, 2.0], need_grad=False)
    w = _var([1.0, 1.0])
    y = F.sum(F.tanh(x * 2) * w)
    y.forward()
    seen = []
    y.backward(function_pre_hook=lambda f: seen.append(f.info.type_name))
    assert seen == ["Sum", "Mul2"]


def test_python_function_in_a_graph_runs_forward_and_backward():
    square = CountingSquare()
    x = _var([1.0, -3.0])
    squared = square(x)
    y = F.sum(squared * 2)
    y.forward()
    np.testing.assert_allclose(y.d, 20)
    y.backward()
    np.testing.assert_allclose(x.g, [4, -12])
    assert squared.parent is square
    assert square.info.type_name == "CountingSquare"


# -- modes ------------------------------------------------------------------------------------------------
def test_static_graph_computes_only_on_forward():
    x = _var([1.0, 2.0])
    y = x * 2
    np.testing.assert_array_equal(y.d, [0, 0])
    y.forward()
    np.testing.assert_array_equal(y.d, [2, 4])
    x.d = [5.0, 6.0]  # the same graph, new data
    y.forward()
    np.testing.assert_array_equal(y.d, [10, 12])


def test_dynamic_mode_computes_as_the_graph_is_built():
    x = _var([1.0, 2.0])
    with nn.auto_forward():
        y = F.sum(x * 2)
    assert y.parent is not None
    np.testing.assert_allclose(y.d, 6)
    y.backward()
    np.testing.assert_array_equal(x.g, [2, 2])
    assert nn.get_auto_forward() is False


def test_imperative_mode_with_ndarrays_builds_no_graph():
    x = nn.NdArray.from_numpy_array(np.array([1.0, 2.0], np.float32))
    y = F.tanh(x * 2)
    assert isinstance(y, nn.NdArray)
    np.testing.assert_allclose(y.data, np.tanh([2.0, 4.0]), rtol=1e-6)


def test_no_grad_fetches_parameters_without_need_grad():
    x = _var([1.0, 2.0])
    with nn.no_grad():
        y = F.tanh(x)  # as NNabla 1.36: functions are unaffected, an input needing a gradient still counts
        z = PF.affine(nn.Variable((2, 2)), 3, name="no_grad_layer")
    assert y.need_grad is True and x.need_grad is True
    assert z.need_grad is False  # its parameters came as views without need_grad
    assert nn.get_parameters(grad_only=False)["no_grad_layer/affine/W"].need_grad is True  # stored ones unchanged
    assert PF.affine(nn.Variable((2, 2)), 3, name="no_grad_layer").need_grad is True
    nn.clear_parameters()


# -- nn.grad -----------------------------------------------------------------------------------------------
X, W = [0.5, -1.0, 2.0], [1.5, 0.25, -0.75]
GRAD_CASES = [
    # (name, build(x, w) -> (outputs, inputs, grad_outputs), analytic gradients from the arrays x, w)
    ("square", lambda x, w: (F.sum(x * x), [x], None), lambda x, w: [2 * x]),
    (
        "product, both inputs",
        lambda x, w: (F.sum(F.tanh(x) * w), [x, w], None),
        lambda x, w: [(1 - np.tanh(x) ** 2) * w, np.tanh(x)],
    ),
    ("scalar weight", lambda x, w: (F.sum(x * w), [x], 3.0), lambda x, w: [3 * w]),
    ("array weight", lambda x, w: (x * w, [w], np.array([1, 2, 3], np.float32)), lambda x, w: [x * [1, 2, 3]]),
    (
        "two outputs, a Variable weight",
        lambda x, w: ([F.sum(x * x), x * w], [x], [None, _var([2.0, 2.0, 2.0], need_grad=False)]),
        lambda x, w: [2 * x + 2 * w],
    ),
    ("input used twice", lambda x, w: (F.sum(x * x * x + x), [x], None), lambda x, w: [3 * x**2 + 1]),
    ("input the output does not use", lambda x, w: (F.sum(x * 2), [x, w], None), lambda x, w: [np.full(3, 2.0), 0 * w]),
]


@pytest.mark.parametrize("build, expected", [c[1:] for c in GRAD_CASES], ids=[c[0] for c in GRAD_CASES])
def test_nn_grad_matches_analytic_gradients(build, expected):
    x, w = _var(X), _var(W)
    outputs, inputs, grad_outputs = build(x, w)
    grads = nn.grad(outputs, inputs, grad_outputs=grad_outputs)
    nn.forward_all(grads)
    for g, ref in zip(grads, expected(np.array(X, np.float32), np.array(W, np.float32))):
        np.testing.assert_allclose(g.d, ref, rtol=1e-6)


def test_nn_grad_with_respect_to_an_intermediate_variable():
    x = _var(X)
    h = F.tanh(x)
    y = F.sum(h * h) + F.sum(x)
    (gh,) = nn.grad(y, [h])
    gh.forward()
    np.testing.assert_allclose(gh.d, 2 * np.tanh(np.array(X, np.float32)), rtol=1e-6)


def test_nn_grad_matches_backward_on_a_network():
    import nnabla.parametric_functions as PF

    nn.seed(0)
    x = nn.Variable.from_numpy_array(np.random.RandomState(0).randn(4, 3).astype(np.float32))
    label = nn.Variable.from_numpy_array(np.random.RandomState(1).randn(4, 1).astype(np.float32))
    loss = F.mean(F.squared_error(PF.affine(F.tanh(PF.affine(x, 5, name="fc1")), 1, name="fc2"), label))
    params = list(nn.get_parameters().values())
    grads = nn.grad([loss], params)
    nn.forward_all(grads)
    for p in params:
        p.grad.zero()
    loss.forward()
    loss.backward()
    for g, p in zip(grads, params):
        np.testing.assert_allclose(g.d, p.g, rtol=1e-5, atol=1e-7)


def test_nn_grad_returns_outputs_of_one_grad_node():
    x, w = _var(X), _var(W)
    y = F.sum(x * w)
    gx, gw = nn.grad([y], [x, w])
    assert gx.parent is gw.parent
    assert gx.parent.info.type_name == "Grad"
    assert gx.parent.inputs == [y, x, w]
    assert y.persistent  # NNabla's default: outputs are kept through buffer clearing
    names = []
    F.sum(gx * gw).visit(lambda f: names.append(f.info.type_name))
    assert names == ["Mul2", "Sum", "Grad", "Mul2", "Sum"]
    assert not hasattr(F, "grad")  # NNabla's F has no such function


def test_nn_grad_recomputes_on_forward_and_composes():
    x = _var([1.0, 2.0])
    (g,) = nn.grad(F.sum(x * x), [x])
    z = F.sum(g**2)
    z.forward()
    np.testing.assert_allclose(z.d, 4 + 16)
    x.d = [3.0, 4.0]
    g.forward()
    np.testing.assert_allclose(g.d, [6, 8])
    z.forward(clear_buffer=True)
    np.testing.assert_allclose(z.d, 36 + 64)


def test_nn_grad_leaves_grads_and_flags_alone():
    x, w, frozen = _var(X), _var(W), _var([1.0, 1.0, 1.0], need_grad=False)
    h = x * w
    y = F.sum(h * frozen)
    x.g, w.g, h.g = [100.0] * 3, [200.0] * 3, [300.0] * 3
    gx, gfrozen = nn.grad(y, [x, frozen])
    gx.forward()
    np.testing.assert_allclose(gx.d, W)
    np.testing.assert_array_equal(gfrozen.d, [0, 0, 0])  # NNabla: an input that needs no gradient gets zeros
    np.testing.assert_array_equal(x.g, [100] * 3)
    np.testing.assert_array_equal(w.g, [200] * 3)
    np.testing.assert_array_equal(h.g, [300] * 3)
    assert (x.need_grad, w.need_grad, frozen.need_grad) == (True, True, False)


def test_nn_grad_leaves_a_solvers_gradients_alone():
    import nnabla.solvers as S

    w = _var(W)
    solver = S.Sgd(lr=1.0)
    solver.set_parameters({"w": w})
    y = F.sum(w * w)
    (g,) = nn.grad(y, [w])
    solver.zero_grad()
    g.forward()
    y.forward()
    y.backward()
    solver.update()
    np.testing.assert_allclose(w.d, np.array(W, np.float32) - 2 * np.array(W, np.float32))
    np.testing.assert_allclose(g.d, 2 * np.array(W, np.float32))


def test_nn_grad_under_auto_forward_is_computed_at_once():
    x = _var([1.0, 2.0])
    with nn.auto_forward():
        (g,) = nn.grad(F.sum(F.tanh(x) * 3), [x])
        z = F.sum(g)
    ref = 3 * (1 - np.tanh(np.array([1.0, 2.0], np.float32)) ** 2)
    np.testing.assert_allclose(g.d, ref, rtol=1e-6)
    np.testing.assert_allclose(z.d, ref.sum(), rtol=1e-6)


def test_nn_grad_bind_grad_output_shares_the_inputs_grad():
    x = _var([1.0, 2.0])
    (g,) = nn.grad(F.sum(x * x), [x], bind_grad_output=True)
    g.forward()
    np.testing.assert_array_equal(x.g, [2, 4])


def test_backward_through_nn_grad_is_refused():
    x = _var([1.0, 2.0])
    (g,) = nn.grad(F.sum(x * x), [x])
    z = F.sum(g**2)
    z.forward()
    with pytest.raises(FunctionError, match="nn.grad.*higher-order gradients are not supported"):
        z.backward()
    u = F.sum(g.get_unlinked_variable(need_grad=False) ** 2)  # as a constant, it is fine
    u.forward()
    u.backward()


def test_nn_grad_rejects_mismatched_grad_outputs():
    x = _var([1.0, 2.0])
    with pytest.raises(
        FunctionError, match=r"nn.grad: grad_outputs of shape \(3,\) given for an output of shape \(2,\)"
    ):
        nn.grad(x * 2, [x], grad_outputs=np.ones(3, np.float32))
    with pytest.raises(ValueError, match="nn.grad: 2 grad_outputs given for 1 outputs"):
        nn.grad(x * 2, [x], grad_outputs=[1, 1])
    with pytest.raises(ValueError, match="nn.grad: inputs must be Variables"):
        nn.grad(x * 2, [np.ones(2)])


# -- hooks ------------------------------------------------------------------------------------------------
def test_global_and_per_call_function_hooks():
    x = _var([1.0, 2.0])
    y = F.sum(F.tanh(x * 2))
    calls = []
    nn.set_function_pre_hook("pre", lambda f: calls.append(("pre", f.info.type_name)))
    nn.set_function_post_hook("post", lambda f: calls.append(("post", f.info.type_name)))
    try:
        y.forward(function_post_hook=lambda f: calls.append(("local", f.info.type_name)))
    finally:
        nn.unset_function_pre_hook("pre")
        nn.unset_function_post_hook("post")
    names = ["MulScalar", "Tanh", "Sum"]
    assert [n for k, n in calls if k == "pre"] == names
    assert [n for k, n in calls if k == "post"] == names
    assert [n for k, n in calls if k == "local"] == names
    calls.clear()
    y.forward()
    assert calls == []


def test_visit_calls_functions_in_forward_order():
    x = _var([1.0])
    y = F.sum(F.tanh(x * 2) + x)
    order = []
    y.visit(lambda f: order.append(f.info.type_name))
    assert order == ["MulScalar", "Tanh", "Add2", "Sum"]


# -- scale ------------------------------------------------------------------------------------------------
def test_ten_thousand_function_chain_runs_without_recursion():
    x = _var([0.5])
    h = x
    for _ in range(10_000):
        h = F.add_scalar(h, 0.001)
    y = F.sum(h)
    y.forward()
    np.testing.assert_allclose(y.d, 0.5 + 10.0, rtol=1e-4)
    y.backward()
    np.testing.assert_array_equal(x.g, [1])


# -- errors at graph build time ---------------------------------------------------------------------------
def test_affine_with_mismatched_shapes_names_the_function_and_both_shapes():
    x = nn.Variable((4, 3))
    w = nn.Variable((5, 2))
    with pytest.raises(FunctionError, match=r"Affine.*\(4, 3\).*\(5, 2\)"):
        F.affine(x, w)


def test_a_non_variable_input_names_the_function_and_the_argument():
    w = nn.Variable((3, 2))
    with pytest.raises(FunctionError, match=r"Affine.*x.*list"):
        F.affine([[1.0, 2.0, 3.0]], w)
    with pytest.raises(FunctionError, match=r"Add2.*x0.*ndarray"):
        F.add2(np.ones(2), nn.Variable((2,)))


def test_broadcast_error_names_the_function_and_the_shapes():
    with pytest.raises(FunctionError, match=r"Add2.*\(2, 3\).*\(4,\)"):
        F.add2(nn.Variable((2, 3)), nn.Variable((4,)))
