"""Every tutorial exported by nbconvert shows its graphs, widgets and rich displays in their static forms.

`jupyter nbconvert --to html` keeps no JupyterLab extension and runs no widget: what a reader of the exported page
(or of GitHub or nbviewer) sees is each output's static form, a picture (SVG, PNG) or an HTML table with inline
styles. These tests export every stored tutorial (tutorials/*.ipynb, as saved) and check, output by output, that
such a form is there, needs no script, and is what the page (and the markdown export) shows.
"""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from nbconvert import HTMLExporter, MarkdownExporter

ROOT = Path(__file__).resolve().parents[2]
TUTORIALS = sorted((ROOT / "tutorials").glob("*.ipynb"))
GRAPH = "application/vnd.nnabla.graph+json"
WIDGET = "application/vnd.jupyter.widget-view+json"
STATIC = ("text/html", "image/svg+xml", "image/png")
PICTURE = re.compile(r"<img [^>]*src=\"data:image/(svg\+xml|png)|<svg[\s>]")


def _rich_outputs(nb) -> list[tuple[int, dict]]:
    """(cell index, output data) of every display_data and execute_result."""
    return [
        (i, out["data"])
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type in ("display_data", "execute_result")
    ]


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else value


class _Visible(HTMLParser):
    """What a page shows: its text (script and style left out, white space collapsed) and its pictures' sources.

    nbconvert re-serializes the page (attribute order, entities, alt text), so outputs are compared by this.
    """

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.pictures: list[str] = []
        self.scripts = 0
        self._skip = 0
        self.feed(html)
        self.close()
        self.text = " ".join(" ".join(self.chunks).split())

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
            self.scripts += tag == "script"
        elif tag == "img":
            self.pictures.append(dict(attrs).get("src") or "")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)

    def handle_data(self, data):
        if not self._skip:
            self.chunks.append(data)


def _shown_in_html(data: dict, page: _Visible) -> str | None:
    """The static MIME type of `data` whose text and pictures the exported page shows, if any."""
    for mime in STATIC:
        if mime not in data:
            continue
        body = _text(data[mime])
        if mime == "image/png":
            # nbconvert writes the base64 as one line; the notebook may wrap it
            if "data:image/png;base64," + body.replace("\n", "") in page.pictures:
                return mime
        elif mime == "image/svg+xml":
            if "data:image/svg+xml;base64," + base64.b64encode(body.encode()).decode() in page.pictures:
                return mime
        else:
            shown = _Visible(body)
            if shown.text in page.text and all(src in page.pictures for src in shown.pictures):
                return mime
    return None


@pytest.fixture(scope="module")
def exports() -> dict[str, tuple[nbformat.NotebookNode, str, str, dict]]:
    """Each tutorial: the notebook, its HTML, its markdown and the markdown's extracted pictures."""
    html_exporter, md_exporter = HTMLExporter(template_name="lab"), MarkdownExporter()
    result = {}
    for path in TUTORIALS:
        nb = nbformat.read(path, as_version=4)
        html, _ = html_exporter.from_notebook_node(nb)
        md, resources = md_exporter.from_notebook_node(nb)
        result[path.name] = (nb, html, md, resources.get("outputs", {}))
    return result


def test_tutorials_are_found():
    assert len(TUTORIALS) >= 7, TUTORIALS


@pytest.mark.parametrize("name", [p.name for p in TUTORIALS])
def test_html_export_shows_every_rich_output_in_a_static_form(exports, name):
    nb, html, _, _ = exports[name]
    page = _Visible(html)
    outputs = _rich_outputs(nb)
    graphs = 0
    for cell, data in outputs:
        where = f"{name} cell {cell} ({sorted(data)})"
        if GRAPH in data or WIDGET in data:
            assert any(m in data for m in STATIC), f"{where}: no static form beside the graph or widget"
        shown = _shown_in_html(data, page)
        if any(m in data for m in STATIC):
            assert shown, f"{where}: its static form is not in the exported HTML"
        if GRAPH in data:
            graphs += 1
            assert PICTURE.search(_text(data[shown])), f"{where}: the graph's {shown} holds no picture"
        if "text/html" in data:
            assert "<script" not in _text(data["text/html"]).lower(), f"{where}: its HTML needs a script"
        assert not _text(data.get("text/plain", "")).startswith("Loading widget"), where
    assert graphs == sum(GRAPH in d for _, d in outputs)
    # a widget view nbconvert keeps is a script that renders nothing on a static page
    assert '<script type="application/vnd.jupyter.widget-view+json">' not in html
    assert "Loading widget" not in html


@pytest.mark.parametrize("name", [p.name for p in TUTORIALS])
def test_markdown_export_stays_readable(exports, name):
    nb, _, md, pictures = exports[name]
    assert "<script" not in md.lower() and "<style" not in md.lower()
    assert "Loading widget" not in md
    for cell, data in _rich_outputs(nb):
        where = f"{name} cell {cell} ({sorted(data)})"
        if "text/html" in data:
            html = _text(data["text/html"]).strip()
            assert html in md, f"{where}: its HTML is not in the markdown"
            # a blank line ends a markdown HTML block: what follows would show as text or code
            assert not re.search(r"\n[ \t]*\n", html), f"{where}: its HTML has a blank line"
        elif "image/png" in data or "image/svg+xml" in data:
            continue  # checked below: pictures become files the markdown links to
        elif _text(data.get("text/plain", "")).strip():
            assert _text(data["text/plain"]).strip().splitlines()[0] in md, where
    # every picture the markdown shows is a file the export writes beside it
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert set(links) <= set(pictures), (links, sorted(pictures))
    assert all(pictures[link] for link in links)
    png = sum("image/png" in d and "text/html" not in d for _, d in _rich_outputs(nb))
    assert sum(p.endswith(".png") for p in pictures) >= png


def test_outputs_are_found_in_a_page_by_what_it_shows():
    wrapped = base64.b64encode(bytes(range(256)) * 2).decode()
    png = {"image/png": "\n".join(wrapped[i : i + 76] for i in range(0, len(wrapped), 76))}
    assert _shown_in_html(png, _Visible(f'<p><img src="data:image/png;base64,{wrapped}" alt="x"></p>')) == "image/png"
    assert _shown_in_html(png, _Visible('<img src="data:image/png;base64,AAAA">')) is None
    table = {"text/html": "<table><tr><td>loss</td><td>0.5 &rarr; 0.1</td></tr></table>", "text/plain": "loss"}
    assert (
        _shown_in_html(table, _Visible("<html><table><tr><td>loss</td> <td>0.5 → 0.1</td></tr></table>")) == "text/html"
    )
    assert _shown_in_html(table, _Visible("<html><script>loss 0.5 → 0.1</script></html>")) is None
