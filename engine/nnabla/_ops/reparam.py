"""Weight reparameterizations: spectral normalization (power iteration, updating the singular vector u in place)
and weight normalization (a learned scale per output over the unit-norm weight)."""

from __future__ import annotations

from ..function import Function, FunctionError, apply, register
from .normalization import _write_back


@register
class SpectralNorm(Function):
    """W / sigma(W), sigma the largest singular value of W as a (w.shape[dim], -1) matrix, estimated by ``itr``
    power iterations from u; u is updated in place unless ``test``; ``output_u`` also outputs the u it started
    from. The gradient treats the iteration's u and v as constants, as NNabla does."""

    inputs_spec = ("w", "u")
    args_spec = {"dim": 0, "itr": 1, "eps": 1e-12, "test": False, "output_u": False}
    _u_start = None

    def init(self):
        a = self.args
        if a["itr"] <= 0 or a["eps"] <= 0:
            raise FunctionError(f"SpectralNorm: itr={a['itr']} and eps={a['eps']} must be positive")

    def output_shapes(self, ws, us):
        dim = self.args["dim"]
        if not 0 <= dim < len(ws):
            raise FunctionError(f"SpectralNorm: dim={dim} must satisfy 0 <= dim < {len(ws)} (w of shape {ws})")
        if tuple(us) != (ws[dim],):
            raise FunctionError(f"SpectralNorm: u of shape {us} must be ({ws[dim]},) for w of shape {ws}, dim={dim}")
        return [ws, us] if self.args["output_u"] else [ws]

    def _matrix(self, xp, w):
        return xp.moveaxis(w, self.args["dim"], 0).reshape(w.shape[self.args["dim"]], -1)

    def _from_matrix(self, xp, m, shape):
        dim = self.args["dim"]
        moved = (shape[dim],) + shape[:dim] + shape[dim + 1 :]
        return xp.ascontiguousarray(xp.moveaxis(m.reshape(moved), 0, dim))

    def _iterate(self, xp, m, u):
        eps = self.args["eps"]
        for _ in range(self.args["itr"]):
            v = u @ m
            v = v / xp.sqrt((v * v).sum() + eps)
            u = m @ v
            u = u / xp.sqrt((u * u).sum() + eps)
        return u, v, u @ (m @ v)

    def _run(self, variables, u_start, update):
        w = self._arrays_of(variables)[0]
        xp = self.xp
        m = self._matrix(xp, w)
        u, v, sigma = self._iterate(xp, m, u_start)
        if update:
            _write_back(variables[1], u)
        y = self._from_matrix(xp, m / sigma, w.shape)
        return self._as_outputs((y, u_start.copy()) if self.args["output_u"] else y)

    def _compute_outputs(self, variables):
        self._u_start = self._arrays_of(variables)[1].copy()
        return self._run(variables, self._u_start, not self.args["test"])

    def recompute(self, inputs, outputs) -> None:
        # from the u the forward started with, without updating it again
        for o, y in zip(outputs, self._run(inputs, self._u_start, False)):
            o._data._set_array(y)

    def grad(self, xp, xs, ys, gys, need):
        w = xs[0]
        u0 = self._u_start if self._u_start is not None else xs[1]
        m = self._matrix(xp, w)
        u, v, sigma = self._iterate(xp, m, u0)
        g = self._matrix(xp, gys[0])
        gm = g / sigma - ((g * m).sum() / (sigma * sigma)) * (u[:, None] * v[None, :])
        return self._from_matrix(xp, gm, w.shape), None


@register
class WeightNormalization(Function):
    """y = g * w / sqrt(sum of w^2 over every axis but ``dim`` + eps), g one scale per index of ``dim``."""

    inputs_spec = ("w", "g")
    args_spec = {"dim": 0, "eps": 1e-12}

    def output_shapes(self, ws, gs):
        dim = self.args["dim"]
        if not -len(ws) <= dim < len(ws):
            raise FunctionError(f"WeightNormalization: dim={dim} is out of range for w of shape {ws}")
        dim %= len(ws)
        if tuple(gs) != (ws[dim],):
            raise FunctionError(f"WeightNormalization: g of shape {gs} must be ({ws[dim]},) for w of shape {ws}")
        self._axes = tuple(i for i in range(len(ws)) if i != dim)
        self._g_shape = tuple(n if i == dim else 1 for i, n in enumerate(ws))
        return [ws]

    def _inv_norm(self, xp, w):
        return 1 / xp.sqrt((w * w).sum(axis=self._axes, keepdims=True) + self.args["eps"])

    def compute(self, xp, w, g):
        return g.reshape(self._g_shape) * w * self._inv_norm(xp, w)

    def grad(self, xp, xs, ys, gys, need):
        w, g = xs
        gy = gys[0]
        inv = self._inv_norm(xp, w)
        gy_w = (gy * w).sum(axis=self._axes, keepdims=True)
        gw = (gy - gy_w * inv * inv * w) * g.reshape(self._g_shape) * inv if need[0] else None
        gg = (gy_w * inv).reshape(g.shape) if need[1] else None
        return gw, gg


def spectral_norm(w, u, dim=0, itr=1, eps=1e-12, test=False, output_u=False):
    """W / sigma(W) by ``itr`` power iterations from u (see SpectralNorm); with ``output_u``, (W_sn, u)."""
    return apply(SpectralNorm(None, dim=dim, itr=itr, eps=eps, test=test, output_u=output_u), (w, u))


PUBLIC = {"spectral_norm": spectral_norm}
