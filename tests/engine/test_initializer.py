"""nnabla.initializer: NNabla's scales, initializer values, dtypes and random streams."""

from __future__ import annotations

import numpy as np
import pytest

import nnabla as nn
import nnabla.initializer as I
from nnabla.parameter import get_parameter_or_create

# (function, arguments, NNabla's value)
SCALES = [
    (I.calc_normal_std_he_forward, (3, 5, (2, 2)), np.sqrt(2.0 / (4 * 3))),
    (I.calc_normal_std_he_backward, (3, 5, (2, 2)), np.sqrt(2.0 / (4 * 5))),
    (I.calc_normal_std_glorot, (3, 5, (2, 2)), np.sqrt(2.0 / (4 * (3 + 5)))),
    (I.calc_normal_std_glorot, (3, 5), np.sqrt(2.0 / 8)),
    (I.calc_uniform_lim_glorot, (3, 5, (3, 3)), (-np.sqrt(6.0 / (9 * 8)), np.sqrt(6.0 / (9 * 8)))),
]


@pytest.mark.parametrize("fn, args, expected", SCALES, ids=[f"{s[0].__name__}{s[1]}" for s in SCALES])
def test_scales(fn, args, expected):
    np.testing.assert_allclose(fn(*args), expected, rtol=1e-12)


def rng():
    return np.random.RandomState(7)


# (initializer made with its own generator, shape, expected values from the same numpy calls, dtype)
VALUES = [
    (lambda: I.ConstantInitializer(2.5), (2, 3), np.full((2, 3), 2.5), np.float32),
    (lambda: I.NormalInitializer(0.5, rng()), (3, 2), rng().randn(3, 2) * 0.5, np.float32),
    (lambda: I.UniformInitializer((-2, 3), rng()), (4,), rng().uniform(-2, 3, size=(4,)), np.float32),
    (lambda: I.UniformIntInitializer((1, 4), rng()), (5,), rng().randint(1, 4, size=(5,)), np.int64),
    (lambda: I.RangeInitializer(1, 2), (2, 3), [[1, 3, 5], [1, 3, 5]], np.int64),
    (lambda: I.RangeInitializer(0.5, 1), (3,), [0.5, 1.5, 2.5], np.float64),
]


@pytest.mark.parametrize("make, shape, expected, dtype", VALUES, ids=lambda v: getattr(v, "__name__", None))
def test_values(make, shape, expected, dtype):
    values = make()(shape)
    assert values.shape == shape and values.dtype == dtype
    np.testing.assert_allclose(values, expected, rtol=1e-6)


def test_orthogonal_rows_or_columns_are_orthonormal():
    wide = I.OrthogonalInitializer(2.0, rng())((2, 3, 2))
    flat = wide.reshape(2, 6).astype(np.float64)
    np.testing.assert_allclose(flat @ flat.T, 4 * np.eye(2), atol=1e-5)
    tall = I.OrthogonalInitializer(1.0, rng())((6, 2)).astype(np.float64)
    np.testing.assert_allclose(tall.T @ tall, np.eye(2), atol=1e-5)
    assert wide.dtype == np.float32


def test_weight_normalization_scale():
    w = nn.Variable.from_numpy_array(np.arange(6, dtype=np.float32).reshape(2, 3))
    g = I.WeightNormalizationScaleInitializer(w, dim=1)((3,))
    np.testing.assert_allclose(g, np.sqrt((w.d**2).sum(axis=0) + 1e-12), rtol=1e-6)
    assert g.dtype == np.float32


def test_default_rng_is_the_prng_at_creation():
    nn.seed(11)
    first = I.NormalInitializer()((3,))
    nn.seed(11)
    made_before = I.UniformInitializer()
    np.testing.assert_array_equal(I.NormalInitializer()((3,)), first)  # nn.seed restarts the stream
    nn.seed(12)  # a new generator: the initializer made before keeps drawing from the old one
    stream = np.random.RandomState(11)
    stream.randn(3)
    np.testing.assert_array_equal(made_before((2,)), np.float32(stream.uniform(-1, 1, size=(2,))))


def test_initializers_through_get_parameter_or_create():
    nn.clear_parameters()
    with nn.parameter_scope("init"):
        w = get_parameter_or_create("w", (2, 2), I.ConstantInitializer(3))
        r = get_parameter_or_create("r", (2, 2), I.RangeInitializer())
    assert w.d.dtype == np.float32 and (w.d == 3).all()
    np.testing.assert_array_equal(r.d, [[0, 1], [0, 1]])
    nn.clear_parameters()


def test_base_initializer_is_abstract():
    with pytest.raises(NotImplementedError):
        I.BaseInitializer()((2,))
