"""GraphModel -> an indented plain-text listing: one line per node in traversal order, scopes indented."""

from __future__ import annotations

from ..graph import GraphModel
from .common import args, shape, stats_line
from .escape import printable


def summary(model: GraphModel) -> str:
    parts = [
        f"{model.total('function')} functions",
        f"{model.total('variable')} variables",
        f"{model.total('parameter')} parameters",
    ]
    if model.count("group"):
        parts.append(f"{model.count('group')} scopes drawn collapsed")
    if model.hidden:
        parts.append(f"{model.hidden} nodes not shown")
    return "nnabla graph: " + ", ".join(parts)


def node_line(model: GraphModel, n, inputs: dict, outputs: dict) -> str:
    if n.kind == "function":
        srcs = ", ".join(inputs.get(n.id, []))
        line = f"{n.id} {printable(n.label)}({srcs}) -> {', '.join(outputs.get(n.id, []))}"
        if n.args:
            line += f"  [{printable(args(n.args))}]"
        return line
    if n.kind == "group":
        return f"{n.id} [{printable(n.name)}] {n.members} nodes ({printable(n.type or '')})"
    if n.kind == "truncated":
        return f"… {n.members} more nodes"
    tag = "param" if n.kind == "parameter" else ("grad" if n.need_grad else "var")
    line = f"{n.id} {printable(n.python_name or n.name or n.label or n.kind)} {shape(n.shape)} {n.dtype} {tag}"
    if n.id == model.root:
        line += " <- output"
    if model.values and n.data_stats is not None:
        line += f" | data {stats_line(n.data_stats)}"
    if n.grad_stats is not None:
        line += f" | grad{' (given)' if n.grad_given else ''} {stats_line(n.grad_stats)}"
    if n.grad_flags:
        line += " !" + ",".join(n.grad_flags)
    return line


def to_text(model: GraphModel) -> str:
    inputs: dict = {}
    outputs: dict = {}
    for e in model.edges:
        inputs.setdefault(e.target, []).append(e.source)
        outputs.setdefault(e.source, []).append(e.target)
    lines = [summary(model)]
    current = None
    for n in model.nodes:
        scope = n.scope if n.kind != "group" else ""
        if scope != current:
            if scope:
                lines.append(f"  [{printable(scope)}]")
            current = scope
        indent = "    " if scope else "  "
        lines.append(indent + node_line(model, n, inputs, outputs))
    return "\n".join(lines)
