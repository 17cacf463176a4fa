"""The stored tutorials as a reader sees them without a kernel: every HTML output readable, and each view's
static form present in the HTML that ``jupyter nbconvert --to html`` writes (opened offline: no widget code).

The tutorials are re-executed with ``jupyter nbconvert --to notebook --execute --inplace
--ExecutePreprocessor.store_widget_state=False tutorials/<name>.ipynb``: without stored widget state an exporter
shows a widget's static form (its ``text/html``) rather than an empty box waiting for widget code from a CDN.
"""

import html as html_lib
import re
from pathlib import Path

import nbformat
import pytest

TUTORIALS = sorted((Path(__file__).resolve().parents[2] / "tutorials").glob("*.ipynb"))
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
MATH = re.compile(r"\$[^$<>]+\$")  # a formula of a function card, typeset by MathJax


def _html_outputs(nb):
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            html = out.get("data", {}).get("text/html")
            if html is not None:
                yield i, out, html if isinstance(html, str) else "".join(html)


def _text(markup: str) -> str:
    """The visible words of some HTML, whitespace collapsed."""
    markup = re.sub(r"<(script|style)\b.*?</\1>", " ", markup, flags=re.S)
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.name)
def test_no_literal_newlines_in_html_outputs(path):
    nb = nbformat.read(path, as_version=4)
    outputs = [(i, MATH.sub("", html)) for i, _, html in _html_outputs(nb)]  # LaTeX's \nabla, \ni are not newlines
    bad = [i for i, html in outputs if "\\n" in html or "&#10;" in html or "&#x0a;" in html.lower()]
    assert bad == [], f"{path.name}: cells {bad} print an escaped newline instead of a line break"


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.name)
def test_exported_html_shows_every_static_form(path):
    from nbconvert import HTMLExporter

    nb = nbformat.read(path, as_version=4)
    exported, _ = HTMLExporter().from_notebook_node(nb)
    assert f'<script type="{WIDGET_VIEW}">' not in exported  # no output waits for widget code
    page_text = _text(exported)
    missing = []
    for i, out, html in _html_outputs(nb):
        # its words and its pictures must be in the page (the exporter may re-serialize the markup itself)
        words = _text(html)[:160]
        pictures = [src[:120] for src in re.findall(r'src="(data:[^"]+)"', html)]
        if words not in page_text or any(src not in exported for src in pictures):
            missing.append((i, WIDGET_VIEW in out.get("data", {})))
    assert missing == [], f"{path.name}: static forms missing from the exported HTML (cell, is a widget): {missing}"
