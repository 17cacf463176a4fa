"""``nnabla.solvers`` (S): NNabla's update rules over one flat buffer per solver.

``set_parameters`` moves every parameter's data and grad into two flat float32 arrays (each parameter keeps
a view), so ``update``, ``weight_decay`` and ``zero_grad`` are a few vectorized operations whatever the
number of parameters. If a parameter's buffer is replaced behind the solver's back (``param.d = float64
array``, ``param.data = NdArray``), the next call notices and rebuilds the flat buffers from the current values.
Noticing costs nothing per parameter: the buffers a solver holds views of bump ``param_version`` whenever they
are replaced, refilled or released (as does any need_grad change), and only then does a solver look closer.

The flat buffers and the state live where the context the solver was made in computes (numpy on 'cpu', cupy on
'cuda'/'cudnn'), as NNabla's solvers do. A parameter read on the other side since (``param.d`` on the host, say)
is synced back into its view before the solver touches it.

Rules and their float32 arithmetic follow NNabla's C++ solvers. As there, a parameter whose gradient is still
lazily zero (``zero_grad()`` and no backward reached it) is skipped by ``update``, ``weight_decay`` and
``clip_grad_by_norm``: its state and step count do not move. Parameters with ``need_grad=False`` are skipped too.
"""

from __future__ import annotations

import math
import numbers
import operator
import os
from collections import OrderedDict

import numpy as np

from . import _state
from ._array import ZERO_FILL, NdArray, to_device
from ._files import write_atomically
from ._variable import Variable
from .logger import logger

_fill_of = operator.attrgetter("_fill")  # an NdArray's pending fill, read in C over all parameters
_T_MAX = 2**32 - 2  # NNabla keeps the step count in a uint32 and stops it just below the maximum
_f32 = np.float32


UPDATE_CHUNK = 1 << 16  # elements of a chunk of the update (256 KiB of each float32 array: they fit the cache)


class SolverState:
    """Per-parameter state: ``pstate`` (state name -> Variable, e.g. Adam's ``mean`` and ``var``) and step ``t``."""

    def __init__(self, pstate=None, t=0):
        self.pstate = pstate if pstate is not None else OrderedDict()
        self.t = t

    def __repr__(self):
        return f"SolverState(t={self.t}, pstate={list(self.pstate)})"


def _described(value) -> str:
    kind = type(value).__name__
    if isinstance(value, (list, tuple)):
        return f"a {kind} of {len(value)} item(s)"
    return f"a {kind}"


def _number(where: str, what: str, value):
    """``value`` if it is a real number (a Python or numpy scalar); a clear TypeError naming it otherwise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        if not (isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf"):
            raise TypeError(f"{where}: {what} must be a number, got {value!r} ({type(value).__name__})")
    return value


class Solver:
    """Base of every solver: parameter bookkeeping, flat buffers, and the methods NNabla's Solver has."""

    state_names: tuple = ()  # NNabla's names of the per-parameter state arrays, e.g. ("mean", "var")
    lr_name = "lr"  # the hyperparameter that learning_rate() / set_learning_rate() read and write
    wd_name = None  # the fused weight-decay hyperparameter (AdamW, SgdW), whose value weight_decay() overrides
    fused_weight_decay = False
    per_parameter = False  # the rule needs whole-parameter norms (Lamb, Lars): ``_update`` sees one at a time

    def __init__(self, **hyper):
        # NNabla passes hyperparameters to C++ as float: keep that rounding in both the rule and ``info``
        for k, v in hyper.items():
            if not isinstance(v, bool):
                _number(f"{type(self).__name__}", k, v)
        self._hyper = {k: v if isinstance(v, bool) else _f32(v) for k, v in hyper.items()}
        self.info = {k: v if isinstance(v, bool) else float(_f32(v)) for k, v in hyper.items()}
        self._init_lr = self._hyper[self.lr_name]
        self._default_wd = self._hyper[self.wd_name] if self.wd_name else _f32(0)
        self._wd_rate = self._default_wd
        self._params: OrderedDict = OrderedDict()
        self._views = []  # (param, data view, grad view) per parameter
        self._grads = []  # each parameter's grad NdArray (valid while ``_version`` is current)
        self._version = -1  # param_version when every view was last seen intact
        self._all_need_grad = True
        from .context import get_current_context

        self._xp = get_current_context().resolve()[0]  # where the flat buffers and the state live
        self._rebuild({})

    # -- parameters ---------------------------------------------------------------------------------
    def set_parameters(self, param_dict, reset: bool = True, retain_state: bool = False) -> None:
        """Register ``param_dict`` (name -> Variable, e.g. ``nn.get_parameters()``).

        ``reset=False`` adds to (or replaces in) the registered ones; a replaced name keeps its state only with
        ``retain_state=True`` and the same shape.
        """
        if not hasattr(param_dict, "items"):
            raise TypeError(
                f"{self.name}.set_parameters: takes a dict of name -> Variable (e.g. nn.get_parameters()), got "
                f"{_described(param_dict)}"
            )
        for name, v in param_dict.items():
            if not isinstance(v, Variable):
                raise TypeError(f"{self.name}.set_parameters: {name!r} is a {type(v).__name__}, not a Variable")
        keep = {} if reset else self._per_param_states()
        if reset:
            self._params = OrderedDict()
        for name, v in param_dict.items():
            old = self._params.get(name)
            if old is not None:
                if retain_state and old.shape != v.shape:
                    raise ValueError(
                        f"{self.name}.set_parameters: could not retain the state of {name!r}: "
                        f"shape {v.shape} given, {old.shape} before"
                    )
                if not retain_state:
                    keep.pop(name, None)
            self._params[name] = v
        self._rebuild(keep)

    def remove_parameters(self, keys) -> None:
        """Unregister the parameters named in ``keys`` (and drop their states)."""
        keep = self._per_param_states()
        for k in keys:
            self._params.pop(k, None)
        self._rebuild(keep)

    def clear_parameters(self) -> None:
        """Unregister every parameter and drop all states."""
        self._params = OrderedDict()
        self._rebuild({})

    def get_parameters(self) -> OrderedDict:
        return OrderedDict(self._params)

    def _rebuild(self, keep: dict) -> None:
        """Gather every parameter into fresh flat buffers, point the parameters at views, restore ``keep``."""
        params = list(self._params.items())
        sizes = [v.size for _, v in params]
        self._offsets = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).astype(np.int64)
        total = int(self._offsets[-1])
        xp = self._xp
        self._flat_w = xp.empty(total, np.float32)
        self._flat_g = xp.empty(total, np.float32)
        self._segments = None  # per element, its parameter's index (on the device, made when first needed)
        # (NdArray, its device view) handed out by the last get_states: what is written into them is synced back
        self._state_views = []
        self._views = []
        self._grads = []
        for (name, v), start, end in zip(params, self._offsets[:-1], self._offsets[1:]):
            w = self._flat_w[start:end].reshape(v.shape)
            g = self._flat_g[start:end].reshape(v.shape)
            w[...] = v._data._on(xp)
            gnd = v._grad_nd()
            zeroing = gnd.zeroing
            g[...] = gnd._on(xp) if gnd._is_allocated() else 0
            v._data._set_array(w)
            gnd._set_array(g)
            if zeroing:
                gnd.zero()  # keep "untouched since zero_grad": update skips such parameters
            v._data._watched = gnd._watched = True
            self._views.append((v, w, g))
            self._grads.append(gnd)
        self._state = {s: xp.zeros(total, np.float32) for s in self.state_names}
        steps = np.zeros(len(params), np.int64)
        for i, (name, _) in enumerate(params):
            if name in keep:
                t, arrays = keep[name]
                steps[i] = t
                for s, a in arrays.items():
                    self._state[s][self._offsets[i] : self._offsets[i + 1]] = a.ravel()
        self._set_steps(steps)
        self._version = -1

    def _set_steps(self, steps) -> None:
        """Store the per-parameter step counts; while they are all equal they are kept as one int."""
        self._t = steps
        self._t_all = int(steps[0]) if len(steps) and (steps == steps[0]).all() else None

    def _steps(self) -> np.ndarray:
        """The step count of every parameter (an array the caller may modify and hand to ``_set_steps``)."""
        if self._t_all is not None:
            return np.full(len(self._views), self._t_all, np.int64)
        return self._t.copy()

    def _per_param_states(self) -> dict:
        out = {}
        steps = self._steps()
        for i, name in enumerate(self._params):
            if i >= len(steps):
                break
            start, end = self._offsets[i], self._offsets[i + 1]
            out[name] = (int(steps[i]), {s: self._state[s][start:end].copy() for s in self.state_names})
        return out

    def _sync(self) -> None:
        """Make sure every parameter still uses its views; O(1) unless some watched buffer or flag changed."""
        if self._version != _state.param_version[0]:
            self._resync()

    def _resync(self) -> None:
        """Check every parameter's buffers, carry out pending fills in place, and rebuild if a view was lost."""
        for v, w, g in self._views:  # a view read on the other side (host or device) since: synced back into it
            d, gnd = v._data, v._grad
            if d._array is not w and getattr(d, "_other", None) is w:
                d._on(self._xp)
            if gnd is not None and gnd._array is not g and getattr(gnd, "_other", None) is g:
                gnd._on(self._xp)
        self._sync_state_views()
        for v, w, g in self._views:
            d, gnd = v._data, v._grad
            if d._array is not w or gnd is None or gnd._array is not g:
                self._rebuild(self._per_param_states())
                break
        for v, w, g in self._views:
            if v._data._fill is not None:
                v._data._get()
            gnd = v._grad
            if gnd._fill is not None and not gnd.zeroing:
                gnd._get()
        # a lazily zero gradient keeps its flag (update skips the parameter); its values are zeroed on demand
        self._all_need_grad = all(v._need_grad for v, _, _ in self._views)
        self._version = _state.param_version[0]

    def _fills(self) -> list:
        """Each gradient's pending fill after ``_sync``: None (written since zero_grad) or 0 (untouched)."""
        return list(map(_fill_of, self._grads))

    def _touched(self, fills=None) -> np.ndarray:
        """Per parameter: its gradient was written since the last zero_grad (NNabla skips the others)."""
        fills = self._fills() if fills is None else fills
        return np.array([f is None for f in fills], bool)

    def _zero_untouched(self, fills) -> None:
        """Give the flat gradient buffer zeros where a gradient is still lazily zero (its flag stays)."""
        for (_, _, g), f in zip(self._views, fills):
            if f is not None:
                g[...] = 0

    def _elements(self, mask) -> np.ndarray:
        """Flat indices of the parameters selected by ``mask`` (on the solver's device)."""
        idx = np.repeat(mask, np.diff(self._offsets)).nonzero()[0]
        return idx if self._xp is np else self._xp.asarray(idx)

    def _per_element(self, values):
        """Per-parameter ``values`` (on the device) spread over each parameter's elements."""
        if self._segments is None:
            sizes = np.diff(self._offsets)
            self._segments = self._xp.asarray(np.repeat(np.arange(len(sizes)), sizes))
        return values[self._segments]

    def _hooks(self, count, pre, post) -> None:
        # NNabla runs the global and the given hooks once per parameter, each pre hook right before its post hook
        if pre is None and post is None and not _state.solver_pre_hooks and not _state.solver_post_hooks:
            return
        pres = list(_state.solver_pre_hooks.values()) + ([pre] if pre else [])
        posts = ([post] if post else []) + list(_state.solver_post_hooks.values())
        if not pres and not posts:
            return
        for _ in range(int(count)):
            for h in pres + posts:
                h()

    # -- gradients ----------------------------------------------------------------------------------
    def zero_grad(self) -> None:
        """Set every registered parameter's gradient to zero (lazily, as NNabla's ``zero()``)."""
        if self._version != _state.param_version[0]:
            self._resync()
        for g in self._grads:
            g._fill = ZERO_FILL  # directly: the solver's own zeroing must not count as a change behind its back

    def weight_decay(self, decay_rate: float, pre_hook=None, post_hook=None) -> None:
        """grad += decay_rate * data per parameter; in AdamW, SgdW and Lion, the decay of the next update."""
        if self.fused_weight_decay:
            self._wd_rate = _f32(_number(f"{self.name}.weight_decay", "decay_rate", decay_rate))
            return
        if _number(f"{self.name}.weight_decay", "decay_rate", decay_rate) == 0:
            return
        if self._version != _state.param_version[0]:
            self._resync()
        rate = _f32(decay_rate)
        if 0 not in map(_fill_of, self._grads):  # every gradient written: the common case
            if pre_hook is not None or post_hook is not None or _state.solver_pre_hooks or _state.solver_post_hooks:
                self._hooks(len(self._grads), pre_hook, post_hook)
            self._flat_g += rate * self._flat_w
            return
        touched = self._touched()
        self._hooks(touched.sum(), pre_hook, post_hook)
        idx = self._elements(touched)
        self._flat_g[idx] += rate * self._flat_w[idx]

    def _segment_sums(self, values) -> np.ndarray:
        xp = self._xp
        if not len(values):
            return xp.zeros(len(self._views), values.dtype)
        starts = self._offsets[:-1]
        sums = np.add.reduceat(values, starts if xp is np else xp.asarray(starts))
        empty = starts == self._offsets[1:]
        if empty.any():
            sums[empty if xp is np else xp.asarray(empty)] = 0
        return sums

    def clip_grad_by_norm(self, clip_norm: float, pre_hook=None, post_hook=None) -> None:
        """Per parameter: if ||grad|| > clip_norm, grad = clip_norm * grad / ||grad||."""
        if _number(f"{self.name}.clip_grad_by_norm", "clip_norm", clip_norm) == 0:
            return
        self._sync()
        fills = self._fills()
        self._zero_untouched(fills)
        self._hooks(self._touched(fills).sum(), pre_hook, post_hook)
        clip = _f32(clip_norm)
        sums = self._segment_sums(self._flat_g * self._flat_g)
        clipped = (sums > 0) & (sums > clip * clip)
        if self._xp is not np:  # on the device: no look at the host whether any is clipped
            self._flat_g *= self._per_element(np.where(clipped, clip, _f32(1)).astype(np.float32))
            self._flat_g /= self._per_element(np.where(clipped, np.sqrt(sums), _f32(1)).astype(np.float32))
            return
        if not clipped.any():
            return
        norms = np.where(clipped, np.sqrt(sums), _f32(1)).astype(np.float32)
        sizes = np.diff(self._offsets)
        self._flat_g *= np.repeat(np.where(clipped, clip, _f32(1)).astype(np.float32), sizes)
        self._flat_g /= np.repeat(norms, sizes)

    def scale_grad(self, scale: float, pre_hook=None, post_hook=None) -> None:
        """grad *= scale for every parameter."""
        _number(f"{self.name}.scale_grad", "scale", scale)
        self._sync()
        fills = self._fills()
        touched = self._touched(fills)
        self._hooks(touched.sum(), pre_hook, post_hook)
        if 0 not in fills:
            self._flat_g *= _f32(scale)
        else:
            self._flat_g[self._elements(touched)] *= _f32(scale)

    def _check(self, test, pre_hook, post_hook) -> bool:
        self._sync()
        fills = self._fills()
        self._zero_untouched(fills)
        self._hooks(self._touched(fills).sum(), pre_hook, post_hook)
        return bool(test(self._flat_g).any())  # untouched gradients hold zeros, which pass every test

    def check_inf_grad(self, pre_hook=None, post_hook=None) -> bool:
        """Whether any gradient holds an inf."""
        return self._check(np.isinf, pre_hook, post_hook)

    def check_nan_grad(self, pre_hook=None, post_hook=None) -> bool:
        """Whether any gradient holds a NaN."""
        return self._check(np.isnan, pre_hook, post_hook)

    def check_inf_or_nan_grad(self, pre_hook=None, post_hook=None) -> bool:
        """Whether any gradient holds an inf or a NaN."""
        return self._check(lambda g: ~np.isfinite(g), pre_hook, post_hook)

    # -- update ---------------------------------------------------------------------------------------
    def update(self, update_pre_hook=None, update_post_hook=None) -> None:
        """Apply one step of the update rule to every parameter with need_grad whose gradient was written."""
        if self._version != _state.param_version[0]:
            self._resync()
        grads = self._grads
        if (
            self._all_need_grad
            and self._t_all is not None
            and grads
            and not self.per_parameter
            and 0 not in map(_fill_of, grads)
        ):
            # the common case: every parameter steps, all at the same count
            if (
                update_pre_hook is not None
                or update_post_hook is not None
                or _state.solver_pre_hooks
                or _state.solver_post_hooks
            ):
                self._hooks(len(grads), update_pre_hook, update_post_hook)
            t = self._t_all = min(self._t_all + 1, _T_MAX)
            self._update_in_chunks(t)
        else:
            self._update_some(self._fills(), update_pre_hook, update_post_hook)
        self._wd_rate = self._default_wd  # a weight_decay() rate lasts one update, as in NNabla

    def _update_in_chunks(self, t) -> None:
        """The rule on every parameter at step ``t``: on numpy, a chunk of ``UPDATE_CHUNK`` elements at a time (of
        the flat weights, gradients and states), so that each chunk's passes (a rule makes three to eight, each
        with its temporary) read it from the cache, not from memory: on 1.9 million parameters, Adam takes 0.61
        of the time, Momentum 0.92. The rules are elementwise (``per_parameter`` ones never come here), so every
        element gets the same operations in the same order, and the same bits."""
        w, g, state = self._flat_w, self._flat_g, self._state
        if self._xp is not np or w.size <= 2 * UPDATE_CHUNK:
            self._update(w, g, state, t)
            return
        for lo in range(0, w.size, UPDATE_CHUNK):
            part = slice(lo, lo + UPDATE_CHUNK)
            self._update(w[part], g[part], {k: a[part] for k, a in state.items()}, t)

    def _update_some(self, fills, pre_hook, post_hook) -> None:
        """``update`` where some parameters sit out (untouched or need_grad=False) or step counts differ."""
        active = self._touched(fills) & np.array([v._need_grad for v, _, _ in self._views], bool)
        self._hooks(active.sum(), pre_hook, post_hook)
        if not active.any():
            return
        all_steps = self._steps()
        all_steps[active] = np.minimum(all_steps[active] + 1, _T_MAX)
        self._set_steps(all_steps)
        if self.per_parameter:
            for i in active.nonzero()[0]:
                part = slice(self._offsets[i], self._offsets[i + 1])
                state = {k: a[part] for k, a in self._state.items()}
                self._update(self._flat_w[part], self._flat_g[part], state, int(all_steps[i]))
            return
        steps = all_steps[active]
        uniform = bool((steps == steps[0]).all())
        if not uniform and self._xp is not np:  # on the device: one update per step count, t a number in each
            for t in np.unique(steps):
                chosen = active & (all_steps == t)
                idx = self._elements(chosen)
                w, g = self._flat_w[idx], self._flat_g[idx]
                state = {k: a[idx] for k, a in self._state.items()}
                self._update(w, g, state, int(t))
                self._flat_w[idx] = w
                for k, a in state.items():
                    self._state[k][idx] = a
            return
        if active.all():
            t = int(steps[0]) if uniform else np.repeat(steps, np.diff(self._offsets))
            self._update(self._flat_w, self._flat_g, self._state, t)
            return
        idx = self._elements(active)
        w, g = self._flat_w[idx], self._flat_g[idx]
        state = {k: a[idx] for k, a in self._state.items()}
        t = int(steps[0]) if uniform else all_steps.repeat(np.diff(self._offsets))[idx]
        self._update(w, g, state, t)
        self._flat_w[idx] = w
        for k, a in state.items():
            self._state[k][idx] = a

    def _update(self, w, g, s, t) -> None:
        """The update rule, in place on flat float32 arrays; ``t`` is the step (int, or an int array per element)."""
        raise NotImplementedError

    def _h(self, name):
        return self._hyper[name]

    # -- learning rate ------------------------------------------------------------------------------------
    def learning_rate(self) -> float:
        """The current learning rate (``alpha`` for the Adam family, ``lr`` otherwise)."""
        return float(self._hyper[self.lr_name])

    def set_learning_rate(self, learning_rate: float) -> None:
        self._hyper[self.lr_name] = _f32(_number(f"{self.name}.set_learning_rate", "learning_rate", learning_rate))

    # -- states ---------------------------------------------------------------------------------------
    def get_states(self) -> OrderedDict:
        """name -> SolverState whose ``pstate`` Variables share memory with the solver's state."""
        self._sync()
        self._sync_state_views()  # (only the latest ones are kept on a device)
        self._state_views = []
        out = OrderedDict()
        steps = self._steps()
        for i, (name, v) in enumerate(self._params.items()):
            start, end = self._offsets[i], self._offsets[i + 1]
            pstate = OrderedDict(
                (s, Variable._wrap_ndarray(self._state_view(self._state[s][start:end].reshape(v.shape))))
                for s in self.state_names
            )
            out[name] = SolverState(pstate, int(steps[i]))
        return out

    def _sync_state_views(self) -> None:
        for nd, view in self._state_views:
            if nd._array is not view and getattr(nd, "_other", None) is view:
                nd._on(self._xp)

    def _state_view(self, view) -> NdArray:
        """An NdArray sharing ``view`` of the state; on a device, what is written into its ``.d`` is synced back."""
        nd = NdArray._wrap(view)
        if self._xp is not np:  # its .d is a host copy: reading it makes the solver look again before it acts
            nd._watched = True
            self._state_views.append((nd, view))
        return nd

    def _checked_states(self, states, where) -> list:
        """(index, SolverState) for ``states``, after checking every name, state and size."""
        self._sync()
        names = list(self._params)
        out = []
        for name, st in states.items():
            if name not in self._params:
                raise ValueError(f"{where}: {name!r} is not a parameter of this solver; call set_parameters first")
            i = names.index(name)
            size = int(self._offsets[i + 1] - self._offsets[i])
            for s, var in st.pstate.items():
                if s not in self._state:
                    raise ValueError(f"{where}: unknown state {s!r} of {name!r} ({self.name} has {self.state_names})")
                n = var.size if isinstance(var, Variable) else np.size(var)
                if n != size:
                    raise ValueError(f"{where}: state {s!r} of {name!r} has {n} values, the parameter has {size}")
            out.append((i, st))
        return out

    def set_states(self, states) -> None:
        """Set states (name -> SolverState) of registered parameters."""
        steps = self._steps()
        for i, st in self._checked_states(states, f"{self.name}.set_states"):
            start, end = self._offsets[i], self._offsets[i + 1]
            for s, var in st.pstate.items():
                arr = var.data._get() if isinstance(var, Variable) else var
                self._state[s][start:end] = to_device(arr, self._xp).ravel()
            steps[i] = int(st.t)
        self._set_steps(steps)

    def save_states(self, path) -> None:
        """Write the states to an ``.h5`` file in NNabla's layout (``<param>/<state>``, ``<param>/t``), atomically."""
        import h5py

        path = os.fspath(path)
        ext = os.path.splitext(path)[1]
        if ext == ".protobuf":  # NNabla's other state format: an Optimizer message
            from .utils._model_files import save_states_protobuf

            return save_states_protobuf(self, path)
        if ext != ".h5":
            raise ValueError(f"{self.name}.save_states: unsupported file extension {ext!r} for {path!r} (use .h5)")

        def write(target):
            with h5py.File(target, "w") as hd:
                for i, (pname, st) in enumerate(self.get_states().items()):
                    group = hd.create_group(pname)
                    group.create_dataset("t", data=st.t)
                    group.attrs["index"] = i
                    for j, (sname, var) in enumerate(st.pstate.items()):
                        group.create_dataset(sname, data=var.d)
                        group[sname].attrs["index"] = j

        write_atomically(path, write)
        logger.info(f"Solver state save ({ext}): {path}")

    def load_states(self, path) -> None:
        """Read a state file written by ``save_states``; nothing changes unless the whole file is valid."""
        import h5py

        path = os.fspath(path)
        where = f"{self.name}.load_states"
        if not os.path.exists(path):
            raise FileNotFoundError(f"{where}: no such file: {path!r}")
        if os.path.splitext(path)[1] == ".protobuf":
            from .utils._model_files import load_states_protobuf

            return load_states_protobuf(self, path)
        groups = {}  # parameter name -> (index, {state name: array}, t)
        try:
            with h5py.File(path, "r") as hd:

                def visit(name, obj):
                    if isinstance(obj, h5py.Dataset) and "/" in name:
                        pname, sname = name.rsplit("/", 1)
                        entry = groups.setdefault(pname, [obj.parent.attrs.get("index", len(groups)), {}, 0])
                        if sname == "t":
                            entry[2] = int(obj[()])
                        else:
                            entry[1][sname] = obj[...]

                hd.visititems(visit)
        except OSError as e:
            raise ValueError(f"{where}: {path!r} is not a readable .h5 solver state file ({e})") from None
        states = OrderedDict()
        for pname, (_, arrays, t) in sorted(groups.items(), key=lambda kv: (int(kv[1][0]), kv[0])):
            states[pname] = SolverState(OrderedDict((s, Variable.from_numpy_array(a)) for s, a in arrays.items()), t)
        self._checked_states(states, where)
        self.set_states(states)
        logger.info(f"State load (.h5): {path}")

    def set_states_to_protobuf(self, optimizer) -> None:
        """Write the states into an ``Optimizer`` message (``optimizer.solver.states``), as NNabla does."""
        from .utils._model_files import states_to_protobuf

        states_to_protobuf(self.get_states(), optimizer)

    def set_states_from_protobuf(self, optimizer_proto) -> None:
        """Set the states from an ``Optimizer`` message; nothing changes unless all of them fit."""
        from .utils._model_files import states_from_protobuf

        states = states_from_protobuf(optimizer_proto, SolverState)
        self._checked_states(states, f"{self.name}.set_states_from_protobuf")
        self.set_states(states)

    @property
    def name(self) -> str:
        """NNabla's solver name, e.g. ``'Adam'``."""
        return type(self).__name__

    def setup(self, params) -> None:
        raise RuntimeError("Deprecated. Call set_parameters(param_dict).")

    def weight_decay_is_fused(self) -> bool:
        """Whether weight_decay() only sets the decay that the next update applies (AdamW, SgdW, Lion)."""
        return self.fused_weight_decay

    def __repr__(self) -> str:
        hp = ", ".join(f"{k}={v}" for k, v in self.info.items())
        return f"{self.name}({hp})"


def _bias_factor(t, f) -> np.float32:
    """``f(t)`` in float64 (NNabla computes its powers of beta in double), rounded to float32."""
    if type(t) is int:
        return _f32(f(float(t)))  # Python floats are float64: the same arithmetic without numpy's call overhead
    return _f32(f(np.asarray(t, np.float64)))


class Sgd(Solver):
    """Stochastic gradient descent: w -= lr * g (NNabla's Sgd)."""

    def __init__(self, lr=0.001):
        super().__init__(lr=lr)

    def _update(self, w, g, s, t):
        w -= self._h("lr") * g


class Momentum(Solver):
    """SGD with momentum: m = momentum * m + lr * g; w -= m (NNabla's Momentum)."""

    state_names = ("m",)

    def __init__(self, lr=0.001, momentum=0.9):
        super().__init__(lr=lr, momentum=momentum)

    def _update(self, w, g, s, t):
        m = s["m"]
        m *= self._h("momentum")
        m += self._h("lr") * g
        w -= m


class Nesterov(Solver):
    """Nesterov accelerated gradient: v' = mu v - lr g; w += -mu v + (1 + mu) v' (NNabla's Nesterov)."""

    state_names = ("m",)

    def __init__(self, lr=0.001, momentum=0.9):
        super().__init__(lr=lr, momentum=momentum)

    def _update(self, w, g, s, t):
        mu = self._h("momentum")
        m = s["m"]
        previous = m.copy()
        m *= mu
        m -= self._h("lr") * g
        w += -mu * previous + (_f32(1) + mu) * m


class Adagrad(Solver):
    """Adagrad: v += g^2; w -= lr * g / (sqrt(v) + eps) (NNabla's Adagrad)."""

    state_names = ("v",)

    def __init__(self, lr=0.01, eps=1e-08):
        super().__init__(lr=lr, eps=eps)

    def _update(self, w, g, s, t):
        v = s["v"]
        v += g * g
        w -= self._h("lr") * g / (np.sqrt(v) + self._h("eps"))


class Adadelta(Solver):
    """Adadelta: running averages of g^2 and of the squared step set the step size (NNabla's Adadelta)."""

    state_names = ("e_sqr_grad", "e_sqr_delta")

    def __init__(self, lr=1.0, decay=0.95, eps=1e-06):
        super().__init__(lr=lr, decay=decay, eps=eps)

    def _update(self, w, g, s, t):
        decay, eps = self._h("decay"), self._h("eps")
        e_grad, e_delta = s["e_sqr_grad"], s["e_sqr_delta"]
        e_grad *= decay
        e_grad += g * g * (_f32(1) - decay)
        delta = np.sqrt((e_delta + eps) / (e_grad + eps)) * g
        e_delta *= decay
        e_delta += delta * delta * (_f32(1) - decay)
        w -= self._h("lr") * delta


class RMSprop(Solver):
    """RMSprop: v = decay v + (1 - decay) g^2; w -= lr / (sqrt(v) + eps) * g (NNabla's RMSprop)."""

    state_names = ("v",)

    def __init__(self, lr=0.001, decay=0.9, eps=1e-08):
        super().__init__(lr=lr, decay=decay, eps=eps)

    def _update(self, w, g, s, t):
        decay = self._h("decay")
        v = s["v"]
        v *= decay
        v += g * g * (_f32(1) - decay)
        w -= self._h("lr") / (np.sqrt(v) + self._h("eps")) * g


class RMSpropGraves(Solver):
    """Graves' RMSprop: centred second moment and momentum on the step (NNabla's RMSpropGraves)."""

    state_names = ("n", "g", "d")

    def __init__(self, lr=0.0001, decay=0.95, momentum=0.9, eps=0.0001):
        super().__init__(lr=lr, decay=decay, momentum=momentum, eps=eps)

    def _update(self, w, g, s, t):
        decay = self._h("decay")
        n, mean_g, d = s["n"], s["g"], s["d"]
        n *= decay
        n += (_f32(1) - decay) * g * g
        mean_g *= decay
        mean_g += (_f32(1) - decay) * g
        d *= self._h("momentum")
        d -= self._h("lr") * g / np.sqrt(n - mean_g * mean_g + self._h("eps"))
        w += d


class Adam(Solver):
    """Adam: moments mean, var; w -= alpha * sqrt(1 - beta2^t) / (1 - beta1^t) * mean / (sqrt(var) + eps)."""

    state_names = ("mean", "var")
    lr_name = "alpha"

    def __init__(self, alpha=0.001, beta1=0.9, beta2=0.999, eps=1e-08):
        super().__init__(alpha=alpha, beta1=beta1, beta2=beta2, eps=eps)

    _betas = None  # (beta1, 1 - beta1, beta2, 1 - beta2) in float32, made on first use (betas never change)

    def _moments(self, g, s):
        betas = self._betas
        if betas is None:
            b1, b2 = self._hyper["beta1"], self._hyper["beta2"]
            betas = self._betas = (b1, _f32(1) - b1, b2, _f32(1) - b2)
        b1, c1, b2, c2 = betas
        m, v = s["mean"], s["var"]
        m *= b1
        m += c1 * g
        v *= b2
        v += c2 * g * g
        return m, v

    def _alpha_t(self, t, bias_correction=True):
        hyper = self._hyper
        if not bias_correction:
            return hyper["alpha"]
        b1, b2 = float(hyper["beta1"]), float(hyper["beta2"])
        if type(t) is int:  # in Python floats, which are float64 as NNabla's powers of beta
            return hyper["alpha"] * _f32(math.sqrt(1 - b2**t) / (1 - b1**t))
        return hyper["alpha"] * _bias_factor(t, lambda t: np.sqrt(1 - b2**t) / (1 - b1**t))

    def _update(self, w, g, s, t):
        m, v = self._moments(g, s)
        w -= self._alpha_t(t) * m / (np.sqrt(v) + self._hyper["eps"])


class AdamW(Adam):
    """Adam with decoupled weight decay: w -= alpha_t m / (sqrt(v) + eps) + (alpha / alpha_0) * wd * w."""

    wd_name = "wd"
    fused_weight_decay = True

    def __init__(self, alpha=0.001, beta1=0.9, beta2=0.999, eps=1e-08, wd=0.0001):
        Solver.__init__(self, alpha=alpha, beta1=beta1, beta2=beta2, eps=eps, wd=wd)

    def _update(self, w, g, s, t):
        decay = (self._h("alpha") / self._init_lr) * self._wd_rate * w
        m, v = self._moments(g, s)
        w -= self._alpha_t(t) * m / (np.sqrt(v) + self._h("eps"))
        w -= decay


class Adamax(Solver):
    """Adamax: u = max(beta2 u, |g|); w -= alpha / (1 - beta1^t) * m / (u + eps) (NNabla's Adamax)."""

    state_names = ("m", "u")
    lr_name = "alpha"

    def __init__(self, alpha=0.002, beta1=0.9, beta2=0.999, eps=1e-08):
        super().__init__(alpha=alpha, beta1=beta1, beta2=beta2, eps=eps)

    def _update(self, w, g, s, t):
        b1, b2 = self._h("beta1"), self._h("beta2")
        m, u = s["m"], s["u"]
        m *= b1
        m += (_f32(1) - b1) * g
        np.maximum(b2 * u, np.abs(g), out=u)
        alpha_t = self._h("alpha") * _bias_factor(t, lambda t: 1 / (1 - float(b1) ** t))
        w -= alpha_t * m / (u + self._h("eps"))


class AMSGRAD(Adam):
    """AMSGrad: Adam with v_hat = max(v_hat, v) in the denominator; bias correction optional (NNabla's AMSGRAD)."""

    state_names = ("m", "v", "v_hat")

    def __init__(self, alpha=0.001, beta1=0.9, beta2=0.999, eps=1e-08, bias_correction=False):
        Solver.__init__(self, alpha=alpha, beta1=beta1, beta2=beta2, eps=eps, bias_correction=bias_correction)

    def _update(self, w, g, s, t):
        m, v = self._moments(g, {"mean": s["m"], "var": s["v"]})
        v_hat = s["v_hat"]
        np.maximum(v_hat, v, out=v_hat)
        w -= self._alpha_t(t, self._h("bias_correction")) * m / (np.sqrt(v_hat) + self._h("eps"))


class SgdW(Solver):
    """Momentum SGD with decoupled weight decay: m = mu m + lr g; w -= m + (lr / lr_0) * wd * w (NNabla's SgdW)."""

    state_names = ("m",)
    wd_name = "wd"
    fused_weight_decay = True

    def __init__(self, lr=0.001, momentum=0.9, wd=0.0001):
        super().__init__(lr=lr, momentum=momentum, wd=wd)

    def _update(self, w, g, s, t):
        decay = (self._h("lr") / self._init_lr) * self._wd_rate * w
        m = s["m"]
        m *= self._h("momentum")
        m += self._h("lr") * g
        w -= m
        w -= decay


class Lion(Solver):
    """Lion: w -= lr * (sign(lerp(g, m, beta1)) + wd * w); m = lerp(g, m, beta2) (NNabla's Lion)."""

    state_names = ("m",)
    fused_weight_decay = True

    def __init__(self, lr=0.0001, beta1=0.9, beta2=0.99):
        super().__init__(lr=lr, beta1=beta1, beta2=beta2)

    def _update(self, w, g, s, t):
        m = s["m"]
        u = np.sign(g + self._h("beta1") * (m - g))
        step = self._h("lr") * (u + self._wd_rate * w)
        m -= g
        m *= self._h("beta2")
        m += g
        w -= step


def _bounded_step(solver, m, denom, t, upper_of) -> np.ndarray:
    """AdaBound's and AMSBound's step size: alpha_t / denom clipped to [lower(t), upper(t)] around final_lr."""
    h = solver._hyper
    bias = solver._h("bias_correction") if "bias_correction" in h else True
    final_lr = h["final_lr"] * (h["alpha"] / solver._init_lr)
    t32 = _f32(t) if type(t) is int else np.asarray(t, np.float32)
    gamma_t = h["gamma"] * t32
    lower = final_lr * (_f32(1) - _f32(1) / (gamma_t + _f32(1)))
    upper = final_lr * upper_of(gamma_t, h["gamma"], t32)
    return np.minimum(upper, np.maximum(solver._alpha_t(t, bias) / denom, lower))


class AdaBound(Adam):
    """AdaBound: Adam with each element's step clipped into bounds closing in on ``final_lr`` (NNabla's AdaBound)."""

    def __init__(self, alpha=0.001, beta1=0.9, beta2=0.999, eps=1e-08, final_lr=0.1, gamma=0.001):
        Solver.__init__(self, alpha=alpha, beta1=beta1, beta2=beta2, eps=eps, final_lr=final_lr, gamma=gamma)

    def _update(self, w, g, s, t):
        m, v = self._moments(g, s)
        # upper bound final_lr * (1 + 1 / (gamma t))
        eta = _bounded_step(self, m, np.sqrt(v) + self._h("eps"), t, lambda gt, gamma, t: _f32(1) + _f32(1) / gt)
        w -= eta * m


class AMSBound(Adam):
    """AMSBound: AdaBound with v_hat = max(v_hat, v); bias correction optional (NNabla's AMSBound).

    As in NNabla 1.36, the upper bound is final_lr * (1 + t / gamma), not AdaBound's 1 + 1 / (gamma t).
    """

    state_names = ("m", "v", "v_hat")

    def __init__(
        self, alpha=0.001, beta1=0.9, beta2=0.999, eps=1e-08, final_lr=0.1, gamma=0.001, bias_correction=False
    ):
        Solver.__init__(
            self,
            alpha=alpha,
            beta1=beta1,
            beta2=beta2,
            eps=eps,
            final_lr=final_lr,
            gamma=gamma,
            bias_correction=bias_correction,
        )

    def _update(self, w, g, s, t):
        m, v = self._moments(g, {"mean": s["m"], "var": s["v"]})
        v_hat = s["v_hat"]
        np.maximum(v_hat, v, out=v_hat)
        eta = _bounded_step(
            self, m, np.sqrt(v_hat) + self._h("eps"), t, lambda gt, gamma, t: _f32(1) + _f32(1) / gamma * t
        )
        w -= eta * m


class AdaBelief(Adam):
    """AdaBelief: Adam whose second moment tracks (g - m)^2, the 'belief' in the gradient (NNabla's AdaBelief).

    ``weight_decouple=True`` decays the weights inside the update (by ``wd * alpha``, or ``wd`` with
    ``fixed_decay``); ``amsgrad`` keeps the running maximum ``s_max``; ``rectify`` applies RAdam's variance
    rectification, stepping as plain momentum SGD while it is undefined. As in NNabla, eps is added to the
    stored second moment at every step.
    """

    wd_name = "wd"

    def __init__(
        self,
        alpha=0.001,
        beta1=0.9,
        beta2=0.999,
        eps=1e-08,
        wd=0.0,
        amsgrad=False,
        weight_decouple=False,
        fixed_decay=False,
        rectify=False,
    ):
        Solver.__init__(
            self,
            alpha=alpha,
            beta1=beta1,
            beta2=beta2,
            eps=eps,
            wd=wd,
            amsgrad=amsgrad,
            weight_decouple=weight_decouple,
            fixed_decay=fixed_decay,
            rectify=rectify,
        )
        self.fused_weight_decay = bool(weight_decouple)
        self.state_names = ("mean", "var", "s_max") if amsgrad else ("mean", "var")
        self._rebuild({})

    def _update(self, w, g, s, t):
        h = self._hyper
        b1, b2, eps, alpha = h["beta1"], h["beta2"], h["eps"], h["alpha"]
        t64 = np.asarray(t, np.float64)
        # NNabla rounds beta^t to float before forming the corrections (in double)
        b1t = (float(b1) ** t64).astype(np.float32).astype(np.float64)
        b2t = (float(b2) ** t64).astype(np.float32).astype(np.float64)
        correction1 = (1.0 - b1t).astype(np.float32)
        correction2 = np.sqrt(1.0 - b2t).astype(np.float32)
        alpha_t = np.full(np.shape(t64), alpha, np.float32)
        sgd_step = np.zeros(np.shape(t64), bool)
        if h["rectify"]:
            rho_inf = 2.0 / (1.0 - float(b2)) - 1.0
            rho_t = (rho_inf - 2.0 * t64 * b2t / (1.0 - b2t)).astype(np.float32).astype(np.float64)
            with np.errstate(invalid="ignore", divide="ignore"):
                r_t = np.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            sgd_step = rho_t <= 4.0
            alpha_t = np.where(sgd_step, alpha_t, alpha * r_t.astype(np.float32) / correction1).astype(np.float32)
        else:
            alpha_t = (alpha / correction1).astype(np.float32)
        if type(t) is int:  # numbers, not 0-d host arrays, for the device
            alpha_t, correction2, sgd_step = alpha_t[()], correction2[()], bool(sgd_step)
        m, v = s["mean"], s["var"]
        m *= b1
        m += (_f32(1) - b1) * g
        v *= b2
        v += (_f32(1) - b2) * np.square(g - m)
        if self.fused_weight_decay:
            w -= w * (self._wd_rate if h["fixed_decay"] else self._wd_rate * alpha)
        if h["amsgrad"]:
            s_max = s["s_max"]
            np.maximum(s_max, v, out=s_max)
            s_max += eps
            second = s_max
        else:
            v += eps
            second = v
        adaptive = alpha_t * m / (np.sqrt(second) / correction2 + eps)
        w -= np.where(sgd_step, alpha_t * m, adaptive) if np.any(sgd_step) else adaptive


class Lamb(Adam):
    """LAMB: Adam's direction (plus decay) rescaled per parameter by the trust ratio ||w|| / ||r|| (NNabla's Lamb).

    ||w|| is clipped into [gamma_l, gamma_u]; weight_decay() gives the decay of the next update.
    """

    lr_name = "eta"
    fused_weight_decay = True
    per_parameter = True

    def __init__(self, eta=0.001, beta1=0.9, beta2=0.999, gamma_l=0.0, gamma_u=10.0, eps=1e-06, bias_correction=False):
        Solver.__init__(
            self,
            eta=eta,
            beta1=beta1,
            beta2=beta2,
            gamma_l=gamma_l,
            gamma_u=gamma_u,
            eps=eps,
            bias_correction=bias_correction,
        )

    def _update(self, w, g, s, t):
        h = self._hyper
        m, v = self._moments(g, s)
        if h["bias_correction"]:
            correction1 = _f32(1 - float(h["beta1"]) ** t)
            correction2 = _f32(1 - float(h["beta2"]) ** t)
        else:
            correction1 = correction2 = _f32(1)
        r = (m / correction1) / (np.sqrt(v / correction2) + h["eps"])
        r += self._wd_rate * w
        r_norm = np.sqrt(np.dot(r, r))
        w_norm = np.minimum(np.maximum(np.sqrt(np.dot(w, w)), h["gamma_l"]), h["gamma_u"])
        # (selected where the norms are, so a device needs no look at them from the host)
        local_lr = np.where(r_norm > h["eps"], w_norm / np.where(r_norm > 0, r_norm, 1), _f32(1)).astype(np.float64)
        # NNabla forms eta * local_lr * r in double
        w[...] = w - float(h["eta"]) * local_lr * r.astype(np.float64)


class Lars(Solver):
    """LARS: momentum SGD with a per-parameter rate lr * coefficient * ||w|| / (||g|| + wd ||w||) (NNabla's Lars).

    weight_decay() gives the decay of the next update; as in NNabla, the update adds it into the gradient.
    """

    state_names = ("v",)
    fused_weight_decay = True
    per_parameter = True

    def __init__(self, lr=0.001, momentum=0.9, coefficient=0.001, eps=1e-06):
        super().__init__(lr=lr, momentum=momentum, coefficient=coefficient, eps=eps)

    def _update(self, w, g, s, t):
        h = self._hyper
        g_norm = np.sqrt(np.dot(g, g))
        w_norm = np.sqrt(np.dot(w, w))
        x = g_norm + self._wd_rate * w_norm
        x = np.where(x < h["eps"], x + h["eps"], x)  # selected on the device, no look from the host
        lr = np.where(w_norm < h["eps"], h["lr"], h["lr"] * h["coefficient"] * w_norm / x).astype(np.float32)
        g += self._wd_rate * w
        v = s["v"]
        v *= h["momentum"]
        v += lr * g
        w -= v


def solver_api(func):
    """NNabla's ``solver_api`` decorator: ``func(ctx, *args)`` becomes ``f(*args)`` given the current context."""
    import functools
    import inspect

    from .context import get_current_context

    signature = inspect.signature(func)
    parameters = list(signature.parameters.values())
    if not parameters or parameters[0].name != "ctx":
        raise ValueError(f"solver_api: the first argument of {func.__name__} must be named 'ctx'")

    @functools.wraps(func)
    def with_context(*args, **kwargs):
        return func(get_current_context(), *args, **kwargs)

    with_context.__signature__ = signature.replace(parameters=parameters[1:])
    with_context.__solver_api_base__ = func
    return with_context
