"""RandomCrop, RandomFlip, RandomShift, RandomErase and ImageAugmentation: with an explicit seed they reproduce
real NNabla's outputs and gradients exactly (fixtures/augmentation.npz); statistics of the draws, seeding,
replay on recompute, and backward as the exact adjoint of the forward it follows."""

import nnabla_fixtures
import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
from nnabla.function import FunctionError
from opcheck import Case, check_forward, check_grad, randn, uniform

# configurations without randomness, for the generic float64 gradient check of each backward
DETERMINISTIC = [
    Case("random_crop_full", lambda x: F.random_crop(x, (3, 4), seed=1), lambda x: x, [randn(2, 2, 3, 4)]),
    Case("random_flip_no_axes", lambda x: F.random_flip(x, axes=[], seed=1), lambda x: x, [randn(3, 2, 4)]),
    Case("random_shift_zero", lambda x: F.random_shift(x, (0, 0), seed=1), lambda x: x, [randn(2, 3, 4)]),
    Case("random_erase_prob0", lambda x: F.random_erase(x, prob=0.0, seed=1), lambda x: x, [randn(2, 1, 3, 4)]),
]
NNABLA_CASES = nnabla_fixtures.cases("augmentation")


@pytest.mark.parametrize("case", DETERMINISTIC + NNABLA_CASES, ids=str)
def test_forward(case):
    check_forward(case)


@pytest.mark.parametrize("case", DETERMINISTIC, ids=str)
def test_grad(case):
    check_grad(case)


@pytest.mark.parametrize("name", nnabla_fixtures.names("augmentation"))
def test_matches_nnabla_with_a_seed(name):
    nnabla_fixtures.check_case("augmentation", name)


REMAPS = [
    lambda x: F.random_crop(x, (3, 2)),
    lambda x: F.random_flip(x, (2, 3)),
    lambda x: F.random_shift(x, (1, 2)),
    lambda x: F.random_shift(x, (2, 1), border_mode="reflect"),
    lambda x: F.random_shift(x, (2, 2), border_mode="constant", constant_value=3.0),
]


@pytest.mark.parametrize("build", REMAPS)
def test_backward_is_the_adjoint_of_the_forward_it_follows(build):
    """y = A x + c with the draws of the last forward: <y - c, gy> == <x, backward(gy)>."""
    rng = np.random.RandomState(0)
    x0 = rng.randn(6, 2, 4, 5).astype(np.float32)
    x = nn.Variable.from_numpy_array(x0, need_grad=True)
    y = build(x)
    y.forward()
    y0 = y.d.copy()
    gy = rng.randn(*y.shape).astype(np.float32)
    x.grad.zero()
    y.backward(gy)
    x.d = np.zeros_like(x0)
    y.parent.recompute([x], [y])  # the same draws: only the constant border c remains
    np.testing.assert_allclose(np.sum((y0 - y.d) * gy), np.sum(x0 * x.g), rtol=1e-4)


def test_random_erase_gradient_is_zero_where_erased():
    x = nn.Variable.from_numpy_array(np.full((8, 1, 6, 6), 5.0, np.float32), need_grad=True)
    y = F.random_erase(x, prob=1.0, replacements=(-1.0, 0.0), seed=2)
    y.forward()
    erased = y.d != 5.0
    assert erased.any() and not erased.all()
    x.grad.zero()
    y.backward(np.ones(y.shape, np.float32))
    np.testing.assert_array_equal(x.g, np.where(erased, 0.0, 1.0))
    y = F.random_erase(x, prob=1.0, ste_fine_grained=False, seed=2)
    y.forward()
    x.grad.zero()
    y.backward(np.ones(y.shape, np.float32))
    np.testing.assert_array_equal(x.g, np.ones(x.shape))


def test_random_flip_flips_half_the_samples():
    x = nn.Variable.from_numpy_array(np.tile(np.arange(3, dtype=np.float32), (2000, 1, 1)))
    y = F.random_flip(x, seed=5)
    y.forward()
    flipped = (y.d[:, 0, 0] == 2).mean()
    assert set(np.unique(y.d[:, 0, 0])) == {0, 2}
    assert abs(flipped - 0.5) < 0.04


def test_random_shift_draws_every_shift_uniformly():
    x = nn.Variable.from_numpy_array(np.tile(np.arange(9, dtype=np.float32), (3000, 1)))
    y = F.random_shift(x, (2,), border_mode="constant", constant_value=-1, seed=3)
    y.forward()
    shift = 4 - y.d[:, 4]  # the centre reads index 4 - shift
    counts = np.bincount(shift.astype(int) + 2, minlength=5)
    assert counts.sum() == 3000 and (np.abs(counts / 3000 - 0.2) < 0.03).all()


def test_random_crop_positions_cover_the_range():
    x = nn.Variable.from_numpy_array(np.tile(np.arange(10, dtype=np.float32), (2000, 1, 1)))
    y = F.random_crop(x, (4,), seed=9)
    assert y.shape == (2000, 1, 4)
    y.forward()
    starts = y.d[:, 0, 0].astype(int)
    np.testing.assert_array_equal(y.d[:, 0], starts[:, None] + np.arange(4))
    counts = np.bincount(starts, minlength=7)
    assert len(counts) == 7 and (np.abs(counts / 2000 - 1 / 7) < 0.03).all()


def test_random_erase_rate_area_and_values():
    x = nn.Variable.from_numpy_array(np.zeros((4000, 1, 10, 10), np.float32))
    y = F.random_erase(x, prob=0.3, area_ratios=(0.1, 0.2), aspect_ratios=(1.0, 1.0), replacements=(2.0, 4.0), seed=1)
    y.forward()
    erased = y.d != 0
    hit = erased.any(axis=(1, 2, 3))
    assert abs(hit.mean() - 0.3) < 0.03
    values = y.d[erased]
    assert values.min() >= 2 and values.max() < 4 and abs(values.mean() - 3) < 0.02
    # a filled rectangle from a square of 10..20 pixels: side 3 or 4, plus the inclusive end NNabla counts,
    # minus one where that end falls off the image
    boxes = erased[hit][:, 0]
    rows, cols = boxes.any(axis=2).sum(axis=1), boxes.any(axis=1).sum(axis=1)
    np.testing.assert_array_equal(boxes.sum(axis=(1, 2)), rows * cols)
    assert set(np.unique(rows)) | set(np.unique(cols)) <= {3, 4, 5}


def test_image_augmentation_statistics():
    x = nn.Variable.from_numpy_array(np.full((500, 1, 8, 8), 0.5, np.float32))
    y = F.image_augmentation(x, brightness=0.2, seed=4)
    y.forward()
    shift = y.d[:, 0, 0, 0] - 0.5
    assert np.allclose(y.d, y.d[:, :, :1, :1], atol=1e-6)  # one brightness per image
    assert shift.min() >= -0.2 - 1e-6 and shift.max() <= 0.2 + 1e-6 and abs(shift.mean()) < 0.02
    noisy = F.image_augmentation(x, noise=0.1, seed=4)
    noisy.forward()
    assert 0.03 < (noisy.d - 0.5).std() < 0.07  # the noise level itself is drawn in [0, noise]
    assert F.image_augmentation(nn.Variable((2, 3, 8, 8)), shape=(3, 5, 6)).shape == (2, 3, 5, 6)


@pytest.mark.parametrize(
    "build",
    [
        lambda x: F.random_crop(x, (3, 3)),
        lambda x: F.random_flip(x),
        lambda x: F.random_shift(x, (1, 1)),
        lambda x: F.random_erase(x, prob=1.0),
        lambda x: F.image_augmentation(x, angle=0.4),
    ],
)
def test_seeds_and_recompute(build):
    x = nn.Variable.from_numpy_array(uniform(0, 1, 16, 2, 5, 5))
    nn.seed(7)
    a = build(x)
    a.forward()
    nn.seed(7)
    b = build(x)
    b.forward()
    np.testing.assert_array_equal(a.d, b.d)
    first = a.d.copy()
    a.forward()
    assert not np.array_equal(a.d, first)  # the generator moves on
    second = a.d.copy()
    a.parent.recompute([x], [a])
    np.testing.assert_array_equal(a.d, second)
    assert a.parent.need_setup_recompute(0)


def test_resolved_arguments_are_nnablas():
    x = nn.Variable((2, 3, 4, 4))
    assert F.random_flip(x).parent.info.args["axes"] == [3]
    assert F.random_shift(x).parent.info.args["shifts"] == [0, 0, 0, 0]
    assert F.random_crop(x).parent.info.args["shape"] == (2, 3, 4, 4)
    assert F.random_erase(x).parent.info.args["n"] == 1
    assert F.image_augmentation(x).parent.info.args["shape"] == (2, 3, 4, 4)


def test_image_augmentation_has_no_backward():
    x = nn.Variable((1, 1, 4, 4), need_grad=True)
    y = F.image_augmentation(x)
    y.forward()
    with pytest.raises(FunctionError, match="ImageAugmentation: there is no backward"):
        y.backward()


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: F.random_crop(nn.Variable((2, 3, 4)), (5, 2)), "must fit"),
        (lambda: F.random_crop(nn.Variable((2, 3, 4)), (1, 3, 4)), "sample axes"),
        (lambda: F.random_flip(nn.Variable((2, 3)), axes=(0,)), "sample axes"),
        (lambda: F.random_shift(nn.Variable((2, 3)), (1, 1)), "sample axes"),
        (lambda: F.random_shift(nn.Variable((2, 3)), (1,), border_mode="wrap"), "border_mode"),
        (lambda: F.random_erase(nn.Variable((2, 3, 4))), "exactly 3 axes"),
        (lambda: F.random_erase(nn.Variable((2, 3, 4, 4)), prob=1.5), "prob=1.5"),
        (lambda: F.random_erase(nn.Variable((2, 3, 4, 4)), channel_last=True), "channel_last"),
        (lambda: F.image_augmentation(nn.Variable((4,))), "at least 2 axes"),
    ],
)
def test_errors(build, match):
    with pytest.raises(FunctionError, match=match):
        build()
