"""bool_fill, nonzero, searchsorted, shift, bc_add2 and clip_by_norm against numpy references; gradients in
float64; the argument defaults NNabla's wrappers fill in; bad input."""

import numpy as np
import pytest
from rerun_checks import check_cleared_buffers_and_accumulation

import nnabla as nn
import nnabla.functions as F
from nnabla.function import FunctionError
from opcheck import Case, check_forward, check_grad, randn

X = randn(2, 3, 4)
MASK = np.array([[1], [0], [1]], np.float32)
SORTED = np.sort(np.random.RandomState(0).randint(0, 5, (2, 3, 6)).astype(np.float32), axis=-1)
VALUES = np.random.RandomState(1).randint(-1, 6, (2, 3, 4)).astype(np.float32)


def searchsorted_ref(seq, values, side="left"):
    out = np.empty(values.shape, np.float32)
    for idx in np.ndindex(*seq.shape[:-1]):
        out[idx] = np.searchsorted(seq[idx], values[idx], side=side)
    return out


def shift_ref(x, shifts, mode="nearest"):
    y = x
    for k, s in enumerate(shifts):
        axis = x.ndim - len(shifts) + k
        n = x.shape[axis]
        src = np.arange(n) - s
        if mode == "reflect":
            period = np.abs(src + 2 * n) % (2 * n)
            src = np.where(period >= n, 2 * n - 1 - period, period)
        else:
            src = np.clip(src, 0, n - 1)
        y = np.take(y, src, axis=axis)
    return y


def clip_by_norm_ref(x, clip, axis=None):
    norm = np.sqrt((x**2).sum(axis=axis, keepdims=True))
    return x * clip / np.maximum(norm, clip)


CASES = [
    Case("bool_fill", lambda x, m: F.bool_fill(x, m, 2.5), lambda x, m: np.where(m != 0, 2.5, x), [X, MASK]),
    Case("bool_fill_same_shape", F.bool_fill, lambda x, m: np.where(m != 0, 0, x), [X, (X > 0).astype(np.float32)]),
    Case("nonzero", F.nonzero, lambda x: np.stack(np.nonzero(x)), [np.where(X > 0.3, X, 0)], grad=False),
    Case("searchsorted", F.searchsorted, searchsorted_ref, [SORTED, VALUES], grad=False),
    Case(
        "searchsorted_right",
        lambda s, v: F.searchsorted(s, v, right=True),
        lambda s, v: searchsorted_ref(s, v, "right"),
        [SORTED, VALUES],
        grad=False,
    ),
    Case("shift", lambda x: F.shift(x, (1, -2)), lambda x: shift_ref(x, (1, -2)), [X]),
    Case("shift_far", lambda x: F.shift(x, (-5, 1, 7)), lambda x: shift_ref(x, (-5, 1, 7)), [X]),
    Case(
        "shift_reflect",
        lambda x: F.shift(x, (2, -3), "reflect"),
        lambda x: shift_ref(x, (2, -3), "reflect"),
        [X],
    ),
    Case(
        "shift_reflect_far",
        lambda x: F.shift(x, (-4, 9), border_mode="reflect"),
        lambda x: shift_ref(x, (-4, 9), "reflect"),
        [X],
    ),
    Case("bc_add2", F.bc_add2, np.add, [X, randn(1, 3, 1, seed=2)]),
    Case("clip_by_norm", lambda x: F.clip_by_norm(x, 1.5), lambda x: clip_by_norm_ref(x, 1.5), [X]),
    Case(
        "clip_by_norm_axes",
        lambda x: F.clip_by_norm(x, 1.5, axis=(1, 2)),
        lambda x: clip_by_norm_ref(x, 1.5, (1, 2)),
        [X],
    ),
    Case(
        "clip_by_norm_variable",
        lambda x, c: F.clip_by_norm(x, c, axis=2),
        lambda x, c: clip_by_norm_ref(x, c, 2),
        [X, np.full((1, 1, 1), 0.8, np.float32)],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_forward(case):
    check_forward(case)


@pytest.mark.parametrize("case", [c for c in CASES if c.grad], ids=str)
def test_grad(case):
    check_grad(case)


@pytest.mark.parametrize("case", [c for c in CASES if c.grad], ids=str)
def test_grad_with_cleared_buffers_and_accumulation(case):
    check_cleared_buffers_and_accumulation(case)


def test_defaults_filled_in_as_nnabla_does():
    x = nn.Variable((2, 3))
    assert F.shift(x).parent.info.args == {"shifts": (0, 0), "border_mode": "nearest"}
    assert F.searchsorted(x, x).parent.info.args == {"right": False}
    assert F.nonzero(x).shape == (2, 0)


def test_nonzero_indices_are_integers_without_gradient():
    x = nn.Variable.from_numpy_array(np.array([[1.0, 0, 3], [0, 5, 0]], np.float32), need_grad=True)
    y = F.nonzero(x)
    y.forward()
    assert y.d.dtype.kind in "iu" and not y.need_grad
    np.testing.assert_array_equal(y.d, [[0, 0, 1], [0, 2, 1]])


def test_nonzero_refuses_a_changed_count():
    x = nn.Variable.from_numpy_array(np.array([1.0, 0.0], np.float32))
    y = F.nonzero(x)
    x.d = 1.0
    with pytest.raises(FunctionError, match="nonzero"):
        y.forward()


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda x: F.bool_fill(x, nn.Variable((2, 4))), "broadcast"),
        (lambda x: F.searchsorted(x, nn.Variable((3, 2))), "same shape"),
        (lambda x: F.shift(x, (1, 2, 3)), "shifts"),
        (lambda x: F.shift(x, border_mode="wrap"), "border_mode"),
        (lambda x: F.bc_add2(x, nn.Variable((3,))), "dimensions"),
    ],
)
def test_bad_arguments_raise(build, message):
    with pytest.raises(FunctionError, match=message):
        build(nn.Variable((2, 3)))


def test_clip_by_norm_needs_a_positive_norm():
    with pytest.raises(ValueError, match="clip_norm"):
        F.clip_by_norm(nn.Variable((2, 3)), 0.0)


def test_ndarray_bool_fill_writes_in_place():
    a = nn.NdArray.from_numpy_array(X.copy())
    assert a.bool_fill(nn.NdArray.from_numpy_array(MASK), 2.5) is a
    np.testing.assert_array_equal(a.data, np.where(MASK != 0, 2.5, X))
    a.masked_fill(np.ones((4,), np.float32), -1.0)
    assert (a.data == -1).all()


def test_variable_bool_fill_is_a_node_writing_into_the_variable_on_forward():
    v = nn.Variable.from_numpy_array(X.copy())
    y = v.bool_fill_(nn.NdArray.from_numpy_array(MASK), 7.0)
    assert y.parent.info.type_name == "BoolFill" and y.parent.info.args == {"value": 7.0}
    np.testing.assert_array_equal(v.d, X)  # nothing happens before forward, as in NNabla
    y.forward()
    np.testing.assert_array_equal(v.d, np.where(MASK != 0, 7.0, X))
    np.testing.assert_array_equal(y.d, v.d)
