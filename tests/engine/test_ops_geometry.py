"""AffineGrid, WarpByGrid, WarpByFlow and PatchCorrelation against loop references, with gradient checks; every
padding and interpolation mode also against real NNabla's stored outputs and gradients (fixtures/geometry.npz)."""

import itertools

import nnabla_fixtures
import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
from nnabla.function import FunctionError
from opcheck import Case, check_forward, check_grad, randn, uniform


def ref_affine_grid(theta, size, align_corners=False):
    n = len(size)
    lines = [np.linspace(-1, 1, s) * (1 if align_corners else (s - 1) / s) for s in size]
    out = np.zeros((theta.shape[0],) + tuple(size) + (n,))
    for b in range(theta.shape[0]):
        for pos in itertools.product(*map(range, size)):
            target = [lines[i][pos[i]] for i in reversed(range(n))] + [1.0]  # (x, y[, z], 1)
            out[(b,) + pos] = theta[b] @ np.array(target)
    return out


def ref_warp_linear_zero(x, grid):
    """Bilinear sampling in 2-D, zero outside, pixel centres at ((g + 1) * S - 1) / 2."""
    b, c, h, w = x.shape
    out = np.zeros((b, c) + grid.shape[1:3])
    for n, i, j in itertools.product(range(b), range(grid.shape[1]), range(grid.shape[2])):
        fx = ((grid[n, i, j, 0] + 1) * w - 1) / 2
        fy = ((grid[n, i, j, 1] + 1) * h - 1) / 2
        x0, y0 = int(np.floor(fx)), int(np.floor(fy))
        for yy, xx in itertools.product((y0, y0 + 1), (x0, x0 + 1)):
            if 0 <= yy < h and 0 <= xx < w:
                out[n, :, i, j] += x[n, :, yy, xx] * (1 - abs(fx - xx)) * (1 - abs(fy - yy))
    return out


def ref_warp_by_flow(data, flow):
    n, c, h, w = data.shape
    out = np.zeros_like(data, dtype=np.float64)
    for b, i, j in itertools.product(range(n), range(h), range(w)):
        fx, fy = j + flow[b, 0, i, j], i + flow[b, 1, i, j]
        x0, y0 = np.floor(fx), np.floor(fy)
        for yy, xx in itertools.product((y0, y0 + 1), (x0, x0 + 1)):
            weight = (1 - abs(fx - xx)) * (1 - abs(fy - yy))
            out[b, :, i, j] += weight * data[b, :, int(np.clip(yy, 0, h - 1)), int(np.clip(xx, 0, w - 1))]
    return out


def ref_patch_correlation(x1, x2, patch, shift, patch_step, shift_step, padding):
    """NNabla's formula on NCHW inputs: zero outside the image, output (N, Cy, Cx, Ho, Wo)."""
    n, c, h, w = x1.shape
    t, b, left, r = padding
    ys = range(-t, h - patch[0] + b + 1, patch_step[0])
    xs = range(-left, w - patch[1] + r + 1, patch_step[1])
    sy = range(-shift[0], shift[0] + 1, shift_step[0])
    sx = range(-shift[1], shift[1] + 1, shift_step[1])
    out = np.zeros((n, len(sy), len(sx), len(ys), len(xs)))

    def at(x, k, i, j):
        return x[k, :, i, j] if 0 <= i < h and 0 <= j < w else np.zeros(c)

    for k in range(n):
        for (a, y), (bb, x), (p, dy), (q, dx) in itertools.product(
            enumerate(ys), enumerate(xs), enumerate(sy), enumerate(sx)
        ):
            for ky, kx in itertools.product(range(patch[0]), range(patch[1])):
                out[k, p, q, a, bb] += at(x1, k, y + ky, x + kx) @ at(x2, k, y + ky + dy, x + kx + dx)
    return out


# grids and flows kept away from integer source positions, where bilinear weights have kinks
GRID = uniform(-1.25, 1.25, 2, 3, 4, 2, seed=3)
FLOW = (np.round(uniform(-2.0, 2.0, 1, 2, 3, 4, seed=4)) + 0.3).astype(np.float32)

CASES = [
    Case("affine_grid_2d", lambda t: F.affine_grid(t, (3, 4)), lambda t: ref_affine_grid(t, (3, 4)), [randn(2, 2, 3)]),
    Case(
        "affine_grid_3d_align",
        lambda t: F.affine_grid(t, (2, 2, 3), align_corners=True),
        lambda t: ref_affine_grid(t, (2, 2, 3), True),
        [randn(1, 3, 4)],
    ),
    Case("warp_by_grid", F.warp_by_grid, ref_warp_linear_zero, [randn(2, 2, 3, 4), GRID], atol=1e-5, grad_atol=1e-4),
    Case("warp_by_flow", F.warp_by_flow, ref_warp_by_flow, [randn(1, 2, 3, 4), FLOW], atol=1e-5),
    Case(
        "patch_correlation",
        lambda a, b: F.patch_correlation(a, b, patch=(2, 2), shift=(1, 1), padding=(1, 0, 0, 1)),
        lambda a, b: ref_patch_correlation(a, b, (2, 2), (1, 1), (1, 1), (1, 1), (1, 0, 0, 1)),
        [randn(1, 2, 3, 4), randn(1, 2, 3, 4, seed=1)],
        atol=1e-5,
    ),
    Case(
        "patch_correlation_steps",
        lambda a, b: F.patch_correlation(a, b, patch=(1, 2), shift=(2, 1), patch_step=(2, 1), shift_step=(2, 1)),
        lambda a, b: ref_patch_correlation(a, b, (1, 2), (2, 1), (2, 1), (2, 1), (0, 0, 0, 0)),
        [randn(2, 3, 4, 4), randn(2, 3, 4, 4, seed=1)],
        atol=1e-5,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_forward(case):
    check_forward(case)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_grad(case):
    check_grad(case)


@pytest.mark.parametrize("name", nnabla_fixtures.names("geometry"))
def test_matches_nnabla(name):
    nnabla_fixtures.check_case("geometry", name)


def test_identity_theta_reproduces_the_image():
    x = nn.Variable.from_numpy_array(randn(1, 2, 3, 5))
    theta = nn.Variable.from_numpy_array(np.array([[[1, 0, 0], [0, 1, 0]]], np.float32))
    y = F.warp_by_grid(x, F.affine_grid(theta, (3, 5)))
    y.forward()
    np.testing.assert_allclose(y.d, x.d, atol=1e-6)


def test_patch_correlation_documented_values():
    x = nn.Variable.from_numpy_array(np.ones((1, 2, 3, 4), np.float32))
    y = F.patch_correlation(x, x, (3, 1), shift=(0, 1))
    y.forward()
    assert y.shape == (1, 1, 3, 1, 4)
    np.testing.assert_array_equal(y.d.reshape(3, 4), [[0, 6, 6, 6], [6, 6, 6, 6], [6, 6, 6, 0]])
    assert y.parent.info.type_name == "Transpose"
    assert y.parent.inputs[0].parent.info.type_name == "PatchCorrelation"


def test_nearest_has_no_grid_gradient():
    x, g = nn.Variable((1, 1, 2, 2), need_grad=True), nn.Variable.from_numpy_array(GRID[:1], need_grad=True)
    y = F.warp_by_grid(x, g, mode="nearest")
    y.forward()
    with pytest.raises(FunctionError, match="WarpByGrid: there is no gradient in the grid"):
        y.backward()


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: F.affine_grid(nn.Variable((2, 2, 3)), (2, 3, 4)), r"theta of shape \(2, 2, 3\) must be \(B, 3, 4\)"),
        (lambda: F.affine_grid(nn.Variable((2, 2, 3)), (4,)), "size="),
        (lambda: F.warp_by_grid(nn.Variable((2, 1, 3, 3)), nn.Variable((1, 3, 3, 2))), "batch size"),
        (lambda: F.warp_by_grid(nn.Variable((1, 1, 3, 3)), nn.Variable((1, 3, 3, 3))), "must be"),
        (lambda: F.warp_by_grid(nn.Variable((1, 1, 3, 3)), nn.Variable((1, 3, 3, 2)), mode="cubic"), "mode="),
        (
            lambda: F.warp_by_grid(nn.Variable((1, 3, 3, 1)), nn.Variable((1, 3, 3, 2)), channel_last=True),
            "channel_last",
        ),
        (lambda: F.warp_by_flow(nn.Variable((1, 1, 3, 3)), nn.Variable((1, 3, 3, 3))), "flow of shape"),
        (lambda: F.patch_correlation(nn.Variable((1, 1, 3, 3)), nn.Variable((1, 1, 3, 4))), "must be equal"),
        (lambda: F.patch_correlation(nn.Variable((1, 1, 3, 3)), nn.Variable((1, 1, 3, 3)), patch=0), "patch="),
    ],
)
def test_errors(build, match):
    with pytest.raises(FunctionError, match=match):
        build()
