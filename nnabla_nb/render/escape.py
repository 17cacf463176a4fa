"""The one escaping helper: every user-supplied string (names, scopes, labels) reaches HTML, SVG or DOT only
through ``escape`` / ``dot_text``; plain text goes through ``printable``.

Line breaks are the one control character a view means to keep: ``escape`` passes them through (HTML shows them
as breaks inside ``<pre>`` or ``white-space:pre``, as spaces elsewhere), so a multi-line block is never turned
into a literal ``\\n``. ``printable(text, lines=False)`` makes one line (a name, a caption cell) of anything.
"""

from __future__ import annotations

import html


def printable(text: object, lines: bool = False) -> str:
    """``text`` with control characters shown as Python escapes (``\\x1b``); with ``lines`` line breaks stay."""
    s = str(text)
    if s.isprintable():
        return s
    keep = "\n" if lines else ""
    return "".join(c if c.isprintable() or c in keep else repr(c)[1:-1] for c in s.replace("\r\n", "\n"))


def escape(text: object) -> str:
    """``text`` as HTML/XML character data or attribute value (``& < > " '`` escaped, line breaks kept)."""
    return html.escape(printable(text, lines=True), quote=True)


def escape_lines(text: str) -> str:
    """Multi-line ``text`` (say, for a ``<pre>``): the same as ``escape``, kept for readability at call sites."""
    return escape(text)


def dot_text(text: object) -> str:
    """``text`` as literal characters of a DOT string label (the ``graphviz`` package adds quotes and escapes
    ``"``): backslashes would start Graphviz escapes (``\\n``, ``\\N``) and ``&`` an entity, so both are escaped.
    Graphviz then writes the label into SVG as XML character data, escaping ``< > & "`` itself."""
    return printable(text).replace("\\", "\\\\").replace("&", "&amp;")
