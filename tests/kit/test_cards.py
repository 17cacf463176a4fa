"""Function cards: one per registered function, well-formed LaTeX, and the ``explain`` view built from them."""

import json
import re
from html import unescape
from urllib.parse import unquote

import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
import nnabla.parametric_functions as PF
import nnabla_nb
from nnabla.function import registry
from nnabla_nb.cards import CARDS, FAMILIES, card
from nnabla_nb.explain import card_json, explain, resolve
from nnabla_nb.magics import run_line
from nnabla_nb.render import MIME_TYPE

LATEX_FIELDS = ("forward", "gradient")


def _braces_balanced(tex: str) -> bool:
    depth = 0
    for token in re.findall(r"\\.|[{}]", tex):
        if token == "{":
            depth += 1
        elif token == "}":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def test_every_registered_function_has_a_card():
    assert set(CARDS) == set(registry()) and len(CARDS) == 222


def test_each_card_lives_in_its_op_family_module():
    for name, cls in registry().items():
        family = cls.__module__.rsplit(".", 1)[1]
        # the dense layers share one card module: affine (linear), batch matmul (matmul), embed
        assert FAMILIES[name] == ({"matmul": "linear", "embed": "linear"}.get(family, family)), name


@pytest.mark.parametrize("name", sorted(CARDS))
def test_card_is_complete_and_well_formed(name):
    c = card(name)
    assert c.meaning.strip() and "\n" not in c.meaning and c.meaning.endswith(".")
    for field in LATEX_FIELDS:
        tex = getattr(c, field)
        assert tex.strip(), f"{name}.{field} is empty"
        assert _braces_balanced(tex), f"{name}.{field} has unbalanced braces: {tex}"
        assert tex.count(r"\begin{") == tex.count(r"\end{"), f"{name}.{field}"
        delimiters = [len(re.findall(rf"\\{d}(?![a-zA-Z])", tex)) for d in ("left", "right")]
        assert delimiters[0] == delimiters[1], f"{name}.{field}"
        assert "$" not in tex, f"{name}.{field}: the view adds the math delimiters"
        # no markup: a formula is text that the renderers escape (``x < 0`` is fine, ``<b>`` is not)
        assert not re.search(r"<[A-Za-z/!]|&[A-Za-z#0-9]+;", tex), f"{name}.{field} holds HTML"
    assert c.plot in (None, False) or (isinstance(c.plot, tuple) and c.plot[0] < c.plot[1])


def test_cards_name_the_arguments_they_use():
    """A formula written with an argument's symbol belongs to an op that has that argument."""
    symbols = {r"\alpha": "alpha", r"\beta": "beta", r"\delta": "delta", r"\mathrm{val}": "val"}
    for name, (arg_symbol, arg) in [
        ("LeakyReLU", (r"\alpha", "alpha")),
        ("ELU", (r"\alpha", "alpha")),
        ("SoftPlus", (r"\beta", "beta")),
        ("HuberLoss", (r"\delta", "delta")),
        ("AddScalar", (r"\mathrm{val}", "val")),
        ("PowScalar", (r"\mathrm{val}", "val")),
    ]:
        assert arg_symbol in CARDS[name].forward and symbols[arg_symbol] == arg
        assert arg in registry()[name].args_spec


def test_resolve_accepts_functions_names_nodes_and_variables():
    x = nn.Variable((2, 3))
    y = F.tanh(x)
    assert {resolve(t) for t in (F.tanh, "tanh", "F.tanh", "Tanh", "TANH", y, y.parent, type(y.parent))} == {"Tanh"}
    assert resolve(F.sum) == "Sum" and resolve("affine") == "Affine" and resolve(F.add2) == "Add2"
    for bad in ("nope", "F.nope", 3, x):
        with pytest.raises(ValueError):
            resolve(bad)


def test_explain_bundle_text_and_html():
    bundle = nnabla_nb.explain(F.tanh)._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    text, html = bundle["text/plain"], bundle["text/html"]
    assert text.startswith("F.tanh(x): Tanh (activation)")
    assert CARDS["Tanh"].forward in text and CARDS["Tanh"].gradient in text
    assert f"${CARDS['Tanh'].gradient}$" in unescape(html)  # MathJax-ready once parsed
    assert "\\" not in html  # backslashes written &#92;: no "\\ne" reads as an escaped line break
    assert html.count("<img") == 1 and 'src="data:image/svg+xml,' in html
    for banned in ("<script", "<style", "<svg", " id=", "onerror"):
        assert banned not in html
    assert nnabla_nb.explain(F.tanh)._repr_mimebundle_() == bundle  # deterministic


def test_explain_escapes_formulas_and_shows_defaults():
    html = explain(F.leaky_relu).html
    # < > & of the LaTeX escaped for HTML, the text MathJax reads unchanged
    assert "x &gt; 0 &#92;&#92; &#92;alpha x &amp; x &#92;le 0" in html
    assert "$" + CARDS["LeakyReLU"].forward + "$" in unescape(html)
    assert "<code>alpha=0.1</code>" in html and "<code>inplace=False</code>" in html
    assert "alpha=0.1, inplace=False" in explain("leaky_relu").text
    affine = explain(F.affine)
    assert affine.curves is None and "<img" not in affine.html  # not elementwise: no picture
    assert affine.title.startswith("F.affine(x, weight, bias=None)") and ("base_axis", "1") in affine.args


def test_explain_picture_is_the_engine_forward_and_gradient():
    d = explain(F.tanh).curves
    assert d["x"][0] == -4 and d["x"][-1] == 4 and len(d["x"]) == 201
    np.testing.assert_allclose(d["y"], np.tanh(d["x"]), atol=1e-6)
    np.testing.assert_allclose(d["dy"], 1 - np.tanh(d["x"]) ** 2, atol=1e-6)
    d = explain(F.log).curves  # drawn on its own domain
    assert d["x"][0] > 0 and np.all(np.isfinite(d["dy"]))
    svg = unquote(re.search(r'src="data:image/svg\+xml,([^"]+)"', explain(F.sigmoid).html).group(1))
    assert "sigmoid(x)" in svg and "derivative" in svg and ">x<" in svg


def test_every_plotted_card_draws_finite_curves():
    drawn = {name: e.curves for name in CARDS if (e := explain(name)).curves is not None}
    assert {"Tanh", "ReLU", "Sigmoid", "GELU", "Exp", "ATanh", "Sinc"} <= set(drawn) and len(drawn) >= 40
    for name, d in drawn.items():
        assert np.all(np.isfinite(d["y"])) and np.all(np.isfinite(d["dy"])), name


def test_card_json_carries_the_card():
    assert card_json("Tanh") == {
        "name": "F.tanh",
        "meaning": CARDS["Tanh"].meaning,
        "forward": CARDS["Tanh"].forward,
        "gradient": CARDS["Tanh"].gradient,
    }


def test_magic_explain(capsys):
    out = run_line("explain F.tanh", {"F": F})
    assert out.text.startswith("F.tanh(x): Tanh")
    x = nn.Variable((2,))
    y = F.relu(x)
    assert run_line("explain y", {"F": F, "y": y}).text.startswith("F.relu(x")
    assert run_line("explain F.nope", {"F": F}) is None
    message = capsys.readouterr().out
    assert message.startswith("%nnabla explain: no function named 'F.nope'") and "Traceback" not in message


# -- cards in the graph bundle ---------------------------------------------------------------------------------
EVIL = "<script>alert(1)</script>"


def test_graph_document_carries_one_card_per_function_type(mlp):
    _, _, loss = mlp
    doc = nnabla_nb.graph(loss)._repr_mimebundle_()[MIME_TYPE]
    types = {n["type"] for n in doc["nodes"] if n["kind"] == "function"}
    assert set(doc["cards"]) == types == {"Affine", "Tanh", "SquaredError", "ReduceMean"}
    assert doc["cards"]["Tanh"] == card_json("Tanh")
    assert json.dumps(doc["cards"]).count('"meaning"') == 4  # 11 function nodes, 4 cards


def test_graph_html_lists_the_cards_escaped(mlp):
    _, _, loss = mlp
    html = nnabla_nb.graph(loss).html
    assert "function cards (4 types)" in html and html.count("<details>") == 2
    assert "$" + CARDS["Tanh"].gradient + "$" in unescape(html)
    huber = F.huber_loss(nn.Variable((2,)), nn.Variable((2,)))
    html = nnabla_nb.graph(huber).html
    assert "|d| &lt; &#92;delta" in html and "$" + CARDS["HuberLoss"].forward + "$" in unescape(html)


def test_cards_of_scoped_functions_stay_escaped():
    nn.clear_parameters()
    x = nn.Variable((2, 3))
    with nn.parameter_scope(EVIL):
        y = F.relu(PF.affine(x, 2))
    bundle = nnabla_nb.graph(y)._repr_mimebundle_()
    html = bundle["text/html"]
    assert "<script" not in html and "&lt;script&gt;" in html
    assert set(bundle[MIME_TYPE]["cards"]) == {"Affine", "ReLU"}
    nn.clear_parameters()
