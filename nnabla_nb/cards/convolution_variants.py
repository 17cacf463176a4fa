"""Cards of the convolution variants (engine/nnabla/_ops/convolution_variants.py)."""

from . import Card

CARDS = {
    "DeformableConvolution": Card(
        "2-D convolution whose kernel taps are moved by learned offsets (and weighted by a mask).",
        r"y_{o,p} = b_o + \sum_{c,k} W_{o,c,k}\; m_{k,p}\; x_{c}\big(s p + d k - \mathrm{pad} + "
        r"\Delta_{k,p}\big)\quad (\text{bilinear } x(\cdot))",
        r"\bar{x},\ \bar{W},\ \bar{b} \text{ as a convolution of the sampled columns};\ \bar{\Delta}_{k,p} = "
        r"\sum_{o,c} \bar{y}_{o,p} W_{o,c,k}\, m_{k,p}\, \nabla x_{c}(\cdot),\ \bar{m}_{k,p} = \sum_{o,c} "
        r"\bar{y}_{o,p} W_{o,c,k}\, x_{c}(\cdot)",
    ),
    "AdaptiveSeparableConvolution": Card(
        "Each output pixel filters its neighbourhood with its own separable (vertical x horizontal) kernel.",
        r"y_{b,c,h,w} = \sum_{j,i} k^{v}_{b,j,h,w}\, k^{h}_{b,i,h,w}\, x_{b,c,h + j,w + i}",
        r"\bar{x}_{b,c,h + j,w + i} \mathrel{+}= \bar{y}_{b,c,h,w}\, k^{v}_{j} k^{h}_{i},\quad \bar{k}^{v}_{j} = "
        r"\sum_{c,i} \bar{y}\, k^{h}_{i}\, x_{\dots},\quad \bar{k}^{h}_{i} = \sum_{c,j} \bar{y}\, k^{v}_{j}\, "
        r"x_{\dots}",
    ),
    "FusedConvolution": Card(
        "Pad, convolution, batch normalization, residual add and activation as one node.",
        r"y = \operatorname{act}\Big(\operatorname{bn}\big(\operatorname{conv}(\operatorname{pad}(x), W) + b\big) + "
        r"z\Big)",
        r"\text{the chain rule through act, bn, conv and pad, as their own cards give}",
    ),
}
