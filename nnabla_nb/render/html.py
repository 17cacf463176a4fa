"""GraphModel -> HTML that survives an untrusted notebook: the SVG as a data-URI ``<img>`` and a folded
``<details>`` node listing, inline styles only (no script, no style block, no inline svg, no generated ids)."""

from __future__ import annotations

import base64

from ..graph import GraphModel
from .common import args, shape, stats_line
from .escape import escape
from .text import summary

BOX = "font-family:monospace;font-size:12px;line-height:1.4"
CELL = "padding:1px 8px;text-align:left;border-bottom:1px solid #ddd;vertical-align:top"
KIND_COLOR = {
    "variable": "#555",
    "parameter": "#b08800",
    "function": "#2f5d8a",
    "group": "#5b3f8c",
    "truncated": "#888",
}


def svg_img(svg: str, alt: str) -> str:
    uri = "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f'<img src="{uri}" alt="{escape(alt)}" style="max-width:100%;height:auto">'


def node_table(model: GraphModel) -> str:
    head = "".join(f'<th style="{CELL}">{h}</th>' for h in ("id", "kind", "label", "scope", "shape / args", "stats"))
    rows = [f"<tr>{head}</tr>"]
    for n in model.nodes:
        detail = args(n.args, 80) if n.kind == "function" else shape(n.shape)
        stats = []
        if n.data_stats is not None:
            stats.append("data " + stats_line(n.data_stats))
        if n.grad_stats is not None:
            stats.append("grad " + stats_line(n.grad_stats))
        if n.grad_flags:
            stats.append("flags: " + ", ".join(n.grad_flags))
        heat = f' <img src="{n.heatmap}" alt="heatmap" style="vertical-align:middle">' if n.heatmap else ""
        cells = [
            escape(n.id),
            f'<span style="color:{KIND_COLOR[n.kind]}">{escape(n.kind)}</span>',
            escape(n.label),
            escape(n.scope),
            escape(detail),
            "<br>".join(escape(s) for s in stats) + heat,
        ]
        rows.append("<tr>" + "".join(f'<td style="{CELL}">{c}</td>' for c in cells) + "</tr>")
    return '<table style="border-collapse:collapse">' + "".join(rows) + "</table>"


def to_html(model: GraphModel, svg: str) -> str:
    title = summary(model)
    return (
        f'<div style="{BOX}">'
        f"<div>{escape(title)}</div>"
        f"{svg_img(svg, title)}"
        f'<details><summary style="cursor:pointer">{len(model.nodes)} nodes, {len(model.edges)} edges</summary>'
        f"{node_table(model)}</details></div>"
    )
