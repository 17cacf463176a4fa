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

BOXES = fixed([[0, 0.5, 1.0, 4.5, 3.0], [1, 1.2, 0.3, 2.9, 5.6], [0, -1.0, 2.0, 3.0, 6.5]])
DETECTIONS = fixed(
    [
        [
            [0.30, 0.30, 0.20, 0.20, 0.90, 0.80, 0.60],
            [0.32, 0.31, 0.20, 0.22, 0.80, 0.70, 0.90],
            [0.70, 0.70, 0.30, 0.30, 0.70, 0.90, 0.20],
            [0.71, 0.69, 0.28, 0.30, 0.95, 0.40, 0.95],
            [0.50, 0.50, 0.90, 0.90, 0.60, 0.99, 0.99],
            [0.10, 0.90, 0.10, 0.10, 0.30, 0.90, 0.90],
        ]
    ]
)
CORNER_BOXES = fixed(
    [
        [
            [0.0, 0.0, 0.4, 0.4],
            [0.05, 0.02, 0.42, 0.41],
            [0.5, 0.5, 0.9, 0.9],
            [0.9, 0.9, 0.52, 0.48],
            [0.0, 0.6, 0.3, 1.0],
        ],
        [
            [0.1, 0.1, 0.3, 0.3],
            [0.12, 0.1, 0.3, 0.33],
            [0.6, 0.6, 0.8, 0.8],
            [0.0, 0.0, 1.0, 1.0],
            [0.6, 0.62, 0.8, 0.8],
        ],
    ]
)
CENTER_BOXES = fixed([[[0.3, 0.3, 0.2, 0.2], [0.31, 0.32, 0.2, 0.2], [0.7, 0.7, 0.3, 0.3], [0.72, 0.7, 0.3, 0.28]]])


def _resize(**kw):
    return lambda F, x: F.onnx_resize(x, **kw)


FAMILIES["detection"] = {
    "roi_align": (lambda F, x, b: F.roi_align(x, b, (2, 3)), [randn(2, 3, 6, 7), BOXES], [0]),
    "roi_align_scale_ratio": (
        lambda F, x, b: F.roi_align(x, b, (3, 2), spatial_scale=(0.5, 1.5), sampling_ratio=2),
        [randn(2, 2, 5, 6), BOXES],
        [0],
    ),
    "nms_per_class": (lambda F, x: F.nms_detection2d(x), [DETECTIONS], []),
    "nms_by_objectness": (lambda F, x: F.nms_detection2d(x, 0.4, 0.3, False), [DETECTIONS], []),
    "onnx_nms_corners": (
        lambda F, b, s: F.onnx_non_max_suppression(b, s, max_output_boxes_per_class=3, iou_threshold=0.4),
        [CORNER_BOXES, uniform(0, 1, 2, 2, 5)],
        [],
    ),
    "onnx_nms_threshold_center": (
        lambda F, b, s: F.onnx_non_max_suppression(b, s, 1, 10, 0.3, 0.2),
        [CENTER_BOXES, uniform(0, 1, 1, 3, 4)],
        [],
    ),
    "onnx_nms_default_none": (
        lambda F, b, s: F.onnx_non_max_suppression(b, s),
        [CENTER_BOXES, uniform(0, 1, 1, 1, 4)],
        [],
    ),
    "resize_nearest_up": (_resize(scales=(1, 1, 2, 1.5)), [randn(1, 2, 3, 4)], []),
    "resize_nearest_floor_asymmetric": (
        _resize(scales=(1, 1, 0.6, 1.7), nearest_mode="floor", coordinate_transformation_mode="asymmetric"),
        [randn(1, 1, 5, 3)],
        [],
    ),
    "resize_nearest_ceil_align": (
        _resize(sizes=(2, 5, 7), nearest_mode="ceil", coordinate_transformation_mode="align_corners"),
        [randn(2, 3, 4)],
        [],
    ),
    "resize_nearest_prefer_ceil_tfnn": (
        _resize(
            scales=(1, 2.5), nearest_mode="round_prefer_ceil", coordinate_transformation_mode="tf_half_pixel_for_nn"
        ),
        [randn(3, 4)],
        [],
    ),
    "resize_linear_half_pixel": (_resize(sizes=(1, 1, 5, 7), mode="linear"), [randn(1, 1, 3, 4)], []),
    "resize_linear_down_pytorch": (
        _resize(scales=(1, 0.5, 0.75), mode="linear", coordinate_transformation_mode="pytorch_half_pixel"),
        [randn(2, 4, 4)],
        [],
    ),
    "resize_linear_3d_align": (
        _resize(sizes=(1, 3, 4, 2), mode="linear", coordinate_transformation_mode="align_corners"),
        [randn(1, 2, 3, 3)],
        [],
    ),
    "resize_cubic": (_resize(scales=(1, 1, 1.5, 2.0), mode="cubic"), [randn(1, 1, 4, 3)], []),
    "resize_cubic_exclude_outside": (
        _resize(sizes=(2, 3, 7), mode="cubic", cubic_coeff_a=-0.5, exclude_outside=1),
        [randn(2, 4, 4)],
        [],
    ),
    "resize_tf_crop_and_resize": (
        _resize(
            roi=(0, 0, 0.2, -0.1, 1, 1, 0.9, 1.2),
            sizes=(1, 1, 3, 5),
            mode="linear",
            coordinate_transformation_mode="tf_crop_and_resize",
            extrapolation_value=-3.0,
        ),
        [randn(1, 1, 4, 4)],
        [],
    ),
}

FAMILIES["augmentation"] = {
    "random_crop": (lambda F, x: F.random_crop(x, (3, 4), seed=7), [randn(3, 2, 5, 6)], [0]),
    "random_crop_channels_base_axis2": (
        lambda F, x: F.random_crop(x, (2, 5, 3), base_axis=2, seed=3),
        [randn(2, 2, 3, 6, 4)],
        [0],
    ),
    "random_flip": (lambda F, x: F.random_flip(x, (2, 3), seed=4), [randn(4, 2, 3, 4)], [0]),
    "random_flip_default_axis": (lambda F, x: F.random_flip(x, seed=1), [randn(5, 2, 3)], [0]),
    "random_shift_nearest": (lambda F, x: F.random_shift(x, (1, 2), seed=2), [randn(3, 2, 4, 5)], [0]),
    "random_shift_reflect": (
        lambda F, x: F.random_shift(x, (0, 2, 3), border_mode="reflect", seed=3),
        [randn(3, 2, 4, 5)],
        [0],
    ),
    "random_shift_constant": (
        lambda F, x: F.random_shift(x, (2, 2), border_mode="constant", constant_value=-1.5, seed=5),
        [randn(3, 1, 4, 4)],
        [0],
    ),
    "random_erase_shared": (
        lambda F, x: F.random_erase(x, prob=0.9, n=2, replacements=(-1.0, 1.0), seed=3),
        [randn(3, 2, 8, 9)],
        [0],
    ),
    "random_erase_per_channel_ste": (
        lambda F, x: F.random_erase(x, 0.7, (0.1, 0.3), (0.5, 2.0), share=False, ste_fine_grained=False, seed=4),
        [randn(2, 3, 7, 6)],
        [0],
    ),
    "image_augmentation": (
        lambda F, x: F.image_augmentation(
            x,
            (4, 5),
            (1, 1),
            0.8,
            1.2,
            0.3,
            1.3,
            0.2,
            True,
            True,
            0.1,
            True,
            1.5,
            0.5,
            True,
            seed=11,
        ),
        [uniform(0, 1, 1, 3, 6, 7)],
        [],
    ),
    "image_augmentation_batch_scale": (
        lambda F, x: F.image_augmentation(x, min_scale=0.7, max_scale=1.4, angle=0.5, flip_lr=True, seed=2),
        [uniform(0, 1, 3, 2, 5, 6)],
        [],
    ),
    # a batch drawn ahead (no noise) with per-channel brightness and contrast and a lens distortion
    "image_augmentation_batch_each": (
        lambda F, x: F.image_augmentation(
            x, (5, 6), (1, 0), 0.9, 1.1, 0.2, 1.2, 0.3, True, True, 0.2, True, 1.4, 0.3, True, seed=5
        ),
        [uniform(0, 1, 4, 3, 6, 7)],
        [],
    ),
}

FAMILIES["gradient"] = {
    "max_pooling_backward": (
        lambda F, dy, x: F.max_pooling_backward(dy, x, (2, 2)),
        [randn(2, 3, 2, 3), randn(2, 3, 4, 6)],
        [0, 1],
    ),
    "max_pooling_backward_stride_pad": (
        lambda F, dy, x: F.max_pooling_backward(dy, x, (3, 2), stride=(2, 1), pad=(1, 1)),
        [randn(1, 2, 3, 6), randn(1, 2, 5, 5)],
        [0, 1],
    ),
    "max_pooling_backward_border": (
        lambda F, dy, x: F.max_pooling_backward(dy, x, (2, 2), ignore_border=False),
        [randn(1, 2, 3, 2), randn(1, 2, 5, 3)],
        [0, 1],
    ),
    "top_k_grad": (lambda F, x: F.top_k_grad(x, 3), [randn(3, 7)], [0]),
    "top_k_grad_abs_base_axis2": (lambda F, x: F.top_k_grad(x, 2, abs=True, base_axis=2), [randn(2, 2, 3, 2)], [0]),
    "unlink": (lambda F, x: F.unlink(x), [randn(2, 3)], [0]),
    "vat_noise": (lambda F, x, w: F.vat_noise(x, w, eps=2.5), [randn(3, 2, 2), randn(3, 2, 2)], [0, 1]),
    "vat_noise_base_axis2": (lambda F, x, w: F.vat_noise(x, w, base_axis=2), [randn(2, 3, 4), randn(2, 3, 4)], []),
}

FAMILIES["convolution_variants"] = {
    "deformable_convolution": (
        lambda F, x, w, o: F.deformable_convolution(x, w, o),
        [randn(2, 2, 5, 5), randn(3, 2, 3, 3), uniform(-1.5, 1.5, 2, 18, 5, 5)],
        [0, 1, 2],
    ),
    "deformable_convolution_mask_bias_pad_stride_groups": (
        lambda F, x, w, o, m, b: F.deformable_convolution(
            x, w, o, m, b, pad=(1, 1), stride=(2, 1), dilation=(1, 2), group=2, deformable_group=2
        ),
        [randn(1, 4, 6, 6), randn(4, 2, 3, 3), uniform(-2.2, 2.2, 1, 36, 6, 6), uniform(0, 1, 1, 18, 6, 6), randn(4)],
        [0, 1, 2, 3, 4],
    ),
    "adaptive_separable_convolution": (
        lambda F, x, v, h: F.adaptive_separable_convolution(x, v, h),
        [randn(2, 3, 6, 7), randn(2, 3, 4, 5), randn(2, 3, 4, 5)],
        [0, 1, 2],
    ),
    "adaptive_separable_convolution_uneven": (
        lambda F, x, v, h: F.adaptive_separable_convolution(x, v, h),
        [randn(1, 2, 5, 6), randn(1, 2, 4, 2), randn(1, 5, 4, 2)],
        [0, 1, 2],
    ),
    "fused_convolution_bn_z_relu": (
        lambda F, x, w, be, ga, m, v, z: F.fused_convolution(x, w, None, be, ga, m, v, z, pad=(1, 1)),
        [
            randn(2, 2, 4, 4),
            randn(3, 2, 3, 3),
            randn(1, 3, 1, 1),
            randn(1, 3, 1, 1),
            randn(1, 3, 1, 1),
            uniform(0.5, 2, 1, 3, 1, 1),
            randn(2, 3, 4, 4),
        ],
        [0, 1, 2, 3, 6],
    ),
    "fused_convolution_bias_reflect_leaky": (
        lambda F, x, w, b: F.fused_convolution(
            x,
            w,
            b,
            pad=(1, 2, 0, 1),
            stride=(2, 1),
            nonlinearity="leaky_relu",
            nonlinearity_args=[0.2],
            pad_mode="reflect",
        ),
        [randn(1, 2, 5, 5), randn(2, 2, 2, 2), randn(2)],
        [0, 1, 2],
    ),
    "fused_convolution_inference_tanh": (
        lambda F, x, w, be, ga, m, v: F.fused_convolution(
            x, w, None, be, ga, m, v, batch_stat=False, nonlinearity="tanh", pad=(1, 1), constant_value=0.5
        ),
        [
            randn(2, 2, 3, 3),
            randn(2, 2, 2, 2),
            randn(1, 2, 1, 1),
            randn(1, 2, 1, 1),
            randn(1, 2, 1, 1),
            uniform(0.5, 2, 1, 2, 1, 1),
        ],
        [0, 1, 2, 3],
    ),
    # NNabla's CPU build cannot make a communicator: sync batch normalization is checked against this
    "batch_normalization_for_sync": (
        lambda F, x, be, ga, m, v: F.batch_normalization(x, be, ga, m, v),
        [randn(4, 3, 2, 2), randn(1, 3, 1, 1), randn(1, 3, 1, 1), randn(1, 3, 1, 1), uniform(0.5, 2, 1, 3, 1, 1)],
        [0, 1, 2],
    ),
}


# windowed pooling: tiled, overlapping, padded (counting the padding or not), clipped at the border (NNabla's CPU
# pooling refuses channel_last);
# an odd size leaves the last row out or clips its window
POOL_INPUT = randn(3, 2, 9, 8)
POOL_GEOMETRIES = {
    "2x2": dict(kernel=(2, 2)),
    "3x3_s2_p1": dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1)),
    "3x2_s1": dict(kernel=(3, 2), stride=(1, 1)),
    "2x2_border": dict(kernel=(2, 2), ignore_border=False),
    "3x3_s2_p10": dict(kernel=(3, 3), stride=(2, 2), pad=(1, 0)),
}


def _pool(fn, **kw):
    return lambda F, x: getattr(F, fn)(x, **kw)


FAMILIES["pooling"] = {
    **{
        f"{fn}_{name}": (_pool(fn, **kw), [POOL_INPUT], [0])
        for fn in ("average_pooling", "sum_pooling", "max_pooling")
        for name, kw in POOL_GEOMETRIES.items()
    },
    "average_pooling_3x3_s2_p1_excluding_pad": (
        _pool("average_pooling", kernel=(3, 3), stride=(2, 2), pad=(1, 1), including_pad=False),
        [POOL_INPUT],
        [0],
    ),
}
