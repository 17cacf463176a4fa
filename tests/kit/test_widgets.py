"""progress(): throttled in-place redraws and a final static frame; params()/grads() tables."""

import numpy as np

import nnabla as nn
import nnabla.functions as F
import nnabla.parametric_functions as PF
import nnabla_nb
from nnabla_nb.widgets import Progress


class FakeDisplay:
    def __init__(self):
        self.frames = []

    def __call__(self, obj, display_id=None):
        self.frames.append(obj)
        return self

    def update(self, obj):
        self.frames.append(obj)


def test_progress_is_throttled_and_ends_static():
    t = [0.0]
    disp = FakeDisplay()
    p = Progress(1000, max_fps=10, clock=lambda: t[0], display=disp)
    for i in p:
        t[0] += 0.001  # 1000 steps in one second
        p.log(loss=1.0 / (i + 1))
    assert p.redraws <= 12  # ~10 per second plus the final frame
    final = disp.frames[-1]._repr_mimebundle_()
    assert final["text/plain"].startswith("[" + "#" * 30 + "] 1000/1000  loss 0.001")
    assert "data:image/png;base64," in final["text/html"] and "<script" not in final["text/html"]


def test_params_and_grads_tables():
    nn.clear_parameters()
    x = nn.Variable.from_numpy_array(np.ones((2, 3)))
    y = F.sum(PF.affine(x, 2, name="fc"))
    y.forward()
    y.backward()
    assert nnabla_nb.params()._repr_mimebundle_()["text/plain"].startswith("2 parameters")
    g = nnabla_nb.grads()._repr_mimebundle_()
    assert "fc/affine/W" in g["text/plain"] and "ok" in g["text/html"]
    nn.clear_parameters()
