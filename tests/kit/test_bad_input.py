"""Bad input to the kit answers with a short message and a usage line, never a traceback into the kit.

``KIT_CASES``: every public function of ``nnabla_nb`` (and the methods a loop calls on a progress) with wrong
types, wrong values and wrong names; ``MAGIC_CASES``: every ``%nnabla`` subcommand the same way. One generic
check runs over each table. An error raised during forward/backward in a notebook is reported with the function
and the cell line that created it (``nnabla_nb.errors``).
"""

import re
import types

import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
import nnabla.parametric_functions as PF
import nnabla_nb
from nnabla.function import FunctionIndexError
from nnabla_nb import errors
from nnabla_nb.errors import ArgumentError, ArgumentTypeError
from nnabla_nb.widgets import GradsTable, ParamsTree


@pytest.fixture
def net():
    nn.clear_parameters()
    x = nn.Variable.from_numpy_array(np.ones((2, 3), np.float32))
    y = F.tanh(PF.affine(x, 2, name="fc"))
    yield {"x": x, "y": y}
    nn.clear_parameters()


def _prog(**kw):
    return nnabla_nb.widgets.Progress(widget=False, display=lambda *a, **k: _Handle(), **kw)


class _Handle:
    def update(self, obj):
        pass


# (case id, call(net), error class, what the message names: the function, then the argument or the value)
KIT_CASES = [
    (
        "graph of an int",
        lambda n: nnabla_nb.graph(3),
        ArgumentTypeError,
        "nnabla_nb.graph",
        "y must be an nnabla Variable",
    ),
    (
        "graph of an NdArray",
        lambda n: nnabla_nb.graph(nn.NdArray((2,))),
        ArgumentTypeError,
        "nnabla_nb.graph",
        "NdArray",
    ),
    ("graph of a name", lambda n: nnabla_nb.graph("y"), ArgumentTypeError, "nnabla_nb.graph", "str 'y'"),
    ("graph values='yes'", lambda n: nnabla_nb.graph(n["y"], values="yes"), ArgumentTypeError, "graph", "values"),
    ("graph grads=1.5", lambda n: nnabla_nb.graph(n["y"], grads=1.5), ArgumentTypeError, "graph", "grads"),
    (
        "graph collapse 'always'",
        lambda n: nnabla_nb.graph(n["y"], collapse_scopes="always"),
        ArgumentError,
        "graph",
        "collapse_scopes",
    ),
    (
        "graph collapse -1",
        lambda n: nnabla_nb.graph(n["y"], collapse_scopes=-1),
        ArgumentError,
        "graph",
        "collapse_scopes must be >= 0",
    ),
    (
        "graph collapse 2.5",
        lambda n: nnabla_nb.graph(n["y"], collapse_scopes=2.5),
        ArgumentTypeError,
        "graph",
        "collapse_scopes",
    ),
    (
        "graph max_nodes 0",
        lambda n: nnabla_nb.graph(n["y"], max_nodes=0),
        ArgumentError,
        "graph",
        "max_nodes must be >= 1, got 0",
    ),
    (
        "graph max_nodes '10'",
        lambda n: nnabla_nb.graph(n["y"], max_nodes="10"),
        ArgumentTypeError,
        "graph",
        "max_nodes",
    ),
    ("graph max_nodes 2.5", lambda n: nnabla_nb.graph(n["y"], max_nodes=2.5), ArgumentTypeError, "graph", "max_nodes"),
    ("graph params list", lambda n: nnabla_nb.graph(n["y"], params=[n["x"]]), ArgumentTypeError, "graph", "params"),
    (
        "graph params values",
        lambda n: nnabla_nb.graph(n["y"], params={"w": 1}),
        ArgumentTypeError,
        "graph",
        "'w' is int 1",
    ),
    ("graph names list", lambda n: nnabla_nb.graph(n["y"], names=["x"]), ArgumentTypeError, "graph", "names"),
    ("graph unknown keyword", lambda n: nnabla_nb.graph(n["y"], colapse=True), TypeError, "graph", "colapse"),
    ("build of a list", lambda n: nnabla_nb.build([n["y"]]), ArgumentTypeError, "nnabla_nb.build", "root"),
    (
        "build params str",
        lambda n: nnabla_nb.build(n["y"], params="fc"),
        ArgumentTypeError,
        "nnabla_nb.build",
        "params",
    ),
    ("GraphView of a Variable", lambda n: nnabla_nb.GraphView(n["y"]), ArgumentTypeError, "GraphView", "model"),
    (
        "GraphView max_nodes -2",
        lambda n: nnabla_nb.GraphView(nnabla_nb.build(n["y"]), max_nodes=-2),
        ArgumentError,
        "GraphView",
        "max_nodes",
    ),
    (
        "progress total -1",
        lambda n: nnabla_nb.progress(total=-1),
        ArgumentError,
        "nnabla_nb.progress",
        "total must be >= 0, got -1",
    ),
    ("progress total 2.5", lambda n: nnabla_nb.progress(total=2.5), ArgumentTypeError, "nnabla_nb.progress", "total"),
    ("progress total '10'", lambda n: nnabla_nb.progress(total="10"), ArgumentTypeError, "nnabla_nb.progress", "total"),
    (
        "progress count -5",
        lambda n: nnabla_nb.progress(-5),
        ArgumentError,
        "nnabla_nb.progress",
        "iterable must be >= 0",
    ),
    ("progress of a float", lambda n: nnabla_nb.progress(3.5), ArgumentTypeError, "nnabla_nb.progress", "iterable"),
    ("progress max_fps 0", lambda n: nnabla_nb.progress(max_fps=0), ArgumentError, "nnabla_nb.progress", "max_fps"),
    (
        "progress max_fps 'fast'",
        lambda n: nnabla_nb.progress(max_fps="fast"),
        ArgumentTypeError,
        "nnabla_nb.progress",
        "max_fps",
    ),
    (
        "progress metrics ints",
        lambda n: nnabla_nb.progress(metrics=[1, 2]),
        ArgumentTypeError,
        "nnabla_nb.progress",
        "metrics",
    ),
    (
        "progress widget 'yes'",
        lambda n: nnabla_nb.progress(widget="yes"),
        ArgumentTypeError,
        "nnabla_nb.progress",
        "widget",
    ),
    (
        "progress log_y 'auto'",
        lambda n: nnabla_nb.progress(log_y="auto"),
        ArgumentTypeError,
        "nnabla_nb.progress",
        "log_y",
    ),
    (
        "progress iterated without iterable",
        lambda n: list(_prog()),
        ArgumentTypeError,
        "nnabla_nb.progress",
        "no iterable",
    ),
    ("progress update -1", lambda n: _prog().update(-1), ArgumentError, "progress.update", "n must be >= 0"),
    (
        "progress update 0.5",
        lambda n: _prog().update(0.5),
        ArgumentTypeError,
        "progress.update",
        "n must be a whole number",
    ),
    ("progress log a word", lambda n: _prog().log(loss="high"), ArgumentError, "progress.log", "metric 'loss'"),
    ("progress log None", lambda n: _prog().log(acc=None), ArgumentError, "progress.log", "metric 'acc'"),
    (
        "progress record step 'a'",
        lambda n: _prog().record("loss", "a", 1.0),
        ArgumentTypeError,
        "progress.record",
        "step",
    ),
    ("progress record name 3", lambda n: _prog().record(3, 0, 1.0), ArgumentTypeError, "progress.record", "name"),
    ("progress watch a list", lambda n: _prog().watch([]), ArgumentTypeError, "progress.watch", "MonitorSeries"),
    (
        "progress monitor_series name",
        lambda n: _prog().monitor_series(7),
        ArgumentTypeError,
        "progress.monitor_series",
        "name",
    ),
    ("params scope 3", lambda n: nnabla_nb.params(3), ArgumentTypeError, "nnabla_nb.params", "scope"),
    ("params widget 'no'", lambda n: nnabla_nb.params(widget="no"), ArgumentTypeError, "nnabla_nb.params", "widget"),
    (
        "ParamsTree select unknown",
        lambda n: ParamsTree().select("fc/W"),
        ArgumentError,
        "ParamsTree.select",
        "no parameter 'fc/W'",
    ),
    ("grads params 3", lambda n: nnabla_nb.grads(3), ArgumentTypeError, "nnabla_nb.grads", "params"),
    (
        "grads params of arrays",
        lambda n: nnabla_nb.grads({"w": np.ones(2)}),
        ArgumentTypeError,
        "nnabla_nb.grads",
        "'w'",
    ),
    ("grads follow 'yes'", lambda n: nnabla_nb.grads(follow="yes"), ArgumentTypeError, "nnabla_nb.grads", "follow"),
    ("grads max_fps -1", lambda n: nnabla_nb.grads(max_fps=-1), ArgumentError, "nnabla_nb.grads", "max_fps"),
    ("grads widget 1.0", lambda n: nnabla_nb.grads(widget=1.0), ArgumentTypeError, "nnabla_nb.grads", "widget"),
    ("GradsTable params 3", lambda n: GradsTable(3), ArgumentTypeError, "nnabla_nb.grads", "params"),
    ("backward_steps of a float", lambda n: nnabla_nb.backward_steps(0.5), ArgumentTypeError, "backward_steps", "loss"),
    (
        "backward_steps params list",
        lambda n: nnabla_nb.backward_steps(n["y"], params=[]),
        ArgumentTypeError,
        "backward_steps",
        "params",
    ),
    (
        "backward_steps widget 'on'",
        lambda n: nnabla_nb.backward_steps(n["y"], widget="on"),
        ArgumentTypeError,
        "backward_steps",
        "widget",
    ),
    ("set_widget_mode 'on'", lambda n: nnabla_nb.set_widget_mode("on"), ArgumentTypeError, "set_widget_mode", "mode"),
    ("explain 'F.nope'", lambda n: nnabla_nb.explain("F.nope"), ArgumentError, "nnabla_nb.explain", "F.nope"),
    ("explain 3", lambda n: nnabla_nb.explain(3), ArgumentTypeError, "nnabla_nb.explain", "int"),
    ("explain plot='yes'", lambda n: nnabla_nb.explain("tanh", plot="yes"), ArgumentTypeError, "explain", "plot"),
    ("graph_diff of an int", lambda n: nnabla_nb.graph_diff(3, n["y"]), ArgumentTypeError, "graph_diff", "before"),
    ("graph_diff after='y'", lambda n: nnabla_nb.graph_diff(n["y"], "y"), ArgumentTypeError, "graph_diff", "after"),
    (
        "graph_diff max_nodes=0",
        lambda n: nnabla_nb.graph_diff(n["y"], n["y"], max_nodes=0),
        ArgumentError,
        "nnabla_nb.graph_diff",
        "max_nodes",
    ),
    (
        "progress watch=3",
        lambda n: nnabla_nb.progress(3, watch=3),
        ArgumentTypeError,
        "nnabla_nb.progress",
        "watch must be a dict",
    ),
    (
        "progress comm='world'",
        lambda n: nnabla_nb.progress(3, comm="world"),
        ArgumentTypeError,
        "nnabla_nb.progress",
        "comm must be a communicator with a rank and a size",
    ),
    (
        "progress comm rank 2 of 2",
        lambda n: nnabla_nb.progress(3, comm=types.SimpleNamespace(rank=2, size=2)),
        ArgumentError,
        "nnabla_nb.progress",
        "comm's rank must be in 0..size-1, got rank 2 of size 2",
    ),
    (
        "progress comm of 3 ranks in one process",
        lambda n: nnabla_nb.progress(3, comm=types.SimpleNamespace(rank=1, size=3), widget=False),
        ArgumentError,
        "nnabla_nb.progress",
        "comm is rank 1 of 3, but this process is rank 0 of 1",
    ),
    ("show_images of a name", lambda n: nnabla_nb.show_images("x"), ArgumentTypeError, "show_images", "str 'x'"),
    (
        "show_images of (2, 3)",
        lambda n: nnabla_nb.show_images(n["x"]),
        ArgumentError,
        "nnabla_nb.show_images",
        "(2, 3) does not look like images",
    ),
    (
        "show_images 3 labels for 2",
        lambda n: nnabla_nb.show_images(np.zeros((2, 8, 8)), labels=[0, 1, 2]),
        ArgumentError,
        "show_images",
        "labels must be 2 whole numbers",
    ),
    (
        "show_images classes='ab'",
        lambda n: nnabla_nb.show_images(np.zeros((2, 8, 8)), classes="ab"),
        ArgumentTypeError,
        "show_images",
        "classes must be a list",
    ),
    ("confusion of a name", lambda n: nnabla_nb.confusion("y", [0]), ArgumentTypeError, "confusion", "y must be"),
    (
        "confusion 3 for 2",
        lambda n: nnabla_nb.confusion([0, 1, 1], [0, 1]),
        ArgumentError,
        "nnabla_nb.confusion",
        "y must be 2 labels or (2, K) scores",
    ),
    (
        "confusion fractional t",
        lambda n: nnabla_nb.confusion([0, 1], [0.5, 1]),
        ArgumentError,
        "confusion",
        "t must be N whole-number labels",
    ),
    ("confusion t=-1", lambda n: nnabla_nb.confusion([0, 1], [0, -1]), ArgumentError, "confusion", ">= 0, got -1"),
    ("enable 3", lambda n: nnabla_nb.enable(3), ArgumentTypeError, "nnabla_nb.enable", "IPython shell"),
    ("disable 'ip'", lambda n: nnabla_nb.disable("ip"), ArgumentTypeError, "nnabla_nb.disable", "IPython shell"),
]


@pytest.mark.parametrize("call, error, where, what", [c[1:] for c in KIT_CASES], ids=[c[0] for c in KIT_CASES])
def test_kit_bad_input(net, call, error, where, what):
    with pytest.raises(error) as info:
        call(net)
    message = str(info.value)
    assert where in message and what in message
    if error is TypeError:  # Python's own check of the keywords: no kit code ran
        return
    assert isinstance(info.value, ValueError)  # what NNabla users catch, as the engine's errors
    lines = info.value._render_traceback_()
    assert lines[0] == f"{type(info.value).__name__}: {info.value.message}" and lines[1].startswith("usage: ")
    assert len(lines) <= 3 and not any("Traceback" in line or "nnabla_nb/" in line for line in lines)
    assert lines[2].startswith(f"(called at {__file__}:")  # the user's line that made the call


def test_kit_functions_all_have_cases():
    """Every public function of the kit appears in the table."""
    public = {name for name in nnabla_nb.__all__ if callable(getattr(nnabla_nb, name)) and name != "GraphModel"}
    covered = {re.sub(r"\W.*", "", c[0].split()[0]) for c in KIT_CASES}
    assert public <= covered, public - covered


def test_good_input_still_works(net):
    assert nnabla_nb.graph(net["y"], collapse_scopes=0, max_nodes=None).model.nodes
    assert nnabla_nb.graph(net["y"], values=np.True_, collapse_scopes=True).model.nodes
    p = _prog(metrics="loss")  # one metric name
    p.update(np.int64(2))
    p.log(loss=np.float32(0.5), acc=nn.Variable.from_numpy_array(np.ones(3)))
    assert list(p.series) == ["loss", "acc"] and p.n == 2


# -- %nnabla ---------------------------------------------------------------------------------------------
def _shell():
    from IPython.testing.globalipapp import get_ipython, start_ipython

    return start_ipython() or get_ipython()


@pytest.fixture
def ip(net):
    shell = _shell()
    shell.run_cell("%load_ext nnabla_nb")
    shell.user_ns.update(net, arr=np.ones(2), three=3, nnabla_nb=nnabla_nb)
    yield shell
    shell.run_cell("%unload_ext nnabla_nb")


# (case id, the cell, what the first line says); the usage that follows is the command's (all of them when the
# command itself is wrong)
MAGIC_CASES = [
    ("no command", "%nnabla", "%nnabla: a command is required"),
    ("unknown command", "%nnabla grpah y", "%nnabla: unknown command 'grpah' (commands: graph, params"),
    ("markup as command", "%nnabla <b>x</b>", "%nnabla: unknown command '<b>x</b>'"),
    ("unclosed quote", '%nnabla graph "y', "%nnabla: cannot read the line: No closing quotation"),
    ("graph without VAR", "%nnabla graph", "%nnabla graph: the following arguments are required: VAR"),
    ("graph of an unknown name", "%nnabla graph not_a_var", "cannot evaluate 'not_a_var': NameError"),
    ("graph of a failing expression", "%nnabla graph 1/0", "cannot evaluate '1/0': ZeroDivisionError"),
    ("graph of an int", "%nnabla graph three", "VAR 'three' must be an nnabla Variable; it is int 3"),
    ("graph of an array", "%nnabla graph arr", "VAR 'arr' must be an nnabla Variable; it is ndarray"),
    ("graph --max-nodes word", "%nnabla graph y --max-nodes x", "argument --max-nodes: expected a whole number"),
    ("graph --max-nodes 0", "%nnabla graph y --max-nodes 0", "argument --max-nodes: expected a whole number >= 1"),
    ("graph --max-nodes missing", "%nnabla graph y --max-nodes", "argument --max-nodes: expected one argument"),
    ("graph unknown flag", "%nnabla graph y --bogus", "%nnabla graph: unrecognized arguments: --bogus"),
    ("graph two names", "%nnabla graph y x", "%nnabla graph: unrecognized arguments: x"),
    ("graph as a cell magic", "%%nnabla graph y\ny", "graph is a line magic"),
    ("params two scopes", "%nnabla params a b", "%nnabla params: unrecognized arguments: b"),
    ("params unknown flag", "%nnabla params --all", "%nnabla params: unrecognized arguments: --all"),
    ("grads two scopes", "%nnabla grads a b", "%nnabla grads: unrecognized arguments: b"),
    ("context unknown", "%nnabla context tpu", "%nnabla context: unknown context 'tpu'"),
    ("context bad device", "%nnabla context cuda:x", "unknown context 'cuda:x'"),
    ("context two names", "%nnabla context cpu cuda", "%nnabla context: unrecognized arguments: cuda"),
    ("info with an argument", "%nnabla info all", "%nnabla info: unrecognized arguments: all"),
    ("trace as a line magic", "%nnabla trace", "trace is a cell magic"),
    ("trace with an argument", "%%nnabla trace extra\nx", "%nnabla trace: unrecognized arguments: extra"),
]


@pytest.mark.parametrize("cell, first", [c[1:] for c in MAGIC_CASES], ids=[c[0] for c in MAGIC_CASES])
def test_magic_bad_input(ip, capsys, cell, first):
    from nnabla_nb.magics import COMMANDS, SUBCOMMANDS

    capsys.readouterr()
    result = ip.run_cell(cell)
    out = capsys.readouterr().out
    assert result.result is None and result.error_in_exec is None  # a message, not an exception
    lines = out.strip().splitlines()
    assert first in lines[0] and lines[1] == "usage:" and "Traceback" not in out
    word = cell.lstrip("%").split()[1] if len(cell.split()) > 1 else ""
    expected = [COMMANDS[word]] if lines[0].startswith(f"%nnabla {word}:") else SUBCOMMANDS
    assert lines[2:] == [f"  {c.usage}" for c in expected]


def test_magic_help(ip, capsys):
    for line in ("%nnabla help", "%nnabla --help", "%nnabla -h"):
        ip.run_cell(line)
        out = capsys.readouterr().out
        assert out.startswith("nnabla-nb's magic") and "%nnabla graph VAR" in out


def test_kit_error_in_a_cell_shows_no_kit_frames(ip, capsys):
    capsys.readouterr()
    result = ip.run_cell("nnabla_nb.graph(three)", store_history=True)
    out = capsys.readouterr().out
    assert isinstance(result.error_in_exec, ArgumentTypeError)
    assert out.splitlines()[0] == "ArgumentTypeError: nnabla_nb.graph: y must be an nnabla Variable, got int 3"
    assert "usage: nnabla_nb.graph(y, values=False" in out and re.search(r"called at Cell In\[\d+\], line 1", out)
    assert "Traceback" not in out and "view.py" not in out


# -- errors while a graph runs -------------------------------------------------------------------------
BAD_LABELS = """\
x = nn.Variable.from_numpy_array(np.zeros((2, 3), np.float32))
t = nn.Variable.from_numpy_array(np.array([[0], [5]], np.int32))
loss = F.mean(F.softmax_cross_entropy(x, t))
"""


def test_forward_error_report_names_function_and_cell_line(ip, capsys):
    ip.run_cell("import numpy as np, nnabla as nn, nnabla.functions as F")
    ip.run_cell(BAD_LABELS, store_history=True)
    cell = ip.execution_count - 1
    capsys.readouterr()
    result = ip.run_cell("loss.forward()", store_history=True)
    out = capsys.readouterr().out
    assert isinstance(result.error_in_exec, FunctionIndexError)  # the error is still raised and shown
    head = out.splitlines()[:2]
    assert head[0] == (
        "SoftmaxCrossEntropy failed during forward (FunctionIndexError): target label 5 is out of range for "
        "3 classes (x (2, 3) along axis 1, target (2, 1))"
    )
    assert head[1] == f"  created at Cell In[{cell}], line 3: loss = F.mean(F.softmax_cross_entropy(x, t))"
    assert "Traceback (most recent call last)" in out and "FunctionIndexError" in out.split("Traceback")[1]


def test_backward_error_report_and_html(ip, capsys):
    ip.run_cell(
        "import nnabla as nn, nnabla.functions as F\n"
        "from nnabla.function import PythonFunction\n"
        "class Failing(PythonFunction):\n"
        "    def setup_impl(self, inputs, outputs): outputs[0].reset_shape(inputs[0].shape, True)\n"
        "    def forward_impl(self, inputs, outputs): outputs[0].d = inputs[0].d\n"
        "    def backward_impl(self, inputs, outputs, propagate_down, accum): raise ArithmeticError('<b>no</b>')\n"
    )
    ip.run_cell("v = nn.Variable((2,), need_grad=True)\nz = F.sum(Failing()(v))  # <img src=x onerror=alert(1)>")
    ip.run_cell("z.forward()")
    capsys.readouterr()
    result = ip.run_cell("z.backward()")
    out = capsys.readouterr().out
    assert isinstance(result.error_in_exec, ArithmeticError)
    assert out.startswith("Failing failed during backward (ArithmeticError): <b>no</b>\n  created at Cell In[")
    report = errors.graph_error(result.error_in_exec)
    html = report._repr_mimebundle_()["text/html"]
    assert "<b>Failing</b> failed during backward" in html and "&lt;b&gt;no&lt;/b&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "<img" not in html


def test_other_errors_are_shown_as_before(ip, capsys):
    capsys.readouterr()
    result = ip.run_cell("1 / 0")
    out = capsys.readouterr().out
    assert isinstance(result.error_in_exec, ZeroDivisionError) and "failed during" not in out
    assert "ZeroDivisionError" in out and "Traceback" in out


def test_unload_restores_exception_handling():
    shell = _shell()
    shell.run_cell("%load_ext nnabla_nb")
    assert shell.custom_exceptions == (Exception,)
    shell.run_cell("%unload_ext nnabla_nb")
    assert shell.custom_exceptions == ()
    assert errors.graph_error(ValueError("plain")) is None
