"""Function cases of the quantization, linear-algebra, selection and reparameterization families whose outputs,
updated inputs and gradients are compared with real NNabla 1.36's. Only NNabla's public API is used:
``tests/reference/make_quantize_reference.py`` runs them under real NNabla to write the fixture,
``test_quantize_vs_nnabla.py`` runs them on this engine."""

import numpy as np

import nnabla as nn
import nnabla.functions as F

_rng = np.random.RandomState(0)
X = (_rng.randn(3, 5) * 2).astype(np.float32)
X[0, :3] = [0.0, 0.5, -0.03125]  # on the grids and at a rounding half
QR_MIN, QR_MAX = np.array([[-1.0], [0.3], [-5.0]], np.float32), np.array([[1.5], [0.31], [2.0]], np.float32)
QL_MIN, QL_MAX = np.zeros((3, 1), np.float32), np.full((3, 1), 15, np.float32)
SCALE, ZERO = np.array([[0.5], [0.1], [0.25]], np.float32), np.array([[2.5], [-3.5], [300]], np.float32)
XA, WA, BA = _rng.randn(2, 3, 4).astype(np.float32), _rng.randn(12, 5).astype(np.float32), _rng.randn(5)
WA[0, 0] = 0
XC, WC, BC = _rng.randn(2, 4, 5, 5).astype(np.float32), _rng.randn(6, 2, 3, 3).astype(np.float32), _rng.randn(6)
A = _rng.randn(3, 4, 4).astype(np.float32)
SPD = (A @ A.transpose(0, 2, 1) + 4 * np.eye(4)).astype(np.float32)
W3 = _rng.randn(4, 3, 2).astype(np.float32)
SORTED = np.sort(_rng.randint(0, 5, (2, 3, 6)).astype(np.float32), axis=-1)
VALUES = _rng.randint(-1, 6, (2, 3, 4)).astype(np.float32)

T, N = True, False  # need_grad of an input
CASES = {}


def case(name, build, *inputs, passes=1, grad=True, seed=None):
    """``inputs``: (array, need_grad) pairs; ``passes`` forwards run before the backward (``grad``), after
    ``nn.seed(seed)`` when a seed is given."""
    CASES[name] = (build, inputs, passes, grad, seed)


for sign in (True, False):
    for fine in (True, False):
        case(
            f"fixed_point_{sign}_{fine}",
            lambda x, s=sign, f=fine: F.fixed_point_quantize(x, sign=s, n=4, delta=0.25, ste_fine_grained=f),
            (X, T),
        )
        for zero in (True, False):
            case(
                f"pow2_{sign}_{fine}_{zero}",
                lambda x, s=sign, f=fine, z=zero: F.pow2_quantize(x, sign=s, with_zero=z, n=4, ste_fine_grained=f),
                (X, T),
            )
case("pow2_default", F.pow2_quantize, (X, T))
case("fixed_point_default", F.fixed_point_quantize, (X, T))
for rate in (0.0, 0.3, 0.9, 1.0):
    case(f"prune_{rate}", lambda x, r=rate: F.prune(x, rate=r), (X, T))
for x_min_max in (False, True):
    for ema in (False, True):
        for fine in (True, False):
            case(
                f"min_max_{x_min_max}_{ema}_{fine}",
                lambda *v, m=x_min_max, e=ema, f=fine: F.min_max_quantize(
                    *v, decay=0.9, x_min_max=m, ema=e, ste_fine_grained=f
                ),
                (X, T), (QR_MIN, T), (QR_MAX, T), (QL_MIN, N), (QL_MAX, N),
                passes=2,
            )  # fmt: skip
for mode in ("HALF_AWAY_FROM_ZERO", "HALF_TO_EVEN"):
    for narrow in (False, True):
        for dtype in (np.int8, np.uint8):
            case(
                f"quantize_linear_{mode}_{narrow}_{dtype.__name__}",
                lambda x, s, z, m=mode, n=narrow, d=dtype: F.quantize_linear(x * 10, s, z, m, n, d),
                (X, T), (SCALE, N), (ZERO, N),
            )  # fmt: skip
case("dequantize_linear", F.dequantize_linear, (X, T), (SCALE, N), (np.round(ZERO), N))
case(
    "binary_connect_affine",
    lambda x, w, wb, b: F.binary_connect_affine(x, w, wb, b, quantize_zero_to=-1.0),
    (XA, T), (WA, T), (np.zeros_like(WA), N), (BA, T),
)  # fmt: skip
case("binary_weight_affine", F.binary_weight_affine, (XA, T), (WA, T), (0 * WA, N), (np.zeros(5), N), (BA, T))
case(
    "binary_connect_convolution",
    lambda x, w, wb, b: F.binary_connect_convolution(x, w, wb, b, pad=(1, 1), group=2),
    (XC, T), (WC, T), (0 * WC, N), (BC, T),
)  # fmt: skip
case(
    "binary_weight_convolution",
    lambda x, w, wb, a, b: F.binary_weight_convolution(x, w, wb, a, b, stride=(2, 2), group=2),
    (XC, T), (WC, T), (0 * WC, N), (np.zeros(6), N), (BC, T),
)  # fmt: skip
case(
    "inq_affine",
    lambda x, w, i, b: F.inq_affine(x, w, i, b, inq_iterations=(1, 2, 4)),
    (XA, T), (WA, T), (0 * WA, N), (BA, T),
    passes=5,
)  # fmt: skip
case(
    "inq_affine_random",
    lambda x, w, i, b: F.inq_affine(x, w, i, b, 1, 3, (0, 2, 3), "random", 7),
    (XA, T), (WA, T), (0 * WA, N), (BA, T),
    passes=3,
)  # fmt: skip
case(
    "inq_affine_random_global_generator",
    lambda x, w, i, b: F.inq_affine(x, w, i, b, inq_iterations=(0, 1, 4), selection_algorithm="random"),
    (XA, T), (WA, T), (0 * WA, N), (BA, T),
    passes=3,
    seed=7,
)  # fmt: skip
case(
    "inq_convolution",
    lambda x, w, i, b: F.inq_convolution(x, w, i, b, pad=(1, 1), group=2, num_bits=5, inq_iterations=(1, 3)),
    (XC, T), (WC, T), (0 * WC, N), (BC, T),
    passes=4,
)  # fmt: skip
case("batch_inv", F.batch_inv, (A, T))
case("batch_det", F.batch_det, (A, T))
case("batch_logdet", F.batch_logdet, (A, T))
case("batch_cholesky", F.batch_cholesky, (SPD, T))
case("batch_cholesky_upper", lambda x: F.batch_cholesky(x, upper=True), (SPD, T))
case("bool_fill", lambda x, m: F.bool_fill(x, m, 2.5), (XA, T), ((_rng.rand(3, 1) > 0.5).astype(np.float32), N))
case("nonzero", F.nonzero, (np.where(X > 0.5, X, 0), N), grad=False)
for shifts in ((1, -2), (2,), (0, 3, -1), (-5, 1, 1)):
    for mode in ("nearest", "reflect"):
        case(f"shift_{shifts}_{mode}", lambda x, s=shifts, m=mode: F.shift(x, s, m), (XA, T))
case("searchsorted", F.searchsorted, (SORTED, N), (VALUES, N), grad=False)
case("searchsorted_right", lambda s, v: F.searchsorted(s, v, right=True), (SORTED, N), (VALUES, N), grad=False)
case("bc_add2", F.bc_add2, (XA, T), (_rng.randn(1, 3, 1).astype(np.float32), T))
case("clip_by_norm", lambda x: F.clip_by_norm(x, 1.5), (XA, T))
case("clip_by_norm_variable", lambda x, c: F.clip_by_norm(x, c, axis=2), (XA, T), (np.full((1, 1, 1), 0.8), T))
case("dot_tensors", F.dot, (XA, T), (_rng.randn(5, 4, 2).astype(np.float32), T))
for dim in range(3):
    u = _rng.randn(W3.shape[dim]).astype(np.float32)
    case(f"spectral_norm_{dim}", lambda w, u, d=dim: F.spectral_norm(w, u, dim=d, itr=2), (W3, T), (u, N), passes=2)
    # NNabla's test-mode backward reads a u it never stored (NaN): forward only
    case(
        f"spectral_norm_{dim}_test",
        lambda w, u, d=dim: F.spectral_norm(w, u, dim=d, test=True, output_u=True)[0],
        (W3, T), (u, N),
        grad=False,
    )  # fmt: skip
    g = (_rng.rand(W3.shape[dim]) + 0.5).astype(np.float32)
    case(f"weight_normalization_{dim}", lambda w, g, d=dim: F.weight_normalization(w, g, dim=d), (W3, T), (g, T))


def run(name):
    """Output (``y``), the inputs the forwards changed (``in<k>``) and input gradients (``g<k>``) of case ``name``."""
    build, inputs, passes, grad, seed = CASES[name]
    if seed is not None:
        nn.seed(seed)
    vs = [nn.Variable.from_numpy_array(np.asarray(a, np.float32).copy(), need_grad=g) for a, g in inputs]
    y = build(*vs)
    for _ in range(passes):
        y.forward()
    out = {"y": np.asarray(y.d).copy()}
    for k, (v, (a, _)) in enumerate(zip(vs, inputs)):
        if not np.array_equal(v.d, np.asarray(a, np.float32)):
            out[f"in{k}"] = v.d.copy()
    if grad:
        for v in vs:
            v.grad.zero()
        y.backward(np.asarray(np.random.RandomState(1).randn(*y.shape), np.float32))
        for k, (v, (_, g)) in enumerate(zip(vs, inputs)):
            if g:
                out[f"g{k}"] = v.g.copy()
    return out
