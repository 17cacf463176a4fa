"""Every case of the op tables gives real NNabla 1.36's outputs and gradients.

fixtures/op_cases_nnabla.npz holds, per case of the ``CASES`` tables in test_ops_*.py, what real NNabla computed
(tests/reference/make_op_fixtures.py ran the same tables under NNabla): forward outputs, the input gradients of a
fixed weighting of the outputs, and the function's own ``backward`` with ``accum`` False and True. Here the same
recording runs on this engine and must agree, except where a case is listed below with its reason.
"""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F

HERE = os.path.dirname(os.path.abspath(__file__))


def _recorder():
    spec = importlib.util.spec_from_file_location(
        "make_op_fixtures", os.path.join(HERE, "..", "reference", "make_op_fixtures.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RECORDER = _recorder()
NNABLA = np.load(RECORDER.FIXTURE)
TABLES = RECORDER.load_tables()

# What real NNabla refuses (an error, or a crash) where this engine computes a result: why that is kept
REFUSED_BY_NNABLA = {
    **dict.fromkeys(
        [
            "test_ops_convolution/conv2d_channel_last",
            "test_ops_convolution/conv2d_channel_last_group",
            "test_ops_convolution/deconv2d_channel_last",
            "test_ops_pooling/max_channel_last",
            "test_ops_pooling/average_channel_last",
            "test_ops_pooling/sum_channel_last",
            "test_ops_pooling/unpooling_channel_last",
            "test_ops_pooling/linear_channel_last",
        ],
        "NNabla's CPU backend has no channel_last kernels (its CUDA one has): computed here on every backend",
    ),
    **dict.fromkeys(
        ["test_ops_core/sub2", "test_ops_logical/equal_broadcast", "test_ops_logical/less_broadcast"]
        + ["test_ops_logical/logical_xor_broadcast"],
        "NNabla 1.36 broadcasts only between inputs of equal ndim; numpy's rule (leading axes added) is kept here",
    ),
    "test_ops_array/transpose_negative": "NNabla 1.36 crashes on negative axes; counted from the end here",
    "test_ops_array/slice_clipped": "NNabla 1.36 crashes on a start before the first element; clipped here",
    "test_ops_indexing/getitem_int_and_list": "NNabla's indexing cannot mix an int and a list; numpy's rule here",
    "test_ops_normalization/tensor_normalization_function": "builds the Function class with this engine's arguments",
    "test_ops_convolution_variants/sync_batch_normalization": "NNabla 1.36 crashes without a communicator; with no"
    " distributed training here, it normalizes over the local batch",
    "test_ops_detection/roi_align_channel_last": "NNabla's CPU backend has no channel_last RoIAlign; computed here",
    **dict.fromkeys(
        [f"test_ops_signal/{k}" for k in ("fft1d", "fft2d_normalized", "fft3d", "ifft1d", "ifft2d_normalized")],
        "NNabla 1.36 has FFT/IFFT only on CUDA (its CPU forward raises 'not implemented'); computed here on every"
        " backend",
    ),
}
# Backward NNabla refuses (comparisons have no gradient there; BroadcastTo's is not implemented): here the
# gradients are zero (comparisons) or BroadcastTo's sum, and only the forward results are compared
GRAD_REFUSED_BY_NNABLA = "NNabla raises in backward"

# Where this engine's numbers differ from NNabla's on purpose: key -> why
KNOWN_DIFFERENCES = {
    **dict.fromkeys(
        [
            "test_ops_reduction/sort",
            "test_ops_reduction/sort_axis0_reverse",
            "test_ops_reduction/sort_with_index",
            "test_ops_reduction/sort_only_index",
        ],
        "NNabla 1.36's Sort backward gathers the output gradient by the sort index (gx[i] = gy[index[i]]) instead of"
        " scattering it (gx[index[i]] = gy[i]): wrong wherever the permutation is not its own inverse; the true"
        " gradient (checked numerically in test_ops_reduction) is kept here",
    ),
    **dict.fromkeys(
        [
            f"test_ops_recurrent/{k}"
            for k in ("rnn", "rnn_relu_no_bias", "rnn_2_layers_bidirectional", "lstm", "lstm_2_layers_bidirectional")
            + ("lstm_2_layers_no_bias", "gru", "gru_2_layers_bidirectional", "gru_bidirectional_no_bias")
        ],
        "NNabla 1.36's RNN/LSTM/GRU Function.backward called directly disagrees with its own graph backward over the"
        " same output gradients (its direct* differ from its grad* by up to 18); the graph gradients (grad*) and the"
        " forward match here, and the direct call here gives the graph gradients",
    ),
    "test_ops_recurrent/pad_packed_sequence_batch_first_total_length": "NNabla 1.36's F.pad_packed_sequence ignores"
    " padding_value (its CPU kernel pads with zeros); padding_value is used here",
    "test_ops_reduction/max_only_index": "NNabla sends the gradient of the index output to the argmax element; an"
    " integer index carries no gradient here",
    "test_ops_indexing/scatter_nd_out": "NNabla 1.36 gives ``out`` no gradient (its backward only masks the output's"
    " gradient in place); here ``out`` gets the gradient of the values it passes through",
}


def _cases():
    for module, cases in TABLES.items():
        for key, case in RECORDER.case_keys(cases):
            yield pytest.param(module, key, case, id=f"{module[len('test_ops_') :]}/{key}")


def test_fixture_is_nnabla_1_36_and_covers_every_case():
    assert str(NNABLA["nnabla_version"]) == "1.36.0"
    recorded = {k.rsplit("/", 1)[0] for k in NNABLA.files if "/" in k}
    ours = {f"{module}/{key}" for module, cases in TABLES.items() for key, _ in RECORDER.case_keys(cases)}
    assert ours - recorded == set(), "cases without NNabla's results: rerun tests/reference/make_op_fixtures.py"
    assert recorded - ours == set(), "NNabla results of removed cases: rerun tests/reference/make_op_fixtures.py"


def _differences(name, case, ours, theirs) -> list:
    out = []
    for field, expected in theirs.items():
        if field.endswith("error"):
            continue
        if field.startswith("out") and int(field[3:]) in case.skip_outputs:
            continue
        if field not in ours:
            if field.startswith(("direct", "accum")):
                continue  # here the case is several functions (e.g. Reshape then Sum): no single backward to call
            out.append(f"{field}: missing here")
            continue
        got = np.asarray(ours[field])
        if field.startswith("in"):
            if not np.array_equal(got, expected, equal_nan=got.dtype.kind == "f"):
                out.append(f"{field}: the table's input changed; rerun tests/reference/make_op_fixtures.py")
            continue
        if got.shape != expected.shape:
            out.append(f"{field}: shape {got.shape}, NNabla {expected.shape}")
            continue
        rtol, atol = max(case.rtol, 1e-5) * 4, max(case.atol, 1e-6) * 4
        if not np.allclose(got.astype(np.float64), expected.astype(np.float64), rtol=rtol, atol=atol, equal_nan=True):
            worst = np.max(np.abs(got.astype(np.float64) - expected))
            out.append(f"{field}: differs by up to {worst:.3g}")
    return out


@pytest.mark.parametrize("module, key, case", list(_cases()))
def test_case_matches_nnabla(module, key, case):
    name = f"{module}/{key}"
    prefix = name + "/"
    theirs = {k[len(prefix) :]: NNABLA[k] for k in NNABLA.files if k.startswith(prefix)}
    if "error" in theirs:
        assert name in REFUSED_BY_NNABLA, f"NNabla refuses {name} ({theirs['error']}): say why it is kept here"
        return
    nn.seed(313)
    ours = RECORDER.record(nn, F, case)
    if "grad_error" in theirs:
        theirs = {k: v for k, v in theirs.items() if not k.startswith(("grad", "direct", "accum"))}
    differences = _differences(name, case, ours, theirs)
    if name in KNOWN_DIFFERENCES:
        assert differences, f"{name} matches NNabla now: remove it from KNOWN_DIFFERENCES"
        return
    assert not differences, f"{name} differs from NNabla 1.36:\n" + "\n".join(differences)


def test_refused_lists_name_recorded_refusals():
    errors = {k.rsplit("/", 1)[0] for k in NNABLA.files if k.endswith("/error")}
    assert set(REFUSED_BY_NNABLA) <= errors, set(REFUSED_BY_NNABLA) - errors
