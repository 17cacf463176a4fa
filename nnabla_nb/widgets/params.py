"""``nnabla_nb.params``: the parameter scopes as an expandable tree; a selected parameter shows its values and
gradient (heatmap for 1-D/2-D, histogram above) with statistics. Widget with a refresh button where a widget
frontend exists; nested ``<details>`` HTML (and an indented text tree) everywhere else."""

from __future__ import annotations

from collections import OrderedDict

import ipywidgets
import numpy as np
import traitlets

import nnabla as nn

from ..display import BOX, MUTED, _stats_cells, _table, picture_html
from ..errors import ArgumentError, check_bool, check_type, usage
from ..graph import array_stats, read_data, read_grad
from ..render.common import num, shape
from ..render.escape import escape, printable
from .frontend import Static, use_widget


def scoped_parameters(scope: str | None = None) -> OrderedDict:
    """``nn.get_parameters(grad_only=False)`` under ``scope`` (filtered by name: no scope is created)."""
    allp = nn.get_parameters(grad_only=False)
    scope = (scope or "").strip("/")
    if not scope:
        return allp
    return OrderedDict((k, v) for k, v in allp.items() if k == scope or k.startswith(scope + "/"))


def scope_tree(names) -> dict:
    """Nested dict of scopes: {"fc1": {"affine": {"W": "fc1/affine/W", ...}}}; leaves hold full names."""
    root: dict = {}
    for name in names:
        node = root
        parts = name.split("/")
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = name
    return root


def _count(tree: dict) -> int:
    return sum(_count(v) if isinstance(v, dict) else 1 for v in tree.values())


def _summary(v) -> str:
    s = array_stats(read_data(v))
    return f"{shape(v.shape)} mean {num(s.mean)} std {num(s.std)}" + ("" if v.need_grad else " fixed")


def as_of() -> str:
    """When values are read, in the notebook's terms: "as of In [12]" while cell 12 runs, "read after In [12]"
    when a widget reads them later (a click, a refresh), as the values may have changed since its cell ran."""
    try:
        from IPython import get_ipython
    except ImportError:
        return ""
    ip = get_ipython()
    if ip is None or not hasattr(ip, "execution_count"):
        return ""
    try:
        running = (ip.kernel.get_parent("shell") or {}).get("header", {}).get("msg_type") == "execute_request"
    except Exception:  # a shell without a kernel: a cell is running when anything runs
        running = True
    cell = ip.execution_count - 1  # IPython counts the running cell before it runs
    return f"as of In [{cell}]" if running else f"read after In [{cell}]"


def detail_html(name: str, v, when: str = "") -> str:
    """One parameter: statistics of data and gradient, and a picture of each; ``when`` says when they were read."""
    data, grad = read_data(v), read_grad(v)
    gstats = array_stats(grad) if v.need_grad else None
    stats = _table(
        ["", "min", "mean", "max", "std", "NaN", "Inf"],
        [["data", *_stats_cells(array_stats(data))], ["grad", *_stats_cells(gstats)]],
    )
    note = f' <span style="{MUTED}">values {escape(when)}</span>' if when else ""
    pics = []
    for label, a in (("data", data), ("grad", grad if v.need_grad else None)):
        if a is None:
            continue
        pics.append(f"<div><div>{label}</div>{picture_html(a, alt=label)}</div>")
    return (
        f'<div style="{BOX}"><div><b>{escape(name)}</b> &nbsp; {escape(shape(v.shape))} '
        f"{escape(np.dtype(v.data.dtype).name)} need_grad={escape(v.need_grad)}{note}</div>{stats}"
        f'<div style="display:flex;gap:16px">{"".join(pics)}</div></div>'
    )


def tree_text(params: OrderedDict) -> str:
    total = sum(int(np.prod(v.shape, dtype=np.int64)) for v in params.values())
    lines = [f"{len(params)} parameters, {total} values"]

    def walk(tree: dict, depth: int) -> None:
        for key, child in tree.items():
            if isinstance(child, dict):
                lines.append("  " * depth + printable(key) + "/")
                walk(child, depth + 1)
            else:
                lines.append("  " * depth + f"{printable(key)} {_summary(params[child])}")

    walk(scope_tree(params), 1)
    return "\n".join(lines)


def tree_html(params: OrderedDict) -> str:
    """Nested ``<details>``: one per scope, one per parameter (opening it shows ``detail_html``)."""

    def walk(tree: dict) -> str:
        parts = []
        for key, child in tree.items():
            if isinstance(child, dict):
                parts.append(
                    f'<details><summary style="cursor:pointer"><b>{escape(key)}</b>/ '
                    f'<span style="{MUTED}">{_count(child)} parameters</span></summary>'
                    f'<div style="margin-left:16px">{walk(child)}</div></details>'
                )
            else:
                v = params[child]
                parts.append(
                    f'<details><summary style="cursor:pointer">{escape(key)} '
                    f'<span style="{MUTED}">{escape(_summary(v))}</span></summary>{detail_html(child, v)}</details>'
                )
        return "".join(parts)

    total = sum(int(np.prod(v.shape, dtype=np.int64)) for v in params.values())
    head = f"<div><b>{len(params)} parameters</b>, {total} values</div>"
    return f'<div style="{BOX}">{head}{walk(scope_tree(params))}</div>'


def params_static(scope: str | None = None) -> Static:
    params = scoped_parameters(scope)
    if not params:
        where = f" under {scope!r}" if scope else ""
        return Static(f"no parameters{where}", f'<div style="{BOX}">no parameters{escape(where)}</div>')
    return Static(tree_text(params), tree_html(params))


class ParamsTree(ipywidgets.VBox):
    """Parameter scopes as nested accordions; clicking a parameter shows its values and gradient."""

    scope = traitlets.Unicode("", help="show only parameters under this scope ('' for all)").tag(sync=False)
    selected = traitlets.Unicode(None, allow_none=True, help="full name of the parameter shown").tag(sync=False)
    names = traitlets.List(traitlets.Unicode(), help="parameter names in the tree (read after refresh)").tag(sync=False)

    def __init__(self, scope: str | None = None, **kwargs):
        self._refresh_button = ipywidgets.Button(description="refresh", icon="refresh", layout={"width": "100px"})
        self._refresh_button.on_click(lambda _: self.refresh())
        self._tree_box = ipywidgets.VBox(layout={"min_width": "260px"})
        self._detail = ipywidgets.HTML()
        self._buttons: dict = {}
        self._params: OrderedDict = OrderedDict()
        self._ready = False
        super().__init__(
            children=(self._refresh_button, ipywidgets.HBox((self._tree_box, self._detail))),
            scope=(scope or "").strip("/"),
            **kwargs,
        )
        self._ready = True
        self.refresh()

    @traitlets.validate("selected")
    def _valid_selected(self, proposal):
        name = proposal["value"]
        if name is not None and name not in self._params:
            raise traitlets.TraitError(f"no parameter {name!r} under scope {self.scope!r}")
        return name

    @traitlets.observe("selected")
    def _show_selected(self, change=None):
        name = self.selected
        self._detail.value = detail_html(name, self._params[name], as_of()) if name else ""
        for key, b in self._buttons.items():
            b.button_style = "info" if key == name else ""

    @traitlets.observe("scope")
    def _scope_changed(self, change):
        if self._ready:
            self.refresh()

    def select(self, name: str) -> None:
        """Show parameter ``name`` (as clicking it does)."""
        if name not in self._params:
            known = ", ".join(list(self._params)[:5]) + (", ..." if len(self._params) > 5 else "")
            where = f" under scope {self.scope!r}" if self.scope else ""
            raise ArgumentError(
                f"ParamsTree.select: no parameter {name!r}{where} (there are: {known or 'none'})",
                "usage: tree.select(name)  e.g. tree.select('fc1/affine/W')",
            )
        self.selected = name

    def refresh(self) -> None:
        """Re-read the parameters (new ones appear, removed ones go) and the selected one's values."""
        self._params = scoped_parameters(self.scope)
        names = list(self._params)
        if names != self.names:
            self._buttons = {}
            self._tree_box.children = tuple(self._build(scope_tree(self._params)))
            self.names = names
        if self.selected is None or self.selected not in self._params:
            self.selected = names[0] if names else None
        else:
            self._show_selected()

    def _build(self, tree: dict) -> list:
        items = []
        for key, child in tree.items():
            if isinstance(child, dict):
                title = f"{key}/  ({_count(child)} parameters)"
                acc = ipywidgets.Accordion(children=(ipywidgets.VBox(self._build(child)),), titles=(title,))
                items.append(acc)
            else:
                b = ipywidgets.Button(
                    description=f"{key} {shape(self._params[child].shape)}",
                    tooltip=child,
                    layout={"width": "auto"},
                )
                b.on_click(lambda _, name=child: self.select(name))
                self._buttons[child] = b
                items.append(b)
        return items

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        static = params_static(self.scope)
        bundle["text/plain"], bundle["text/html"] = static.text, static.html
        return bundle


def params(scope: str | None = None, widget: bool | None = None):
    """The parameters under ``scope`` as an expandable tree (a ``ParamsTree`` widget, or static HTML when no
    widget frontend is there; ``widget`` forces either)."""
    check_type("nnabla_nb.params", "scope", scope, str, "a scope name", usage(params), none=True)
    check_bool("nnabla_nb.params", "widget", widget, usage(params), none=True)
    if use_widget(widget):
        return ParamsTree(scope)
    return params_static(scope)
