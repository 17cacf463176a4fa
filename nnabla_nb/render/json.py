"""GraphModel -> the ``application/vnd.nnabla.graph+json`` document (schema: GRAPH_SCHEMA.md)."""

from __future__ import annotations

import json as _json
import math

from ..graph import GraphModel, Node

MIME_TYPE = "application/vnd.nnabla.graph+json"
SCHEMA_VERSION = 1


def _number(x: float):
    """JSON has no NaN/Inf: those become the strings 'nan', 'inf', '-inf'."""
    if math.isfinite(x):
        return x
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def _stats(s) -> dict | None:
    if s is None:
        return None
    d = s.as_dict()
    return {k: (_number(v) if isinstance(v, float) else v) for k, v in d.items()}


def node_json(n: Node) -> dict:
    out = {
        "id": n.id,
        "kind": n.kind,
        "label": n.label,
        "name": n.name,
        "shape": list(n.shape) if n.shape is not None else None,
        "dtype": n.dtype,
        "scope": n.scope,
        "type": n.type,
        "args": n.args,
        "need_grad": n.need_grad,
        "stats": None,
        "grad_flags": list(n.grad_flags),
    }
    if n.data_stats is not None or n.grad_stats is not None:
        out["stats"] = {"data": _stats(n.data_stats), "grad": _stats(n.grad_stats)}
    if n.heatmap is not None:
        out["heatmap"] = n.heatmap
    if n.highlight is not None:
        out["highlight"] = n.highlight
    if n.grad_given:
        out["grad_given"] = True
    if n.python_name:
        out["python_name"] = n.python_name
    if n.kind in ("group", "truncated"):
        out["members"] = n.members
    return out


def to_json(model: GraphModel, static_view: dict | None = None) -> dict:
    """The graph document as a JSON-ready dict (what a MIME bundle carries).

    ``static_view`` (``GraphView`` passes it) describes the bundle's static forms: ``collapsed`` scopes,
    ``max_nodes`` and how many nodes they leave out (``hidden``).
    """
    doc = {
        "version": SCHEMA_VERSION,
        "root": model.root,
        "nodes": [node_json(n) for n in model.nodes],
        "edges": [{"source": e.source, "target": e.target} for e in model.edges],
        "scopes": [{"name": name, "nodes": list(ids)} for name, ids in model.scopes.items()],
        "options": {"values": model.values, "grads": model.grads},
        "hidden": model.hidden,
    }
    if static_view is not None:
        doc["static_view"] = static_view
    cards = function_cards(model)
    if cards:
        doc["cards"] = cards
    return doc


def function_cards(model: GraphModel) -> dict:
    """Type name -> card (``nnabla_nb.cards``) of each function type in ``model``: one per type, not per node."""
    from ..cards import CARDS
    from ..explain import card_json

    types = sorted({n.type for n in model.nodes if n.kind == "function" and n.type in CARDS})
    return {t: card_json(t) for t in types}


def dumps(model: GraphModel) -> str:
    return _json.dumps(to_json(model), sort_keys=True, ensure_ascii=True, allow_nan=False)
