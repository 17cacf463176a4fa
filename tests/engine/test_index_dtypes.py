"""Index outputs have NNabla 1.36's dtype: uint64 (read off the reference for each function below)."""

import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F

X = np.array([[0.5, -1.0, 2.0, 0.0], [3.0, 0.0, -2.0, 1.0]], dtype=np.float32)

INDEX_OUTPUTS = {
    "max, only_index": lambda x: F.max(x, axis=1, only_index=True),
    "max, with_index": lambda x: F.max(x, axis=1, with_index=True)[1],
    "min, only_index": lambda x: F.min(x, axis=1, only_index=True),
    "sort, only_index": lambda x: F.sort(x, axis=1, only_index=True),
    "sort, with_index": lambda x: F.sort(x, axis=1, with_index=True)[1],
    "top_k_data, with_index": lambda x: F.top_k_data(x, 2, with_index=True)[1],
    "nonzero": lambda x: F.nonzero(x),
}

EXPECTED = {
    "max, only_index": [2, 0],
    "max, with_index": [2, 0],
    "min, only_index": [1, 2],
    "sort, only_index": [[1, 3, 0, 2], [2, 1, 3, 0]],
    "sort, with_index": [[1, 3, 0, 2], [2, 1, 3, 0]],
    "top_k_data, with_index": [[2, 0], [0, 3]],
    "nonzero": [[0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 2, 3]],
}


@pytest.mark.parametrize("name", list(INDEX_OUTPUTS))
def test_index_outputs_are_uint64(name):
    with nn.auto_forward():
        y = INDEX_OUTPUTS[name](nn.Variable.from_numpy_array(X))
    assert y.d.dtype == np.uint64
    np.testing.assert_array_equal(y.d, EXPECTED[name])
