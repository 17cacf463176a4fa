"""The cores share a convolution's batch slices (``_ops/_parallel.py``), with the same numbers as one core."""

import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import nnabla as nn
import nnabla.functions as F
from nnabla._ops import _parallel, convolution
from nnabla._ops.convolution import _batch_slices


def _blas_threads():
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def _conv_step(x, w, b, **args):
    """Forward and backward of a convolution; the output and every gradient."""
    xv, wv, bv = (nn.Variable.from_numpy_array(a, need_grad=True) for a in (x, w, b))
    with nn.auto_forward():
        y = F.convolution(xv, wv, bv, **args)
    for v in (xv, wv, bv):
        v.grad.zero()
    y.backward(np.cos(np.arange(y.size, dtype=np.float32)).reshape(y.shape))
    return [y.d.copy(), xv.g.copy(), wv.g.copy(), bv.g.copy()]


# name -> x's shape, w's shape, arguments, elements of im2col columns per sample
CASES = {
    "same 3x3 (input gradient by the flipped kernel)": ((16, 8, 12, 12), (8, 8, 3, 3), {"pad": (1, 1)}, 144 * 72),
    "5x5 valid (input gradient by col2im)": ((16, 4, 14, 14), (6, 4, 5, 5), {}, 100 * 100),
    "grouped, strided": ((40, 6, 21, 17), (6, 3, 3, 3), {"group": 2, "stride": (2, 1), "pad": (1, 0)}, 165 * 54),
}


@pytest.fixture
def small_slices(monkeypatch):
    """Columns of at most 16 Ki elements per slice: the small cases below then have slices to share."""
    monkeypatch.setattr(convolution, "COLUMNS_BUDGET", 1 << 14)


@pytest.mark.parametrize("name", list(CASES))
def test_two_workers_give_the_numbers_of_one(name, small_slices):
    xs, ws, args, per_sample = CASES[name]
    rng = np.random.RandomState(0)
    x, w, b = rng.randn(*xs).astype(np.float32), rng.randn(*ws).astype(np.float32), rng.randn(ws[0]).astype(np.float32)
    assert len(_batch_slices(xs[0], per_sample)) > 2  # there is something to share
    with threadpool_limits(1, user_api="blas"):
        assert _parallel.workers(np) == 1
        one = _conv_step(x, w, b, **args)
    with threadpool_limits(2, user_api="blas"):
        assert _parallel.workers(np) == min(2, _parallel._CORES)
        two = _conv_step(x, w, b, **args)
        assert _blas_threads() == [2] * len(_blas_threads())  # the workers' one-thread BLAS is undone
    for a, c in zip(one, two):
        np.testing.assert_array_equal(a, c)


def test_the_slicing_depends_on_shapes_only():
    """Slices of at most COLUMNS_BUDGET elements of columns (at least one sample each), whatever the cores."""
    assert [s.stop - s.start for s in _batch_slices(32, 294912)] == [3] * 10 + [2]
    assert [s.stop - s.start for s in _batch_slices(64, 14400)] == [64]
    assert [s.stop - s.start for s in _batch_slices(5, 1 << 21)] == [1] * 5


def test_tasks_run_in_workers_in_order_and_errors_reach_the_caller():
    with threadpool_limits(2, user_api="blas"):
        if _parallel.workers(np) < 2:
            pytest.skip("one core: every split runs in the calling thread")
        names = _parallel.run(np, [lambda i=i: (i, threading.current_thread().name) for i in range(6)])
        assert [i for i, _ in names] == list(range(6))
        assert all(n.startswith("nnabla-worker") for _, n in names)
        nested = _parallel.run(np, [lambda: _parallel.run(np, [threading.get_ident, threading.get_ident])] * 2)
        assert all(len(set(ids)) == 1 for ids in nested)  # inside a worker the pieces run in that worker

        def fails():
            raise ValueError("piece 3 failed")

        with pytest.raises(ValueError, match="piece 3 failed"):
            _parallel.run(np, [lambda: 1, fails])
        assert _parallel.run(np, [lambda: 7, lambda: 8]) == [7, 8]  # the pool still works after an error


def test_other_array_modules_run_in_the_calling_thread():
    class Other:  # cupy, or any module that is not numpy
        pass

    assert _parallel.workers(Other) == 1
    ident = threading.get_ident()
    assert _parallel.run(Other, [threading.get_ident, threading.get_ident]) == [ident, ident]


def _block_step(x, train):
    """conv, batch normalization, ReLU, conv, batch normalization, add, ReLU: output and every gradient."""
    nn.clear_parameters()
    rng = np.random.RandomState(1)
    init = __import__("nnabla.initializer", fromlist=["x"]).NormalInitializer(0.1, rng=rng)
    import nnabla.parametric_functions as PF

    xv = nn.Variable.from_numpy_array(x, need_grad=True)
    h = F.relu(
        PF.batch_normalization(
            PF.convolution(xv, 16, (3, 3), pad=(1, 1), w_init=init, name="a"), batch_stat=train, name="an"
        )
    )
    r = PF.batch_normalization(
        PF.convolution(h, 16, (3, 3), pad=(1, 1), w_init=init, name="b"), batch_stat=train, name="bn"
    )
    y = F.relu(h + r)
    y.forward()
    xv.grad.zero()
    for p in nn.get_parameters().values():
        p.grad.zero()
    y.backward(np.sin(np.arange(y.size, dtype=np.float32)).reshape(y.shape))
    grads = [p.g.copy() for p in nn.get_parameters(grad_only=False).values()]
    return [y.d.copy(), xv.g.copy(), np.array(h.d.strides)] + grads


@pytest.mark.parametrize("train", [True, False], ids=["batch statistics", "running statistics"])
def test_a_residual_block_on_two_workers_gives_the_numbers_of_one(train):
    """Batch normalization and ReLU share their elementwise passes out by rows; the memory order (channels last,
    as the convolution leaves it) is kept."""
    x = np.random.RandomState(0).randn(16, 8, 32, 32).astype(np.float32)  # 16 x 16 x 32 x 32 activations
    with threadpool_limits(1, user_api="blas"):
        one = _block_step(x, train)
    with threadpool_limits(2, user_api="blas"):
        two = _block_step(x, train)
    assert np.argsort(one[2]).tolist() == [1, 3, 2, 0]  # strides, smallest first: channels last in memory
    for a, c in zip(one, two):
        np.testing.assert_array_equal(a, c)
