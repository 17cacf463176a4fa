"""Weight reparameterizations as parametric functions: spectral normalization (its singular vector ``u`` a
parameter without gradient) and weight normalization (the learned scale ``g``)."""

from __future__ import annotations

from .. import functions as F
from ..initializer import NormalInitializer, WeightNormalizationScaleInitializer
from ..parameter import get_parameter_or_create
from ..parametric_functions import parametric_function_api

__all__ = ["spectral_norm", "weight_normalization"]


@parametric_function_api("spectral-norm")
def spectral_norm(w, dim=0, itr=1, eps=1e-12, test=False, u_init=None, fix_parameters=True):
    """w / sigma(w) with the power iteration's vector ``spectral-norm/u`` of (w.shape[dim],), N(0, 1) initially,
    never trained (updated in place on forward unless ``test``)."""
    if not 0 <= dim < len(w.shape):
        raise ValueError(f"spectral_norm: dim={dim} must satisfy 0 <= dim < {len(w.shape)} (w of shape {w.shape})")
    u = get_parameter_or_create("u", (w.shape[dim],), u_init or NormalInitializer(), False, False)
    return F.spectral_norm(w, u, dim=dim, itr=itr, eps=eps, test=test)


@parametric_function_api("wn")
def weight_normalization(w, dim=0, eps=1e-12, g_init=None, fix_parameters=False):
    """g * w / ||w|| with the scale ``wn/g`` of (w.shape[dim],), initially w's norms (so the output starts as w)."""
    if g_init is None:
        g_init = WeightNormalizationScaleInitializer(w, dim, eps)
    g = get_parameter_or_create("g", (w.shape[dim],), g_init, True, not fix_parameters)
    return F.weight_normalization(w, g, dim, eps)
