"""``nnabla_nb.graph(y)``: a displayable picture of the graph leading to ``y``, in four forms at once.

The static forms (SVG, HTML, text) are a picture: scopes collapsed and nodes capped by ``collapse_scopes`` /
``max_nodes``, so a big network lays out in the kernel in well under a second. The JSON form is data for the
JupyterLab renderer, which folds and unfolds scopes itself: it always carries the whole graph (up to
``JSON_MAX_NODES``), with the static forms' choices alongside as ``static_view``.
"""

from __future__ import annotations

import numbers

import numpy as np

from . import graph as _graph
from . import render
from .errors import check_bool, check_int, check_parameters, check_type, check_variable, describe, fail, usage

DEFAULT_MAX_NODES = 400
AUTO_COLLAPSE_NODES = 200  # collapse_scopes="auto": graphs with more nodes than this draw each scope as one node
JSON_MAX_NODES = 20_000  # safety cap of the JSON form; beyond it the document ends in a 'truncated' node


class GraphView:
    """The graph of a Variable, shown by Jupyter as SVG-in-HTML, SVG, JSON and text (``_repr_mimebundle_``).

    ``full`` is the whole model, ``model`` the static forms' view of it (collapsed, capped) and
    ``document_model`` what the JSON form carries: ``full`` capped at ``json_max_nodes`` only.
    """

    def __init__(
        self,
        model: _graph.GraphModel,
        collapse_scopes: bool | int | str = False,
        max_nodes: int | None = None,
        json_max_nodes: int = JSON_MAX_NODES,
    ):
        use = usage(GraphView, "nnabla_nb.GraphView")
        check_type("GraphView", "model", model, _graph.GraphModel, "a GraphModel (nnabla_nb.build(y))", use)
        _check_view("GraphView", collapse_scopes, max_nodes, use)
        check_int("GraphView", "json_max_nodes", json_max_nodes, 1, use)
        self.full = model
        if collapse_scopes == "auto":
            collapse_scopes = len(model.nodes) > AUTO_COLLAPSE_NODES
        self.model = model.view(collapse_scopes=collapse_scopes, max_nodes=max_nodes)
        self.document_model = model.view(max_nodes=json_max_nodes)
        self.static_view = {
            "collapsed": model.collapsed_scopes(collapse_scopes),
            "max_nodes": max_nodes,
            "hidden": self.model.hidden,
        }

    @property
    def dot(self) -> str:
        return render.to_dot(self.model).source

    @property
    def svg(self) -> str:
        return render.to_svg(self.model)

    @property
    def json(self) -> dict:
        return render.to_json(self.document_model, static_view=self.static_view)

    @property
    def text(self) -> str:
        return render.to_text(self.model)

    @property
    def html(self) -> str:
        return render.to_html(self.model, self.svg)

    def _repr_mimebundle_(self, include=None, exclude=None):
        svg = self.svg
        return {
            "text/plain": self.text,
            "text/html": render.to_html(self.model, svg),
            "image/svg+xml": svg,
            render.MIME_TYPE: self.json,  # the whole graph: the extension folds it in the browser
        }

    def __repr__(self) -> str:
        return self.text


def graph(
    y,
    values: bool = False,
    grads: bool = False,
    collapse_scopes: bool | int | str = "auto",
    max_nodes: int | None = DEFAULT_MAX_NODES,
    params=None,
    names: dict | None = None,
) -> GraphView:
    """The graph leading to Variable ``y``.

    ``values``/``grads`` print data/gradient statistics on the nodes (and flag zero, NaN, Inf and exploding
    gradients; an output's own gradient is shown only when the user set it, see ``graph.output_grad``).
    ``collapse_scopes`` (True, or a size: scopes with more nodes than that) draws each parameter scope as one
    group node; the default "auto" does so for graphs of more than ``AUTO_COLLAPSE_NODES`` nodes, so a
    1,000-function network lays out in well under a second. ``max_nodes`` caps the drawing to the nodes nearest
    ``y``. Both shape the static forms only; the JSON form for the JupyterLab extension keeps every node.
    Nodes are named as the notebook names them (``names``: ``id(Variable) -> name``, default the Variables
    of the running IPython's namespace, see ``graph.namespace_names``).
    """
    use = usage(graph)
    check_variable("nnabla_nb.graph", "y", y, use)
    check_bool("nnabla_nb.graph", "values", values, use)
    check_bool("nnabla_nb.graph", "grads", grads, use)
    _check_view("nnabla_nb.graph", collapse_scopes, max_nodes, use)
    check_parameters("nnabla_nb.graph", "params", params, use)
    check_type("nnabla_nb.graph", "names", names, dict, "a dict of id(Variable) -> name", use, none=True)
    if names is None:
        names = _graph.namespace_names()
    model = _graph.build(y, values=values, grads=grads, params=params, names=names)
    return GraphView(model, collapse_scopes=collapse_scopes, max_nodes=max_nodes)


def _check_view(where: str, collapse_scopes, max_nodes, use: str) -> None:
    """The static picture's choices: ``collapse_scopes`` True/False/"auto"/a node count, ``max_nodes``."""
    if isinstance(collapse_scopes, str):
        if collapse_scopes != "auto":
            fail(where, f"collapse_scopes must be True, False, 'auto' or a node count, got {collapse_scopes!r}", use)
    elif not isinstance(collapse_scopes, (bool, np.bool_)):
        what = "True, False, 'auto' or a node count"
        if not isinstance(collapse_scopes, numbers.Integral):
            fail(where, f"collapse_scopes must be {what}, got {describe(collapse_scopes)}", use, type_error=True)
        check_int(where, "collapse_scopes", collapse_scopes, 0, use)
    check_int(where, "max_nodes", max_nodes, 1, use, none=True)
