"""Renderers: the four forms, escaping of hostile names, determinism, and the HTML safety rules."""

import base64
import re

import nnabla as nn
import nnabla.functions as F
import nnabla.parametric_functions as PF
import nnabla_nb
from nnabla_nb.render import MIME_TYPE

EVIL = "<img src=x onerror=alert(1)>"


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
    assert html.count("<img") == 1 and "<details>" in html and 'src="data:image/svg+xml;base64,' in html


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
    svg_in_html = base64.b64decode(re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', html).group(1)).decode()
    assert svg_in_html == svg
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
    _, _, loss = mlp
    view = nnabla_nb.graph(loss, collapse_scopes=True)
    assert view.svg.count('class="node"') == 24 and 'class="cluster"' not in view.svg
    assert [n["kind"] for n in view.json["nodes"]].count("group") == 5
