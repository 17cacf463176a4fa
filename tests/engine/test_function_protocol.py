"""NNabla's Function protocol on explicit Variables: factories, setup/forward/backward with accum, metadata."""

import numpy as np
import pytest

import nnabla as nn
import nnabla.function as FN
import nnabla.functions as F
from nnabla.function import PythonFunction


def _affine_io(need_grad=(True, True, True)):
    rng = np.random.RandomState(0)
    x = nn.Variable.from_numpy_array(rng.randn(4, 3).astype(np.float32), need_grad=need_grad[0])
    w = nn.Variable.from_numpy_array(rng.randn(3, 2).astype(np.float32), need_grad=need_grad[1])
    b = nn.Variable.from_numpy_array(rng.randn(2).astype(np.float32), need_grad=need_grad[2])
    y = nn.Variable()
    return [x, w, b], [y]


def test_factory_makes_a_function_with_info():
    f = FN.Affine(nn.get_current_context(), base_axis=1)
    assert f.info.type_name == "Affine"
    assert f.info.args == {"base_axis": 1}
    assert f.min_outputs() == 1


def test_setup_sets_output_shapes_and_forward_computes():
    inputs, outputs = _affine_io()
    f = FN.Affine(nn.get_current_context(), base_axis=1)
    f.setup(inputs, outputs)
    assert outputs[0].shape == (4, 2)
    f.forward(inputs, outputs)
    x, w, b = (v.d for v in inputs)
    np.testing.assert_allclose(outputs[0].d, x @ w + b, rtol=1e-5)


def test_backward_accum_true_adds_and_false_overwrites():
    inputs, outputs = _affine_io()
    f = FN.Affine(nn.get_current_context(), base_axis=1)
    f.setup(inputs, outputs)
    f.forward(inputs, outputs)
    gy = np.random.RandomState(1).randn(4, 2).astype(np.float32)
    outputs[0].g = gy
    for v in inputs:
        v.g = 1.0
    f.backward(inputs, outputs, accum=[True, False, True])
    x, w = inputs[0].d, inputs[1].d
    np.testing.assert_allclose(inputs[0].g, 1 + gy @ w.T, rtol=1e-5)
    np.testing.assert_allclose(inputs[1].g, x.T @ gy, rtol=1e-5)
    np.testing.assert_allclose(inputs[2].g, 1 + gy.sum(0), rtol=1e-5)


def test_backward_leaves_inputs_without_need_grad_untouched():
    inputs, outputs = _affine_io(need_grad=(False, True, False))
    f = FN.Affine(nn.get_current_context())
    f.setup(inputs, outputs)
    f.forward(inputs, outputs)
    outputs[0].g = 1.0
    inputs[0].g = 7.0
    inputs[2].g = 7.0
    f.backward(inputs, outputs, accum=[False, False, False])
    np.testing.assert_array_equal(inputs[0].g, np.full((4, 3), 7.0))
    np.testing.assert_array_equal(inputs[2].g, np.full(2, 7.0))
    np.testing.assert_allclose(inputs[1].g, inputs[0].d.T @ np.ones((4, 2)), rtol=1e-5)


def test_grad_dependencies_follow_what_backward_reads():
    ctx = nn.get_current_context()
    tanh, affine, add = FN.Tanh(ctx), FN.Affine(ctx), FN.Add2(ctx)
    assert tanh.grad_depends_output_data(0, 0) and not tanh.grad_depends_input_data(0, 0)
    assert affine.grad_depends_input_data(0, 1) and not affine.grad_depends_output_data(0, 0)
    assert not add.grad_depends_input_data(0, 0) and not add.grad_depends_output_data(0, 0)


def test_calling_a_function_instance_links_it_into_a_graph():
    f = FN.Tanh(nn.get_current_context())
    x = nn.Variable.from_numpy_array(np.array([0.5], np.float32), need_grad=True)
    y = f(x)
    assert y.parent is f and f.inputs[0] is x and f.outputs[0] is y


def test_unknown_argument_names_the_function():
    with pytest.raises(TypeError, match="Affine.*bogus"):
        FN.Affine(nn.get_current_context(), bogus=1)


class Double(PythonFunction):
    """A user-defined function: y = 2 x."""

    @property
    def name(self):
        return "Double"

    def min_outputs(self):
        return 1

    def setup_impl(self, inputs, outputs):
        outputs[0].reset_shape(inputs[0].shape, True)

    def forward_impl(self, inputs, outputs):
        outputs[0].d = 2 * inputs[0].d

    def backward_impl(self, inputs, outputs, propagate_down, accum):
        if not propagate_down[0]:
            return
        if accum[0]:
            inputs[0].g += 2 * outputs[0].g
        else:
            inputs[0].g = 2 * outputs[0].g


def test_python_function_forward_and_backward_in_a_graph():
    x = nn.Variable.from_numpy_array(np.array([1.0, 2.0], np.float32), need_grad=True)
    y = F.sum(Double()(x) * x)  # d/dx sum(2x * x) = 4x
    y.forward()
    np.testing.assert_allclose(y.d, 10)
    y.backward()
    np.testing.assert_allclose(x.g, [4, 8])
    y.backward()
    np.testing.assert_allclose(x.g, [8, 16])  # accumulates like any other function


def test_python_function_with_ndarrays_runs_imperatively():
    out = Double()(nn.NdArray.from_numpy_array(np.array([1.5], np.float32)))
    assert isinstance(out, nn.NdArray)
    np.testing.assert_array_equal(out.data, [3.0])
