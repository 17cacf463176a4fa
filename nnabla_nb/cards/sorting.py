"""Cards of sorting and top-k (engine/nnabla/_ops/sorting.py)."""

from . import Card

CARDS = {
    "Sort": Card(
        "Sorts along axis (descending with reverse), optionally with the indices.",
        r"y_{i} = x_{\pi(i)},\quad x_{\pi(0)} \le x_{\pi(1)} \le \dots",
        r"\bar{x}_{\pi(i)} = \bar{y}_{i}",
    ),
    "TopKData": Card(
        "The k largest (or smallest, or largest in magnitude) values of each sample.",
        r"y = (x_{\pi(0)}, \dots, x_{\pi(k-1)}),\quad \pi \text{ orders by value (or } |x|)",
        r"\bar{x}_{\pi(i)} = \bar{y}_{i},\ 0 \text{ elsewhere (reduce); } \bar{x} = \bar{y} \text{ unchanged "
        r"otherwise}",
    ),
}
