"""``nnabla_nb.graph_diff(before, after)``: what a graph converter changed, as two graphs side by side.

Functions are matched in forward order by their type and parameter scope (a longest-common-subsequence
match, as ``difflib`` does for lines): a function of ``before`` left without a partner is *removed*, one of
``after`` *added*; a matched pair whose arguments or parameters differ is *changed*. Parameters are matched by
name. The before picture marks removed nodes (red, dashed), the after picture added (green) and changed
(amber) ones; the text form lists the same. Both forms are static (a data-URI SVG per graph in HTML, no
script), so they survive in saved notebooks and exported HTML.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace

from . import graph as _graph
from . import render
from .render.escape import escape, printable
from .render.html import svg_img

BOX = "font-family:monospace;font-size:12px;line-height:1.4"
SWATCH = "display:inline-block;width:10px;height:10px;margin:0 4px 0 10px;border:2px solid {};background:{}"
LEGEND = (("removed", "#c62828", "#f8d0d0"), ("added", "#2e7d32", "#d3f2d3"), ("changed", "#b26a00", "#fbe8c0"))


@dataclass
class FunctionChange:
    """One function of either graph: ``status`` is 'kept', 'changed', 'removed' or 'added'."""

    status: str
    type: str
    scope: str
    before: str | None = None  # node ids
    after: str | None = None
    what: list = field(default_factory=list)  # for 'changed': the differences, as short lines

    @property
    def label(self) -> str:
        return f"{self.type} ({self.scope})" if self.scope else self.type


def _parameters_of(model: _graph.GraphModel) -> dict:
    """Function node id -> the names of its parameter inputs, in input order."""
    kinds = {n.id: n for n in model.nodes}
    out: dict = {}
    for e in model.edges:
        src = kinds[e.source]
        if src.kind == "parameter" and kinds[e.target].kind == "function":
            out.setdefault(e.target, []).append(src.name)
    return out


def match(before: _graph.GraphModel, after: _graph.GraphModel) -> list:
    """The functions of both graphs as FunctionChanges, in forward order (removed ones before their
    replacements)."""
    fb = [n for n in before.nodes if n.kind == "function"]
    fa = [n for n in after.nodes if n.kind == "function"]
    pb, pa = _parameters_of(before), _parameters_of(after)
    keys_b = [(n.type, n.scope) for n in fb]
    keys_a = [(n.type, n.scope) for n in fa]
    changes = []
    matcher = difflib.SequenceMatcher(None, keys_b, keys_a, autojunk=False)
    for op, i0, i1, j0, j1 in matcher.get_opcodes():
        if op == "equal":
            for b, a in zip(fb[i0:i1], fa[j0:j1]):
                what = []
                if b.args != a.args:
                    keys = sorted(set(b.args) | set(a.args))
                    what += [
                        f"{k}: {b.args.get(k)!r} -> {a.args.get(k)!r}" for k in keys if b.args.get(k) != a.args.get(k)
                    ]
                if pb.get(b.id, []) != pa.get(a.id, []):
                    what.append(
                        f"parameters: {', '.join(pb.get(b.id, [])) or '-'} -> {', '.join(pa.get(a.id, [])) or '-'}"
                    )
                status = "changed" if what else "kept"
                changes.append(FunctionChange(status, b.type, b.scope, b.id, a.id, what))
            continue
        changes += [FunctionChange("removed", n.type, n.scope, before=n.id) for n in fb[i0:i1]]
        changes += [FunctionChange("added", n.type, n.scope, after=n.id) for n in fa[j0:j1]]
    return changes


def _marked(model: _graph.GraphModel, marks: dict) -> _graph.GraphModel:
    """``model`` with its nodes of ``marks`` (node id -> 'removed' | 'added' | 'changed') highlighted."""
    nodes = [replace(n, highlight=marks[n.id]) if n.id in marks else n for n in model.nodes]
    return replace(model, nodes=nodes)


class GraphDiff:
    """Two graphs and what changed between them; shown as HTML (side by side pictures) and text."""

    def __init__(self, before, after, names: dict | None = None, max_nodes: int | None = 400):
        if names is None:
            names = _graph.namespace_names()
        self.before = _graph.build(before, names=names).view(max_nodes=max_nodes)
        self.after = _graph.build(after, names=names).view(max_nodes=max_nodes)
        self.functions = match(self.before, self.after)
        params_b = {n.name for n in self.before.nodes if n.kind == "parameter"}
        params_a = {n.name for n in self.after.nodes if n.kind == "parameter"}
        self.removed_parameters = sorted(params_b - params_a)
        self.added_parameters = sorted(params_a - params_b)
        self._mark()

    def of(self, status: str) -> list:
        return [c for c in self.functions if c.status == status]

    @property
    def removed(self) -> list:
        return self.of("removed")

    @property
    def added(self) -> list:
        return self.of("added")

    @property
    def changed(self) -> list:
        return self.of("changed")

    def _mark(self) -> None:
        marks_b = {c.before: c.status for c in self.functions if c.status in ("removed", "changed")}
        marks_a = {c.after: c.status for c in self.functions if c.status in ("added", "changed")}
        marks_b.update({n.id: "removed" for n in self.before.nodes if n.name in self.removed_parameters})
        marks_a.update({n.id: "added" for n in self.after.nodes if n.name in self.added_parameters})
        self.before = _marked(self.before, marks_b)
        self.after = _marked(self.after, marks_a)

    @property
    def summary(self) -> str:
        nb = sum(1 for n in self.before.nodes if n.kind == "function")
        na = sum(1 for n in self.after.nodes if n.kind == "function")
        return (
            f"graph diff: {nb} functions before, {na} after: {len(self.removed)} removed, {len(self.added)} added, "
            f"{len(self.changed)} changed; parameters in the graph: {len(self.removed_parameters)} removed, "
            f"{len(self.added_parameters)} added"
        )

    def _lines(self) -> list:
        lines = []
        for status, title in (("removed", "removed"), ("added", "added"), ("changed", "changed")):
            items = self.of(status)
            if items:
                lines.append(f"{title}: " + ", ".join(c.label for c in items))
        for c in self.changed:
            lines += [f"  {c.label}: {w}" for w in c.what]
        if self.removed_parameters:
            lines.append("parameters removed: " + ", ".join(self.removed_parameters))
        if self.added_parameters:
            lines.append("parameters added: " + ", ".join(self.added_parameters))
        return lines

    @property
    def listing(self) -> str:
        """Every function of both graphs in forward order: '-' removed, '+' added, '~' changed."""
        mark = {"kept": " ", "changed": "~", "removed": "-", "added": "+"}
        return "\n".join(f"{mark[c.status]} {c.label}" for c in self.functions)

    @property
    def text(self) -> str:
        body = [self.summary] + self._lines() + ["functions in forward order (- removed, + added, ~ changed):"]
        return "\n".join(printable(line, lines=True) for line in body) + "\n" + printable(self.listing, lines=True)

    @property
    def svgs(self) -> tuple:
        return render.to_svg(self.before), render.to_svg(self.after)

    @property
    def html(self) -> str:
        svg_b, svg_a = self.svgs
        legend = "".join(f'<span style="{SWATCH.format(border, fill)}"></span>{name}' for name, border, fill in LEGEND)
        lines = "".join(f"<div>{escape(line)}</div>" for line in self._lines())
        cell = "vertical-align:top;text-align:center;padding:0 8px"
        return (
            f'<div style="{BOX}">'
            f"<div><b>{escape(self.summary)}</b></div>{lines}<div>{legend}</div>"
            f'<table style="border-collapse:collapse;margin-top:4px"><tr>'
            f'<th style="{cell}">before</th><th style="{cell}">after</th></tr><tr>'
            f'<td style="{cell}">{svg_img(svg_b, "the graph before")}</td>'
            f'<td style="{cell}">{svg_img(svg_a, "the graph after")}</td></tr></table>'
            f'<details><summary style="cursor:pointer">the functions of both graphs, in forward order</summary>'
            f'<pre style="margin:2px 0">{escape(self.listing)}</pre></details></div>'
        )

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/plain": self.text, "text/html": self.html}

    def __repr__(self) -> str:
        return self.text


def graph_diff(before, after, names: dict | None = None, max_nodes: int | None = 400) -> GraphDiff:
    """The graphs leading to Variables ``before`` and ``after`` side by side, with the functions and
    parameters a converter removed, added or changed marked (see the module docstring for the matching).
    ``names`` and ``max_nodes`` are those of ``nnabla_nb.graph``."""
    from .errors import check_int, check_type, check_variable, usage

    use = usage(graph_diff)
    check_variable("nnabla_nb.graph_diff", "before", before, use)
    check_variable("nnabla_nb.graph_diff", "after", after, use)
    check_type("nnabla_nb.graph_diff", "names", names, dict, "a dict of Variable -> name", use, none=True)
    check_int("nnabla_nb.graph_diff", "max_nodes", max_nodes, minimum=1, use=use, none=True)
    return GraphDiff(before, after, names=names, max_nodes=max_nodes)
