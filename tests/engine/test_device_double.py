"""The device double keeps cupy's rules: what a leak of device data to numpy looks like, and what it counts."""

import numpy as np
import pytest


def test_device_arrays_refuse_implicit_conversion_to_numpy(device):
    a = device.arange(6, dtype=np.float32).reshape(2, 3)
    with pytest.raises(TypeError, match="Implicit conversion to a NumPy array is not allowed"):
        np.asarray(a)
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.array(a)


@pytest.mark.parametrize(
    "mix",
    [
        lambda d, h: d + h,
        lambda d, h: h + d,
        lambda d, h: np.add(d, h),
        lambda d, h: np.concatenate([d, h]),
        lambda d, h: np.maximum(h, d),
    ],
    ids=["dev+host", "host+dev", "np.add", "np.concatenate", "np.maximum"],
)
def test_mixing_a_numpy_array_into_a_device_operation_raises(device, mix):
    with pytest.raises(TypeError, match="Unsupported type <class 'numpy.ndarray'>"):
        mix(device.ones((2, 3)), np.ones((2, 3)))


def test_device_operations_give_device_arrays_reductions_included(device):
    a = device.ones((2, 3), dtype=np.float32)
    assert isinstance(np.exp(a), device.ndarray)
    assert isinstance(a.sum(), device.ndarray) and a.sum().ndim == 0
    assert isinstance(np.sum(a), device.ndarray)
    assert device.transfers.total == 0


def test_only_explicit_transfers_and_python_scalars_cross_and_are_counted(device):
    a = device.asarray(np.arange(3.0))  # host to device
    assert (device.transfers.to_host, device.transfers.to_device) == (0, 1)
    assert np.array_equal(a.get(), [0, 1, 2]) and np.array_equal(device.asnumpy(a), [0, 1, 2])
    assert float(a[1]) == 1.0 and int(a[2]) == 2 and bool(a[1])
    assert device.transfers.to_host == 5
    with pytest.raises(TypeError):
        range(device.asarray(3))  # no __index__, as cupy
    with pytest.raises(AssertionError, match="1 to host"):
        with device.transfers.none_allowed():
            a.get()


def test_random_has_its_own_generator(device):
    draws = device.random.RandomState(313).normal(size=4)
    assert isinstance(draws, device.ndarray)
    assert np.array_equal(draws.get(), device.random.RandomState(313).normal(size=4).get())
    assert not np.allclose(draws.get(), np.random.RandomState(313).normal(size=4))


def test_cuda_contexts_resolve_to_the_double(device):
    import nnabla as nn
    from nnabla.ext_utils import get_extension_context

    assert get_extension_context("cudnn").resolve()[0] is device
    assert nn.Context(["cuda:float"]).resolve()[0] is device
    with pytest.raises(RuntimeError, match="device_id='3' but only 1 GPU"):
        nn.Context(["cuda:float"], device_id="3").resolve()
