"""GraphModel -> HTML that survives an untrusted notebook: the SVG as a data-URI ``<img>`` and, folded in
``<details>``, the text listing (nodes, edges, statistics) and the cards of the function types drawn; inline
styles only (no script, no style block, no inline svg, no generated ids). It is the fallback of frontends
without the extension, stored in every saved graph output next to the SVG: kept small (percent-encoded
picture, a ``<pre>`` listing rather than a table, one card per function type)."""

from __future__ import annotations

from urllib.parse import quote

from ..graph import GraphModel
from .escape import escape, escape_lines
from .text import summary, to_text

BOX = "font-family:monospace;font-size:12px;line-height:1.4"


# Percent-encoded: what a data URL (% #) or a double-quoted HTML attribute (" & < >) needs, and controls.
_URI_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) not in '%#"&<>\\')


def svg_uri(svg: str) -> str:
    """``svg`` as a ``data:image/svg+xml`` URI for a double-quoted ``src``: percent-encoded, not base64
    (about 1.05x the SVG instead of 1.33x). Graphviz writes ``'`` in text as ``&#39;``, so attribute quotes can
    become ``'``, which needs no encoding; the result holds no raw ``" & < >``: it is inert in HTML."""
    if "'" not in svg:
        svg = svg.replace('"', "'")
    svg = svg.strip().replace("\n", " ")  # Graphviz breaks lines only between tags and attributes
    return "data:image/svg+xml," + quote(svg, safe=_URI_SAFE)


PICTURE_CLASS = "nnabla-nb-picture"  # the lab extension's CSS inverts these in a dark theme (style/base.css)


def svg_img(svg: str, alt: str) -> str:
    return f'<img class="{PICTURE_CLASS}" src="{svg_uri(svg)}" alt="{escape(alt)}" style="max-width:100%;height:auto">'


def latex(tex: str) -> str:
    """LaTeX as inline math for HTML: ``$...$`` (MathJax typesets it where Jupyter runs it), the text escaped
    and its backslashes written ``&#92;``: the same characters once parsed, and no ``\\n`` of ``\\ne`` or
    ``\\nabla`` in the markup, which would read as an escaped line break to a check of the saved notebook."""
    return "$" + escape(tex).replace("\\", "&#92;") + "$"


def cards_html(model: GraphModel) -> str:
    """A folded list of the cards of the function types drawn (one per type): meaning, forward, gradient,
    the formulas as ``$...$`` LaTeX that Jupyter's MathJax typesets (plain LaTeX where nothing does)."""
    from .json import function_cards

    cards = function_cards(model)
    if not cards:
        return ""
    items = "".join(
        f'<div style="margin:4px 0"><b>{escape(t)}</b> <code>{escape(c["name"])}</code>: {escape(c["meaning"])}'
        f"<br>forward: {latex(c['forward'])}<br>gradient: {latex(c['gradient'])}</div>"
        for t, c in cards.items()
    )
    return (
        f'<details><summary style="cursor:pointer">function cards ({len(cards)} types)</summary>'
        f'<div style="font-family:sans-serif">{items}</div></details>'
    )


def to_html(model: GraphModel, svg: str) -> str:
    title = summary(model)
    return (
        f'<div style="{BOX}">'
        f"<div>{escape(title)}</div>"
        f"{svg_img(svg, title)}"
        f'<details><summary style="cursor:pointer">{len(model.nodes)} nodes, {len(model.edges)} edges</summary>'
        f'<pre style="margin:2px 0">{escape_lines(to_text(model))}</pre></details>{cards_html(model)}</div>'
    )
