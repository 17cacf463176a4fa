"""End to end: a real IPython kernel runs tests/kit/notebooks/kit_smoke.ipynb through nbclient."""

import os

import nbformat
import pytest

from nnabla_nb.render import MIME_TYPE

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


@pytest.fixture(scope="module")
def outputs():
    from nbclient import NotebookClient

    nb = nbformat.read(os.path.join(HERE, "notebooks", "kit_smoke.ipynb"), as_version=4)
    env_path = os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p)
    os.environ["PYTHONPATH"] = env_path  # the kernel is a child process: it inherits this
    from jupyter_client.kernelspec import NATIVE_KERNEL_NAME

    client = NotebookClient(nb, timeout=60, kernel_name=NATIVE_KERNEL_NAME, resources={"metadata": {"path": HERE}})
    client.execute()
    return [[o for o in cell.outputs if o.output_type in ("execute_result", "display_data")] for cell in nb.cells]


def test_graph_bundle(outputs):
    (out,) = outputs[2]
    data = out["data"]
    assert {"text/plain", "text/html", "image/svg+xml", MIME_TYPE} <= set(data)
    doc = data[MIME_TYPE]
    assert doc["version"] == 1 and doc["root"] == doc["nodes"][-1]["id"]
    kinds = {n["kind"] for n in doc["nodes"]}
    assert kinds == {"variable", "parameter", "function"}
    w = next(n for n in doc["nodes"] if n["name"] == "fc1/affine/W")
    assert w["stats"]["data"]["size"] == 6 and w["stats"]["grad"] is not None and w["heatmap"].startswith("data:")
    assert {"source", "target"} == set(doc["edges"][0])
    svg = data["image/svg+xml"]
    for label in ("Affine", "Tanh", "SquaredError", "ReduceMean", "fc1/affine", "fc2/affine"):
        assert f">{label}<" in svg
    assert "<script" not in data["text/html"] and "<svg" not in data["text/html"]


def test_variable_and_params_outputs(outputs):
    (var,) = outputs[3]
    assert var["data"]["text/plain"].startswith("Variable() float32 need_grad=True parent=ReduceMean")
    assert "data:image/png;base64," in var["data"]["text/html"]
    (params,) = outputs[4]
    assert params["data"]["text/plain"].startswith("4 parameters, 13 values")


def test_magic_outputs(outputs):
    (collapsed,) = outputs[5]
    assert "4 parameters, 2 scopes drawn collapsed" in collapsed["data"]["text/plain"]
    assert {"image/svg+xml", MIME_TYPE} <= set(collapsed["data"])
    (params,) = outputs[6]
    assert "fc1/affine/W" in params["data"]["text/plain"] and "fc2" not in params["data"]["text/plain"]
