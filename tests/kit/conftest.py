import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


@pytest.fixture
def mlp():
    """The tutorial's MLP: x -> 5 affine (4 tanh between) -> squared_error -> reduce_mean."""
    import nnabla as nn
    import nnabla.functions as F
    import nnabla.parametric_functions as PF

    nn.clear_parameters()
    nn.seed(0)
    x = nn.Variable([100, 2])
    h = x
    for i, hnum in enumerate([4, 8, 4, 2]):
        h = F.tanh(PF.affine(h, hnum, name=f"fc{i}"))
    y = PF.affine(h, 1, name="fc")
    label = nn.Variable([100, 1])
    loss = F.reduce_mean(F.squared_error(y, label))
    yield x, label, loss
    nn.clear_parameters()
