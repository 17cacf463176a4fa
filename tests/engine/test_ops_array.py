"""Reference and gradient checks for array manipulation and creation, BatchMatmul and the ``@`` operator."""

import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
from nnabla.function import FunctionError
from opcheck import Case, check_forward, check_grad, randn


def reflect_pad(x, widths):
    return np.pad(x, [(0, 0)] * (x.ndim - len(widths)) + widths, mode="reflect")


def one_hot_ref(x, classes):
    y = np.zeros(x.shape[:-1] + classes, np.float32)
    for row in np.ndindex(*x.shape[:-1]):
        y[row + tuple(x[row])] = 1
    return y


CASES = [
    Case("reshape", lambda x: F.reshape(x, (3, -1)), lambda x: x.reshape(3, -1), [randn(2, 3, 2)]),
    Case("transpose", lambda x: F.transpose(x, (2, 0, 1)), lambda x: x.transpose(2, 0, 1), [randn(2, 3, 4)]),
    Case("transpose_negative", lambda x: F.transpose(x, (-1, 0)), lambda x: x.T, [randn(2, 3)]),
    Case(
        "concatenate_last_axis",
        lambda a, b: F.concatenate(a, b),
        lambda a, b: np.concatenate([a, b], axis=-1),
        [randn(2, 3), randn(2, 2, seed=1)],
    ),
    Case(
        "concatenate_axis0_three",
        lambda *x: F.concatenate(*x, axis=0),
        lambda *x: np.concatenate(x, axis=0),
        [randn(1, 3), randn(2, 3, seed=1), randn(3, 3, seed=2)],
    ),
    Case("split_axis0", F.split, lambda x: tuple(x), [randn(3, 2)]),
    Case("split_axis1", lambda x: F.split(x, axis=1), lambda x: tuple(np.moveaxis(x, 1, 0)), [randn(2, 3, 2)]),
    Case("stack", lambda a, b: F.stack(a, b), lambda a, b: np.stack([a, b]), [randn(2, 3), randn(2, 3, seed=1)]),
    Case(
        "stack_last",
        lambda a, b: F.stack(a, b, axis=-1),
        lambda a, b: np.stack([a, b], axis=-1),
        [randn(2, 3), randn(2, 3, seed=1)],
    ),
    Case("slice", lambda x: F.slice(x, (0, 1), (2, 4), (1, 2)), lambda x: x[0:2, 1:4:2], [randn(3, 5)]),
    Case(
        "slice_negative_step",
        lambda x: F.slice(x, (None, 3), (None, None), (-1, -2)),
        lambda x: x[::-1, 3::-2],
        [randn(3, 5)],
    ),
    Case(
        "slice_negative_bounds",
        lambda x: F.slice(x, (-3, 0), (-1, 5), (1, 2)),
        lambda x: x[-3:-1, 0:5:2],
        [randn(3, 5)],
    ),
    Case(
        "slice_negative_step_bounds",
        lambda x: F.slice(x, (-1, 4), (0, -6), (-2, -1)),
        lambda x: x[-1:0:-2, 4:-6:-1],
        [randn(4, 5)],
    ),
    Case("slice_last_axes_only", lambda x: F.slice(x, (1,), (3,), (1,)), lambda x: x[..., 1:3], [randn(2, 3, 4)]),
    Case("slice_clipped", lambda x: F.slice(x, (-10,), (10,)), lambda x: x[-10:10], [randn(4)]),
    Case(
        "broadcast",
        lambda x: F.broadcast(x, (2, 3, 4)),
        lambda x: np.broadcast_to(x, (2, 3, 4)),
        [randn(3, 1)],
    ),
    Case(
        "broadcast_to_tail",
        lambda x, y: F.broadcast_to(x, y),
        lambda x, y: np.broadcast_to(y, x.shape),
        [randn(2, 3, 4), randn(3, 4, seed=1)],
        grad_inputs=[1],
    ),
    Case(
        "broadcast_to_axis0",
        lambda x, y: F.broadcast_to(x, y, axis=0),
        lambda x, y: np.broadcast_to(y[:, :, None], x.shape),
        [randn(2, 3, 4), randn(2, 3, seed=1)],
        grad_inputs=[1],
    ),
    Case("tile_int", lambda x: F.tile(x, 3), lambda x: np.tile(x, 3), [randn(2, 3)]),
    Case("tile_more_axes", lambda x: F.tile(x, (2, 1, 2)), lambda x: np.tile(x, (2, 1, 2)), [randn(2, 3)]),
    Case(
        "pad_constant",
        lambda x: F.pad(x, (1, 2), constant_value=0.5),
        lambda x: np.pad(x, [(0, 0), (1, 2)], constant_values=0.5),
        [randn(2, 3)],
    ),
    Case(
        "pad_reflect",
        lambda x: F.pad(x, (1, 2, 2, 1), "reflect"),
        lambda x: reflect_pad(x, [(1, 2), (2, 1)]),
        [randn(2, 3, 4)],
    ),
    Case("pad_reflect_wide", lambda x: F.pad(x, (5, 4), "reflect"), lambda x: reflect_pad(x, [(5, 4)]), [randn(3)]),
    Case(
        "pad_repeat",
        lambda x: F.pad(x, (2, 1, 0, 3), "repeat"),
        lambda x: np.pad(x, [(2, 1), (0, 3)], mode="edge"),
        [randn(2, 3)],
    ),
    Case("flip_default", F.flip, lambda x: x[..., ::-1], [randn(2, 3)]),
    Case("flip_axes", lambda x: F.flip(x, (0, 2)), lambda x: x[::-1, :, ::-1], [randn(2, 3, 2)]),
    Case(
        "where",
        F.where,
        lambda c, t, f: np.where(c[:, None] != 0, t, f),
        [np.array([1, 0, 2], np.float32), randn(3, 2), randn(3, 2, seed=1)],
        grad_inputs=[1, 2],
    ),
    Case(
        "one_hot",
        lambda x: F.one_hot(x, (4,)),
        lambda x: one_hot_ref(x, (4,)),
        [np.array([[1], [3], [0]])],
        grad=False,
    ),
    Case(
        "one_hot_2d_negative",
        lambda x: F.one_hot(x, (2, 3)),
        lambda x: one_hot_ref(x % np.array([2, 3]), (2, 3)),
        [np.array([[1, 2], [0, -1]])],
        grad=False,
    ),
    Case("matrix_diag", F.matrix_diag, lambda x: x[..., None] * np.eye(3), [randn(2, 3)]),
    Case("matrix_diag_part", F.matrix_diag_part, lambda x: np.diagonal(x, axis1=-2, axis2=-1), [randn(2, 3, 3)]),
    Case("meshgrid_xy", F.meshgrid, lambda a, b: tuple(np.meshgrid(a, b)), [randn(3), randn(2, seed=1)]),
    Case(
        "meshgrid_ij",
        lambda *x: F.meshgrid(*x, ij_indexing=True),
        lambda *x: tuple(np.meshgrid(*x, indexing="ij")),
        [randn(3), randn(2, seed=1), randn(4, seed=2)],
    ),
    Case("shape", F.shape, lambda x: np.array(x.shape, np.float32), [randn(2, 3, 4)], grad=False),
    Case(
        "shape_range",
        lambda x: F.shape(x, 1, -1),
        lambda x: np.array(x.shape[1:-1], np.float32),
        [randn(2, 3, 4, 5)],
        grad=False,
    ),
    Case(
        "batch_matmul",
        F.batch_matmul,
        np.matmul,
        [randn(2, 3, 4), randn(2, 4, 2, seed=1)],
    ),
    Case(
        "batch_matmul_transposed",
        lambda a, b: F.batch_matmul(a, b, transpose_a=True, transpose_b=True),
        lambda a, b: np.swapaxes(a, -1, -2) @ np.swapaxes(b, -1, -2),
        [randn(2, 4, 3), randn(2, 2, 4, seed=1)],
    ),
    Case(
        "batch_matmul_broadcast",
        F.batch_matmul,
        np.matmul,
        [randn(2, 1, 3, 4), randn(1, 3, 4, 2, seed=1)],
    ),
]

MATMUL_SHAPES = [
    ((2, 3), (3, 4)),
    ((3,), (3, 4)),
    ((2, 3), (3,)),
    ((3,), (3,)),
    ((2, 2, 3), (2, 3, 4)),
    ((2, 2, 3), (3, 4)),
    ((2, 3), (2, 3, 4)),
    ((3,), (2, 3, 4)),
    ((2, 2, 3), (3,)),
    ((2, 1, 2, 3), (3, 3, 2)),
]
CASES += [
    Case(f"matmul_{a}@{b}", lambda x, y: x @ y, np.matmul, [randn(*a), randn(*b, seed=1)]) for a, b in MATMUL_SHAPES
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_forward(case):
    check_forward(case)


@pytest.mark.parametrize("case", [c for c in CASES if c.grad], ids=str)
def test_grad(case):
    check_grad(case)


def test_split_returns_tuple_and_single_output():
    parts = F.split(nn.Variable((3, 2)))
    assert isinstance(parts, tuple) and len(parts) == 3 and parts[0].shape == (2,)
    assert isinstance(F.split(nn.Variable((1, 2))), nn.Variable)


def test_concatenate_default_axis_is_last():
    y = F.concatenate(nn.Variable((2, 3, 4)), nn.Variable((2, 3, 1)))
    assert y.shape == (2, 3, 5)
    assert y.parent.info.args["axis"] == 2


def test_constant_arange_linspace():
    c = F.constant(1.5, (2, 3))
    c.forward()
    np.testing.assert_array_equal(c.d, np.full((2, 3), 1.5, np.float32))
    r = F.arange(0, 1, 0.1)
    r.forward()
    assert r.shape == (10,)
    np.testing.assert_allclose(r.d, np.arange(10) * 0.1, atol=1e-6)
    down = F.arange(5, 1, -1.5)
    down.forward()
    np.testing.assert_array_equal(down.d, [5, 3.5, 2])
    assert F.arange(3, 1).shape == (0,)
    line = F.linspace(-1, 2, 7)
    line.forward()
    np.testing.assert_allclose(line.d, np.linspace(-1, 2, 7), atol=1e-6)
    one = F.linspace(4, 9, 1)
    one.forward()
    np.testing.assert_array_equal(one.d, [4])


def test_linspace_rejects_bad_num():
    with pytest.raises(TypeError, match="integer"):
        F.linspace(0, 1, 2.5)
    with pytest.raises(ValueError, match="non-negative"):
        F.linspace(0, 1, -1)


def test_sink_runs_every_branch_forward_and_backward():
    x = nn.Variable.from_numpy_array(randn(2, 3), need_grad=True)
    z = nn.Variable.from_numpy_array(randn(3, seed=1), need_grad=True)
    a = F.tanh(x)
    b = F.mul_scalar(z, 3.0)
    s = F.sink(a, b)
    assert s.shape == ()
    s.forward()
    np.testing.assert_allclose(a.d, np.tanh(x.d), rtol=1e-6)
    np.testing.assert_allclose(b.d, 3 * z.d, rtol=1e-6)
    s.backward()
    np.testing.assert_allclose(x.g, 1 - np.tanh(x.d) ** 2, rtol=1e-5)
    np.testing.assert_allclose(z.g, np.full(3, 3.0), rtol=1e-6)


def test_sink_keeps_gradients_set_by_hand():
    x = nn.Variable.from_numpy_array(randn(2, 3), need_grad=True)
    a = F.mul_scalar(x, 2.0)
    s = F.sink(a, one_input_grad=False)
    s.forward()
    a.g = np.full((2, 3), 0.5, np.float32)
    s.backward()
    np.testing.assert_allclose(x.g, np.full((2, 3), 1.0))


def test_assign_writes_dst():
    dst = nn.Variable.from_numpy_array(np.zeros((2, 2), np.float32))
    src = nn.Variable.from_numpy_array(randn(2, 2))
    y = F.assign(dst, src)
    y.forward()
    np.testing.assert_array_equal(dst.d, src.d)
    np.testing.assert_array_equal(y.d, src.d)


def test_assign_gradient_goes_to_dst():
    dst = nn.Variable.from_numpy_array(np.zeros(3, np.float32), need_grad=True)
    src = nn.Variable.from_numpy_array(randn(3), need_grad=True)
    y = F.assign(dst, src)
    y.forward()
    y.backward(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(dst.g, [1, 2, 3])
    np.testing.assert_array_equal(src.g, [0, 0, 0])


def test_imperative_split_and_concatenate():
    x = nn.NdArray.from_numpy_array(randn(2, 3))
    parts = F.split(x, axis=1)
    assert all(isinstance(p, nn.NdArray) for p in parts)
    back = F.stack(*parts, axis=1)
    np.testing.assert_array_equal(back.data, x.data)


@pytest.mark.parametrize(
    "build, match",
    [
        (
            lambda: F.concatenate(nn.Variable((2, 3)), nn.Variable((3, 4)), axis=0),
            r"Concatenate.*x\[1\].*\(3, 4\).*\(2, 3\).*axis=0",
        ),
        (lambda: F.concatenate(nn.Variable((2, 3)), nn.Variable((2, 3)), axis=2), r"Concatenate.*axis=2"),
        (lambda: F.transpose(nn.Variable((2, 3)), (0,)), r"Transpose.*axes=\(0,\).*\(2, 3\)"),
        (lambda: F.transpose(nn.Variable((2, 3)), (0, 0)), r"Transpose.*repeats"),
        (lambda: F.stack(nn.Variable((2, 3)), nn.Variable((3, 2))), r"Stack.*x\[1\].*\(3, 2\).*\(2, 3\)"),
        (lambda: F.split(nn.Variable((2, 3)), axis=2), r"Split.*axis=2"),
        (lambda: F.slice(nn.Variable((2, 3)), (0, 0), (1, 1), (1, 0)), r"Slice.*step"),
        (lambda: F.slice(nn.Variable((2,)), (0, 0), (1, 1), (1, 1)), r"Slice.*start"),
        (lambda: F.broadcast(nn.Variable((2, 3)), (4, 3)), r"Broadcast.*\(2, 3\).*\(4, 3\)"),
        (lambda: F.broadcast_to(nn.Variable((2, 3)), nn.Variable((2,))), r"BroadcastTo.*\(2,\).*\(2, 3\)"),
        (lambda: F.tile(nn.Variable((2,)), (0,)), r"Tile.*reps"),
        (lambda: F.pad(nn.Variable((2, 3)), (1,)), r"Pad.*pad_width=\(1,\)"),
        (lambda: F.pad(nn.Variable((2, 3)), (1, 1), mode="wrap"), r"Pad.*mode='wrap'"),
        (lambda: F.where(nn.Variable((3,)), nn.Variable((2, 3)), nn.Variable((2, 3))), r"Where.*condition.*\(3,\)"),
        (lambda: F.where(nn.Variable((2,)), nn.Variable((2, 3)), nn.Variable((2, 4))), r"Where.*x_false"),
        (lambda: F.one_hot(nn.Variable((3, 2)), (4,)), r"OneHot.*shape=\(4,\).*\(3, 2\)"),
        (lambda: F.matrix_diag_part(nn.Variable((2, 3))), r"MatrixDiagPart.*\(2, 3\)"),
        (lambda: F.meshgrid(nn.Variable((2, 2))), r"Meshgrid.*x\[0\].*\(2, 2\)"),
        (lambda: F.assign(nn.Variable((2,)), nn.Variable((3,))), r"Assign.*\(2,\).*\(3,\)"),
        (lambda: F.batch_matmul(nn.Variable((2, 3, 4)), nn.Variable((2, 3, 4))), r"BatchMatmul.*\(2, 3, 4\).*4 != 3"),
        (lambda: F.batch_matmul(nn.Variable((2, 3)), nn.Variable((3, 4))), r"BatchMatmul.*>= 3"),
        (lambda: F.batch_matmul(nn.Variable((2, 3, 4)), nn.Variable((3, 4, 2))), r"BatchMatmul.*batch axis 0"),
        (lambda: F.arange(0, 1, 0), r"Arange.*step"),
    ],
)
def test_build_errors(build, match):
    with pytest.raises(FunctionError, match=match):
        build()
