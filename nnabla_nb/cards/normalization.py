r"""Cards of the normalizations (engine/nnabla/_ops/normalization.py). Each standardizes over some axes,
$\hat{x} = (x - \mu) / \sqrt{\sigma^2 + \epsilon}$, then scales by $\gamma$ and shifts by $\beta$. Through the
batch statistics the gradient is $\bar{x} = \frac{1}{\sqrt{\sigma^2 + \epsilon}}\big(g - \operatorname{mean}(g)
- \hat{x}\operatorname{mean}(g\,\hat{x})\big)$ with $g = \gamma\,\bar{y}$, the means over the normalized axes."""

from . import Card

STANDARDIZE = (
    r"\hat{x} = \frac{x - \mu}{\sqrt{\sigma^{2} + \epsilon}},\quad y = \gamma\,\hat{x} + \beta,\quad \mu, \sigma^{2} "
)
THROUGH_STATS = (
    r"\bar{x} = \frac{1}{\sqrt{\sigma^{2} + \epsilon}}\Big(g - \operatorname{mean}(g) - "
    r"\hat{x}\operatorname{mean}(g\,\hat{x})\Big),"
    r"\ g = \gamma\,\bar{y},\quad \bar{\gamma} = \sum \bar{y}\,\hat{x},\quad \bar{\beta} = \sum \bar{y}"
)

CARDS = {
    "BatchNormalization": Card(
        "Standardizes each channel with the batch statistics (training) or the running ones (inference).",
        STANDARDIZE + r"\text{ over every axis but axes}",
        THROUGH_STATS + r"\ (\text{batch\_stat});\ "
        r"\text{with running stats } \bar{x} = \frac{\gamma\,\bar{y}}{\sqrt{\sigma^{2} + \epsilon}}",
    ),
    "FusedBatchNormalization": Card(
        "Batch normalization, plus an optional residual z, then ReLU, as one node.",
        r"y = \max\big(0,\ \gamma\,\hat{x} + \beta + z\big)",
        r"\bar{h} = \bar{y}\,\mathbb{1}[y > 0],\ \bar{z} = \bar{h},\ "
        r"\text{then batch normalization's gradient of } \bar{h}",
    ),
    "TensorNormalization": Card(
        "Standardizes x over every axis but axes with the batch statistics (no running statistics).",
        STANDARDIZE + r"\text{ over every axis but axes}",
        THROUGH_STATS,
    ),
    "LayerNormalization": Card(
        "Standardizes each sample over all its features.",
        STANDARDIZE + r"\text{ per sample}",
        THROUGH_STATS,
    ),
    "InstanceNormalization": Card(
        "Standardizes each sample and channel over the remaining (spatial) axes.",
        STANDARDIZE + r"\text{ per sample and channel}",
        THROUGH_STATS,
    ),
    "GroupNormalization": Card(
        "Standardizes each sample over groups of num_groups channels.",
        STANDARDIZE + r"\text{ per sample and channel group}",
        THROUGH_STATS,
    ),
    "WeightStandardization": Card(
        "Standardizes a weight over all axes but its output-channel axis.",
        r"\hat{w} = \frac{w - \mu}{\sqrt{\sigma^{2} + \epsilon}},\quad \mu, \sigma^{2} \text{ per output channel}",
        r"\bar{w} = \frac{1}{\sqrt{\sigma^{2} + \epsilon}}\Big(\bar{\hat{w}} - \operatorname{mean}(\bar{\hat{w}}) - "
        r"\hat{w}\operatorname{mean}(\bar{\hat{w}}\,\hat{w})\Big)",
    ),
    "MeanSubtraction": Card(
        "Subtracts a running mean of the inputs (updated in training).",
        r"y = x - \bar{\mu},\quad \bar{\mu} \leftarrow \frac{(t - 1)\,\bar{\mu} + \operatorname{mean}(x)}{t}",
        r"\bar{x} = \bar{y}\Big(1 - \frac{1}{t\,N}\Big) \ (\text{training}),\ \bar{x} = \bar{y} \ \text{otherwise}",
    ),
    "SyncBatchNormalization": Card(
        "Batch normalization with the batch statistics shared across processes (one process here).",
        STANDARDIZE + r"\text{ over the batches of all processes}",
        THROUGH_STATS,
    ),
}
