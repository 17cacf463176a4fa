"""SimpleGraph: NNabla's DOT drawing (checked against NNabla 1.36's own), rendered without a `dot` program."""

import os
import re
import shutil
import sys

import pytest

import nnabla as nn
import nnabla.experimental.viewers as V

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "reference"))
from make_viewer_fixture import network  # noqa: E402


@pytest.fixture(autouse=True)
def fresh_parameters():
    nn.clear_parameters()
    yield
    nn.clear_parameters()


def stable_ids(source: str) -> str:
    """Variable node ids renumbered by first appearance (NNabla's hold memory addresses, ours a counter)."""
    ids = {}

    def rename(m):
        ids.setdefault(m[1], f"N{len(ids)}")
        return f'"{ids[m[1]]}-{m[2]}"'

    return re.sub(r'"(v\d+|-?\d{6,})-(\d+)"', rename, source)


def test_dot_source_is_nnablas():
    pred = network(nn.Variable([4, 3, 32, 32]))
    ours = "".join(V.SimpleGraph(verbose=v).create_graphviz_digraph(pred).source + "\n" for v in (False, True))
    with open(os.path.join(HERE, "fixtures", "nnabla_simple_graph.dot")) as f:
        theirs = f.read()
    assert stable_ids(ours) == stable_ids(theirs)
    assert '[label="Convolution\nconv/conv" color=blue' in ours  # the scope under the function's name


def test_colour_maps_and_escaped_names():
    x = nn.Variable((2, 3))
    x.name = 'in"put<1>'
    y = nn.functions.relu(x)
    source = V.SimpleGraph(fname_color_map={"ReLU-1": "yellow"}, vname_color_map={'in"put<1>': "cyan"})
    source = source.create_graphviz_digraph(y, params={}).source
    assert 'label="in\\"put<1>" color=cyan fillcolor=cyan' in source
    assert "color=yellow fontcolor=white" in source


def test_save_renders_svg_without_a_dot_program(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    pred = network(nn.Variable([1, 3, 4, 4]))
    path = str(tmp_path / "graph")
    V.SimpleGraph(format="svg").save(pred, path)
    assert open(path).read().startswith("digraph {")
    svg = open(path + ".svg").read()
    assert "<svg" in svg and ">Convolution</text>" in svg
    V.SimpleGraph(format="svg").save(pred, path, cleanup=True)
    assert sorted(os.listdir(tmp_path)) == ["graph.svg"]
    with pytest.raises(ValueError, match="format 'ps' needs the Graphviz `dot` program"):
        V.SimpleGraph(format="ps").save(pred, path)


# the first bytes each image format starts with
MAGIC = {
    "png": b"\x89PNG\r\n\x1a\n",
    "jpg": b"\xff\xd8\xff",
    "gif": b"GIF8",
    "bmp": b"BM",
    "tiff": b"II*\x00",
    "webp": b"RIFF",
    "pdf": b"%PDF-",
}


def svg_size_in_pixels(graph) -> tuple:
    """The SVG's width and height (points) at Graphviz's 96 pixels an inch."""
    svg = graph.pipe(format="svg").decode()
    width, height = re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg).groups()
    return round(float(width) * 96 / 72), round(float(height) * 96 / 72)


@pytest.mark.parametrize("fmt", list(MAGIC))
def test_bitmaps_and_pdf_without_a_dot_program(tmp_path, monkeypatch, fmt):
    from PIL import Image

    monkeypatch.setattr(shutil, "which", lambda name: None)
    pred = network(nn.Variable([1, 3, 4, 4]))
    V.SimpleGraph(format=fmt).save(pred, str(tmp_path / "graph"), cleanup=True)
    data = (tmp_path / f"graph.{fmt}").read_bytes()
    assert data.startswith(MAGIC[fmt])
    assert sorted(os.listdir(tmp_path)) == [f"graph.{fmt}"]  # no temporary file left
    if fmt != "pdf":
        size = svg_size_in_pixels(V.SimpleGraph().create_graphviz_digraph(pred))
        assert Image.open(tmp_path / f"graph.{fmt}").size == size  # what `dot -Tpng` gives: 96 dpi


def grey_pixels(png: bytes):
    import io

    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("L")).astype(int)


def test_png_pipe_draws_the_labels_even_with_no_system_fonts(monkeypatch):
    """The Jupyter display (``_repr_image_png``) pipes PNG; labels need a font, which a bare machine lacks."""
    import numpy as np
    import resvg_py

    monkeypatch.setattr(shutil, "which", lambda name: None)
    x = nn.Variable((2, 3))
    x.name = "x"
    graph = V.SimpleGraph(format="png").create_graphviz_digraph(nn.functions.relu(x), params={})
    with_system_fonts = graph.pipe()
    assert with_system_fonts.startswith(MAGIC["png"])
    render = resvg_py.svg_to_bytes
    monkeypatch.setattr(resvg_py, "svg_to_bytes", lambda **options: render(skip_system_fonts=True, **options))
    bare_machine = graph.pipe()
    monkeypatch.setattr(V, "_fallback_fonts", lambda: [])
    no_labels = graph.pipe()  # what resvg draws on a bare machine unless it is given fonts
    assert np.abs(grey_pixels(bare_machine) - grey_pixels(no_labels)).sum() > 1000  # the labels are drawn
    assert np.abs(grey_pixels(with_system_fonts) - grey_pixels(bare_machine)).mean() < 10  # much as usual
