"""Cards of selection, search and shifting (engine/nnabla/_ops/selection.py)."""

from . import NO_GRADIENT, Card

CARDS = {
    "BoolFill": Card(
        "Fills value where the mask is set.",
        r"y = \begin{cases} \mathrm{value} & m \ne 0 \\ x & m = 0 \end{cases}",
        r"\bar{x} = \bar{y}\,\mathbb{1}[m = 0]\quad (\text{no gradient to the mask})",
    ),
    "NonZero": Card(
        "The indices of the nonzero entries, one row per axis.",
        r"y = \{\, i : x_i \ne 0 \,\}",
        NO_GRADIENT,
    ),
    "SearchSorted": Card(
        "Where each value would be inserted into a sorted row.",
        r"y_j = \#\{\, i : s_i < v_j \,\}\quad (\le \text{ with right})",
        NO_GRADIENT,
    ),
    "Shift": Card(
        "Shifts x along its trailing axes, replicating or mirroring the border.",
        r"y_{i} = x_{i - \mathrm{shifts}}",
        r"\bar{x}_{j} = \sum_{i \text{ reading } j} \bar{y}_{i}",
    ),
    "BcAdd2": Card(
        "Sum broadcasting size-1 axes between inputs of the same rank.",
        "y = x_0 + x_1",
        r"\bar{x}_0 = \sum_{\text{broadcast}} \bar{y},\quad \bar{x}_1 = \sum_{\text{broadcast}} \bar{y}",
    ),
}
