"""Plans compiled to straight-line code: one small generated function per step of a forward or backward plan.

A training loop replays one plan thousands of times; replaying it through the step tuples (``_walk.run_forward``
and ``run_backward``) spends most of its time unpacking them and testing facts that are fixed for the plan: the
kind of each step, which inputs backward reads, how each gradient is stored. Without hooks, a plan used a second
time becomes one function per step with those facts written in: the same reads, checks and writes as the loops in
``_walk``, as straight-line code. The code depends only on the step's shape (kind, input count, modes...), so it
is compiled once per shape and process, and each step's function is that code closed over the step's objects.
"""

from __future__ import annotations

import linecache

from ._walk import _ACCUMULATE_LEAF, _GENERIC, _OVERWRITE, _UNARY, _ndarray, accumulate_leaf, converted

_KERNELS: dict = {}  # generated step code -> compiled function making a step's function from its objects
_KERNEL_GLOBALS = {"_ndarray": _ndarray, "_converted": converted, "_accumulate_leaf": accumulate_leaf}


# -- the plans a walk keeps ---------------------------------------------------------------------------
# ``walk.runs`` holds forward's compiled plans under their (clear_buffer, clear_no_need_grad) key and backward's
# under clear_buffer: True while a plan waits for its second use, () for a backward plan that is walked step by step.
def forward_run(walk, root, clear_buffer, clear_no_need_grad):
    """The compiled forward plan (a function per step), or None where forward should walk the steps."""
    key = (clear_buffer is True or bool(clear_buffer), clear_no_need_grad is True or bool(clear_no_need_grad))
    run = walk.runs.get(key)
    if run is not None and run is not True:
        return run
    steps = walk.forward_steps(root, clear_buffer, clear_no_need_grad)
    return _second_use(walk.runs, key, lambda: tuple(_forward_function(*step) for step in steps))


def backward_run(walk, root, clear_buffer: bool):
    """The compiled backward plan, or None where backward walks the graph (``_walk.walk_backward``, or
    ``run_backward`` through the plan's steps for clear_buffer). The first use walks: the plan is made on the
    second, and compiled then where every step can be."""
    run = walk.runs.get(clear_buffer)
    if run is not None and run is not True:
        return run or None  # () where some step is walked: hooks' kind of steps, unreached outputs
    if run is None:  # the first use walks (a graph built for one pass is not worth planning)
        walk.runs[clear_buffer] = True
        return None
    steps = walk.backward_steps(root)
    # every step must be inlined and reach all its outputs (the rest run through the loop)
    if not all(s[1] is not _GENERIC and s[7] is not None for s in steps):
        walk.runs[clear_buffer] = ()
        return None
    run = walk.runs[clear_buffer] = tuple(_backward_function(s, clear_buffer) for s in steps)
    return run


def _second_use(runs, key, make):
    """The compiled plan, made on its second use (a graph run once is not worth it)."""
    run = runs.get(key)
    if run is None:
        runs[key] = True
        return None
    if run is True:
        run = runs[key] = make()
    return run


# -- generating a step's code -------------------------------------------------------------------------
class _Source:
    """The generated code of one step; it names the step's objects k0, k1, ... in the order they are passed."""

    def __init__(self):
        self.lines = []

    def add(self, indent, *lines) -> None:
        self.lines.extend("    " * (indent + 1) + line for line in lines)

    def fetch(self, indent, var, func, dt, dtd, i, target) -> None:
        """``target`` = the data array of ``var`` (a name), as input ``i`` of ``func`` in the compute dtype."""
        self.add(
            indent,
            f"d = {var}._data",
            "a = d._array",
            "if a is None or d._fill is not None:",
            "    a = d._get()",
            f"if type(a) is not _ndarray or (a.dtype is not {dtd} and a.dtype.type is not {dt}):",
            f"    a = _converted({func}, d, a, {i})",
            f"{target} = a",
        )

    def set_array(self, indent, nd, value, dt) -> None:
        """``nd``._set_array(``value``), by hand where no solver watches the buffer (``_walk._set_array``)."""
        self.add(
            indent,
            f"if {nd}._watched:",
            f"    {nd}._set_array({value})",
            "else:",
            f"    {nd}._array = {value}",
            f"    {nd}._shape = {value}.shape",
            f"    {nd}._dtype = {dt}",
            f"    {nd}._fill = None",
        )

    def release(self, indent, var, grad=False, data=True) -> None:
        """Release ``var``'s data buffer (without ``data``, not) and its gradient's (with ``grad``): ``_walk._release``
        by hand."""
        if data:
            self.add(
                indent,
                f"d = {var}._data",
                "if d._watched:",
                "    d.clear()",
                "else:",
                "    d._array = d._fill = None",
                "    d._cleared = True",
            )
        if grad:
            self.add(
                indent,
                f"d = {var}._grad",
                "if d is not None:",
                "    if d._watched:",
                "        d.clear()",
                "    else:",
                "        d._array = d._fill = None",
                "        d._cleared = True",
            )

    def kernel(self, count):
        """Compile the code into a function taking the ``count`` objects and returning the step's function."""
        params = ", ".join(f"k{i}" for i in range(count))
        body = "\n".join(self.lines)
        source = f"def make({params}):\n    def run():\n{body}\n    return run\n"
        namespace = dict(_KERNEL_GLOBALS)
        filename = f"<nnabla step kernel {len(_KERNELS)}>"
        # a traceback through a step shows the generated line that failed
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        exec(compile(source, filename, "exec"), namespace)  # noqa: S102
        return namespace["make"]


def _step_function(key, objects, generate):
    """A step's function: the kernel for its shape ``key`` (generated on first sight) closed over ``objects``."""
    make = _KERNELS.get(key)
    if make is None:
        make = _KERNELS[key] = generate().kernel(len(objects))
    run = make(*objects)
    run.function = objects[0]  # named in an error the step raises (``function.located``)
    return run


# -- forward ------------------------------------------------------------------------------------------
def _forward_function(func, kind, compute, xp, dt, dtd, inputs, out, outrefs, free):
    generic = kind is _GENERIC
    key = ("forward", generic, len(inputs), out is None, len(free))
    objects = (func, compute, xp, dt, dtd) + ((inputs,) if generic else tuple(inputs)) + (out, outrefs) + tuple(free)
    return _step_function(key, objects, lambda: _forward_source(*key[1:]))


def _forward_source(generic, n_inputs, weak_output, n_free) -> _Source:
    """``_walk.run_forward``'s loop body for one step, objects named as ``_forward_function`` passes them."""
    src = _Source()
    f, c, x_, t, td = "k0", "k1", "k2", "k3", "k4"
    k = 5
    if generic:
        src.add(1, f"ys = {c}({f}, k5)")
        k += 1
    else:
        args = []
        for i in range(n_inputs):
            src.fetch(1, f"k{k}", f, t, td, i, f"a{i}")
            args.append(f"a{i}")
            k += 1
        src.add(1, f"ys = {c}({', '.join([f, x_] + args)})")
    out, refs = f"k{k}", f"k{k + 1}"
    k += 2
    src.add(1, f"if type(ys) is _ndarray and (ys.dtype is {td} or ys.dtype.type is {t}):")
    if not weak_output:
        src.add(2, f"o = {out}")
    else:
        src.add(2, f"o = {refs}[0]()", "if o is not None:")
    src.add(3 if weak_output else 2, "d = o._data")
    src.set_array(3 if weak_output else 2, "d", "ys", t)
    src.add(1, "else:")
    if not generic:
        src.add(2, f"ys = {f}._as_outputs(ys)")
    src.add(2, f"for ref, y in zip({refs}, ys):", "    o = ref()", "    if o is not None:")
    src.add(4, "o._data._set_array(y)")
    for i in range(n_free):
        src.release(1, f"k{k + i}", False)
    return src


# -- backward -----------------------------------------------------------------------------------------
def _backward_function(step, clear_buffer):
    func, kind, grad_of, xp, dt, dtd, inputs, outputs, need, stores, into, stubs, fetch, uses_y, cleared, _ = step
    if stubs is None:
        reads = tuple(range(len(inputs)))
    else:
        reads = tuple(j for j, _ in fetch) if fetch is not None else ()
    data, grads = cleared if clear_buffer else ((), ())
    key = (
        "backward",
        kind is _UNARY,
        len(inputs),
        reads,
        stubs is not None,
        len(outputs),
        uses_y,
        tuple(i for i, _ in into) if into is not None else None,
        tuple((i, mode) for i, _, mode in stores),
        len(data),
        len(grads),
    )
    objects = (func, grad_of, xp, dt, dtd) + tuple(inputs) + (stubs,) + tuple(outputs) + (need,) + data + grads
    return _step_function(key, objects, lambda: _backward_source(*key[1:]))


def _backward_source(unary, n_inputs, reads, stubbed, n_outputs, uses_y, into, stores, n_data, n_grads) -> _Source:
    """``_walk.run_backward``'s loop body for one step, objects named as ``_backward_function`` passes them."""
    src = _Source()
    f, g, x_, t, td = "k0", "k1", "k2", "k3", "k4"
    names = [f"k{5 + j}" for j in range(n_inputs)]
    stub = f"k{5 + n_inputs}"
    outs = [f"k{6 + n_inputs + m}" for m in range(n_outputs)]
    n = f"k{6 + n_inputs + n_outputs}"
    data = [f"k{7 + n_inputs + n_outputs + c}" for c in range(n_data)]
    grads = [f"k{7 + n_inputs + n_outputs + n_data + c}" for c in range(n_grads)]
    for j in reads:
        src.fetch(1, names[j], f, t, td, j, f"a{j}")
    xs = [f"a{j}" if j in reads else f"{stub}[{j}]" for j in range(n_inputs)]
    if unary or n_outputs == 1:
        src.add(
            1, f"g = {outs[0]}._grad", "gy = g._array", "if gy is None or g._fill is not None:", "    gy = g._get()"
        )
    if unary:
        if uses_y:
            src.add(1, f"d = {outs[0]}._data", "ya = d._array", "if ya is None or d._fill is not None:")
            src.add(2, "ya = d._get()")
        else:
            src.add(1, "ya = None")
        src.add(1, f"gxs = ({g}({f}, {x_}, {xs[0]}, ya, gy),)")
    else:
        ys = "[" + ", ".join(f"{o}._data._get()" for o in outs) + "]" if uses_y else "None"
        if n_outputs == 1:
            gys = "[gy]"
        else:
            gys = "[" + ", ".join(f"{o}._grad._get() if {o}._grad is not None else None" for o in outs) + "]"
        if into is None:
            src.add(1, f"gxs = {g}({f}, {x_}, [{', '.join(xs)}], {ys}, {gys}, {n})")
        else:
            src.add(1, f"outs = [None] * {n_inputs}")
            for i in into:
                src.add(
                    1,
                    f"gnd = {names[i]}._grad",
                    "if gnd is not None and gnd._fill == 0:",
                    "    arr = gnd._array",
                    f"    if arr is not None and arr.dtype is {td}:",
                    f"        outs[{i}] = arr",
                )
            src.add(1, f"gxs = {g}({f}, {x_}, [{', '.join(xs)}], {ys}, {gys}, {n}, outs)")
            for i in into:
                src.add(
                    1,
                    f"gx = gxs[{i}]",
                    "if gx is not None:",
                    f"    if gx is outs[{i}]:",
                    f"        {names[i]}._grad._fill = None",
                    "    else:",
                    f"        _accumulate_leaf({names[i]}, gx)",
                )
    for i, mode in stores:
        x = names[i]
        src.add(1, f"gx = gxs[{i}]", "if gx is not None:")
        if mode is _OVERWRITE:
            src.add(
                2,
                f"gnd = {x}._grad",
                "if gnd is None or gnd._watched:",
                f"    {x}._grad_nd()._set_array(gx)",
                "else:",
                "    gnd._array = gx",
                "    gnd._shape = gx.shape",
                f"    gnd._dtype = {t}",
                "    gnd._fill = None",
            )
        elif mode is _ACCUMULATE_LEAF:
            src.add(2, f"_accumulate_leaf({x}, gx)")
        else:
            src.add(2, f"{x}._grad._set_array({x}._grad._array + gx)")
    for o in data:
        src.release(1, o)
    for o in grads:
        src.release(1, o, grad=True, data=False)
    return src
