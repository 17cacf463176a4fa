"""Rich display formatters and magics inside an in-process IPython shell."""

import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
import nnabla.parametric_functions as PF
import nnabla.solvers as S
from nnabla_nb import display
from nnabla_nb.magics import COMMANDS, HELP, SUBCOMMANDS, USAGE
from nnabla_nb.render.png import encode_png, heatmap_png, histogram_png
from nnabla_nb.widgets import GradsTable


def _shell():
    """The test IPython shell (start_ipython makes one per process and returns None afterwards)."""
    from IPython.testing.globalipapp import get_ipython, start_ipython

    return start_ipython() or get_ipython()


@pytest.fixture(scope="module")
def ip():
    shell = _shell()
    shell.display_formatter.active_types = ["text/plain", "text/html"]
    shell.run_cell("%load_ext nnabla_nb")
    yield shell
    shell.run_cell("%unload_ext nnabla_nb")


@pytest.fixture
def net():
    nn.clear_parameters()
    x = nn.Variable.from_numpy_array(np.arange(6.0).reshape(2, 3))
    y = F.tanh(PF.affine(x, 2, name="fc"))
    y.forward()
    y.backward()
    yield x, y
    nn.clear_parameters()


def fmt(ip, obj):
    return ip.display_formatter.format(obj)[0]


def test_variable_and_ndarray(ip, net):
    x, y = net
    d = fmt(ip, y)
    assert set(d) == {"text/plain", "text/html"} and " at 0x" not in d["text/plain"]
    assert d["text/plain"].startswith("Variable(2, 2) float32 need_grad=True parent=Tanh")
    assert "data:image/png;base64," in d["text/html"] and "<script" not in d["text/html"]
    assert fmt(ip, x.data)["text/plain"].startswith("NdArray(2, 3) float64")
    big = nn.Variable.from_numpy_array(np.arange(100000.0).reshape(10, 100, 100))
    text = fmt(ip, big)["text/plain"]
    assert "..." in text and "histogram" in fmt(ip, big)["text/html"]


def test_params_dict_only(ip, net):
    params = nn.get_parameters()
    assert fmt(ip, params)["text/plain"].startswith("2 parameters, 8 values")
    assert "fc/affine/W" in fmt(ip, params)["text/html"]
    from collections import OrderedDict

    assert "text/html" not in fmt(ip, OrderedDict(a=1)) and fmt(ip, {"a/b": 1})["text/plain"] == "{'a/b': 1}"


def test_function_and_solver(ip, net):
    _, y = net
    assert fmt(ip, y.parent)["text/plain"].startswith("Tanh()")
    s = S.Sgd(0.5)
    s.set_parameters(nn.get_parameters())
    assert fmt(ip, s)["text/plain"].startswith("Sgd(lr=0.5)\n  learning rate 0.5, 2 parameters, 8 values")


def test_display_changes_nothing(ip, net):
    x, y = net
    params = nn.get_parameters(grad_only=False)
    before = [(v.d.copy(), v.g.copy(), v.need_grad, v.persistent) for v in [x, y, *params.values()]]
    for obj in (x, y, y.parent, x.data, params):
        fmt(ip, obj)
    ip.run_cell("%nnabla graph y --values --grads")
    after = [(v.d, v.g, v.need_grad, v.persistent) for v in [x, y, *params.values()]]
    for b, a in zip(before, after):
        assert np.array_equal(b[0], a[0]) and np.array_equal(b[1], a[1]) and b[2:] == a[2:]
    assert list(nn.get_parameters(grad_only=False)) == list(params) and y.parent.inputs[0].parent is not None


def test_unload_restores(net):
    shell = _shell()
    shell.run_cell("%load_ext nnabla_nb")
    shell.run_cell("%unload_ext nnabla_nb")
    assert " at 0x" in shell.display_formatter.format(net[1])[0]["text/plain"]
    assert "nnabla" not in shell.magics_manager.magics["line"]
    shell.run_cell("%load_ext nnabla_nb")


def test_magics(ip, net, capsys):
    ip.user_ns["y"] = net[1]
    ip.run_cell("%nnabla graph y --collapse")
    ip.run_cell("%nnabla params fc")
    ip.run_cell("%nnabla info")
    ip.run_cell("%nnabla context cpu")
    ip.run_cell("%%nnabla trace\ny.forward()")
    ip.run_cell("%nnabla graph missing_name")
    ip.run_cell("%nnabla")
    out = capsys.readouterr().out
    assert "nnabla graph: 2 functions, 3 variables, 2 parameters, 1 scopes drawn collapsed" in out
    assert "fc/affine/W" in out and "nnabla_nb" in out and "context: Context(backend=['cpu:float']" in out
    assert "2 function calls: 2 forward, 0 backward\n  forward:  Affine x1, Tanh x1" in out
    assert out.count("usage:") == 2 and "Traceback" not in out


def test_grads_magic(ip, net, capsys):
    """``%nnabla grads [SCOPE]``: nnabla_nb.grads() of the current parameters (static here: no widget frontend)."""
    table = ip.run_cell("%nnabla grads").result
    assert isinstance(table, GradsTable) and not table.follow
    out = capsys.readouterr().out
    assert "gradients of 2 parameters" in out and "fc/affine/W (3, 2)" in out and "fc/affine/b (2,)" in out
    html = table._repr_mimebundle_()["text/html"]
    assert "histogram of fc/affine/W gradient" in html and "<script" not in html
    assert "gradients of 1 parameters" in repr(ip.run_cell("%nnabla grads fc/affine/W").result)
    assert repr(ip.run_cell("%nnabla grads nowhere").result) == "no parameters under 'nowhere'"
    nn.clear_parameters()
    assert repr(ip.run_cell("%nnabla grads").result) == "no parameters"
    capsys.readouterr()
    assert ip.run_cell("%nnabla grads a b").result is None
    out = capsys.readouterr().out
    assert out.startswith("%nnabla grads: unrecognized arguments: b\nusage:\n  %nnabla grads [SCOPE]\n")
    assert "Traceback" not in out


def test_magic_help_documents_every_subcommand(ip, capsys):
    """``%nnabla?`` shows the magic's docstring: every subcommand the parser knows, with its arguments."""
    commands = set(COMMANDS)
    assert commands == {"graph", "params", "grads", "context", "info", "explain", "trace"}
    doc = ip.find_line_magic("nnabla").__doc__
    assert doc == ip.find_cell_magic("nnabla").__doc__ == HELP
    for c in SUBCOMMANDS:
        assert c.usage in doc and c.help.splitlines()[0] in doc and c.usage in USAGE
    for name in commands:
        assert f"%nnabla {name}" in doc
    assert "%%nnabla trace" in doc and "--max-nodes N" in doc and "cuda[:ID]" in doc and "SCOPE" in doc
    assert ip.object_inspect_text("%nnabla").count("%nnabla grads [SCOPE]") == 1
    ip.run_cell("%nnabla?")  # IPython pages the docstring (printed where there is no pager)
    out = capsys.readouterr().out
    assert all(c.usage in out for c in SUBCOMMANDS) and "Traceback" not in out


def test_png_bytes_are_deterministic():
    a = np.linspace(-1, 1, 30).reshape(5, 6)
    assert heatmap_png(a) == heatmap_png(a.copy()) and heatmap_png(a)[:8] == b"\x89PNG\r\n\x1a\n"
    assert histogram_png(np.arange(1000.0)) == histogram_png(np.arange(1000.0))
    assert len(encode_png(np.zeros((2, 2, 3), np.uint8))) > 40
    assert display.is_parameter_dict(nn.get_parameters()) is False  # empty: not claimed
