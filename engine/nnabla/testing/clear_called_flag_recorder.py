"""Which buffers graph execution released: NNabla's ``nnabla.testing.clear_called_flag_recorder``.

While active, every function that ``Variable.forward`` or ``Variable.backward`` runs appends one entry to the
input flags and one to the output flags: per input (per output) a pair ``(data cleared, grad cleared)``, read
after the function ran and after the buffers its step releases (``clear_buffer``, ``clear_no_need_grad``) were
released. A buffer counts as cleared from its release until it is next written; one never allocated is not.

Where it differs from NNabla: NNabla flags every ``clear()`` of an array, this flags the releases graph
execution makes and ``NdArray.clear()`` calls. Functions run outside ``forward``/``backward`` (NdArray inputs,
``nn.auto_forward()``) are not recorded. The root's gradient of ``backward(grad=<value>)`` is a temporary
array here that is never released, so the root's grad flag stays False where NNabla's can show it released.
What ``clear_no_need_grad`` may release follows each op's declared backward dependencies, which keep a few
inputs NNabla releases (Convolution's bias, BatchNormalization's beta): their flags stay False here.
``backward(clear_buffer=True)`` releases an intermediate's data after the last backward step that reads it, which
can come before its producer's (NNabla waits for the producer's): such an input shows its data cleared earlier.
"""

from __future__ import annotations

import weakref

from nnabla import _state


class _Recorder:
    def __init__(self):
        self.cleared = weakref.WeakSet()  # NdArrays released while recording
        self.input_flags: list = []
        self.output_flags: list = []

    def flags(self, v) -> tuple:
        if v is None:
            return (False, False)
        return (self.is_cleared(v._data), self.is_cleared(v._grad))

    def is_cleared(self, nd) -> bool:
        return nd is not None and nd._array is None and nd._fill is None and nd in self.cleared

    def record(self, func) -> None:
        self.input_flags.append([self.flags(x) for x in func.inputs])
        self.output_flags.append([self.flags(o) for o in func.outputs])


def activate_clear_called_flag_recorder() -> None:
    """Start recording (forgetting what an earlier recording held)."""
    _state.clear_recorder[0] = _Recorder()


def deactivate_clear_called_flag_recorder() -> None:
    """Stop recording and forget the flags."""
    _state.clear_recorder[0] = None


def get_input_clear_called_flags() -> list:
    """Per function run, per input: ``(data cleared, grad cleared)``; empty when not recording."""
    recorder = _state.clear_recorder[0]
    return [list(f) for f in recorder.input_flags] if recorder is not None else []


def get_output_clear_called_flags() -> list:
    """Per function run, per output: ``(data cleared, grad cleared)``; empty when not recording."""
    recorder = _state.clear_recorder[0]
    return [list(f) for f in recorder.output_flags] if recorder is not None else []
