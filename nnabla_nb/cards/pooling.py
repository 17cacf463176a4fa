"""Cards of pooling, unpooling and interpolation (engine/nnabla/_ops/pooling.py)."""

from . import Card

CARDS = {
    "MaxPooling": Card(
        "The largest value of each window.",
        r"y_{w} = \max_{i \in w} x_i",
        r"\bar{x}_i = \sum_{w} \bar{y}_{w}\,\mathbb{1}[i = \text{the first } \arg\max_{w} x]",
    ),
    "SumPooling": Card(
        "The sum of each window.",
        r"y_{w} = \sum_{i \in w} x_i",
        r"\bar{x}_i = \sum_{w \ni i} \bar{y}_{w}",
    ),
    "AveragePooling": Card(
        "The mean of each window (padding counted when including_pad).",
        r"y_{w} = \frac{1}{|w|}\sum_{i \in w} x_i",
        r"\bar{x}_i = \sum_{w \ni i} \frac{\bar{y}_{w}}{|w|}",
    ),
    "GlobalAveragePooling": Card(
        "The mean of each channel over all spatial positions.",
        r"y_{nc} = \frac{1}{HW}\sum_{h,w} x_{nchw}",
        r"\bar{x}_{nchw} = \frac{\bar{y}_{nc}}{HW}",
    ),
    "Unpooling": Card(
        "Nearest upsampling: each element repeated kernel times along the last axes.",
        r"y_{i} = x_{\lfloor i / k \rfloor}",
        r"\bar{x}_{j} = \sum_{i:\ \lfloor i / k \rfloor = j} \bar{y}_{i}",
    ),
    "Interpolate": Card(
        "Resizes the last axes to output_size by linear or nearest interpolation.",
        r"y_{p} = \sum_{q} w_{pq}\, x_{q}\quad (\text{interpolation weights } w)",
        r"\bar{x}_{q} = \sum_{p} w_{pq}\,\bar{y}_{p}",
    ),
}
