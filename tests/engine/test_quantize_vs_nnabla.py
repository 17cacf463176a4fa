"""The quantization, linear-algebra, selection and reparameterization functions give real NNabla 1.36's numbers:
outputs after repeated forwards, the inputs NNabla updates in place (binary weights, scales, INQ weights and
indicators, min-max ranges, zero points, singular vectors) and every gradient, from the fixture written by
``tests/reference/make_quantize_reference.py``."""

import os

import numpy as np
import pytest
from quantize_reference_cases import CASES, run

FIXTURE = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "quantize_reference.npz"))


@pytest.mark.parametrize("name", list(CASES))
def test_numbers_match_nnabla(name):
    prefix = f"{name}/"
    want = {k[len(prefix) :]: FIXTURE[k] for k in FIXTURE.files if k.startswith(prefix)}
    got = run(name)
    assert sorted(got) == sorted(want)
    for key, value in want.items():
        assert got[key].shape == value.shape, f"{key}: shape {got[key].shape} != NNabla's {value.shape}"
        np.testing.assert_allclose(got[key], value, rtol=1e-5, atol=1e-5, err_msg=f"{name}: {key}")
