"""RoiAlign, NmsDetection2d, ONNXNonMaxSuppression and ONNXResize: forward against real NNabla's stored outputs
for every mode (fixtures/detection.npz), RoiAlign also against a loop reference with a gradient check."""

import itertools

import nnabla_fixtures
import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
from nnabla.function import FunctionError
from opcheck import Case, check_forward, check_grad, randn


def ref_roi_align(x, boxes, output_size, spatial_scale=(1.0, 1.0), sampling_ratio=-1):
    """Mask R-CNN's RoIAlign as NNabla computes it: pixel centres at +0.5, bins averaged over a sampling grid,
    samples more than one pixel outside skipped, the rest clamped to the image."""
    _, c, h, w = x.shape
    oh, ow = output_size
    out = np.zeros((len(boxes), c, oh, ow))

    def sample(img, fy, fx):
        fy, fx = min(max(fy, 0), h - 1), min(max(fx, 0), w - 1)
        y0, x0 = int(fy), int(fx)
        y1, x1 = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
        ly, lx = fy - y0, fx - x0
        return (
            img[:, y0, x0] * (1 - ly) * (1 - lx)
            + img[:, y0, x1] * (1 - ly) * lx
            + img[:, y1, x0] * ly * (1 - lx)
            + img[:, y1, x1] * ly * lx
        )

    for k, (b, x1, y1, x2, y2) in enumerate(boxes):
        top, left = y1 * spatial_scale[0] - 0.5, x1 * spatial_scale[1] - 0.5
        bin_h, bin_w = (y2 * spatial_scale[0] - 0.5 - top) / oh, (x2 * spatial_scale[1] - 0.5 - left) / ow
        gy = sampling_ratio if sampling_ratio > 0 else int(np.ceil(bin_h))
        gx = sampling_ratio if sampling_ratio > 0 else int(np.ceil(bin_w))
        for i, j in itertools.product(range(oh), range(ow)):
            for a, bb in itertools.product(range(gy), range(gx)):
                fy = top + i * bin_h + (a + 0.5) * bin_h / gy
                fx = left + j * bin_w + (bb + 0.5) * bin_w / gx
                if -1 <= fy <= h and -1 <= fx <= w:
                    out[k, :, i, j] += sample(x[int(b)], fy, fx) / (gx * gy)
    return out


BOXES = np.array([[0, 0.6, 1.1, 4.4, 3.2], [1, 1.3, 0.2, 3.1, 5.7], [0, -1.2, 2.1, 3.3, 6.4]], np.float32)

CASES = [
    Case(
        "roi_align",
        lambda x, b: F.roi_align(x, b, (2, 3)),
        lambda x, b: ref_roi_align(x, b, (2, 3)),
        [randn(2, 2, 6, 7), BOXES],
        grad_inputs=[0],
        atol=1e-5,
    ),
    Case(
        "roi_align_scale_ratio",
        lambda x, b: F.roi_align(x, b, (3, 2), spatial_scale=(0.5, 1.5), sampling_ratio=3),
        lambda x, b: ref_roi_align(x, b, (3, 2), (0.5, 1.5), 3),
        [randn(2, 1, 5, 6), BOXES],
        grad_inputs=[0],
        atol=1e-5,
    ),
    Case(
        "roi_align_channel_last",
        lambda x, b: F.roi_align(x, b, (2, 2), channel_last=True),
        lambda x, b: np.moveaxis(ref_roi_align(np.moveaxis(x, -1, 1), b, (2, 2)), 1, -1),
        [randn(2, 5, 6, 3), BOXES],
        grad_inputs=[0],
        atol=1e-5,
    ),
]
NNABLA_CASES = nnabla_fixtures.cases("detection", grad_names=("roi_align", "roi_align_scale_ratio"), atol=1e-5)


@pytest.mark.parametrize("case", CASES + NNABLA_CASES, ids=str)
def test_forward(case):
    check_forward(case)


@pytest.mark.parametrize("case", CASES + [c for c in NNABLA_CASES if c.grad], ids=str)
def test_grad(case):
    check_grad(case)


@pytest.mark.parametrize("name", [n for n in nnabla_fixtures.names("detection") if n.startswith("roi")])
def test_gradients_match_nnabla(name):
    nnabla_fixtures.check_case("detection", name)


def test_nms_outputs_carry_no_gradient_and_defaults_are_nnablas():
    x = nn.Variable((1, 4, 7), need_grad=True)
    y = F.nms_detection2d(x)
    assert not y.need_grad
    assert y.parent.info.args == {"thresh": 0.5, "nms": 0.45, "nms_per_class": True}
    boxes, scores = nn.Variable((1, 4, 4)), nn.Variable((1, 2, 4))
    sel = F.onnx_non_max_suppression(boxes, scores)
    assert sel.shape == (0, 3)  # max_output_boxes_per_class=0 selects nothing
    assert sel.parent.info.args == {
        "center_point_box": 0,
        "max_output_boxes_per_class": 0,
        "iou_threshold": 0.0,
        "score_threshold": 0.0,
    }


def test_onnx_nms_selects_when_the_graph_is_built():
    """As in NNabla the selection is made from the data present at build time (its size fixes the output)."""
    rng = np.random.RandomState(0)
    boxes = nn.Variable.from_numpy_array(rng.rand(1, 5, 4).astype(np.float32))
    scores = nn.Variable.from_numpy_array(rng.rand(1, 2, 5).astype(np.float32))
    y = F.onnx_non_max_suppression(boxes, scores, max_output_boxes_per_class=5, iou_threshold=1.0)
    assert y.shape == (10, 3)
    y.forward()
    assert y.d.dtype == np.uint64
    assert sorted(y.d[y.d[:, 1] == 0, 2]) == [0, 1, 2, 3, 4]
    first = y.d.copy()
    scores.d = 1 - scores.d
    y.forward()
    np.testing.assert_array_equal(y.d, first)


def test_onnx_resize_has_no_backward():
    x = nn.Variable((1, 1, 2, 2), need_grad=True)
    y = F.onnx_resize(x, scales=(1, 1, 2, 2))
    assert y.need_grad and y.shape == (1, 1, 4, 4)
    y.forward()
    with pytest.raises(FunctionError, match="ONNXResize: backward is not implemented"):
        y.backward()


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: F.roi_align(nn.Variable((1, 2, 4, 4)), nn.Variable((3, 4)), (2, 2)), r"boxes of shape \(3, 4\)"),
        (lambda: F.roi_align(nn.Variable((2, 4, 4)), nn.Variable((3, 5)), (2, 2)), "must be 4-D"),
        (lambda: F.roi_align(nn.Variable((1, 2, 4, 4)), nn.Variable((3, 5)), (0, 2)), "output_size"),
        (lambda: F.nms_detection2d(nn.Variable((1, 4, 5))), "classes"),
        (lambda: F.onnx_non_max_suppression(nn.Variable((1, 4, 4)), nn.Variable((1, 2, 3))), "scores of shape"),
        (lambda: F.onnx_non_max_suppression(nn.Variable((1, 4, 4)), nn.Variable((1, 2, 4)), 2), "center_point_box"),
        (lambda: F.onnx_resize(nn.Variable((1, 2, 3))), "exactly one of sizes and scales"),
        (lambda: F.onnx_resize(nn.Variable((1, 2, 3)), scales=(1, 2)), "one entry per axis"),
        (lambda: F.onnx_resize(nn.Variable((2, 2, 2, 2)), scales=(2, 2, 2, 2)), "only 1-D, 2-D and 3-D"),
        (lambda: F.onnx_resize(nn.Variable((2, 2)), scales=(1, 2), mode="area"), "mode="),
    ],
)
def test_errors(build, match):
    with pytest.raises(FunctionError, match=match):
        build()


def test_roi_align_rejects_a_bad_batch_index():
    y = F.roi_align(
        nn.Variable((1, 1, 4, 4)), nn.Variable.from_numpy_array(np.array([[3, 0, 0, 2, 2]], np.float32)), (1, 1)
    )
    with pytest.raises(FunctionError, match="batch index 3"):
        y.forward()
