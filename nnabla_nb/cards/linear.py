"""Cards of the dense layers: affine, batched matrix product, embedding (engine/nnabla/_ops/linear.py,
matmul.py, embed.py)."""

from . import Card

CARDS = {
    "Affine": Card(
        "A fully connected layer: x flattened from base_axis, times W, plus b.",
        r"y = x W + b,\quad x \in \mathbb{R}^{N \times D_{in}},\ W \in \mathbb{R}^{D_{in} \times D_{out}}",
        r"\bar{x} = \bar{y}\, W^{\top},\quad \bar{W} = x^{\top} \bar{y},\quad \bar{b} = \sum_{n} \bar{y}_{n}",
    ),
    "BatchMatmul": Card(
        "Matrix product of each pair of matrices over the leading (batch) axes, optionally transposed.",
        r"y_{b} = \operatorname{op}(a_{b})\, \operatorname{op}(b_{b})",
        r"\bar{a} = \bar{y}\, b^{\top},\quad \bar{b} = a^{\top} \bar{y}\quad (\text{without transposes})",
    ),
    "Embed": Card(
        "Looks up a row of the table w for each integer id in x0.",
        r"y_{i\dots} = w_{x_0[i\dots]}",
        r"\bar{w}_{k} = \sum_{i:\ x_0[i] = k} \bar{y}_{i}\quad (\text{no gradient to the ids})",
    ),
}
