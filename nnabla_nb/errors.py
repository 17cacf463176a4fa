"""The kit's errors: a bad argument answers with one line and a usage line, and an error raised while a graph
runs is shown with the function and the user's line that created it.

``ArgumentError`` (a ``ValueError``; ``ArgumentTypeError`` is also a ``TypeError``) names the kit function, the
argument and the value given, and carries the function's usage line. IPython shows only those lines, never a
traceback into the kit (``_render_traceback_``, the hook IPython's ``UsageError`` display uses too), plus the
user's line that made the call.

``register(ip)`` (``%load_ext nnabla_nb``) adds an IPython exception handler: an error the engine raised during
forward or backward (its message or note says ``during forward of Affine (created at FILE:LINE: code)``) is
preceded by a short report, in HTML and text, naming the function, the phase and the cell line that created the
function; the ordinary traceback follows. Every other error is shown as before. ``unregister`` undoes it.
"""

from __future__ import annotations

import inspect
import linecache
import math
import numbers
import os
import re
from dataclasses import dataclass

import numpy as np

import nnabla as nn

from .render.escape import escape, printable

KIT_DIR = os.path.dirname(os.path.abspath(__file__))  # frames of files under it are the kit's own
VALUE_CHARS = 60  # a value shown in a message is cut to this many characters


class ArgumentError(ValueError):
    """A bad argument to a kit function; ``usage`` is that function's usage line."""

    def __init__(self, message: str, usage: str = ""):
        super().__init__(message + (f"\n{usage}" if usage else ""))
        self.message, self.usage = message, usage

    def _render_traceback_(self) -> list:
        """What IPython shows instead of a traceback: the message, the usage line and the user's call."""
        lines = [f"{type(self).__name__}: {self.message}"]
        if self.usage:
            lines.append(self.usage)
        call = _user_call(self.__traceback__)
        if call:
            lines.append(f"(called at {call})")
        return lines


class ArgumentTypeError(ArgumentError, TypeError):
    """An argument of the wrong type (a number where a Variable goes, a string where a number goes)."""


def describe(value: object) -> str:
    """``int 3``, ``str 'abc'``: a value's type and (cut) repr, for messages."""
    text = printable(repr(value))
    if len(text) > VALUE_CHARS:
        text = text[: VALUE_CHARS - 3] + "..."
    return f"{type(value).__name__} {text}"


def usage(fn, name: str | None = None) -> str:
    """``usage: nnabla_nb.graph(y, values=False, ...)``: the call as a user writes it (no annotations)."""
    parts = []
    for p in inspect.signature(fn).parameters.values():
        if p.name == "self":
            continue
        if p.kind is p.VAR_KEYWORD:
            parts.append(f"**{p.name}")
        elif p.kind is p.VAR_POSITIONAL:
            parts.append(f"*{p.name}")
        elif p.default is p.empty:
            parts.append(p.name)
        else:
            parts.append(f"{p.name}={p.default!r}")
    return f"usage: {name or 'nnabla_nb.' + fn.__name__}({', '.join(parts)})"


def fail(where: str, message: str, use: str = "", type_error: bool = False):
    """Raise an ``ArgumentError`` (``ArgumentTypeError`` with ``type_error``) for kit function ``where``."""
    cls = ArgumentTypeError if type_error else ArgumentError
    raise cls(f"{where}: {message}", use) from None


# -- argument checks: each returns the value (or raises) -----------------------------------------------------
def check_type(where: str, name: str, value, types, what: str, use: str = "", none: bool = False):
    if (none and value is None) or isinstance(value, types):
        return value
    fail(where, f"{name} must be {what}{' or None' if none else ''}, got {describe(value)}", use, type_error=True)


def check_bool(where: str, name: str, value, use: str = "", none: bool = False):
    """True or False (numpy's bools too); with ``none`` also None ("detect")."""
    if (none and value is None) or isinstance(value, (bool, np.bool_)):
        return value
    what = "True, False or None" if none else "True or False"
    fail(where, f"{name} must be {what}, got {describe(value)}", use, type_error=True)


def check_int(where: str, name: str, value, minimum: int | None = None, use: str = "", none: bool = False):
    """A whole number (not a bool, not a float) of at least ``minimum``; with ``none`` also None."""
    if none and value is None:
        return value
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        fail(where, f"{name} must be a whole number{' or None' if none else ''}, got {describe(value)}", use, True)
    if minimum is not None and value < minimum:
        fail(where, f"{name} must be >= {minimum}, got {value}", use)
    return int(value)


def check_positive(where: str, name: str, value, use: str = ""):
    """A real number > 0 (a rate, a threshold)."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        fail(where, f"{name} must be a number > 0, got {describe(value)}", use, type_error=True)
    if not value > 0 or math.isinf(value):
        fail(where, f"{name} must be a finite number > 0, got {value}", use)
    return value


def check_shell(where: str, value, use: str = ""):
    """None (the running IPython) or an IPython shell."""
    if value is None or hasattr(value, "display_formatter") and hasattr(value, "register_magic_function"):
        return value
    fail(where, f"ip must be an IPython shell (get_ipython()) or None, got {describe(value)}", use, type_error=True)


def check_variable(where: str, name: str, value, use: str = ""):
    if isinstance(value, nn.Variable):
        return value
    hint = " (an NdArray has no graph: use nn.Variable)" if isinstance(value, nn.NdArray) else ""
    fail(where, f"{name} must be an nnabla Variable, got {describe(value)}{hint}", use, type_error=True)


def check_parameters(where: str, name: str, value, use: str = "", scope: bool = False):
    """None, a dict of parameter name -> Variable (what ``nn.get_parameters()`` gives) or, with ``scope``, a
    scope name."""
    if value is None or (scope and isinstance(value, str)):
        return value
    what = "a dict of name -> Variable" + (", a scope name" if scope else "") + " or None"
    if not isinstance(value, dict):
        fail(where, f"{name} must be {what}, got {describe(value)}", use, type_error=True)
    for k, v in value.items():
        if not isinstance(k, str) or not isinstance(v, nn.Variable):
            fail(where, f"{name} must be {what}; its item {printable(k)!r} is {describe(v)}", use, True)
    return value


def _user_call(tb) -> str:
    """``Cell In[3], line 2: nnabla_nb.graph(3)``: the last frame outside the kit before the kit was entered."""
    last = None
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if os.path.abspath(filename).startswith(KIT_DIR + os.sep):
            break
        last = (filename, tb.tb_lineno)
        tb = tb.tb_next
    if last is None or tb is None:
        return ""
    return place(*last)


def place(filename: str, lineno: int) -> str:
    """``Cell In[3], line 2: code`` for a notebook cell (IPython's own naming), ``file.py:12: code`` elsewhere."""
    code = linecache.getline(filename, lineno).strip()
    cell = _cell_number(filename)
    where = f"Cell In[{cell}], line {lineno}" if cell is not None else f"{filename}:{lineno}"
    return where + (f": {code}" if code else "")


def _cell_number(filename: str):
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    ip = get_ipython()
    names = getattr(getattr(ip, "compile", None), "_filename_map", None)  # IPython >= 8: file name -> In[n]
    return names.get(filename) if isinstance(names, dict) else None


# -- errors raised while a graph runs -----------------------------------------------------------------------
# the engine's wording (nnabla.function.where / located): "during forward of Affine (created at f.py:12: code)"
_LOCATED = re.compile(r"^\s*during (forward|backward) of (\w+)(?: \(created at (.+?):(\d+)(?:: (.*))?\))?\s*$", re.M)


@dataclass(frozen=True)
class GraphError:
    """What an error raised while a graph ran says about where it happened."""

    message: str  # the error's own message, without the location line
    error_type: str
    phase: str  # "forward" | "backward"
    function: str  # the function's type name
    filename: str | None
    line: int | None

    @property
    def created_at(self) -> str:
        """Where the function was created, as the notebook names it (``Cell In[3], line 2: code``)."""
        return place(self.filename, self.line) if self.filename else ""

    @property
    def reason(self) -> str:
        """The message without its leading ``Function:`` (the report names the function already)."""
        prefix = f"{self.function}: "
        return self.message[len(prefix) :] if self.message.startswith(prefix) else self.message

    @property
    def text(self) -> str:
        lines = [f"{self.function} failed during {self.phase} ({self.error_type}): {self.reason}"]
        if self.filename:
            lines.append(f"  created at {self.created_at}")
        return "\n".join(lines)

    @property
    def html(self) -> str:
        where = ""
        if self.filename:
            place_text, _, code = self.created_at.partition(": ")
            where = f"<div>created at {escape(place_text)}" + (
                f': <code style="background:#8a8a8a26;padding:0 3px">{escape(code)}</code>' if code else ""
            )
            where += "</div>"
        return (
            '<div style="font-family:monospace;font-size:12px;line-height:1.45;border-left:4px solid #c62828;'
            f'padding:2px 8px"><div><b>{escape(self.function)}</b> failed during {escape(self.phase)} '
            f"({escape(self.error_type)}): {escape(self.reason)}</div>{where}</div>"
        )

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/plain": self.text, "text/html": self.html}

    def __repr__(self) -> str:
        return self.text


def graph_error(error: BaseException) -> GraphError | None:
    """The ``GraphError`` of an error the engine raised during forward/backward, None for any other error."""
    message = str(error)
    for text in [message, *getattr(error, "__notes__", ())]:
        if not isinstance(text, str):
            continue
        m = _LOCATED.search(text)
        if m is None:
            continue
        phase, function, filename, line, _ = m.groups()
        own = _LOCATED.sub("", message).strip() if text is message else message.strip()
        return GraphError(own, type(error).__name__, phase, function, filename, int(line) if line else None)
    return None


# -- the IPython handler --------------------------------------------------------------------------------------
_previous: dict = {}  # id(shell) -> (custom_exceptions, CustomTB) found at register


def _show_error(shell, etype, value, tb, tb_offset=None):
    report = graph_error(value)
    if report is not None:
        from IPython.display import display

        display(report)
    before = _previous.get(id(shell))
    if before is not None and before[0] and isinstance(value, before[0]):
        return before[1](etype, value, tb, tb_offset=tb_offset)
    shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
    return None


def register(ip) -> None:
    """Show engine errors with their function and creation line in shell ``ip`` (what %load_ext does)."""
    if id(ip) in _previous:
        return
    _previous[id(ip)] = (ip.custom_exceptions, ip.CustomTB)
    ip.set_custom_exc((Exception,), _show_error)


def unregister(ip) -> None:
    """Put back the exception handling ``register`` found."""
    before = _previous.pop(id(ip), None)
    if before is not None:
        ip.custom_exceptions, ip.CustomTB = before
