"""nnabla-nb's Jupyter kit: graphs, arrays, parameters and training progress shown inline.

``%load_ext nnabla_nb`` (or ``nnabla_nb.enable()``) gives Variables, NdArrays, Functions, parameter dicts and
solvers a rich display and adds the ``%nnabla`` magic; ``nnabla_nb.graph(y)`` draws a computation graph;
``progress``, ``params``, ``grads`` and ``backward_steps`` are widgets with static fallbacks (``widgets/``);
``explain(F.tanh)`` shows a function's card (``cards/``) and ``graph_diff(before, after)`` what a converter changed.
A bad argument to any of them answers with a one-line message and a usage line (``errors.py``), and an error
raised during forward/backward in a notebook is shown with the function and the cell line that created it.
"""

from __future__ import annotations

from .diff import graph_diff
from .explain import explain
from .graph import GraphModel, build
from .view import GraphView, graph
from .widgets import backward_steps, grads, params, progress, set_widget_mode

__version__ = "0.1.0"

__all__ = [
    "GraphModel",
    "GraphView",
    "backward_steps",
    "build",
    "disable",
    "enable",
    "explain",
    "grads",
    "graph",
    "graph_diff",
    "params",
    "progress",
    "set_widget_mode",
    "__version__",
]


def enable(ip=None) -> None:
    """Rich display for engine objects and the ``%nnabla`` magic in the running IPython (what %load_ext does)."""
    from . import display, errors, magics

    errors.check_shell("nnabla_nb.enable", ip, errors.usage(enable))
    if ip is None:
        from IPython import get_ipython

        ip = get_ipython()
    if ip is None:
        return
    display.enable(ip)
    magics.register(ip)
    errors.register(ip)


def disable(ip=None) -> None:
    """Undo ``enable`` (what %unload_ext does)."""
    from . import display, errors, magics

    errors.check_shell("nnabla_nb.disable", ip, errors.usage(disable))
    if ip is None:
        from IPython import get_ipython

        ip = get_ipython()
    if ip is None:
        return
    display.disable(ip)
    magics.unregister(ip)
    errors.unregister(ip)


def load_ipython_extension(ip) -> None:
    enable(ip)


def unload_ipython_extension(ip) -> None:
    disable(ip)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where `jupyter labextension develop --overwrite .` finds the built extension in a source checkout."""
    return [{"src": "../labextension/dist/nnabla-nb", "dest": "nnabla-nb"}]
