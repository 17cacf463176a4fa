"""The mistakes students make, each answered by a clear error naming the function, the argument and the values:
one row per mistake, raised where it is made (graph build), or at forward for what only the data shows."""

import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
import nnabla.parametric_functions as PF
import nnabla.solvers as S
from nnabla.function import FunctionError, FunctionIndexError, FunctionTypeError
from nnabla.utils.data_iterator import data_iterator_simple


def _x(*shape):
    return nn.Variable.from_numpy_array(np.random.RandomState(0).randn(*shape).astype(np.float32))


def _solver_with_param():
    solver = S.Sgd()
    solver.set_parameters({"w": nn.Variable((2,), need_grad=True)})
    return solver


def _sce_forward(labels):
    y = F.softmax_cross_entropy(_x(2, 3), nn.Variable.from_numpy_array(np.array(labels, np.float32)))
    y.forward()


MISTAKES = [
    # (what, call, error class, words the message must contain)
    (
        "mean over a repeated axis",
        lambda: F.mean(_x(2, 3), axis=(0, 0)),
        FunctionError,
        ["Mean", "axes=(0, 0)", "twice"],
    ),
    ("sum over an axis out of range", lambda: F.sum(_x(2, 3), axis=2), FunctionError, ["Sum", "axes=2", "2 dim"]),
    ("sum over a float axis", lambda: F.sum(_x(2, 3), axis=1.5), FunctionTypeError, ["Sum", "1.5"]),
    ("fractional float labels", lambda: _sce_forward([[0.5], [1.0]]), FunctionError, ["SoftmaxCrossEntropy", "0.5"]),
    ("a label past the classes", lambda: _sce_forward([[3], [1]]), FunctionIndexError, ["SoftmaxCrossEntropy", "3"]),
    ("negative Variable size", lambda: nn.Variable((2, -3)), ValueError, ["Variable", "(2, -3)", "negative"]),
    ("fractional Variable size", lambda: nn.Variable((2.5, 3)), TypeError, ["Variable", "2.5"]),
    ("a Variable of a string shape", lambda: nn.Variable(("a", 3)), TypeError, ["Variable", "'a'"]),
    ("negative NdArray size", lambda: nn.NdArray((-1,)), ValueError, ["NdArray", "negative"]),
    ("reset_shape to a negative size", lambda: _x(2, 3).reset_shape((-6,)), ValueError, ["reset_shape", "-6"]),
    ("affine to zero outputs", lambda: PF.affine(_x(2, 3), 0), FunctionError, ["PF.affine", "n_outmaps", "0"]),
    ("affine to negative outputs", lambda: PF.affine(_x(2, 3), -2), FunctionError, ["PF.affine", "n_outmaps", "-2"]),
    ("affine to a string", lambda: PF.affine(_x(2, 3), "4"), FunctionTypeError, ["PF.affine", "n_outmaps", "'4'"]),
    (
        "a zero kernel",
        lambda: PF.convolution(_x(1, 2, 5, 5), 2, (0, 3)),
        FunctionError,
        ["PF.convolution", "kernel", "(0, 3)"],
    ),
    ("an int kernel", lambda: PF.convolution(_x(1, 2, 5, 5), 2, 3), FunctionError, ["PF.convolution", "kernel", "3"]),
    (
        "a zero stride",
        lambda: PF.convolution(_x(1, 2, 5, 5), 2, (3, 3), stride=(0, 1)),
        FunctionError,
        ["PF.convolution", "stride", "(0, 1)"],
    ),
    (
        "a negative pad",
        lambda: PF.convolution(_x(1, 2, 5, 5), 2, (3, 3), pad=(-1, 0)),
        FunctionError,
        ["PF.convolution", "pad", "(-1, 0)"],
    ),
    ("zero output channels", lambda: PF.convolution(_x(1, 2, 5, 5), 0, (3, 3)), FunctionError, ["outmaps", "0"]),
    ("an embedding of no rows", lambda: PF.embed(_x(2, 3), 0, 4), FunctionError, ["PF.embed", "n_inputs"]),
    (
        "parameters as a list",
        lambda: S.Sgd().set_parameters([nn.Variable((2,))]),
        TypeError,
        ["Sgd.set_parameters", "dict", "list"],
    ),
    (
        "a parameter that is not a Variable",
        lambda: S.Sgd().set_parameters({"w": np.zeros(2)}),
        TypeError,
        ["Sgd.set_parameters", "'w'", "ndarray"],
    ),
    (
        "weight decay in words",
        lambda: _solver_with_param().weight_decay("a lot"),
        TypeError,
        ["Sgd.weight_decay", "decay_rate", "'a lot'"],
    ),
    ("a learning rate in words", lambda: S.Adam(alpha="fast"), TypeError, ["Adam", "alpha", "'fast'"]),
    (
        "set_learning_rate(None)",
        lambda: _solver_with_param().set_learning_rate(None),
        TypeError,
        ["set_learning_rate", "None"],
    ),
    ("a scale in words", lambda: _solver_with_param().scale_grad("x"), TypeError, ["scale_grad", "'x'"]),
    ("clip norm as a list", lambda: _solver_with_param().clip_grad_by_norm([1]), TypeError, ["clip_grad_by_norm"]),
    ("a scalar in words", lambda: F.add_scalar(_x(2), "a"), FunctionTypeError, ["AddScalar", "val", "'a'"]),
    ("an activation slope in words", lambda: F.leaky_relu(_x(2), alpha="a"), FunctionTypeError, ["LeakyReLU", "alpha"]),
    ("a bool given a string", lambda: F.relu(_x(2), inplace="yes"), FunctionTypeError, ["ReLU", "inplace", "'yes'"]),
    ("a broadcast to a negative size", lambda: F.broadcast(_x(1), (-1,)), FunctionError, ["Broadcast", "negative"]),
    ("a constant of negative size", lambda: F.constant(0, (-2, 3)), FunctionError, ["Constant", "negative"]),
    ("an unknown keyword", lambda: F.relu(_x(2), alhpa=1), TypeError, ["relu", "alhpa"]),
    ("an array where a Variable goes", lambda: F.relu(np.zeros(2)), FunctionError, ["ReLU", "x", "ndarray"]),
    ("shapes that do not broadcast", lambda: _x(2, 3) + _x(4), FunctionError, ["Add2", "(2, 3)", "(4,)"]),
    ("words into data", lambda: setattr(_x(2, 3), "d", "abc"), ValueError, ["NdArray.data", "'abc'", "(2, 3)"]),
    ("data of the wrong shape", lambda: setattr(_x(2, 3), "d", np.zeros(4)), ValueError, ["(4,)", "(2, 3)"]),
    ("a batch of zero", lambda: data_iterator_simple(_load, 10, 0), ValueError, ["batch_size", "0"]),
    ("no examples", lambda: data_iterator_simple(_load, 0, 2), ValueError, ["num_examples", "0"]),
    ("a load_func that is not one", lambda: data_iterator_simple(5, 10, 2), TypeError, ["load_func", "int"]),
    ("a load_func of one array", lambda: data_iterator_simple(np.zeros, 10, 2), TypeError, ["tuple", "ndarray"]),
    ("a scope named by a number", lambda: nn.parameter_scope(3).__enter__(), ValueError, ["parameter_scope", "3"]),
    (
        "Cholesky of a matrix that is not definite",
        lambda: _cholesky([[1, 2], [2, 1]]),
        FunctionError,
        ["BatchCholesky"],
    ),
    ("max over an empty axis", lambda: F.max(nn.Variable((2, 0)), axis=1), FunctionError, ["Max", "no element"]),
    ("an unknown backend", lambda: F.relu(_x(2)) if _ctx(["tpu:float"]) else None, ValueError, ["tpu:float"]),
]


def _cholesky(matrix):
    y = F.batch_cholesky(nn.Variable.from_numpy_array(np.array([matrix], np.float32)))
    y.forward()


def _load(i):
    return (np.full((2,), i, np.float32), np.int32(i % 3))


def _ctx(backend):
    with nn.context_scope(nn.Context(backend=backend)):
        return F.relu(_x(2))


def test_a_load_func_error_is_told_which_example():
    def load(i):
        if i == 3:
            raise KeyError("missing file 3.png")
        return _load(i)

    it = data_iterator_simple(load, 6, 2)
    it.next()
    with pytest.raises(KeyError) as info:
        it.next()
    assert any("load_func(3)" in note for note in info.value.__notes__)


@pytest.mark.parametrize("what, call, error, words", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_mistake_gets_a_named_error(what, call, error, words):
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    for word in words:
        assert word in message, f"{what}: {word!r} missing from {message!r}"


def test_whole_float_labels_still_work():
    """Labels stored as floats (as most tutorials keep them) are fine while they are whole numbers."""
    x = _x(2, 3)
    y = F.softmax_cross_entropy(x, nn.Variable.from_numpy_array(np.array([[2.0], [0.0]], np.float32)))
    y.forward()
    logp = np.log(np.exp(x.d) / np.exp(x.d).sum(1, keepdims=True))
    np.testing.assert_allclose(y.d[:, 0], -logp[[0, 1], [2, 0]], rtol=1e-5)


def test_whole_float_sizes_are_accepted_as_nnabla_does():
    assert nn.Variable((2.0, 3)).shape == (2, 3)
    assert nn.Variable(np.int64(4)).shape == (4,)


def test_a_refused_parametric_function_creates_no_parameter():
    nn.clear_parameters()
    with pytest.raises(FunctionError):
        PF.affine(_x(2, 3), -2, name="bad")
    assert nn.get_parameters() == {}
