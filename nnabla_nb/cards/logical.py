"""Cards of the comparisons and logical functions (engine/nnabla/_ops/logical.py): 0/1 outputs, no gradient."""

from . import NO_GRADIENT, Card

CARDS = {
    "Equal": Card(
        "1 where x0 is equal to x1, else 0.",
        r"y = \mathbb{1}[x_0 == x_1]",
        NO_GRADIENT,
    ),
    "NotEqual": Card(
        "1 where x0 is not equal to x1, else 0.",
        r"y = \mathbb{1}[x_0 \ne x_1]",
        NO_GRADIENT,
    ),
    "Greater": Card(
        "1 where x0 is greater than x1, else 0.",
        r"y = \mathbb{1}[x_0 > x_1]",
        NO_GRADIENT,
    ),
    "GreaterEqual": Card(
        "1 where x0 is at least x1, else 0.",
        r"y = \mathbb{1}[x_0 \ge x_1]",
        NO_GRADIENT,
    ),
    "Less": Card(
        "1 where x0 is less than x1, else 0.",
        r"y = \mathbb{1}[x_0 < x_1]",
        NO_GRADIENT,
    ),
    "LessEqual": Card(
        "1 where x0 is at most x1, else 0.",
        r"y = \mathbb{1}[x_0 \le x_1]",
        NO_GRADIENT,
    ),
    "EqualScalar": Card(
        "1 where x0 is equal to the constant val, else 0.",
        r"y = \mathbb{1}[x_0 == \mathrm{val}]",
        NO_GRADIENT,
    ),
    "NotEqualScalar": Card(
        "1 where x0 is not equal to the constant val, else 0.",
        r"y = \mathbb{1}[x_0 \ne \mathrm{val}]",
        NO_GRADIENT,
    ),
    "GreaterScalar": Card(
        "1 where x0 is greater than the constant val, else 0.",
        r"y = \mathbb{1}[x_0 > \mathrm{val}]",
        NO_GRADIENT,
    ),
    "GreaterEqualScalar": Card(
        "1 where x0 is at least the constant val, else 0.",
        r"y = \mathbb{1}[x_0 \ge \mathrm{val}]",
        NO_GRADIENT,
    ),
    "LessScalar": Card(
        "1 where x0 is less than the constant val, else 0.",
        r"y = \mathbb{1}[x_0 < \mathrm{val}]",
        NO_GRADIENT,
    ),
    "LessEqualScalar": Card(
        "1 where x0 is at most the constant val, else 0.",
        r"y = \mathbb{1}[x_0 \le \mathrm{val}]",
        NO_GRADIENT,
    ),
    "LogicalAnd": Card(
        "1 where both are nonzero, else 0.",
        r"y = (x_0 \ne 0) \land (x_1 \ne 0)",
        NO_GRADIENT,
    ),
    "LogicalOr": Card(
        "1 where either is nonzero, else 0.",
        r"y = (x_0 \ne 0) \lor (x_1 \ne 0)",
        NO_GRADIENT,
    ),
    "LogicalXor": Card(
        "1 where exactly one is nonzero, else 0.",
        r"y = (x_0 \ne 0) \oplus (x_1 \ne 0)",
        NO_GRADIENT,
    ),
    "LogicalNot": Card(
        "1 where x0 is zero, else 0.",
        r"y = \lnot (x_0 \ne 0)",
        NO_GRADIENT,
    ),
    "LogicalAndScalar": Card(
        "1 where x0 and val are both nonzero (true), else 0.",
        r"y = (x_0 \ne 0) \land \mathrm{val}",
        NO_GRADIENT,
    ),
    "LogicalOrScalar": Card(
        "1 where x0 or val is nonzero (true), else 0.",
        r"y = (x_0 \ne 0) \lor \mathrm{val}",
        NO_GRADIENT,
    ),
    "LogicalXorScalar": Card(
        "1 where exactly one of x0 and val is nonzero (true), else 0.",
        r"y = (x_0 \ne 0) \oplus \mathrm{val}",
        NO_GRADIENT,
    ),
}
