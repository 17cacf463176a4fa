"""Reference and gradient checks for the math functions, their straight-through and clipped gradients, and the
errors they raise at graph-build time."""

import math

import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
from nnabla.function import FunctionError
from opcheck import Case, check_forward, check_grad, randn, uniform

erf = np.vectorize(math.erf)
HALVES = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.4, -0.6, 3.7, -3.2], np.float32)
WITH_NAN = np.array([[1.0, np.nan, -2.0], [np.inf, 0.5, -np.inf]], np.float32)
NANS = np.array([[1.0, np.nan, -2.0], [0.3, 0.5, np.nan]], np.float32)
INFS = np.array([[1.0, np.inf, -2.0], [0.3, 0.5, -np.inf]], np.float32)


def lp_norm(x, p, axis=None, keepdims=False):
    return (np.abs(x) ** p).sum(axis=axis, keepdims=keepdims) ** (1 / p)


CASES = [
    Case("exp", F.exp, np.exp, [randn(3, 4)]),
    Case("log", F.log, np.log, [uniform(0.5, 3, 3, 4)]),
    Case("abs", F.abs, np.abs, [randn(3, 4)]),
    Case("sign", F.sign, lambda x: np.where(x == 0, 1.0, np.sign(x)), [np.array([-2, 0, 3], np.float32)], grad=False),
    Case(
        "sign_alpha",
        lambda x: F.sign(x, alpha=-0.5),
        lambda x: np.where(x == 0, -0.5, np.sign(x)),
        [np.array([-2, 0, 3], np.float32)],
        grad=False,
    ),
    Case("sin", F.sin, np.sin, [randn(3, 4)]),
    Case("cos", F.cos, np.cos, [randn(3, 4)]),
    Case("tan", F.tan, np.tan, [uniform(-1.2, 1.2, 3, 4)]),
    Case("asin", F.asin, np.arcsin, [uniform(-0.9, 0.9, 3, 4)]),
    Case("acos", F.acos, np.arccos, [uniform(-0.9, 0.9, 3, 4)]),
    Case("atan", F.atan, np.arctan, [randn(3, 4)]),
    Case("atan2", F.atan2, np.arctan2, [randn(3, 4), randn(3, 4, seed=1)]),
    Case("atan2_broadcast", F.atan2, np.arctan2, [randn(3, 4), uniform(0.5, 2, 1, 4)]),
    Case("sinh", F.sinh, np.sinh, [randn(3, 4)]),
    Case("cosh", F.cosh, np.cosh, [randn(3, 4)]),
    Case("asinh", F.asinh, np.arcsinh, [randn(3, 4)]),
    Case("acosh", F.acosh, np.arccosh, [uniform(1.2, 3, 3, 4)]),
    Case("atanh", F.atanh, np.arctanh, [uniform(-0.9, 0.9, 3, 4)]),
    Case("erf", F.erf, erf, [randn(3, 4)]),
    Case("round", F.round, lambda x: np.sign(x) * np.floor(np.abs(x) + 0.5), [HALVES], grad=False),
    Case("ceil", F.ceil, np.ceil, [HALVES], grad=False),
    Case("floor", F.floor, np.floor, [HALVES], grad=False),
    Case("identity", F.identity, lambda x: x, [randn(3, 4)]),
    Case(
        "clip_by_value_scalars", lambda x: F.clip_by_value(x, -0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5), [randn(3, 4)]
    ),
    Case(
        "clip_by_value_variables",
        F.clip_by_value,
        lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi),
        [randn(3, 4), uniform(-1, -0.2, 3, 4), uniform(0.2, 1, 3, 4)],
    ),
    Case(
        "clip_grad_by_value",
        F.clip_grad_by_value,
        lambda x, lo, hi: x,
        [randn(3, 4), -np.ones((3, 4), np.float32), np.ones((3, 4), np.float32)],
        grad=False,
    ),
    Case("clip_grad_by_norm", F.clip_grad_by_norm, lambda x: x, [randn(3, 4)], grad=False),
    # grad inputs hold only the value that is reset, so the outputs stay finite
    Case("reset_nan", F.reset_nan, lambda x: np.where(np.isnan(x), 0, x), [NANS]),
    Case("reset_nan_val", lambda x: F.reset_nan(x, val=-1), lambda x: np.where(np.isnan(x), -1, x), [NANS]),
    Case("reset_nan_keeps_inf", F.reset_nan, lambda x: np.where(np.isnan(x), 0, x), [WITH_NAN], grad=False),
    Case("reset_inf", F.reset_inf, lambda x: np.where(np.isinf(x), 0, x), [INFS]),
    Case("reset_inf_val", lambda x: F.reset_inf(x, val=7), lambda x: np.where(np.isinf(x), 7, x), [INFS]),
    Case("reset_inf_keeps_nan", F.reset_inf, lambda x: np.where(np.isinf(x), 0, x), [WITH_NAN], grad=False),
    Case("isnan", F.isnan, lambda x: np.isnan(x).astype(np.float32), [WITH_NAN], grad=False),
    Case("isinf", F.isinf, lambda x: np.isinf(x).astype(np.float32), [WITH_NAN], grad=False),
    Case("norm", F.norm, lambda x: lp_norm(x, 2), [randn(3, 4)]),
    Case(
        "norm_p1_axis_keepdims",
        lambda x: F.norm(x, p=1, axis=1, keepdims=True),
        lambda x: lp_norm(x, 1, 1, True),
        [randn(2, 3, 4)],
    ),
    Case("norm_p3_axes", lambda x: F.norm(x, p=3, axis=(0, 2)), lambda x: lp_norm(x, 3, (0, 2)), [randn(2, 3, 4)]),
    Case("norm_normalization", F.norm_normalization, lambda x: x / lp_norm(x, 2), [randn(3, 4)]),
    Case(
        "norm_normalization_p1_axes",
        lambda x: F.norm_normalization(x, p=1, axes=[1]),
        lambda x: x / lp_norm(x, 1, 1, True),
        [randn(2, 3, 4)],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_forward(case):
    check_forward(case)


@pytest.mark.parametrize("case", [c for c in CASES if c.grad], ids=str)
def test_grad(case):
    check_grad(case)


def backward_of(fn, xs, gy):
    """Gradients of every input of fn(*xs) for output gradient gy."""
    vs = [nn.Variable.from_numpy_array(x, need_grad=True) for x in xs]
    y = fn(*vs)
    y.forward()
    y.backward(gy)
    return [v.g.copy() for v in vs]


@pytest.mark.parametrize("fn", [F.sign, F.round, F.ceil, F.floor], ids=lambda f: f.__name__)
def test_step_functions_pass_gradient_straight_through(fn):
    gy = randn(10, seed=3)
    (gx,) = backward_of(fn, [HALVES], gy)
    np.testing.assert_array_equal(gx, gy)


def test_erf_known_values():
    y = F.erf(nn.Variable.from_numpy_array(np.array([0.0, 0.5, -1.0, 3.0], np.float32)))
    y.forward()
    np.testing.assert_allclose(y.d, [0.0, 0.5204998778, -0.8427007929, 0.9999779095], rtol=1e-6)


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 2e-7), (np.float64, 1e-15)])
def test_erf_over_its_whole_range_in_both_precisions(dtype, rtol):
    x = np.concatenate([np.linspace(-7, 7, 2001), [-np.inf, np.inf, 0.0, 1e-30]]).astype(dtype)
    with nn.context_scope(nn.Context(["cpu:" + ("float" if dtype == np.float32 else "double")])):
        y = F.erf(nn.NdArray.from_numpy_array(x)).data
    assert y.dtype == dtype and y.shape == x.shape
    np.testing.assert_allclose(y, [math.erf(v) for v in x.astype(np.float64)], rtol=rtol, atol=1e-30)


def test_clip_grad_by_value_clips_the_gradient_and_gives_bounds_zero():
    x = randn(2, 3)
    lo, hi = np.full((2, 3), -0.5, np.float32), np.full((2, 3), 0.8, np.float32)
    gy = np.array([[-2.0, -0.2, 0.0], [0.5, 0.9, 3.0]], np.float32)
    gx, glo, ghi = backward_of(F.clip_grad_by_value, [x, lo, hi], gy)
    np.testing.assert_allclose(gx, [[-0.5, -0.2, 0.0], [0.5, 0.8, 0.8]])
    np.testing.assert_array_equal(glo, 0)
    np.testing.assert_array_equal(ghi, 0)


@pytest.mark.parametrize("axes", [None, (1,), (0, 2), ()])
def test_clip_grad_by_norm_rescales_gradient_to_clip_norm(axes):
    x, gy = randn(2, 3, 4), randn(2, 3, 4, seed=5) * 2
    (gx,) = backward_of(lambda v: F.clip_grad_by_norm(v, 0.5, axes), [x], gy)
    reduce_axes = tuple(range(3)) if axes is None else axes
    expected = 0.5 * gy / np.sqrt((gy**2).sum(axis=reduce_axes, keepdims=True))
    np.testing.assert_allclose(gx, expected, rtol=1e-5)


def test_clip_grad_by_norm_default_clip_norm_is_one():
    y = F.clip_grad_by_norm(nn.Variable((2, 3)))
    assert y.parent.info.args["clip_norm"] == 1.0
    (gx,) = backward_of(F.clip_grad_by_norm, [randn(2, 3)], randn(2, 3, seed=4))
    np.testing.assert_allclose(np.sqrt((gx**2).sum()), 1.0, rtol=1e-5)


def test_clip_by_value_rejects_bounds_that_are_neither_scalar_nor_variable():
    with pytest.raises(TypeError, match="clip_by_value: max must be"):
        F.clip_by_value(nn.Variable((2,)), 0.0, [1.0, 2.0])


def test_norm_rejects_p_below_one_and_bad_axes():
    with pytest.raises(FunctionError, match="Norm: p=0.5"):
        F.norm(nn.Variable((2, 3)), p=0.5)
    with pytest.raises(FunctionError, match="Norm.*axes=2"):
        F.norm(nn.Variable((2, 3)), axis=2)
    with pytest.raises(FunctionError, match="NormNormalization: p=0"):
        F.norm_normalization(nn.Variable((2, 3)), p=0)


def test_clip_grad_by_value_needs_bounds_shaped_like_x():
    with pytest.raises(FunctionError, match=r"ClipGradByValue: input max of shape \(3,\).*\(2, 3\)"):
        F.clip_grad_by_value(nn.Variable((2, 3)), nn.Variable((2, 3)), nn.Variable((3,)))


def test_atan2_rejects_shapes_that_do_not_broadcast():
    with pytest.raises(FunctionError, match="ATan2"):
        F.atan2(nn.Variable((2, 3)), nn.Variable((4,)))


def test_norm_shapes():
    x = nn.Variable((2, 3, 4))
    assert F.norm(x).shape == ()
    assert F.norm(x, axis=1).shape == (2, 4)
    assert F.norm(x, axis=(0, 2), keepdims=True).shape == (1, 3, 1)
    assert F.norm_normalization(x, axes=1).shape == (2, 3, 4)
