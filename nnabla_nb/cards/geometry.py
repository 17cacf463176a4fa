"""Cards of the geometric sampling functions (engine/nnabla/_ops/geometry.py)."""

from . import Card

CARDS = {
    "AffineGrid": Card(
        "The sampling grid of an affine map theta applied to a regular grid in [-1, 1].",
        r"g_{b,p} = \theta_b \begin{bmatrix} p \\ 1 \end{bmatrix},\quad p \text{ on a regular grid in } [-1, 1]^{n}",
        r"\bar{\theta}_b = \sum_{p} \bar{g}_{b,p} \begin{bmatrix} p \\ 1 \end{bmatrix}^{\top}",
    ),
    "WarpByGrid": Card(
        "Samples x at the grid's (normalized) positions, bilinearly or nearest.",
        r"y_{b,c,p} = \sum_{q} k(g_{b,p} - q)\, x_{b,c,q}\quad (\text{bilinear or nearest kernel } k)",
        r"\bar{x}_{b,c,q} = \sum_{p} k(g_{b,p} - q)\,\bar{y}_{b,c,p},\quad \bar{g}_{b,p} = \sum_{c,q} "
        r"\bar{y}_{b,c,p}\,\nabla k(g_{b,p} - q)\, x_{b,c,q}",
    ),
    "WarpByFlow": Card(
        "Moves each pixel by a flow field, sampling bilinearly.",
        r"y_{n,c,i,j} = \operatorname{bilinear}\big(x_{n,c},\ (i + f_{n,1,i,j},\ j + f_{n,0,i,j})\big)",
        r"\bar{x} = \bar{y} \text{ spread by the bilinear weights},\quad \bar{f} = \bar{y} \cdot "
        r"\nabla_{p}\operatorname{bilinear}(x, p)",
    ),
    "PatchCorrelation": Card(
        "Correlation of patches of x1 with shifted patches of x2 (optical-flow cost volumes).",
        r"y_{n,i,j,s_y,s_x} = \sum_{\text{patch},\,c} x_{1,n,i + a,j + b,c}\; x_{2,n,i + a + s_y,j + b + s_x,c}",
        r"\bar{x}_1 = \sum \bar{y}\, x_2(\text{shifted}),\quad \bar{x}_2 = \sum \bar{y}\, x_1(\text{shifted back})",
    ),
}
