"""Half precision training as NNabla does it on the CPU: a ``type_config='half'`` context computes forward AND
backward in float16, so tiny gradients underflow to zero and huge ones overflow, and loss scaling (with the
solver's ``check_inf_or_nan_grad`` / ``scale_grad``) is what brings them back. Expected values: real NNabla 1.36.
"""

import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
import nnabla.parametric_functions as PF
import nnabla.solvers as S
from nnabla.ext_utils import get_extension_context


@pytest.fixture
def half():
    nn.clear_parameters()
    with nn.context_scope(get_extension_context("cpu", type_config="half")):
        yield
    nn.clear_parameters()


def _tiny_loss():
    """mean(affine(x) * 1e-4) on small inputs: the affine weight's gradient is about 1e-8, below float16's range."""
    rng = np.random.RandomState(0)
    rng.randn(4, 3)
    x = nn.Variable.from_numpy_array(1e-3 * rng.randn(4, 3))
    y = PF.affine(x, 5, name="fc")
    return F.mean(y * 1e-4), nn.get_parameters()["fc/affine/W"]


def test_half_backward_underflows_and_loss_scaling_recovers(half):
    loss, w = _tiny_loss()
    loss.forward()
    assert loss.d.dtype == np.float16
    w.grad.zero()
    loss.backward()
    np.testing.assert_array_equal(w.g, 0)  # real NNabla: 0 too
    w.grad.zero()
    loss.backward(1024.0)
    np.testing.assert_allclose(w.g[0, 0] / 1024, 1.0302756e-08, rtol=1e-6)  # real NNabla's value


def test_float_backward_keeps_tiny_gradients():
    nn.clear_parameters()
    loss, w = _tiny_loss()
    loss.forward()
    w.grad.zero()
    loss.backward()
    assert abs(w.g[0, 0]) > 1e-9
    nn.clear_parameters()


@pytest.mark.parametrize("type_config, overflows", [("half", True), ("float", False)])
def test_a_huge_loss_scale_overflows_only_in_half(type_config, overflows):
    nn.clear_parameters()
    with nn.context_scope(get_extension_context("cpu", type_config=type_config)):
        x = nn.Variable.from_numpy_array(np.random.RandomState(0).randn(4, 3))
        t = nn.Variable.from_numpy_array(np.array([[0], [1], [2], [3]]))
        loss = F.mean(F.softmax_cross_entropy(PF.affine(x, 5, name="fc"), t))
        solver = S.Sgd(0.1)
        solver.set_parameters(nn.get_parameters())
        loss.forward()
        solver.zero_grad()
        with np.errstate(over="ignore", invalid="ignore"):
            loss.backward(1e6)
        assert solver.check_inf_or_nan_grad() is overflows
        solver.zero_grad()
        loss.backward(8)
        assert solver.check_inf_or_nan_grad() is False
    nn.clear_parameters()
