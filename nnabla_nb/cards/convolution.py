r"""Cards of the convolutions (engine/nnabla/_ops/convolution.py). $\ast$ is NNabla's convolution (a
cross-correlation with pad, stride, dilation, group); $\star$ the correlation that gives its gradients."""

from . import Card

CARDS = {
    "Convolution": Card(
        "N-D convolution: each output map sums the input maps correlated with its filters, plus a bias.",
        r"y_{o,p} = b_o + \sum_{c}\sum_{k} W_{o,c,k}\; x_{c,\ s p + d k - \mathrm{pad}}",
        r"\bar{x} = \operatorname{deconv}(\bar{y}, W),\quad \bar{W}_{o,c,k} = \sum_{p} \bar{y}_{o,p}\, x_{c,\ s p + "
        r"d k - \mathrm{pad}},\quad \bar{b}_o = \sum_{p} \bar{y}_{o,p}",
    ),
    "Deconvolution": Card(
        "Transposed convolution: the gradient of a convolution as a layer, upsampling by the stride.",
        r"y = \operatorname{conv}^{\top}(x, W) + b,\quad y_{o,\ s p + d k - \mathrm{pad}} \mathrel{+}= W_{c,o,k}\, "
        r"x_{c,p}",
        r"\bar{x} = \operatorname{conv}(\bar{y}, W),\quad \bar{W}_{c,o,k} = \sum_{p} x_{c,p}\,\bar{y}_{o,\ s p + d "
        r"k - \mathrm{pad}},\quad \bar{b} = \sum \bar{y}",
    ),
    "DepthwiseConvolution": Card(
        "Convolves each channel with its own filters (multiplier maps per channel).",
        r"y_{c m, p} = b_{c m} + \sum_{k} W_{c m,k}\; x_{c,\ s p + d k - \mathrm{pad}}",
        r"\bar{x}_{c} = \sum_{m} \operatorname{deconv}(\bar{y}_{c m}, W_{c m}),\quad \bar{W}_{c m,k} = \sum_{p} "
        r"\bar{y}_{c m,p}\, x_{c,\ s p + d k - \mathrm{pad}}",
    ),
    "DepthwiseDeconvolution": Card(
        "Transposed depthwise convolution: each group of divisor channels gives one output channel.",
        r"y = \operatorname{depthwise\_conv}^{\top}(x, W) + b",
        r"\bar{x} = \operatorname{depthwise\_conv}(\bar{y}, W),\quad \bar{W} = x \star \bar{y},\quad \bar{b} = \sum "
        r"\bar{y}",
    ),
}
