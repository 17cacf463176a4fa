"""The widgets in a real kernel (nbclient, no widget frontend): static MIME bundles, and a forced widget's
bundle carrying its static fallback next to the widget view."""

import os

import nbformat
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(scope="module")
def cells():
    from jupyter_client.kernelspec import NATIVE_KERNEL_NAME
    from nbclient import NotebookClient

    nb = nbformat.read(os.path.join(HERE, "notebooks", "kit_widgets.ipynb"), as_version=4)
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p)
    client = NotebookClient(nb, timeout=60, kernel_name=NATIVE_KERNEL_NAME, resources={"metadata": {"path": HERE}})
    client.execute()
    for cell in nb.cells:
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, errors
    return [[o for o in cell.outputs if o.output_type in ("execute_result", "display_data")] for cell in nb.cells], nb


def test_progress_leaves_placeholder_and_final_frame(cells):
    outputs, _ = cells
    live, final = outputs[1]
    assert live["data"] == {"text/plain": ""}  # the live output ends as it started: nbval and nbconvert agree
    assert final["data"]["text/plain"].startswith("[" + "#" * 30 + "] done: 300/300  in ")
    html = final["data"]["text/html"]
    # an SVG chart; the elapsed time and rate are kept (tutorials/sanitize.cfg masks them), no ETA is left
    assert "data:image/svg+xml," in html and " it/s)" in html and "ETA" not in html


def test_params_grads_backward_static_bundles(cells):
    outputs, _ = cells
    (params,) = outputs[2]
    assert params["data"]["text/plain"].startswith("4 parameters, 17 values\n  fc1/\n    affine/")
    assert params["data"]["text/html"].count("<details>") == 2 * 2 + 4
    (grads,) = outputs[3]
    assert grads["data"]["text/plain"].startswith("gradients of 4 parameters")
    assert (
        "fc1/affine/W" in grads["data"]["text/html"]
        and "histogram of fc1/affine/W gradient" in grads["data"]["text/html"]
    )
    (steps,) = outputs[4]
    assert steps["data"]["text/plain"].startswith(
        "backward in 5 steps (16 graph nodes)\n  step 0/5: the seed, grad of loss = 1"
    )
    assert steps["data"]["text/html"].count('src="data:image/svg+xml,%3Csvg ') == 6
    for out in (params, grads, steps):
        assert WIDGET_VIEW not in out["data"] and "<script" not in out["data"]["text/html"]


def test_forced_widget_keeps_a_static_form(cells):
    outputs, nb = cells
    (tree,) = outputs[5]
    assert WIDGET_VIEW in tree["data"] and "<details>" in tree["data"]["text/html"]
    assert tree["data"]["text/plain"].startswith("4 parameters")
    assert "application/vnd.jupyter.widget-state+json" in nb.metadata.get("widgets", {})


def test_grads_follow_ends_static(cells):
    outputs, _ = cells
    live, final = outputs[6]
    assert live["data"] == {"text/plain": ""}
    assert final["data"]["text/plain"].startswith("gradients of 4 parameters")


def test_widget_mode_follows_the_frontend():
    """A kernel switches to widgets once a frontend opens the ipywidgets control comm (as JupyterLab does)."""
    import uuid

    from jupyter_client.kernelspec import NATIVE_KERNEL_NAME
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name=NATIVE_KERNEL_NAME)
    try:
        seen = []

        def run(code):
            kc.execute_interactive(code, timeout=30, output_hook=lambda m: seen.append(m))

        run("import nnabla_nb; print(nnabla_nb.widgets.has_widget_frontend())")
        content = {"comm_id": uuid.uuid4().hex, "target_name": "jupyter.widget.control", "data": {}}
        kc.shell_channel.send(kc.session.msg("comm_open", content, metadata={"version": "1.0.0"}))
        seen.clear()
        run("print(nnabla_nb.widgets.has_widget_frontend())\nfor i in (p := nnabla_nb.progress(range(5))): p.log(x=i)")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    kinds = [m["msg_type"] for m in seen]
    assert seen[kinds.index("stream")]["content"]["text"] == "True\n"
    assert "comm_open" in kinds  # the ProgressWidget and its children
    views = [m for m in seen if m["msg_type"] == "update_display_data"]
    assert "application/vnd.jupyter.widget-view+json" in views[0]["content"]["data"]
    assert views[-1]["content"]["data"] == {"text/plain": ""}  # the widget gives way to the final static output
    final = [m for m in seen if m["msg_type"] == "display_data"][-1]["content"]["data"]
    assert final["text/plain"].startswith("[" + "#" * 30 + "] done: 5/5  in ")
