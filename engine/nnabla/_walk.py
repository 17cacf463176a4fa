"""The graph walk: topological order, the step plans forward and backward follow, and buffer release.

Which functions a pass runs, what each reads and how each stores its gradients depend only on the graph's edges
and its need_grad/persistent flags, and each of those bumps the graph version when it changes. So a graph's walk
is planned once per version, as a list of steps (a tuple per function holding everything the pass needs), and then
replayed: step by step by ``run_forward``/``run_backward`` here (the reference, used with hooks and on a plan's
first use), or as straight-line code generated from the same steps (``_compiled``).

Gradient rules the backward plan encodes: gradients accumulate into leaves (variables without a parent); an
intermediate variable's gradient is overwritten by its first contribution of a pass and accumulated for the rest.
"""

from __future__ import annotations

import weakref

import numpy as np

from . import _state
from ._array import NdArray, get_array_module
from .function import _Shaped

_Unary = None  # _ops._base.Unary, bound when the first backward plan is made (the ops import the Variable module)
_Binary = _unbroadcast = None  # likewise, _ops._base.Binary and unbroadcast

_ndarray = np.ndarray
_wrap = NdArray._wrap

# how forward computes a function's outputs
_GENERIC = 0  # the class overrides _compute_outputs (or backward's _input_grads): call it
_ONE = 1  # Function._compute_outputs, inlined, for a function of one input
_MANY = 2  # likewise, for several inputs (or none)

# how backward computes a function's input gradients
_PLAIN = 1  # Function._input_grads, inlined
_UNARY = 2  # one input and one output, Unary.grad: backward_unary is called directly

# how backward stores an input's gradient
_SKIP = 0  # the input needs no gradient
_ACCUMULATE_LEAF = 1  # a leaf: gradients add up across passes
_OVERWRITE = 2  # an intermediate's first contribution in a pass
_ACCUMULATE = 3  # an intermediate's later contributions


# -- the walk of one graph ----------------------------------------------------------------------------
class _Walk:
    """The traversal of one graph for one graph version, with the step lists forward and backward follow."""

    __slots__ = ("version", "order", "_forward", "_backward", "runs", "recomputes")

    def __init__(self, version, order):
        self.version = version
        self.order = order
        self._forward = {}
        self._backward = None
        self.runs = {}  # the compiled plans, kept by ``_compiled``
        # some intermediate variable is marked ``recompute``: forward frees it, backward recomputes it step by step
        self.recomputes = _state.recompute_used[0] and any(
            o is not None and o._recompute for func in order for o in func.outputs
        )

    def forward_steps(self, root, clear_buffer, clear_no_need_grad) -> list:
        key = (clear_buffer is True or bool(clear_buffer), clear_no_need_grad is True or bool(clear_no_need_grad))
        steps = self._forward.get(key)
        if steps is None:
            order = self.order
            _rank_for_forward(order)
            if clear_buffer or clear_no_need_grad or self.recomputes:
                mode = "all" if clear_buffer else "no_need_grad" if clear_no_need_grad else "recompute"
                release = _release_plan(root, order, mode)
            else:
                release = [()] * len(order)
            steps = self._forward[key] = [_forward_step(func, root, free) for func, free in zip(order, release)]
        return steps

    def backward_steps(self, root) -> list:
        steps = self._backward
        if steps is None:
            steps = self._backward = _backward_plan(root, self.order, early=not self.recomputes)
        return steps


def _rank_for_forward(order) -> None:
    """NNabla re-ranks the functions a forward pass runs: 1 + the highest rank among the functions feeding
    them, so the first ones are 1 (graph building gives them 0)."""
    for func in order:
        rank = 1
        for x in func.inputs:
            p = x._parent
            if p is not None and p.rank >= rank:
                rank = p.rank + 1
        func.rank = rank


def walk(root) -> _Walk:
    """The cached traversal of the graph leading to ``root`` (rebuilt when any graph changed)."""
    cached = root._order
    version = _state.graph_version[0]
    if cached is not None and cached.version == version:
        return cached
    walked = root._order = _Walk(version, _topological_order(root))
    return walked


def _topological_order(root) -> list:
    """Iterative depth-first search: deep graphs (10,000+ functions) need no recursion."""
    order = []
    if root._parent is None:
        return order
    seen = set()
    stack = [(root._parent, False)]
    while stack:
        func, expanded = stack.pop()
        if expanded:
            order.append(func)
            continue
        if id(func) in seen:
            continue
        seen.add(id(func))
        stack.append((func, True))
        for x in reversed(func.inputs):
            p = x._parent
            if p is not None and id(p) not in seen:
                stack.append((p, False))
    return order


# -- plans --------------------------------------------------------------------------------------------
def _forward_step(func, root, free) -> tuple:
    """What forward needs of one function, read once per graph version.

    The plan holds each function's compute (its class's, called with the function first: no bound method to keep),
    array module and dtype: reading them off functions of many classes at one place is slow. It shares the
    function's input list, which only what bumps the graph version replaces.
    """
    cls = type(func)
    if not cls._plain_forward or func.xp is not np:  # a device function moves its inputs there itself
        kind, compute = _GENERIC, cls._compute_outputs
    else:
        kind, compute = (_ONE if len(func.inputs) == 1 else _MANY), cls.compute
    dt = func.dtype
    dtd = (_DTYPES.get(dt) or _dtype_of(dt)) if dt is not None else None
    return (
        func,
        kind,
        compute,
        func.xp,
        dt,
        dtd,
        func.inputs,
        _held_output(func, root),
        func._outputs,
        tuple(free),
    )


def _held_output(func, root):
    """The output of a one-output function other than the root's: a later function of the graph takes it as input,
    so the plan may hold it without keeping it alive any longer; None where forward goes through the weak reference."""
    if len(func._outputs) != 1:
        return None
    o = func._outputs[0]()
    return o if o is not root else None


def _backward_plan(root, order, early=True) -> list:
    """The functions backward runs, last first, each with how every input's gradient is stored.

    A function runs when some input needs a gradient and some output's gradient was reached from ``root``;
    which variables are reached is decided by the graph alone, so it is worked out here once.

    A graph rebuilt every iteration is planned every iteration, so the plan is made with few objects that outlive
    it (each one costs the garbage collector later): steps share the function's input list, their ``need`` and
    shape stand-ins are interned, and ``grad_of`` is the class's function (called with the function first), not a
    bound method.

    What clear_buffer releases after each step (``cleared``: the variables whose data, and those whose gradients,
    it frees): an intermediate's data as soon as no remaining step reads it (after the last step whose backward
    reads it, else after the first step taking it as input, else after its producer's; NNabla waits for the
    producer's), its gradient after its producer's step; never the root's or a persistent variable's. With
    ``early`` false (recomputation reruns functions on their inputs) both wait for the producer's step.
    """
    if _Unary is None:
        _bind_unary()
    reached = {id(root)}
    steps = []
    last_read, first_in = {}, {}  # variable id -> the last step reading its data, the first step taking it
    last_dt = last_dtd = _UNSET
    for func in reversed(order):
        outrefs = func._outputs
        if len(outrefs) == 1:
            o = outrefs[0]()
            if o is None or id(o) not in reached:
                continue
            outputs = (o,)
            weak = None
        else:
            outs = [r() for r in outrefs]
            # siblings no gradient reaches stay weakly held: the plan must not keep unused outputs alive
            unreached = tuple([r for r, o in zip(outrefs, outs) if o is None or id(o) not in reached])
            if len(unreached) == len(outrefs):
                continue
            outputs = None if unreached else tuple(outs)
            weak = (outrefs, unreached) if unreached else None
        inputs = func.inputs  # replaced, never changed in place, by what bumps the graph version
        n = len(inputs)
        if n == 1:  # the common case, without the loop
            x = inputs[0]
            if not x._need_grad:
                continue
            if x._parent is None:
                stores = ((0, x, _ACCUMULATE_LEAF),)
            else:
                ix = id(x)
                if ix in reached:
                    stores = ((0, x, _ACCUMULATE),)
                else:
                    stores = ((0, x, _OVERWRITE),)
                    reached.add(ix)
            need = _NEED_ONE
        else:
            stores = []
            for i, x in enumerate(inputs):
                if not x._need_grad:
                    continue
                if x._parent is None:
                    stores.append((i, x, _ACCUMULATE_LEAF))
                elif id(x) in reached:
                    stores.append((i, x, _ACCUMULATE))
                else:
                    stores.append((i, x, _OVERWRITE))
                    reached.add(id(x))
            if not stores:  # no input needs a gradient
                continue
            if n == 2:  # (no list comprehension: each runs a frame of its own)
                need = (inputs[0]._need_grad, inputs[1]._need_grad)
            else:
                need = tuple([x._need_grad for x in inputs])
            need = _NEEDS.get(need) or _interned(need)
        cls = type(func)
        generic, unary_of, grad_fn, uses_x, uses_y, reads_all, grad_into, _ = _CLASS_FACTS.get(cls) or _class_facts(cls)
        if generic or func.xp is not np:  # a device function moves its inputs there itself
            kind, grad_of = _GENERIC, cls._input_grads
        elif unary_of is not None and n == 1 and len(outrefs) == 1:
            kind, grad_of = _UNARY, unary_of
        else:
            kind, grad_of = _PLAIN, grad_fn
        # inputs whose data backward reads: all when "x" in grad_uses, narrowed by grad_depends_input_data to those
        # a needed gradient depends on; the others get stand-ins with their shapes (a shape change bumps the version)
        stubs = fetch = None
        if not uses_x:
            if n == 1:
                shapes = (inputs[0]._data._shape,)
            elif n == 2:
                shapes = (inputs[0]._data._shape, inputs[1]._data._shape)
            else:
                shapes = tuple([x._data._shape for x in inputs])
            stubs = _STUBS.get(shapes) or _stubs(shapes)
        elif kind is not _GENERIC and not reads_all:
            reads = [any(need[i] and func.grad_depends_input_data(i, j) for i in range(n)) for j in range(n)]
            if not all(reads):
                stubs = [None if r else _Shaped(x._data._shape) for x, r in zip(inputs, reads)]
                fetch = tuple((j, x) for j, x in enumerate(inputs) if reads[j])
        # which data backward reads, then what clear_buffer releases (all steps reading an output come before its
        # producer's, so where its data is released is known here)
        k = len(steps)
        if early:
            if kind is _GENERIC or stubs is None:
                for x in inputs:
                    last_read[id(x)] = k
            elif fetch is not None:
                for _, x in fetch:
                    last_read[id(x)] = k
            for x in inputs:
                first_in.setdefault(id(x), k)
        if outputs is None:
            cleared = [(), ()]  # (its outputs' are added when the step runs)
        else:
            if len(outputs) == 1:
                grads = () if o is root or o._persistent else outputs
            else:
                grads = tuple([o for o in outputs if o is not root and not o._persistent])
            if not early or uses_y or kind is _GENERIC:
                cleared = [grads, grads]
            else:
                own = []
                for o in grads:
                    j = last_read.get(id(o))
                    if j is None:
                        j = first_in.get(id(o), k)
                    if j == k:
                        own.append(o)
                    else:  # an earlier step: its list of data released grows
                        c = steps[j][14]
                        c[0] = c[0] + (o,)
                cleared = [grads if len(own) == len(grads) else tuple(own), grads]
        # leaves whose gradient the op may write straight into their buffers (each must appear once among the
        # inputs, its gradient shaped as its data: only a change that bumps the version could break that later);
        # backward stores their gradients itself, so they leave ``stores``
        into = None
        if grad_into and kind is _PLAIN:
            into = (
                tuple(
                    (i, x)
                    for i, x, mode in stores
                    if mode is _ACCUMULATE_LEAF
                    and inputs.count(x) == 1
                    and (x._grad is None or x._grad._shape == x._data._shape)
                )
                or None
            )
            if into is not None:
                stores = [s for s in stores if (s[0], s[1]) not in into]
        if type(stores) is list:
            stores = tuple(stores)
        # the plan holds the array module and dtype, as forward's does; the weak output references and the
        # unreached ones (``weak``) are read only when some output was not reached (then ``outputs`` is None)
        dt = func.dtype
        if dt is not last_dt:  # (most functions of a graph share one)
            last_dt, last_dtd = dt, _DTYPES.get(dt) or _dtype_of(dt)
        dtd = last_dtd
        steps.append(
            (
                func,
                kind,
                grad_of,
                func.xp,
                dt,
                dtd,
                inputs,
                outputs,
                need,
                stores,
                into,
                stubs,
                fetch,
                uses_y,
                cleared,
                weak,
            )
        )
    return steps


def _bind_unary() -> None:
    global _Unary, _Binary, _unbroadcast
    from ._ops._base import Binary as _Binary
    from ._ops._base import Unary as _Unary
    from ._ops._base import unbroadcast as _unbroadcast


_UNSET = object()
_NEED_ONE = (True,)
_NEEDS: dict = {}  # need_grad flags of a function's inputs -> the tuple plans share


def _interned(need):
    _NEEDS[need] = need
    return need


_CLASS_FACTS: dict = {}  # Function class -> what a backward step needs to know of it (``_class_facts``)


def _class_facts(cls) -> tuple:
    """What the backward plan reads off a function's class, read once per class: whether it overrides
    ``_input_grads`` (then the class's ``_input_grads`` is called), its ``backward_unary`` where its ``grad`` is
    Unary's, its ``grad``, whether backward reads input data ("x" in grad_uses) and output data ("y"), whether
    it reads every input's data whenever it reads any, ``grad_into``, and its ``backward_binary`` where its
    ``grad`` is Binary's."""
    generic = not cls._plain_backward
    unary_of = cls.backward_unary if not generic and cls.grad is _Unary.grad else None
    binary_of = cls.backward_binary if not generic and cls.grad is _Binary.grad else None
    grad_fn = cls._input_grads if generic else cls.grad
    uses = cls.grad_uses
    facts = (generic, unary_of, grad_fn, "x" in uses, "y" in uses, cls._reads_all_inputs, bool(cls.grad_into))
    facts += (binary_of,)
    _CLASS_FACTS[cls] = facts
    return facts


_STUBS: dict = {}  # input shapes -> the stand-ins of inputs whose data backward does not read (shared)


def _stubs(shapes):
    stubs = _STUBS[shapes] = tuple([_SHAPED.get(s) or _shaped(s) for s in shapes])
    return stubs


_SHAPED: dict = {}  # shape -> its stand-in (immutable, so plans share them)


def _shaped(shape):
    stub = _SHAPED[shape] = _Shaped(shape)
    return stub


_DTYPES: dict = {}  # compute dtype (a numpy scalar type) -> its np.dtype, which plans compare arrays' dtypes with


def _dtype_of(dt):
    d = _DTYPES[dt] = np.dtype(dt)
    return d


def _release_plan(root, order, mode):
    """For each function in ``order``, the intermediate inputs whose data can be freed once it has run.

    ``"all"`` (clear_buffer): every intermediate input after its last consumer. ``"no_need_grad"``
    (clear_no_need_grad): only those whose data no backward step will read. In every mode, variables marked
    ``recompute`` are freed after their last consumer (backward recomputes them), and the inputs of a function
    that prohibits it (Sink) are kept, as NNabla does.
    """
    last_use = {}
    for k, func in enumerate(order):
        for x in func.inputs:
            last_use[id(x)] = k
    kept = {id(x) for func in order if func.prohibit_clear_input_buffers for x in func.inputs}
    needed = set()
    if mode == "no_need_grad":
        for func in order:
            if not any(x._need_grad for x in func.inputs):
                continue
            if "x" in func.grad_uses:
                needed.update(id(x) for x in func.inputs)
            if "y" in func.grad_uses:
                needed.update(id(o) for o in func.outputs if o is not None)
    plan = [[] for _ in order]
    done = set()
    for k, func in enumerate(order):
        for x in func.inputs:
            if x._parent is None or x._persistent or x is root or id(x) in done or id(x) in kept:
                continue
            if mode == "recompute" and not x._recompute:
                continue
            if last_use[id(x)] == k and (id(x) not in needed or x._recompute):
                plan[k].append(x)
                done.add(id(x))
    return plan


# -- running a plan step by step ------------------------------------------------------------------------
# These loops are Function._compute_outputs and Function._input_grads with the plan's facts read off each step;
# NdArray methods are done by hand where that saves a call. ``_compiled`` writes the same reads and writes out as
# straight-line code per step.
def run_forward(steps, pre, post) -> None:
    """Forward through ``steps``, calling the hooks in ``pre``/``post`` around each function."""
    recorder = _state.clear_recorder[0]
    for func, kind, compute, xp, dt, dtd, inputs, out, outrefs, free in steps:
        if pre:  # (an empty loop still makes an iterator)
            for h in pre:
                h(func)
        if kind is _ONE:
            ys = compute(func, xp, _input_array(func, inputs[0], 0, dt, dtd))
        elif kind is _MANY:
            if len(inputs) == 2:  # (no list comprehension: each runs a frame of its own)
                ys = compute(
                    func, xp, _input_array(func, inputs[0], 0, dt, dtd), _input_array(func, inputs[1], 1, dt, dtd)
                )
            else:
                ys = compute(func, xp, *[_input_array(func, x, i, dt, dtd) for i, x in enumerate(inputs)])
        else:
            ys = compute(func, inputs)
        if type(ys) is _ndarray and (ys.dtype is dtd or ys.dtype.type is dt):
            o = out if out is not None else outrefs[0]()
            if o is not None:
                _set_array(o._data, ys, dt)
        else:
            if kind is not _GENERIC:
                ys = func._as_outputs(ys)
            for ref, y in zip(outrefs, ys):
                o = ref()
                if o is not None:
                    o._data._set_array(y)
        if post:
            for h in post:
                h(func)
        for v in free:
            _release(v._data)
            if v._recompute:
                _freed.add(v)
        if recorder is not None:
            recorder.record(func)


def run_backward(steps, root, clear_buffer, pre, post, recomputes=False) -> None:
    """Backward through ``steps`` from ``root``'s gradient, calling the hooks in ``pre``/``post`` around each.

    ``recomputes``: first recompute the freed data of ``recompute`` variables each step reads.
    """
    recorder = _state.clear_recorder[0]
    for (
        func,
        kind,
        grad_of,
        xp,
        dt,
        dtd,
        inputs,
        outputs,
        need,
        stores,
        into,
        stubs,
        fetch,
        uses_y,
        cleared,
        weak,
    ) in steps:
        if outputs is None:  # some output no gradient reached: it counts as zero
            outrefs, unreached = weak
            outputs = [r() for r in outrefs]
            for r in unreached:
                o = r()
                if o is not None:
                    o._grad_nd()._set_array(func.xp.zeros(o._data._shape, func.dtype))
            mine = [o for o in outputs if o is not None and o is not root and not o._persistent]
            cleared = (cleared[0] + tuple(mine), mine)
        if recomputes:
            _recompute_cleared(func, inputs, outputs, need)
        if pre:  # (an empty loop still makes an iterator)
            for h in pre:
                h(func)
        if kind is _GENERIC:
            gxs = grad_of(func, inputs, outputs, need)
        else:
            if kind is _UNARY:  # (_input_array and _array_of, by hand)
                o = outputs[0]
                if stubs is None:
                    d = inputs[0]._data
                    xa = d._array
                    if xa is None or d._fill is not None:
                        xa = d._get()
                    if xa.dtype is not dtd and xa.dtype.type is not dt:
                        xa = converted(func, d, xa, 0)
                else:
                    xa = stubs[0]
                if uses_y:
                    d = o._data
                    ya = d._array
                    if ya is None or d._fill is not None:
                        ya = d._get()
                else:
                    ya = None
                d = o._grad
                gy = d._array
                if gy is None or d._fill is not None:
                    gy = d._get()
                gxs = (grad_of(func, xp, xa, ya, gy),)
            else:
                if stubs is None:  # backward reads the inputs' data
                    if len(inputs) == 2:
                        xs = [_input_array(func, inputs[0], 0, dt, dtd), _input_array(func, inputs[1], 1, dt, dtd)]
                    else:
                        xs = [_input_array(func, x, j, dt, dtd) for j, x in enumerate(inputs)]
                elif fetch is None:
                    xs = stubs
                else:  # some inputs' data: those a needed gradient depends on
                    xs = list(stubs)
                    for j, x in fetch:
                        xs[j] = _input_array(func, x, j, dt, dtd)
                ys = [o._data._get() if o is not None else None for o in outputs] if uses_y else None
                if len(outputs) == 1:
                    gys = [_array_of(outputs[0]._grad)]
                else:
                    gys = [o._grad._get() if o is not None and o._grad is not None else None for o in outputs]
                if into is None:
                    gxs = grad_of(func, xp, xs, ys, gys, need)
                else:  # offer the op the leaves' pending-zero gradient buffers to write into
                    outs = [None] * len(inputs)
                    for i, x in into:
                        gnd = x._grad
                        if gnd is not None and gnd._fill == 0:
                            arr = gnd._array
                            if arr is not None and arr.dtype is dtd:
                                outs[i] = arr
                    gxs = grad_of(func, xp, xs, ys, gys, need, outs)
                    for i, x in into:  # these leaves are left out of ``stores``
                        gx = gxs[i]
                        if gx is None:
                            continue
                        if gx is outs[i]:  # written in place: no longer a pending zero
                            x._grad._fill = None
                        else:
                            accumulate_leaf(x, gx)
        for i, x, mode in stores:
            gx = gxs[i]
            if gx is None:
                continue
            if mode is _OVERWRITE:
                gnd = x._grad
                if gnd is None:  # a graph's first pass
                    x._grad = _wrap(gx)
                elif gnd._watched:
                    x._grad_nd()._set_array(gx)
                else:  # (the dtype is read only once the buffer is released: the dtype to reallocate)
                    _set_array(gnd, gx, dt)
            elif mode is _ACCUMULATE_LEAF:
                accumulate_leaf(x, gx)
            else:
                x._grad._set_array(x._grad._array + gx)
        if post:
            for h in post:
                h(func)
        xa = ya = gy = xs = ys = gys = gxs = gx = None  # (held here, the arrays would outlive what clears them)
        if clear_buffer:
            data, grads = cleared
            for o in data:
                _release(o._data)
            for o in grads:
                if o._grad is not None:
                    _release(o._grad)
        if recorder is not None:
            recorder.record(func)


def walk_backward(order, root, pre, post, recomputes=False) -> None:
    """Backward from ``root``'s gradient through ``order`` (forward order) directly, without a plan: what
    ``_backward_plan`` decides for each function is decided as the function is reached, and acted on at once.

    A graph's first pass walks this way (a graph built for one pass is not worth planning), as do passes with hooks
    and those of graphs whose plan is not compiled; only clear_buffer needs the plan (``run_backward``), which knows
    in advance which step last reads each buffer. The gradient rules, reached outputs, kinds, stand-ins and
    conversions are ``_backward_plan``'s and ``run_backward``'s.
    """
    if _Unary is None:
        _bind_unary()
    recorder = _state.clear_recorder[0]
    reached = {root}  # (the variables themselves: their hash is their identity)
    facts_of = _CLASS_FACTS.get
    for func in reversed(order):
        outrefs = func._outputs
        if len(outrefs) == 1:
            o = outrefs[0]()
            if o is None or o not in reached:
                continue
            single = True
        else:
            outputs = [r() for r in outrefs]
            unreached = [o for o in outputs if o is not None and o not in reached]
            if len(unreached) + outputs.count(None) == len(outputs):  # no output reached
                continue
            single = False
        inputs = func.inputs
        n = len(inputs)
        if n == 1:
            if not inputs[0]._need_grad:
                continue
            need = _NEED_ONE
        elif n == 2:
            need = (inputs[0]._need_grad, inputs[1]._need_grad)
            if not need[0] and not need[1]:
                continue
        else:
            need = tuple([x._need_grad for x in inputs])
            if not any(need):
                continue
        if not single:  # outputs no gradient reached count as zero
            for u in unreached:
                u._grad_nd()._set_array(func.xp.zeros(u._data._shape, func.dtype))
        cls = type(func)
        generic, unary_of, grad_fn, uses_x, uses_y, reads_all, grad_into, binary_of = facts_of(cls) or _class_facts(cls)
        xp = func.xp
        dt = None  # the compute dtype, read where needed (most steps convert nothing)
        unary = unary_of is not None and n == 1 and single and xp is np  # (a generic class has no unary_of)
        if single and (not unary or recomputes):
            outputs = (o,)
        if recomputes:
            _recompute_cleared(func, inputs, outputs, need)
        if pre:
            for h in pre:
                h(func)
        if generic or xp is not np:  # a device function moves its inputs there itself
            gxs = cls._input_grads(func, inputs, outputs, need)
        elif unary:  # (_input_array and _array_of, by hand)
            d = inputs[0]._data
            if uses_x:
                dt = func.dtype
                dtd = _DTYPES.get(dt) or _dtype_of(dt)
                xa = d._array
                if xa is None or d._fill is not None:
                    xa = d._get()
                if xa.dtype is not dtd and xa.dtype.type is not dt:
                    xa = converted(func, d, xa, 0)
            else:
                xa = _SHAPED.get(d._shape) or _shaped(d._shape)
            if uses_y:
                d = o._data
                ya = d._array
                if ya is None or d._fill is not None:
                    ya = d._get()
            else:
                ya = None
            d = o._grad
            gy = d._array
            if gy is None or d._fill is not None:
                gy = d._get()
            gxs = (unary_of(func, xp, xa, ya, gy),)
        else:
            if not uses_x:
                if n == 2:
                    s = (inputs[0]._data._shape, inputs[1]._data._shape)
                else:
                    s = tuple([x._data._shape for x in inputs])
                xs = _STUBS.get(s) or _stubs(s)
            else:
                dt = func.dtype
                dtd = _DTYPES.get(dt) or _dtype_of(dt)
                if n == 2 and reads_all:
                    xs = [_input_array(func, inputs[0], 0, dt, dtd), _input_array(func, inputs[1], 1, dt, dtd)]
                else:
                    xs = [
                        _input_array(func, x, j, dt, dtd)
                        if reads_all or any(need[i] and func.grad_depends_input_data(i, j) for i in range(n))
                        else _Shaped(x._data._shape)
                        for j, x in enumerate(inputs)
                    ]
            if binary_of is not None and single and not grad_into:  # Binary.grad by hand: needed gradients summed
                x0, x1 = xs
                g0, g1 = binary_of(func, xp, x0, x1, o._data._get() if uses_y else None, _array_of(o._grad))
                if need[0]:
                    s = x0.shape
                    if g0.shape != s:
                        g0 = _unbroadcast(xp, g0, s)
                else:
                    g0 = None
                if need[1]:
                    s = x1.shape
                    if g1.shape != s:
                        g1 = _unbroadcast(xp, g1, s)
                else:
                    g1 = None
                gxs = (g0, g1)
            else:
                ys = [o._data._get() if o is not None else None for o in outputs] if uses_y else None
                if single:
                    gys = [_array_of(o._grad)]
                else:
                    gys = [o._grad._get() if o is not None and o._grad is not None else None for o in outputs]
                if grad_into:  # leaves whose pending-zero gradient buffers the op may write into
                    into = [
                        (i, x)
                        for i, x in enumerate(inputs)
                        if need[i]
                        and x._parent is None
                        and inputs.count(x) == 1
                        and (x._grad is None or x._grad._shape == x._data._shape)
                    ]
                if not grad_into or not into:
                    gxs = grad_fn(func, xp, xs, ys, gys, need)
                else:
                    if dt is None:
                        dt = func.dtype
                        dtd = _DTYPES.get(dt) or _dtype_of(dt)
                    outs = [None] * n
                    for i, x in into:
                        gnd = x._grad
                        if gnd is not None and gnd._fill == 0:
                            arr = gnd._array
                            if arr is not None and arr.dtype is dtd:
                                outs[i] = arr
                    gxs = list(grad_fn(func, xp, xs, ys, gys, need, outs))
                    for i, x in into:
                        gx = gxs[i]
                        if gx is None:
                            continue
                        gxs[i] = None  # (stored here: left out below)
                        if gx is outs[i]:  # written in place: no longer a pending zero
                            x._grad._fill = None
                        else:
                            accumulate_leaf(x, gx)
        # store each input's gradient: a leaf's accumulates, an intermediate's first contribution of the pass
        # overwrites and its later ones accumulate (it is reached from then on, even without a gradient now)
        for x, gx in zip(inputs, gxs):
            if not x._need_grad:
                continue
            if x._parent is None:
                if gx is not None:
                    accumulate_leaf(x, gx)
            elif x in reached:
                if gx is not None:
                    x._grad._set_array(x._grad._array + gx)
            else:
                reached.add(x)
                if gx is not None:
                    gnd = x._grad
                    if gnd is None:  # a graph's first pass
                        x._grad = _wrap(gx)
                    elif gnd._watched:
                        x._grad_nd()._set_array(gx)
                    else:
                        _set_array(gnd, gx, dt if dt is not None else func.dtype)
        if post:
            for h in post:
                h(func)
        if recorder is not None:
            recorder.record(func)


# -- recomputation ------------------------------------------------------------------------------------------
# the recompute variables forward freed and backward has not recomputed yet (reading a freed buffer allocates one,
# so whether a buffer exists does not tell)
_freed = weakref.WeakSet()


def _cleared(v) -> bool:
    return v in _freed or (v._data._array is None and v._data._fill is None)


def _recompute_cleared(func, inputs, outputs, need) -> None:
    """Recompute the freed data of ``recompute`` inputs and outputs that ``func``'s needed gradients read.

    As in NNabla, the functions rerun are those leading to the freed data through freed variables only; each
    reruns through ``Function.recompute`` (random functions replay their draw, statistics are not updated twice).
    """
    n = len(inputs)
    targets = []
    for j, x in enumerate(inputs):
        if x._recompute and x._parent is not None and _cleared(x):
            if any(need[i] and func.grad_depends_input_data(i, j) for i in range(n)):
                targets.append(x._parent)
    for k, o in enumerate(outputs):
        if o is not None and o._recompute and _cleared(o):
            if any(need[i] and func.grad_depends_output_data(i, k) for i in range(n)):
                targets.append(func)
                break
    if not targets:
        return
    rerun, seen = [], set()
    stack = [(f, False) for f in reversed(targets)]
    while stack:  # iterative depth-first search, as the topological order: deep graphs need no recursion
        f, expanded = stack.pop()
        if expanded:
            rerun.append(f)
            continue
        if id(f) in seen:
            continue
        seen.add(id(f))
        stack.append((f, True))
        for x in reversed(f.inputs):
            p = x._parent
            if p is not None and id(p) not in seen and _cleared(x):
                stack.append((p, False))
    for f in rerun:
        f.recompute(f.inputs, f.outputs)
        for o in f.outputs:
            _freed.discard(o)


# -- reading and writing buffers --------------------------------------------------------------------------
def _array_of(nd):
    """NdArray._get, by hand where the array is already there."""
    a = nd._array
    if a is None or nd._fill is not None:
        a = nd._get()
    return a


def _input_array(func, x, i, dt, dtd):
    """The data of ``x``, input ``i`` of ``func``, in the compute dtype ``dt`` (``dtd``: its np.dtype)."""
    d = x._data
    a = d._array
    if a is None or d._fill is not None:
        a = d._get()
    if type(a) is not _ndarray or (a.dtype is not dtd and a.dtype.type is not dt):
        a = converted(func, d, a, i)
    return a


def _set_array(nd, a, dt) -> None:
    """NdArray._set_array, by hand where no solver watches the buffer; ``a`` is in the compute dtype ``dt``."""
    if nd._watched:
        nd._set_array(a)
    else:
        nd._array = a
        nd._shape = a.shape
        nd._dtype = dt
        nd._fill = None


def _release(nd) -> None:
    """NdArray.clear, by hand where no solver watches the buffer."""
    if nd._watched:
        nd.clear()
    else:
        nd._array = nd._fill = None
        nd._cleared = True
        if _state.clear_recorder[0] is not None:
            _state.clear_recorder[0].cleared.add(nd)


def converted(func, nd, a, i):
    """Input ``i``'s array ``a``, held by ``nd``, in the compute dtype: the conversion is kept on ``nd`` until its
    buffer is next written through an accessor (see ``_array``), so forward and backward convert an input once.

    An array on the other side (host or device) of ``func``'s context first moves there (see ``_array``).
    """
    xp = func.xp
    if type(a) is not _ndarray if xp is np else not isinstance(a, xp.ndarray):
        a = nd._on(xp)
    if i in func.keep_dtype:
        return a
    dt = func.dtype
    if a.dtype.type is dt:
        return a
    c = nd._cast
    mod = nd._mod
    mod = mod[0] if mod is not None else 0
    if c is not None and c[0] is a and c[1] is dt and c[3] == mod:
        return c[2]
    b = a.astype(dt)
    if not nd._watched:  # a solver writes into its parameters in place, through no accessor
        nd._cast = (a, dt, b, mod)
    return b


def accumulate_leaf(x, gx) -> None:
    """Add ``gx`` to a leaf's gradient, in place (a gradient that is lazily zero receives a copy)."""
    gnd = x._grad
    if gnd is None or gnd._shape != x._data._shape:
        gnd = x._grad_nd()
    if isinstance(gx, np.generic):  # a numpy scalar (a reduction of a 0-d gradient) cannot be added into
        gx = np.asarray(gx)
    arr = gnd._array  # when set, its shape is the NdArray's (every writer keeps it so)
    if arr is not None and type(arr) is not type(gx):  # the gradient was read on the host since: sync it back
        arr = gnd._on(get_array_module(gx))
    if gnd._fill is None:
        if arr is None:
            gnd._set_array(gx.copy())  # gx may be a view of another gradient
        else:
            arr += gx
    elif gnd._fill == 0:  # adding to a pending zero is a copy (solvers zero grads lazily)
        if arr is None:
            gnd._set_array(gx.astype(gnd.dtype, copy=True))  # where gx is, in the gradient's own dtype
        else:
            arr[...] = gx
        gnd._fill = None
    else:
        arr = gnd._get() if type(gx) is np.ndarray else gnd._on(get_array_module(gx))
        arr += gx
