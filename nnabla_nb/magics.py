"""The ``%nnabla`` line/cell magic.

    %nnabla graph VAR [--values] [--grads] [--collapse] [--max-nodes N]
    %nnabla params [SCOPE]
    %nnabla grads [SCOPE]
    %nnabla context [cpu|cuda[:ID]|cudnn[:ID]]
    %nnabla info
    %nnabla explain FUNCTION
    %%nnabla trace            (cell magic: run the cell, list the functions it executed)

``SUBCOMMANDS`` is the one table of them (name, usage, help, arguments, the function that runs it): the parser,
the usage text and the help ``%nnabla?`` shows are built from it, so a new subcommand is one entry. A line that
cannot run (an unknown command, a missing or wrong argument, a name that is not a Variable) prints one line
saying what is wrong and the command's usage line, never a traceback.
"""

from __future__ import annotations

import argparse
import shlex
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import nnabla as nn

from .errors import ArgumentError, describe
from .render.common import shape
from .render.escape import escape, printable
from .widgets.frontend import Static


class UsageError(Exception):
    """A ``%nnabla`` line that cannot run: printed with the usage line(s), never as a traceback."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _whole_number(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {n}")
    return n


def arg(*flags, **options) -> tuple:
    """One argument of a subcommand, as ``argparse.ArgumentParser.add_argument`` takes it."""
    return flags, options


@dataclass(frozen=True)
class Subcommand:
    """One ``%nnabla`` subcommand: adding one is adding an entry to ``SUBCOMMANDS``."""

    name: str
    usage: str  # "%nnabla graph VAR [--values]"; "%%nnabla trace" for a cell magic
    help: str
    run: Callable  # (args, user_ns) -> result; a cell magic's: (args, user_ns, cell, shell)
    arguments: tuple = ()  # arg(...) entries
    cell: bool = False  # a cell magic (%%nnabla NAME) rather than a line magic

    def parser(self) -> argparse.ArgumentParser:
        p = _Parser(prog=f"%nnabla {self.name}", add_help=False)
        for flags, options in self.arguments:
            p.add_argument(*flags, **options)
        return p


Result = Static  # a magic's output: text/plain and text/html forms


def usage_text(commands=None) -> str:
    return "usage:\n" + "\n".join(f"  {c.usage}" for c in commands or SUBCOMMANDS)


def help_text() -> str:
    return (
        "nnabla-nb's magic: computation graphs, parameters, gradients and contexts in the notebook.\n\n"
        + "\n\n".join(c.usage + "\n" + "\n".join("    " + line for line in c.help.splitlines()) for c in SUBCOMMANDS)
        + "\n\nA usage error prints the usage line. Load with %load_ext nnabla_nb (or nnabla_nb.enable())."
    )


def run_line(line: str, user_ns: dict, cell: str | None = None, shell=None):
    """Run one ``%nnabla`` command; returns a displayable result, or None after printing what was wrong with
    the line and its usage (a short text: no traceback)."""
    command = None
    try:
        try:
            words = shlex.split(line)
        except ValueError as e:  # an unclosed quote
            raise UsageError(f"cannot read the line: {e}") from None
        if not words:
            raise UsageError("a command is required")
        if words[0] in ("help", "-h", "--help"):
            print(help_text())
            return None
        command = COMMANDS.get(words[0])
        if command is None:
            raise UsageError(f"unknown command {printable(words[0])!r} (commands: {', '.join(COMMANDS)})")
        args = command.parser().parse_args(words[1:])
        if command.cell:
            if cell is None:
                raise UsageError(f"{command.name} is a cell magic: %%nnabla {command.name} on a cell's first line")
            return command.run(args, user_ns, cell, shell)
        if cell is not None:
            raise UsageError(f"{command.name} is a line magic: %nnabla {command.name}")
        return command.run(args, user_ns)
    except (UsageError, ArgumentError) as e:
        message = e.message if isinstance(e, ArgumentError) else str(e)
        where = f"%nnabla {command.name}" if command is not None else "%nnabla"
        print(f"{where}: {message}\n{usage_text([command] if command is not None else None)}")
        return None


def _graph(args, user_ns):
    from .view import DEFAULT_MAX_NODES, graph

    try:
        var = eval(args.var, user_ns)  # noqa: S307 - a name or expression typed by the user in their own kernel
    except Exception as e:
        raise UsageError(f"cannot evaluate {args.var!r}: {type(e).__name__}: {e}") from None
    if not isinstance(var, nn.Variable):
        raise UsageError(f"VAR {args.var!r} must be an nnabla Variable; it is {describe(var)}")
    from .graph import namespace_names

    return graph(
        var,
        names=namespace_names(user_ns),
        values=args.values,
        grads=args.grads,
        collapse_scopes=True if args.collapse else "auto",
        max_nodes=args.max_nodes or DEFAULT_MAX_NODES,
    )


def _params(args, user_ns):
    from .display import params_html, params_text

    allp = nn.get_parameters(grad_only=False)
    scope = args.scope.strip("/")
    # filter by name rather than entering parameter_scope, which would create the scope
    chosen = OrderedDict((k, v) for k, v in allp.items() if not scope or k == scope or k.startswith(scope + "/"))
    if not chosen:
        where = f" under {scope!r}" if scope else ""
        return Result(f"no parameters{where}")
    return Result(params_text(chosen), params_html(chosen))


def _grads(args, user_ns):
    from .widgets.grads import grads
    from .widgets.params import scoped_parameters

    scope = args.scope.strip("/")
    if not scoped_parameters(scope):
        where = f" under {scope!r}" if scope else ""
        return Result(f"no parameters{where}")
    # a GradsView widget where a widget frontend is connected, a static GradsTable elsewhere
    return grads(scope or None)


def _info(args, user_ns):
    import nnabla_nb

    params = nn.get_parameters(grad_only=False)
    total = sum(int(np.prod(v.shape, dtype=np.int64)) for v in params.values())
    facts = [
        ("nnabla", nn.__version__),
        ("nnabla_nb", nnabla_nb.__version__),
        ("numpy", np.__version__),
        ("context", str(nn.get_current_context())),
        ("auto_forward", str(nn.get_auto_forward())),
        ("parameters", f"{len(params)} ({total} values)"),
    ]
    text = "\n".join(f"{k:<13}{v}" for k, v in facts)
    from .display import BOX, _table

    # JupyterLab right-aligns table cells: _table's cells say text-align:left, keeping values beside their keys
    return Result(text, f'<div style="{BOX}">' + _table(None, [[escape(k), escape(v)] for k, v in facts]) + "</div>")


def _context(args, user_ns):
    if args.name is not None:
        name, _, device = args.name.partition(":")
        if name not in ("cpu", "cuda", "cudnn") or (device and not device.isdigit()):
            raise UsageError(f"unknown context {args.name!r}")
        from nnabla.ext_utils import get_extension_context

        kw = {"device_id": device} if device and name != "cpu" else {}
        try:
            ctx = get_extension_context(name, **kw)
            ctx.resolve()
        except RuntimeError as e:  # e.g. no GPU here: say so, keep the current context
            return Result(f"context unchanged ({nn.get_current_context()}): {e}")
        nn.set_default_context(ctx)
    ctx = nn.get_current_context()
    return Result(f"context: {ctx}" + _what_runs_where(ctx))


def _what_runs_where(ctx) -> str:
    """For a CUDA context, one line saying what lives on the GPU and what crosses to the host."""
    if not ctx.backend[0].startswith(("cuda", "cudnn")):
        return ""
    xp, dtype = ctx.resolve()
    version = getattr(xp, "__version__", "")
    return (
        f"\nfunctions compute on GPU {ctx.device_id} with {xp.__name__} {version} in {dtype.__name__}; their inputs, "
        "outputs, gradients and parameters stay there from their first use, as do the state of solvers made now; "
        ".d/.g copy to the host when read, and what is written into them is copied back on the next use"
    )


class _Tracer:
    """Records every function the engine runs (via the public function hooks) while a cell executes, and
    whether it ran in forward or backward: ``Variable.backward`` is wrapped for the duration of the cell."""

    KEY = "nnabla_nb.trace"

    def __init__(self):
        self.calls = []  # (type name, input shapes, "forward" | "backward")
        self._in_backward = 0
        self.backward_calls = 0
        self.accumulated = False  # a backward started while parameters held gradients (it adds to them)

    def __call__(self, f):
        ins = tuple(tuple(x.shape) for x in f.inputs)
        self.calls.append((f.info.type_name, ins, "backward" if self._in_backward else "forward"))

    def __enter__(self):
        nn.set_function_post_hook(self.KEY, self)
        self._original = original = nn.Variable.backward
        tracer = self

        def backward(var, *args, **kwargs):
            if not tracer._in_backward and _gradients_held():
                tracer.accumulated = True
            tracer._in_backward += 1
            tracer.backward_calls += 1
            try:
                return original(var, *args, **kwargs)
            finally:
                tracer._in_backward -= 1

        nn.Variable.backward = backward
        return self

    def __exit__(self, *exc):
        nn.Variable.backward = self._original
        nn.unset_function_post_hook(self.KEY)
        return False


TRACE_LINES = 200  # calls listed; the counts cover all of them


def _gradients_held() -> list:
    """Names of the parameters whose gradient holds something non-zero (backward would add to it)."""
    from .graph import read_grad

    return [k for k, v in nn.get_parameters(grad_only=False).items() if v.need_grad and np.any(read_grad(v))]


def _trace(args, user_ns, cell, shell):
    return trace(cell, shell, user_ns)


def trace(cell: str, shell, user_ns):
    """Run ``cell`` and list the functions it executed, forward and backward marked, in order; say when a
    backward added to gradients that were already there (no ``zero_grad`` before it)."""
    with _Tracer() as tracer:
        if shell is not None:
            shell.run_cell(cell, store_history=False)
        else:
            exec(cell, user_ns)  # noqa: S102
    counts: dict = {}
    for name, _, phase in tracer.calls:
        key = (phase, name)
        counts[key] = counts.get(key, 0) + 1
    forward = [f"{name} x{c}" for (phase, name), c in counts.items() if phase == "forward"]
    backward = [f"{name} x{c}" for (phase, name), c in counts.items() if phase == "backward"]
    n_fwd = sum(1 for c in tracer.calls if c[2] == "forward")
    head = [f"{len(tracer.calls)} function calls: {n_fwd} forward, {len(tracer.calls) - n_fwd} backward"]
    if forward:
        head.append("  forward:  " + ", ".join(forward))
    if backward:
        head.append("  backward: " + ", ".join(backward))
    if tracer.accumulated:
        head.append(
            "  note: backward added to gradients the parameters already held (no zero_grad before it): they "
            "now hold a sum of passes; call solver.zero_grad() first to see one pass"
        )
    lines = []
    for k, (name, ins, phase) in enumerate(tracer.calls[:TRACE_LINES]):
        lines.append(f"  {k:>4} {phase:<8} {printable(name)}({', '.join(shape(s) for s in ins)})")
    if len(tracer.calls) > TRACE_LINES:
        lines.append(f"  ... {len(tracer.calls) - TRACE_LINES} more")
    text = "\n".join(head + lines)
    head_html = "".join(f"<div>{escape(line.strip())}</div>" for line in head)
    body = escape("\n".join(lines))
    html = (
        f'<div style="font-family:monospace;font-size:12px">{head_html}'
        f'<details><summary style="cursor:pointer">the calls in order</summary>'
        f'<pre style="margin:2px 0">{body}</pre></details></div>'
    )
    return Result(text, html)


def _explain(args, user_ns):
    from .explain import explain, resolve

    try:  # a name (F.tanh, tanh or Tanh) first; else an expression of the kernel (a Variable: its function)
        return explain(resolve(args.function))
    except ValueError as e:
        error = e
    try:
        target = eval(args.function, user_ns)  # noqa: S307 - typed by the user in their own kernel
        return explain(resolve(target))
    except Exception:
        raise UsageError(str(error)) from None


# the subcommands, in the order the help lists them
SUBCOMMANDS = (
    Subcommand(
        "graph",
        "%nnabla graph VAR [--values] [--grads] [--collapse] [--max-nodes N]",
        "Draw the computation graph that ends at Variable VAR (a name or expression): interactive in JupyterLab\n"
        "with the nnabla-nb extension, a picture elsewhere. --values / --grads add data / gradient statistics\n"
        "to every node, --collapse folds the parameter scopes, --max-nodes N caps the static picture.",
        _graph,
        (
            arg("var", metavar="VAR"),
            arg("--values", action="store_true"),
            arg("--grads", action="store_true"),
            arg("--collapse", action="store_true"),
            arg("--max-nodes", type=_whole_number, default=None, metavar="N"),
        ),
    ),
    Subcommand(
        "params",
        "%nnabla params [SCOPE]",
        "The parameters (all, or those under SCOPE) as a folding tree of scopes with shapes, statistics and a\n"
        "picture of each parameter's values.",
        _params,
        (arg("scope", nargs="?", default="", metavar="SCOPE"),),
    ),
    Subcommand(
        "grads",
        "%nnabla grads [SCOPE]",
        "Gradient table of the current parameters (all, or those under SCOPE), as nnabla_nb.grads() shows it:\n"
        "|g| L2 norm, mean |g|, |g|/|w|, nan/inf/zero/vanishing/exploding flags, a histogram of each gradient.",
        _grads,
        (arg("scope", nargs="?", default="", metavar="SCOPE"),),
    ),
    Subcommand(
        "context",
        "%nnabla context [cpu|cuda[:ID]|cudnn[:ID]]",
        "Show the default context, or set it (e.g. cudnn:0); where the extension cannot load, it says so and\n"
        "keeps the current one.",
        _context,
        (arg("name", nargs="?", default=None, metavar="NAME"),),
    ),
    Subcommand(
        "info",
        "%nnabla info",
        "Versions (nnabla, nnabla_nb, numpy), context, auto_forward and the parameter count.",
        _info,
    ),
    Subcommand(
        "explain",
        "%nnabla explain FUNCTION",
        "The card of a function (F.tanh, tanh or Tanh): meaning, forward formula, gradient, arguments with\n"
        "their defaults, and a plot of the function and its derivative for elementwise ones.",
        _explain,
        (arg("function", metavar="FUNCTION"),),
    ),
    Subcommand(
        "trace",
        "%%nnabla trace",
        "Cell magic: run the cell and list the functions it executed (forward and backward calls) in order,\n"
        "with their input shapes.",
        _trace,
        cell=True,
    ),
)
COMMANDS = {c.name: c for c in SUBCOMMANDS}
USAGE = usage_text()
HELP = help_text()


def register(ip) -> None:
    """Add ``%nnabla`` / ``%%nnabla`` to IPython shell ``ip``."""

    def nnabla(line, cell=None):
        return run_line(line, ip.user_ns, cell=cell, shell=ip)

    nnabla.__doc__ = HELP  # what %nnabla? shows
    ip.register_magic_function(nnabla, magic_kind="line_cell", magic_name="nnabla")


def unregister(ip) -> None:
    mm = ip.magics_manager
    mm.magics["line"].pop("nnabla", None)
    mm.magics["cell"].pop("nnabla", None)
