"""Renderers: the four forms, escaping of hostile names, determinism, and the HTML safety rules."""

import json
import re
from urllib.parse import unquote

import nnabla as nn
import nnabla.functions as F
import nnabla.parametric_functions as PF
import nnabla_nb
from nnabla_nb import GraphView, build
from nnabla_nb.render import MIME_TYPE
from nnabla_nb.view import JSON_MAX_NODES

EVIL = "<img src=x onerror=alert(1)>"


def _svg_of(html: str) -> str:
    return unquote(re.search(r'src="data:image/svg\+xml,([^"]+)"', html).group(1))


def test_bundle_has_four_forms(mlp):
    _, _, loss = mlp
    bundle = nnabla_nb.graph(loss)._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html", "image/svg+xml", MIME_TYPE}
    doc = bundle[MIME_TYPE]
    assert doc["version"] == 1 and len(doc["nodes"]) == 34 and len(doc["edges"]) == 33
    assert {"id", "kind", "label", "shape", "dtype", "scope", "type", "args", "stats", "grad_flags"} <= set(
        doc["nodes"][0]
    )
    assert [s["name"] for s in doc["scopes"]][0] == "fc0/affine"
    assert bundle["text/plain"].startswith("nnabla graph: 11 functions, 13 variables, 10 parameters")


def test_svg_shapes_and_clusters(mlp):
    _, _, loss = mlp
    svg = nnabla_nb.graph(loss).svg
    assert svg.count('class="node"') == 34 and svg.count('class="cluster"') == 5
    assert "<ellipse" in svg and "<polygon" in svg  # variables are ellipses, functions boxes
    for label in ("Affine", "Tanh", "SquaredError", "ReduceMean", "fc0/affine", "(100, 2) float32"):
        assert f">{label}<" in svg


def test_same_graph_same_bytes(mlp):
    _, _, loss = mlp
    a = nnabla_nb.graph(loss)._repr_mimebundle_()
    b = nnabla_nb.graph(loss)._repr_mimebundle_()
    assert a == b


def test_html_is_sanitizer_safe(mlp):
    _, _, loss = mlp
    html = nnabla_nb.graph(loss).html
    for banned in ("<script", "<style", "<svg", " id="):
        assert banned not in html
    assert html.count("<img") == 1 and "<details>" in html and 'src="data:image/svg+xml,%3Csvg ' in html


def test_html_picture_is_the_svg_percent_encoded(mlp):
    """The <img> holds the same SVG as the image/svg+xml form, percent-encoded (smaller than base64), inert."""
    _, _, loss = mlp
    view = nnabla_nb.graph(loss, values=True, grads=True)
    bundle = view._repr_mimebundle_()
    html, svg = bundle["text/html"], bundle["image/svg+xml"]
    uri = re.search(r'<img [^>]*src="(data:image/svg\+xml,[^"]*)"', html).group(1)
    assert not set(uri) & set('<>&#"\n') and uri.isascii()
    assert _svg_of(html) == svg.strip().replace("\n", " ").replace('"', "'")
    assert len(uri) < 1.15 * len(svg)  # base64 was 1.33x
    assert svg.startswith("<svg ") and "<!--" not in svg and "<title>" not in svg and " id=" not in svg


def test_hostile_scope_name_is_text():
    nn.clear_parameters()
    x = nn.Variable((2, 3))
    x.name = 'a"b\\n&amp;'
    y = F.tanh(PF.affine(x, 2, name=EVIL))
    view = nnabla_nb.graph(y, values=True)
    bundle = view._repr_mimebundle_()
    html, svg = bundle["text/html"], bundle["image/svg+xml"]
    assert EVIL not in html and "&lt;img src=x onerror=alert(1)&gt;/affine" in html
    assert EVIL not in svg and "&lt;img src=x onerror=alert(1)&gt;/affine" in svg
    assert _svg_of(html) == svg.strip().replace("\n", " ").replace('"', "'")
    assert "onerror" not in re.sub(r"&lt;img src=x onerror=alert\(1\)&gt;", "", svg)
    assert "a&quot;b\\n&amp;amp;" in svg  # quote, backslash and ampersand shown literally
    assert bundle[MIME_TYPE]["scopes"][0]["name"] == EVIL + "/affine"  # JSON keeps the real name
    nn.clear_parameters()


def test_text_listing_indents_scopes(mlp):
    _, _, loss = mlp
    lines = nnabla_nb.graph(loss).text.splitlines()
    assert "  [fc0/affine]" in lines
    assert any(line.startswith("    n3 Affine(n0, n1, n2) -> n4") for line in lines)


def test_collapsed_drawing(mlp):
    """collapse_scopes folds the picture; the JSON keeps every node and says which scopes the picture folds."""
    _, _, loss = mlp
    view = nnabla_nb.graph(loss, collapse_scopes=True)
    assert view.svg.count('class="node"') == 24 and 'class="cluster"' not in view.svg
    assert "10 parameters, 5 scopes drawn collapsed" in view.text
    doc = view.json
    assert len(doc["nodes"]) == 34 and len(doc["edges"]) == 33 and "group" not in {n["kind"] for n in doc["nodes"]}
    assert doc["static_view"] == {
        "collapsed": ["fc0/affine", "fc1/affine", "fc2/affine", "fc3/affine", "fc/affine"],
        "max_nodes": 400,
        "hidden": 0,
    }


def _deep_net(blocks: int, layers: int):
    nn.clear_parameters()
    h = nn.Variable((1, 8))
    for b in range(blocks):
        with nn.parameter_scope(f"block{b}"):
            for i in range(layers):
                with nn.parameter_scope(f"layer{i}"):
                    h = F.relu(PF.affine(h, 8))
    return h


def test_json_carries_the_whole_big_graph():
    """A 1,000-function graph: the default picture is folded and capped, the JSON is whole (no group members lost)."""
    y = _deep_net(10, 50)
    view = nnabla_nb.graph(y)  # collapse_scopes="auto", max_nodes=400
    assert view.model.count("group") > 0 and len(view.model.nodes) <= 400
    doc = view.json
    assert len(doc["nodes"]) == 3001 and len(doc["edges"]) == 3000 and doc["hidden"] == 0
    assert {n["kind"] for n in doc["nodes"]} == {"variable", "parameter", "function"}
    assert len(doc["static_view"]["collapsed"]) == 500 and doc["static_view"]["hidden"] > 0
    assert json.loads(json.dumps(doc, allow_nan=False)) == doc
    nn.clear_parameters()


def test_json_safety_cap_ends_in_a_truncated_node():
    y = _deep_net(1, 20)
    view = GraphView(build(y), json_max_nodes=30)
    doc = view.json
    ids = {n["id"] for n in doc["nodes"]}
    (marker,) = [n for n in doc["nodes"] if n["kind"] == "truncated"]
    assert len(doc["nodes"]) <= 30 and marker["members"] == doc["hidden"] == 121 - len(doc["nodes"]) + 1
    assert all(e["source"] in ids and e["target"] in ids for e in doc["edges"])
    assert doc["root"] in ids and doc["static_view"]["hidden"] == 0  # the static forms were not capped
    assert JSON_MAX_NODES == 20_000
    nn.clear_parameters()
