"""Cards of the recurrent layers and sequence packing (engine/nnabla/_ops/recurrent.py). The layers'
gradients are backpropagation through time: the chain rule along the unrolled steps, last step first."""

from . import Card

CARDS = {
    "RNN": Card(
        "Elman recurrent network: the hidden state is a squashed affine map of the input and the last state.",
        r"h_t = \tanh \text{ or } \operatorname{relu}\big(W [x_t; h_{t-1}] + b\big),\quad y_t = h_t",
        r"\text{backpropagation through time: } \bar{h}_{t-1} = \frac{\partial h_t}{\partial "
        r"h_{t-1}}^{\top}\bar{h}_t + (\text{from } y_{t-1}),\ \bar{W} = \sum_t \frac{\partial h_t}{\partial "
        r"W}^{\top}\bar{h}_t",
    ),
    "LSTM": Card(
        "Long short-term memory: gated cell state c and hidden state h.",
        r"i, f, o = \sigma(\cdot),\ g = \tanh(\cdot) \text{ of } W [x_t; h_{t-1}] + b;\quad c_t = f \odot c_{t-1} + "
        r"i \odot g,\quad h_t = o \odot \tanh(c_t)",
        r"\text{backpropagation through time: } \bar{h}_{t-1} = \frac{\partial h_t}{\partial "
        r"h_{t-1}}^{\top}\bar{h}_t + (\text{from } y_{t-1}),\ \bar{W} = \sum_t \frac{\partial h_t}{\partial "
        r"W}^{\top}\bar{h}_t",
    ),
    "GRU": Card(
        "Gated recurrent unit: reset and update gates blend the last state with a candidate.",
        r"r, z = \sigma(W_{r,z}[x_t; h_{t-1}] + b),\ n = \tanh\big(W_n x_t + b_{in} + r \odot (U_n h_{t-1} + "
        r"b_{hn})\big);\quad h_t = (1 - z) \odot n + z \odot h_{t-1}",
        r"\text{backpropagation through time: } \bar{h}_{t-1} = \frac{\partial h_t}{\partial "
        r"h_{t-1}}^{\top}\bar{h}_t + (\text{from } y_{t-1}),\ \bar{W} = \sum_t \frac{\partial h_t}{\partial "
        r"W}^{\top}\bar{h}_t",
    ),
    "PackPaddedSequence": Card(
        "Packs length-sorted padded sequences step by step, dropping the padding.",
        r"\mathrm{packed} = [x_{0, 0..b_0}, x_{1, 0..b_1}, \dots],\quad b_t = \#\{\text{sequences longer than } t\}",
        r"\bar{x} = \bar{\mathrm{packed}} \text{ unpacked into place},\ 0 \text{ at the padding}",
    ),
    "PadPackedSequence": Card(
        "Unpacks packed steps into a padded array (the inverse of PackPaddedSequence).",
        r"y_{t, i} = \mathrm{packed}_{t, i} \text{ for } i < b_t,\ \text{padding\_value elsewhere}",
        r"\bar{\mathrm{packed}} = \bar{y} \text{ packed the same way}",
    ),
}
