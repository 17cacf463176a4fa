"""``nnabla.solvers`` (S): NNabla's update rules over one flat buffer per solver.

``set_parameters`` moves every float32 parameter's data and grad into two flat arrays (each parameter keeps
a view), so ``update``, ``weight_decay`` and ``zero_grad`` are a few vectorized operations whatever the
number of parameters. If a parameter's buffer is replaced behind the solver's back, the next call notices
and rebuilds the flat buffers from the current values.
"""

from __future__ import annotations

import os
import tempfile
from collections import OrderedDict

import numpy as np

from . import _state
from ._variable import Variable


class SolverState:
    """Per-parameter state: ``pstate`` (name -> Variable, e.g. Adam's ``m`` and ``v``) and step count ``t``."""

    def __init__(self, pstate=None, t=0):
        self.pstate = pstate if pstate is not None else OrderedDict()
        self.t = t

    def __repr__(self):
        return f"SolverState(t={self.t}, pstate={list(self.pstate)})"


class Solver:
    """Base of every solver: parameter bookkeeping, flat buffers, and the methods NNabla's Solver has."""

    state_names: tuple = ()  # names of per-parameter state arrays, e.g. ("m", "v")
    lr_name = "lr"

    def __init__(self, **hyper):
        self._hyper = hyper
        self._params: OrderedDict = OrderedDict()
        self._flat_w = self._flat_g = None
        self._views = []  # (param, data view, grad view) per parameter
        self._offsets = np.zeros(1, np.int64)
        self._state = {}  # state name -> flat array
        self._t = np.zeros(0, np.int64)  # per-parameter step counts

    # -- parameters ---------------------------------------------------------------------------------
    def set_parameters(self, params, reset: bool = True, retain_state: bool = False) -> None:
        """Register ``params`` (a dict name -> Variable, e.g. from ``nn.get_parameters()``)."""
        old = self.get_states() if retain_state else {}
        if reset:
            self._params = OrderedDict()
        for name, v in params.items():
            if not isinstance(v, Variable):
                raise TypeError(f"{self.name}.set_parameters: {name!r} is a {type(v).__name__}, not a Variable")
            self._params[name] = v
        self._rebuild(keep_state=not reset)
        if retain_state:
            self.set_states({k: s for k, s in old.items() if k in self._params})

    def remove_parameters(self, keys) -> None:
        for k in keys:
            self._params.pop(k, None)
        self._rebuild(keep_state=False)

    def clear_parameters(self) -> None:
        self._params = OrderedDict()
        self._rebuild(keep_state=False)

    def get_parameters(self) -> OrderedDict:
        return OrderedDict(self._params)

    def _rebuild(self, keep_state: bool) -> None:
        """Gather every parameter into fresh flat buffers and point the parameters at views of them."""
        old_states = self._per_param_states() if keep_state and self._views else {}
        params = list(self._params.items())
        sizes = [v.size for _, v in params]
        self._offsets = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).astype(np.int64)
        total = int(self._offsets[-1])
        self._flat_w = np.empty(total, np.float32)
        self._flat_g = np.empty(total, np.float32)
        self._views = []
        for (name, v), start, end in zip(params, self._offsets[:-1], self._offsets[1:]):
            w = self._flat_w[start:end].reshape(v.shape)
            g = self._flat_g[start:end].reshape(v.shape)
            w[...] = v._data._get()
            gnd = v._grad_nd()
            g[...] = gnd._get() if gnd._is_allocated() else 0
            v._data._set_array(w)
            gnd._set_array(g)
            self._views.append((v, w, g))
        self._state = {s: np.zeros(total, np.float32) for s in self.state_names}
        self._t = np.zeros(len(params), np.int64)
        for i, (name, _) in enumerate(params):
            if name in old_states:
                t, arrays = old_states[name]
                self._t[i] = t
                for s, a in arrays.items():
                    self._state[s][self._offsets[i] : self._offsets[i + 1]] = a.ravel()

    def _per_param_states(self):
        out = {}
        for i, name in enumerate(self._params):
            start, end = self._offsets[i], self._offsets[i + 1]
            out[name] = (int(self._t[i]), {s: self._state[s][start:end].copy() for s in self.state_names})
        return out

    def _sync(self) -> None:
        """Make sure every parameter still uses its view (materializing lazy fills); rebuild if not."""
        for v, w, g in self._views:
            d = v._data
            gnd = v._grad
            if d._fill is not None:
                d._get()
            if gnd is not None and gnd._fill is not None:
                gnd._get()
            if d._array is not w or gnd is None or gnd._array is not g:
                self._rebuild(keep_state=True)
                return
        if len(self._views) != len(self._params):
            self._rebuild(keep_state=True)

    # -- gradients ----------------------------------------------------------------------------------
    def zero_grad(self) -> None:
        """Set every registered parameter's gradient to zero."""
        self._sync()
        self._flat_g.fill(0)

    def weight_decay(self, decay_rate: float, pre_hook=None, post_hook=None) -> None:
        """grad += decay_rate * data for every parameter."""
        if decay_rate == 0:
            return
        self._sync()
        self._flat_g += np.float32(decay_rate) * self._flat_w

    def _segment_sums(self, values):
        if not len(values):
            return np.zeros(len(self._views), np.float32)
        sums = np.add.reduceat(values, self._offsets[:-1]) if len(self._views) else np.zeros(0)
        empty = self._offsets[:-1] == self._offsets[1:]
        sums[empty] = 0
        return sums

    def clip_grad_by_norm(self, clip_norm: float, pre_hook=None, post_hook=None) -> None:
        """Per parameter: grad *= clip_norm / max(||grad||, clip_norm)."""
        self._sync()
        norms = np.sqrt(self._segment_sums(self._flat_g * self._flat_g))
        scale = np.float32(clip_norm) / np.maximum(norms, np.float32(clip_norm))
        self._flat_g *= np.repeat(scale.astype(np.float32), np.diff(self._offsets))

    def scale_grad(self, scale: float, pre_hook=None, post_hook=None) -> None:
        self._sync()
        self._flat_g *= np.float32(scale)

    def check_inf_grad(self, pre_hook=None, post_hook=None) -> bool:
        self._sync()
        return bool(np.isinf(self._flat_g).any())

    def check_nan_grad(self, pre_hook=None, post_hook=None) -> bool:
        self._sync()
        return bool(np.isnan(self._flat_g).any())

    def check_inf_or_nan_grad(self, pre_hook=None, post_hook=None) -> bool:
        self._sync()
        return not bool(np.isfinite(self._flat_g).all())

    # -- update ---------------------------------------------------------------------------------------
    def update(self, update_pre_hook=None, update_post_hook=None) -> None:
        """Apply one step of the update rule to every parameter with need_grad."""
        self._sync()
        if not len(self._views):
            return
        for hook in list(_state.solver_pre_hooks.values()) + ([update_pre_hook] if update_pre_hook else []):
            hook()
        mask = None
        if not all(v._need_grad for v, _, _ in self._views):
            mask = np.repeat(np.array([v._need_grad for v, _, _ in self._views]), np.diff(self._offsets))
        self._t += np.array([v._need_grad for v, _, _ in self._views], np.int64) if mask is not None else 1
        if mask is None:
            self._update(self._flat_w, self._flat_g, self._state, self._t_flat())
        else:
            idx = np.nonzero(mask)[0]
            w, g = self._flat_w[idx], self._flat_g[idx]
            state = {k: a[idx] for k, a in self._state.items()}
            self._update(w, g, state, self._t_flat()[idx])
            self._flat_w[idx] = w
            for k, a in state.items():
                self._state[k][idx] = a
        for hook in list(_state.solver_post_hooks.values()) + ([update_post_hook] if update_post_hook else []):
            hook()

    def _t_flat(self):
        if len(self._t) and (self._t == self._t[0]).all():
            return int(self._t[0])
        return np.repeat(self._t, np.diff(self._offsets)).astype(np.float32)

    def _update(self, w, g, state, t) -> None:
        """The update rule, in place on flat arrays; ``t`` is the step (int, or an array per element)."""
        raise NotImplementedError

    # -- learning rate ------------------------------------------------------------------------------------
    def learning_rate(self) -> float:
        return self._hyper[self.lr_name]

    def set_learning_rate(self, learning_rate: float) -> None:
        self._hyper[self.lr_name] = float(learning_rate)

    # -- states ---------------------------------------------------------------------------------------
    def get_states(self) -> OrderedDict:
        """name -> SolverState holding copies of that parameter's state arrays and its step count."""
        self._sync()
        out = OrderedDict()
        for i, (name, v) in enumerate(self._params.items()):
            start, end = self._offsets[i], self._offsets[i + 1]
            pstate = OrderedDict(
                (s, Variable.from_numpy_array(self._state[s][start:end].reshape(v.shape))) for s in self.state_names
            )
            out[name] = SolverState(pstate, int(self._t[i]))
        return out

    def set_states(self, states) -> None:
        self._sync()
        names = list(self._params)
        for name, st in states.items():
            if name not in self._params:
                raise KeyError(f"{self.name}.set_states: {name!r} is not a parameter of this solver")
            i = names.index(name)
            start, end = self._offsets[i], self._offsets[i + 1]
            for s, var in st.pstate.items():
                if s not in self._state:
                    raise KeyError(f"{self.name}.set_states: unknown state {s!r} (has {list(self.state_names)})")
                arr = var.d if isinstance(var, Variable) else np.asarray(var)
                if arr.size != end - start:
                    raise ValueError(
                        f"{self.name}.set_states: state {s!r} of {name!r} has {arr.size} values, expected {end - start}"
                    )
                self._state[s][start:end] = arr.ravel()
            self._t[i] = st.t

    def save_states(self, path) -> None:
        """Write the solver state to an ``.h5`` file, atomically."""
        import h5py

        path = os.fspath(path)
        fd, tmp = tempfile.mkstemp(suffix=".tmp", dir=os.path.dirname(os.path.abspath(path)))
        os.close(fd)
        try:
            with h5py.File(tmp, "w") as hd:
                for name, st in self.get_states().items():
                    for s, var in st.pstate.items():
                        hd.create_dataset(f"{name}/{s}", data=var.d)
                    hd.create_dataset(f"{name}/t", data=st.t)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def load_states(self, path) -> None:
        """Read a state file written by ``save_states``; nothing changes unless the whole file is valid."""
        import h5py

        path = os.fspath(path)
        if not os.path.exists(path):
            raise FileNotFoundError(f"{self.name}.load_states: no such file: {path!r}")
        states = OrderedDict()
        try:
            with h5py.File(path, "r") as hd:
                for name in self._params:
                    if name not in hd:
                        continue
                    group = hd[name]
                    pstate = OrderedDict((s, Variable.from_numpy_array(group[s][...])) for s in self.state_names)
                    states[name] = SolverState(pstate, int(group["t"][()]))
        except (OSError, KeyError) as e:
            raise ValueError(f"{self.name}.load_states: {path!r} is not a valid solver state file ({e})") from None
        self.set_states(states)

    @property
    def name(self) -> str:
        return type(self).__name__

    @property
    def info(self) -> dict:
        return dict(self._hyper)

    def setup(self, params) -> None:
        self.set_parameters(params)

    def weight_decay_is_fused(self) -> bool:
        return False

    def __repr__(self) -> str:
        hp = ", ".join(f"{k}={v}" for k, v in self._hyper.items())
        return f"{self.name}({hp})"


class Sgd(Solver):
    """w -= lr * g."""

    def __init__(self, lr=0.001):
        super().__init__(lr=lr)

    def _update(self, w, g, state, t):
        w -= np.float32(self._hyper["lr"]) * g


class Adam(Solver):
    """Adam: m, v moments; w -= alpha * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + eps)."""

    state_names = ("m", "v")
    lr_name = "alpha"

    def __init__(self, alpha=0.001, beta1=0.9, beta2=0.999, eps=1e-08):
        super().__init__(alpha=alpha, beta1=beta1, beta2=beta2, eps=eps)

    def _update(self, w, g, state, t):
        h = self._hyper
        b1, b2 = h["beta1"], h["beta2"]
        m, v = state["m"], state["v"]
        m *= np.float32(b1)
        m += np.float32(1 - b1) * g
        v *= np.float32(b2)
        v += np.float32(1 - b2) * g * g
        alpha_t = h["alpha"] * np.sqrt(1 - b2**t) / (1 - b1**t)
        w -= np.asarray(alpha_t, np.float32) * m / (np.sqrt(v) + np.float32(h["eps"]))
