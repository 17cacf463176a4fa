"""Higher-order gradients: nn.grad builds its gradients from registered functions, so they can be
differentiated again (nn.grad of nn.grad, backward through a gradient graph), with NNabla's rules for what
nn.grad returns. The expected values and graphs were read off real NNabla 1.36. Every op's second-order check
runs over the op tables (``opcheck.check_grad``)."""

import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
import nnabla.initializer as I
import nnabla.parametric_functions as PF
from nnabla.function import FunctionError, registry
from opcheck import Case, check_second_order, randn, uniform


def _x(values=(1.0, 2.0, 3.0)):
    return nn.Variable.from_numpy_array(np.array(values, np.float32)).apply(need_grad=True)


def _types(v):
    names = []
    v.visit(lambda f: names.append(f.info.type_name))
    return names


def test_second_and_third_derivative_of_a_cube():
    x = _x()
    (g1,) = nn.grad([F.sum(x**3)], [x])
    (g2,) = nn.grad([F.sum(g1)], [x])
    (g3,) = nn.grad([F.sum(g2)], [x])
    nn.forward_all([g1, g2, g3])
    np.testing.assert_allclose(g1.d, [3, 12, 27])
    np.testing.assert_allclose(g2.d, [6, 12, 18])  # NNabla prints the same
    np.testing.assert_allclose(g3.d, [6, 6, 6])
    assert type(g1) is nn.Variable and g1.need_grad and g2.need_grad


def test_the_gradient_graph_has_nnablas_function_types():
    x = _x()
    (g,) = nn.grad([F.sum(x**3)], [x])
    assert _types(g) == [
        "PowScalar",
        "Sum",
        "GradEndFunction",
        "Reshape",
        "Broadcast",
        "MulScalar",
        "PowScalar",
        "Mul2",
    ]
    (gt,) = nn.grad([F.tanh(x)], [x])
    assert _types(gt)[:2] == ["Tanh", "GradEndFunction"] and "RSubScalar" in _types(gt)


def test_tenth_derivative_of_sin_and_backward_through_it():
    x = nn.Variable.from_numpy_array(np.random.RandomState(0).randn(2, 2)).apply(need_grad=True)
    d = F.sin(x)
    for _ in range(10):
        (d,) = nn.grad([d], [x])
    d.forward()
    np.testing.assert_allclose(d.d, -np.sin(x.d), rtol=1e-5, atol=1e-6)
    x.grad.zero()
    d.backward()
    np.testing.assert_allclose(x.g, -np.cos(x.d), rtol=1e-5, atol=1e-6)


def test_inputs_no_gradient_reaches_get_constant_zeros():
    x = _x()
    w = nn.Variable.from_numpy_array(np.ones(3, np.float32))  # in the graph, needs no gradient
    elsewhere = nn.Variable.from_numpy_array(np.ones(2, np.float32)).apply(need_grad=True)  # not in the graph
    gx, gw, ge = nn.grad([F.sum(x * w)], [x, w, elsewhere])
    for g in (gw, ge):
        assert g.parent.info.type_name == "Constant" and not g.need_grad
    assert gw.shape == (3,) and ge.shape == ()  # NNabla's shapes
    nn.forward_all([gx, gw, ge])
    np.testing.assert_array_equal(gw.d, 0)


@pytest.mark.parametrize(
    "grad_output",
    [
        2,
        2.0,
        np.full(3, 2.0),
        nn.NdArray.from_numpy_array(np.full(3, 2.0)),
        nn.Variable.from_numpy_array(np.full(3, 2.0)),
    ],
    ids=["int", "float", "ndarray", "NdArray", "Variable"],
)
def test_grad_outputs_forms(grad_output):
    x = _x()
    (g,) = nn.grad([x**2], [x], grad_outputs=[grad_output])
    g.forward()
    np.testing.assert_allclose(g.d, [4, 8, 12])
    assert "Mul2" in _types(g)  # the output is weighted by a Mul2, as in NNabla


def test_a_single_grad_output_need_not_be_a_list():
    x = _x()
    (g,) = nn.grad([x**2], [x], grad_outputs=3)
    g.forward()
    np.testing.assert_allclose(g.d, [6, 12, 18])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"grad_outputs": [np.ones(2)]}, "shape"),
        ({"grad_outputs": ["a"]}, "grad_outputs\\[0\\] must be"),
        ({"grad_outputs": [1, 2]}, "2 grad_outputs given for 1 outputs"),
        ({"persistent_outputs": [True, False]}, "2 persistent_outputs given for 1 outputs"),
    ],
)
def test_bad_arguments_raise(kwargs, match):
    x = _x()
    with pytest.raises(ValueError, match=match):
        nn.grad([x**2], [x], **kwargs)


def test_persistent_outputs():
    x = _x()
    kept, dropped = x**2, x**3
    nn.grad([kept, dropped], [x], persistent_outputs=[True, False])
    assert kept.persistent and not dropped.persistent
    other = x**2
    nn.grad([other], [x])
    assert other.persistent


def test_bind_grad_output_then_backward_adds_to_the_bound_gradient():
    x = _x()
    x.grad.zero()
    (g,) = nn.grad([F.sum(x**2)], [x], bind_grad_output=True)
    g.forward()
    np.testing.assert_allclose(x.g, [2, 4, 6])
    loss = F.sum(g**2)
    loss.forward()
    loss.backward()
    np.testing.assert_allclose(x.g, [10, 20, 30])  # 2x bound, plus 8x from backward: NNabla's numbers


def test_under_auto_forward_values_come_at_once():
    x = _x()
    with nn.auto_forward():
        (g,) = nn.grad([F.sum(F.sin(x))], [x])
        (h,) = nn.grad([F.sum(g)], [x])
    np.testing.assert_allclose(g.d, np.cos([1, 2, 3]), rtol=1e-6)
    np.testing.assert_allclose(h.d, -np.sin([1, 2, 3]), rtol=1e-6)


def test_functions_without_double_backward_say_so():
    x = _x()
    (g,) = nn.grad([F.sum(F.mish(x))], [x])  # first order works
    g.forward()
    assert g.parent.info.type_name == "MishBackward"
    with pytest.raises(FunctionError, match="Mish \\(F.mish\\) has no double backward"):
        nn.grad([F.sum(g)], [x])
    loss = F.sum(g * g)
    loss.forward()
    with pytest.raises(FunctionError, match="Mish \\(F.mish\\) has no double backward"):
        loss.backward()


# the functions NNabla 1.36 gives no double backward: nn.grad through them raises there (NotImplementedError, or a
# backward function that does not take the function's arguments)
WITHOUT_DOUBLE_BACKWARD = {
    "AdaptiveSeparableConvolution", "AffineGrid", "Assign", "BatchCholesky", "BatchLogdet", "BcAdd2",
    "BinaryConnectAffine", "BinaryConnectConvolution", "BinaryWeightAffine", "BinaryWeightConvolution", "BroadcastTo",
    "CumProd", "DeformableConvolution", "DepthwiseConvolution", "DepthwiseDeconvolution", "FixedPointQuantize", "Flip",
    "FusedConvolution", "Gather", "INQAffine", "INQConvolution", "ImageAugmentation", "MeanSubtraction", "Meshgrid",
    "MinMaxQuantize", "Mish", "ONNXResize", "PackPaddedSequence", "Pad", "PadPackedSequence", "PatchCorrelation",
    "Pow2Quantize", "RandomErase", "RandomShift", "ReduceMean", "ReduceSum", "ResetInf", "ResetNaN", "RoiAlign",
    "ScatterAdd", "Shift", "Sink", "Sort", "SyncBatchNormalization", "TopKData", "TopKGrad", "Unlink", "VATNoise",
    "WarpByFlow", "WarpByGrid",
}  # fmt: skip


def test_double_backward_is_where_nnabla_has_it():
    differentiable = {name for name, cls in registry().items() if cls.differentiable}
    without = {name for name in differentiable if not registry()[name].double_backward}
    assert without == WITHOUT_DOUBLE_BACKWARD


def test_backward_functions_registry():
    import nnabla.backward_functions as B
    import nnabla.grad

    assert nnabla.grad is nn.grad and "grad" in dir(__import__("sys").modules["nnabla.grad"])
    assert {"Tanh", "Affine", "Convolution", "Mish"} <= set(B.registry)
    assert B.registry["Tanh"] is B.tanh_backward
    original = B.registry["Sin"]
    try:
        B.register("Sin", lambda grad_inputs, inputs, input_shapes, outputs, output_shapes: [grad_inputs[0] * 5.0])
        x = _x()
        (g,) = nn.grad([F.sum(F.sin(x))], [x])
        g.forward()
        np.testing.assert_allclose(g.d, [5, 5, 5])
    finally:
        B.register("Sin", original)
    # a generated entry called NNabla's way builds the op's gradient graph
    x = _x()
    (g,) = B.tanh_backward([F.constant(1.0, (3,))], [None], [(3,)], [F.tanh(x)], [(3,)])
    g.forward()
    np.testing.assert_allclose(g.d, 1 - np.tanh([1, 2, 3]) ** 2, rtol=1e-5)


def test_gradient_penalty_trains_a_critic():
    """WGAN-GP's penalty (|grad_x D(x)| - 1)^2: its parameter gradients by backward match central differences."""
    rng = np.random.RandomState(0)
    with nn.context_scope(nn.Context(["cpu:double"])), nn.parameter_scope("critic"):
        nn.clear_parameters()
        x = nn.Variable.from_numpy_array(rng.randn(4, 3)).apply(need_grad=True)
        # initial weights from this test's own generator: drawn from the shared one, they would depend on the tests
        # run before, and could put a max or ReLU kink within the differences' step
        init = I.NormalInitializer(1.0, rng=rng)
        h = F.max_pooling(F.reshape(F.tanh(PF.affine(x, 6, w_init=init, name="fc1")), (4, 1, 2, 3)), (1, 2))
        score = PF.affine(F.relu(h), 1, w_init=init, name="fc2")
        (gx,) = nn.grad([F.sum(score)], [x])
        norm = F.sum(gx**2, axis=1) ** 0.5
        penalty = F.mean((norm - 1) ** 2)
        params = list(nn.get_parameters().values())
        for p in params:  # parameters are made in float32: central differences need float64
            p.data = nn.NdArray.from_numpy_array(p.d.astype(np.float64))
            p.grad = nn.NdArray.from_numpy_array(np.zeros(p.shape))
        penalty.forward()
        penalty.backward()
        w = params[0]
        analytic = w.g.copy()
        numeric = np.zeros(w.shape)
        for j in range(w.size):
            orig = w.d.flat[j]
            values = []
            for step in (1e-6, -1e-6):
                w.d.flat[j] = orig + step
                penalty.forward()
                values.append(float(penalty.d))
            w.d.flat[j] = orig
            numeric.flat[j] = (values[0] - values[1]) / 2e-6
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)
        nn.clear_parameters()


# gradients that are not derivatives (straight-through, clipping): their gradient graphs are differentiated again
# as NNabla's are (a straight-through op passes the gradient of its gradient straight through too), so the op
# takes x * x here and its output is not multiplied by x again: then central differences see the same function
NOT_DERIVATIVES = [
    Case("sign", lambda x: F.sign(x * x), None, [randn(2, 3)]),
    Case("round", lambda x: F.round(x * x), None, [uniform(0.6, 1.4, 2, 3)]),
    Case("ceil", lambda x: F.ceil(x * x), None, [uniform(0.1, 0.9, 2, 3)]),
    Case("floor", lambda x: F.floor(x * x), None, [uniform(1.1, 1.3, 2, 3)]),
    Case("binary_tanh", lambda x: F.binary_tanh(x * x), None, [uniform(-0.9, 0.9, 2, 3)]),
    Case("binary_sigmoid", lambda x: F.binary_sigmoid(x * x), None, [uniform(-0.9, 0.9, 2, 3)]),
    Case("clip_grad_by_norm", lambda x: F.clip_grad_by_norm(x * x, 0.5), None, [randn(2, 3)]),
    Case(
        "clip_grad_by_value",
        lambda x, lo, hi: F.clip_grad_by_value(x * x, lo, hi),
        None,
        [randn(2, 3), -np.full((2, 3), 0.5, np.float32), np.full((2, 3), 0.5, np.float32)],
    ),
]


@pytest.mark.parametrize("case", NOT_DERIVATIVES, ids=str)
def test_second_order_of_gradients_that_are_not_derivatives(case):
    check_second_order(case)


def test_dropout_double_backward_reuses_the_forward_mask():
    x = nn.Variable.from_numpy_array(np.random.RandomState(1).uniform(1, 2, (4, 5)))
    x.need_grad = True
    y = F.dropout(x, p=0.5)
    (g,) = nn.grad([F.sum(y * y)], [x])  # built before any forward: the mask is drawn when forward runs
    v = np.random.RandomState(2).randn(4, 5)
    (h,) = nn.grad([F.sum(g * nn.Variable.from_numpy_array(v))], [x])
    nn.forward_all([y, g, h])
    mask = y.d / x.d  # 0 or 2
    assert set(np.unique(np.round(mask, 6))) == {0.0, 2.0}
    np.testing.assert_allclose(g.d, 2 * y.d * mask, rtol=1e-6)
    np.testing.assert_allclose(h.d, 2 * mask * mask * v, rtol=1e-6)


def test_random_choice_double_backward_follows_the_draw():
    x = nn.Variable.from_numpy_array(np.array([[1.0, 2.0, 3.0, 4.0]]), need_grad=True)
    w = nn.Variable.from_numpy_array(np.array([[1.0, 1.0, 1.0, 1.0]]))
    y = F.random_choice(x, w, shape=[6])
    (counts,) = nn.grad([F.sum(y)], [x])
    (g,) = nn.grad([F.sum(y * y)], [x])
    v = np.array([[1.0, -2.0, 3.0, 0.5]])
    (h,) = nn.grad([F.sum(g * nn.Variable.from_numpy_array(v))], [x])
    nn.forward_all([counts, g, h])
    assert counts.d.sum() == 6
    np.testing.assert_allclose(g.d, 2 * counts.d * x.d)
    np.testing.assert_allclose(h.d, 2 * counts.d * v)
