"""A computation graph as plain data: Variable -> GraphModel (nodes, edges, scopes, optional statistics).

The model is built from the engine's public graph API only (``v.parent``, ``f.inputs``, ``f.outputs``,
``f.info``, ``v.visit``, ``nn.get_parameters``). Node ids are assigned in traversal order ("n0", "n1", ...),
never from ``id()``, so the same graph always gives the same model and the same drawings. The walk uses
``Variable.visit`` (iterative), so a 10,000-function chain is fine.

Renderers (``nnabla_nb.render``) turn a model into text, JSON, DOT/SVG and HTML; they never touch the engine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

import nnabla as nn

EXPLODING_GRAD = 1e3  # |grad| above this is flagged as exploding
PREVIEW_PARAMETERS = 200  # up to this many parameters, each carries its values for a details view unasked


@dataclass(frozen=True)
class Stats:
    """Summary of one array: min/mean/max/std over the finite values, and NaN/Inf counts."""

    min: float
    mean: float
    max: float
    std: float
    nan: int
    inf: int
    size: int

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("min", "mean", "max", "std", "nan", "inf", "size")}


def array_stats(a: np.ndarray) -> Stats:
    """``Stats`` of ``a`` (computed in float64; all-NaN/Inf arrays give NaN moments)."""
    a = np.asarray(a)
    if a.dtype.kind not in "fc":
        a = a.astype(np.float64)
    nan = int(np.isnan(a).sum())
    inf = int(np.isinf(a).sum())
    finite = a[np.isfinite(a)] if (nan or inf) else a
    if finite.size == 0:
        m = float("nan")
        return Stats(m, m, m, m, nan, inf, int(a.size))
    f = finite.astype(np.float64, copy=False)
    return Stats(float(f.min()), float(f.mean()), float(f.max()), float(f.std()), nan, inf, int(a.size))


def read_data(v) -> np.ndarray:
    """The values of a Variable or NdArray without side effects on the engine (a read-only array).

    ``get_data('r')``: nothing counts as written, and data on a GPU is copied to the host once per call while it
    stays on the device (``v.d`` would move it to the host, and the next step would copy it back).
    """
    values = (v if isinstance(v, nn.NdArray) else v.data).get_data("r").view()
    values.flags.writeable = False  # a view of the buffer itself when the data is on the host
    return values


def read_grad(v) -> np.ndarray:
    """``v.g`` without side effects on the engine.

    A gradient that ``solver.zero_grad()`` zeroed lazily reads as zeros here without being materialized:
    materializing it (as ``v.g`` does) would mark it as written, and ``solver.update()`` would then update a
    parameter that received no gradient. The result may share memory with the gradient: copy to keep it.
    """
    nd = v.grad
    if nd.zeroing:
        return np.zeros(nd.shape, nd.dtype)
    return read_data(nd)


def grad_flags(s: Stats, exploding: float = EXPLODING_GRAD) -> tuple:
    """Warnings read from gradient statistics: 'nan', 'inf', 'zero' (all exactly zero), 'exploding'.

    For a gradient computed by backward. An output's gradient is never computed: see ``output_grad``.
    """
    flags = []
    if s.nan:
        flags.append("nan")
    if s.inf:
        flags.append("inf")
    if s.size and not s.nan and not s.inf and s.min == 0.0 and s.max == 0.0:
        flags.append("zero")
    if not math.isnan(s.max) and max(abs(s.min), abs(s.max)) > exploding:
        flags.append("exploding")
    return tuple(flags)


GIVEN_GRAD_FLAGS = ("nan", "inf")  # the only flags an output's (user-given) gradient can carry


def output_grad(g: np.ndarray) -> tuple:
    """``(stats, flags)`` to show for the stored gradient of an output: a variable nothing in the graph consumes.

    Backward never computes such a gradient: ``y.backward(grad)`` uses ``grad`` for that pass only (``y``'s own
    gradient is left as it was), and an unused output of a function gets zeros ("counts as zero"). So what an
    output holds is either nothing (it reads as zeros) or what the user put there (``y.g = ...``,
    ``y.grad.fill(...)``, the seed of ``y.backward(grad=None)``). Rule: an all-zero gradient is not shown at all
    (``(None, ())``: the public API cannot tell it from one never written); any other is shown as given, with
    the flags 'nan' and 'inf' only, never 'zero', 'vanishing' or 'exploding', which judge how backward
    propagated a gradient.
    """
    s = array_stats(g)
    if s.size == 0 or (not s.nan and not s.inf and s.min == 0.0 and s.max == 0.0):
        return None, ()
    return s, tuple(f for f in grad_flags(s) if f in GIVEN_GRAD_FLAGS)


@dataclass(frozen=True)
class Node:
    """One node of the drawing.

    ``kind`` is 'variable', 'parameter', 'function'; views add 'group' (a collapsed scope) and
    'truncated' (the nodes left out by ``max_nodes``).
    """

    id: str
    kind: str
    label: str
    shape: tuple | None = None
    dtype: str | None = None
    scope: str = ""
    type: str | None = None
    args: dict = field(default_factory=dict)
    name: str = ""
    need_grad: bool = False
    data_stats: Stats | None = None
    grad_stats: Stats | None = None
    grad_flags: tuple = ()
    heatmap: str | None = None  # PNG data-URI of small 1-D/2-D parameter values
    members: int = 0  # group / truncated: how many nodes it stands for
    highlight: str | None = None  # backward_steps: 'current' (the function of this step) or 'reached' (has a grad)
    grad_given: bool = False  # grad_stats is an output's gradient set by the user, not computed (``output_grad``)
    python_name: str = ""  # the name the notebook bound this Variable to (``x``, ``loss``), see ``namespace_names``


@dataclass(frozen=True)
class Edge:
    source: str
    target: str


@dataclass
class GraphModel:
    """Nodes in traversal order, edges (data flow), and parameter scopes (scope name -> node ids)."""

    nodes: list
    edges: list
    scopes: dict
    root: str
    values: bool = False
    grads: bool = False
    hidden: int = 0  # nodes left out of this view by max_nodes
    totals: dict = field(default_factory=dict)  # kind -> count in the whole graph (views keep the full counts)

    def node(self, node_id: str) -> Node:
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(node_id)

    def count(self, kind: str) -> int:
        return sum(1 for n in self.nodes if n.kind == kind)

    def total(self, kind: str) -> int:
        """How many nodes of ``kind`` the whole graph has, also in a collapsed or capped view."""
        return self.totals.get(kind, self.count(kind)) if self.totals else self.count(kind)

    def display_name(self, node_id: str) -> str:
        """What a student calls a node: its Python name, parameter name, Variable.name, else a short description
        with the generated id ("Tanh output n7")."""
        n = self.node(node_id)
        if n.python_name:
            return n.python_name
        if n.kind == "function":
            return f"{n.type or n.label} {n.id}"
        if n.name:
            return n.name
        if n.id == self.root:
            return "output"
        producer = next((e.source for e in self.edges if e.target == node_id), None)
        if producer is not None:
            return f"{self.node(producer).type} output {n.id}"
        return f"input {n.id}"

    def view(self, collapse_scopes: bool | int = False, max_nodes: int | None = None) -> GraphModel:
        """The model as drawn: scopes collapsed into group nodes, then capped at ``max_nodes``."""
        model = self
        threshold = _collapse_threshold(collapse_scopes)
        if threshold is not None:
            model = _collapse(model, threshold)
        if max_nodes is not None and len(model.nodes) > max_nodes:
            model = _truncate(model, max_nodes)
        return model

    def collapsed_scopes(self, collapse_scopes: bool | int = False) -> list:
        """The scopes that ``view(collapse_scopes=...)`` folds into group nodes, in first-seen order."""
        threshold = _collapse_threshold(collapse_scopes)
        if threshold is None:
            return []
        return [scope for scope, ids in self.scopes.items() if len(ids) > threshold]


def _collapse_threshold(collapse_scopes: bool | int | None) -> int | None:
    """Scopes with more nodes than this are collapsed (True: every scope); None: none is."""
    if collapse_scopes is False or collapse_scopes is None:
        return None
    return 0 if collapse_scopes is True else int(collapse_scopes)


def _dtype_name(v) -> str:
    return np.dtype(v.data.dtype).name


def _scope_of(name: str) -> str:
    return name.rsplit("/", 1)[0] if "/" in name else ""


def _args(info_args: dict) -> dict:
    """Function arguments as JSON-friendly plain values (tuples -> lists, numpy scalars -> Python)."""
    out = {}
    for k, v in info_args.items():
        out[str(k)] = _plain(v)
    return out


def _plain(v):
    if isinstance(v, (bool, int, str)) or v is None:
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else repr(v)
    if isinstance(v, np.generic):
        return _plain(v.item())
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    return repr(v)


def namespace_names(namespace: dict | None = None) -> dict:
    """``id(Variable) -> name`` for the Variables bound to names in ``namespace`` (default: the running IPython's
    user namespace; none outside IPython). Names starting with ``_`` (IPython's output history ``_5``, ``__``)
    are skipped; when one Variable has several names the first bound wins."""
    if namespace is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return {}
        ip = get_ipython()
        if ip is None:
            return {}
        namespace = ip.user_ns
    out: dict = {}
    for name, v in list(namespace.items()):
        if isinstance(v, nn.Variable) and not name.startswith("_") and id(v) not in out:
            out[id(v)] = name
    return out


def build(
    root,
    values: bool = False,
    grads: bool = False,
    params=None,
    exploding: float = EXPLODING_GRAD,
    heatmaps: bool = True,
    ids: dict | None = None,
    names: dict | None = None,
) -> GraphModel:
    """The graph leading to Variable ``root`` as a GraphModel.

    ``params`` (default ``nn.get_parameters(grad_only=False)``) names parameters; they are recognized by
    identity. ``values``/``grads`` add statistics of data/gradients (read with ``read_data`` and ``read_grad``) to
    every node; parameters (up to ``PREVIEW_PARAMETERS`` of them) always carry their data statistics and
    heatmap for a details view, drawn on the node only with ``values``. ``names`` (``id(Variable) -> Python
    name``, see ``namespace_names``) gives nodes the names the notebook uses. ``ids``, when given, is filled
    with ``id(variable or function) -> node id`` (valid while the graph lives). Outputs (variables no function
    of the graph consumes: the root, unused outputs) follow ``output_grad``.
    """
    from .errors import check_parameters, check_variable, usage

    check_variable("nnabla_nb.build", "root", root, usage(build))
    check_parameters("nnabla_nb.build", "params", params, usage(build))
    if params is None:
        params = nn.get_parameters(grad_only=False)
    names = names or {}
    param_names = {id(v): name for name, v in params.items()}
    functions = []
    root.visit(functions.append)
    consumed = {id(x) for f in functions for x in f.inputs}

    # id() is used only as a lookup key during this walk; node ids come from traversal order.
    index: dict = {}
    keep = []  # hold objects so their id() cannot be reused mid-walk
    nodes: list = []
    edges: list = []
    scopes: dict = {}

    def variable_node(v) -> str:
        key = id(v)
        if key in index:
            return index[key]
        keep.append(v)
        nid = f"n{len(nodes)}"
        index[key] = nid
        pname = param_names.get(key)
        kind = "parameter" if pname is not None else "variable"
        scope = _scope_of(pname) if pname else ""
        python_name = names.get(key, "")
        label = python_name or (pname.rsplit("/", 1)[-1] if pname else (v.name or ""))
        data_stats = grad_stats = None
        flags: tuple = ()
        given = False
        heatmap = None
        if values or (kind == "parameter" and len(param_names) <= PREVIEW_PARAMETERS):
            data = read_data(v)
            data_stats = array_stats(data)
            if heatmaps and kind == "parameter" and data.ndim in (1, 2):
                from .render.png import heatmap_data_uri

                heatmap = heatmap_data_uri(data, max_side=48)
        if grads and v.need_grad:
            if key in consumed:
                grad_stats = array_stats(read_grad(v))
                flags = grad_flags(grad_stats, exploding)
            else:
                grad_stats, flags = output_grad(read_grad(v))
                given = grad_stats is not None
        nodes.append(
            Node(
                id=nid,
                kind=kind,
                label=label,
                shape=tuple(int(s) for s in v.shape),
                dtype=_dtype_name(v),
                scope=scope,
                name=pname or v.name or "",
                need_grad=bool(v.need_grad),
                data_stats=data_stats,
                grad_stats=grad_stats,
                grad_flags=flags,
                heatmap=heatmap,
                grad_given=given,
                python_name=python_name,
            )
        )
        if scope:
            scopes.setdefault(scope, []).append(nid)
        return nid

    for f in functions:
        in_ids = [variable_node(x) for x in f.inputs]
        pscopes = {_node_scope(nodes, i) for i in in_ids} - {""}
        fscope = pscopes.pop() if len(pscopes) == 1 else ""
        fid = f"n{len(nodes)}"
        keep.append(f)
        index[id(f)] = fid
        info = f.info
        nodes.append(
            Node(
                id=fid,
                kind="function",
                label=info.type_name,
                type=info.type_name,
                args=_args(info.args),
                scope=fscope,
                name=str(getattr(f, "name", info.type_name)),
            )
        )
        if fscope:
            scopes.setdefault(fscope, []).append(fid)
        for i in in_ids:
            edges.append(Edge(i, fid))
        for o in f.outputs:
            if o is not None:
                edges.append(Edge(fid, variable_node(o)))
    root_id = variable_node(root)
    if ids is not None:
        ids.update(index)
    totals: dict = {}
    for n in nodes:
        totals[n.kind] = totals.get(n.kind, 0) + 1
    return GraphModel(nodes=nodes, edges=edges, scopes=scopes, root=root_id, values=values, grads=grads, totals=totals)


def _node_scope(nodes: list, node_id: str) -> str:
    n = nodes[int(node_id[1:])]
    return n.scope if n.kind == "parameter" else ""


def _collapse(model: GraphModel, threshold: int) -> GraphModel:
    """Replace each scope holding more than ``threshold`` nodes by one 'group' node."""
    by_id = {n.id: n for n in model.nodes}
    group_of = {}
    nodes = []
    scopes = {}
    seen_groups = {}
    for n in model.nodes:
        members = model.scopes.get(n.scope) if n.scope else None
        if members is not None and len(members) > threshold:
            gid = seen_groups.get(n.scope)
            if gid is None:
                gid = seen_groups[n.scope] = f"g{len(seen_groups)}"
                types = [by_id[m].type for m in members if by_id[m].kind == "function"]
                label = n.scope.rsplit("/", 1)[-1]
                nodes.append(
                    Node(
                        id=gid,
                        kind="group",
                        label=label,
                        scope=n.scope,
                        type=", ".join(types) or None,
                        name=n.scope,
                        members=len(members),
                    )
                )
            group_of[n.id] = gid
        else:
            nodes.append(n)
            if n.scope:
                scopes.setdefault(n.scope, []).append(n.id)
    edges = []
    seen = set()
    for e in model.edges:
        s, t = group_of.get(e.source, e.source), group_of.get(e.target, e.target)
        if s != t and (s, t) not in seen:
            seen.add((s, t))
            edges.append(Edge(s, t))
    return replace(model, nodes=nodes, edges=edges, scopes=scopes, root=group_of.get(model.root, model.root))


def _truncate(model: GraphModel, max_nodes: int) -> GraphModel:
    """Keep the ``max_nodes - 1`` nodes nearest the root (walking edges backwards) and one 'truncated' node."""
    budget = max(1, max_nodes - 1)
    preds: dict = {}
    for e in model.edges:
        preds.setdefault(e.target, []).append(e.source)
    kept = {model.root}
    frontier = [model.root]
    full = False
    while frontier and not full:
        nxt = []
        for nid in frontier:
            new = [p for p in dict.fromkeys(preds.get(nid, ())) if p not in kept]
            if len(kept) + len(new) > budget:  # keep a function's inputs together, or none of them
                full = True
                break
            kept.update(new)
            nxt.extend(new)
        frontier = nxt
    hidden = len(model.nodes) - len(kept)
    nodes = [n for n in model.nodes if n.id in kept]
    tid = "t0"
    nodes.insert(0, Node(id=tid, kind="truncated", label=f"{hidden} more nodes", members=hidden))
    edges = []
    into = set()
    for e in model.edges:
        if e.source in kept and e.target in kept:
            edges.append(e)
        elif e.target in kept and e.target not in into:
            into.add(e.target)
            edges.append(Edge(tid, e.target))
    scopes = {}
    for n in nodes:
        if n.scope and n.kind != "group":
            scopes.setdefault(n.scope, []).append(n.id)
    return replace(model, nodes=nodes, edges=edges, scopes=scopes, hidden=model.hidden + hidden)
