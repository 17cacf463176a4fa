"""Reference and gradient checks for reductions, scans, sorting and top-k selection."""

import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
from nnabla.function import FunctionError
from opcheck import Case, check_forward, check_grad, randn, uniform


def lanes(x, axes):
    """x with ``axes`` moved last and merged (how NNabla numbers an index over several axes)."""
    kept = [i for i in range(x.ndim) if i not in axes]
    return x.transpose(kept + list(axes)).reshape([x.shape[i] for i in kept] + [-1])


def max_ref(x, axes, keepdims=False):
    index = lanes(x, axes).argmax(-1)
    value = x.max(axis=tuple(axes), keepdims=keepdims)
    return value, index.reshape(value.shape)


def scan_ref(x, axis, op, exclusive=False, reverse=False):
    if reverse:
        x = np.flip(x, axis)
    if exclusive:
        identity = np.zeros_like if op is np.cumsum else np.ones_like
        x = np.concatenate([identity(x.take([0], axis)), x.take(range(x.shape[axis] - 1), axis)], axis)
    y = op(x, axis=axis)
    return np.flip(y, axis) if reverse else y


def top_k_ref(x, k, base_axis=1, largest=True, use_abs=False):
    rows = x.reshape(x.shape[:base_axis] + (-1,))
    key = np.abs(rows) if use_abs else rows
    index = np.argsort(-key if largest else key, axis=-1, kind="stable")[..., :k]
    return np.take_along_axis(rows, index, -1), index


WITH_ZEROS = np.array([[1.5, 0.0, 2.0, 0.0], [0.5, -1.2, 0.0, 3.0], [0.7, 1.1, -0.9, 1.3]], np.float32)

CASES = [
    Case("max_all", F.max, np.max, [randn(2, 3, 4)]),
    Case(
        "max_axis_keepdims",
        lambda x: F.max(x, axis=1, keepdims=True),
        lambda x: x.max(1, keepdims=True),
        [randn(2, 3, 4)],
    ),
    Case(
        "max_with_index",
        lambda x: F.max(x, axis=(0, 2), with_index=True),
        lambda x: max_ref(x, (0, 2)),
        [randn(2, 3, 4)],
    ),
    Case(
        "max_only_index", lambda x: F.max(x, axis=1, only_index=True), lambda x: x.argmax(1), [randn(3, 5)], grad=False
    ),
    Case("min_axis", lambda x: F.min(x, axis=-1), lambda x: x.min(-1), [randn(3, 4)]),
    Case(
        "min_with_index_keepdims",
        lambda x: F.min(x, axis=(1, 2), keepdims=True, with_index=True),
        lambda x: (x.min((1, 2), keepdims=True), lanes(x, (1, 2)).argmin(-1).reshape(2, 1, 1)),
        [randn(2, 3, 4)],
    ),
    Case("prod_all", F.prod, np.prod, [uniform(0.5, 1.5, 2, 3)]),
    Case("prod_axis", lambda x: F.prod(x, axis=0, keepdims=True), lambda x: x.prod(0, keepdims=True), [randn(3, 4)]),
    Case("prod_axes", lambda x: F.prod(x, axis=(0, 2)), lambda x: x.prod((0, 2)), [uniform(-2, 2, 2, 3, 2)]),
    Case("cumsum", lambda x: F.cumsum(x, axis=1), lambda x: scan_ref(x, 1, np.cumsum), [randn(2, 4, 3)]),
    Case(
        "cumsum_exclusive_reverse",
        lambda x: F.cumsum(x, axis=-1, exclusive=True, reverse=True),
        lambda x: scan_ref(x, -1, np.cumsum, True, True),
        [randn(2, 5)],
    ),
    Case("cumprod", lambda x: F.cumprod(x, axis=0), lambda x: scan_ref(x, 0, np.cumprod), [randn(4, 3)]),
    Case(
        "cumprod_exclusive",
        lambda x: F.cumprod(x, axis=1, exclusive=True),
        lambda x: scan_ref(x, 1, np.cumprod, exclusive=True),
        [randn(2, 4)],
    ),
    Case(
        "cumprod_reverse",
        lambda x: F.cumprod(x, axis=1, reverse=True),
        lambda x: scan_ref(x, 1, np.cumprod, reverse=True),
        [randn(3, 4, seed=3)],
    ),
    Case("cumprod_zeros", lambda x: F.cumprod(x, axis=1), lambda x: scan_ref(x, 1, np.cumprod), [WITH_ZEROS]),
    Case(
        "cumprod_zeros_reverse",
        lambda x: F.cumprod(x, axis=1, reverse=True),
        lambda x: scan_ref(x, 1, np.cumprod, reverse=True),
        [WITH_ZEROS],
    ),
    Case(
        "cumprod_zeros_exclusive",
        lambda x: F.cumprod(x, axis=1, exclusive=True),
        lambda x: scan_ref(x, 1, np.cumprod, exclusive=True),
        [WITH_ZEROS],
    ),
    Case(
        "cumprod_zeros_axis0",
        lambda x: F.cumprod(x, axis=0),
        lambda x: scan_ref(x, 0, np.cumprod),
        [np.ascontiguousarray(WITH_ZEROS.T)],
    ),
    # NNabla's Prod gradient is dy * y / x, taken as 0 at a zero x, also where it is the only zero (where the true
    # gradient is the product of the others): no numerical check here; test_vs_nnabla compares it with NNabla's
    Case("prod_zeros", lambda x: F.prod(x, axis=1), lambda x: x.prod(1), [WITH_ZEROS], grad=False),  # 2, 1, 0 zeros
    Case(
        "prod_zeros_all",
        lambda x: F.prod(x, keepdims=True),
        lambda x: x.prod(keepdims=True),
        [WITH_ZEROS[1:]],
        grad=False,
    ),
    Case("prod_zeros_axis0", lambda x: F.prod(x, axis=0), lambda x: x.prod(0), [WITH_ZEROS], grad=False),
    Case(
        "cumprod_zeros_exclusive_reverse",
        lambda x: F.cumprod(x, axis=1, exclusive=True, reverse=True),
        lambda x: scan_ref(x, 1, np.cumprod, True, True),
        [WITH_ZEROS],
    ),
    Case("sort", F.sort, np.sort, [randn(3, 5)]),
    Case("sort_axis0_reverse", lambda x: F.sort(x, axis=0, reverse=True), lambda x: -np.sort(-x, 0), [randn(4, 3)]),
    Case(
        "sort_with_index",
        lambda x: F.sort(x, axis=1, with_index=True),
        lambda x: (np.sort(x, 1), np.argsort(x, 1)),
        [randn(2, 4, 3)],
    ),
    Case(
        "sort_only_index", lambda x: F.sort(x, only_index=True), lambda x: np.argsort(x, -1), [randn(3, 4)], grad=False
    ),
    Case("top_k_data", lambda x: F.top_k_data(x, 3), lambda x: top_k_ref(x, 3)[0], [randn(2, 3, 2)]),
    Case(
        "top_k_data_smallest_abs_base2",
        lambda x: F.top_k_data(x, 2, abs=True, base_axis=2, largest=False),
        lambda x: top_k_ref(x, 2, 2, largest=False, use_abs=True)[0],
        [randn(2, 3, 4)],
    ),
    Case(
        "top_k_data_with_index", lambda x: F.top_k_data(x, 2, with_index=True), lambda x: top_k_ref(x, 2), [randn(3, 5)]
    ),
    Case(
        "top_k_data_no_reduce",
        lambda x: F.top_k_data(x, 2, reduce=False),
        lambda x: np.where(x >= np.sort(x, 1)[:, -2:-1], x, 0),
        [randn(3, 4)],
        grad=False,  # NNabla passes the whole gradient through here (see test_top_k_data_no_reduce_passes_gradient)
    ),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_forward(case):
    check_forward(case)


@pytest.mark.parametrize("case", [c for c in CASES if c.grad], ids=str)
def test_grad(case):
    check_grad(case)


def test_index_outputs_are_integers_without_gradient():
    x = nn.Variable.from_numpy_array(randn(2, 3), need_grad=True)
    for y, index in [F.max(x, axis=1, with_index=True), F.min(x, axis=1, with_index=True), F.sort(x, with_index=True)]:
        assert y.need_grad and not index.need_grad
        index.forward()
        assert np.issubdtype(index.d.dtype, np.integer)
    assert not F.max(x, only_index=True).need_grad
    assert not F.sort(x, only_index=True).need_grad


def test_max_gradient_goes_to_the_first_of_ties():
    x = nn.Variable.from_numpy_array(np.array([[1.0, 3.0, 3.0]], np.float32), need_grad=True)
    y = F.max(x, axis=1)
    y.forward()
    x.grad.zero()
    y.backward()
    np.testing.assert_array_equal(x.g, [[0, 1, 0]])


def test_prod_gradient_is_zero_at_zero_inputs():
    x = nn.Variable.from_numpy_array(np.array([2.0, 0.0, 3.0], np.float32), need_grad=True)
    y = F.prod(x)
    y.forward()
    x.grad.zero()
    y.backward()
    np.testing.assert_array_equal(x.g, [0, 0, 0])


def test_top_k_data_no_reduce_passes_gradient():
    x = nn.Variable.from_numpy_array(randn(2, 4), need_grad=True)
    y = F.top_k_data(x, 1, reduce=False)
    y.forward()
    x.grad.zero()
    y.backward()
    np.testing.assert_array_equal(x.g, np.ones((2, 4)))


@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("absolute", [False, True])
def test_top_k_data_picks_a_stable_sorts_first_k(largest, absolute):
    """top_k_data's indices are those of a stable sort's first k (equal values in column order, -0.0 equal to
    0.0, NaN last), and its gradient goes to exactly those columns."""
    rng = np.random.RandomState(5)
    for trial in range(60):
        shape = (rng.randint(1, 4), 2, rng.randint(2, 12))
        if trial % 3:  # many ties, signed zeros among them
            a = rng.randint(-3, 4, size=shape).astype(np.float32)
            a[a == 0] = -0.0 if trial % 2 else 0.0
        else:  # distinct values, found by a partition
            a = rng.randn(*shape).astype(np.float32)
        if trial % 7 == 0:
            a.flat[rng.randint(a.size)] = np.nan
        k = rng.randint(1, a[0].size + 1)
        x = nn.Variable.from_numpy_array(a, need_grad=True)
        y, index = F.top_k_data(x, k, abs=absolute, largest=largest, with_index=True)
        F.sink(y, index).forward()
        rows = a.reshape(a.shape[0], -1)
        key = np.abs(rows) if absolute else rows
        want = np.argsort(-key if largest else key, axis=-1, kind="stable")[:, :k]
        np.testing.assert_array_equal(index.d.astype(np.int64), want)
        np.testing.assert_array_equal(y.d, np.take_along_axis(rows, want, -1))
        gy = rng.randn(*y.shape).astype(np.float32)
        x.g = 0
        y.backward(gy)
        gx = np.zeros_like(rows)
        np.put_along_axis(gx, want, gy, -1)
        np.testing.assert_array_equal(x.g, gx.reshape(a.shape))


@pytest.mark.parametrize("fn, arg", [(F.max, np.argmax), (F.min, np.argmin)], ids=["max", "min"])
def test_max_and_min_index_is_numpys_first_extreme(fn, arg):
    """The index F.max / F.min give (and so where the gradient goes) is numpy's argmax / argmin: the first of tied
    extremes, -0.0 tied with +0.0, a lane's first NaN; over one axis or several, short lanes and long ones."""
    rng = np.random.RandomState(2)
    a = rng.randint(-2, 3, size=(3, 5, 4, 7)).astype(np.float32)
    a[a == 0] = -0.0
    a[0, :, 0, 0] = 0.0
    a[1, 2, 3, 4] = np.nan
    a[2, 1, 1, 1] = np.inf
    for axes in [1, 3, (1, 2), (0, 1, 2, 3), (2, 3)]:
        x = nn.Variable.from_numpy_array(a, need_grad=True)
        y, index = fn(x, axis=axes, with_index=True)
        F.sink(y, index).forward()
        moved = np.moveaxis(a, np.atleast_1d(axes), range(-np.size(axes), 0))
        lanes = moved.reshape(moved.shape[: a.ndim - np.size(axes)] + (-1,))
        want = arg(lanes, axis=-1)
        np.testing.assert_array_equal(index.d.astype(np.int64), want)
        np.testing.assert_array_equal(y.d, np.take_along_axis(lanes, want[..., None], -1)[..., 0])


def test_reduce_is_deprecated_sum_or_mean():
    x = nn.Variable.from_numpy_array(randn(2, 3))
    with pytest.warns(DeprecationWarning):
        y = F.reduce(x, op="mean")
    y.forward()
    assert y.parent.info.type_name == "ReduceMean"
    np.testing.assert_allclose(y.d, x.d.mean(), rtol=1e-6)
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match="sum.*mean"):
        F.reduce(x, op="max")


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda x: F.max(x, axis=2), "Max.*axes=2.*2 dimension"),
        (lambda x: F.cumsum(x, axis=-3), "CumSum.*axis=-3"),
        (lambda x: F.sort(x, axis=5), "Sort.*axis=5"),
        (lambda x: F.top_k_data(x, 4), r"TopKData.*k=4.*\(2, 3\)"),
        (lambda x: F.top_k_data(x, 1, reduce=False, with_index=True), "TopKData.*with_index.*reduce"),
    ],
)
def test_errors_at_graph_build(build, match):
    with pytest.raises(FunctionError, match=match):
        build(nn.Variable((2, 3)))
