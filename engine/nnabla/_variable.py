"""Variable: a node of a computation graph, and the forward/backward passes that start from one.

A Variable holds ``data`` and ``grad`` NdArrays and a ``parent`` Function. ``forward`` runs the functions that
lead to it in topological order; ``backward`` runs them in reverse, each pushing gradients to its inputs.
Gradients accumulate into leaves (variables without a parent); an intermediate variable's gradient is
overwritten by its first contribution of a backward pass and accumulated for the rest. The root's own gradient
is set for one pass only. How a graph is walked (order, step plans, buffer release) is ``_walk``; a plan used
again without hooks runs as generated straight-line code (``_compiled``).
"""

from __future__ import annotations

import weakref

import numpy as np

from . import _state
from ._array import NdArray, checked_shape, get_array_module, is_device_array, to_device
from ._compiled import backward_run, forward_run
from ._operators import OperatorMixin
from ._walk import run_backward, run_forward, walk, walk_backward
from .function import located

_new_object = object.__new__
_of_shape = NdArray._of_shape


class Variable(OperatorMixin):
    """``nn.Variable(shape, need_grad=False)``: a node of a computation graph holding data and grad."""

    __slots__ = (
        "_data",
        "_grad",
        "_need_grad",
        "_persistent",
        "_parent",
        "name",
        "_order",
        "_consumers",
        "_recompute",
        "__weakref__",
    )

    def __init__(self, shape=(), need_grad: bool = False):
        self._start(NdArray._of_shape(checked_shape(shape, "Variable")), bool(need_grad))

    @classmethod
    def _new(cls, shape, need_grad):
        """A parentless Variable of ``shape`` (a tuple of ints), skipping ``__init__``'s checks."""
        v = _new_object(cls)
        v._start(_of_shape(shape), need_grad)
        return v

    def _start(self, data, need_grad) -> None:
        self._data = data
        self._grad = None
        self._need_grad = need_grad
        self._persistent = False
        self._parent = None
        self.name = ""
        self._order = None  # the graph's walk, cached (``_walk``)
        # weak references to the functions taking it as input: None, the first one's, then a list of them
        self._consumers = None
        if _state.recompute[0]:
            self._recompute = _state.recompute_used[0] = True
        else:
            self._recompute = False

    @classmethod
    def _wrap_ndarray(cls, nd: NdArray, need_grad=False):
        v = cls._new(nd.shape, need_grad)
        v._data = nd
        return v

    @classmethod
    def from_numpy_array(cls, data, grad=None, need_grad=None) -> Variable:
        """A leaf Variable holding copies of ``data`` (and ``grad``)."""
        nd = NdArray.from_numpy_array(data)
        v = cls._wrap_ndarray(nd, bool(need_grad))
        if grad is not None:
            grad = np.asarray(grad)
            if grad.shape != nd.shape:
                raise ValueError(f"Variable.from_numpy_array: grad shape {grad.shape} differs from data {nd.shape}")
            v._grad = NdArray.from_numpy_array(grad)
        return v

    # -- data and grad ------------------------------------------------------------------------------
    def _grad_nd(self) -> NdArray:
        g = self._grad
        if g is None or g._shape != self._data._shape:
            if g is not None and g._watched:
                _state.param_version[0] += 1
            g = self._grad = _of_shape(self._data._shape)
        return g

    @property
    def data(self) -> NdArray:
        return self._data

    @data.setter
    def data(self, value):
        if isinstance(value, NdArray):
            if value.shape != self.shape:
                raise ValueError(f"Variable.data: NdArray of shape {value.shape} given for a Variable of {self.shape}")
            _replaced(self._data)
            self._data = value
        else:
            self._data.data = value

    @property
    def grad(self) -> NdArray:
        return self._grad_nd()

    @grad.setter
    def grad(self, value):
        if isinstance(value, NdArray):
            if value.shape != self.shape:
                raise ValueError(f"Variable.grad: NdArray of shape {value.shape} given for a Variable of {self.shape}")
            _replaced(self._grad)
            self._grad = value
        else:
            self._grad_nd().data = value

    @property
    def d(self) -> np.ndarray:
        return self._data.data

    @d.setter
    def d(self, value):
        self._data.data = value

    @property
    def g(self) -> np.ndarray:
        return self._grad_nd().data

    @g.setter
    def g(self, value):
        self._grad_nd().data = value

    @property
    def need_grad(self) -> bool:
        return self._need_grad

    @need_grad.setter
    def need_grad(self, value: bool):
        self._need_grad = bool(value)
        _state.graph_version[0] += 1  # which functions backward runs depends on it
        _state.param_version[0] += 1  # and which parameters solvers update

    @property
    def persistent(self) -> bool:
        return self._persistent

    @persistent.setter
    def persistent(self, value: bool):
        self._persistent = bool(value)
        _state.graph_version[0] += 1  # buffer clearing plans depend on it

    @property
    def recompute(self) -> bool:
        """Whether forward frees this variable's data after its last use and backward recomputes it when needed."""
        return self._recompute

    @recompute.setter
    def recompute(self, value: bool):
        self._recompute = bool(value)
        if value:
            _state.recompute_used[0] = True
        _state.graph_version[0] += 1  # buffer clearing plans depend on it

    @property
    def parent(self):
        return self._parent

    @parent.setter
    def parent(self, func):
        self._parent = func
        _state.graph_version[0] += 1

    @property
    def rank(self) -> int:
        """The longest path from a leaf: 0 for a leaf, one more than its parent's deepest input otherwise."""
        return self._parent.rank + 1 if self._parent is not None else 0

    @property
    def get_number_of_references(self) -> int:
        """How many Variables hold this one's data array (NNabla's count of users of the same memory)."""
        import gc

        data = self._data
        return sum(1 for r in gc.get_referrers(data) if isinstance(r, Variable) and r._data is data)

    @property
    def shape(self) -> tuple:
        return self._data._shape

    @property
    def ndim(self) -> int:
        return len(self._data._shape)

    @property
    def size(self) -> int:
        return self._data.size

    def size_from_axis(self, axis: int = -1) -> int:
        return self._data.size_from_axis(axis)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d Variable")
        return self.shape[0]

    @property
    def info(self):
        return self._parent.info if self._parent is not None else None

    @property
    def function_references(self) -> list:
        """The functions that take this variable as an input, each once (``x * x`` is one function)."""
        consumers = self._consumers
        refs = [r() for r in consumers] if type(consumers) is list else [consumers()] if consumers is not None else []
        found = []
        for f in refs:
            if f is not None and all(f is not g for g in found) and any(x is self for x in f.inputs):
                found.append(f)
        return found

    def reset_shape(self, shape, force: bool = False) -> None:
        """Change the shape; without ``force`` the size must stay the same. Buffers are released."""
        shape = checked_shape(shape, "Variable.reset_shape")
        if not force and int(np.prod(shape, dtype=np.int64)) != self.size:
            raise ValueError(f"Variable.reset_shape: size of {shape} differs from {self.shape} (pass force=True)")
        dtype = self._data.dtype.type
        _replaced(self._data)
        _replaced(self._grad)
        _state.graph_version[0] += 1  # backward plans hold the shapes of inputs whose data they do not read
        self._data = NdArray(shape)
        self._data._dtype = dtype
        self._grad = None

    def reshape(self, shape, unlink: bool = False) -> Variable:
        """A Variable of ``shape`` sharing this one's data; linked into the graph unless ``unlink``."""
        shape = tuple(int(s) for s in shape)
        if unlink:
            v = Variable._wrap_ndarray(self._data.view(shape), self._need_grad)
            return v
        from . import functions as F

        return F.reshape(self, shape, inplace=True)

    def unlinked(self, need_grad=None) -> Variable:
        """A parentless Variable sharing this one's data and grad arrays."""
        v = Variable._new(self.shape, self._need_grad if need_grad is None else bool(need_grad))
        v._data = self._data
        v._grad = self._grad_nd()
        return v

    get_unlinked_variable = unlinked

    def no_grad(self) -> Variable:
        return self.unlinked(need_grad=False)

    def apply(self, **kwargs) -> Variable:
        """Set attributes by keyword and return self, e.g. ``nn.Variable(s).apply(need_grad=True)``."""
        for k, v in kwargs.items():
            setattr(self, k, v)
        return self

    def rewire_on(self, var: Variable) -> None:
        """Take over ``var``'s parent, data and need_grad: functions that consumed ``self`` now follow ``var``'s
        graph."""
        func = var._parent
        self._parent = func
        _replaced(self._data)
        self._data = var._data
        if func is not None:
            func._outputs = tuple(weakref.ref(self) if r() is var else r for r in func._outputs)
        var._parent = None
        # need_grad follows the new graph, as NNabla's does: self takes var's, and the functions after self
        # recompute their outputs' from their inputs
        changed = [self] if self._need_grad != var._need_grad else []
        self._need_grad = var._need_grad
        while changed:
            for f in changed.pop().function_references:
                need = any(x._need_grad for x in f.inputs if isinstance(x, Variable))
                for o in f.outputs:
                    if o is not None and o._need_grad != need:
                        o._need_grad = need
                        changed.append(o)
        _state.graph_version[0] += 1
        _state.param_version[0] += 1

    def clear_all_graph_links(self) -> None:
        for f in walk(self).order:
            for o in f.outputs:
                if o is not None:
                    o._parent = None
            f.inputs = []
        self._parent = None
        _state.graph_version[0] += 1

    def __setitem__(self, key, value) -> None:
        """``v[key] = value`` as NNabla: ``v`` becomes the output of a ScatterNd writing ``value`` into what it was.

        The new values appear on the next forward; gradients flow to ``value`` and to the entries kept.
        """
        from . import functions as F

        if isinstance(value, NdArray):
            value = Variable._wrap_ndarray(value)
        elif not isinstance(value, Variable):
            value = Variable.from_numpy_array(np.asarray(value))
        keys = key if isinstance(key, tuple) else (key,)
        keys = tuple(k.d if isinstance(k, Variable) else k.data if isinstance(k, NdArray) else k for k in keys)
        positions = np.arange(self.size).reshape(self.shape)[keys]
        positions = np.atleast_1d(positions)  # one element: ScatterNd takes one index column
        indices = np.stack(np.unravel_index(positions, self.shape)) if self.ndim else np.zeros((0,), np.int64)
        if value.shape != positions.shape:
            lead = (1,) * (positions.ndim - value.ndim)
            value = F.broadcast(F.reshape(value, lead + value.shape) if lead else value, positions.shape)
        previous = Variable._new(self.shape, self._need_grad)
        previous._data, previous._grad = self._data, self._grad
        func = self._parent
        if func is not None:  # the function that made self now makes ``previous``
            previous._parent = func
            func._outputs = tuple(weakref.ref(previous) if r() is self else r for r in func._outputs)
            self._parent = None
        self.rewire_on(F.scatter_nd(value, indices, out=previous))

    def bool_fill_(self, mask, value) -> Variable:
        """A BoolFill node writing ``value`` where ``mask`` is nonzero into this Variable's own data on forward."""
        from . import functions as F

        if not isinstance(mask, Variable):
            mask = Variable._wrap_ndarray(mask if isinstance(mask, NdArray) else NdArray.from_numpy_array(mask))
        return F.bool_fill(self, mask, value, outputs=[self._data])

    masked_fill_ = bool_fill_

    def __repr__(self) -> str:
        return f"<Variable({self.shape}, need_grad={self._need_grad}) at {hex(id(self))}>"

    # -- graph walk ---------------------------------------------------------------------------------
    def visit(self, f) -> None:
        """Call ``f(function)`` for every function leading to this variable, in forward order."""
        for func in walk(self).order:
            f(func)

    def visit_check(self, f) -> bool:
        """Like ``visit``, stopping (and returning True) when ``f`` returns True."""
        for func in walk(self).order:
            if f(func):
                return True
        return False

    def forward(
        self, clear_buffer=False, clear_no_need_grad=False, function_pre_hook=None, function_post_hook=None
    ) -> None:
        """Run every function leading to this variable, in topological order."""
        walked = walk(self)
        if _no_hooks(function_pre_hook, function_post_hook) and not walked.recomputes:
            runs = forward_run(walked, self, clear_buffer, clear_no_need_grad)
            if runs is not None:
                try:
                    for run in runs:
                        run()
                except Exception as e:
                    _reraise_located(e, run.function, "forward")
                return
        try:
            run_forward(
                walked.forward_steps(self, clear_buffer, clear_no_need_grad),
                _hooks(_state.function_pre_hooks, function_pre_hook),
                _hooks(_state.function_post_hooks, function_post_hook),
            )
        except Exception as e:
            _reraise_located(e, _stepping(e, run_forward), "forward")

    def backward(
        self, grad=1, clear_buffer=False, communicator_callbacks=None, function_pre_hook=None, function_post_hook=None
    ) -> None:
        """Propagate gradients from this variable to the leaves.

        ``grad`` is this variable's gradient for this pass only (its own grad is left as it was); ``None``
        starts from the gradient it already holds. ``communicator_callbacks`` (``Communicator.all_reduce_callback``)
        are called after each function's backward and at the end.
        """
        callbacks = ()
        if communicator_callbacks is not None:
            from .communicator import backward_callbacks

            callbacks, function_post_hook = backward_callbacks(communicator_callbacks, function_post_hook)
        walked = walk(self)
        saved = self._grad
        if grad is not None:
            self._grad = _initial_grad(grad, self._data._shape, self._data._dtype, self._data._array)
        else:
            self._grad_nd()
        clear = clear_buffer is True or bool(clear_buffer)
        try:
            if _no_hooks(function_pre_hook, function_post_hook) and not walked.recomputes:
                runs = backward_run(walked, self, clear)
                if runs is not None:
                    try:
                        for run in runs:
                            run()
                    except Exception as e:
                        _reraise_located(e, run.function, "backward")
                    return
            pre = _hooks(_state.function_pre_hooks, function_pre_hook)
            post = _hooks(_state.function_post_hooks, function_post_hook)
            if clear:  # the plan knows which step last reads each buffer
                run_backward(walked.backward_steps(self), self, clear_buffer, pre, post, walked.recomputes)
            else:
                walk_backward(walked.order, self, pre, post, walked.recomputes)
            for callback in callbacks:
                callback.on_finish_backward()
        except Exception as e:
            _reraise_located(e, _stepping(e, run_backward if clear else walk_backward), "backward")
        finally:
            if grad is not None:
                self._grad = saved


def _stepping(error, loop):
    """The function that ``loop`` (run_forward or run_backward) was running when ``error`` was raised: read off
    the innermost of its frames in the traceback, so the loop itself needs no bookkeeping."""
    func = None
    tb = error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code is loop.__code__:
            func = tb.tb_frame.f_locals.get("func")
        tb = tb.tb_next
    return func


def _reraise_located(error, func, phase):
    """Raise ``error`` (being handled) again, told which function and which user line it came from."""
    if func is None:
        raise error
    told = located(error, func, phase)
    if told is error:
        raise error
    raise told from None


def _replaced(nd) -> None:
    """Note that a Variable stops using ``nd``: solvers holding views of it must re-check."""
    if nd is not None and nd._watched:
        _state.param_version[0] += 1


def _initial_grad(grad, shape, data_dtype=np.float32, data=None) -> NdArray:
    """The root's gradient for one backward pass: an NdArray given is used as is, values are broadcast.

    It is made where the root's ``data`` lives (on the device for a device array: no host transfer).

    A root computed in half precision (a ``type_config='half'`` context) starts a half-precision backward, as
    NNabla's does: small gradients underflow and large ones overflow, which is what loss scaling is for.
    """
    if isinstance(grad, NdArray):
        return grad
    dtype = np.float16 if data_dtype is np.float16 else np.float32
    if data is not None and type(data) is not np.ndarray and is_device_array(data):
        xp = get_array_module(data)
        if is_device_array(grad) or isinstance(grad, np.ndarray) and grad.ndim:
            return NdArray._wrap(xp.array(xp.broadcast_to(to_device(grad, xp), shape), dtype))
        return NdArray._wrap(xp.full(shape, grad, dtype))
    if isinstance(grad, np.ndarray) and grad.ndim:
        return NdArray._wrap(np.array(np.broadcast_to(grad, shape), dtype))
    if shape == () and type(grad) in (int, float):  # a loss: one call instead of two
        return NdArray._wrap(np.array(grad, dtype))
    arr = np.empty(shape, dtype)
    arr.fill(grad)
    return NdArray._wrap(arr)


def _no_hooks(pre, post) -> bool:
    """Whether no function hook is set, for this call or globally (then a plan may run compiled)."""
    return (
        pre is None
        and post is None
        and not _state.function_pre_hooks
        and not _state.function_post_hooks
        and _state.clear_recorder[0] is None
    )


def _hooks(global_hooks: dict, local) -> tuple:
    if not global_hooks:
        return (local,) if local is not None else ()
    hooks = tuple(global_hooks.values())
    return hooks + (local,) if local is not None else hooks
