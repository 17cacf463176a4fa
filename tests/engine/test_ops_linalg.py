"""Batched linear algebra and ``F.dot``: forward against numpy.linalg / numpy.dot, float64 gradient checks
(Cholesky through a symmetric input, since its gradient is symmetric as NNabla's), and bad shapes."""

import numpy as np
import pytest
from rerun_checks import check_cleared_buffers_and_accumulation

import nnabla as nn
import nnabla.functions as F
from nnabla.function import FunctionError
from opcheck import Case, check_forward, check_grad, randn

A = randn(3, 4, 4) + 3 * np.eye(4, dtype=np.float32)
B = randn(3, 4, 4, seed=1)
EYE = np.broadcast_to(4 * np.eye(4), (3, 4, 4))


def spd(x):
    """x x^T + 4 I: symmetric positive definite."""
    return F.batch_matmul(x, x, transpose_b=True) + nn.Variable.from_numpy_array(EYE.astype(np.float32))


def spd_ref(x):
    return x @ x.transpose(0, 2, 1) + EYE


CASES = [
    Case("batch_inv", F.batch_inv, np.linalg.inv, [A], rtol=1e-4, atol=1e-5),
    Case("batch_det", F.batch_det, np.linalg.det, [A], rtol=1e-4),
    Case("batch_logdet", F.batch_logdet, lambda x: np.log(np.abs(np.linalg.det(x))), [B], rtol=1e-4, atol=1e-5),
    Case(
        "batch_cholesky",
        lambda x: F.batch_cholesky(spd(x)),
        lambda x: np.linalg.cholesky(spd_ref(x)),
        [B],
        rtol=1e-4,
        atol=1e-5,
    ),
    Case(
        "batch_cholesky_upper",
        lambda x: F.batch_cholesky(spd(x), upper=True),
        lambda x: np.linalg.cholesky(spd_ref(x)).transpose(0, 2, 1),
        [B],
        rtol=1e-4,
        atol=1e-5,
    ),
    Case("dot_vectors", F.dot, np.dot, [randn(4), randn(4, seed=2)]),
    Case("dot_matrices", F.dot, np.dot, [randn(3, 4), randn(4, 2, seed=2)]),
    Case("dot_tensor_vector", F.dot, np.dot, [randn(2, 3, 4), randn(4, seed=2)]),
    Case("dot_tensors", F.dot, np.dot, [randn(2, 3, 4), randn(5, 4, 2, seed=2)], rtol=1e-4, atol=1e-5),
    # a 0-d operand is read as a number: no gradient reaches it
    Case("dot_zero_dim", F.dot, np.dot, [randn(2, 3), np.array(2.5, np.float32)], grad_inputs=[0]),
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


def test_dot_writes_into_out_and_returns_nothing():
    a, b = nn.NdArray.from_numpy_array(randn(3, 4)), nn.NdArray.from_numpy_array(randn(4, 2, seed=2))
    out = nn.NdArray((3, 2))
    assert F.dot(a, b, out) is None
    np.testing.assert_allclose(out.data, randn(3, 4) @ randn(4, 2, seed=2), rtol=1e-5)
    with pytest.raises(ValueError, match="same shape"):
        F.dot(a, b, nn.NdArray((2, 2)))


def test_dot_of_a_zero_dim_ndarray_and_a_variable_runs_now():
    y = F.dot(nn.NdArray.from_numpy_array(np.array(3.0, np.float32)), nn.Variable.from_numpy_array(randn(2)))
    assert isinstance(y, nn.NdArray)
    np.testing.assert_allclose(y.data, 3 * randn(2))


@pytest.mark.parametrize("f", [F.batch_inv, F.batch_det, F.batch_logdet, F.batch_cholesky])
@pytest.mark.parametrize("shape", [(4, 4), (2, 3, 4)])
def test_non_square_batches_raise(f, shape):
    with pytest.raises(FunctionError, match="square"):
        f(nn.Variable(shape))
