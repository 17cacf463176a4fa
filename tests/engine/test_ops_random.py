"""Random functions: shapes, dtypes and ranges, seeding (own seed, nn.seed), replay on recompute, dropout's mask."""

import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
from nnabla.function import FunctionError
from opcheck import Case, check_forward, check_grad, randn

# (name, builder, dtype, check of the values)
GENERATORS = [
    ("rand", lambda: F.rand(-2, 3, shape=(200, 5)), np.float32, lambda d: (d >= -2).all() and (d < 3).all()),
    ("randn", lambda: F.randn(1.5, 0.5, shape=(400, 5)), np.float32, lambda d: abs(d.mean() - 1.5) < 0.1),
    ("randint", lambda: F.randint(2, 6, shape=(100, 3)), np.int32, lambda d: set(np.unique(d)) == {2, 3, 4, 5}),
    (
        "rand_binomial",
        lambda: F.rand_binomial(4, 0.3, shape=(100, 3)),
        np.float32,
        lambda d: set(np.unique(d)) <= {0, 1, 2, 3, 4},
    ),
    ("rand_beta", lambda: F.rand_beta(2.0, 3.0, shape=(50, 4)), np.float32, lambda d: ((d > 0) & (d < 1)).all()),
    ("rand_gamma", lambda: F.rand_gamma(2.0, 1.5, shape=(50, 4)), np.float32, lambda d: (d > 0).all()),
]


@pytest.mark.parametrize("name, build, dtype, valid", GENERATORS, ids=[g[0] for g in GENERATORS])
def test_generator_shape_dtype_range(name, build, dtype, valid):
    y = build()
    assert not y.need_grad
    y.forward()
    assert y.d.dtype == dtype
    assert y.d.shape == y.shape
    assert valid(y.d)


def test_default_shape_is_scalar():
    y = F.rand()
    y.forward()
    assert y.shape == () and 0 <= float(y.d) < 1


def test_randn_moments():
    y = F.randn(-1.0, 2.0, shape=(20000,), seed=1)
    y.forward()
    assert abs(y.d.mean() + 1) < 0.05 and abs(y.d.std() - 2) < 0.05


def test_fixed_seed_reproduces_across_functions():
    a, b = F.rand(shape=(4,), seed=7), F.rand(shape=(4,), seed=7)
    a.forward()
    b.forward()
    np.testing.assert_array_equal(a.d, b.d)
    first = a.d.copy()
    a.forward()  # the function's own generator moves on
    assert not np.array_equal(a.d, first)


def test_nn_seed_resets_global_generator():
    nn.seed(123)
    a = F.randn(shape=(5,))
    a.forward()
    nn.seed(123)
    b = F.randn(shape=(5,))
    b.forward()
    np.testing.assert_array_equal(a.d, b.d)
    c = F.randn(shape=(5,))
    c.forward()
    assert not np.array_equal(b.d, c.d)


@pytest.mark.parametrize("build", [lambda: F.rand(shape=(6,)), lambda: F.randint(0, 100, shape=(6,), seed=4)])
def test_recompute_replays_the_same_numbers(build):
    y = build()
    y.forward()
    first = y.d.copy()
    F.rand(shape=(10,)).forward()  # the global generator moves on meanwhile
    y.parent.recompute([], [y])
    np.testing.assert_array_equal(y.d, first)
    assert y.parent.need_setup_recompute(0)


def test_randint_rejects_empty_range():
    with pytest.raises(FunctionError, match="Randint: high=1 must be greater than low=3"):
        F.randint(3, 1, shape=(2,))


# dropout with p=0 keeps everything, so it is deterministic and the generic checks apply
CASES = [Case("dropout_p0", lambda x: F.dropout(x, p=0.0), lambda x: x, [randn(3, 4)])]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_forward(case):
    check_forward(case)


@pytest.mark.parametrize("case", [c for c in CASES if c.grad], ids=str)
def test_grad(case):
    check_grad(case)


def test_dropout_values_and_rate():
    x = nn.Variable.from_numpy_array(np.random.RandomState(0).uniform(1, 2, (100, 100)).astype(np.float32))
    y = F.dropout(x, p=0.3, seed=11)
    y.forward()
    kept = y.d != 0
    np.testing.assert_allclose(y.d[kept], x.d[kept] / 0.7, rtol=1e-6)
    assert abs(1 - kept.mean() - 0.3) < 0.03


def test_dropout_backward_uses_the_forward_mask():
    x = nn.Variable.from_numpy_array(np.random.RandomState(1).uniform(1, 2, (6, 7)).astype(np.float32), need_grad=True)
    y = F.dropout(x, p=0.5)
    y.forward()
    gy = np.random.RandomState(2).randn(6, 7).astype(np.float32)
    y.backward(gy)
    np.testing.assert_allclose(x.g, np.where(y.d != 0, gy * 2, 0), rtol=1e-6)


def test_dropout_recompute_keeps_mask():
    x = nn.Variable.from_numpy_array(np.ones((8, 8), np.float32))
    y = F.dropout(x, p=0.5)
    y.forward()
    first = y.d.copy()
    y.parent.recompute([x], [y])
    np.testing.assert_array_equal(y.d, first)


def test_dropout_seeds():
    x = nn.Variable.from_numpy_array(np.ones((8, 8), np.float32))
    a, b = F.dropout(x, 0.5, seed=3), F.dropout(x, 0.5, seed=3)
    a.forward()
    b.forward()
    np.testing.assert_array_equal(a.d, b.d)
    nn.seed(5)
    c = F.dropout(x, 0.5)
    c.forward()
    nn.seed(5)
    d = F.dropout(x, 0.5)
    d.forward()
    np.testing.assert_array_equal(c.d, d.d)


def test_dropout_imperative():
    y = F.dropout(nn.NdArray.from_numpy_array(np.ones((3, 3), np.float32)), p=0.5, seed=1)
    assert isinstance(y, nn.NdArray)
    assert set(np.unique(y.data)) <= {0.0, 2.0}


def test_dropout_rejects_p():
    with pytest.raises(FunctionError, match=r"Dropout: p=1.0 must be in \[0, 1\)"):
        F.dropout(nn.Variable((2,)), p=1.0)


def test_random_choice_samples_population_by_weight():
    x = nn.Variable.from_numpy_array(np.array([[11, 22, 33], [110, 220, 330]], np.float32))
    w = nn.Variable.from_numpy_array(np.array([[0, 1, 1], [1, 0, 0]], np.float32))
    y = F.random_choice(x, w, shape=(3, 4), seed=0)
    assert y.shape == (2, 3, 4)
    y.forward()
    assert set(np.unique(y.d[0])) <= {22, 33}
    assert (y.d[1] == 110).all()
    assert F.random_choice(x, w).shape == (2, 1)


def test_random_choice_without_replacement_and_gradient():
    x = nn.Variable.from_numpy_array(np.array([[1, 2, 3, 4]], np.float32), need_grad=True)
    w = nn.Variable.from_numpy_array(np.array([[1, 1, 1, 1]], np.float32), need_grad=True)
    y = F.random_choice(x, w, shape=(4,), replace=False)
    y.forward()
    assert sorted(y.d[0]) == [1, 2, 3, 4]
    gy = np.array([[10, 20, 30, 40]], np.float32)
    y.backward(gy)
    # each chosen position collects the gradient of the output that took it
    expected = np.zeros((1, 4), np.float32)
    expected[0, (y.d[0] - 1).astype(int)] = gy[0]
    np.testing.assert_array_equal(x.g, expected)
    np.testing.assert_array_equal(w.g, expected)


def test_random_choice_errors():
    x = nn.Variable((2, 3))
    with pytest.raises(FunctionError, match="RandomChoice: input x of shape"):
        F.random_choice(x, nn.Variable((2, 4)))
    with pytest.raises(FunctionError, match="cannot draw 4 samples without replacement"):
        F.random_choice(x, nn.Variable((2, 3)), shape=(4,), replace=False)
