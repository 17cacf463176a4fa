"""Cards of the elementwise math functions and norms (engine/nnabla/_ops/math.py)."""

from . import NO_GRADIENT, Card

CARDS = {
    "Exp": Card(
        "The exponential e^x.",
        "y = e^{x}",
        r"\bar{x} = \bar{y}\, y",
        (-3.0, 2.0),
    ),
    "Log": Card(
        "The natural logarithm.",
        r"y = \log x",
        r"\bar{x} = \frac{\bar{y}}{x}",
        (0.1, 4.0),
    ),
    "Abs": Card(
        "The absolute value.",
        "y = |x|",
        r"\bar{x} = \bar{y}\,\operatorname{sign}(x)",
    ),
    "Sign": Card(
        "The sign of x: 1, -1, or alpha at exactly 0.",
        r"y = \begin{cases} 1 & x > 0 \\ -1 & x < 0 \\ \alpha & x = 0 \end{cases}",
        r"\bar{x} = \bar{y}\quad\text{(straight-through: the true derivative is 0 almost everywhere)}",
    ),
    "Round": Card(
        "Rounds to the nearest integer, halves away from zero.",
        r"y = \operatorname{round}(x)",
        r"\bar{x} = \bar{y}\quad\text{(straight-through: the true derivative is 0 almost everywhere)}",
    ),
    "Ceil": Card(
        "Rounds up to an integer.",
        r"y = \lceil x \rceil",
        r"\bar{x} = \bar{y}\quad\text{(straight-through: the true derivative is 0 almost everywhere)}",
    ),
    "Floor": Card(
        "Rounds down to an integer.",
        r"y = \lfloor x \rfloor",
        r"\bar{x} = \bar{y}\quad\text{(straight-through: the true derivative is 0 almost everywhere)}",
    ),
    "Identity": Card(
        "Passes x through unchanged.",
        "y = x",
        r"\bar{x} = \bar{y}",
    ),
    "Sin": Card(
        "The sine.",
        r"y = \sin x",
        r"\bar{x} = \bar{y}\cos x",
        (-6.3, 6.3),
    ),
    "Cos": Card(
        "The cosine.",
        r"y = \cos x",
        r"\bar{x} = -\bar{y}\sin x",
        (-6.3, 6.3),
    ),
    "Tan": Card(
        "The tangent.",
        r"y = \tan x",
        r"\bar{x} = \frac{\bar{y}}{\cos^{2} x}",
        (-1.4, 1.4),
    ),
    "ASin": Card(
        "The inverse sine, defined on [-1, 1].",
        r"y = \arcsin x",
        r"\bar{x} = \frac{\bar{y}}{\sqrt{1 - x^{2}}}",
        (-0.99, 0.99),
    ),
    "ACos": Card(
        "The inverse cosine, defined on [-1, 1].",
        r"y = \arccos x",
        r"\bar{x} = -\frac{\bar{y}}{\sqrt{1 - x^{2}}}",
        (-0.99, 0.99),
    ),
    "ATan": Card(
        "The inverse tangent.",
        r"y = \arctan x",
        r"\bar{x} = \frac{\bar{y}}{1 + x^{2}}",
    ),
    "ATan2": Card(
        "The angle of the point (x1, x0): arctan(x0 / x1) in the right quadrant.",
        r"y = \operatorname{atan2}(x_0, x_1)",
        r"\bar{x}_0 = \bar{y}\,\frac{x_1}{x_0^{2} + x_1^{2}},\quad \bar{x}_1 = -\bar{y}\,\frac{x_0}{x_0^{2} + "
        r"x_1^{2}}",
    ),
    "Sinh": Card(
        "The hyperbolic sine.",
        r"y = \sinh x",
        r"\bar{x} = \bar{y}\cosh x",
        (-3.0, 3.0),
    ),
    "Cosh": Card(
        "The hyperbolic cosine.",
        r"y = \cosh x",
        r"\bar{x} = \bar{y}\sinh x",
        (-3.0, 3.0),
    ),
    "ASinh": Card(
        "The inverse hyperbolic sine.",
        r"y = \operatorname{arsinh} x",
        r"\bar{x} = \frac{\bar{y}}{\sqrt{x^{2} + 1}}",
    ),
    "ACosh": Card(
        "The inverse hyperbolic cosine, defined for x >= 1.",
        r"y = \operatorname{arcosh} x",
        r"\bar{x} = \frac{\bar{y}}{\sqrt{x^{2} - 1}}",
        (1.01, 5.0),
    ),
    "ATanh": Card(
        "The inverse hyperbolic tangent, defined on (-1, 1).",
        r"y = \operatorname{artanh} x",
        r"\bar{x} = \frac{\bar{y}}{1 - x^{2}}",
        (-0.95, 0.95),
    ),
    "Erf": Card(
        "The Gauss error function.",
        r"y = \operatorname{erf}(x) = \frac{2}{\sqrt{\pi}}\int_{0}^{x} e^{-t^{2}}\,dt",
        r"\bar{x} = \bar{y}\,\frac{2}{\sqrt{\pi}}\, e^{-x^{2}}",
    ),
    "ResetNaN": Card(
        "Replaces NaN by val.",
        r"y = \begin{cases} \mathrm{val} & x \text{ is NaN} \\ x & \text{otherwise} \end{cases}",
        r"\bar{x} = \bar{y}\,\mathbb{1}[x \text{ is not NaN}]",
        False,
    ),
    "ResetInf": Card(
        "Replaces +-Inf by val.",
        r"y = \begin{cases} \mathrm{val} & |x| = \infty \\ x & \text{otherwise} \end{cases}",
        r"\bar{x} = \bar{y}\,\mathbb{1}[|x| < \infty]",
        False,
    ),
    "IsNaN": Card(
        "1 where x is NaN, else 0.",
        r"y = \mathbb{1}[x \text{ is NaN}]",
        NO_GRADIENT,
    ),
    "IsInf": Card(
        "1 where x is +-Inf, else 0.",
        r"y = \mathbb{1}[|x| = \infty]",
        NO_GRADIENT,
    ),
    "ClipGradByValue": Card(
        "Identity forward; backward clips each gradient element into [min, max].",
        "y = x",
        r"\bar{x} = \min\big(\max(\bar{y}, \mathrm{min}), \mathrm{max}\big)",
    ),
    "ClipGradByNorm": Card(
        "Identity forward; backward rescales the gradient to L2 norm clip_norm over axes.",
        "y = x",
        r"\bar{x} = \mathrm{clip\_norm}\,\frac{\bar{y}}{\lVert \bar{y} \rVert_{2}}",
        False,
    ),
    "Norm": Card(
        "The p-norm of x over axes (p = 2 by default).",
        r"y = \Big(\sum_{\text{axes}} |x|^{p}\Big)^{1/p}",
        r"\bar{x} = \bar{y}\,\operatorname{sign}(x)\,\frac{|x|^{p - 1}}{y^{\,p - 1}}",
    ),
    "NormNormalization": Card(
        "x divided by its p-norm over axes.",
        r"y = \frac{x}{n},\quad n = \Big(\sum_{\text{axes}} |x|^{p}\Big)^{1/p}",
        r"\bar{x} = \frac{\bar{y}}{n} - \Big(\sum_{\text{axes}} "
        r"\bar{y}\,\frac{x}{n^{2}}\Big)\operatorname{sign}(x)\,\frac{|x|^{p - 1}}{n^{p - 1}}",
    ),
}
