"""Quantized, low-rank and reparameterizing parametric functions against real NNabla 1.36: the parameters each
creates (names in creation order, shapes, dtypes, need_grad), their values after the forward passes (quantized
copies, indicators, updated ranges and singular vectors), the output and every gradient, from the fixture written
by ``tests/reference/make_pf_quantized.py``; and the signatures of the NNabla functions they mirror."""

import inspect
import os

import numpy as np
import pytest
from pf_quantized_cases import CASES, run

import nnabla.parametric_functions as PF

FIXTURE = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "pf_quantized.npz"))
# the CP factors come from 500 float64 ALS sweeps started in float32: rounding moves them by ~1e-5
TOLERANCE = {"cpd3_convolution": 1e-4}


def expected(name):
    prefix = f"{name}/"
    return {k[len(prefix) :]: FIXTURE[k] for k in FIXTURE.files if k.startswith(prefix)}


@pytest.mark.parametrize("name", list(CASES))
def test_parameters_and_numbers_match_nnabla(name):
    want, got = expected(name), run(name)
    assert list(got["names"]) == list(want["names"]), "parameter names or creation order"
    assert sorted(got) == sorted(want), "which parameters need gradients"
    tol = TOLERANCE.get(name, 1e-5)
    for key, value in want.items():
        if key == "names":
            continue
        assert got[key].shape == value.shape, f"{key}: shape {got[key].shape} != NNabla's {value.shape}"
        if key.startswith("param/"):
            assert got[key].dtype == value.dtype, f"{key}: dtype {got[key].dtype} != NNabla's {value.dtype}"
        np.testing.assert_allclose(got[key], value, rtol=tol, atol=tol, err_msg=f"{name}: {key}")


# NNabla 1.36's signatures, read off by inspect.signature (``name`` is added by parametric_function_api)
SIGNATURES = {
    "binary_connect_affine": "inp, n_outmaps, base_axis=1, quantize_zero_to=1.0, w_init=None, wb_init=None, "
    "b_init=None, fix_parameters=False, rng=None, with_bias=True",
    "inq_convolution": "inp, outmaps, kernel, pad=None, stride=None, dilation=None, group=1, num_bits=4, "
    "inq_iterations=(), selection_algorithm='random', seed=-1, w_init=None, i_init=None, b_init=None, base_axis=1, "
    "fix_parameters=False, rng=None, with_bias=True",
    "pow2_quantized_convolution": "inp, outmaps, kernel, pad=None, stride=None, dilation=None, group=1, w_init=None, "
    "b_init=None, base_axis=1, fix_parameters=False, rng=None, with_bias=True, quantize_w=True, with_zero_w=False, "
    "sign_w=True, n_w=8, m_w=2, ste_fine_grained_w=True, quantize_b=True, with_zero_b=False, sign_b=True, n_b=8, "
    "m_b=2, ste_fine_grained_b=True",
    "min_max_quantize": "x, ql_min=0, ql_max=255, decay=0.999, x_min_max=False, ema=False, ste_fine_grained=True, "
    "eps=0.01, qr_min_init=None, qr_max_init=None, fix_parameters=False, outputs=None",
    "cpd3_convolution": "inp, outmaps, kernel, r, pad=None, stride=None, dilation=None, oik_init=None, b_init=None, "
    "base_axis=1, fix_parameters=False, rng=None, with_bias=True, max_iter=500, stopping_criterion=1e-05, "
    "lambda_reg=0.0",
    "spectral_norm": "w, dim=0, itr=1, eps=1e-12, test=False, u_init=None, fix_parameters=True",
}


@pytest.mark.parametrize("name", list(SIGNATURES))
def test_signatures_are_nnabla_s(name):
    params = [p for p in inspect.signature(getattr(PF, name)).parameters.values() if p.name != "name"]
    assert ", ".join(str(p) for p in params) == SIGNATURES[name]
