"""Cards of the activation functions (engine/nnabla/_ops/activation.py)."""

from . import Card

CARDS = {
    "Sigmoid": Card(
        "Squashes any real number into (0, 1); the logistic function.",
        r"y = \sigma(x) = \frac{1}{1 + e^{-x}}",
        r"\bar{x} = \bar{y}\, y\,(1 - y)",
    ),
    "Tanh": Card(
        "Squashes any real number into (-1, 1), centred at 0.",
        r"y = \tanh(x) = \frac{e^{x} - e^{-x}}{e^{x} + e^{-x}}",
        r"\bar{x} = \bar{y}\,(1 - y^{2})",
    ),
    "ReLU": Card(
        "Rectified linear unit: keeps positive values, zeroes the rest.",
        r"y = \max(0, x)",
        r"\bar{x} = \bar{y}\,\mathbb{1}[x > 0]",
    ),
    "LeakyReLU": Card(
        "ReLU with a small slope alpha for negative inputs, so they still pass a gradient.",
        r"y = \begin{cases} x & x > 0 \\ \alpha x & x \le 0 \end{cases}",
        r"\bar{x} = \bar{y} \begin{cases} 1 & x > 0 \\ \alpha & x \le 0 \end{cases}",
    ),
    "ELU": Card(
        "Exponential linear unit: identity for positive inputs, a smooth saturation to -alpha below 0.",
        r"y = \begin{cases} x & x \ge 0 \\ \alpha\,(e^{x} - 1) & x < 0 \end{cases}",
        r"\bar{x} = \bar{y} \begin{cases} 1 & x \ge 0 \\ \alpha\, e^{x} & x < 0 \end{cases}",
    ),
    "SELU": Card(
        "Scaled ELU whose constants keep activations near zero mean and unit variance.",
        r"y = \lambda \begin{cases} x & x > 0 \\ \alpha\,(e^{x} - 1) & x \le 0 \end{cases},\quad \lambda \approx "
        r"1.0507,\ \alpha \approx 1.6733",
        r"\bar{x} = \bar{y}\,\lambda \begin{cases} 1 & x > 0 \\ \alpha\, e^{x} & x \le 0 \end{cases}",
    ),
    "CReLU": Card(
        "Concatenated ReLU: the positive and the negative part side by side, doubling the axis.",
        r"y = \operatorname{concat}_{\text{axis}}\big(\max(0, x),\ \max(0, -x)\big)",
        r"\bar{x} = \bar{y}_{+}\,\mathbb{1}[x > 0] - \bar{y}_{-}\,\mathbb{1}[x < 0]",
        False,
    ),
    "CELU": Card(
        "Concatenated ELU: ELU of x and of -x side by side, doubling the axis.",
        r"y = \operatorname{concat}_{\text{axis}}\big(\operatorname{elu}(x),\ \operatorname{elu}(-x)\big)",
        r"\bar{x} = \bar{y}_{+}\operatorname{elu}'(x) - \bar{y}_{-}\operatorname{elu}'(-x)",
        False,
    ),
    "PReLU": Card(
        "Leaky ReLU whose negative slope is learned (one scalar or one per channel).",
        r"y = \begin{cases} x & x \ge 0 \\ a\, x & x < 0 \end{cases}\quad (a = x_1)",
        r"\bar{x} = \bar{y} \begin{cases} 1 & x \ge 0 \\ a & x < 0 \end{cases},\quad\bar{a} = \sum \bar{y}\, "
        r"x\,\mathbb{1}[x < 0]",
    ),
    "SoftPlus": Card(
        "A smooth ReLU: log(1 + e^(beta x)) / beta.",
        r"y = \frac{1}{\beta}\log\big(1 + e^{\beta x}\big)",
        r"\bar{x} = \bar{y}\,\sigma(\beta x)",
    ),
    "SoftSign": Card(
        "Squashes into (-1, 1) like tanh, but approaching the limits polynomially.",
        r"y = \frac{x}{1 + |x|}",
        r"\bar{x} = \frac{\bar{y}}{(1 + |x|)^{2}}",
    ),
    "Swish": Card(
        "The input weighted by its own sigmoid (SiLU).",
        r"y = x\,\sigma(x)",
        r"\bar{x} = \bar{y}\,\big(y + \sigma(x)\,(1 - y)\big)",
    ),
    "GELU": Card(
        "Gaussian error linear unit, in its tanh approximation.",
        r"y = \frac{x}{2}\Big(1 + \tanh\big(\sqrt{2/\pi}\,(x + 0.044715\, x^{3})\big)\Big)",
        r"\bar{x} = \bar{y}\Big(\frac{1 + t}{2} + \frac{x}{2}(1 - t^{2})\sqrt{2/\pi}\,(1 + 0.134145\, "
        r"x^{2})\Big),\quad t = \tanh\big(\sqrt{2/\pi}\,(x + 0.044715\, x^{3})\big)",
    ),
    "Mish": Card(
        "The input times tanh of its softplus: smooth and non-monotonic.",
        r"y = x \tanh\big(\log(1 + e^{x})\big)",
        r"\bar{x} = \bar{y}\big(t + x\,(1 - t^{2})\,\sigma(x)\big),\quad t = \tanh\big(\log(1 + e^{x})\big)",
    ),
    "ReLU6": Card(
        "ReLU capped at 6.",
        r"y = \min\big(\max(x, 0), 6\big)",
        r"\bar{x} = \bar{y}\,\mathbb{1}[0 < x < 6]",
        (-2.0, 8.0),
    ),
    "HardSigmoid": Card(
        "A piecewise-linear sigmoid: 0.2 x + 0.5 clipped to [0, 1].",
        r"y = \min\big(\max(0.2\,x + 0.5,\ 0),\ 1\big)",
        r"\bar{x} = 0.2\,\bar{y}\,\mathbb{1}[-2.5 \le x \le 2.5]",
    ),
    "HardTanh": Card(
        "A piecewise-linear tanh: x clipped to [-1, 1].",
        r"y = \min\big(\max(x, -1), 1\big)",
        r"\bar{x} = \bar{y}\,\mathbb{1}[-1 \le x \le 1]",
    ),
    "LogSigmoid": Card(
        "The logarithm of the sigmoid, computed stably.",
        r"y = \log \sigma(x) = -\log(1 + e^{-x})",
        r"\bar{x} = \bar{y}\,\sigma(-x)",
    ),
    "TanhShrink": Card(
        "The input minus its tanh: near zero for small inputs, about x - sign(x) for large ones.",
        r"y = x - \tanh(x)",
        r"\bar{x} = \bar{y}\,\tanh^{2}(x)",
    ),
    "BinaryTanh": Card(
        "Binarizes to +1 / -1; the gradient passes straight through inside (-1, 1).",
        r"y = \begin{cases} 1 & x > 0 \\ -1 & x \le 0 \end{cases}",
        r"\bar{x} = \bar{y}\,\mathbb{1}[|x| < 1]\quad\text{(straight-through estimator)}",
    ),
    "BinarySigmoid": Card(
        "Binarizes to 1 / 0; the gradient passes straight through, halved, inside (-1, 1).",
        r"y = \begin{cases} 1 & x > 0 \\ 0 & x \le 0 \end{cases}",
        r"\bar{x} = \frac{\bar{y}}{2}\,\mathbb{1}[|x| < 1]\quad\text{(straight-through estimator)}",
    ),
    "Sinc": Card(
        "The unnormalized sinc function sin(x) / x, 1 at 0.",
        r"y = \begin{cases} \frac{\sin x}{x} & x \ne 0 \\ 1 & x = 0 \end{cases}",
        r"\bar{x} = \bar{y} \begin{cases} \frac{\cos x}{x} - \frac{\sin x}{x^{2}} & x \ne 0 \\ 0 & x = 0 "
        r"\end{cases}",
        (-10.0, 10.0),
    ),
}
