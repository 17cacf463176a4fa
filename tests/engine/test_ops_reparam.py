"""Spectral and weight normalization: forward against numpy (power iteration written here), the weight
normalization gradient in float64, spectral normalization's gradient rule (u and v held constant, as NNabla)
and its in-place update of u."""

import numpy as np
import pytest
from rerun_checks import check_cleared_buffers_and_accumulation

import nnabla as nn
import nnabla.functions as F
from nnabla.function import FunctionError
from opcheck import Case, check_forward, check_grad, randn, uniform

W = randn(4, 3, 2)


def as_matrix(w, dim):
    return np.moveaxis(w, dim, 0).reshape(w.shape[dim], -1)


def power_iteration(w, u, dim=0, itr=1, eps=1e-12):
    m = as_matrix(w, dim)
    for _ in range(itr):
        v = u @ m
        v = v / np.sqrt((v**2).sum() + eps)
        u = m @ v
        u = u / np.sqrt((u**2).sum() + eps)
    return m, u, v


def spectral_norm_ref(w, u, dim=0, itr=1):
    m, u, v = power_iteration(w, u, dim, itr)
    return w / (u @ m @ v)


def weight_norm_ref(w, g, dim=0, eps=1e-12):
    axes = tuple(i for i in range(w.ndim) if i != dim % w.ndim)
    shape = [n if i == dim % w.ndim else 1 for i, n in enumerate(w.shape)]
    return g.reshape(shape) * w / np.sqrt((w**2).sum(axis=axes, keepdims=True) + eps)


CASES = [
    Case("weight_normalization", F.weight_normalization, weight_norm_ref, [W, uniform(0.5, 1.5, 4)]),
    Case(
        "weight_normalization_last_dim",
        lambda w, g: F.weight_normalization(w, g, dim=-1, eps=0.1),
        lambda w, g: weight_norm_ref(w, g, -1, 0.1),
        [W, uniform(0.5, 1.5, 2)],
    ),
    *[
        Case(
            f"spectral_norm_dim{dim}",
            lambda w, u, dim=dim: F.spectral_norm(w, u, dim=dim, itr=2),
            lambda w, u, dim=dim: spectral_norm_ref(w, u, dim, 2),
            [W, randn(W.shape[dim], seed=dim)],
            grad=False,
            rtol=1e-4,
            atol=1e-5,
        )
        for dim in range(3)
    ],
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


@pytest.mark.parametrize("dim", [0, 1, 2])
def test_spectral_norm_gradient_holds_u_and_v_constant(dim):
    u0 = randn(W.shape[dim], seed=dim)
    w, u = nn.Variable.from_numpy_array(W, need_grad=True), nn.Variable.from_numpy_array(u0)
    y = F.spectral_norm(w, u, dim=dim)
    y.forward()
    gy = randn(*W.shape, seed=7)
    y.backward(gy)
    m, uu, v = power_iteration(W, u0, dim)
    sigma = uu @ m @ v
    g = as_matrix(gy, dim)
    gm = g / sigma - (g * m).sum() / sigma**2 * np.outer(uu, v)
    moved = (W.shape[dim],) + tuple(n for i, n in enumerate(W.shape) if i != dim)
    np.testing.assert_allclose(w.g, np.moveaxis(gm.reshape(moved), 0, dim), rtol=1e-4, atol=1e-5)
    # u now holds the power iteration's estimate
    np.testing.assert_allclose(u.d, uu, rtol=1e-5, atol=1e-6)


def test_spectral_norm_test_mode_keeps_u_and_output_u_gives_the_starting_u():
    u0 = randn(4, seed=1)
    u = nn.Variable.from_numpy_array(u0)
    y, u_out = F.spectral_norm(nn.Variable.from_numpy_array(W), u, test=True, output_u=True)
    y.forward()
    np.testing.assert_array_equal(u.d, u0)
    np.testing.assert_array_equal(u_out.d, u0)
    np.testing.assert_allclose(y.d, spectral_norm_ref(W, u0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda w: F.spectral_norm(w, nn.Variable((3,))), "u of shape"),
        (lambda w: F.spectral_norm(w, nn.Variable((4,)), dim=3), "dim"),
        (lambda w: F.spectral_norm(w, nn.Variable((4,)), itr=0), "itr"),
        (lambda w: F.weight_normalization(w, nn.Variable((3,))), "g of shape"),
        (lambda w: F.weight_normalization(w, nn.Variable((4,)), dim=3), "dim"),
    ],
)
def test_bad_arguments_raise(build, message):
    with pytest.raises(FunctionError, match=message):
        build(nn.Variable((4, 3, 2)))
