"""Variable: data and grad, flags, identity, shapes, unlinking, and the operators that build graph nodes."""

import re

import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F


def test_new_variable_has_shape_float32_data_and_no_gradient_need():
    v = nn.Variable((2, 3))
    assert v.shape == (2, 3)
    assert v.ndim == 2 and v.size == 6
    assert v.need_grad is False
    assert v.persistent is False
    assert v.parent is None
    assert v.d.dtype == np.float32 and v.g.dtype == np.float32


def test_d_and_g_are_the_data_and_grad_ndarrays_values():
    v = nn.Variable((2,), need_grad=True)
    v.d = [1.0, 2.0]
    v.g = 3.0
    assert isinstance(v.data, nn.NdArray) and isinstance(v.grad, nn.NdArray)
    np.testing.assert_array_equal(v.data.data, [1, 2])
    np.testing.assert_array_equal(v.grad.data, [3, 3])
    v.d[0] = 10.0  # .d is a view
    assert v.data.data[0] == 10.0


def test_flags_and_name_are_settable():
    v = nn.Variable((1,))
    v.need_grad = True
    v.persistent = True
    v.name = "w"
    assert (v.need_grad, v.persistent, v.name) == (True, True, "w")


def test_from_numpy_array_with_grad_and_need_grad():
    v = nn.Variable.from_numpy_array(np.ones((2, 2)), np.full((2, 2), 0.5), need_grad=True)
    assert v.need_grad is True
    np.testing.assert_array_equal(v.d, np.ones((2, 2)))
    np.testing.assert_array_equal(v.g, np.full((2, 2), 0.5))
    assert nn.Variable.from_numpy_array(np.ones(2)).need_grad is False


def test_repr_matches_nnabla():
    v = nn.Variable((2, 3), need_grad=True)
    assert re.fullmatch(r"<Variable\(\(2, 3\), need_grad=True\) at 0x[0-9a-f]+>", repr(v))


def test_parent_is_the_function_and_its_inputs_are_the_variables():
    x = nn.Variable((2, 3), need_grad=True)
    y = F.sigmoid(x)
    assert y.parent.info.type_name == "Sigmoid"
    assert y.parent.inputs[0] is x
    assert y.parent.outputs[0] is y
    assert y.need_grad is True


def test_output_needs_grad_only_if_an_input_does():
    x = nn.Variable((2,))
    assert F.tanh(x).need_grad is False
    w = nn.Variable((2,), need_grad=True)
    assert (x * w).need_grad is True


def test_unlinked_variable_shares_data_and_grad_but_has_no_parent():
    x = nn.Variable((2,), need_grad=True)
    y = F.tanh(x)
    u = y.get_unlinked_variable(need_grad=True)
    assert u.parent is None and u.need_grad is True
    y.d = [0.5, 0.25]
    np.testing.assert_array_equal(u.d, [0.5, 0.25])
    u.g = [1.0, 2.0]
    np.testing.assert_array_equal(y.g, [1.0, 2.0])


def test_reset_shape_requires_the_same_size_unless_forced():
    v = nn.Variable((2, 3))
    v.reset_shape((3, 2))
    assert v.shape == (3, 2)
    with pytest.raises(ValueError, match="force"):
        v.reset_shape((4,))
    v.reset_shape((4,), force=True)
    assert v.shape == (4,)


def test_reshape_shares_data_and_stays_in_the_graph():
    x = nn.Variable.from_numpy_array(np.arange(6, dtype=np.float32), need_grad=True)
    y = x.reshape((2, 3))
    assert y.shape == (2, 3) and y.parent is not None
    y.forward()
    np.testing.assert_array_equal(y.d, np.arange(6).reshape(2, 3))
    u = x.reshape((3, 2), unlink=True)
    assert u.parent is None
    x.d[0] = 42
    assert u.d[0, 0] == 42


def _var(values):
    return nn.Variable.from_numpy_array(np.array(values, np.float32), need_grad=True)


def test_operators_build_nnabla_functions():
    a, b = _var([1.0, 2.0]), _var([3.0, 4.0])
    m = nn.Variable.from_numpy_array(np.eye(2, dtype=np.float32))
    row = nn.Variable.from_numpy_array(np.array([[1.0, 2.0]], np.float32))
    table = [
        (a + b, "Add2", [4, 6]),
        (a - b, "Sub2", [-2, -2]),
        (a * b, "Mul2", [3, 8]),
        (a / b, "Div2", [1 / 3, 0.5]),
        (a**b, "Pow2", [1, 16]),
        (a + 1, "AddScalar", [2, 3]),
        (1 + a, "AddScalar", [2, 3]),
        (a - 1, "AddScalar", [0, 1]),
        (1 - a, "RSubScalar", [0, -1]),
        (a * 2, "MulScalar", [2, 4]),
        (2 * a, "MulScalar", [2, 4]),
        (a / 2, "MulScalar", [0.5, 1]),
        (2 / a, "RDivScalar", [2, 1]),
        (a**2, "PowScalar", [1, 4]),
        (2**a, "RPowScalar", [2, 4]),
        (-a, "MulScalar", [-1, -2]),
        (row @ m, "Affine", [[1, 2]]),
    ]
    for y, type_name, expected in table:
        assert isinstance(y, nn.Variable)
        assert y.parent.info.type_name == type_name
        y.forward()
        np.testing.assert_allclose(y.d, expected, rtol=1e-6, err_msg=type_name)


def test_in_place_operator_on_a_variable_builds_a_new_node():
    a = _var([1.0, 2.0])
    b = a
    b += 1
    assert b is not a and b.parent.info.type_name == "AddScalar"


def test_comparisons_build_nodes_and_equality_keeps_identity():
    a, b = _var([1.0, 3.0]), _var([2.0, 2.0])
    for y, expected in [(a < b, [1, 0]), (a > 2, [0, 1]), (a >= b, [0, 1]), (a <= 1, [1, 0])]:
        assert isinstance(y, nn.Variable)
        y.forward()
        np.testing.assert_array_equal(y.d, expected)
    assert (a == a) is True and (a == b) is False
    assert len({a, b, a}) == 2


def test_indexing_builds_a_node_with_numpy_semantics_and_a_gradient():
    data = np.arange(12, dtype=np.float32).reshape(3, 4)
    x = nn.Variable.from_numpy_array(data, need_grad=True)
    for key in [(slice(1, None), slice(None, None, 2)), 0, (slice(None), 1)]:
        y = x[key]
        assert isinstance(y, nn.Variable) and y.parent is not None
        y.forward()
        np.testing.assert_array_equal(y.d, data[key])
    loss = F.sum(x[:, 1] * 2)
    loss.forward()
    loss.backward()
    expected = np.zeros((3, 4))
    expected[:, 1] = 2
    np.testing.assert_array_equal(x.g, expected)
