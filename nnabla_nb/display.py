"""Rich display of engine objects: Variable, NdArray, Function, parameter dicts (``nn.get_parameters()``) and
solvers get an HTML form (inline styles, data-URI pictures) and a text form without memory addresses.

``enable()`` registers IPython formatters, ``disable()`` removes them (``%load_ext`` / ``%unload_ext nnabla_nb``).
Display reads values (``graph.read_data``, ``graph.read_grad``: data on a GPU is copied to the host once per
array shown, and stays on the GPU) and public attributes only; it never changes a value, a flag or a graph.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

import nnabla as nn
from nnabla.function import Function
from nnabla.solvers import Solver
from nnabla.utils.data_iterator import DataIterator

from . import dataviews
from .graph import Stats, array_stats, read_data, read_grad
from .render.common import num, shape, value
from .render.escape import escape, printable
from .render.png import colorbar_png, data_uri, filters_png, heatmap_png, histogram_png, is_filter_bank

BOX = "font-family:monospace;font-size:12px;line-height:1.45"
CELL = "padding:1px 8px;text-align:left;border-bottom:1px solid #ddd;vertical-align:top"
MUTED = "color:#777"
PRINT_THRESHOLD = 24  # arrays larger than this print summarized


# -- pieces ---------------------------------------------------------------------------------------
def _table(header, rows) -> str:
    """An inline-styled table; cells say text-align:left (JupyterLab right-aligns them); ``header`` may be None."""
    head = "".join(f'<th style="{CELL}">{escape(h)}</th>' for h in header) if header else ""
    body = "".join("<tr>" + "".join(f'<td style="{CELL}">{c}</td>' for c in row) + "</tr>" for row in rows)
    return f'<table style="border-collapse:collapse">{f"<tr>{head}</tr>" if head else ""}{body}</table>'


def _stats_cells(s: Stats | None) -> list:
    if s is None:
        return [f'<span style="{MUTED}">-</span>'] * 6
    bad = "color:#c62828;font-weight:bold"
    return [
        escape(num(s.min)),
        escape(num(s.mean)),
        escape(num(s.max)),
        escape(num(s.std)),
        f'<span style="{bad if s.nan else ""}">{s.nan}</span>',
        f'<span style="{bad if s.inf else ""}">{s.inf}</span>',
    ]


def _stats_text(label: str, s: Stats | None) -> str:
    if s is None:
        return f"  {label}: -"
    return f"  {label}: min {num(s.min)} mean {num(s.mean)} max {num(s.max)} std {num(s.std)} nan {s.nan} inf {s.inf}"


FRAME = "border:1px solid #8a8a8a80"  # so an all-zero (all-white) heatmap is still seen


def _scale(a: np.ndarray) -> float:
    finite = a[np.isfinite(a)]
    return float(np.abs(finite).max()) if finite.size else 0.0


def picture(a: np.ndarray) -> tuple:
    """(data-URI, caption) of a heatmap for 0-2-D arrays, a grid of filters for convolution kernels, else a
    histogram. Heatmap captions carry their colour scale (see ``scale_html``)."""
    a = np.asarray(a)
    if a.ndim <= 2:
        m = _scale(a)
        return data_uri(heatmap_png(a)), ("all values 0" if m == 0 else f"heatmap, blue -{num(m)} .. red +{num(m)}")
    if is_filter_bank(a.shape):
        o, i, kh, kw = a.shape
        m = _scale(a)
        return data_uri(filters_png(a)), f"{o} x {i} filters of {kh}x{kw}, blue -{num(m)} .. red +{num(m)}"
    return data_uri(histogram_png(a)), "histogram, 0 marked red"


_COLORBAR = data_uri(colorbar_png())


def scale_html(caption: str) -> str:
    """A picture's caption; a heatmap's gets the colour bar it refers to."""
    bar = ""
    if "blue -" in caption:
        bar = f'<img src="{_COLORBAR}" alt="colour scale" style="vertical-align:middle;margin-right:4px">'
    return f'<div style="{MUTED};font-size:10px">{bar}{escape(caption)}</div>'


def picture_html(a: np.ndarray, alt: str = "", max_width: str = "260px") -> str:
    """A picture of ``a`` with its caption and colour scale, framed."""
    uri, caption = picture(a)
    return (
        f'<div><img src="{uri}" alt="{escape((alt + " " + caption).strip())}" '
        f'style="image-rendering:pixelated;max-width:{max_width};{FRAME}">{scale_html(caption)}</div>'
    )


def _array_text(a: np.ndarray) -> str:
    with np.printoptions(precision=4, threshold=PRINT_THRESHOLD, edgeitems=3, linewidth=100):
        return np.array2string(a)


def _parent_name(v) -> str:
    p = v.parent
    return p.info.type_name if p is not None else "None"


# -- Variable / NdArray ---------------------------------------------------------------------------
def _array_parts(v, is_variable: bool):
    data = read_data(v)
    dstats = array_stats(data)
    gstats = array_stats(read_grad(v)) if is_variable and v.need_grad else None
    return data, dstats, gstats


def variable_text(v) -> str:
    data, dstats, gstats = _array_parts(v, True)
    head = f"Variable{shape(v.shape)} {np.dtype(v.data.dtype).name} need_grad={v.need_grad} parent={_parent_name(v)}"
    if v.name:
        head += f" name={printable(v.name)!r}"
    return "\n".join([head, _stats_text("data", dstats), _stats_text("grad", gstats), _array_text(data)])


def ndarray_text(a) -> str:
    data = read_data(a)
    head = f"NdArray{shape(a.shape)} {np.dtype(a.dtype).name}"
    return "\n".join([head, _stats_text("data", array_stats(data)), _array_text(data)])


def _array_html(title: str, facts: list, data: np.ndarray, dstats, gstats) -> str:
    rows = [["data", *_stats_cells(dstats)]]
    if gstats is not None or title.startswith("Variable"):
        rows.append(["grad", *_stats_cells(gstats)])
    stats = _table(["", "min", "mean", "max", "std", "NaN", "Inf"], rows)
    facts_html = " &nbsp; ".join(f"{escape(k)}=<b>{escape(v)}</b>" for k, v in facts)
    summary = "values" + (" (summarized)" if data.size > PRINT_THRESHOLD else "")
    return (
        f'<div style="{BOX}"><div><b>{escape(title)}</b> &nbsp; {facts_html}</div>'
        f'<div style="display:flex;gap:12px;align-items:flex-start">{stats}{picture_html(data)}</div>'
        f'<details><summary style="cursor:pointer">{summary}</summary><pre>{escape(_array_text(data))}</pre>'
        f"</details></div>"
    )


def variable_html(v) -> str:
    data, dstats, gstats = _array_parts(v, True)
    facts = [
        ("dtype", np.dtype(v.data.dtype).name),
        ("need_grad", v.need_grad),
        ("persistent", v.persistent),
        ("parent", _parent_name(v)),
    ]
    if v.name:
        facts.append(("name", v.name))
    return _array_html(f"Variable{shape(v.shape)}", facts, data, dstats, gstats)


def ndarray_html(a) -> str:
    data = read_data(a)
    return _array_html(f"NdArray{shape(a.shape)}", [("dtype", np.dtype(a.dtype).name)], data, array_stats(data), None)


# -- Function -------------------------------------------------------------------------------------
def function_text(f) -> str:
    info = f.info
    ins = ", ".join(shape(x.shape) for x in f.inputs)
    outs = ", ".join(shape(o.shape) if o is not None else "?" for o in f.outputs)
    args = ", ".join(f"{k}={v!r}" for k, v in info.args.items())
    return f"{info.type_name}({args})\n  inputs: {ins or '-'}\n  outputs: {outs or '-'}"


def _source(x, params: dict) -> str:
    """Where a function's input comes from: the function that made it, else its parameter or Python name."""
    if x.parent is not None:
        return x.parent.info.type_name
    name = params.get(id(x))
    if name is not None:
        return f"parameter {name}"
    return f"input {x.name}" if x.name else "input (no parent function)"


def function_html(f) -> str:
    info = f.info
    params = {id(v): k for k, v in nn.get_parameters(grad_only=False).items()}
    rows = [[escape(k), escape(repr(v))] for k, v in info.args.items()]
    ins = [[f"input {i}", escape(shape(x.shape)), escape(_source(x, params))] for i, x in enumerate(f.inputs)]
    outs = [[f"output {i}", escape(shape(o.shape) if o is not None else "?"), ""] for i, o in enumerate(f.outputs)]
    return (
        f'<div style="{BOX}"><div><b>{escape(info.type_name)}</b></div>'
        + (_table(["argument", "value"], rows) if rows else "")
        + _table(["", "shape", "from"], ins + outs)
        + "</div>"
    )


# -- parameter dicts ------------------------------------------------------------------------------
def is_parameter_dict(obj) -> bool:
    """True for what ``nn.get_parameters()`` returns: string keys with '/' scopes, Variable values."""
    if not isinstance(obj, OrderedDict) or not obj:
        return False
    if not all(isinstance(k, str) and isinstance(v, nn.Variable) for k, v in obj.items()):
        return False
    return any("/" in k for k in obj)


def params_text(params) -> str:
    total = sum(int(np.prod(v.shape, dtype=np.int64)) for v in params.values())
    lines = [f"{len(params)} parameters, {total} values"]
    width = max(len(printable(k)) for k in params)
    for k, v in params.items():
        s = array_stats(read_data(v))
        flag = "" if v.need_grad else "  (fixed)"
        lines.append(f"  {printable(k):<{width}} {shape(v.shape):<12} mean {num(s.mean)} std {num(s.std)}{flag}")
    return "\n".join(lines)


def params_html(params) -> str:
    total = sum(int(np.prod(v.shape, dtype=np.int64)) for v in params.values())
    rows = []
    for k, v in params.items():
        data = read_data(v)
        s = array_stats(data)
        uri, caption = picture(data)
        rows.append(
            [
                escape(k),
                escape(shape(v.shape)),
                escape(v.need_grad),
                *_stats_cells(s)[:4],
                f'<img src="{uri}" alt="{escape(caption)}" title="{escape(caption)}" '
                f'style="image-rendering:pixelated;max-height:48px;max-width:200px;{FRAME}">',
            ]
        )
    return (
        f'<div style="{BOX}"><div><b>{len(params)} parameters</b>, {total} values</div>'
        + _table(["name", "shape", "need_grad", "min", "mean", "max", "std", "values"], rows)
        + "</div>"
    )


# -- solvers --------------------------------------------------------------------------------------
def _solver_facts(s) -> tuple:
    params = s.get_parameters()
    total = sum(int(np.prod(v.shape, dtype=np.int64)) for v in params.values())
    return type(s).__name__, s.info, s.learning_rate(), len(params), total


def solver_text(s) -> str:
    name, info, lr, n, total = _solver_facts(s)
    hp = ", ".join(f"{k}={value(v)}" for k, v in info.items())
    return f"{name}({hp})\n  learning rate {num(float(lr))}, {n} parameters, {total} values"


def solver_html(s) -> str:
    name, info, lr, n, total = _solver_facts(s)
    rows = [[escape(k), escape(value(v))] for k, v in info.items()]
    return (
        f'<div style="{BOX}"><div><b>{escape(name)}</b> &nbsp; learning rate <b>{escape(num(float(lr)))}</b>, '
        f"{n} parameters, {total} values</div>" + _table(["hyper-parameter", "value"], rows) + "</div>"
    )


# -- registration ---------------------------------------------------------------------------------
def _only_params(fn):
    def formatter(obj):
        return fn(obj) if is_parameter_dict(obj) else None

    return formatter


def _pretty(fn):
    """Adapt a text function to IPython's plain-text printer signature ``(obj, p, cycle)``."""

    def printer(obj, p, cycle):
        p.text(fn(obj))

    return printer


def _pretty_params(obj, p, cycle):
    if is_parameter_dict(obj):
        p.text(params_text(obj))
    else:  # an ordinary OrderedDict: as IPython prints it
        try:
            from IPython.lib.pretty import _ordereddict_pprint
        except ImportError:
            p.text(repr(obj))
        else:
            _ordereddict_pprint(obj, p, cycle)


def _pretty_pair(obj, p, cycle):
    text = None if cycle else dataviews.pair_text(obj)
    if text is not None:
        p.text(text)
        return
    from IPython.lib.pretty import _type_pprinters  # an ordinary tuple: as IPython prints it

    _type_pprinters[tuple](obj, p, cycle)


def formatters() -> dict:
    """MIME type -> {type: formatter} that ``enable`` registers."""
    return {
        "text/html": {
            nn.Variable: variable_html,
            nn.NdArray: ndarray_html,
            Function: function_html,
            OrderedDict: _only_params(params_html),
            Solver: solver_html,
            DataIterator: dataviews.iterator_html,
            tuple: dataviews.pair_html,  # (images, labels) only; None for any other tuple
        },
        "text/plain": {
            nn.Variable: _pretty(variable_text),
            nn.NdArray: _pretty(ndarray_text),
            Function: _pretty(function_text),
            OrderedDict: _pretty_params,
            Solver: _pretty(solver_text),
            DataIterator: _pretty(dataviews.iterator_text),
            tuple: _pretty_pair,
        },
    }


_saved: dict = {}  # (mime, type) -> the formatter that was there before enable()


def enable(ip=None) -> None:
    """Register the rich display formatters with IPython (``ip``: the shell, default the running one)."""
    ip = ip or _ipython()
    if ip is None:
        return
    for mime, table in formatters().items():
        fmt = ip.display_formatter.formatters[mime]
        for typ, fn in table.items():
            if (mime, typ) not in _saved:
                _saved[(mime, typ)] = fmt.type_printers.get(typ)
            fmt.for_type(typ, fn)


def disable(ip=None) -> None:
    """Remove the formatters ``enable`` registered, restoring what was there before."""
    ip = ip or _ipython()
    if ip is None:
        return
    for (mime, typ), previous in list(_saved.items()):
        fmt = ip.display_formatter.formatters[mime]
        fmt.pop(typ, None)
        if previous is not None:
            fmt.for_type(typ, previous)
        del _saved[(mime, typ)]


def _ipython():
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()
