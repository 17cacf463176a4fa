"""Reference and gradient checks for Softmax and LogSoftmax."""

import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
from nnabla.function import FunctionError
from opcheck import Case, check_forward, check_grad, randn


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def log_softmax(x, axis=-1):
    return np.log(softmax(x.astype(np.float64), axis))


CASES = [
    Case("softmax", F.softmax, softmax, [randn(3, 4)]),
    Case("softmax_axis1", lambda x: F.softmax(x, axis=1), lambda x: softmax(x, 1), [randn(2, 3, 4)]),
    Case("softmax_1d", F.softmax, softmax, [randn(5)]),
    Case("log_softmax", F.log_softmax, log_softmax, [randn(3, 4)]),
    Case("log_softmax_axis0", lambda x: F.log_softmax(x, axis=0), lambda x: log_softmax(x, 0), [randn(3, 2, 2)]),
    Case(
        "log_softmax_negative_axis", lambda x: F.log_softmax(x, axis=-2), lambda x: log_softmax(x, 1), [randn(2, 3, 2)]
    ),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_forward(case):
    check_forward(case)


@pytest.mark.parametrize("case", [c for c in CASES if c.grad], ids=str)
def test_grad(case):
    check_grad(case)


@pytest.mark.parametrize("fn, type_name", [(F.softmax, "Softmax"), (F.log_softmax, "LogSoftmax")])
def test_one_node_with_the_last_axis_by_default(fn, type_name):
    x = nn.Variable((2, 3, 4))
    y = fn(x)
    assert y.parent.info.type_name == type_name
    assert y.parent.inputs[0] is x
    assert y.parent.info.args == {"axis": 2}


def test_stable_for_large_inputs():
    x = nn.Variable.from_numpy_array(np.array([[1000.0, 0.0, -1000.0]], np.float32))
    p, logp = F.softmax(x), F.log_softmax(x)
    p.forward()
    logp.forward()
    np.testing.assert_allclose(p.d, [[1, 0, 0]], atol=1e-7)
    np.testing.assert_allclose(logp.d, [[0, -1000, -2000]], rtol=1e-6)


def test_axis_out_of_range():
    with pytest.raises(FunctionError, match="Softmax.*axis=3"):
        F.softmax(nn.Variable((2, 3)), axis=3)
