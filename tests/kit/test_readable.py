"""The rules a teacher reading the views relies on: names in the student's words, line breaks, scales and
pictures that show what they claim, traces that say what happened."""

import re
import zlib

import numpy as np

import nnabla as nn
import nnabla.functions as F
import nnabla.parametric_functions as PF
import nnabla_nb
from nnabla_nb import display, magics
from nnabla_nb.graph import namespace_names
from nnabla_nb.render.escape import escape, printable
from nnabla_nb.render.png import filters_png, heatmap_png, histogram_png
from nnabla_nb.widgets.backward import record_backward, step_caption


def _png_size(png: bytes) -> tuple:
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")  # width, height


def _rgba(png: bytes) -> np.ndarray:
    w, h = _png_size(png)
    idat = png[png.index(b"IDAT") + 4 :]
    raw = np.frombuffer(zlib.decompressobj().decompress(idat), np.uint8)
    return raw.reshape(h, -1)[:, 1:].reshape(h, w, -1)


def test_line_breaks_are_kept_and_other_controls_shown():
    assert escape("a\nb <c>") == "a\nb &lt;c&gt;"
    assert escape("bell\x07") == "bell\\x07"
    assert printable("a\nb") == "a\\nb"  # one line (a name, a table cell)
    x = nn.Variable.from_numpy_array(np.arange(30.0).reshape(6, 5))
    html = display.variable_html(x)
    assert "\\n" not in html and "\n" in html.split("<pre>")[1]  # the summarized values keep their lines


def test_python_names_come_first(mlp):
    x, label, loss = mlp
    view = nnabla_nb.graph(loss, names=namespace_names({"x": x, "label": label, "loss": loss, "_3": loss}))
    doc = view.json
    by_name = {n.get("python_name"): n for n in doc["nodes"] if n.get("python_name")}
    assert set(by_name) == {"x", "label", "loss"} and by_name["loss"]["id"] == doc["root"]
    assert by_name["loss"]["label"] == "loss"  # not "output"
    params = [n for n in doc["nodes"] if n["kind"] == "parameter"]
    assert params[0]["name"] == "fc0/affine/W" and params[0]["label"] == "W"
    # a parameter carries its values for the details pane even without values=True; nodes do not draw them
    assert params[0]["stats"]["data"]["size"] == 8 and params[0]["heatmap"].startswith("data:image/png")
    assert "data -" not in view.text and ">data " not in view.svg
    assert "n33 loss () float32 grad <- output" in view.text
    loss.forward()
    caption = step_caption(record_backward(loss, names=namespace_names({"loss": loss})), 0)
    assert caption.startswith("step 0/11: the seed, grad of loss = 1")


def test_collapsed_summary_counts_the_whole_graph(mlp):
    _, _, loss = mlp
    text = nnabla_nb.graph(loss, collapse_scopes=True).text
    assert text.startswith("nnabla graph: 11 functions, 13 variables, 10 parameters, 5 scopes drawn collapsed")


def test_function_inputs_say_where_they_come_from(mlp):
    x, _, loss = mlp
    affine = loss.parent.inputs[0].parent.inputs[0].parent  # squared_error <- fc affine
    html = display.function_html(affine)
    assert "parameter fc/affine/W" in html and "parameter fc/affine/b" in html and ">None<" not in html


def test_info_values_sit_beside_their_keys():
    html = magics._info(None, {}).html
    assert html.count("text-align:left") >= 12  # every cell: JupyterLab right-aligns cells by default


def test_trace_marks_forward_backward_and_accumulation():
    nn.clear_parameters()
    x = nn.Variable.from_numpy_array(np.ones((2, 3), np.float32))
    y = F.mean(PF.affine(x, 2, name="fc"))
    ns = {"y": y, "nn": nn}
    once = magics.trace("y.forward()\ny.backward()", None, ns)
    assert "4 function calls: 2 forward, 2 backward" in once.text and "note:" not in once.text
    assert re.search(r"\n +\d+ forward +Affine", once.text) and re.search(r"\n +\d+ backward +Mean", once.text)
    again = magics.trace("y.forward()\ny.backward()", None, ns)  # no zero_grad: gradients now hold a sum
    assert "note: backward added to gradients" in again.text and "zero_grad" in again.html
    zeroed = magics.trace("for v in nn.get_parameters().values():\n    v.grad.zero()\ny.backward()", None, ns)
    assert "note:" not in zeroed.text
    assert nn.Variable.backward.__name__ == "backward" and "tracer" not in repr(nn.Variable.backward)


def test_heatmaps_are_never_slivers_and_show_their_scale():
    column = np.linspace(-1, 1, 100).reshape(100, 1)
    w, h = _png_size(heatmap_png(column))
    assert w >= 100 and h >= 12  # a (100, 1) Variable is one band, not a 3 px sliver
    uri, caption = display.picture(column)
    assert caption == "heatmap, blue -1 .. red +1"
    assert "colour scale" in display.picture_html(column) and "border:1px solid" in display.picture_html(column)
    assert display.picture(np.zeros(4))[1] == "all values 0"
    kernels = np.random.RandomState(0).randn(4, 1, 3, 3)
    uri, caption = display.picture(kernels)
    assert caption.startswith("4 x 1 filters of 3x3")
    assert _png_size(filters_png(kernels)) == (30, 4 * 30 + 3 * 2)  # 10 px squares, 2 px gaps


def test_histogram_marks_zero_on_a_transparent_background():
    img = _rgba(histogram_png(np.linspace(-1, 3, 400)))
    assert img.shape[2] == 4 and img[0, -1, 3] == 0  # transparent where no bar is
    red = np.flatnonzero((img[:, :, 0] == 220) & (img[:, :, 1] == 40)).size
    assert red > 0  # the zero mark
    assert not ((_rgba(histogram_png(np.linspace(1, 3, 400)))[:, :, :3] == (220, 40, 40)).all(axis=2)).any()


def test_followed_gradient_table_says_how_many_passes_it_reflects():
    import nnabla.solvers as S
    from nnabla_nb.widgets import GradsTable

    nn.clear_parameters()
    x = nn.Variable.from_numpy_array(np.ones((2, 3), np.float32))
    y = F.mean(PF.affine(x, 2, name="fc"))
    solver = S.Sgd(0.1)
    solver.set_parameters(nn.get_parameters())
    table = GradsTable(follow=True, max_fps=1e9, display=lambda obj: None)
    for _ in range(3):
        y.forward()
        solver.zero_grad()
        y.backward()
        solver.update()
    table.stop()
    static = table.static()
    assert "as of the last of 3 backward passes followed" in static.html and "3 backward passes" in static.text
