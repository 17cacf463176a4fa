"""Live and interactive views: training progress, the parameter tree, the gradient table, backward step by step.

Each is an ipywidgets 8 widget (a few typed traits over standard child widgets) where a widget frontend is
connected, and a static output (text and inline-styled HTML, data-URI pictures) everywhere else: nbconvert,
nbval, GitHub, a terminal. ``widget=True/False`` on each factory, ``set_widget_mode`` or ``NNABLA_NB_WIDGETS``
force the choice. Widgets also carry their static form in their MIME bundle, so a saved notebook shows it.
"""

from __future__ import annotations

from .backward import BackwardRecord, BackwardSteps, backward_steps, record_backward
from .frontend import LiveOutput, Static, has_widget_frontend, set_widget_mode
from .grads import BackwardFollower, GradRow, GradsTable, GradsView, grad_rows, grads
from .params import ParamsTree, params, params_static
from .progress import Progress, ProgressWidget, progress

__all__ = [
    "BackwardFollower",
    "BackwardRecord",
    "BackwardSteps",
    "GradRow",
    "GradsTable",
    "GradsView",
    "LiveOutput",
    "ParamsTree",
    "Progress",
    "ProgressWidget",
    "Static",
    "backward_steps",
    "grad_rows",
    "grads",
    "has_widget_frontend",
    "params",
    "params_static",
    "progress",
    "record_backward",
    "set_widget_mode",
]
