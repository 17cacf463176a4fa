"""Cards of the metrics (engine/nnabla/_ops/metrics.py): counts and error indicators, no gradient."""

from . import NO_GRADIENT, Card

CARDS = {
    "TopNError": Card(
        "1 where the target's score is not among the n best along axis, else 0.",
        r"y = \mathbb{1}\big[\#\{j : x_j \ge x_t\} > n\big]",
        NO_GRADIENT,
    ),
    "BinaryError": Card(
        "1 where x and target fall on different sides of 0.5, else 0.",
        r"y = \mathbb{1}\big[(x \ge 0.5) \ne (t \ge 0.5)\big]",
        NO_GRADIENT,
    ),
    "ConfusionMatrix": Card(
        "Counts of samples by true class t and predicted (best-scoring) class p.",
        r"y_{t p} = \#\{n : t_n = t,\ \arg\max x_n = p\}",
        NO_GRADIENT,
    ),
}
