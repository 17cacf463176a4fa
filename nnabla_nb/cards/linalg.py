"""Cards of the batched linear algebra (engine/nnabla/_ops/linalg.py), one matrix per batch entry."""

from . import Card

CARDS = {
    "BatchInv": Card(
        "The inverse of each matrix.",
        "Y = X^{-1}",
        r"\bar{X} = -Y^{\top}\, \bar{Y}\, Y^{\top}",
    ),
    "BatchDet": Card(
        "The determinant of each matrix.",
        r"y = \det X",
        r"\bar{X} = \bar{y}\, y\, X^{-\top}",
    ),
    "BatchLogdet": Card(
        "The log of the absolute determinant of each matrix.",
        r"y = \log |\det X|",
        r"\bar{X} = \bar{y}\, X^{-\top}",
    ),
    "BatchCholesky": Card(
        "The triangular factor L with L L^T = X of each symmetric positive definite matrix.",
        r"X = L L^{\top},\quad L \text{ lower triangular (upper: } U = L^{\top})",
        r"\bar{X} = \tfrac{1}{2} L^{-\top} \Phi\big(L^{\top} \bar{L}\big) L^{-1} + (\cdot)^{\top},\quad \Phi = "
        r"\text{lower triangle, diagonal halved}",
    ),
}
