"""Reference and gradient checks for losses and metrics, and the rules for their label inputs."""

import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
from nnabla.function import FunctionError
from opcheck import Case, check_forward, check_grad, randn, uniform


def log_softmax(x, axis=-1):
    x = x.astype(np.float64)
    s = x - x.max(axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis, keepdims=True))


def pick(a, label, axis=-1):
    return np.take_along_axis(a, np.maximum(label, 0), axis)


def softmax_ce(x, t, axis=-1):
    return np.where(t < 0, 0, -pick(log_softmax(x, axis), t, axis))


def categorical_ce(p, t, axis=-1):
    return np.where(t < 0, 0, -np.log(pick(p, t, axis)))


def sigmoid_ce(x, t):
    t = np.trunc(t)  # NNabla reads the target as an integer label: 0.7 counts as 0
    p = 1 / (1 + np.exp(-x.astype(np.float64)))
    return -(t * np.log(p) + (1 - t) * np.log(1 - p))


def huber(a, b, delta=1.0):
    d = np.abs(a - b)
    return np.where(d < delta, d**2, delta * (2 * d - delta))


def kl(p, q, base_axis=1):
    d = p * (np.log(p + 1e-8) - np.log(q + 1e-8))
    return d.reshape(p.shape[:base_axis] + (-1,)).sum(-1, keepdims=True)


def top_n_error(x, t, axis=-1, n=1):
    return ((x >= pick(x, t, axis)).sum(axis, keepdims=True) > n).astype(np.float32)


def confusion(x, t, axis=-1):
    c = x.shape[axis]
    m = np.zeros((c, c), t.dtype)
    for true, pred in zip(t.ravel(), x.argmax(axis).ravel()):
        m[true, pred] += 1
    return m


def probs(*shape, axis=-1, seed=None):
    e = np.exp(randn(*shape, seed=seed))
    return (e / e.sum(axis, keepdims=True)).astype(np.float32)


LABELS = np.array([[2], [0], [3], [1]])
LABELS_WITH_IGNORED = np.array([[2], [-1], [3], [1]])
LABELS_AXIS1 = np.array([[[0, 2]], [[1, 1]]], np.int32)  # x (2, 3, 2), classes on axis 1
PROB_SCORES = np.array([[0.1, 0.5, 0.3, 0.1], [0.6, 0.1, 0.2, 0.1], [0.2, 0.2, 0.5, 0.1]], np.float32)

CASES = [
    Case("absolute_error", F.absolute_error, lambda a, b: np.abs(a - b), [randn(2, 3), randn(2, 3, seed=1)]),
    Case("absolute_error_broadcast", F.absolute_error, lambda a, b: np.abs(a - b), [randn(2, 3), randn(1, 3, seed=1)]),
    Case("huber_loss", F.huber_loss, huber, [randn(3, 4), randn(3, 4, seed=1)]),
    Case(
        "huber_loss_delta",
        lambda a, b: F.huber_loss(a, b, delta=0.5),
        lambda a, b: huber(a, b, 0.5),
        [randn(3, 4), randn(3, 4, seed=2)],
    ),
    Case(
        "epsilon_insensitive_loss",
        lambda a, b: F.epsilon_insensitive_loss(a, b, 0.3),
        lambda a, b: np.maximum(np.abs(a - b) - 0.3, 0),
        [randn(3, 4), randn(3, 4, seed=1)],
    ),
    Case("softmax_cross_entropy", F.softmax_cross_entropy, softmax_ce, [randn(4, 5), LABELS]),
    Case("softmax_cross_entropy_ignored", F.softmax_cross_entropy, softmax_ce, [randn(4, 5), LABELS_WITH_IGNORED]),
    Case(
        "softmax_cross_entropy_axis1",
        lambda x, t: F.softmax_cross_entropy(x, t, axis=1),
        lambda x, t: softmax_ce(x, t, 1),
        [randn(2, 3, 2), LABELS_AXIS1],
    ),
    Case(
        "softmax_cross_entropy_float_labels",
        F.softmax_cross_entropy,
        lambda x, t: softmax_ce(x, t.astype(int)),
        [randn(4, 5), LABELS.astype(np.float32)],
        grad_inputs=[0],
    ),
    Case("categorical_cross_entropy", F.categorical_cross_entropy, categorical_ce, [probs(4, 5), LABELS_WITH_IGNORED]),
    Case(
        "categorical_cross_entropy_axis1",
        lambda p, t: F.categorical_cross_entropy(p, t, axis=1),
        lambda p, t: categorical_ce(p, t, 1),
        [probs(2, 3, 2, axis=1), LABELS_AXIS1],
    ),
    Case(
        "sigmoid_cross_entropy",
        F.sigmoid_cross_entropy,
        sigmoid_ce,
        [randn(3, 4) * 3, uniform(0, 1, 3, 4)],
        grad_inputs=[0],
    ),
    Case(
        "sigmoid_cross_entropy_float_labels",
        F.sigmoid_cross_entropy,
        sigmoid_ce,
        [randn(3, 4), uniform(0, 2, 3, 4, seed=3).round() - np.float32(0.25)],  # -0.25, 0.75, 1.75: truncated
        grad_inputs=[0],
    ),
    Case(
        "sigmoid_cross_entropy_int_target",
        F.sigmoid_cross_entropy,
        sigmoid_ce,
        [randn(3, 4), (randn(3, 4, seed=5) > 0).astype(np.int32)],
    ),
    Case(
        "binary_cross_entropy",
        F.binary_cross_entropy,
        lambda p, t: -(t * np.log(p) + (1 - t) * np.log(1 - p)),
        [uniform(0.1, 0.9, 3, 4), uniform(0, 1, 3, 4, seed=1)],
    ),
    Case("kl_multinomial", F.kl_multinomial, kl, [probs(3, 4), probs(3, 4, seed=1)]),
    Case(
        "kl_multinomial_base_axis2",
        lambda p, q: F.kl_multinomial(p, q, base_axis=2),
        lambda p, q: kl(p, q, 2),
        [probs(2, 2, 3), probs(2, 2, 3, seed=1)],
    ),
    Case("top_n_error", F.top_n_error, top_n_error, [PROB_SCORES, LABELS[:3]], grad=False),
    Case(
        "top_n_error_n2",
        lambda x, t: F.top_n_error(x, t, n=2),
        lambda x, t: top_n_error(x, t, n=2),
        [PROB_SCORES, LABELS[:3]],
        grad=False,
    ),
    Case(
        "top_n_error_axis1",
        lambda x, t: F.top_n_error(x, t, axis=1),
        lambda x, t: top_n_error(x, t, 1),
        [randn(2, 3, 2), LABELS_AXIS1],
        grad=False,
    ),
    Case(
        "binary_error",
        F.binary_error,
        lambda x, t: ((x >= 0.5) != (t >= 0.5)).astype(np.float32),
        [uniform(0, 1, 3, 4), uniform(0, 1, 3, 4, seed=1)],
        grad=False,
    ),
    Case(
        "confusion_matrix",
        F.confusion_matrix,
        confusion,
        [randn(6, 3), np.array([[0], [1], [2], [1], [1], [0]])],
        grad=False,
    ),
    Case(
        "confusion_matrix_axis1",
        lambda x, t: F.confusion_matrix(x, t, axis=1),
        lambda x, t: confusion(np.moveaxis(x, 1, -1), np.moveaxis(t, 1, -1)),
        [randn(2, 3, 2), LABELS_AXIS1],
        grad=False,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_forward(case):
    check_forward(case)


@pytest.mark.parametrize("case", [c for c in CASES if c.grad], ids=str)
def test_grad(case):
    check_grad(case)


def test_integer_labels_keep_their_dtype():
    # 2**24 + 1 is not a float32: a label cast to the compute dtype would pick the wrong class
    n = 2**24 + 2
    x = nn.Variable.from_numpy_array(np.zeros((1, n), np.float32))
    x.d[0, n - 1] = 5.0
    t = nn.Variable.from_numpy_array(np.array([[n - 1]], np.int64))
    y = F.softmax_cross_entropy(x, t)
    y.forward()
    assert t.d.dtype == np.int64
    np.testing.assert_allclose(y.d, -log_softmax(x.d)[:, n - 1 :], rtol=1e-4)


@pytest.mark.parametrize("fn", [F.softmax_cross_entropy, F.categorical_cross_entropy])
def test_labels_get_no_gradient(fn):
    x = nn.Variable.from_numpy_array(probs(4, 5), need_grad=True)
    t = nn.Variable.from_numpy_array(LABELS.astype(np.float32), need_grad=True)
    y = F.sum(fn(x, t))
    y.forward()
    x.grad.zero()
    t.grad.zero()
    y.backward()
    np.testing.assert_array_equal(t.g, 0)
    assert np.abs(x.g).sum() > 0


def test_ignored_label_gives_no_loss_and_no_gradient():
    x = nn.Variable.from_numpy_array(randn(4, 5), need_grad=True)
    y = F.softmax_cross_entropy(x, nn.Variable.from_numpy_array(LABELS_WITH_IGNORED))
    y.forward()
    x.grad.zero()
    y.backward()
    assert y.d[1, 0] == 0
    np.testing.assert_array_equal(x.g[1], 0)
    np.testing.assert_allclose(x.g.sum(1), 0, atol=1e-6)  # softmax minus one-hot sums to zero


def test_metrics_have_no_gradient():
    x = nn.Variable.from_numpy_array(PROB_SCORES, need_grad=True)
    t = nn.Variable.from_numpy_array(LABELS[:3])
    assert not F.top_n_error(x, t).need_grad
    assert not F.confusion_matrix(x, t).need_grad
    assert not F.binary_error(x, nn.Variable.from_numpy_array(PROB_SCORES)).need_grad


def test_epsilon_is_required():
    with pytest.raises(TypeError):
        F.epsilon_insensitive_loss(nn.Variable((2,)), nn.Variable((2,)))


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda x: F.softmax_cross_entropy(x, nn.Variable((4,))), r"SoftmaxCrossEntropy.*\(4, 1\).*\(4,\)"),
        (lambda x: F.softmax_cross_entropy(x, nn.Variable((4, 5))), r"SoftmaxCrossEntropy.*\(4, 1\).*\(4, 5\)"),
        (lambda x: F.categorical_cross_entropy(x, nn.Variable((3, 1))), r"CategoricalCrossEntropy.*\(4, 1\).*\(3, 1\)"),
        (lambda x: F.softmax_cross_entropy(x, nn.Variable((4, 1)), axis=0), r"target must have shape \(1, 5\).*axis 0"),
        (lambda x: F.top_n_error(x, nn.Variable((2, 1))), r"TopNError.*\(4, 1\).*\(2, 1\)"),
        (lambda x: F.confusion_matrix(x, nn.Variable((4, 2))), r"ConfusionMatrix.*\(4, 1\).*\(4, 2\)"),
        (lambda x: F.sigmoid_cross_entropy(x, nn.Variable((4, 1))), r"SigmoidCrossEntropy.*\(4, 5\).*\(4, 1\)"),
        (lambda x: F.binary_cross_entropy(x, nn.Variable((5, 4))), r"BinaryCrossEntropy.*\(4, 5\).*\(5, 4\)"),
        (lambda x: F.kl_multinomial(x, nn.Variable((4,))), r"KLMultinomial.*\(4, 5\).*\(4,\)"),
        (lambda x: F.huber_loss(x, nn.Variable((3, 5))), r"HuberLoss.*\(4, 5\).*\(3, 5\)"),
    ],
)
def test_shape_errors_at_graph_build(build, match):
    with pytest.raises(FunctionError, match=match):
        build(nn.Variable((4, 5)))


@pytest.mark.parametrize("fn", [F.softmax_cross_entropy, F.categorical_cross_entropy, F.top_n_error])
def test_out_of_range_label(fn):
    y = fn(nn.Variable.from_numpy_array(probs(4, 5)), nn.Variable.from_numpy_array(np.array([[0], [5], [1], [2]])))
    with pytest.raises(FunctionError, match=r"label 5 is out of range for 5 classes.*\(4, 5\).*\(4, 1\)"):
        y.forward()


def test_negative_label_is_out_of_range_for_metrics():
    y = F.confusion_matrix(nn.Variable.from_numpy_array(randn(4, 5)), nn.Variable.from_numpy_array(LABELS_WITH_IGNORED))
    with pytest.raises(FunctionError, match="ConfusionMatrix.*label -1"):
        y.forward()


def test_sigmoid_cross_entropy_is_nnabla_expression_at_the_edges():
    """NNabla computes -(x (t - [x >= 0]) - log(1 + exp(x - 2 x [x >= 0]))): an infinite logit gives NaN (inf - inf
    inside the exp), a large one its exact value or a signed zero (values read off NNabla 1.36)."""
    nan, inf = np.nan, np.inf
    x = np.array([0, -0.0, inf, -inf, nan, 100, -100] * 2, np.float32)
    t = np.array([0] * 7 + [1] * 7, np.float32)
    with nn.auto_forward():
        y = F.sigmoid_cross_entropy(nn.Variable.from_numpy_array(x), nn.Variable.from_numpy_array(t))
    ln2 = 0.6931472
    expected = np.array([ln2, ln2, nan, nan, nan, 100, 0, ln2, ln2, nan, nan, nan, -0.0, 100], np.float32)
    np.testing.assert_allclose(y.d, expected, rtol=1e-7)
    assert np.signbit(y.d[12]) and not np.signbit(y.d[6])
