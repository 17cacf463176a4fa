"""Renderers: GraphModel -> text, JSON (``application/vnd.nnabla.graph+json``), DOT/SVG, HTML."""

from .dot import node_sizes, svg_from_dot, to_dot, to_svg
from .html import to_html
from .json import MIME_TYPE, SCHEMA_VERSION, to_json
from .text import to_text

__all__ = [
    "MIME_TYPE",
    "SCHEMA_VERSION",
    "node_sizes",
    "svg_from_dot",
    "to_dot",
    "to_html",
    "to_json",
    "to_svg",
    "to_text",
]
