"""Reference and gradient checks for gather/scatter ops, Embed, and ``x[key]`` on Variables and NdArrays."""

import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
from nnabla.function import FunctionError
from opcheck import Case, check_forward, check_grad, randn


def gather_ref(x, idx, axis=0, batch_dims=0):
    if batch_dims == 0:
        return np.take(x, idx, axis=axis)
    return np.stack([gather_ref(xb, ib, axis - 1, batch_dims - 1) for xb, ib in zip(x, idx)])


def scatter_nd_ref(data, idx, shape, out=None, add=False):
    y = np.zeros(shape, data.dtype) if out is None else out.copy()
    cols = idx.reshape(idx.shape[0], -1).T
    rows = data.reshape((cols.shape[0],) + tuple(shape[idx.shape[0] :]))
    for col, row in zip(cols, rows):
        if add:
            y[tuple(col)] += row
        else:
            y[tuple(col)] = row
    return y


def scatter_add_ref(x0, idx, x1, axis):
    y = x0.copy()
    for pos in np.ndindex(*idx.shape):
        dst = list(pos)
        dst[axis] = idx[pos]
        y[tuple(dst)] += x1[pos]
    return y


def index(key):
    """An ``x[key]`` case function and its numpy reference."""
    return (lambda x: x[key]), (lambda x: x[key])


MASK = np.array([[True, False, True], [False, False, True]])
IDX_REPEATED = np.array([2, 0, 2, 2])

CASES = [
    Case("gather_axis0", lambda x, i: F.gather(x, i), gather_ref, [randn(4, 3), np.array([[3, 0], [3, 3]])]),
    Case(
        "gather_axis1",
        lambda x, i: F.gather(x, i, axis=1),
        lambda x, i: gather_ref(x, i, 1),
        [randn(2, 3, 2), np.array([2, 2, 0])],
    ),
    Case(
        "gather_batch_dims",
        lambda x, i: F.gather(x, i, axis=1, batch_dims=1),
        lambda x, i: gather_ref(x, i, 1, 1),
        [randn(2, 4, 3), np.array([[0, 3, 3], [1, 1, 2]])],
    ),
    Case(
        "gather_nd_slices",
        lambda x: F.gather_nd(x, [[1, 1, 0]]),
        lambda x: x[[1, 1, 0]],
        [randn(2, 3)],
    ),
    Case(
        "gather_nd_elements_negative",
        lambda x: F.gather_nd(x, [[1, -2, 1], [0, 2, 2]]),
        lambda x: x[[1, -2, 1], [0, 2, 2]],
        [randn(2, 3, 2)],
    ),
    Case(
        "gather_nd_variable_indices",
        F.gather_nd,
        lambda x, i: x[tuple(i)],
        [randn(3, 4), np.array([[[2, 0], [2, 1]], [[3, 3], [0, 3]]])],
    ),
    Case(
        "scatter_nd",
        lambda d, i: F.scatter_nd(d, i, shape=(5, 2)),
        lambda d, i: scatter_nd_ref(d, i, (5, 2)),
        [randn(3, 2), np.array([[4, 0, 2]])],
    ),
    Case(
        "scatter_nd_add_repeated",
        lambda d, i: F.scatter_nd(d, i, shape=(3, 4), add=True),
        lambda d, i: scatter_nd_ref(d, i, (3, 4), add=True),
        [randn(4), np.array([[2, 0, 2, 2], [1, 3, 1, -1]])],
    ),
    Case(
        "scatter_nd_out",
        lambda d, i, o: F.scatter_nd(d, i, out=o),
        lambda d, i, o: scatter_nd_ref(d, i, o.shape, out=o),
        [randn(2, 3), np.array([[1, 3]]), randn(4, 3, seed=2)],
    ),
    Case(
        "scatter_add_axis0",
        lambda a, i, b: F.scatter_add(a, i, b),
        lambda a, i, b: scatter_add_ref(a, i, b, 0),
        [randn(3, 3), np.array([[2, 0, 2], [2, 1, 0]]), randn(2, 4, seed=1)],
    ),
    Case(
        "scatter_add_axis1",
        lambda a, i, b: F.scatter_add(a, i, b, axis=1),
        lambda a, i, b: scatter_add_ref(a, i, b, 1),
        [randn(2, 3), np.array([[1, 1, 1, 0], [2, 0, 2, 2]]), randn(2, 4, seed=1)],
    ),
    Case(
        "bool_gather",
        lambda x, m: F.bool_gather(x, m),
        lambda x, m: x[m != 0],
        [randn(2, 3, 2), MASK.astype(np.float32)],
        grad_inputs=[0],
    ),
    Case(
        "bool_scatter",
        lambda s, m: F.bool_scatter(s, m),
        lambda s, m: scatter_nd_ref(s, np.vstack(np.nonzero(m)), m.shape + s.shape[1:]),
        [randn(3, 2), MASK.astype(np.float32)],
        grad_inputs=[0],
    ),
    Case(
        "bool_scatter_output",
        lambda s, m, o: F.bool_scatter(s, m, o),
        lambda s, m, o: scatter_nd_ref(s, np.vstack(np.nonzero(m)), o.shape, out=o),
        [randn(3), MASK.astype(np.float32), randn(2, 3, seed=2)],
        grad_inputs=[0, 2],
    ),
    Case("embed", F.embed, lambda i, w: w[i], [np.array([[1, 3], [3, 3]]), randn(4, 2)]),
    Case("embed_3d_weight", F.embed, lambda i, w: w[i], [np.array([0, 2, 0]), randn(3, 2, 2)]),
    Case("getitem_int", *index(1), [randn(3, 4)]),
    Case("getitem_negative_int", *index((-1, 2)), [randn(3, 4)]),
    Case("getitem_step_slices", *index((slice(None, None, 2), slice(1, None))), [randn(5, 4)]),
    Case("getitem_reversed", *index((slice(None, None, -1), slice(3, 0, -2))), [randn(3, 5)]),
    Case("getitem_newaxis_ellipsis", *index((None, Ellipsis, 1, None)), [randn(2, 3, 4)]),
    Case("getitem_ellipsis_middle", *index((0, Ellipsis, slice(1, 3))), [randn(2, 3, 4)]),
    Case("getitem_list_repeated", *index([2, 0, 2]), [randn(3, 2)]),
    Case("getitem_two_lists", *index(([0, 1, 1], [2, 0, 2])), [randn(2, 3, 2)]),
    Case("getitem_int_and_list", *index((1, [2, 2, 0])), [randn(2, 3)]),
    Case("getitem_2d_index_array", *index(np.array([[0, 2], [2, 2]])), [randn(3, 2)]),
    Case("getitem_numpy_repeated", *index(IDX_REPEATED), [randn(3)]),
    Case("getitem_bool_mask", *index(MASK), [randn(2, 3)]),
    Case("getitem_bool_mask_leading", *index(np.array([True, False, True])), [randn(3, 2)]),
    Case("getitem_newaxis_list", *index((None, [1, 0])), [randn(2, 3)]),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_forward(case):
    check_forward(case)


@pytest.mark.parametrize("case", [c for c in CASES if c.grad], ids=str)
def test_grad(case):
    check_grad(case)


def test_repeated_indices_accumulate_gradient():
    x = nn.Variable.from_numpy_array(np.arange(4, dtype=np.float32), need_grad=True)
    y = x[[1, 1, 3, 1]]
    y.forward()
    np.testing.assert_array_equal(y.d, [1, 1, 3, 1])
    y.backward()
    np.testing.assert_array_equal(x.g, [0, 3, 0, 1])


def _repeated_reads(rng, shape):
    """An upstream gradient of ``shape`` spanning eight decades (so that the order of a sum shows in its bits)."""
    return (rng.randn(*shape) * 10.0 ** rng.randint(-4, 5, size=shape)).astype(np.float32)


@pytest.mark.parametrize("function", ["embed", "gather", "gather_nd"])
def test_gathers_add_repeated_reads_back_as_nnabla_in_float32_in_order(function):
    """Where a gather reads an element many times, its gradient is the float32 sum of those reads' gradients,
    added one after another in the outputs' order: NNabla 1.36's bits (checked on the reference for all three;
    a float64 sum rounded once differs); an element never read, or whose only gradient is -0.0, is +0.0."""
    rng = np.random.RandomState(3)
    x = nn.Variable.from_numpy_array(rng.randn(20, 3).astype(np.float32), need_grad=True)
    rows = rng.randint(0, 19, size=(300, 5))  # (row 19 is never read)
    rows[0, 0], rows[rows == 18] = 18, 17  # row 18 is read once: its gradient will be -0.0
    index = nn.Variable.from_numpy_array(rows)
    if function == "embed":
        y = F.embed(index, x)
    elif function == "gather":
        y = F.gather(x, index, axis=0)
    else:
        y = F.gather_nd(x, nn.Variable.from_numpy_array(rows.reshape(1, -1)))
    gy = _repeated_reads(rng, y.shape)
    gy.reshape(-1, 3)[0] = -0.0
    y.forward()
    x.g = 0
    y.backward(gy)
    want = np.zeros((20, 3), np.float32)
    for i, row in zip(rows.reshape(-1), gy.reshape(-1, 3)):
        want[i] += row
    assert x.g.tobytes() == want.tobytes()
    assert not np.signbit(x.g[18:]).any()


def test_embed_of_an_empty_weight_or_empty_rows():
    """As in NNabla 1.36: no ids into a w without rows, and ids into rows without elements, give empty outputs."""
    for w_shape, ids, want in [((0, 3), np.zeros((0,), np.int64), (0, 3)), ((4, 0), np.array([1, 2]), (2, 0))]:
        y = F.embed(nn.Variable.from_numpy_array(ids), nn.Variable.from_numpy_array(np.zeros(w_shape, np.float32)))
        y.forward()
        assert y.d.shape == want


def test_basic_indexing_builds_slice_and_reshape():
    x = nn.Variable((3, 4))
    y = x[1, 1:3]
    assert y.shape == (2,)
    assert y.parent.info.type_name == "Reshape"
    assert y.parent.inputs[0].parent.info.type_name == "Slice"
    assert x[0:2].parent.info.type_name == "Slice"


def test_advanced_indexing_builds_gather_nd():
    x = nn.Variable((3, 4))
    assert x[[0, 2]].parent.info.type_name == "GatherNd"


def test_getitem_with_variable_index():
    x = nn.Variable.from_numpy_array(randn(4, 2), need_grad=True)
    i = nn.Variable.from_numpy_array(np.array([3, 0, 3]))
    y = x[i]
    y.forward()
    np.testing.assert_array_equal(y.d, x.d[[3, 0, 3]])
    y.backward()
    np.testing.assert_array_equal(x.g[:, 0], [1, 0, 0, 2])
    i.d = np.array([1, 1, 1])  # new index values are read on the next forward
    y.forward()
    np.testing.assert_array_equal(y.d, x.d[[1, 1, 1]])


def test_getitem_with_boolean_variable_mask():
    x = nn.Variable.from_numpy_array(randn(2, 3))
    m = nn.Variable.from_numpy_array(MASK)
    y = x[m]
    y.forward()
    np.testing.assert_array_equal(y.d, x.d[MASK])


def test_ndarray_getitem_is_imperative():
    a = nn.NdArray.from_numpy_array(randn(3, 4))
    for key in [(1, slice(None, None, 2)), [2, 0], (None, Ellipsis, -1), np.arange(12).reshape(3, 4) % 3 == 0]:
        got = a[key]
        assert isinstance(got, nn.NdArray)
        np.testing.assert_array_equal(got.data, a.data[key])
    i = nn.Variable.from_numpy_array(np.array([2, 2]))
    np.testing.assert_array_equal(a[i].data, a.data[[2, 2]])


def test_scatter_nd_writes_into_ndarray_out():
    out = nn.NdArray.from_numpy_array(np.zeros(4, np.float32))
    data = nn.NdArray.from_numpy_array(np.array([5.0, 6.0], np.float32))
    result = F.scatter_nd(data, [[3, 1]], out=out)
    assert result is out
    np.testing.assert_array_equal(out.data, [0, 6, 0, 5])


def test_scatter_nd_needs_exactly_one_of_shape_and_out():
    d = nn.Variable((2,))
    with pytest.raises(TypeError, match="shape"):
        F.scatter_nd(d, [[0, 1]])
    with pytest.raises(TypeError, match="Only one"):
        F.scatter_nd(d, [[0, 1]], shape=(3,), out=nn.Variable((3,)))


@pytest.mark.parametrize(
    "key, error, match",
    [
        ((0, 0, 0), IndexError, "too many indices"),
        ((Ellipsis, Ellipsis), IndexError, "single ellipsis"),
        (5, IndexError, "index 5 is out of bounds for axis 0 with size 3"),
        ((slice(None), [0, 1]), NotImplementedError, "mixed advanced indexing"),
        ("a", TypeError, "invalid index"),
    ],
)
def test_getitem_errors(key, error, match):
    with pytest.raises(error, match=match):
        nn.Variable((3, 4))[key]


def test_out_of_range_indices_raise_on_forward():
    x = nn.Variable.from_numpy_array(randn(3, 2))
    for y in [
        x[[0, 3]],
        F.gather(x, nn.Variable.from_numpy_array(np.array([4]))),
        F.embed(nn.Variable.from_numpy_array(np.array([3])), x),
    ]:
        with pytest.raises(IndexError, match="out"):
            y.forward()


def test_bool_gather_mask_change_is_reported():
    x = nn.Variable.from_numpy_array(randn(2, 3))
    m = nn.Variable.from_numpy_array(MASK.astype(np.float32))
    y = F.bool_gather(x, m)
    assert y.shape == (3,)
    m.d = np.ones((2, 3))
    with pytest.raises(FunctionError, match="BoolGather.*6.*3"):
        y.forward()


@pytest.mark.parametrize(
    "build, match",
    [
        (
            lambda: F.gather(nn.Variable((2, 3)), nn.Variable((3,)), axis=1, batch_dims=1),
            r"Gather.*batch_dims=1.*\(2, 3\).*\(3,\)",
        ),
        (lambda: F.gather(nn.Variable((2, 3)), nn.Variable((3,)), axis=2), r"Gather.*axis=2"),
        (lambda: F.gather_nd(nn.Variable((2, 3)), nn.Variable((3,))), r"GatherNd.*indices of shape \(3,\)"),
        (lambda: F.gather_nd(nn.Variable((2, 3)), nn.Variable((3, 1))), r"GatherNd.*\(3, 1\).*\(2, 3\)"),
        (lambda: F.scatter_nd(nn.Variable((3,)), nn.Variable((1, 2)), shape=(4,)), r"ScatterNd.*data of shape \(3,\)"),
        (lambda: F.scatter_add(nn.Variable((2, 3)), nn.Variable((2,)), nn.Variable((2, 3))), r"ScatterAdd.*same ndim"),
        (lambda: F.scatter_add(nn.Variable((2, 3)), nn.Variable((2, 4)), nn.Variable((2, 3))), r"ScatterAdd.*axis 1"),
        (lambda: F.bool_gather(nn.Variable((2, 3)), nn.Variable((3,))), r"BoolGather.*mask of shape \(3,\)"),
        (
            lambda: F.bool_scatter(nn.Variable((2,)), nn.Variable((3,)), nn.Variable((4,))),
            r"BoolScatter.*output of shape \(4,\)",
        ),
        (lambda: F.embed(nn.Variable((2,)), nn.Variable(())), r"Embed.*w"),
    ],
)
def test_build_errors(build, match):
    with pytest.raises(FunctionError, match=match):
        build()
