"""Attention: ``F.multi_head_attention``, composed from affine, batch_matmul and softmax as NNabla composes it."""

from __future__ import annotations

import numpy as np

from .._array import NdArray
from ..function import FunctionError


def _check(ok, message):
    if not ok:
        raise FunctionError(f"multi_head_attention: {message}")


def _filled(like, value, shape):
    """A constant of ``shape``: a Constant node in a graph, an array at once for NdArray inputs."""
    from .. import functions as F

    if isinstance(like, NdArray):
        return NdArray.from_numpy_array(np.full(shape, value, np.float32))
    return F.constant(value, shape)


def multi_head_attention(
    query,
    key,
    value,
    num_heads,
    q_weight,
    k_weight,
    v_weight,
    out_weight,
    q_bias=None,
    k_bias=None,
    v_bias=None,
    out_bias=None,
    attn_bias_k=None,
    attn_bias_v=None,
    dropout=0.0,
    additive_mask=None,
    key_padding_mask=None,
):
    """(output (L_T, B, E_out), attention weights (B * num_heads, L_T, L_S)) of scaled dot-product attention
    over ``num_heads`` heads; query (L_T, B, D_q), key and value (L_S, B, D_k / D_v)."""
    from .. import functions as F

    _check(
        query.ndim == 3 and key.ndim == 3 and value.ndim == 3, "query, key and value must be 3-D (length, batch, dim)"
    )
    tgt_len, batch, _ = query.shape
    src_len = key.shape[0]
    embed, v_embed = q_weight.shape[1], v_weight.shape[1]
    _check(
        key.shape[1] == batch and value.shape[1] == batch,
        f"batch sizes differ: {query.shape}, {key.shape}, {value.shape}",
    )
    _check(value.shape[0] == src_len, f"key of shape {key.shape} and value of shape {value.shape} differ in length")
    _check(k_weight.shape[1] == embed, f"q_weight {q_weight.shape} and k_weight {k_weight.shape} embed differently")
    _check(embed % num_heads == 0, f"embedding dimension {embed} must be divisible by num_heads={num_heads}")
    _check(v_embed % num_heads == 0, f"value embedding dimension {v_embed} must be divisible by num_heads={num_heads}")
    if key_padding_mask is not None:
        _check(
            tuple(key_padding_mask.shape) == (batch, src_len),
            f"key_padding_mask of shape {key_padding_mask.shape} must be (batch, source length) = {(batch, src_len)}",
        )
    head_dim, head_vdim = embed // num_heads, v_embed // num_heads

    q = F.affine(query, q_weight, q_bias, base_axis=2)
    k = F.affine(key, k_weight, k_bias, base_axis=2)
    v = F.affine(value, v_weight, v_bias, base_axis=2)
    q = q * float(head_dim) ** -0.5
    if attn_bias_k is not None:
        # one learned key/value appended to the source sequence
        src_len += 1
        k = F.concatenate(k, F.broadcast(F.reshape(attn_bias_k, (1, 1, embed)), (1, batch, embed)), axis=0)
        v = F.concatenate(v, F.broadcast(F.reshape(attn_bias_v, (1, 1, v_embed)), (1, batch, v_embed)), axis=0)
        if additive_mask is not None:
            additive_mask = F.pad(additive_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = F.pad(key_padding_mask, (0, 1))

    heads = batch * num_heads
    q = F.transpose(F.reshape(q, (tgt_len, heads, head_dim)), (1, 0, 2))
    k = F.transpose(F.reshape(k, (-1, heads, head_dim)), (1, 0, 2))
    v = F.transpose(F.reshape(v, (-1, heads, head_vdim)), (1, 0, 2))
    weights = F.batch_matmul(q, k, transpose_b=True)  # (B*H, L_T, L_S)
    if additive_mask is not None:
        weights = weights + F.reshape(additive_mask, (1,) + tuple(additive_mask.shape))
    if key_padding_mask is not None:
        shape = (batch, num_heads, tgt_len, src_len)
        padded = F.broadcast(F.reshape(key_padding_mask, (batch, 1, 1, src_len)), shape)
        weights = F.where(padded, _filled(weights, float("-inf"), shape), F.reshape(weights, shape))
        weights = F.reshape(weights, (heads, tgt_len, src_len))
    weights = F.softmax(weights, axis=2)
    if dropout > 0:
        weights = F.dropout(weights, p=dropout)
    out = F.batch_matmul(weights, v)  # (B*H, L_T, head_vdim)
    out = F.reshape(F.transpose(out, (1, 0, 2)), (tgt_len, batch, v_embed))
    return F.affine(out, out_weight, out_bias, base_axis=2), weights


PUBLIC = {"multi_head_attention": multi_head_attention}
