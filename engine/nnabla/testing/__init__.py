"""``nnabla.testing``: numpy's assert_allclose with NNabla's default tolerances."""

import numpy as np


def assert_allclose(actual, desired, rtol=1e-5, atol=1e-6, equal_nan=True, err_msg="", verbose=True):
    np.testing.assert_allclose(
        actual, desired, rtol=rtol, atol=atol, equal_nan=equal_nan, err_msg=err_msg, verbose=verbose
    )
