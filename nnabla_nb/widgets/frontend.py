"""Where the kit's live outputs go: an ipywidgets frontend, a rich display without widgets, or a terminal.

``has_widget_frontend()`` is True in a kernel where a frontend opened the ipywidgets control comm: the
JupyterLab / Notebook 7 widget manager opens it when it connects to the kernel, asks for the widget states and
closes it again, and ipywidgets remembers it (``Widget._control_comm``); nbclient, nbconvert, nbval and terminals
never open it. A fresh kernel refuses that comm, though (ipywidgets registers its target only when imported, after
the frontend connected), so the running cell's request is the second sign: JupyterLab and Notebook 7 send the
cell's id and the notebook's deleted cells in its metadata (``cellId``, ``deletedCells``), nbclient sends none.
``set_widget_mode`` (or the ``NNABLA_NB_WIDGETS`` environment variable, ``1``/``0``) overrides the guess.

``LiveOutput`` animates one output with ``display_id`` and leaves a deterministic saved notebook: nbval sees
only ``display_data`` messages while nbconvert applies ``update_display_data``, so the live output starts and
ends as the same empty placeholder, and the final state is a separate, ordinary ``display``.
"""

from __future__ import annotations

import os
import sys

WIDGET_CONTROL_TARGET = "jupyter.widget.control"
_mode: list = [None]  # None: detect; True/False: forced by set_widget_mode


def set_widget_mode(mode: bool | None) -> None:
    """Force widget mode on (True) or off (False) for every kit widget, or go back to detection (None)."""
    from ..errors import check_bool, usage

    check_bool("nnabla_nb.set_widget_mode", "mode", mode, usage(set_widget_mode), none=True)
    _mode[0] = None if mode is None else bool(mode)


def _ipython():
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def in_kernel() -> bool:
    """True inside a Jupyter kernel (a shell with a ``kernel``), False in a terminal or plain Python."""
    ip = _ipython()
    return ip is not None and getattr(ip, "kernel", None) is not None


def rich_display() -> bool:
    """True where ``display(..., display_id=True)`` reaches a rich frontend: any IPython shell except a terminal."""
    ip = _ipython()
    return ip is not None and type(ip).__name__ != "TerminalInteractiveShell"


def has_widget_frontend() -> bool:
    """Whether ipywidgets will render here (see the module docstring); overrides come first."""
    if _mode[0] is not None:
        return _mode[0]
    env = os.environ.get("NNABLA_NB_WIDGETS", "").strip().lower()
    if env in ("1", "true", "yes", "on"):
        return True
    if env in ("0", "false", "no", "off"):
        return False
    if not in_kernel() or "ipywidgets" not in sys.modules and not _importable("ipywidgets"):
        return False
    try:
        import comm

        manager = comm.get_comm_manager()
        if any(getattr(c, "target_name", "") == WIDGET_CONTROL_TARGET for c in list(manager.comms.values())):
            return True
    except Exception:  # an old kernel without the comm package's manager: fall through
        pass
    from ipywidgets import Widget

    return getattr(Widget, "_control_comm", None) is not None or _cell_from_jupyterlab()


def _cell_from_jupyterlab() -> bool:
    """The running cell was sent by JupyterLab or Notebook 7 (see the module docstring)."""
    try:
        parent = _ipython().kernel.get_parent("shell")
    except Exception:  # no kernel, or an ipykernel before 6 without get_parent
        return False
    metadata = (parent or {}).get("metadata") or {}
    return "cellId" in metadata and "deletedCells" in metadata


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def use_widget(widget: bool | None) -> bool:
    """A factory's ``widget=`` argument resolved: None means detect."""
    return has_widget_frontend() if widget is None else bool(widget)


class Static:
    """A fixed output with a text and an HTML form (what a saved notebook keeps)."""

    def __init__(self, text: str, html: str | None = None):
        self.text, self.html = text, html

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = {"text/plain": self.text}
        if self.html is not None:
            bundle["text/html"] = self.html
        return bundle

    def __repr__(self) -> str:
        return self.text


PLACEHOLDER = Static("")


def ipython_display(obj, display_id=None):
    """IPython's ``display`` (imported late so the kit imports without IPython)."""
    from IPython.display import display

    return display(obj, display_id=display_id)


class LiveOutput:
    """One output animated in place (``show``), then ended with a separate final output (``finish``).

    ``display`` is IPython's ``display`` by default; tests pass a recorder. Without a rich display (terminal,
    plain Python), or when a ``stream`` is given, frames are rewritten on one line of ``stream`` (default stdout)
    with carriage returns, and the final frame ends it.
    """

    def __init__(self, display=None, stream=None):
        self._display = display
        self._rich = display is not None or (stream is None and rich_display())
        self._stream = stream if stream is not None else sys.stdout
        self._handle = None
        self.updates = 0  # frames shown (display + updates), for tests and benchmarks

    def show(self, obj) -> None:
        """Show ``obj`` (something displayable, e.g. a ``Static`` or a widget) in the live output."""
        self.updates += 1
        if not self._rich:
            self._stream.write("\r" + _one_line(obj))
            self._stream.flush()
            return
        disp = self._display or ipython_display
        if self._handle is None:
            self._handle = disp(PLACEHOLDER, display_id=True)
        self._handle.update(obj)

    def finish(self, final) -> None:
        """Return the live output to the placeholder and display ``final`` as an ordinary output."""
        if not self._rich:
            text = final.text if isinstance(final, Static) else repr(final)
            self._stream.write(("\r" if self.updates else "") + text + "\n")
            self._stream.flush()
            return
        disp = self._display or ipython_display
        if self._handle is not None:
            self._handle.update(PLACEHOLDER)
        disp(final)


def _one_line(obj) -> str:
    text = obj.text if isinstance(obj, Static) else repr(obj)
    return text.splitlines()[0] if text else ""
