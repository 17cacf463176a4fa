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
    with pytest.raises(ValueError, match="format 'png' needs the Graphviz `dot` program"):
        V.SimpleGraph().save(pred, path)
