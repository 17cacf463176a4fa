"""Cards of softmax and log-softmax (engine/nnabla/_ops/softmax.py); axis defaults to the last axis."""

from . import Card

CARDS = {
    "Softmax": Card(
        "Turns scores into probabilities along axis (by default the last): positive, summing to 1.",
        r"y_i = \frac{e^{x_i}}{\sum_{j} e^{x_j}}",
        r"\bar{x}_i = y_i\Big(\bar{y}_i - \sum_{j} \bar{y}_j\, y_j\Big)",
    ),
    "LogSoftmax": Card(
        "The logarithm of softmax along axis (by default the last), computed stably.",
        r"y_i = x_i - \log \sum_{j} e^{x_j}",
        r"\bar{x}_i = \bar{y}_i - e^{y_i} \sum_{j} \bar{y}_j",
    ),
}
