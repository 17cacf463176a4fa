"""``nnabla_nb.explain(F.tanh)``: a function's card (meaning, forward formula, gradient, inputs, arguments with
their defaults) and, for elementwise functions, a small picture of the function and its derivative.

The picture is computed by the engine itself: ``F.<name>`` on a range of ``x`` and ``nn.grad`` of it (an
elementwise function's derivative is the gradient of the sum of its outputs). The formulas are LaTeX between
``$`` signs inside HTML: JupyterLab, Notebook and nbviewer typeset them with MathJax; elsewhere they read as
plain LaTeX. Every form has a text twin (``text/plain``).
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

from . import cards as _cards
from .render.chart import curves_svg
from .render.escape import escape, printable
from .render.html import latex, svg_img

BOX = "font-family:sans-serif;font-size:13px;line-height:1.5"
CELL = "text-align:left;vertical-align:top;padding:2px 8px 2px 0"
PLOT_POINTS = 201
NOTATION = "x̄ = ∂L/∂x: the gradient of a loss L with respect to x; 𝟙[c] is 1 where c holds, else 0."


def _functions_module():
    import nnabla.functions as F

    return F


@functools.cache
def public_names() -> dict:
    """Type name -> the ``F`` name that builds it (``Tanh`` -> ``tanh``), for every registered function."""
    from nnabla.function import registry

    F = _functions_module()
    names = {}
    for type_name, cls in registry().items():
        public = F._public_name(cls)
        names[type_name] = public if callable(getattr(F, public, None)) else None
    return names


def resolve(target) -> str:
    """The type name of ``target``: ``F.tanh``, ``"tanh"``, ``"F.tanh"``, ``"Tanh"``, a Function class or node,
    or a Variable (the function that made it). Raises ValueError naming what was not found."""
    import nnabla as nn
    from nnabla.function import Function, registry

    reg = registry()
    if isinstance(target, nn.Variable):
        if target.parent is None:
            raise ValueError("this Variable has no parent function (it is an input or a parameter)")
        return target.parent.info.type_name
    if isinstance(target, Function) or (isinstance(target, type) and issubclass(target, Function)):
        if target.type_name in reg:
            return target.type_name
    by_public = {v: k for k, v in public_names().items() if v}
    if callable(target) and not isinstance(target, type):
        name = getattr(target, "__name__", "")
        if name in by_public and getattr(_functions_module(), name, None) is target:
            return by_public[name]
    if isinstance(target, str):
        name = target.strip()
        for prefix in ("nnabla.functions.", "F.", "PF."):
            if name.startswith(prefix):
                name = name[len(prefix) :]
        if name in reg:
            return name
        if name in by_public:
            return by_public[name]
        lower = {k.lower(): k for k in reg}
        if name.lower() in lower:
            return lower[name.lower()]
        raise ValueError(f"no function named {printable(target)!r} (try a name such as F.tanh or 'Affine')")
    raise ValueError(f"cannot explain a {type(target).__name__}: give a function such as F.tanh, or its name")


def card_json(type_name: str) -> dict:
    """One card as a JSON-ready dict (what graph documents carry per function type)."""
    c = _cards.CARDS[type_name]
    public = public_names().get(type_name)
    return {  # a fresh dict: a document's cards may be edited by its reader
        "name": f"F.{public}" if public else type_name,
        "meaning": c.meaning,
        "forward": c.forward,
        "gradient": c.gradient,
    }


def _signature(type_name: str) -> tuple[list, list]:
    """(inputs, [(argument, default as Python shows it)]) of ``F.<name>`` (or of the op where none exists)."""
    from nnabla.function import registry

    cls = registry()[type_name]
    public = public_names().get(type_name)
    inputs = [name.rstrip("?") + ("=None" if name.endswith("?") else "") for name in cls.inputs_spec]
    args = []
    f = getattr(_functions_module(), public, None) if public else None
    try:
        params = inspect.signature(f).parameters.values() if f is not None else None
    except (TypeError, ValueError):
        params = None
    if params is None or any(p.kind is p.VAR_KEYWORD for p in params):  # F.concatenate(*x, **kw): the op's
        return inputs, [(k, repr(v)) for k, v in cls.args_spec.items()]
    input_names = {name.strip("*?") for name in cls.inputs_spec}
    inputs = []
    for p in params:
        if p.kind is p.VAR_POSITIONAL:
            inputs.append("*" + p.name)
        elif p.name in ("n_outputs", "outputs"):
            continue
        elif p.name in input_names and p.name not in cls.args_spec:
            inputs.append(p.name + ("=None" if p.default is None else ""))
        else:  # an argument, also one NNabla's Python wrapper names its own way (F.sum's axis)
            args.append((p.name, "required" if p.default is p.empty else repr(p.default)))
    return inputs, args


def _plot_range(type_name: str):
    """The x range of the picture, or None where the function is not drawn (not elementwise, no default)."""
    from nnabla._ops._base import Unary
    from nnabla.function import registry

    c = _cards.CARDS[type_name]
    if c.plot is False:
        return None
    if isinstance(c.plot, tuple):
        return c.plot
    cls = registry()[type_name]
    return _cards.DEFAULT_DOMAIN if issubclass(cls, Unary) and cls.differentiable else None


def curves(type_name: str) -> dict | None:
    """{"x": xs, "y": f(xs), "dy": f'(xs)} computed with the engine (forward and nn.grad), or None."""
    lo_hi = _plot_range(type_name)
    public = public_names().get(type_name)
    if lo_hi is None or public is None:
        return None
    import nnabla as nn

    f = getattr(_functions_module(), public)
    xs = np.linspace(lo_hi[0], lo_hi[1], PLOT_POINTS).astype(np.float32)
    x = nn.Variable.from_numpy_array(xs, need_grad=True)
    with nn.auto_forward(False):
        y = f(x)
        (dy,) = nn.grad([y], [x])
        y.forward(clear_no_need_grad=False)
        dy.forward()
    return {"x": xs, "y": np.array(y.d, np.float64), "dy": np.array(dy.d, np.float64)}


def plot_svg(type_name: str, data: dict) -> str:
    public = public_names()[type_name]
    return curves_svg(
        {f"{public}(x)": (data["x"], data["y"]), "derivative": (data["x"], data["dy"])},
        width=420,
        height=190,
        log_y=False,
        x_label="x",
        integer_x=False,
        legend_values=False,
    )


class Explanation:
    """A function's card, shown as HTML (LaTeX for MathJax, the plot as an SVG picture) and as text."""

    def __init__(self, type_name: str, plot: bool = True):
        from nnabla.function import registry

        self.type_name = type_name
        self.card = _cards.CARDS[type_name]
        self.family = _cards.FAMILIES[type_name]
        self.cls = registry()[type_name]
        self.public = public_names().get(type_name)
        self.inputs, self.args = _signature(type_name)
        self.curves = curves(type_name) if plot else None

    @property
    def title(self) -> str:
        call = f"F.{self.public}({', '.join(self.inputs)})" if self.public else self.type_name
        return f"{call}: {self.type_name} ({self.family})"

    @property
    def text(self) -> str:
        lines = [self.title, f"  {self.card.meaning}", f"  forward:   {self.card.forward}"]
        lines.append(f"  gradient:  {self.card.gradient}")
        if self.args:
            lines.append("  arguments: " + ", ".join(f"{k}={v}" for k, v in self.args))
        if self.curves is not None:
            d = self.curves
            lines.append(
                f"  on x in [{d['x'][0]:g}, {d['x'][-1]:g}]: f from {d['y'].min():.4g} to {d['y'].max():.4g}, "
                f"f' from {d['dy'].min():.4g} to {d['dy'].max():.4g}"
            )
        lines.append(f"  ({NOTATION})")
        return "\n".join(printable(line) for line in lines)

    @property
    def html(self) -> str:
        c = self.card
        rows = [("forward", latex(c.forward)), ("gradient", latex(c.gradient))]
        body = "".join(f'<tr><th style="{CELL}">{k}</th><td style="{CELL}">{v}</td></tr>' for k, v in rows)
        if self.args:
            args = ", ".join(f"<code>{escape(k)}={escape(v)}</code>" for k, v in self.args)
            body += f'<tr><th style="{CELL}">arguments</th><td style="{CELL}">{args}</td></tr>'
        picture = ""
        if self.curves is not None:
            svg = plot_svg(self.type_name, self.curves)
            picture = "<div>" + svg_img(svg, f"{self.public}(x) and its derivative") + "</div>"
        return (
            f'<div class="nnabla-nb-card" style="{BOX}">'
            f"<div><code><b>{escape(self.title)}</b></code></div>"
            f"<div>{escape(c.meaning)}</div>"
            f'<table style="border-collapse:collapse;margin:4px 0">{body}</table>'
            f"{picture}"
            f'<div style="font-size:11px;opacity:0.75">{escape(NOTATION)}</div></div>'
        )

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/plain": self.text, "text/html": self.html}

    def __repr__(self) -> str:
        return self.text


def explain(target, plot: bool = True) -> Explanation:
    """The card of ``target`` (``F.tanh``, ``"tanh"``, ``"Affine"``, a Function, a Variable's parent):
    meaning, forward formula, gradient, inputs and arguments with their defaults; for elementwise functions a
    picture of the function and its derivative on a small range (``plot=False`` leaves it out)."""
    from .errors import check_bool, fail, usage

    check_bool("nnabla_nb.explain", "plot", plot, usage(explain))
    try:
        type_name = resolve(target)
    except ValueError as e:
        fail("nnabla_nb.explain", f"target: {e}", usage(explain), type_error=not isinstance(target, str))
    return Explanation(type_name, plot=plot)
