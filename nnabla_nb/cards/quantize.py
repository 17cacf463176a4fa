"""Cards of the quantizers and the layers with quantized weights (engine/nnabla/_ops/quantize.py). Their
gradients are straight-through estimators: rounding has derivative 0 almost everywhere, so the gradient is
passed as if the quantizer were the identity (inside the representable range with ``ste_fine_grained``)."""

from . import Card

CARDS = {
    "FixedPointQuantize": Card(
        "Rounds to a fixed-point grid of step delta with n bits (signed or unsigned).",
        r"q = \operatorname{clip}\Big(\operatorname{sign}(x)\,\Big\lfloor \frac{|x|}{\delta} + \frac{1}{2} "
        r"\Big\rfloor \delta,\ q_{\min},\ q_{\max}\Big),\quad q_{\max} = (2^{n-1} - 1)\,\delta \text{ (signed)}",
        r"\bar{x} = \bar{y}\,\mathbb{1}[x \text{ inside the representable range}]\ (\text{ste\_fine\_grained}),\ "
        r"\text{else } \bar{y}",
        (-10.0, 10.0),
    ),
    "Pow2Quantize": Card(
        "Rounds each magnitude to a power of two within n bits (optionally with zero).",
        r"q = \operatorname{sign}(x)\, 2^{\operatorname{round}(\log_2 |x|)},\quad|q| \in [2^{m - 2^{k} + 1}, 2^{m}]",
        r"\bar{x} = \bar{y}\,\mathbb{1}[x \text{ inside the representable range}]\ (\text{ste\_fine\_grained}),\ "
        r"\text{else } \bar{y}",
        (-3.0, 3.0),
    ),
    "MinMaxQuantize": Card(
        "Uniform quantization into the range [qr_min, qr_max] (nudged so zero is a level).",
        r"y = \operatorname{round}\Big(\frac{\operatorname{clip}(x, m, M) - m}{s}\Big) s + m,\quad s = \frac{M - "
        r"m}{q_{l,\max} - q_{l,\min}}",
        r"\bar{x} = \bar{y}\,\mathbb{1}[m \le x \le M],\quad \bar{m} = \sum \bar{y}\,\mathbb{1}[x < m],\quad "
        r"\bar{M} = \sum \bar{y}\,\mathbb{1}[x > M]",
    ),
    "QuantizeLinear": Card(
        "ONNX QuantizeLinear: scale, round, shift by the zero point, saturate to int8 or uint8.",
        r"y = \operatorname{saturate}\Big(\operatorname{round}\Big(\frac{x}{s}\Big) + z\Big)",
        r"\bar{x} = \frac{\bar{y}}{s}\quad (\text{straight through the rounding})",
    ),
    "DequantizeLinear": Card(
        "ONNX DequantizeLinear: undo the zero point and the scale.",
        r"y = (x - z)\, s",
        r"\bar{x} = \bar{y}\, s",
    ),
    "Prune": Card(
        "Zeroes the smallest-magnitude fraction rate of the elements.",
        r"y = x\,\mathbb{1}\big[|x| \ge \tau\big],\quad \tau = \operatorname{sort}(|x|)_{\lfloor (N - "
        r"1)\,\mathrm{rate} \rfloor}",
        r"\bar{x} = \bar{y}\quad (\text{straight through})",
        False,
    ),
    "BinaryConnectAffine": Card(
        "Affine layer with the binarized weight sign(W) (BinaryConnect).",
        r"y = x\, W_b + b,\quad W_b = \operatorname{sign}(W)",
        r"\bar{x} = \bar{y}\, W_b^{\top},\quad \bar{W} = x^{\top} \bar{y}\quad (\text{straight through the "
        r"binarization})",
    ),
    "BinaryConnectConvolution": Card(
        "Convolution with the binarized weight sign(W) (BinaryConnect).",
        r"y = x \ast W_b + b,\quad W_b = \operatorname{sign}(W)",
        r"\bar{x} = \bar{y} \star W_b,\quad \bar{W} = x \star \bar{y}\quad (\text{straight through the "
        r"binarization})",
    ),
    "BinaryWeightAffine": Card(
        "Affine layer with the binary weight sign(W) scaled by each output's mean |W| (XNOR-Net).",
        r"y = x\,(\operatorname{sign}(W)\,\alpha) + b,\quad \alpha_j = \frac{1}{D_{in}}\sum_i |W_{ij}|",
        r"\bar{x} = \bar{y}\, W_b^{\top},\quad \bar{W} = x^{\top} \bar{y}\quad (\text{straight through the "
        r"binarization})",
    ),
    "BinaryWeightConvolution": Card(
        "Convolution with the binary weight sign(W) scaled by each filter's mean |W| (XNOR-Net).",
        r"y = x \ast (\operatorname{sign}(W)\,\alpha) + b,\quad \alpha_o = \operatorname{mean}|W_o|",
        r"\bar{x} = \bar{y} \star W_b,\quad \bar{W} = x \star \bar{y}\quad (\text{straight through the "
        r"binarization})",
    ),
    "INQAffine": Card(
        "Affine layer whose weights are fixed to powers of two step by step (incremental network quantization).",
        r"y = x\, W_q + b,\quad W_q \in \{0, \pm 2^{k}\} \text{ where fixed, } W \text{ elsewhere}",
        r"\bar{x} = \bar{y}\, W_q^{\top},\quad \bar{W} = x^{\top} \bar{y}",
    ),
    "INQConvolution": Card(
        "Convolution whose weights are fixed to powers of two step by step (incremental network quantization).",
        r"y = x \ast W_q + b,\quad W_q \in \{0, \pm 2^{k}\} \text{ where fixed, } W \text{ elsewhere}",
        r"\bar{x} = \bar{y} \star W_q,\quad \bar{W} = x \star \bar{y}",
    ),
}
