"""Write the browser tests' notebooks (run by start-lab.sh into the server's temporary root directory)."""

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output

KERNEL = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}

SMALL = [
    """\
import numpy as np
import nnabla as nn
import nnabla.functions as F
import nnabla.parametric_functions as PF
import nnabla_nb

nn.clear_parameters()
np.random.seed(0)
x = nn.Variable.from_numpy_array(np.random.randn(2, 3).astype(np.float32))
with nn.parameter_scope("net"):
    with nn.parameter_scope("fc1"):
        h = F.relu(PF.affine(x, 4))
    with nn.parameter_scope("fc2"):
        y = PF.affine(h, 2)
loss = F.mean(y)
loss.forward()
loss.backward()
nnabla_nb.graph(loss, values=True, grads=True)""",
    """\
# a parameter whose gradient is exactly zero: flagged in the view
with nn.parameter_scope("dead"):
    z = F.mul_scalar(PF.affine(x, 2), 0.0)
out = F.sum(z)
out.forward()
out.backward()
nnabla_nb.graph(out, grads=True)""",
    """\
from nnabla_nb import widgets
for _ in widgets.progress(range(3), widget=True):
    pass""",
]

# the kit's widgets, with no widget= argument: the kit detects JupyterLab's widget manager by itself
WIDGETS = [
    """\
import time
import numpy as np
import nnabla as nn
import nnabla.functions as F
import nnabla.parametric_functions as PF
import nnabla.solvers as S
import nnabla_nb

nn.clear_parameters()
np.random.seed(0)
x = nn.Variable.from_numpy_array(np.random.randn(8, 3).astype(np.float32))
t = nn.Variable.from_numpy_array(np.random.randn(8, 1).astype(np.float32))
with nn.parameter_scope("fc1"):
    h = F.tanh(PF.affine(x, 4))
with nn.parameter_scope("fc2"):
    y = PF.affine(h, 1)
loss = F.mean(F.squared_error(y, t))
loss.forward()
loss.backward()
nnabla_nb.params()""",
    """\
solver = S.Sgd(0.05)
solver.set_parameters(nn.get_parameters())
for i in (p := nnabla_nb.progress(range(30))):
    loss.forward()
    solver.zero_grad()
    loss.backward()
    solver.update()
    p.log(loss=loss.d)
    time.sleep(0.1)  # a slow step (~3 s in all): the test watches the widget move while the cell runs""",
]

LARGE = [
    """\
import nnabla as nn
import nnabla.functions as F
import nnabla.parametric_functions as PF
import nnabla_nb

nn.clear_parameters()
h = nn.Variable((1, 8))
for b in range(10):
    with nn.parameter_scope(f"block{b}"):
        for i in range(50):
            with nn.parameter_scope(f"layer{i}"):
                h = F.relu(PF.affine(h, 8))   # 10 x 50 x (Affine + ReLU) = 1,000 functions
# default options: the kit folds and caps its static picture, yet the whole graph goes to the browser,
# which folds and unfolds scopes itself
nnabla_nb.graph(h)""",
]


def write(path: Path, sources: list) -> None:
    nb = new_notebook(cells=[new_code_cell(s) for s in sources], metadata=KERNEL)
    nbformat.write(nb, path)


def write_static(path: Path) -> None:
    """A saved graph output holding only the static forms (what a frontend without the extension shows),
    unsigned, so JupyterLab sanitizes its HTML: the picture must survive as a data-URI <img>."""
    namespace: dict = {}
    exec(SMALL[0].rsplit("\n", 1)[0], namespace)  # the small network, without its display line
    bundle = namespace["nnabla_nb"].graph(namespace["loss"], values=True, grads=True)._repr_mimebundle_()
    data = {k: bundle[k] for k in ("text/html", "text/plain")}
    cell = new_code_cell("# the kit's HTML form alone", outputs=[new_output("display_data", data=data)])
    nbformat.write(new_notebook(cells=[cell], metadata=KERNEL), path)


MIME = "application/vnd.nnabla.graph+json"
# markup that would run if any renderer parsed names as HTML: it sets window.__injected
HOSTILE = '<img src=x onerror="window.__injected=1"><script>window.__injected=1</script>'


def _hostile_document(good: dict, change) -> dict:
    import copy

    doc = copy.deepcopy(good)
    for node in doc["nodes"]:
        node["name"] = node["label"] = HOSTILE
    doc["scopes"] = [dict(s, name=HOSTILE) for s in doc["scopes"]]
    change(doc)
    return doc


def write_hostile(path: Path) -> None:
    """Saved graph outputs of an untrusted notebook as someone hostile could write them: markup in every name,
    and broken documents (a dangling edge, a newer version, a cycle), then a well-formed document with the same
    names and the kit's own small graph. The renderer shows an error for each broken one, the names as text."""
    namespace: dict = {}
    exec(SMALL[0].rsplit("\n", 1)[0], namespace)
    good = namespace["nnabla_nb"].graph(namespace["loss"], values=True, grads=True)._repr_mimebundle_()[MIME]
    broken = {
        "dangling edge": lambda d: d["edges"].append({"source": HOSTILE[:60], "target": d["root"]}),
        "newer version": lambda d: d.update(version=99),
        "cycle": lambda d: d["edges"].append({"source": d["root"], "target": d["nodes"][0]["id"]}),
        "well-formed": lambda d: None,
    }
    cells = []
    for what, change in broken.items():
        data = {MIME: _hostile_document(good, change), "text/plain": f"a hostile graph document: {what}"}
        cells.append(new_code_cell(f"# {what}", outputs=[new_output("display_data", data=data)]))
    data = {MIME: good, "text/plain": "the kit's small graph"}
    cells.append(new_code_cell("# a good graph after them", outputs=[new_output("display_data", data=data)]))
    nbformat.write(new_notebook(cells=cells, metadata=KERNEL), path)


LESSON = Path(__file__).resolve().parents[3] / "tutorials" / "visualization.ipynb"


def write_lesson(path: Path) -> None:
    """The visualization lesson as a student opens it: its stored outputs cleared, to be run in the browser."""
    nb = nbformat.read(LESSON, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)


if __name__ == "__main__":
    root = Path(sys.argv[1])
    write(root / "graph_small.ipynb", SMALL)
    write(root / "graph_large.ipynb", LARGE)
    write(root / "widgets.ipynb", WIDGETS)
    write_static(root / "graph_static.ipynb")
    write_hostile(root / "graph_hostile.ipynb")
    write_lesson(root / "visualization.ipynb")
