"""Cards of the weight reparametrizations (engine/nnabla/_ops/reparam.py)."""

from . import Card

CARDS = {
    "SpectralNorm": Card(
        "Divides a weight by its largest singular value, estimated by power iteration.",
        r"\hat{W} = \frac{W}{\sigma(W)},\quad \sigma(W) \approx u^{\top} W v,\ v = \frac{W^{\top} u}{\lVert "
        r"W^{\top} u \rVert},\ u \leftarrow \frac{W v}{\lVert W v \rVert}",
        r"\bar{W} = \frac{1}{\sigma}\Big(\bar{\hat{W}} - \langle \bar{\hat{W}}, \hat{W} \rangle\, u "
        r"v^{\top}\Big)\quad (u, v \text{ held constant})",
    ),
    "WeightNormalization": Card(
        "Splits a weight into a direction and a learned scale g per output.",
        r"y = g\,\frac{w}{\sqrt{\sum w^{2} + \epsilon}}\quad (\text{sum over every axis but dim})",
        r"\bar{g} = \sum \bar{y}\,\frac{w}{n},\quad \bar{w} = \frac{g}{n}\Big(\bar{y} - \frac{w}{n^{2}}\sum "
        r"\bar{y}\, w\Big),\quad n = \sqrt{\sum w^{2} + \epsilon}",
    ),
}
