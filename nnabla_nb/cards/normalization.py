r"""Cards of the normalizations (engine/nnabla/_ops/normalization.py). Each standardizes over some axes,
$\hat{x} = (x - \mu) / \sqrt{\sigma^2 + \epsilon}$, then scales and shifts; through the batch statistics the
gradient of $\hat{x}$ is $rac{1}{\sqrt{\sigma^2 + \epsilon}}ig(ar{\hat{x}} - \operatorname{mean}(ar{\hat{x}})
- \hat{x}\operatorname{mean}(ar{\hat{x}}\hat{x})ig)$, the means taken over the normalized axes."""

from . import Card

CARDS = {
    "BatchNormalization": Card(
        "Standardizes each channel with the batch statistics (training) or the running ones (inference).",
        r"\hat{x} = \frac{x - \mu}{\sqrt{\sigma^{2} + \epsilon}},\quad y = \gamma\,\hat{x} + \beta,\quad \mu, "
        r"\sigma^{2} \text{ over every axis but axes}",
        r"\bar{x} = \frac{\gamma}{\sqrt{\sigma^{2} + \epsilon}}\Big(\bar{y} - \operatorname{mean}(\bar{y}) - "
        r"\hat{x}\operatorname{mean}(\bar{y}\,\hat{x})\Big),\quad \bar{\gamma} = \sum \bar{y}\,\hat{x},\quad "
        r"\bar{\beta} = \sum \bar{y}\ (\text{batch\_stat}); \text{ with running stats } \bar{x} = "
        r"\frac{\gamma\,\bar{y}}{\sqrt{\sigma^{2} + \epsilon}}",
    ),
    "FusedBatchNormalization": Card(
        "Batch normalization, plus an optional residual z, then ReLU, as one node.",
        r"y = \max\big(0,\ \gamma\,\hat{x} + \beta + z\big)",
        r"\bar{h} = \bar{y}\,\mathbb{1}[y > 0],\ \bar{z} = \bar{h},\ \text{then batch normalization's gradient of } "
        r"\bar{h}",
    ),
    "TensorNormalization": Card(
        "Standardizes x over every axis but axes with the batch statistics (no running statistics).",
        r"\hat{x} = \frac{x - \mu}{\sqrt{\sigma^{2} + \epsilon}},\quad y = \gamma\,\hat{x} + \beta,\quad \mu, "
        r"\sigma^{2} \text{ over every axis but axes}",
        r"\bar{x} = \frac{\gamma}{\sqrt{\sigma^{2} + \epsilon}}\Big(\bar{y} - \operatorname{mean}(\bar{y}) - "
        r"\hat{x}\operatorname{mean}(\bar{y}\,\hat{x})\Big),\quad \bar{\gamma} = \sum \bar{y}\,\hat{x},\quad "
        r"\bar{\beta} = \sum \bar{y}",
    ),
    "LayerNormalization": Card(
        "Standardizes each sample over all its features.",
        r"\hat{x} = \frac{x - \mu}{\sqrt{\sigma^{2} + \epsilon}},\quad y = \gamma\,\hat{x} + \beta,\quad \mu, "
        r"\sigma^{2} \text{ per sample}",
        r"\bar{x} = \frac{\gamma}{\sqrt{\sigma^{2} + \epsilon}}\Big(\bar{y} - \operatorname{mean}(\bar{y}) - "
        r"\hat{x}\operatorname{mean}(\bar{y}\,\hat{x})\Big),\quad \bar{\gamma} = \sum \bar{y}\,\hat{x},\quad "
        r"\bar{\beta} = \sum \bar{y}",
    ),
    "InstanceNormalization": Card(
        "Standardizes each sample and channel over the remaining (spatial) axes.",
        r"\hat{x} = \frac{x - \mu}{\sqrt{\sigma^{2} + \epsilon}},\quad y = \gamma\,\hat{x} + \beta,\quad \mu, "
        r"\sigma^{2} \text{ per sample and channel}",
        r"\bar{x} = \frac{\gamma}{\sqrt{\sigma^{2} + \epsilon}}\Big(\bar{y} - \operatorname{mean}(\bar{y}) - "
        r"\hat{x}\operatorname{mean}(\bar{y}\,\hat{x})\Big),\quad \bar{\gamma} = \sum \bar{y}\,\hat{x},\quad "
        r"\bar{\beta} = \sum \bar{y}",
    ),
    "GroupNormalization": Card(
        "Standardizes each sample over groups of num_groups channels.",
        r"\hat{x} = \frac{x - \mu}{\sqrt{\sigma^{2} + \epsilon}},\quad y = \gamma\,\hat{x} + \beta,\quad \mu, "
        r"\sigma^{2} \text{ per sample and channel group}",
        r"\bar{x} = \frac{\gamma}{\sqrt{\sigma^{2} + \epsilon}}\Big(\bar{y} - \operatorname{mean}(\bar{y}) - "
        r"\hat{x}\operatorname{mean}(\bar{y}\,\hat{x})\Big),\quad \bar{\gamma} = \sum \bar{y}\,\hat{x},\quad "
        r"\bar{\beta} = \sum \bar{y}",
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
        r"\hat{x} = \frac{x - \mu}{\sqrt{\sigma^{2} + \epsilon}},\quad y = \gamma\,\hat{x} + \beta,\quad \mu, "
        r"\sigma^{2} \text{ over the batches of all processes}",
        r"\bar{x} = \frac{\gamma}{\sqrt{\sigma^{2} + \epsilon}}\Big(\bar{y} - \operatorname{mean}(\bar{y}) - "
        r"\hat{x}\operatorname{mean}(\bar{y}\,\hat{x})\Big),\quad \bar{\gamma} = \sum \bar{y}\,\hat{x},\quad "
        r"\bar{\beta} = \sum \bar{y}",
    ),
}
