"""Cards of the detection functions (engine/nnabla/_ops/detection.py)."""

from . import NO_GRADIENT, Card

CARDS = {
    "RoiAlign": Card(
        "Pools the features of each box to a fixed size by averaging bilinear samples.",
        r"y_{r,c,i,j} = \frac{1}{S}\sum_{s \in \mathrm{bin}_{ij}} \operatorname{bilinear}(x_{b_r, c}, p_s)",
        r"\bar{x} = \text{each } \bar{y} \text{ spread back by the bilinear weights of its samples};\ \text{no "
        r"gradient to the boxes}",
    ),
    "NmsDetection2d": Card(
        "YOLO-style non-maximum suppression: overlapping boxes with lower scores are zeroed.",
        r"y = x \text{ with scores } < \mathrm{thresh} \text{ and boxes of IoU} > \mathrm{nms} \text{ with a better "
        r"one set to } 0",
        NO_GRADIENT,
    ),
    "ONNXNonMaxSuppression": Card(
        "ONNX NonMaxSuppression: indices (batch, class, box) of the boxes kept.",
        r"y = \{(b, c, i) : \text{box } i \text{ kept by greedy IoU suppression}\}",
        NO_GRADIENT,
    ),
    "ONNXResize": Card(
        "ONNX Resize of the last axes by nearest, linear or cubic interpolation.",
        r"y_{p} = \sum_{q} w_{pq}\, x_{q}\quad (\text{interpolation weights } w)",
        r"\text{no gradient (NNabla defines none)}",
    ),
}
