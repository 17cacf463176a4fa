"""Cards of the random functions (engine/nnabla/_ops/random_ops.py)."""

from . import SAMPLE, Card

CARDS = {
    "Rand": Card(
        "Uniform samples in [low, high).",
        r"y \sim \mathcal{U}[\mathrm{low}, \mathrm{high})",
        SAMPLE,
    ),
    "Randint": Card(
        "Integer samples uniform in [low, high).",
        r"y \sim \mathcal{U}\{\mathrm{low}, \dots, \mathrm{high} - 1\}",
        SAMPLE,
    ),
    "Randn": Card(
        "Normal samples of mean mu and standard deviation sigma.",
        r"y \sim \mathcal{N}(\mu, \sigma^{2})",
        SAMPLE,
    ),
    "RandBinomial": Card(
        "Binomial samples: successes in n trials of probability p.",
        r"y \sim \mathrm{Binomial}(n, p)",
        SAMPLE,
    ),
    "RandBeta": Card(
        "Beta samples.",
        r"y \sim \mathrm{Beta}(\alpha, \beta)",
        SAMPLE,
    ),
    "RandGamma": Card(
        "Gamma samples of shape k and scale theta.",
        r"y \sim \Gamma(k, \theta)",
        SAMPLE,
    ),
    "RandomChoice": Card(
        "Draws entries of x's last axis with probabilities proportional to the weights w.",
        r"y = x_{c},\quad P(c = i) = \frac{w_i}{\sum_j w_j}",
        r"\bar{x}_{c} \mathrel{+}= \bar{y},\quad \bar{w}_{c} \mathrel{+}= \bar{y}\quad (\text{at the chosen "
        r"positions})",
    ),
    "Dropout": Card(
        "Zeroes each element with probability p and scales the rest by 1 / (1 - p) (training).",
        r"y = \frac{m\, x}{1 - p},\quad m \sim \mathrm{Bernoulli}(1 - p)",
        r"\bar{x} = \frac{m\,\bar{y}}{1 - p}\quad (\text{the same mask } m)",
        False,
    ),
}
