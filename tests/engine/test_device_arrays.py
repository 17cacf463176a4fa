"""NdArrays under a 'cudnn' context (on the device double): data lives where it was last used, as NNabla's synced
arrays; ``.d`` is numpy whose writes reach the device; fill, zero and cast act where the data is."""

import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
from nnabla.ext_utils import get_extension_context


@pytest.fixture
def cudnn(device):
    return get_extension_context("cudnn")


def on_device(device, nd) -> bool:
    return isinstance(nd._array, device.ndarray)


def test_a_device_function_moves_its_input_once_and_keeps_it_there(device, cudnn):
    x = nn.Variable.from_numpy_array(np.arange(6, dtype=np.float32).reshape(2, 3))
    with nn.context_scope(cudnn):
        y = F.relu(x)
    y.forward()
    assert on_device(device, x.data) and on_device(device, y.data)
    assert (device.transfers.to_device, device.transfers.to_host) == (1, 0)
    with device.transfers.none_allowed("a second forward"):
        y.forward()


def test_reading_d_copies_to_the_host_once_and_writes_reach_the_device(device, cudnn):
    x = nn.Variable.from_numpy_array(np.ones((2, 3), np.float32))
    with nn.context_scope(cudnn):
        y = F.mul_scalar(x, 2.0)
    y.forward()
    device.transfers.reset()
    host = x.d  # the host copy becomes the head
    assert type(host) is np.ndarray and device.transfers.to_host == 1
    assert x.d is host and device.transfers.to_host == 1  # already on the host: no second copy
    host[0, 0] = 5.0  # written through the numpy array
    y.forward()  # the next device use syncs it
    assert device.transfers.to_device == 1
    np.testing.assert_array_equal(y.d, [[10, 2, 2], [2, 2, 2]])


def test_assigning_d_each_iteration_is_one_copy_to_the_device(device, cudnn):
    x = nn.Variable((4, 3))
    with nn.context_scope(cudnn):
        y = F.sum(F.tanh(x))
    for i in range(3):
        x.d = np.full((4, 3), i, np.float32)
        y.forward()
    device.transfers.reset()
    x.d = np.full((4, 3), 0.5, np.float32)
    y.forward()
    assert (device.transfers.to_device, device.transfers.to_host) == (1, 0)
    assert float(y.d) == pytest.approx(12 * np.tanh(0.5))


def test_fill_and_zero_act_where_the_data_lives(device, cudnn):
    x = nn.Variable.from_numpy_array(np.ones((2, 2), np.float32))
    with nn.context_scope(cudnn):
        y = F.identity(x)
    y.forward()
    device.transfers.reset()
    x.data.fill(3.0)
    y.forward()
    x.data.zero()
    y.forward()
    assert device.transfers.total == 0 and on_device(device, x.data)
    np.testing.assert_array_equal(y.d, np.zeros((2, 2)))


def test_cast_with_a_context_converts_on_its_device(device, cudnn):
    a = nn.NdArray.from_numpy_array(np.arange(4, dtype=np.float32))
    assert a.cast(np.float16, cudnn) is None  # NNabla's: nothing returned when ctx is given
    assert on_device(device, a) and a.dtype == np.float16
    host = a.cast(np.float32)  # without ctx: the numpy array, on the host
    assert type(host) is np.ndarray and host.dtype == np.float32
    np.testing.assert_array_equal(host, [0, 1, 2, 3])
    a.cast(np.float32, nn.Context())
    assert type(a._array) is np.ndarray


def test_a_cpu_function_brings_device_data_back_to_the_host(device, cudnn):
    x = nn.Variable.from_numpy_array(np.array([-1.0, 2.0], np.float32))
    with nn.context_scope(cudnn):
        y = F.relu(x)
    z = F.mul_scalar(y, 3.0)  # the default 'cpu' context
    z.forward()
    assert type(z.data._array) is np.ndarray and type(y.data._array) is np.ndarray
    np.testing.assert_array_equal(z.d, [0, 6])


def test_copy_from_and_item_assignment_on_the_device(device, cudnn):
    a = nn.NdArray.from_numpy_array(np.zeros(3, np.float32))
    with nn.context_scope(cudnn):
        a.copy_from(nn.NdArray.from_numpy_array(np.arange(3, dtype=np.float32)))
    assert on_device(device, a)
    a[1] = np.float32(7)
    a[np.array([0])] = np.array([5], np.float32)
    assert on_device(device, a)
    np.testing.assert_array_equal(a.data, [5, 7, 2])


def test_a_device_array_never_reaches_numpy_implicitly(device, cudnn):
    x = nn.Variable.from_numpy_array(np.ones(2, np.float32))
    with nn.context_scope(cudnn):
        y = F.add_scalar(x, 1.0)
    y.forward()
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.asarray(y.data._array)
    assert np.asarray(y.data).tolist() == [2.0, 2.0]  # the NdArray itself hands numpy a host copy


def test_get_data_modes_read_without_moving_and_write_without_copying(device, cudnn):
    x = nn.Variable.from_numpy_array(np.arange(3, dtype=np.float32))
    with nn.context_scope(cudnn):
        y = F.mul_scalar(x, 2.0)
    y.forward()
    device.transfers.reset()
    np.testing.assert_array_equal(y.data.get_data("r"), [0, 2, 4])
    assert on_device(device, y.data) and device.transfers.to_host == 1  # a copy; the data stays
    x.data.get_data("w")[...] = 1.0  # every value written: the device's are not copied first
    assert device.transfers.to_host == 1
    y.forward()
    np.testing.assert_array_equal(y.d, [2, 2, 2])
    with pytest.raises(ValueError, match="mode must be"):
        x.data.get_data("x")


def test_a_device_array_assigned_to_d_stays_on_the_device(device, cudnn):
    x = nn.Variable((2, 3))
    x.d = device.ones((2, 3), dtype=np.float32)
    x.d = device.arange(3, dtype=np.float32)  # broadcast, in place
    assert on_device(device, x.data) and device.transfers.total == 0
    np.testing.assert_array_equal(x.d, [[0, 1, 2], [0, 1, 2]])
    with pytest.raises(ValueError, match="cannot assign an array of shape"):
        x.d = device.ones(4)
