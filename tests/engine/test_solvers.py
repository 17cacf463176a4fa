"""Solvers: every update rule against a plain numpy version of NNabla's rule, and the Solver API around it."""

from __future__ import annotations

import importlib.util
import os
from collections import OrderedDict

import h5py
import numpy as np
import pytest

import nnabla as nn
import nnabla.solvers as S

SHAPES = [(3,), (2, 3), (2, 1, 2)]


# -- numpy references: one step of each rule on float64 arrays; ``s`` holds the state, ``t`` the step (from 1) --
def sgd(w, g, s, t, lr, wd=0.0):
    return w - lr * g


def momentum(w, g, s, t, lr, momentum, wd=0.0):
    s["m"] = momentum * s["m"] + lr * g
    return w - s["m"]


def nesterov(w, g, s, t, lr, momentum, wd=0.0):
    prev = s["m"]
    s["m"] = momentum * prev - lr * g
    return w - momentum * prev + (1 + momentum) * s["m"]


def adagrad(w, g, s, t, lr, eps, wd=0.0):
    s["v"] = s["v"] + g * g
    return w - lr * g / (np.sqrt(s["v"]) + eps)


def adadelta(w, g, s, t, lr, decay, eps, wd=0.0):
    s["e_sqr_grad"] = decay * s["e_sqr_grad"] + (1 - decay) * g * g
    delta = np.sqrt((s["e_sqr_delta"] + eps) / (s["e_sqr_grad"] + eps)) * g
    s["e_sqr_delta"] = decay * s["e_sqr_delta"] + (1 - decay) * delta * delta
    return w - lr * delta


def rmsprop(w, g, s, t, lr, decay, eps, wd=0.0):
    s["v"] = decay * s["v"] + (1 - decay) * g * g
    return w - lr * g / (np.sqrt(s["v"]) + eps)


def rmsprop_graves(w, g, s, t, lr, decay, momentum, eps, wd=0.0):
    s["n"] = decay * s["n"] + (1 - decay) * g * g
    s["g"] = decay * s["g"] + (1 - decay) * g
    s["d"] = momentum * s["d"] - lr * g / np.sqrt(s["n"] - s["g"] ** 2 + eps)
    return w + s["d"]


def adam(w, g, s, t, alpha, beta1, beta2, eps, wd=0.0):
    s["mean"] = beta1 * s["mean"] + (1 - beta1) * g
    s["var"] = beta2 * s["var"] + (1 - beta2) * g * g
    alpha_t = alpha * np.sqrt(1 - beta2**t) / (1 - beta1**t)
    return w - alpha_t * s["mean"] / (np.sqrt(s["var"]) + eps)


def adamw(w, g, s, t, alpha, beta1, beta2, eps, wd, alpha0=None):
    eta = alpha / (alpha if alpha0 is None else alpha0)
    return adam(w, g, s, t, alpha, beta1, beta2, eps) - eta * wd * w


def adamax(w, g, s, t, alpha, beta1, beta2, eps, wd=0.0):
    s["m"] = beta1 * s["m"] + (1 - beta1) * g
    s["u"] = np.maximum(beta2 * s["u"], np.abs(g))
    return w - alpha / (1 - beta1**t) * s["m"] / (s["u"] + eps)


def amsgrad(w, g, s, t, alpha, beta1, beta2, eps, bias_correction, wd=0.0):
    s["m"] = beta1 * s["m"] + (1 - beta1) * g
    s["v"] = beta2 * s["v"] + (1 - beta2) * g * g
    s["v_hat"] = np.maximum(s["v_hat"], s["v"])
    alpha_t = alpha * (np.sqrt(1 - beta2**t) / (1 - beta1**t) if bias_correction else 1)
    return w - alpha_t * s["m"] / (np.sqrt(s["v_hat"]) + eps)


def sgdw(w, g, s, t, lr, momentum, wd):
    s["m"] = momentum * s["m"] + lr * g
    return w - s["m"] - wd * w


def lion(w, g, s, t, lr, beta1, beta2, wd=0.0):
    u = np.sign(beta1 * s["m"] + (1 - beta1) * g)
    s["m"] = beta2 * s["m"] + (1 - beta2) * g
    return w - lr * (u + wd * w)


def adabound(w, g, s, t, alpha, beta1, beta2, eps, final_lr, gamma, wd=0.0):
    s["mean"] = beta1 * s["mean"] + (1 - beta1) * g
    s["var"] = beta2 * s["var"] + (1 - beta2) * g * g
    alpha_t = alpha * np.sqrt(1 - beta2**t) / (1 - beta1**t)
    lower, upper = final_lr * (1 - 1 / (gamma * t + 1)), final_lr * (1 + 1 / (gamma * t))
    return w - np.clip(alpha_t / (np.sqrt(s["var"]) + eps), lower, upper) * s["mean"]


def amsbound(w, g, s, t, alpha, beta1, beta2, eps, final_lr, gamma, bias_correction, wd=0.0):
    s["m"] = beta1 * s["m"] + (1 - beta1) * g
    s["v"] = beta2 * s["v"] + (1 - beta2) * g * g
    s["v_hat"] = np.maximum(s["v_hat"], s["v"])
    alpha_t = alpha * (np.sqrt(1 - beta2**t) / (1 - beta1**t) if bias_correction else 1)
    lower, upper = final_lr * (1 - 1 / (gamma * t + 1)), final_lr * (1 + t / gamma)  # NNabla's upper bound
    return w - np.clip(alpha_t / (np.sqrt(s["v_hat"]) + eps), lower, upper) * s["m"]


def adabelief(w, g, s, t, alpha, beta1, beta2, eps, wd, amsgrad, weight_decouple, fixed_decay, rectify):
    s["mean"] = beta1 * s["mean"] + (1 - beta1) * g
    s["var"] = beta2 * s["var"] + (1 - beta2) * (g - s["mean"]) ** 2
    if weight_decouple:
        w = w - w * (wd if fixed_decay else wd * alpha)
    if amsgrad:
        s["s_max"] = np.maximum(s["s_max"], s["var"]) + eps
    else:
        s["var"] = s["var"] + eps  # NNabla adds eps to the stored moment
    second = s["s_max"] if amsgrad else s["var"]
    alpha_t = alpha / (1 - beta1**t)
    if rectify:
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * beta2**t / (1 - beta2**t)
        if rho_t <= 4:
            return w - alpha * s["mean"]
        alpha_t *= np.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
    return w - alpha_t * s["mean"] / (np.sqrt(second) / np.sqrt(1 - beta2**t) + eps)


def lamb(w, g, s, t, eta, beta1, beta2, gamma_l, gamma_u, eps, bias_correction, wd=0.0):
    s["mean"] = beta1 * s["mean"] + (1 - beta1) * g
    s["var"] = beta2 * s["var"] + (1 - beta2) * g * g
    c1, c2 = (1 - beta1**t, 1 - beta2**t) if bias_correction else (1, 1)
    r = (s["mean"] / c1) / (np.sqrt(s["var"] / c2) + eps) + wd * w
    trust = np.clip(np.linalg.norm(w), gamma_l, gamma_u) / np.linalg.norm(r) if np.linalg.norm(r) > eps else 1
    return w - eta * trust * r


def lars(w, g, s, t, lr, momentum, coefficient, eps, wd=0.0):
    g_norm, w_norm = np.linalg.norm(g), np.linalg.norm(w)
    x = g_norm + wd * w_norm
    x = x + eps if x < eps else x
    local_lr = lr if w_norm < eps else lr * coefficient * w_norm / x
    s["v"] = momentum * s["v"] + local_lr * (g + wd * w)
    return w - s["v"]


BELIEF = dict(alpha=0.01, beta1=0.9, beta2=0.999, eps=1e-8, wd=0.1)
BELIEF_FLAGS = dict(amsgrad=False, weight_decouple=False, fixed_decay=False, rectify=False)
# (solver class, its hyperparameters for the test, NNabla's state names, reference rule)
RULES = [
    (S.Sgd, dict(lr=0.1), (), sgd),
    (S.Momentum, dict(lr=0.1, momentum=0.8), ("m",), momentum),
    (S.Nesterov, dict(lr=0.1, momentum=0.8), ("m",), nesterov),
    (S.Adagrad, dict(lr=0.1, eps=1e-8), ("v",), adagrad),
    (S.Adadelta, dict(lr=1.0, decay=0.9, eps=1e-6), ("e_sqr_grad", "e_sqr_delta"), adadelta),
    (S.RMSprop, dict(lr=0.01, decay=0.9, eps=1e-8), ("v",), rmsprop),
    (S.RMSpropGraves, dict(lr=0.01, decay=0.95, momentum=0.9, eps=1e-4), ("n", "g", "d"), rmsprop_graves),
    (S.Adam, dict(alpha=0.01, beta1=0.9, beta2=0.999, eps=1e-8), ("mean", "var"), adam),
    (S.AdamW, dict(alpha=0.01, beta1=0.9, beta2=0.999, eps=1e-8, wd=0.05), ("mean", "var"), adamw),
    (S.Adamax, dict(alpha=0.02, beta1=0.9, beta2=0.999, eps=1e-8), ("m", "u"), adamax),
    (S.AMSGRAD, dict(alpha=0.01, beta1=0.9, beta2=0.99, eps=1e-8, bias_correction=False), ("m", "v", "v_hat"), amsgrad),
    (S.AMSGRAD, dict(alpha=0.01, beta1=0.9, beta2=0.99, eps=1e-8, bias_correction=True), ("m", "v", "v_hat"), amsgrad),
    (S.SgdW, dict(lr=0.1, momentum=0.9, wd=0.05), ("m",), sgdw),
    (S.Lion, dict(lr=0.01, beta1=0.9, beta2=0.99), ("m",), lion),
    (
        S.AdaBound,
        dict(alpha=0.05, beta1=0.9, beta2=0.999, eps=1e-8, final_lr=0.02, gamma=0.5),
        ("mean", "var"),
        adabound,
    ),
    (
        S.AMSBound,
        dict(alpha=0.05, beta1=0.9, beta2=0.99, eps=1e-8, final_lr=0.02, gamma=0.5, bias_correction=False),
        ("m", "v", "v_hat"),
        amsbound,
    ),
    (
        S.AMSBound,
        dict(alpha=0.01, beta1=0.9, beta2=0.99, eps=1e-8, final_lr=0.1, gamma=0.001, bias_correction=True),
        ("m", "v", "v_hat"),
        amsbound,
    ),
    (S.AdaBelief, dict(BELIEF, **BELIEF_FLAGS), ("mean", "var"), adabelief),
    (S.AdaBelief, dict(BELIEF, **dict(BELIEF_FLAGS, weight_decouple=True)), ("mean", "var"), adabelief),
    (
        S.AdaBelief,
        dict(BELIEF, **dict(BELIEF_FLAGS, weight_decouple=True, fixed_decay=True, amsgrad=True)),
        ("mean", "var", "s_max"),
        adabelief,
    ),
    (S.AdaBelief, dict(BELIEF, **dict(BELIEF_FLAGS, rectify=True)), ("mean", "var"), adabelief),
    (
        S.Lamb,
        dict(eta=0.01, beta1=0.9, beta2=0.999, gamma_l=0.0, gamma_u=10.0, eps=1e-6, bias_correction=False),
        ("mean", "var"),
        lamb,
    ),
    (
        S.Lamb,
        dict(eta=0.01, beta1=0.9, beta2=0.999, gamma_l=0.5, gamma_u=1.0, eps=1e-6, bias_correction=True),
        ("mean", "var"),
        lamb,
    ),
    (S.Lars, dict(lr=0.1, momentum=0.5, coefficient=0.05, eps=1e-6), ("v",), lars),
]


def _case_id(cls, hyper):
    flags = [k for k in ("bias_correction", "weight_decouple", "fixed_decay", "amsgrad", "rectify") if hyper.get(k)]
    return "-".join([cls.__name__] + [{"bias_correction": "bc"}.get(k, k) for k in flags])


IDS = [_case_id(cls, hp) for cls, hp, _, _ in RULES]

# NNabla 1.36's defaults and the name of each solver's learning rate
DEFAULTS = {
    S.Sgd: dict(lr=0.001),
    S.Momentum: dict(lr=0.001, momentum=0.9),
    S.Nesterov: dict(lr=0.001, momentum=0.9),
    S.Adagrad: dict(lr=0.01, eps=1e-08),
    S.Adadelta: dict(lr=1.0, decay=0.95, eps=1e-06),
    S.RMSprop: dict(lr=0.001, decay=0.9, eps=1e-08),
    S.RMSpropGraves: dict(lr=0.0001, decay=0.95, momentum=0.9, eps=0.0001),
    S.Adam: dict(alpha=0.001, beta1=0.9, beta2=0.999, eps=1e-08),
    S.AdamW: dict(alpha=0.001, beta1=0.9, beta2=0.999, eps=1e-08, wd=0.0001),
    S.Adamax: dict(alpha=0.002, beta1=0.9, beta2=0.999, eps=1e-08),
    S.AMSGRAD: dict(alpha=0.001, beta1=0.9, beta2=0.999, eps=1e-08, bias_correction=False),
    S.SgdW: dict(lr=0.001, momentum=0.9, wd=0.0001),
    S.Lion: dict(lr=0.0001, beta1=0.9, beta2=0.99),
    S.AMSBound: dict(alpha=0.001, beta1=0.9, beta2=0.999, eps=1e-08, final_lr=0.1, gamma=0.001, bias_correction=False),
    S.AdaBelief: dict(
        alpha=0.001,
        beta1=0.9,
        beta2=0.999,
        eps=1e-08,
        wd=0.0,
        amsgrad=False,
        weight_decouple=False,
        fixed_decay=False,
        rectify=False,
    ),
    S.AdaBound: dict(alpha=0.001, beta1=0.9, beta2=0.999, eps=1e-08, final_lr=0.1, gamma=0.001),
    S.Lamb: dict(eta=0.001, beta1=0.9, beta2=0.999, gamma_l=0.0, gamma_u=10.0, eps=1e-06, bias_correction=False),
    S.Lars: dict(lr=0.001, momentum=0.9, coefficient=0.001, eps=1e-06),
}
LR_NAMES = {S.Lamb: "eta"}
FUSED_DECAY = (S.AdamW, S.SgdW, S.Lion, S.Lamb, S.Lars)


def make_params(seed=0, shapes=SHAPES):
    rng = np.random.RandomState(seed)
    return OrderedDict(
        (f"p{i}", nn.Variable.from_numpy_array(rng.randn(*shape).astype(np.float32), need_grad=True))
        for i, shape in enumerate(shapes)
    )


def grads(step, params):
    rng = np.random.RandomState(100 + step)
    return {name: rng.randn(*p.shape).astype(np.float32) for name, p in params.items()}


class Reference:
    """The numpy rule applied to copies of the parameters, with its own states and step counts."""

    def __init__(self, rule, hyper, state_names, params):
        self.rule, self.hyper = rule, {k: v for k, v in hyper.items()}
        self.w = {k: p.d.astype(np.float64) for k, p in params.items()}
        self.s = {k: {n: np.zeros(p.shape) for n in state_names} for k, p in params.items()}
        self.t = {k: 0 for k in params}

    def step(self, g, names=None, **extra):
        hyper = {**self.hyper, **extra}  # ``extra`` overrides, e.g. the fused decay rate of one update
        for k in names if names is not None else self.w:
            self.t[k] += 1
            self.w[k] = self.rule(self.w[k], g[k].astype(np.float64), self.s[k], self.t[k], **hyper)


def assert_params(params, ref, rtol=2e-5, atol=1e-6):
    for k, p in params.items():
        np.testing.assert_allclose(p.d, ref.w[k], rtol=rtol, atol=atol, err_msg=k)


@pytest.mark.parametrize("cls, hyper, state_names, rule", RULES, ids=IDS)
def test_update_matches_reference(cls, hyper, state_names, rule):
    params = make_params()
    solver = cls(**hyper)
    solver.set_parameters(params)
    ref = Reference(rule, hyper, state_names, params)
    for step in range(5):
        g = grads(step, params)
        solver.zero_grad()
        for k, p in params.items():
            p.g = g[k]
        solver.update()
        ref.step(g)
        assert_params(params, ref)
    states = solver.get_states()
    assert list(states) == list(params)
    for k, st in states.items():
        assert st.t == 5
        assert sorted(st.pstate) == sorted(state_names)
        for n, var in st.pstate.items():
            np.testing.assert_allclose(var.d, ref.s[k][n], rtol=2e-5, atol=1e-6, err_msg=f"{k}/{n}")


@pytest.mark.parametrize("cls, hyper, state_names, rule", RULES, ids=IDS)
def test_large_parameters_update_in_chunks_with_the_same_bits(cls, hyper, state_names, rule, monkeypatch):
    """Past 2 * UPDATE_CHUNK elements the rule runs a chunk at a time: weights and states as from one pass."""
    shapes = [(3 * S.UPDATE_CHUNK + 7,), (5, 11)]  # (the flat buffers end in a partial chunk)
    results = []
    for chunk in (S.UPDATE_CHUNK, 1 << 40):
        monkeypatch.setattr(S, "UPDATE_CHUNK", chunk)
        params = make_params(shapes=shapes)
        solver = cls(**hyper)
        solver.set_parameters(params)
        for step in range(3):
            solver.zero_grad()
            for k, g in grads(step, params).items():
                params[k].g = g
            solver.update()
        states = [var.d.copy() for st in solver.get_states().values() for var in st.pstate.values()]
        results.append([p.d.copy() for p in params.values()] + states)
    for chunked, whole in zip(*results):
        assert chunked.tobytes() == whole.tobytes()


@pytest.mark.parametrize("cls, hyper, state_names, rule", RULES, ids=IDS)
def test_update_after_weight_decay_matches_reference(cls, hyper, state_names, rule):
    """weight_decay(rate) adds rate * w to the gradient, or (fused) is the decay of the next update only."""
    params = make_params()
    solver = cls(**hyper)
    solver.set_parameters(params)
    ref = Reference(rule, hyper, state_names, params)
    fused = solver.weight_decay_is_fused()
    for step in range(4):
        g = grads(step, params)
        solver.zero_grad()
        for k, p in params.items():
            p.g = g[k]
        rate = 0.02 * (step % 2)  # every other step: the fused rate must not outlive its update
        solver.weight_decay(rate)
        solver.update()
        if fused:
            ref.step(g, wd=rate)
        else:
            ref.step({k: g[k] + rate * ref.w[k].astype(np.float32) for k in g})
        assert_params(params, ref, rtol=5e-5, atol=2e-6)


NNABLA_STEPS = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "solver_steps_nnabla.npz"))


def _solver_recorder():
    spec = importlib.util.spec_from_file_location(
        "make_solver_fixtures", os.path.join(os.path.dirname(__file__), "..", "reference", "make_solver_fixtures.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RECORDER = _solver_recorder()


@pytest.mark.parametrize("case", list(RECORDER.CASES))
def test_steps_equal_real_nnabla(case):
    """Six steps (with weight decay where the case has it) give real NNabla 1.36's parameters, grads and states."""
    assert str(NNABLA_STEPS["nnabla_version"]) == "1.36.0"
    ours = RECORDER.run_case(nn, S, case)
    expected = {k: NNABLA_STEPS[k] for k in NNABLA_STEPS.files if k.startswith(case + "/")}
    assert sorted(ours) == sorted(expected)
    for k, want in expected.items():
        np.testing.assert_allclose(ours[k], want, rtol=2e-5, atol=1e-7, err_msg=k)


@pytest.mark.parametrize("cls", list(DEFAULTS), ids=lambda c: c.__name__)
def test_defaults_info_and_learning_rate(cls):
    solver = cls()
    defaults = DEFAULTS[cls]
    assert solver.name == cls.__name__
    assert solver.info == {k: v if isinstance(v, bool) else float(np.float32(v)) for k, v in defaults.items()}
    lr_name = LR_NAMES.get(cls, "alpha" if "alpha" in defaults else "lr")
    assert solver.learning_rate() == float(np.float32(defaults[lr_name]))
    solver.set_learning_rate(0.5)
    assert solver.learning_rate() == 0.5
    assert solver.weight_decay_is_fused() == (cls in FUSED_DECAY)


@pytest.mark.parametrize("cls, hyper, state_names, rule", RULES, ids=IDS)
def test_restored_solver_continues_identically(cls, hyper, state_names, rule, tmp_path):
    params = make_params()
    solver = cls(**hyper)
    solver.set_parameters(params)
    for step in range(2):
        for k, g in grads(step, params).items():
            params[k].g = g
        solver.update()
    path = tmp_path / "states.h5"
    solver.save_states(path)
    copies = OrderedDict((k, nn.Variable.from_numpy_array(p.d, need_grad=True)) for k, p in params.items())
    restored = cls(**hyper)
    restored.set_parameters(copies)
    restored.load_states(path)
    for step in range(2, 4):
        for k, g in grads(step, params).items():
            params[k].g = g
            copies[k].g = g
        solver.update()
        restored.update()
    for k in params:
        np.testing.assert_array_equal(copies[k].d, params[k].d)
    for k, st in restored.get_states().items():
        assert st.t == 4


def test_state_file_layout_is_nnablas(tmp_path):
    params = make_params()
    solver = S.Adam()
    solver.set_parameters(params)
    for k, g in grads(0, params).items():
        params[k].g = g
    solver.update()
    solver.save_states(tmp_path / "s.h5")
    with h5py.File(tmp_path / "s.h5", "r") as hd:
        assert sorted(hd) == ["p0", "p1", "p2"]
        for i, k in enumerate(params):
            assert hd[k].attrs["index"] == i
            assert int(hd[k]["t"][()]) == 1
            assert sorted(hd[k]) == ["mean", "t", "var"]
            assert hd[k]["var"].shape == params[k].shape


def test_get_set_states_round_trip():
    params = make_params()
    solver = S.Momentum(lr=0.1)
    solver.set_parameters(params)
    for k, g in grads(0, params).items():
        params[k].g = g
    solver.update()
    saved = {k: (st.t, st.pstate["m"].d.copy()) for k, st in solver.get_states().items()}
    other = S.Momentum(lr=0.1)
    other.set_parameters(params)
    other.set_states(solver.get_states())
    for k, st in other.get_states().items():
        assert st.t == saved[k][0]
        np.testing.assert_array_equal(st.pstate["m"].d, saved[k][1])
    with pytest.raises(ValueError, match="'nope' is not a parameter"):
        other.set_states({"nope": S.SolverState()})


def test_get_states_share_memory_with_the_solver():
    params = make_params()
    solver = S.Adagrad()
    solver.set_parameters(params)
    solver.get_states()["p0"].pstate["v"].d[...] = 4.0
    assert (solver.get_states()["p0"].pstate["v"].d == 4.0).all()


def test_load_states_errors_leave_states_untouched(tmp_path):
    params = make_params()
    solver = S.Adam()
    solver.set_parameters(params)
    for k, g in grads(0, params).items():
        params[k].g = g
    solver.update()
    before = {k: st.pstate["mean"].d.copy() for k, st in solver.get_states().items()}
    with pytest.raises(FileNotFoundError, match="no such file"):
        solver.load_states(tmp_path / "missing.h5")
    (tmp_path / "bad.h5").write_bytes(b"not an h5 file")
    with pytest.raises(ValueError, match="not a readable"):
        solver.load_states(tmp_path / "bad.h5")
    with h5py.File(tmp_path / "other.h5", "w") as hd:
        hd.create_dataset("p0/mean", data=np.ones(3, np.float32))
        hd.create_dataset("p0/t", data=9)
        hd.create_dataset("zz/mean", data=np.ones(3, np.float32))
        hd.create_dataset("zz/t", data=9)
    with pytest.raises(ValueError, match="'zz' is not a parameter"):
        solver.load_states(tmp_path / "other.h5")
    with h5py.File(tmp_path / "shape.h5", "w") as hd:
        hd.create_dataset("p1/mean", data=np.ones(4, np.float32))
        hd.create_dataset("p1/t", data=9)
    with pytest.raises(ValueError, match="'mean' of 'p1' has 4 values"):
        solver.load_states(tmp_path / "shape.h5")
    for k, st in solver.get_states().items():
        assert st.t == 1
        np.testing.assert_array_equal(st.pstate["mean"].d, before[k])


def test_save_states_is_atomic(tmp_path, monkeypatch):
    params = make_params()
    solver = S.Adam()
    solver.set_parameters(params)
    path = tmp_path / "s.h5"
    solver.save_states(path)
    original = path.read_bytes()

    def fail(*args, **kw):
        raise RuntimeError("disk full")

    monkeypatch.setattr(h5py.Group, "create_dataset", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        solver.save_states(path)
    assert path.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.h5"]


def test_need_grad_false_parameters_are_not_updated():
    params = make_params()
    params["p1"].need_grad = False
    solver = S.Adam(alpha=0.1)
    solver.set_parameters(params)
    frozen = params["p1"].d.copy()
    for k, g in grads(0, params).items():
        params[k].g = g
    solver.update()
    np.testing.assert_array_equal(params["p1"].d, frozen)
    states = solver.get_states()
    assert (states["p0"].t, states["p1"].t) == (1, 0)
    assert not states["p1"].pstate["mean"].d.any()


def test_gradients_untouched_since_zero_grad_are_skipped():
    params = make_params()
    solver = S.Adam(alpha=0.1)
    solver.set_parameters(params)
    ref = Reference(adam, dict(alpha=0.1, beta1=0.9, beta2=0.999, eps=1e-8), ("mean", "var"), params)
    for step in range(3):
        g = grads(step, params)
        solver.zero_grad()
        names = ["p0", "p2"] if step == 1 else list(params)  # p1 gets no gradient in step 1
        for k in names:
            params[k].g = g[k]
        solver.weight_decay(0.0)
        solver.update()
        ref.step(g, names)
        assert_params(params, ref)
    assert [st.t for st in solver.get_states().values()] == [3, 2, 3]


def test_zero_grad_after_backward():
    x = nn.Variable.from_numpy_array(np.array([1.0, 2.0], np.float32), need_grad=True)
    solver = S.Sgd(lr=0.5)
    solver.set_parameters({"x": x})
    y = x * x
    y.backward()
    np.testing.assert_array_equal(x.g, [2.0, 4.0])
    solver.zero_grad()
    np.testing.assert_array_equal(x.g, [0.0, 0.0])
    y.backward()
    y.backward()  # gradients accumulate
    solver.update()
    np.testing.assert_allclose(x.d, [1.0 - 0.5 * 4.0, 2.0 - 0.5 * 8.0])


def test_weight_decay_adds_rate_times_data():
    params = make_params()
    solver = S.Sgd(lr=1.0)
    solver.set_parameters(params)
    g = grads(0, params)
    for k in params:
        params[k].g = g[k]
    solver.weight_decay(0.1)
    for k, p in params.items():
        np.testing.assert_allclose(p.g, g[k] + np.float32(0.1) * p.d, rtol=1e-6)


def test_fused_weight_decay_lasts_one_update():
    params = make_params()
    hyper = dict(alpha=0.01, beta1=0.9, beta2=0.999, eps=1e-8, wd=0.05)
    solver = S.AdamW(**hyper)
    solver.set_parameters(params)
    ref = Reference(adamw, hyper, ("mean", "var"), params)
    g = grads(0, params)
    for k in params:
        params[k].g = g[k]
    solver.weight_decay(0.3)
    np.testing.assert_array_equal(params["p0"].g, g["p0"])  # the gradient is left alone
    solver.update()
    ref.hyper["wd"] = 0.3
    ref.step(g)
    assert_params(params, ref)
    g = grads(1, params)
    for k in params:
        params[k].g = g[k]
    solver.update()
    ref.hyper["wd"] = 0.05
    ref.step(g)
    assert_params(params, ref)


def test_set_learning_rate_changes_the_step_and_scales_decoupled_decay():
    params = make_params()
    hyper = dict(alpha=0.01, beta1=0.9, beta2=0.999, eps=1e-8, wd=0.05)
    solver = S.AdamW(**hyper)
    solver.set_parameters(params)
    solver.set_learning_rate(0.002)
    assert solver.learning_rate() == float(np.float32(0.002))
    assert solver.info["alpha"] == float(np.float32(0.01))
    ref = Reference(adamw, dict(hyper, alpha=0.002, alpha0=0.01), ("mean", "var"), params)
    g = grads(0, params)
    for k in params:
        params[k].g = g[k]
    solver.update()
    ref.step(g)
    assert_params(params, ref)


def test_clip_grad_by_norm_is_per_parameter():
    params = make_params()
    solver = S.Sgd()
    solver.set_parameters(params)
    params["p0"].g = [3.0, 0.0, 4.0]  # norm 5: clipped to 1
    params["p1"].g = np.full((2, 3), 0.1, np.float32)  # norm < 1: unchanged
    params["p2"].g = np.zeros((2, 1, 2), np.float32)
    solver.clip_grad_by_norm(1.0)
    np.testing.assert_allclose(params["p0"].g, [0.6, 0.0, 0.8], rtol=1e-6)
    np.testing.assert_allclose(params["p1"].g, 0.1, rtol=1e-6)
    assert not params["p2"].g.any()
    solver.clip_grad_by_norm(0.0)  # 0 means no clipping
    np.testing.assert_allclose(params["p0"].g, [0.6, 0.0, 0.8], rtol=1e-6)


def test_scale_grad_and_inf_nan_checks():
    params = make_params()
    solver = S.Sgd()
    solver.set_parameters(params)
    params["p0"].g = [1.0, 2.0, 3.0]
    solver.scale_grad(0.5)
    np.testing.assert_array_equal(params["p0"].g, [0.5, 1.0, 1.5])
    assert not solver.check_inf_or_nan_grad()
    params["p1"].g[0, 0] = np.inf
    assert solver.check_inf_grad() and solver.check_inf_or_nan_grad() and not solver.check_nan_grad()
    params["p1"].g[0, 0] = np.nan
    assert solver.check_nan_grad() and not solver.check_inf_grad()


def test_set_parameters_without_reset_adds_and_retains_state():
    params = make_params()
    solver = S.Momentum(lr=0.1)
    solver.set_parameters({"p0": params["p0"], "p1": params["p1"]})
    for k in ("p0", "p1"):
        params[k].g = np.ones(params[k].shape, np.float32)
    solver.update()
    solver.set_parameters({"p2": params["p2"]}, reset=False)
    assert list(solver.get_parameters()) == ["p0", "p1", "p2"]
    states = solver.get_states()
    assert (states["p0"].t, states["p2"].t) == (1, 0)
    np.testing.assert_allclose(states["p0"].pstate["m"].d, 0.1)
    solver.set_parameters({"p0": params["p0"]}, reset=False, retain_state=True)
    assert solver.get_states()["p0"].t == 1
    solver.set_parameters({"p1": params["p1"]}, reset=False)  # replaced without retain_state: fresh state
    assert solver.get_states()["p1"].t == 0
    with pytest.raises(ValueError, match="could not retain the state of 'p0'"):
        solver.set_parameters({"p0": nn.Variable((5,), need_grad=True)}, reset=False, retain_state=True)
    solver.set_parameters({"p2": params["p2"]})
    assert list(solver.get_parameters()) == ["p2"]


def test_remove_and_clear_parameters_keep_the_rest():
    params = make_params()
    solver = S.Momentum(lr=0.1)
    solver.set_parameters(params)
    for k, g in grads(0, params).items():
        params[k].g = g
    solver.update()
    m2 = solver.get_states()["p2"].pstate["m"].d.copy()
    solver.remove_parameters(["p1"])
    assert list(solver.get_states()) == ["p0", "p2"]
    assert solver.get_states()["p2"].t == 1
    np.testing.assert_array_equal(solver.get_states()["p2"].pstate["m"].d, m2)
    solver.clear_parameters()
    assert solver.get_parameters() == OrderedDict()
    solver.update()


def test_replaced_buffers_still_update():
    params = make_params()
    solver = S.Momentum(lr=0.1, momentum=0.5)
    solver.set_parameters(params)
    ref = Reference(momentum, dict(lr=0.1, momentum=0.5), ("m",), params)
    g = grads(0, params)
    for k in params:
        params[k].g = g[k]
    solver.update()
    ref.step(g)
    new = np.arange(6, dtype=np.float64).reshape(2, 3)
    params["p1"].d = new  # a float64 array replaces the buffer
    params["p2"].data = nn.NdArray.from_numpy_array(np.ones((2, 1, 2), np.float32))
    ref.w["p1"], ref.w["p2"] = new.copy(), np.ones((2, 1, 2))
    g = grads(1, params)
    for k in params:
        params[k].g = g[k]
    solver.update()
    ref.step(g)
    assert_params(params, ref)
    assert solver.get_states()["p1"].t == 2  # state survived the rebuild


def test_hooks_run_once_per_updated_parameter():
    params = make_params()
    solver = S.Sgd()
    solver.set_parameters(params)
    calls = []
    nn.set_solver_pre_hook("count", lambda: calls.append("global"))
    try:
        for k, g in grads(0, params).items():
            params[k].g = g
        solver.update(update_pre_hook=lambda: calls.append("pre"), update_post_hook=lambda: calls.append("post"))
    finally:
        nn.unset_solver_pre_hook("count")
    assert calls == ["global", "pre", "post"] * 3


def test_setup_is_deprecated_and_bad_parameters_are_named():
    solver = S.Sgd()
    with pytest.raises(RuntimeError, match="set_parameters"):
        solver.setup({})
    with pytest.raises(TypeError, match="'w' is a ndarray"):
        solver.set_parameters({"w": np.zeros(3)})


def test_training_with_get_parameters_decreases_the_loss():
    import nnabla.functions as F
    import nnabla.parametric_functions as PF

    nn.clear_parameters()
    nn.seed(1)
    rng = np.random.RandomState(0)
    x = nn.Variable.from_numpy_array(rng.randn(16, 3).astype(np.float32))
    target = nn.Variable.from_numpy_array((x.d @ np.array([[1.0], [-2.0], [0.5]])).astype(np.float32))
    with nn.parameter_scope("reg"):
        loss = F.mean(F.squared_error(PF.affine(x, 1), target))
    solver = S.Adam(alpha=0.1)
    solver.set_parameters(nn.get_parameters())
    losses = []
    for _ in range(100):
        loss.forward()
        losses.append(float(loss.d))
        solver.zero_grad()
        loss.backward()
        solver.update()
    assert losses[-1] < 0.01 * losses[0]
    nn.clear_parameters()
