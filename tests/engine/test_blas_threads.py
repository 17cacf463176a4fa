"""A convolution's many small products run on one BLAS thread; larger products and the user's own limit keep
their thread count (engine/nnabla/_ops/_blas.py)."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import nnabla as nn
import nnabla.functions as F
from nnabla._ops import _blas


@pytest.fixture
def controllers():
    found = _blas._blas_controllers()
    if not found:
        pytest.skip("numpy's BLAS here does not tell or take its thread count")
    return found


def threads(controllers):
    return [c.get_num_threads() for c in controllers]


def test_small_products_run_on_one_thread_and_the_count_comes_back(controllers):
    with threadpool_limits(2, user_api="blas"):
        with _blas.serial_blas(np, _blas.SERIAL_BELOW - 1):
            assert threads(controllers) == [1] * len(controllers)
        assert threads(controllers) == [2] * len(controllers)


def test_large_products_keep_every_thread(controllers):
    with threadpool_limits(2, user_api="blas"):
        with _blas.serial_blas(np, _blas.SERIAL_BELOW):
            assert threads(controllers) == [2] * len(controllers)


def test_an_error_inside_still_restores_the_count(controllers):
    with threadpool_limits(2, user_api="blas"):
        with pytest.raises(ValueError, match="inside"):
            with _blas.serial_blas(np, _blas.SPLIT_FROM + 1):
                raise ValueError("inside")
        assert threads(controllers) == [2] * len(controllers)


def test_the_users_single_thread_stays_single(controllers):
    with threadpool_limits(1, user_api="blas"):
        with _blas.serial_blas(np, _blas.SPLIT_FROM + 1):
            assert threads(controllers) == [1] * len(controllers)
        assert threads(controllers) == [1] * len(controllers)


def test_other_array_modules_are_left_alone(controllers):
    class OtherModule:  # cupy's place: its products are not numpy's BLAS
        pass

    with threadpool_limits(2, user_api="blas"):
        with _blas.serial_blas(OtherModule, _blas.SPLIT_FROM + 1):
            assert threads(controllers) == [2] * len(controllers)


def test_a_convolution_step_multiplies_on_one_thread(controllers, monkeypatch):
    """Forward, the input gradient (a strided convolution's scatter form) and the weight gradient: every product
    the BLAS would split runs on one thread (the smaller ones it computes on one anyway)."""
    seen = []
    matmul = np.matmul

    def spy(a, b, *args, **kwargs):
        seen.append((a.shape[-2] * a.shape[-1] * b.shape[-1], controllers[0].get_num_threads()))
        return matmul(a, b, *args, **kwargs)

    rng = np.random.RandomState(0)
    x = nn.Variable.from_numpy_array(rng.randn(8, 8, 20, 20), need_grad=True)
    w = nn.Variable.from_numpy_array(rng.randn(16, 8, 3, 3), need_grad=True)
    with threadpool_limits(2, user_api="blas"):
        y = F.convolution(x, w, stride=(2, 2))
        monkeypatch.setattr(np, "matmul", spy)
        y.forward()
        y.backward()
        monkeypatch.undo()
        assert threads(controllers) == [2] * len(controllers)
    split = [n for size, n in seen if size > _blas.SPLIT_FROM]
    assert len(split) >= 2 and set(split) == {1}, seen


@pytest.mark.parametrize(
    "rows, features, units, serial",
    [
        (64, 256, 50, True),  # LeNet's first dense layer: 819,200 multiply-adds, which the BLAS would split
        (256, 784, 1024, False),  # an MNIST MLP's: 205 million, where a second thread pays
        (4, 3, 5, False),  # below what the BLAS splits at all: nothing to change
    ],
)
def test_an_affine_layer_multiplies_on_one_thread_only_at_middle_sizes(
    controllers, monkeypatch, rows, features, units, serial
):
    from nnabla._ops.linear import Affine

    seen = []
    for name in ("_compute", "_grad"):  # the bodies of forward and backward, which multiply
        body = getattr(Affine, name)

        def spy(*args, body=body, **kwargs):
            seen.append(controllers[0].get_num_threads())
            return body(*args, **kwargs)

        monkeypatch.setattr(Affine, name, spy)
    rng = np.random.RandomState(0)
    x = nn.Variable.from_numpy_array(rng.randn(rows, features).astype(np.float32), need_grad=True)
    w = nn.Variable.from_numpy_array(rng.randn(features, units).astype(np.float32), need_grad=True)
    with threadpool_limits(2, user_api="blas"):
        y = F.affine(x, w)
        y.forward()
        y.backward()
    assert len(seen) == 2
    assert set(seen) == ({1} if serial else {2})
