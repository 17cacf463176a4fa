"""Cards of the functions that shape gradients (engine/nnabla/_ops/gradient.py)."""

from . import Card

CARDS = {
    "Unlink": Card(
        "Passes x forward but stops its gradient.",
        "y = x",
        r"\bar{x} = 0\quad (\text{the graph is cut here})",
    ),
    "TopKGrad": Card(
        "Identity forward; backward keeps only the k largest gradient entries of each sample.",
        "y = x",
        r"\bar{x} = \bar{y}\,\mathbb{1}\big[\bar{y} \text{ is among the } k \text{ largest of its sample}\big]",
        False,
    ),
    "VATNoise": Card(
        "Scales a noise direction to norm eps per sample (virtual adversarial training).",
        r"y = \epsilon\,\frac{x}{\sqrt{\lVert x \rVert^{2} + 10^{-8}}}",
        r"\bar{x} = 0,\ \bar{w} = 0;\ \text{backward writes } \epsilon\,\bar{y} \text{ into the data of } w",
    ),
    "MaxPoolingBackward": Card(
        "Max pooling's backward as a function: each dy routed to the first maximum of its window of x.",
        r"\mathrm{dx}_{i} = \sum_{\text{windows } w \ni i} \mathrm{dy}_{w}\,\mathbb{1}[i = \arg\max_{w} x]",
        r"\overline{\mathrm{dy}}_{w} = \overline{\mathrm{dx}}_{\arg\max_{w} x},\quad \bar{x} = 0",
    ),
}
