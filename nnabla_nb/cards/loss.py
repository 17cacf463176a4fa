"""Cards of the loss functions (engine/nnabla/_ops/loss.py); each is elementwise (or per sample), to be
reduced by the caller (F.mean)."""

from . import Card

CARDS = {
    "SquaredError": Card(
        "Elementwise squared difference.",
        "y = (x_0 - x_1)^{2}",
        r"\bar{x}_0 = 2\,\bar{y}\,(x_0 - x_1),\quad \bar{x}_1 = -\bar{x}_0",
    ),
    "AbsoluteError": Card(
        "Elementwise absolute difference.",
        "y = |x_0 - x_1|",
        r"\bar{x}_0 = \bar{y}\,\operatorname{sign}(x_0 - x_1),\quad \bar{x}_1 = -\bar{x}_0",
    ),
    "HuberLoss": Card(
        "Squared error near zero, linear beyond delta: robust to outliers.",
        r"y = \begin{cases} d^{2} & |d| < \delta \\ \delta\,(2|d| - \delta) & |d| \ge \delta \end{cases},\quad d = "
        r"x_0 - x_1",
        r"\bar{x}_0 = 2\,\bar{y} \begin{cases} d & |d| < \delta \\ \delta\operatorname{sign}(d) & |d| \ge \delta "
        r"\end{cases},\quad \bar{x}_1 = -\bar{x}_0",
    ),
    "EpsilonInsensitiveLoss": Card(
        "Absolute error minus epsilon, zero inside the epsilon tube.",
        r"y = \max\big(|x_0 - x_1| - \epsilon,\ 0\big)",
        r"\bar{x}_0 = \bar{y}\,\operatorname{sign}(x_0 - x_1)\,\mathbb{1}[|x_0 - x_1| > \epsilon],\quad \bar{x}_1 = "
        r"-\bar{x}_0",
    ),
    "SigmoidCrossEntropy": Card(
        "Binary cross-entropy from a logit x against a 0/1 target t (computed stably).",
        r"y = -\big(t \log \sigma(x) + (1 - t)\log(1 - \sigma(x))\big)",
        r"\bar{x} = \bar{y}\,\big(\sigma(x) - t\big)\quad (\text{no gradient to } t)",
    ),
    "BinaryCrossEntropy": Card(
        "Binary cross-entropy of a probability x against a target t.",
        r"y = -\big(t \log x + (1 - t)\log(1 - x)\big)",
        r"\bar{x} = \bar{y}\,\frac{x - t}{x\,(1 - x)},\quad \bar{t} = \bar{y}\,\log\frac{1 - x}{x}",
    ),
    "SoftmaxCrossEntropy": Card(
        "Cross-entropy of softmax(x) against an integer label t along axis.",
        r"y = -\log \operatorname{softmax}(x)_{t} = \log\sum_{j} e^{x_j} - x_t",
        r"\bar{x}_i = \bar{y}\,\big(\operatorname{softmax}(x)_i - \mathbb{1}[i = t]\big)",
    ),
    "CategoricalCrossEntropy": Card(
        "Cross-entropy of probabilities x against an integer label t along axis.",
        r"y = -\log x_{t}",
        r"\bar{x}_i = -\frac{\bar{y}}{x_t}\,\mathbb{1}[i = t]",
    ),
    "KLMultinomial": Card(
        "KL divergence of multinomial distributions p and q (sum over the axes from base_axis).",
        r"D = \sum_{i} p_i \log\frac{p_i}{q_i}",
        r"\bar{p}_i = \bar{D}\Big(\log\frac{p_i}{q_i} + 1\Big),\quad \bar{q}_i = -\bar{D}\,\frac{p_i}{q_i}",
    ),
}
