"""Cards of gathering and scattering by indices or masks (engine/nnabla/_ops/indexing.py). Indices and masks
get no gradient."""

from . import Card

CARDS = {
    "Gather": Card(
        "Takes the entries of x at the given indices along axis.",
        r"y_{\dots, i, \dots} = x_{\dots, \mathrm{idx}_i, \dots}",
        r"\bar{x}_{\dots, k, \dots} = \sum_{i:\ \mathrm{idx}_i = k} \bar{y}_{\dots, i, \dots}",
    ),
    "GatherNd": Card(
        "Each column of indices picks an element or a slice of x.",
        r"y_{i} = x[\mathrm{indices}_{:, i}]",
        r"\bar{x}[\mathrm{indices}_{:, i}] \mathrel{+}= \bar{y}_{i}",
    ),
    "ScatterNd": Card(
        "Writes (or adds) data at the given indices of an array of zeros (or of out).",
        r"y = \mathbf{0}_{\mathrm{shape}},\quad y[\mathrm{indices}_{:, i}] = \mathrm{data}_{i}",
        r"\overline{\mathrm{data}}_{i} = \bar{y}[\mathrm{indices}_{:, i}]",
    ),
    "ScatterAdd": Card(
        "Adds x1 into x0 at the positions indices gives along axis.",
        r"y = x_0,\quad y_{\dots, \mathrm{idx}_{\dots i \dots}, \dots} \mathrel{+}= x_{1, \dots i \dots}",
        r"\bar{x}_0 = \bar{y},\quad \bar{x}_{1, \dots i \dots} = \bar{y}_{\dots, \mathrm{idx}_{\dots i \dots}, "
        r"\dots}",
    ),
    "BoolGather": Card(
        "The entries (or rows) of input where the mask is set.",
        r"y = [\,x_i : m_i \ne 0\,]",
        r"\bar{x}_i = \begin{cases} \bar{y}_{\text{its place}} & m_i \ne 0 \\ 0 & m_i = 0 \end{cases}",
    ),
    "BoolScatter": Card(
        "Puts the rows of input where the mask is set, zeros (or output) elsewhere.",
        r"y_i = \begin{cases} x_{\text{next row}} & m_i \ne 0 \\ 0 & m_i = 0 \end{cases}",
        r"\bar{x} = [\,\bar{y}_i : m_i \ne 0\,]",
    ),
}
