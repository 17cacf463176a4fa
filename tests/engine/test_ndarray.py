"""NdArray: the data container's rules (dtype, views, lazy fill, copies) and imperative arithmetic."""

import copy
import pickle

import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
import nnabla.solvers as S


def test_new_ndarray_is_float32_of_its_shape():
    a = nn.NdArray((2, 3))
    assert a.shape == (2, 3)
    assert a.dtype == np.float32
    assert a.data.dtype == np.float32
    assert a.size == 6 and a.ndim == 2


def test_int_shape_means_one_dimension():
    assert nn.NdArray(4).shape == (4,)


def test_from_numpy_array_copies_and_keeps_dtype():
    src = np.arange(6).reshape(2, 3)
    a = nn.NdArray.from_numpy_array(src)
    assert a.dtype == src.dtype
    src[0, 0] = 100
    assert a.data[0, 0] == 0


def test_data_is_a_view_that_writes_through():
    a = nn.NdArray((2, 2))
    a.data[0, 1] = 5.0
    view = a.data
    view[1, 0] = 7.0
    np.testing.assert_array_equal(a.data, [[0, 5], [7, 0]])


def test_assigning_data_adopts_the_assigned_dtype():
    a = nn.NdArray((3,))
    a.data = np.array([1.0, 2.0, 3.0], np.float64)
    assert a.dtype == np.float64
    a.data = np.array([1, 2, 3], np.int32)
    assert a.dtype == np.int32


def test_assigning_a_scalar_fills_every_element():
    a = nn.NdArray((2, 3))
    a.data = 2.5
    np.testing.assert_array_equal(a.data, np.full((2, 3), 2.5))


def test_assigning_data_of_a_wrong_shape_raises_with_both_shapes():
    a = nn.NdArray((2, 3))
    with pytest.raises(ValueError, match=r"\(4,\).*\(2, 3\)"):
        a.data = np.zeros(4)


def test_fill_and_zero_are_lazy_until_read():
    a = nn.NdArray((2, 2))
    a.fill(3.0)
    assert not a.zeroing
    np.testing.assert_array_equal(a.data, np.full((2, 2), 3.0))
    a.zero()
    assert a.zeroing
    np.testing.assert_array_equal(a.data, np.zeros((2, 2)))


def test_fill_keeps_existing_views_valid():
    a = nn.NdArray.from_numpy_array(np.ones((2, 2), np.float32))
    view = a.data
    a.fill(4.0)
    a.data  # noqa: B018 - reading carries out the fill
    np.testing.assert_array_equal(view, np.full((2, 2), 4.0))


def test_cast_converts_and_returns_numpy():
    a = nn.NdArray.from_numpy_array(np.array([1.5, 2.5], np.float32))
    out = a.cast(np.int32)
    assert a.dtype == np.int32
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, [1, 2])


def test_copy_from_copies_values_and_takes_the_source_dtype():
    a = nn.NdArray((2,))
    b = nn.NdArray.from_numpy_array(np.array([1, 2], np.int64))
    assert a.copy_from(b) is a
    assert a.dtype == np.dtype(np.int64)  # as NNabla 1.36
    np.testing.assert_array_equal(a.data, [1, 2])
    b.data[0] = 9
    assert a.data[0] == 1
    c = nn.NdArray.from_numpy_array(np.zeros(2, np.float32))
    c.copy_from(b, use_current_context=False)
    assert c.dtype == np.dtype(np.int64) and c.data[0] == 9


def test_copy_from_rejects_other_shapes():
    with pytest.raises(ValueError, match="shape"):
        nn.NdArray((2,)).copy_from(nn.NdArray((3,)))


def test_clear_releases_the_buffer():
    a = nn.NdArray.from_numpy_array(np.ones(3, np.float32))
    a.clear()
    assert not a._is_allocated()
    np.testing.assert_array_equal(a.data, np.zeros(3))


def test_arithmetic_runs_at_once_and_returns_ndarrays():
    a = nn.NdArray.from_numpy_array(np.array([1.0, 2.0], np.float32))
    b = nn.NdArray.from_numpy_array(np.array([3.0, 5.0], np.float32))
    results = {
        "a + b": (a + b, [4, 7]),
        "a - b": (a - b, [-2, -3]),
        "a * b": (a * b, [3, 10]),
        "b / a": (b / a, [3, 2.5]),
        "a ** 2": (a**2, [1, 4]),
        "1 - a": (1 - a, [0, -1]),
        "2 / a": (2 / a, [2, 1]),
        "-a": (-a, [-1, -2]),
    }
    for text, (got, expected) in results.items():
        assert isinstance(got, nn.NdArray), text
        np.testing.assert_allclose(got.data, expected, err_msg=text)


def test_in_place_operators_write_into_the_same_ndarray():
    a = nn.NdArray.from_numpy_array(np.arange(4, dtype=np.float32))
    original = a
    view = a.data
    a += 1
    a *= 2
    a -= 1
    a /= 2
    assert a is original
    np.testing.assert_allclose(view, (np.arange(4) + 1) * 2 / 2 - 0.5)


def test_tutorial_int_input_gives_float_output():
    # NNabla's Python API tutorial: xi = arange(4) as int, yi = F.relu(xi - 1)
    xi = nn.NdArray.from_numpy_array(np.arange(4).reshape(2, 2))
    yi = F.relu(xi - 1)
    assert isinstance(yi, nn.NdArray)
    assert yi.dtype == np.float32
    np.testing.assert_array_equal(yi.data, [[0, 0], [1, 2]])
    np.testing.assert_array_equal(xi.data, [[0, 1], [2, 3]])


def test_tutorial_copy_from_and_in_place_increment():
    xi = nn.NdArray.from_numpy_array(np.arange(4).reshape(2, 2))
    xi.copy_from(xi + 1)
    assert np.all(xi.data == np.arange(4).reshape(2, 2) + 1)
    xi += 1
    assert np.all(xi.data == np.arange(4).reshape(2, 2) + 2)


def test_zeroing_is_a_property_true_only_after_zero_as_in_nnabla():
    """NNabla 1.36: ``zeroing`` is true after ``zero()`` (or assigning a zero scalar), false after ``fill(0)``, an
    array assigned, or any read since."""
    a = nn.NdArray((2,))
    assert a.zeroing is False
    a.zero()
    assert a.zeroing is True
    a.data  # noqa: B018 (a read makes the zeros real)
    assert a.zeroing is False
    a.fill(0)
    assert a.zeroing is False
    for zero in (0, 0.0, np.float32(0)):
        a.fill(1)
        a.data = zero
        assert a.zeroing is True
        np.testing.assert_array_equal(a.data, [0, 0])
    a.data = np.zeros(2)
    assert a.zeroing is False
    a.data = 1.0
    assert a.zeroing is False
    assert copy.deepcopy(a).zeroing is False
    a.zero()
    assert copy.deepcopy(a).zeroing is True and pickle.loads(pickle.dumps(a)).zeroing is True
    a.clear()  # zero() then clear(): still zeroing, and cleared; a read gives the zeros
    assert (a.zeroing, a.clear_called) == (True, True)
    np.testing.assert_array_equal(a.data, [0, 0])
    assert (a.zeroing, a.clear_called) == (False, False)
    a.clear()
    a.zero()  # clear() then zero(): zeroing, no longer cleared
    assert (a.zeroing, a.clear_called) == (True, False)


@pytest.mark.parametrize(
    "touch, moves",
    [("nothing", False), ("grad.zero()", False), ("g = 0", False), ("grad.fill(0)", True), ("g = zeros", True)],
)
def test_a_solver_skips_a_parameter_whose_gradient_is_still_zeroing(touch, moves):
    """NNabla 1.36: after zero_grad, Momentum leaves a parameter alone unless its gradient was written, and a
    fill(0) or an array of zeros counts as written (its velocity moves it), zero() or ``g = 0`` does not."""
    nn.clear_parameters()
    p = nn.parameter.get_parameter_or_create("w", (2,), initializer=np.ones(2, np.float32))
    solver = S.Momentum(lr=0.1, momentum=0.9)
    solver.set_parameters({"w": p})
    solver.zero_grad()
    p.g = 1.0
    solver.update()
    solver.zero_grad()
    if touch == "grad.zero()":
        p.grad.zero()
    elif touch == "g = 0":
        p.g = 0
    elif touch == "grad.fill(0)":
        p.grad.fill(0)
    elif touch == "g = zeros":
        p.g = np.zeros(2, np.float32)
    before = p.d.copy()
    solver.update()
    assert (not np.array_equal(before, p.d)) == moves
    nn.clear_parameters()


def test_clear_called_says_the_buffer_was_released_and_not_touched_since_as_in_nnabla():
    a = nn.NdArray((2,))
    assert a.clear_called is False  # new: never cleared
    a.clear()
    assert a.clear_called is True
    a.data  # noqa: B018
    assert a.clear_called is False  # a read allocates
    for touch in (lambda: a.zero(), lambda: a.fill(1), lambda: setattr(a, "data", 3), lambda: a.cast(np.float16)):
        a.clear()
        touch()
        assert a.clear_called is False


def test_clear_called_after_a_forward_and_backward_that_clear_buffers():
    """NNabla 1.36: the intermediate's data and gradient are cleared; the root's and the leaf's are not."""
    x = nn.Variable.from_numpy_array(np.ones((2, 3), np.float32), need_grad=True)
    h = F.tanh(x)
    y = F.sum(h)
    y.forward(clear_no_need_grad=True)
    assert (h.data.clear_called, h.grad.clear_called) == (False, False)
    y.backward(clear_buffer=True)
    assert (h.data.clear_called, h.grad.clear_called) == (True, True)
    assert (y.data.clear_called, y.grad.clear_called, x.data.clear_called, x.grad.clear_called) == (False,) * 4
    z = F.sum(F.tanh(x))
    hidden = z.parent.inputs[0]
    z.forward(clear_buffer=True)
    assert hidden.data.clear_called is True and z.data.clear_called is False


def test_data_ptr_is_the_address_of_the_buffer_that_outside_code_writes_in_place():
    import ctypes

    from nnabla.ext_utils import get_extension_context

    a = nn.NdArray.from_numpy_array(np.arange(3, dtype=np.float64))
    ptr = a.data_ptr(np.float32, get_extension_context("cpu"))
    assert a.dtype == np.float32 and ptr == a.data.ctypes.data
    np.testing.assert_array_equal(a.data, [0, 1, 2])  # converted, not lost
    ctypes.memmove(ptr, np.array([7, 8, 9], np.float32).ctypes.data, 12)
    np.testing.assert_array_equal(a.data, [7, 8, 9])
    view = nn.NdArray.from_numpy_array(np.arange(6, dtype=np.float32).reshape(2, 3))
    view._set_array(view.data.T.copy().T)  # a Fortran-ordered buffer is made C-contiguous first
    ptr = view.data_ptr(np.float32)
    assert view.data.flags.c_contiguous and ptr == view.data.ctypes.data
    b = nn.NdArray((4,))
    b.clear()
    assert isinstance(b.data_ptr(np.float32, write_only=True), int) and not b.clear_called
