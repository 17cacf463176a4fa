"""The quantized, low-rank and reparameterizing parametric-function cases whose parameters and numbers are
compared with real NNabla's. Only NNabla's public API is used here: ``tests/reference/make_pf_quantized.py``
runs these cases under real NNabla 1.36 to write the fixture, ``test_pf_quantized.py`` runs them on this engine.
"""

import numpy as np

import nnabla as nn
import nnabla.parametric_functions as PF
from nnabla.initializer import NormalInitializer


def R(seed=0):
    return np.random.RandomState(seed)


AFFINE_X, CONV_X, WEIGHT_X = (2, 3, 2), (2, 4, 5, 5), (4, 3, 2)

# name: (input shape, build(x), forward passes before backward, seed for the default generator or None)
CASES = {
    "binary_connect_affine": (AFFINE_X, lambda x: PF.binary_connect_affine(x, 4, rng=R()), 1, None),
    "binary_connect_affine_no_bias": (
        AFFINE_X,
        lambda x: PF.binary_connect_affine(x, (2, 2), quantize_zero_to=-1.0, with_bias=False, rng=R()),
        1,
        None,
    ),
    "binary_connect_convolution": (
        CONV_X,
        lambda x: PF.binary_connect_convolution(x, 3, (3, 3), pad=(1, 1), rng=R()),
        1,
        None,
    ),
    "binary_weight_affine": (AFFINE_X, lambda x: PF.binary_weight_affine(x, 4), 1, 313),
    "binary_weight_convolution": (
        CONV_X,
        lambda x: PF.binary_weight_convolution(x, 3, (3, 3), stride=(2, 2), rng=R()),
        1,
        None,
    ),
    "inq_affine": (
        AFFINE_X,
        lambda x: PF.inq_affine(x, 4, inq_iterations=(1, 2), selection_algorithm="largest_abs", rng=R()),
        3,
        None,
    ),
    "inq_affine_random": (
        AFFINE_X,
        lambda x: PF.inq_affine(x, 4, num_bits=3, inq_iterations=(0, 3), seed=5, rng=R()),
        2,
        None,
    ),
    "inq_convolution": (
        CONV_X,
        lambda x: PF.inq_convolution(x, 3, (3, 3), inq_iterations=(0,), selection_algorithm="largest_abs", rng=R()),
        1,
        None,
    ),
    "fixed_point_quantized_affine": (AFFINE_X, lambda x: PF.fixed_point_quantized_affine(x, 4), 1, 313),
    "fixed_point_quantized_affine_options": (
        AFFINE_X,
        lambda x: PF.fixed_point_quantized_affine(
            x, 4, sign_w=False, n_w=4, delta_w=0.125, ste_fine_grained_w=False, quantize_b=False, rng=R()
        ),
        1,
        None,
    ),
    "fixed_point_quantized_convolution": (
        CONV_X,
        lambda x: PF.fixed_point_quantized_convolution(x, 4, (3, 3), group=2, n_w=5, delta_w=0.05, rng=R()),
        1,
        None,
    ),
    "pow2_quantized_affine": (
        AFFINE_X,
        lambda x: PF.pow2_quantized_affine(x, 4, with_zero_w=True, m_w=-1, n_w=4, rng=R()),
        1,
        None,
    ),
    "pow2_quantized_convolution": (
        CONV_X,
        lambda x: PF.pow2_quantized_convolution(x, 3, (3, 3), pad=(1, 1), sign_b=False, rng=R()),
        1,
        None,
    ),
    "pruned_affine": (AFFINE_X, lambda x: PF.pruned_affine(x, 4, rate_w=0.5, rng=R()), 1, None),
    "pruned_convolution": (
        CONV_X,
        lambda x: PF.pruned_convolution(x, 4, (3, 3), group=2, prune_b=False, rng=R()),
        1,
        None,
    ),
    "min_max_quantize": (AFFINE_X, lambda x: PF.min_max_quantize(x, ql_max=15), 1, None),
    "min_max_quantize_ema": (
        AFFINE_X,
        lambda x: PF.min_max_quantize(x, decay=0.5, x_min_max=True, ema=True),
        2,
        None,
    ),
    "min_max_quantized_affine": (AFFINE_X, lambda x: PF.min_max_quantized_affine(x, 4, ql_max_w=15, rng=R()), 1, None),
    "min_max_quantized_convolution": (
        CONV_X,
        lambda x: PF.min_max_quantized_convolution(x, 3, (3, 3), w_min_max=True, rng=R()),
        1,
        None,
    ),
    "spectral_norm": (WEIGHT_X, lambda w: PF.spectral_norm(w, dim=1, itr=2), 1, 0),
    "spectral_norm_last_dim": (
        WEIGHT_X,
        lambda w: PF.spectral_norm(w, dim=2, u_init=NormalInitializer(rng=R(3))),
        2,
        None,
    ),
    "weight_normalization": (WEIGHT_X, lambda w: PF.weight_normalization(w), 1, None),
    "weight_normalization_dim2": (WEIGHT_X, lambda w: PF.weight_normalization(w, dim=2, eps=0.01), 1, None),
    "svd_affine": (AFFINE_X, lambda x: PF.svd_affine(x, 4, 2, rng=R()), 1, None),
    # fixed parameters keep need_grad in the store but get no gradient
    "svd_affine_fixed": (AFFINE_X, lambda x: PF.svd_affine(x, 4, 2, fix_parameters=True, rng=R()), 1, None),
    "min_max_quantized_affine_fixed": (
        AFFINE_X,
        lambda x: PF.min_max_quantized_affine(x, 4, fix_parameters=True, rng=R()),
        1,
        None,
    ),
    "binary_connect_affine_fixed": (
        AFFINE_X,
        lambda x: PF.binary_connect_affine(x, 4, fix_parameters=True, rng=R()),
        1,
        None,
    ),
    "svd_convolution": (CONV_X, lambda x: PF.svd_convolution(x, 3, (3, 3), 2, pad=(1, 1), rng=R()), 1, None),
    "cpd3_convolution": (CONV_X, lambda x: PF.cpd3_convolution(x, 3, (3, 3), 2, pad=(1, 1), rng=R()), 1, None),
}


def run(name):
    """Build case ``name`` from fresh parameters, run its forward passes and one backward; return every number
    by key: ``y``, ``x/g``, and for each parameter (in creation order) ``param/<name>``, its gradient
    ``grad/<name>`` when it needs one, and ``need_grad/<name>``."""
    shape, build, passes, seed = CASES[name]
    nn.clear_parameters()
    if seed is not None:
        nn.seed(seed)
    x = nn.Variable.from_numpy_array(R(1).randn(*shape).astype(np.float32) * 2, need_grad=True)
    y = build(x)
    for _ in range(passes):
        y.forward()
    out = {"y": y.d.copy()}
    params = nn.get_parameters(grad_only=False)
    for p in list(params.values()) + [x]:
        p.grad.zero()
    y.backward(R(2).randn(*y.shape).astype(np.float32))
    out["x/g"] = x.g.copy()
    out["names"] = np.array(list(params))
    for key, p in params.items():
        out[f"param/{key}"] = p.d.copy()
        out[f"need_grad/{key}"] = np.array(p.need_grad)
        if p.need_grad:
            out[f"grad/{key}"] = p.g.copy()
    nn.clear_parameters()
    return out
