"""DeformableConvolution, AdaptiveSeparableConvolution, FusedConvolution and SyncBatchNormalization: loop
references and real NNabla's stored outputs and gradients (fixtures/convolution_variants.npz), float64 gradient
checks, and the parametric forms with NNabla's parameter names."""

import itertools

import nnabla_fixtures
import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
import nnabla.parametric_functions as PF
from nnabla.function import FunctionError
from opcheck import Case, check_forward, check_grad, randn, uniform


def ref_deformable(x, w, offset, mask=None, pad=(0, 0), stride=(1, 1), dilation=(1, 1), group=1, dg=1):
    """Deformable convolution by loops: each tap samples x bilinearly (zero outside) at its moved position."""
    b, c, h, wd = x.shape
    oc, cg, kh, kw = w.shape
    ho = (h + 2 * pad[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (wd + 2 * pad[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1

    def at(n, ch, i, j):
        return x[n, ch, i, j] if 0 <= i < h and 0 <= j < wd else 0.0

    def bilinear(n, ch, fy, fx):
        if not (-1 < fy < h and -1 < fx < wd):
            return 0.0
        y0, x0 = int(np.floor(fy)), int(np.floor(fx))
        ly, lx = fy - y0, fx - x0
        return (
            at(n, ch, y0, x0) * (1 - ly) * (1 - lx)
            + at(n, ch, y0, x0 + 1) * (1 - ly) * lx
            + at(n, ch, y0 + 1, x0) * ly * (1 - lx)
            + at(n, ch, y0 + 1, x0 + 1) * ly * lx
        )

    out = np.zeros((b, oc, ho, wo))
    for n, o, i, j in itertools.product(range(b), range(oc), range(ho), range(wo)):
        g = o // (oc // group)
        for cc, ki, kj in itertools.product(range(cg), range(kh), range(kw)):
            ch = g * cg + cc
            d = ch // (c // dg)
            tap = ki * kw + kj
            hi, wi = i * stride[0], j * stride[1]
            fy = hi + ki * dilation[0] - pad[0] + offset[n, d * 2 * kh * kw + 2 * tap, hi, wi]
            fx = wi + kj * dilation[1] - pad[1] + offset[n, d * 2 * kh * kw + 2 * tap + 1, hi, wi]
            m = 1.0 if mask is None else mask[n, d * kh * kw + tap, hi, wi]
            out[n, o, i, j] += w[o, cc, ki, kj] * m * bilinear(n, ch, fy, fx)
    return out


def ref_adaptive_separable(x, v, hk):
    b, c, h, w = x.shape
    ho, wo = v.shape[2:]
    out = np.zeros((b, c, ho, wo))
    for j, i in itertools.product(range(v.shape[1]), range(hk.shape[1])):
        out += x[:, :, j : j + ho, i : i + wo] * (v[:, j] * hk[:, i])[:, None]
    return out


CASES = [
    Case(
        "deformable_convolution",
        lambda x, w, o: F.deformable_convolution(x, w, o),
        ref_deformable,
        [randn(1, 2, 4, 4), randn(2, 2, 2, 2, seed=1), uniform(-1.4, 1.4, 1, 8, 4, 4, seed=2)],
        atol=1e-5,
        grad_atol=1e-4,
    ),
    Case(
        "deformable_convolution_mask_groups",
        lambda x, w, o, m: F.deformable_convolution(x, w, o, m, pad=(1, 1), stride=(2, 1), group=2, deformable_group=2),
        lambda x, w, o, m: ref_deformable(x, w, o, m, (1, 1), (2, 1), (1, 1), 2, 2),
        [
            randn(1, 2, 4, 3),
            randn(2, 1, 3, 3, seed=1),
            uniform(-1.3, 1.3, 1, 36, 4, 3, seed=2),
            uniform(0, 1, 1, 18, 4, 3),
        ],
        atol=1e-5,
        grad_atol=1e-4,
    ),
    Case(
        "adaptive_separable_convolution",
        F.adaptive_separable_convolution,
        ref_adaptive_separable,
        [randn(2, 2, 4, 5), randn(2, 2, 3, 3, seed=1), randn(2, 3, 3, 3, seed=2)],
        atol=1e-5,
    ),
]


def ref_batch_norm(x, beta, gamma, eps=1e-5):
    mean = x.mean(axis=(0, 2, 3), keepdims=True)
    var = x.var(axis=(0, 2, 3), keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


CASES.append(
    Case(
        "sync_batch_normalization",
        lambda x, b, g: F.sync_batch_normalization(x, b, g, None, None, comm=None),
        ref_batch_norm,
        [randn(3, 2, 2, 2), randn(1, 2, 1, 1, seed=1), randn(1, 2, 1, 1, seed=2)],
        atol=1e-5,
        grad_atol=1e-4,
    )
)
NNABLA_CASES = nnabla_fixtures.cases("convolution_variants", atol=1e-5)
GRAD_CASES = [
    Case(c.name, c.fn, c.ref, c.inputs, grad_inputs=c.grad_inputs, atol=1e-5, grad_atol=1e-4)
    for c in NNABLA_CASES
    if c.name.startswith("fused")
]


@pytest.mark.parametrize("case", CASES + NNABLA_CASES, ids=str)
def test_forward(case):
    check_forward(case)


@pytest.mark.parametrize("case", CASES + GRAD_CASES, ids=str)
def test_grad(case):
    check_grad(case)


@pytest.mark.parametrize("name", [n for n in nnabla_fixtures.names("convolution_variants") if "for_sync" not in n])
def test_matches_nnabla(name):
    nnabla_fixtures.check_case("convolution_variants", name)


def test_sync_batch_normalization_is_batch_normalization_with_one_process():
    data = nnabla_fixtures.stored("convolution_variants")
    name = "batch_normalization_for_sync"
    x, beta, gamma, mean, var = [nn.Variable.from_numpy_array(data[f"{name}/x{i}"], need_grad=True) for i in range(5)]
    mean.need_grad = var.need_grad = False
    y = F.sync_batch_normalization(x, beta, gamma, mean, var, comm=None)
    assert y.parent.info.type_name == "SyncBatchNormalization"
    assert y.parent.info.args["group"] == "world"
    loss = F.sum(y * nn.Variable.from_numpy_array(data[f"{name}/w0"]))
    for v in (x, beta, gamma):
        v.grad.zero()
    loss.forward()
    loss.backward()
    np.testing.assert_allclose(y.d, data[f"{name}/y0"], rtol=1e-4, atol=1e-5)
    for i, v in enumerate((x, beta, gamma)):
        np.testing.assert_allclose(v.g, data[f"{name}/g{i}"], rtol=1e-4, atol=1e-4)
    # the running statistics moved towards the batch's, as batch normalization's do
    assert not np.allclose(mean.d, data[f"{name}/x3"])


class _Comm:
    def __init__(self, size):
        self.size = size


def test_sync_batch_normalization_communicators():
    x = nn.Variable((4, 3))
    y, m, v = F.sync_batch_normalization(x, None, None, None, None, _Comm(1), axes=[1], output_stat=True)
    assert y.shape == (4, 3) and m.shape == (1, 3)
    with pytest.raises(FunctionError, match="group='world' is not a group of comm=.*a communicator of nnabla"):
        F.sync_batch_normalization(x, None, None, None, None, _Comm(2))


def test_parametric_forms_create_nnablas_parameters():
    nn.clear_parameters()
    x = nn.Variable((2, 3, 5, 5))
    offset = nn.Variable((2, 18, 5, 5))
    y = PF.deformable_convolution(x, 4, (3, 3), offset, pad=(1, 1))
    assert y.shape == (2, 4, 5, 5)
    params = {k: v.shape for k, v in nn.get_parameters().items()}
    assert params == {"deformable_conv/W": (4, 3, 3, 3), "deformable_conv/b": (4,)}
    nn.clear_parameters()
    y = PF.sync_batch_normalization(x, None, name="sbn")
    assert y.parent.info.type_name == "SyncBatchNormalization"
    params = {k: (v.shape, v.need_grad) for k, v in nn.get_parameters(grad_only=False).items()}
    assert params == {
        "sbn/bn/beta": ((1, 3, 1, 1), True),
        "sbn/bn/gamma": ((1, 3, 1, 1), True),
        "sbn/bn/mean": ((1, 3, 1, 1), False),
        "sbn/bn/var": ((1, 3, 1, 1), False),
    }
    nn.clear_parameters()


def test_fused_convolution_is_one_node_that_updates_running_statistics():
    x = nn.Variable.from_numpy_array(randn(4, 2, 3, 3))
    w = nn.Variable.from_numpy_array(randn(3, 2, 1, 1, seed=1))
    beta, gamma = (
        nn.Variable.from_numpy_array(np.zeros((1, 3, 1, 1), np.float32)),
        nn.Variable.from_numpy_array(np.ones((1, 3, 1, 1), np.float32)),
    )
    mean, var = (
        nn.Variable.from_numpy_array(np.zeros((1, 3, 1, 1), np.float32)),
        nn.Variable.from_numpy_array(np.ones((1, 3, 1, 1), np.float32)),
    )
    y = F.fused_convolution(x, w, None, beta, gamma, mean, var)
    assert y.parent.info.type_name == "FusedConvolution" and y.parent.inputs[0] is x
    y.forward()
    h = np.einsum("bchw,oc->bohw", x.d, w.d[:, :, 0, 0])
    np.testing.assert_allclose(mean.d, 0.1 * h.mean(axis=(0, 2, 3), keepdims=True), rtol=1e-4, atol=1e-6)
    after = mean.d.copy()
    y.parent.recompute(y.parent.inputs, [y])
    np.testing.assert_array_equal(mean.d, after)  # recompute does not count the batch twice


@pytest.mark.parametrize(
    "build, match",
    [
        (
            lambda: F.deformable_convolution(
                nn.Variable((1, 2, 4, 4)), nn.Variable((2, 2, 3, 3)), nn.Variable((1, 9, 4, 4))
            ),
            "offset of shape",
        ),
        (
            lambda: F.deformable_convolution(
                nn.Variable((1, 3, 4, 4)), nn.Variable((2, 2, 3, 3)), nn.Variable((1, 18, 4, 4))
            ),
            "group",
        ),
        (
            lambda: F.adaptive_separable_convolution(
                nn.Variable((1, 2, 5, 5)), nn.Variable((1, 3, 3, 3)), nn.Variable((1, 3, 2, 3))
            ),
            "kernels of shapes",
        ),
        (
            lambda: F.fused_convolution(nn.Variable((1, 2, 4, 4)), nn.Variable((3, 2, 3, 3)), nonlinearity="gelu"),
            "nonlinearity",
        ),
        (
            lambda: F.fused_convolution(nn.Variable((1, 2, 4, 4)), nn.Variable((3, 2, 3, 3)), nonlinearity="elu"),
            "takes 1 argument",
        ),
    ],
)
def test_errors(build, match):
    with pytest.raises(FunctionError, match=match):
        build()
