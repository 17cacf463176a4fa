"""Cards of the reductions and scans (engine/nnabla/_ops/reduction.py)."""

from . import Card

CARDS = {
    "Sum": Card(
        "Sum of x over axes (all by default).",
        r"y = \sum_{\text{axes}} x",
        r"\bar{x} = \operatorname{broadcast}(\bar{y})",
    ),
    "Mean": Card(
        "Mean of x over axes (all by default).",
        r"y = \frac{1}{N}\sum_{\text{axes}} x,\quad N = \text{elements reduced}",
        r"\bar{x} = \frac{1}{N}\operatorname{broadcast}(\bar{y})",
    ),
    "ReduceSum": Card(
        "Sum of all elements: a scalar.",
        r"y = \sum_{i} x_i",
        r"\bar{x}_i = \bar{y}",
    ),
    "ReduceMean": Card(
        "Mean of all elements: a scalar.",
        r"y = \frac{1}{N}\sum_{i} x_i",
        r"\bar{x}_i = \frac{\bar{y}}{N}",
    ),
    "Max": Card(
        "Maximum of x over axes (optionally its index).",
        r"y = \max_{\text{axes}} x",
        r"\bar{x}_i = \bar{y}\,\mathbb{1}[i = \text{the first } \arg\max]",
    ),
    "Min": Card(
        "Minimum of x over axes (optionally its index).",
        r"y = \min_{\text{axes}} x",
        r"\bar{x}_i = \bar{y}\,\mathbb{1}[i = \text{the first } \arg\min]",
    ),
    "Prod": Card(
        "Product of x over axes.",
        r"y = \prod_{\text{axes}} x",
        r"\bar{x} = \bar{y}\,\frac{y}{x}\quad (0 \text{ where } x = 0)",
    ),
    "CumSum": Card(
        "Running sum along axis (exclusive: without the element itself; reverse: from the end).",
        r"y_i = \sum_{j \le i} x_j",
        r"\bar{x}_j = \sum_{i \ge j} \bar{y}_i",
    ),
    "CumProd": Card(
        "Running product along axis (exclusive: without the element itself; reverse: from the end).",
        r"y_i = \prod_{j \le i} x_j",
        r"\bar{x}_j = \sum_{i \ge j} \bar{y}_i \prod_{k \le i,\ k \ne j} x_k",
    ),
}
