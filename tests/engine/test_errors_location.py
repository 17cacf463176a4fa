"""An error raised while a graph runs names the function and the line of the user's code that created it, on
the first pass (walked step by step), on later ones (compiled steps) and with hooks, forward and backward."""

import traceback

import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
import nnabla.parametric_functions as PF
from nnabla.function import FunctionIndexError, PythonFunction


def _bad_labels_graph():
    x = nn.Variable.from_numpy_array(np.random.RandomState(0).randn(2, 3).astype(np.float32))
    t = nn.Variable.from_numpy_array(np.array([[0], [5]], np.int32))
    loss = F.mean(F.softmax_cross_entropy(x, t))  # the line the error must name
    return loss, t


def test_creation_site_is_the_users_line():
    x = nn.Variable((2, 3))
    h = PF.affine(x, 4, name="fc")  # through PF, F and apply: still this line
    y = h + 1
    filename, line = h.parent.creation_site
    assert filename == __file__
    assert traceback.extract_stack(limit=1)[0].lineno - 4 == line
    assert y.parent.creation_site == (__file__, line + 1)


@pytest.mark.parametrize("run", range(3), ids=["first pass", "second pass", "compiled"])
def test_forward_error_names_function_and_line(run):
    loss, _ = _bad_labels_graph()
    for _ in range(run):
        with pytest.raises(FunctionIndexError):
            loss.forward()
    with pytest.raises(FunctionIndexError) as info:
        loss.forward()
    message = str(info.value)
    assert "target label 5 is out of range for 3 classes" in message
    assert "during forward of SoftmaxCrossEntropy" in message
    assert f"{__file__}:" in message and "loss = F.mean(F.softmax_cross_entropy(x, t))" in message


def test_hook_errors_keep_their_type_and_get_a_note():
    loss, t = _bad_labels_graph()
    t.d = [[0], [1]]

    class Stop(Exception):
        pass

    def hook(func):
        if func.type_name == "Mean":
            raise Stop("from the hook")

    with pytest.raises(Stop) as info:
        loss.forward(function_pre_hook=hook)
    assert any("during forward of Mean" in note and __file__ in note for note in info.value.__notes__)


class _FailingBackward(PythonFunction):
    def setup_impl(self, inputs, outputs):
        outputs[0].reset_shape(inputs[0].shape, True)

    def forward_impl(self, inputs, outputs):
        outputs[0].d = inputs[0].d

    def backward_impl(self, inputs, outputs, propagate_down, accum):
        raise ArithmeticError("no gradient today")


@pytest.mark.parametrize("runs", [1, 3], ids=["stepped", "repeated"])
def test_backward_error_names_function_and_line(runs):
    x = nn.Variable.from_numpy_array(np.ones((2,), np.float32), need_grad=True)
    y = F.sum(_FailingBackward()(x) * 2)  # created here
    y.forward()
    for _ in range(runs):
        with pytest.raises(ArithmeticError) as info:
            y.backward()
    notes = " ".join(info.value.__notes__)
    assert "during backward of _FailingBackward" in notes
    assert "y = F.sum(_FailingBackward()(x) * 2)" in notes


def test_compiled_steps_show_their_source_in_tracebacks():
    """A traceback through a generated step shows the generated line, not a bare ``<nnabla step kernel N>``."""
    loss, _ = _bad_labels_graph()
    for _ in range(2):
        with pytest.raises(FunctionIndexError):
            loss.forward()
    with pytest.raises(FunctionIndexError) as info:
        loss.forward()
    frames = [f for f in traceback.extract_tb(info.value.__traceback__) if f.filename.startswith("<nnabla step")]
    assert frames, "the compiled path was not taken"
    assert all(f.line for f in frames)


def test_successful_runs_are_unchanged():
    loss, t = _bad_labels_graph()
    t.d = [[0], [1]]
    for _ in range(3):
        loss.forward()
        loss.backward()
    assert np.isfinite(loss.d)
