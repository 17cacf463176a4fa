"""Cards of the arithmetic functions (engine/nnabla/_ops/arithmetic.py). Binary ones broadcast; an input's
gradient is summed back over the axes it was broadcast along."""

from . import Card

CARDS = {
    "Add2": Card(
        "Elementwise sum of two arrays.",
        "y = x_0 + x_1",
        r"\bar{x}_0 = \bar{y},\quad \bar{x}_1 = \bar{y}",
    ),
    "Sub2": Card(
        "Elementwise difference of two arrays.",
        "y = x_0 - x_1",
        r"\bar{x}_0 = \bar{y},\quad \bar{x}_1 = -\bar{y}",
    ),
    "Mul2": Card(
        "Elementwise product of two arrays.",
        r"y = x_0\, x_1",
        r"\bar{x}_0 = \bar{y}\, x_1,\quad \bar{x}_1 = \bar{y}\, x_0",
    ),
    "Div2": Card(
        "Elementwise quotient of two arrays.",
        r"y = \frac{x_0}{x_1}",
        r"\bar{x}_0 = \frac{\bar{y}}{x_1},\quad \bar{x}_1 = -\bar{y}\,\frac{x_0}{x_1^{2}}",
    ),
    "Pow2": Card(
        "Elementwise power: x0 raised to x1.",
        r"y = x_0^{\,x_1}",
        r"\bar{x}_0 = \bar{y}\, x_1\, x_0^{\,x_1 - 1},\quad \bar{x}_1 = \bar{y}\, y \log x_0\ \ (x_0 > 0,\ "
        r"\text{else } 0)",
    ),
    "Maximum2": Card(
        "Elementwise maximum of two arrays.",
        r"y = \max(x_0, x_1)",
        r"\bar{x}_0 = \bar{y}\,\mathbb{1}[x_0 \ge x_1],\quad \bar{x}_1 = \bar{y}\,\mathbb{1}[x_0 < x_1]",
    ),
    "Minimum2": Card(
        "Elementwise minimum of two arrays.",
        r"y = \min(x_0, x_1)",
        r"\bar{x}_0 = \bar{y}\,\mathbb{1}[x_0 \le x_1],\quad \bar{x}_1 = \bar{y}\,\mathbb{1}[x_0 > x_1]",
    ),
    "AddScalar": Card(
        "Adds the constant val to every element.",
        r"y = x + \mathrm{val}",
        r"\bar{x} = \bar{y}",
    ),
    "MulScalar": Card(
        "Multiplies every element by the constant val.",
        r"y = \mathrm{val}\; x",
        r"\bar{x} = \mathrm{val}\;\bar{y}",
    ),
    "RSubScalar": Card(
        "The constant val minus each element.",
        r"y = \mathrm{val} - x",
        r"\bar{x} = -\bar{y}",
    ),
    "RDivScalar": Card(
        "The constant val divided by each element.",
        r"y = \frac{\mathrm{val}}{x}",
        r"\bar{x} = -\bar{y}\,\frac{\mathrm{val}}{x^{2}}",
        (0.25, 4.0),
    ),
    "PowScalar": Card(
        "Each element raised to the constant power val.",
        r"y = x^{\mathrm{val}}",
        r"\bar{x} = \bar{y}\;\mathrm{val}\; x^{\mathrm{val} - 1}",
    ),
    "RPowScalar": Card(
        "The constant val raised to each element.",
        r"y = \mathrm{val}^{\,x}",
        r"\bar{x} = \bar{y}\, y \log(\mathrm{val})\quad (\mathrm{val} > 0,\ \text{else } 0)",
    ),
    "MaximumScalar": Card(
        "Each element, or val where that is larger.",
        r"y = \max(x, \mathrm{val})",
        r"\bar{x} = \bar{y}\,\mathbb{1}[x > \mathrm{val}]",
    ),
    "MinimumScalar": Card(
        "Each element, or val where that is smaller.",
        r"y = \min(x, \mathrm{val})",
        r"\bar{x} = \bar{y}\,\mathbb{1}[x < \mathrm{val}]",
    ),
    "AddN": Card(
        "The sum of any number of arrays of one shape.",
        r"y = \sum_{i} x_i",
        r"\bar{x}_i = \bar{y}\quad\text{for every } i",
    ),
    "MulN": Card(
        "The elementwise product of any number of arrays.",
        r"y = \prod_{i} x_i",
        r"\bar{x}_i = \bar{y} \prod_{j \ne i} x_j",
    ),
}
