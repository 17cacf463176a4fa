"""Quantization functions: forward against numpy references written here, gradients against the straight-through
rules NNabla defines (written out below), the inputs NNabla updates in place, and bad arguments."""

import numpy as np
import pytest
from rerun_checks import check_cleared_buffers_and_accumulation

import nnabla as nn
import nnabla.functions as F
from nnabla.function import FunctionError
from opcheck import Case, check_forward, check_grad, randn

# values on and off the quantization grids, none on a rounding boundary
X = np.array([[0.0, 0.3, -0.71, 2.0, 9.0], [-9.0, 0.02, -0.0041, 1.1, -3.3], [0.13, 5.5, -0.45, 0.9, 7.2]], np.float32)


def half_away(v):
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


def fixed_point_ref(x, sign=True, n=8, delta=0.0625):
    top = (2 ** (n - 1 if sign else n) - 1) * delta
    low = -top if sign else 0.0
    inside = np.sign(x) * np.floor(np.abs(x) / delta + 0.5) * delta
    return np.where(x > top, top, np.where(x < low, low, inside))


def pow2_levels(x):
    with np.errstate(divide="ignore"):
        return 2.0 ** half_away(np.log2(np.abs(x)))


def pow2_ref(x, sign=True, with_zero=True, n=8, m=1):
    bits = n - sign - with_zero
    top, bottom = 2.0**m, 2.0 ** (m - (2**bits - 1))
    out = []
    for v, q in zip(x.ravel(), pow2_levels(x).ravel()):
        if q > top:
            q = top
        elif q < bottom:
            q = (0.0 if abs(v) < bottom / np.sqrt(2) else bottom) if with_zero else bottom
        if v < 0:
            q = -q if sign else (0.0 if with_zero else bottom)
        out.append(q)
    return np.array(out).reshape(x.shape)


def nudged_range(qr_min, qr_max, ql_min, ql_max, eps=0.01):
    qr_max = np.where(qr_max - qr_min < eps, qr_min + eps, qr_max)
    scale = (qr_max - qr_min) / (ql_max - ql_min)
    zero = np.clip(half_away(ql_min - qr_min / scale), ql_min, ql_max)
    return (ql_min - zero) * scale, (ql_max - zero) * scale, scale


def min_max_ref(x, qr_min, qr_max, ql_min, ql_max):
    lo, hi, scale = nudged_range(qr_min, qr_max, ql_min, ql_max)
    return half_away((np.clip(x, lo, hi) - lo) / scale) * scale + lo


def quantize_linear_ref(x, scale, zero, half_to_even=False, low=-128, high=127):
    rnd = np.rint if half_to_even else half_away
    return np.clip(rnd(x / scale) + np.clip(rnd(zero), low, high), low, high)


def prune_ref(x, rate):
    threshold = np.sort(np.abs(x).ravel())[int((x.size - 1) * rate)] + (1 if rate == 1 else 0)
    return np.where(np.abs(x) < threshold, 0, x)


def sign_ref(w, zero_to=1.0):
    return np.where(w > 0, 1.0, np.where(w < 0, -1.0, zero_to))


def conv_ref(x, w, b=None, pad=0, stride=1, group=1):
    """2-D convolution by loops over output positions (channels first)."""
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    oh, ow = (h - kh) // stride + 1, (wd - kw) // stride + 1
    y = np.zeros((n, o, oh, ow))
    per = o // group
    for j in range(o):
        g = j // per
        for r in range(oh):
            for s in range(ow):
                patch = x[:, g * cg : (g + 1) * cg, r * stride : r * stride + kh, s * stride : s * stride + kw]
                y[:, j, r, s] = (patch * w[j]).sum(axis=(1, 2, 3))
    return y if b is None else y + b.reshape(1, -1, 1, 1)


def inq_pow2_ref(w, num_bits):
    """INQ's power-of-two levels: exponents in [n1 + 1 - 2^(num_bits - 2), n1] from the largest |w|, rounding up
    from 1.5 times a power of two, zero below half the smallest level."""
    top = np.abs(w).max() or 1.0
    frac = np.log2(top) - np.floor(np.log2(top))
    n1 = int(np.floor(np.log2(top)) + (frac >= np.log2(1.5)))
    n2 = n1 + 1 - 2 ** (num_bits - 2)
    out = []
    for v in w.ravel():
        if abs(v) < 2.0 ** (n2 - 1):
            out.append(0.0)
            continue
        b = np.log2(abs(v))
        e = np.clip(np.floor(b) + (b - np.floor(b) >= np.log2(1.5)), n2, n1)
        out.append(np.sign(v) * 2.0**e)
    return np.array(out).reshape(w.shape)


XA, WA, BA = randn(2, 3, 4), randn(12, 5, seed=1), randn(5, seed=2)
WA[0, 0] = 0.0
XC, WC, BC = randn(2, 4, 5, 5), randn(6, 2, 3, 3, seed=3), randn(6, seed=4)
WC[1, 0, 0, 0] = 0.0
QR_MIN, QR_MAX = np.array([[-1.0], [0.3], [-5.0]], np.float32), np.array([[1.5], [0.305], [2.0]], np.float32)
QL_MIN, QL_MAX = np.zeros((3, 1), np.float32), np.full((3, 1), 15, np.float32)
SCALE, ZERO = np.array([[0.5], [0.1], [0.25]], np.float32), np.array([[2.6], [-3.5], [300.0]], np.float32)


def conv_case(name, fn, ref, extra, **kw):
    return Case(name, fn, ref, [XC, WC, *extra, BC], **kw)


CASES = [
    Case("fixed_point_quantize", F.fixed_point_quantize, fixed_point_ref, [X], grad=False),
    Case(
        "fixed_point_quantize_unsigned_4bit",
        lambda x: F.fixed_point_quantize(x, sign=False, n=4, delta=0.25),
        lambda x: fixed_point_ref(x, False, 4, 0.25),
        [X],
        grad=False,
    ),
    Case("pow2_quantize", F.pow2_quantize, pow2_ref, [X], grad=False),
    Case(
        "pow2_quantize_unsigned_no_zero",
        lambda x: F.pow2_quantize(x, sign=False, with_zero=False, n=4, m=2),
        lambda x: pow2_ref(x, False, False, 4, 2),
        [X],
        grad=False,
    ),
    Case(
        "pow2_quantize_signed_with_zero_4bit",
        lambda x: F.pow2_quantize(x, n=4, m=0),
        lambda x: pow2_ref(x, True, True, 4, 0),
        [X],
        grad=False,
    ),
    Case(
        "min_max_quantize",
        F.min_max_quantize,
        min_max_ref,
        [X, QR_MIN, QR_MAX, QL_MIN, QL_MAX],
        grad_inputs=[0, 1, 2],
        grad=False,
    ),
    Case(
        "quantize_linear",
        lambda x, s, z: F.quantize_linear(x * 10, s, z),
        lambda x, s, z: quantize_linear_ref(x * 10, s, z),
        [X, SCALE, ZERO],
        grad_inputs=[0],
        grad=False,
    ),
    Case(
        "quantize_linear_uint8_narrow_half_to_even",
        lambda x, s, z: F.quantize_linear(x * 10, s, z, "HALF_TO_EVEN", True, np.uint8),
        lambda x, s, z: quantize_linear_ref(x * 10, s, z, True, 1, 255),
        [X, SCALE, ZERO],
        grad_inputs=[0],
        grad=False,
    ),
    Case(
        "dequantize_linear",
        F.dequantize_linear,
        lambda x, s, z: (x - z) * s,
        [X, SCALE, np.round(ZERO)],
        grad_inputs=[0],
    ),
    Case("prune", F.prune, lambda x: prune_ref(x, 0.9), [X], grad=False),
    Case("prune_half", lambda x: F.prune(x, 0.5), lambda x: prune_ref(x, 0.5), [X], grad=False),
    Case("prune_all", lambda x: F.prune(x, 1.0), lambda x: prune_ref(x, 1.0), [X], grad=False),
    # the weight-quantizing layers: gradients of x and the bias are true derivatives
    Case(
        "binary_connect_affine",
        lambda x, w, wb, b: F.binary_connect_affine(x, w, wb, b, quantize_zero_to=-1.0),
        lambda x, w, wb, b: x.reshape(2, -1) @ sign_ref(w, -1.0) + b,
        [XA, WA, np.zeros_like(WA), BA],
        grad_inputs=[0, 3],
    ),
    Case(
        "binary_weight_affine",
        F.binary_weight_affine,
        lambda x, w, wb, a, b: x.reshape(2, -1) @ (sign_ref(w) * np.abs(w).mean(axis=0)) + b,
        [XA, WA, np.zeros_like(WA), np.zeros(5, np.float32), BA],
        grad_inputs=[0, 4],
    ),
    conv_case(
        "binary_connect_convolution",
        lambda x, w, wb, b: F.binary_connect_convolution(x, w, wb, b, pad=(1, 1), group=2),
        lambda x, w, wb, b: conv_ref(x, sign_ref(w), b, pad=1, group=2),
        [np.zeros_like(WC)],
        grad_inputs=[0, 3],
    ),
    conv_case(
        "binary_weight_convolution",
        lambda x, w, wb, a, b: F.binary_weight_convolution(x, w, wb, a, b, stride=(2, 2), group=2),
        lambda x, w, wb, a, b: conv_ref(
            x, sign_ref(w) * np.abs(w).mean(axis=(1, 2, 3)).reshape(-1, 1, 1, 1), b, stride=2, group=2
        ),
        [np.zeros_like(WC), np.zeros(6, np.float32)],
        grad_inputs=[0, 4],
    ),
    # without a schedule no weight is fixed: a plain affine map / convolution
    Case(
        "inq_affine_learning",
        F.inq_affine,
        lambda x, w, i, b: x.reshape(2, -1) @ w + b,
        [XA, WA, np.zeros_like(WA), BA],
        grad_inputs=[0, 1, 3],
    ),
    Case(
        "inq_affine_all_fixed",
        lambda x, w, i, b: F.inq_affine(x, w, i, b, num_bits=5, inq_iterations=(0,)),
        lambda x, w, i, b: x.reshape(2, -1) @ inq_pow2_ref(w, 5) + b,
        [XA, WA, np.zeros_like(WA), BA],
        grad=False,
    ),
    conv_case(
        "inq_convolution_learning",
        lambda x, w, i, b: F.inq_convolution(x, w, i, b, pad=(1, 1), group=2),
        lambda x, w, i, b: conv_ref(x, w, b, pad=1, group=2),
        [np.zeros_like(WC)],
        grad_inputs=[0, 1, 3],
    ),
    conv_case(
        "inq_convolution_all_fixed",
        lambda x, w, i, b: F.inq_convolution(x, w, i, b, group=2, num_bits=3, inq_iterations=(0,)),
        lambda x, w, i, b: conv_ref(x, inq_pow2_ref(w, 3), b, group=2),
        [np.zeros_like(WC)],
        grad=False,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_forward(case):
    check_forward(case)


@pytest.mark.parametrize("case", [c for c in CASES if c.grad], ids=str)
def test_grad(case):
    check_grad(case)


@pytest.mark.parametrize("case", CASES, ids=str)  # straight-through gradients too
def test_grad_with_cleared_buffers_and_accumulation(case):
    check_cleared_buffers_and_accumulation(case)


def backward_of(fn, arrays, need, gy):
    vs = [nn.Variable.from_numpy_array(a.copy(), need_grad=n) for a, n in zip(arrays, need)]
    y = fn(*vs)
    y.forward()
    y.backward(gy)
    return vs, [v.g.copy() if n else None for v, n in zip(vs, need)]


GY = randn(3, 5, seed=9)


@pytest.mark.parametrize("fine", [True, False])
@pytest.mark.parametrize("sign", [True, False])
def test_fixed_point_gradient_passes_inside_the_range(sign, fine):
    _, (gx,) = backward_of(
        lambda x: F.fixed_point_quantize(x, sign=sign, n=4, delta=0.25, ste_fine_grained=fine), [X], [True], GY
    )
    top = (2 ** (3 if sign else 4) - 1) * 0.25
    inside = (X >= (-top if sign else 0)) & (X <= top)
    np.testing.assert_array_equal(gx, GY * inside if fine else GY)


@pytest.mark.parametrize("fine", [True, False])
@pytest.mark.parametrize("sign", [True, False])
def test_pow2_gradient_stops_above_the_top_level_and_below_zero_unsigned(sign, fine):
    _, (gx,) = backward_of(lambda x: F.pow2_quantize(x, sign=sign, m=1, ste_fine_grained=fine), [X], [True], GY)
    keep = pow2_levels(X) <= 2.0
    if not sign:
        keep &= X >= 0
    np.testing.assert_array_equal(gx, GY * keep if fine else GY)


def test_prune_and_quantize_linear_pass_the_gradient_through():
    _, (gx,) = backward_of(lambda x: F.prune(x, 0.5), [X], [True], GY)
    np.testing.assert_array_equal(gx, GY)
    _, (gx, _, _) = backward_of(F.quantize_linear, [X, SCALE, ZERO], [True, False, False], GY)
    np.testing.assert_allclose(gx, GY / SCALE, rtol=1e-6)


@pytest.mark.parametrize("fine", [True, False])
def test_min_max_gradients_of_x_and_of_the_range(fine):
    (_, vmin, vmax, *_), (gx, gmin, gmax, _, _) = backward_of(
        lambda *v: F.min_max_quantize(*v, ste_fine_grained=fine),
        [X, QR_MIN, QR_MAX, QL_MIN, QL_MAX],
        [True, True, True, False, False],
        GY,
    )
    lo, hi, _ = nudged_range(QR_MIN, QR_MAX, QL_MIN, QL_MAX)
    np.testing.assert_allclose(gx, GY * ((X >= lo) & (X <= hi)) if fine else GY)
    # the range learns from the clipped entries
    np.testing.assert_allclose(gmin, (GY * (X < lo)).sum(axis=1, keepdims=True), rtol=1e-6)
    np.testing.assert_allclose(gmax, (GY * (X > hi)).sum(axis=1, keepdims=True), rtol=1e-6)
    # the too narrow second range was widened to eps in place
    np.testing.assert_allclose(vmax.d, [[1.5], [0.31], [2.0]], rtol=1e-6)
    np.testing.assert_array_equal(vmin.d, QR_MIN)


@pytest.mark.parametrize("ema", [False, True])
def test_min_max_with_x_min_max_stores_the_range_of_x(ema):
    vs = [nn.Variable.from_numpy_array(a.copy()) for a in (X, QR_MIN, QR_MAX, QL_MIN, QL_MAX)]
    y = F.min_max_quantize(*vs, decay=0.9, x_min_max=True, ema=ema)
    y.forward()
    lo, hi = X.min(axis=1, keepdims=True), X.max(axis=1, keepdims=True)
    if ema:
        lo, hi = 0.9 * QR_MIN + 0.1 * lo, 0.9 * QR_MAX + 0.1 * hi
    np.testing.assert_allclose(vs[1].d, lo, rtol=1e-6)
    np.testing.assert_allclose(vs[2].d, hi, rtol=1e-6)
    np.testing.assert_allclose(y.d, min_max_ref(X, lo, hi, QL_MIN, QL_MAX), rtol=1e-5, atol=1e-6)


def test_quantize_flag_false_returns_x_itself():
    x = nn.Variable.from_numpy_array(X)
    assert F.fixed_point_quantize(x, quantize=False) is x
    assert F.pow2_quantize(x, quantize=False) is x
    assert F.min_max_quantize(x, x, x, x, x, quantize=False) is x


def test_quantize_linear_rounds_and_saturates_the_zero_point_in_place():
    z = nn.Variable.from_numpy_array(ZERO.copy())
    F.quantize_linear(nn.Variable.from_numpy_array(X), nn.Variable.from_numpy_array(SCALE), z).forward()
    np.testing.assert_array_equal(z.d, [[3.0], [-4.0], [127.0]])
    assert F.quantize_linear(nn.Variable.from_numpy_array(X), z, z).parent.info.args["dtype"] == 1


@pytest.mark.parametrize("affine", [True, False])
def test_binary_layers_store_the_binary_weight_and_scale_and_pass_the_weight_gradient_through(affine):
    w = WA if affine else WC
    x = XA if affine else XC
    wb, alpha = np.zeros_like(w), np.zeros(w.shape[1] if affine else w.shape[0], np.float32)
    vs = [nn.Variable.from_numpy_array(a, need_grad=True) for a in (x, w, wb, alpha)]
    y = F.binary_weight_affine(*vs) if affine else F.binary_weight_convolution(*vs, group=2)
    y.forward()
    scale = np.abs(w).mean(axis=0) if affine else np.abs(w).reshape(w.shape[0], -1).mean(axis=1)
    np.testing.assert_array_equal(vs[2].d, sign_ref(w))
    np.testing.assert_allclose(vs[3].d, scale, rtol=1e-6)
    gy = randn(*y.shape, seed=5)
    y.backward(gy)
    # the float weight gets the gradient of the (scaled) binary weight the layer used
    used = nn.Variable.from_numpy_array(sign_ref(w) * (scale if affine else scale.reshape(-1, 1, 1, 1)), need_grad=True)
    plain = F.affine(vs[0], used) if affine else F.convolution(vs[0], used, group=2)
    plain.forward()
    plain.backward(gy)
    np.testing.assert_allclose(vs[1].g, used.g, rtol=1e-5, atol=1e-6)


def test_inq_fixes_half_the_largest_weights_then_all_on_schedule():
    x, w, ind = (nn.Variable.from_numpy_array(a.copy(), need_grad=True) for a in (XA, WA, np.zeros_like(WA)))
    y = F.inq_affine(x, w, ind, num_bits=4, inq_iterations=(1, 2))
    y.forward()  # step 0: nothing fixed
    assert ind.d.sum() == 0
    np.testing.assert_array_equal(w.d, WA)
    y.forward()  # step 1: the largest half
    largest = np.abs(WA) >= np.sort(np.abs(WA).ravel())[-30]
    np.testing.assert_array_equal(ind.d, largest)
    np.testing.assert_allclose(w.d, np.where(largest, inq_pow2_ref(WA, 4), WA))
    fixed = w.d.copy()
    w.d = w.d + 1.0  # training moves every weight; fixed ones snap back on the next forward
    y.forward()  # step 2: the last count fixes all
    assert ind.d.all()
    np.testing.assert_allclose(w.d[largest], fixed[largest])


def test_inq_random_selection_with_a_seed_repeats():
    runs = []
    for _ in range(2):
        vs = [nn.Variable.from_numpy_array(a.copy()) for a in (XA, WA, np.zeros_like(WA))]
        F.inq_affine(*vs, inq_iterations=(0, 5), selection_algorithm="random", seed=7).forward()
        runs.append(vs[2].d.copy())
    np.testing.assert_array_equal(runs[0], runs[1])
    assert 0 < runs[0].sum() < runs[0].size


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda x: F.fixed_point_quantize(x, n=1), "n"),
        (lambda x: F.fixed_point_quantize(x, delta=0), "delta"),
        (lambda x: F.pow2_quantize(x, n=2), "n"),
        (lambda x: F.prune(x, rate=1.5), "rate"),
        (lambda x: F.quantize_linear(x, x, x, round_mode="UP"), "round_mode"),
        (lambda x: F.quantize_linear(x, x, x, dtype=np.int16), "dtype"),
        (lambda x: F.min_max_quantize(x, x, x, x, F.reshape(x, (15,))), "dimensions"),
        (lambda x: F.binary_connect_affine(x, F.reshape(x, (5, 3)), x), "binary_weight"),
        (lambda x: F.inq_affine(x, F.reshape(x, (5, 3)), F.reshape(x, (5, 3)), selection_algorithm="x"), "selection"),
    ],
)
def test_bad_arguments_raise_naming_the_function(build, message):
    with pytest.raises(FunctionError, match=message):
        build(nn.Variable.from_numpy_array(X))
