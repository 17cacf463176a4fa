"""A convolution's many small products run on one BLAS thread; larger products and the user's own limit keep
their thread count (engine/nnabla/_ops/_blas.py). These are numpy's convolutions: the native kernels, which do
the same work without the BLAS, are off here (tests/engine/test_native_kernels.py has theirs)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import nnabla as nn
import nnabla.functions as F
from nnabla import _native
from nnabla._ops import _blas


@pytest.fixture(autouse=True)
def numpy_convolutions(monkeypatch):
    monkeypatch.setattr(_native, "available", lambda: False)


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


# -- a large convolution's slices shared between threads -----------------------------------------------------------


def test_a_dealer_deals_each_part_once_in_order_until_stopped():
    dealer = _blas.Dealer([0, 1, 2, 3, 4])
    assert next(dealer) == 0
    assert [next(dealer), next(dealer)] == [1, 2]
    dealer.stop()
    assert list(dealer) == []
    taken = []
    dealer = _blas.Dealer(list(range(1000)))
    threads_ = [threading.Thread(target=lambda: taken.extend(list(dealer))) for _ in range(3)]
    for t in threads_:
        t.start()
    for t in threads_:
        t.join()
    assert sorted(taken) == list(range(1000))


def test_blas_threads_follows_the_users_limit_and_is_one_off_numpy(controllers):
    with threadpool_limits(2, user_api="blas"):
        assert _blas.blas_threads(np) == 2

    class OtherModule:
        pass

    with threadpool_limits(2, user_api="blas"):
        assert _blas.blas_threads(OtherModule) == 1
    with threadpool_limits(1, user_api="blas"):
        assert _blas.blas_threads(np) == 1


CONVOLUTIONS = {
    "same 3x3 (the input gradient is a convolution too)": dict(x=(8, 8, 10, 10), w=(12, 8, 3, 3), pad=(1, 1)),
    "strided (the input gradient is a scatter)": dict(x=(8, 4, 11, 11), w=(6, 4, 3, 3), stride=(2, 2)),
    "a first layer (columns kernel offset first)": dict(x=(8, 1, 12, 12), w=(6, 1, 5, 5)),
    "grouped and dilated": dict(x=(6, 6, 9, 9), w=(4, 3, 3, 3), group=2, dilation=(2, 1), pad=(2, 1)),
}


def _convolution_results(case, limit):
    rng = np.random.RandomState(0)
    x = nn.Variable.from_numpy_array(rng.randn(*case["x"]).astype(np.float32), need_grad=True)
    w = nn.Variable.from_numpy_array(rng.randn(*case["w"]).astype(np.float32), need_grad=True)
    args = {k: v for k, v in case.items() if k not in ("x", "w")}
    with threadpool_limits(limit, user_api="blas"):
        y = F.convolution(x, w, **args)
        y.forward()
        y.backward(rng.randn(*y.shape).astype(np.float32))
    return y.d.copy(), x.g.copy(), w.g.copy()


@pytest.mark.parametrize("held", [True, False], ids=["gradients held", "gradients summed as they come"])
@pytest.mark.parametrize("name", list(CONVOLUTIONS))
def test_a_shared_convolution_is_bitwise_the_one_thread_result(controllers, monkeypatch, name, held):
    """Every slice is computed as on one thread, and the weight gradient's slices are summed in the batch's
    order: output, input gradient and weight gradient come out the same to the bit."""
    from nnabla._ops import convolution

    monkeypatch.setattr(_blas, "SHARE_FROM", 0)
    monkeypatch.setattr(convolution, "COLUMNS_BUDGET", 600)  # several slices even for these small batches
    monkeypatch.setattr(convolution, "PACKED_BUDGET", 600)
    if not held:
        monkeypatch.setattr(convolution, "HELD_GRADIENTS", 0)
    alone = _convolution_results(CONVOLUTIONS[name], 1)
    workers = set()
    matmul = np.matmul

    def spy(*args, **kwargs):
        workers.add(threading.current_thread().name)
        if threading.current_thread() is threading.main_thread():
            time.sleep(0.002)  # (a slow caller: the helper surely takes some of the parts)
        return matmul(*args, **kwargs)

    monkeypatch.setattr(np, "matmul", spy)
    shared = _convolution_results(CONVOLUTIONS[name], 2)
    monkeypatch.setattr(np, "matmul", matmul)
    assert any(n.startswith("nnabla-slices") for n in workers), workers  # a helper thread multiplied
    for a, b in zip(alone, shared):
        assert np.array_equal(a, b)


def test_an_error_in_one_thread_stops_the_dealing_and_is_raised_once_every_thread_has_ended(controllers, monkeypatch):
    monkeypatch.setattr(_blas, "SHARE_FROM", 0)
    done = []

    def work(parts):
        mine = []
        for part in parts:
            if part == 2:
                raise ValueError("at part 2")
            mine.append(part)
            time.sleep(0.0005)  # (lets the GIL go, as a slice's copies and product do)
        done.append(mine)
        return mine

    with threadpool_limits(2, user_api="blas"):
        with pytest.raises(ValueError, match="at part 2"):
            _blas.share_slices(np, list(range(100)), 1, work)
        assert threads(controllers) == [2] * len(controllers)
        assert len(done) == 1 and len(done[0]) < 97  # the other thread stopped taking parts
        done.clear()
        results = _blas.share_slices(np, [0, 1, 3, 4, 5, 6], 1, work)  # and the threads still serve
    assert len(results) == 2 and sorted(p for run in results for p in run) == [0, 1, 3, 4, 5, 6]
    assert all(run == sorted(run) for run in results)


def test_small_calls_and_a_single_thread_stay_in_the_callers_thread(controllers):
    seen = []

    def work(run):
        seen.append(threading.current_thread() is threading.main_thread())
        return run

    with threadpool_limits(2, user_api="blas"):
        assert _blas.share_slices(np, [0, 1, 2, 3], 1, work) == [[0, 1, 2, 3]]  # 4 multiply-adds: not worth it
    with threadpool_limits(1, user_api="blas"):
        assert _blas.share_slices(np, [0, 1, 2, 3], _blas.SHARE_FROM, work) == [[0, 1, 2, 3]]
    assert seen == [True, True]


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="no fork here")
def test_a_forked_child_shares_slices_with_threads_of_its_own(controllers, monkeypatch):
    """The parent's helper threads do not exist in a forked child: it must not wait on them."""
    import os
    import select
    import signal

    monkeypatch.setattr(_blas, "SHARE_FROM", 0)
    with threadpool_limits(2, user_api="blas"):
        _blas.share_slices(np, [0, 1, 2, 3], 1, list)  # the parent's helpers are started
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: shares, then reports how many parts it saw
            try:
                seen = sum(len(run) for run in _blas.share_slices(np, [0, 1, 2, 3], 1, list))
                os.write(write, bytes([seen]))
            finally:
                os._exit(0)
        os.close(write)
        ready, _, _ = select.select([read], [], [], 20)
        if not ready:
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        assert ready, "the forked child hung waiting on its parent's helper threads"
        assert os.read(read, 1) == bytes([4])
