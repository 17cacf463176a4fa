"""Cases whose expected outputs and gradients come from real NNabla 1.36 (stored in tests/engine/fixtures/).

Each family maps a case name to ``(build, inputs, grad_inputs)``: ``build(F, *variables)`` makes the graph with
either library's ``nnabla.functions``; ``inputs`` describe the arrays (made once by make_fixtures.py and stored);
``grad_inputs`` are the indices whose gradients are stored. Plain Python only: both libraries import this file.
"""


def randn(*shape):
    return ("randn", shape)


def uniform(low, high, *shape):
    return ("uniform", low, high, shape)


def fixed(values):
    return ("fixed", values)


# grids reaching past [-1, 1], so every padding mode matters
GRID_2D = uniform(-1.6, 1.6, 2, 3, 4, 2)
GRID_3D = uniform(-1.4, 1.4, 1, 2, 3, 2, 3)


def _warp(**kw):
    return lambda F, x, g: F.warp_by_grid(x, g, **kw)


FAMILIES = {
    "geometry": {
        "affine_grid_2d": (lambda F, t: F.affine_grid(t, (3, 4)), [randn(2, 2, 3)], [0]),
        "affine_grid_2d_align": (lambda F, t: F.affine_grid(t, (2, 5), align_corners=True), [randn(1, 2, 3)], [0]),
        "affine_grid_3d": (lambda F, t: F.affine_grid(t, (2, 3, 2)), [randn(2, 3, 4)], [0]),
        **{
            f"warp_{mode}_{pad}{'_align' if align else ''}": (
                _warp(mode=mode, padding_mode=pad, align_corners=align),
                [randn(2, 2, 4, 5), GRID_2D],
                [0, 1] if mode == "linear" else [0],
            )
            for mode in ("linear", "nearest")
            for pad in ("zero", "repeat", "reflect")
            for align in (False, True)
        },
        "warp_linear_3d_reflect": (_warp(padding_mode="reflect"), [randn(1, 2, 3, 4, 3), GRID_3D], [0, 1]),
        "warp_nearest_3d_repeat": (_warp(mode="nearest", padding_mode="repeat"), [randn(1, 2, 3, 4, 3), GRID_3D], [0]),
        "warp_by_flow": (
            lambda F, d, f: F.warp_by_flow(d, f),
            [randn(2, 3, 4, 5), uniform(-2.7, 2.7, 2, 2, 4, 5)],
            [0, 1],
        ),
        "patch_correlation": (
            lambda F, a, b: F.patch_correlation(
                a, b, patch=(2, 3), shift=(1, 2), shift_step=(1, 2), padding=(1, 0, 2, 1)
            ),
            [randn(2, 3, 4, 5), randn(2, 3, 4, 5)],
            [0, 1],
        ),
        "patch_correlation_channel_last_step": (
            lambda F, a, b: F.patch_correlation(a, b, patch=2, shift=1, patch_step=(2, 1), channel_last=True),
            [randn(1, 5, 4, 2), randn(1, 5, 4, 2)],
            [0, 1],
        ),
        "patch_correlation_one_channel": (
            lambda F, a, b: F.patch_correlation(a, b, shift=(1, 1), padding=1),
            [randn(1, 1, 3, 3), randn(1, 1, 3, 3)],
            [0, 1],
        ),
    },
}
