"""graph_diff: functions matched in forward order, removed/added/changed marked in both forms, escaped."""

import re
from urllib.parse import unquote

import pytest

import nnabla as nn
import nnabla.experimental.graph_converters as GC
import nnabla.functions as F
import nnabla.parametric_functions as PF
import nnabla_nb

EVIL = "<script>alert(1)</script>"


@pytest.fixture
def folded():
    """conv -> batch normalization -> relu -> affine, and its batch-normalization-folded twin."""
    nn.clear_parameters()
    nn.seed(0)
    x = nn.Variable((2, 1, 6, 6))
    h = PF.convolution(x, 3, (3, 3), pad=(1, 1), name="conv1")
    h = F.relu(PF.batch_normalization(h, batch_stat=False, name="bn1"))
    y = PF.affine(h, 2, name="fc")
    yield y, GC.GraphConverter([GC.BatchNormalizationFoldingModifier()]).convert(y)
    nn.clear_parameters()


def _svgs(html: str) -> list:
    return [unquote(s) for s in re.findall(r'src="data:image/svg\+xml,([^"]+)"', html)]


def test_batch_normalization_folding(folded):
    d = nnabla_nb.graph_diff(*folded, names={})
    assert [c.label for c in d.removed] == ["BatchNormalization (bn1/bn)"] and d.added == []
    assert [c.label for c in d.changed] == ["Convolution (conv1/conv)"]
    assert d.changed[0].what == ["parameters: conv1/conv/W, conv1/conv/b -> conv1/conv/w-folded, conv1/conv/b-folded"]
    assert d.added_parameters == ["conv1/conv/b-folded", "conv1/conv/w-folded"]
    assert "bn1/bn/gamma" in d.removed_parameters
    assert d.listing.splitlines() == [
        "~ Convolution (conv1/conv)",
        "- BatchNormalization (bn1/bn)",
        "  ReLU",
        "  Affine (fc/affine)",
    ]
    assert d.text.startswith("graph diff: 4 functions before, 3 after: 1 removed, 0 added, 1 changed; parameters in")


def test_bundle_is_static_deterministic_and_marked(folded):
    bundle = nnabla_nb.graph_diff(*folded, names={})._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    assert nnabla_nb.graph_diff(*folded, names={})._repr_mimebundle_() == bundle
    html = bundle["text/html"]
    for banned in ("<script", "<style", "<svg", " id="):
        assert banned not in html
    before, after = _svgs(html)
    assert before.count("#f8d0d0") == 7  # removed: the batch normalization, its 4 parameters, conv W and b
    assert "#f8d0d0" not in after and after.count("#d3f2d3") == 2 and after.count("#fbe8c0") == 1
    assert ">before<" in html and ">after<" in html


def test_added_functions_and_changed_arguments():
    x = nn.Variable((2, 3))
    before = F.relu(F.tanh(x))
    after = F.leaky_relu(F.tanh(x), alpha=0.2)
    d = nnabla_nb.graph_diff(before, after, names={})
    assert [c.label for c in d.removed] == ["ReLU"] and [c.label for c in d.added] == ["LeakyReLU"]
    same_type = nnabla_nb.graph_diff(F.leaky_relu(x, alpha=0.1), F.leaky_relu(x, alpha=0.3), names={})
    assert same_type.changed[0].what == ["alpha: 0.1 -> 0.3"]
    identical = nnabla_nb.graph_diff(before, before, names={})
    assert identical.text.startswith("graph diff: 2 functions before, 2 after: 0 removed, 0 added, 0 changed")


def test_user_names_are_escaped():
    nn.clear_parameters()
    x = nn.Variable((2, 3))
    with nn.parameter_scope(EVIL):
        before = F.relu(PF.affine(x, 2))
    after = F.relu(x)
    d = nnabla_nb.graph_diff(before, after, names={})
    html = d.html
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;/affine/W" in html
    assert all("<script" not in svg for svg in _svgs(html))
    assert f"- Affine ({EVIL}/affine)" in d.text
    nn.clear_parameters()
