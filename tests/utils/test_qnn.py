"""Quantization-aware training (``nnabla.utils.qnn`` and the two quantization graph converters) against real
NNabla 1.36: the scenarios of ``qnn_scenarios.py`` replayed here give the fixture's parameter names, shapes,
recorded ranges, scales, zero points, losses, learning rates, quantized outputs, converted graphs and printed
state changes (``tests/reference/make_qnn_fixtures.py`` wrote it). Then the rules NNabla leaves implicit."""

import functools
import inspect
import os
import sys

import numpy as np
import pytest

HERE = os.path.dirname(__file__)
sys.path[:0] = [HERE, os.path.join(HERE, "..", "engine")]
from qnn_scenarios import ALL, SHAPE, _conv_net, unpack  # noqa: E402

import nnabla as nn  # noqa: E402
import nnabla.experimental.graph_converters as GC  # noqa: E402
import nnabla.functions as F  # noqa: E402
from nnabla.function import FunctionError  # noqa: E402
from nnabla.utils import qnn  # noqa: E402
from opcheck import Case, check_forward, check_grad  # noqa: E402

FIXTURE = unpack(np.load(os.path.join(HERE, "fixtures", "qnn_reference.npz")))


def expected(name):
    prefix = f"{name}/"
    return {k[len(prefix) :]: v for k, v in FIXTURE.items() if k.startswith(prefix)}


@functools.lru_cache(maxsize=None)
def replayed(name):
    return ALL[name]()


@pytest.mark.parametrize("name", list(ALL))
def test_same_keys_as_nnabla(name):
    """The same parameters exist after each step (recorders' ``m-``/``M-``, ``scale-``/``zeropoint-``, folded ones)."""
    assert sorted(replayed(name)) == sorted(expected(name))


@pytest.mark.parametrize("name", list(ALL))
def test_same_values_as_nnabla(name):
    got = replayed(name)
    for key, want in expected(name).items():
        value = np.asarray(got[key])
        if want.dtype.kind in "US":
            assert value.tolist() == want.tolist(), f"{name}: {key}"
            continue
        assert value.shape == want.shape, f"{name}: {key} shape {value.shape} != NNabla's {want.shape}"
        np.testing.assert_allclose(value.astype(np.float64), want, rtol=1e-4, atol=1e-6, err_msg=f"{name}: {key}")


def test_recording_freezes_weights_and_training_moves_them():
    got = replayed("default_config")
    w = "param/conv2/conv/W"
    np.testing.assert_array_equal(got[f"1/{w}"], got[f"3/{w}"])  # steps 1..3 record: nothing learns
    assert not np.array_equal(got[f"3/{w}"], got[f"6/{w}"])
    assert got["3/lr"] == pytest.approx(0.1) and got["4/lr"] == pytest.approx(0.1 * 0.1 * 0.1)  # once per network


# -- the recorder functions ---------------------------------------------------------------------------------

R = np.random.RandomState(3)
X = R.randn(2, 3, 4)
RANGE = np.full((1, 1, 1), 0.5)

FIRST_ORDER = {"second_order": False}  # Python functions: like NNabla, nn.grad has no gradient graph for them
RECORDERS = [
    Case(
        "minmax_minmax_recorder",
        qnn.minmax_minmax_recorder,
        lambda x, m, M: x,
        [X, -RANGE, RANGE],
        grad_inputs=[0],
        **FIRST_ORDER,
    ),
    Case(
        "minmax_mva_recorder",
        qnn.minmax_mva_recorder,
        lambda x, m, M: x,
        [X, -RANGE, RANGE],
        grad_inputs=[0],
        **FIRST_ORDER,
    ),
    Case("abs_max_recorder", qnn.abs_max_recorder, lambda x, M: x, [X, RANGE], grad_inputs=[0], **FIRST_ORDER),
    Case("max_max_recorder", qnn.max_max_recorder, lambda x, M: x, [X, RANGE], grad_inputs=[0], **FIRST_ORDER),
    Case("max_mva_recorder", qnn.max_mva_recorder, lambda x, M: x, [X, RANGE], grad_inputs=[0], **FIRST_ORDER),
]


@pytest.mark.parametrize("case", RECORDERS, ids=str)
def test_recorder_is_identity_forward_and_backward(case):
    # NNabla 1.36's recorders leave x's gradient as it was (a slip in its backward); here they pass it through
    check_forward(case)
    check_grad(case)


@pytest.mark.parametrize(
    "call",
    [
        lambda x: qnn.minmax_minmax_recorder(x, nn.Variable((1,)), nn.Variable((1, 1))),
        lambda x: qnn.abs_max_recorder(x, nn.Variable((1, 2))),
        lambda x: qnn.MaxMvaRecorder(None)(x, nn.Variable((1, 1)), nn.Variable((1, 1))),
    ],
)
def test_recorder_refuses_ranges_of_the_wrong_shape(call):
    with pytest.raises(FunctionError, match="Recorder"):
        call(nn.Variable((2, 3)))


def test_recorder_updates_its_range_in_place_only_while_training():
    x = nn.Variable.from_numpy_array(np.array([[-3.0, 1.0, 2.0]]))
    M = nn.Variable.from_numpy_array(np.zeros((1, 1)))
    y = qnn.max_max_recorder(x, M, training=False)
    y.forward()
    assert M.d.item() == 0.0
    qnn.max_max_recorder(x, M).forward()
    assert M.d.item() == 2.0
    assert y.parent.info.type_name == "MaxMaxRecorder"


def test_scale_and_zeropoint_are_frozen_once_made():
    nn.clear_parameters()
    x = nn.Variable.from_numpy_array(np.array([[-1.0, 3.0]]))
    with nn.parameter_scope("s"):
        qnn.MinMaxMinMaxRecorderCallback()(x, name="x0").forward()
        scale, zp = qnn.MinMaxMinMaxRecorderCallback.get_scale_zeropoint(x, name="x0")
        nn.get_parameters(grad_only=False)["M-x0"].d = 100.0
        again = qnn.MinMaxMinMaxRecorderCallback.get_scale_zeropoint(x, name="x0")
    assert again == (scale, zp) and not scale.need_grad and not zp.need_grad
    assert scale.d.item() == pytest.approx(4 / 255) and zp.d.dtype == np.int8  # (3 - -1) / (127 - -128)


# -- the scheduler ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("recording, training", [(0, -1), (-1, 3), (2, 1), (2, 2)])
def test_scheduler_refuses_steps_out_of_order(recording, training):
    config = qnn.QATConfig()
    config.niter_to_recording, config.niter_to_training = recording, training
    with pytest.raises(ValueError, match="niter_to_recording and niter_to_training"):
        qnn.QATScheduler(config)


def test_only_simulated_quantization_exists():
    config = qnn.QATConfig()
    config.precision_mode = qnn.PrecisionMode.QNN
    with pytest.raises(ValueError, match="SIM_QNN"):
        GC.QuantizeRecordingToTrainingModifier({}, config=config)


def test_saved_evaluation_network_loads_with_the_quantized_graph(tmp_path, capsys):
    from nnabla.utils.nnp_graph import NnpLoader

    nn.clear_parameters()
    rng = np.random.RandomState(0)
    x, vx = nn.Variable(SHAPE), nn.Variable(SHAPE)
    pred, vpred = _conv_net(x, rng), _conv_net(vx, rng, test=True)
    config = qnn.QATConfig()
    config.ext_name, config.niter_to_recording, config.niter_to_training = "cpu", 0, 2
    scheduler = qnn.QATScheduler(config)
    scheduler(pred)
    scheduler(vpred, training=False)  # shares the ranges the training network records
    for _ in range(3):
        scheduler.step()
        x.d = rng.randn(*SHAPE)
        pred.forward()
    vx.d = x.d
    vpred.forward()
    assert np.isfinite(vpred.d).all() and scheduler.state == qnn.QNNState.TRAINING
    assert "QNNState.RECORDING -> QNNState.TRAINING" in capsys.readouterr().out
    with pytest.raises(ValueError, match="deploy"):
        scheduler.save(str(tmp_path / "q.nnp"), vx, deploy=True)
    scheduler.save(str(tmp_path / "q.nnp"), vx, batch_size=SHAPE[0])
    net = NnpLoader(str(tmp_path / "q.nnp")).get_network("net", batch_size=SHAPE[0])
    net.inputs["x0"].d = vx.d
    y = net.outputs["y0"]
    y.forward()
    np.testing.assert_allclose(y.d, vpred.d, rtol=1e-6, atol=1e-7)
    assert "QuantizeLinear" in {f.info.type_name for f in _functions(y)}


def _functions(y):
    fs = []
    y.visit(fs.append)
    return fs


def test_functions_rank_recorder_skips_training_only_functions():
    x = nn.Variable((2, 3))
    y = F.relu(F.dropout(F.tanh(x), 0.5))
    ranks = qnn.FunctionsRankRecorder()
    y.visit(ranks)
    assert [(f.info.type_name, r) for f, r in ranks.functions_ranks.items()] == [("Tanh", 0), ("ReLU", 1)]


# NNabla 1.36's signatures, read off by inspect.signature (annotations aside)
SIGNATURES = {
    "minmax_minmax_recorder": "x, m, M, training=True",
    "abs_max_recorder": "x, M, training=True",
    "minmax_mva_recorder": "x, m, M, decay=0.99, training=True",
    "max_max_recorder": "x, M, training=True",
    "max_mva_recorder": "x, M, decay=0.99, training=True",
}


SIGNATURES.update({
    "MinMaxMvaRecorder.__init__": "self, ctx, decay=0.99, training=True",
    "MaxMaxRecorder.__init__": "self, ctx, training=True",
    "FunctionsRankRecorder.__init__": "self, functions_only_for_training=['ImageAugmentation', 'Dropout']",
    "MaxMvaRecorderCallback.__call__": "self, x, axes=[1], training=True, name=''",
    "MaxMvaRecorderCallback.get_scale_zeropoint": "x, axes=[1], narrow_range=False, round_method='NOTROUND', name=''",
    "MinMaxMinMaxRecorderCallback.get_scale_zeropoint": "x, axes=[1], narrow_range=False, round_method='NOTROUND', "
    "name=''",
    "QATScheduler.save": "self, fname, inputs, batch_size=1, net_name='net', deploy=False",
    "QATScheduler.__call__": "self, pred, training=True",
})  # fmt: skip


@pytest.mark.parametrize("name", list(SIGNATURES))
def test_signature_matches_nnabla(name):
    owner, _, attr = name.rpartition(".")
    signature = inspect.signature(getattr(getattr(qnn, owner) if owner else qnn, attr))
    plain = [p.replace(annotation=inspect.Parameter.empty) for p in signature.parameters.values()]
    plain = signature.replace(parameters=plain, return_annotation=inspect.Signature.empty)
    assert str(plain)[1:-1] == SIGNATURES[name]
