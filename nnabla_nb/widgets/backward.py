"""``nnabla_nb.backward_steps(loss)``: backward one function at a time, on the graph.

``record_backward`` runs ``loss.backward()`` once with a ``function_post_hook`` that copies the gradients each
function has just written. Leaf gradients are zeroed for that run (so a step shows this pass, not earlier
accumulation) and every gradient of the graph is put back afterwards, lazily-zeroed ones included: the engine
is left as it was found (call ``loss.forward()`` first; data is only read). Step 0 is the seed gradient of
``loss``; step k is after the k-th function's backward. Each step is drawn with the gradients that exist so far
(``highlight`` 'reached') and the function that just ran ('current').
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import ipywidgets
import numpy as np
import traitlets

from nnabla import NdArray

from ..errors import check_bool, check_parameters, check_variable, usage
from ..graph import GraphModel, array_stats, build, grad_flags, namespace_names, read_grad
from ..render import node_sizes, to_svg
from ..render.common import shape, stats_line
from ..render.escape import escape, printable
from ..render.html import svg_img
from .frontend import Static, use_widget

BOX = "font-family:monospace;font-size:12px;line-height:1.45"
MAX_STATIC_PICTURES = 24  # the static fallback draws every step up to this many, then only lists them


@dataclass(frozen=True)
class Step:
    """One step of backward: the function that ran (None for step 0) and the gradients it wrote."""

    function: str | None  # node id
    type: str  # function type name ('' for step 0)
    written: tuple  # ((node id, gradient copy), ...)


@dataclass
class BackwardRecord:
    model: GraphModel  # the graph without statistics
    steps: list  # Step, step 0 first
    _sizes: dict | None = None

    @property
    def sizes(self) -> dict:
        """Node sizes of the last step (every gradient shown), used by every step: one layout for all, so the
        graph does not jump while stepping."""
        if self._sizes is None:
            self._sizes = node_sizes(self.model_at(len(self.steps) - 1))
        return self._sizes

    def svg_at(self, k: int) -> str:
        return to_svg(self.model_at(k), self.sizes)

    def grads_at(self, k: int) -> dict:
        """Node id -> gradient after step ``k`` (a later write of the same variable wins)."""
        out = {}
        for step in self.steps[: k + 1]:
            for nid, g in step.written:
                out[nid] = g
        return out

    def model_at(self, k: int) -> GraphModel:
        """The graph as drawn at step ``k``: gradient statistics where a gradient exists, highlights."""
        grads = self.grads_at(k)
        current = self.steps[k].function
        nodes = []
        for n in self.model.nodes:
            if n.id in grads:
                s = array_stats(grads[n.id])
                n = replace(n, grad_stats=s, grad_flags=grad_flags(s), highlight="reached")
            elif n.id == current:
                n = replace(n, highlight="current")
            nodes.append(n)
        return replace(self.model, nodes=nodes, grads=True)


def record_backward(loss, params=None, names: dict | None = None) -> BackwardRecord:
    """Run ``loss.backward()`` once, recording each function's gradients, and restore every gradient after.
    ``names``: ``id(Variable) -> Python name`` (default: the running notebook's, ``graph.namespace_names``)."""
    ids: dict = {}
    model = build(loss, params=params, ids=ids, names=namespace_names() if names is None else names)
    functions: list = []
    loss.visit(functions.append)
    variables: dict = {id(loss): loss}
    for f in functions:
        for v in list(f.inputs) + [o for o in f.outputs if o is not None]:
            variables.setdefault(id(v), v)
    saved = []
    for v in variables.values():
        nd = v.grad
        saved.append((v, nd.zeroing, None if nd.zeroing else np.array(nd.data, copy=True)))
    steps = [Step(None, "", ((ids[id(loss)], np.ones(loss.shape, np.float32)),))]

    def after(f):
        written = tuple((ids[id(x)], np.array(read_grad(x), copy=True)) for x in f.inputs if x.need_grad)
        steps.append(Step(ids.get(id(f)), f.info.type_name, written))

    try:
        for v in variables.values():
            if v.need_grad and v.parent is None:
                v.grad.zero()
        loss.backward(function_post_hook=after)
    finally:
        for v, was_zeroing, values in saved:
            nd = v.grad
            if was_zeroing:
                nd.zero()
                continue
            current = nd.data
            if current.flags.writeable and current.dtype == values.dtype and current.shape == values.shape:
                current[...] = values  # in place: a solver may hold this buffer
            else:  # e.g. a read-only broadcast that backward left on an intermediate
                v.grad = NdArray.from_numpy_array(values)
    return BackwardRecord(model, steps)


def step_caption(record: BackwardRecord, k: int) -> str:
    step = record.steps[k]
    last = len(record.steps) - 1
    if step.function is None:
        head = f"step 0/{last}: the seed, grad of {_name(record, record.model.root)} = 1"
    else:
        head = f"step {k}/{last}: {step.type} backward ({_function_name(record, step.function)})"
    lines = [head]
    for nid, g in step.written:
        lines.append(f"  grad {_name(record, nid)} {shape(g.shape)}: {stats_line(array_stats(g))}")
    return "\n".join(lines)


def _name(record: BackwardRecord, nid: str) -> str:
    return printable(record.model.display_name(nid))


def _function_name(record: BackwardRecord, fid: str) -> str:
    """A function by what it produces: "to loss", "to fc0/affine output n4"."""
    model = record.model
    outs = [e.target for e in model.edges if e.source == fid]
    return "gives " + ", ".join(_name(record, o) for o in outs) if outs else fid


def step_html(record: BackwardRecord, k: int, svg: str | None = None) -> str:
    svg = svg if svg is not None else record.svg_at(k)
    return (
        f'<div style="{BOX}"><pre style="margin:2px 0">{escape(step_caption(record, k))}</pre>'
        f"{svg_img(svg, f'backward step {k}')}</div>"
    )


def steps_text(record: BackwardRecord) -> str:
    last = len(record.steps) - 1
    lines = [f"backward in {last} steps ({len(record.model.nodes)} graph nodes)"]
    for k in range(len(record.steps)):
        for j, line in enumerate(step_caption(record, k).splitlines()):
            lines.append(("  " if j == 0 else "    ") + line.strip())
    return "\n".join(lines)


def steps_html(record: BackwardRecord) -> str:
    """One folded ``<details>`` per step but the last (drawn when there are at most MAX_STATIC_PICTURES steps,
    else listed), then the last step drawn open."""
    last = len(record.steps) - 1
    parts = [f"<div><b>backward in {last} steps</b> (open a step to see it)</div>"]
    draw = len(record.steps) <= MAX_STATIC_PICTURES
    for k in range(last):
        caption = step_caption(record, k).splitlines()[0]
        body = step_html(record, k) if draw else f"<pre>{escape(step_caption(record, k))}</pre>"
        parts.append(f'<details><summary style="cursor:pointer">{escape(caption)}</summary>{body}</details>')
    parts.append(step_html(record, last))
    return f'<div style="{BOX}">{"".join(parts)}</div>'


class BackwardSteps(ipywidgets.VBox):
    """A slider over the steps of backward; each step draws the graph with the gradients that exist so far."""

    step = traitlets.Int(0, help="the step shown: 0 is the seed gradient, k after the k-th function").tag(sync=False)
    steps = traitlets.Int(0, read_only=True, help="how many functions backward runs").tag(sync=False)

    def __init__(self, record: BackwardRecord, **kwargs):
        self.record = record
        self._svgs: dict = {}
        last = len(record.steps) - 1
        self._slider = ipywidgets.IntSlider(value=last, min=0, max=last, description="step", continuous_update=True)
        self._caption = ipywidgets.HTML()
        # a tall graph scrolls inside a box of most of a screen, so the slider, the caption and the graph are
        # on screen together (an output area scrolls sideways itself: a sticky header would not stick)
        self._view = ipywidgets.HTML(layout={"max_height": "70vh", "overflow": "auto"})
        super().__init__(children=(self._slider, self._caption, self._view), **kwargs)
        self.set_trait("steps", last)
        traitlets.link((self._slider, "value"), (self, "step"))
        self._show()

    @traitlets.validate("step")
    def _valid_step(self, proposal):
        k = proposal["value"]
        if not 0 <= k <= len(self.record.steps) - 1:
            raise traitlets.TraitError(f"step must be in 0..{len(self.record.steps) - 1}, got {k}")
        return k

    @traitlets.observe("step")
    def _show(self, change=None):
        k = self.step
        if k not in self._svgs:
            self._svgs[k] = self.record.svg_at(k)
        self._caption.value = f'<pre style="{BOX};margin:2px 0">{escape(step_caption(self.record, k))}</pre>'
        self._view.value = f'<div style="{BOX}">{svg_img(self._svgs[k], f"backward step {k}")}</div>'

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = steps_text(self.record)
        bundle["text/html"] = steps_html(self.record)
        return bundle


def backward_steps(loss, params=None, widget: bool | None = None):
    """Step through ``loss.backward()`` one function at a time (a slider widget, or every step as folded static
    HTML without a widget frontend). Runs backward once and restores every gradient: nothing changes."""
    use = usage(backward_steps)
    check_variable("nnabla_nb.backward_steps", "loss", loss, use)
    check_parameters("nnabla_nb.backward_steps", "params", params, use)
    check_bool("nnabla_nb.backward_steps", "widget", widget, use, none=True)
    record = record_backward(loss, params=params)
    if use_widget(widget):
        return BackwardSteps(record)
    return Static(steps_text(record), steps_html(record))
