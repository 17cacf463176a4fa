"""The one escaping helper: every user-supplied string (names, scopes, labels) reaches HTML, SVG or a DOT
HTML-like label only through ``escape``; plain text goes through ``printable``."""

from __future__ import annotations

import html


def escape(text: object) -> str:
    """``text`` as HTML/XML character data or attribute value (``& < > " '`` escaped)."""
    return html.escape(printable(text), quote=True)


def escape_lines(text: str) -> str:
    """Multi-line ``text`` (say, for a ``<pre>``) with each line through ``escape``."""
    return "\n".join(escape(line) for line in text.split("\n"))


def printable(text: object) -> str:
    """``text`` on one line: control characters (newlines, escapes) shown as Python escapes."""
    s = str(text)
    if s.isprintable():
        return s
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in s)


def dot_text(text: object) -> str:
    """``text`` as literal characters of a DOT string label (the ``graphviz`` package adds quotes and escapes
    ``"``): backslashes would start Graphviz escapes (``\\n``, ``\\N``) and ``&`` an entity, so both are escaped.
    Graphviz then writes the label into SVG as XML character data, escaping ``< > & "`` itself."""
    return printable(text).replace("\\", "\\\\").replace("&", "&amp;")
