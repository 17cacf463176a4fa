"""Cards of the array functions: shape, layout, joining and constants (engine/nnabla/_ops/array.py)."""

from . import NO_GRADIENT, Card

CARDS = {
    "Reshape": Card(
        "The same elements in a new shape (one entry may be -1).",
        r"y = \operatorname{reshape}(x, \mathrm{shape})",
        r"\bar{x} = \operatorname{reshape}(\bar{y}, \operatorname{shape}(x))",
    ),
    "Transpose": Card(
        "Permutes the axes: y.shape[i] = x.shape[axes[i]].",
        r"y_{i_0 \dots i_{n-1}} = x_{j},\quad j_{\mathrm{axes}[k]} = i_k",
        r"\bar{x} = \operatorname{transpose}(\bar{y}, \mathrm{axes}^{-1})",
    ),
    "Concatenate": Card(
        "Joins the inputs along an existing axis (by default the last one).",
        r"y = [x_0, x_1, \dots]_{\text{axis}}",
        r"\bar{x}_i = \text{the slice of } \bar{y} \text{ where } x_i \text{ sits}",
    ),
    "Split": Card(
        "Cuts x into its slices along axis, that axis removed.",
        r"y_k = x[\dots, k, \dots]_{\text{axis}},\quad k = 0 \dots n - 1",
        r"\bar{x} = \operatorname{stack}_{\text{axis}}(\bar{y}_0, \dots, \bar{y}_{n-1})",
    ),
    "Stack": Card(
        "Joins inputs of one shape along a new axis.",
        r"y[\dots, k, \dots]_{\text{axis}} = x_k",
        r"\bar{x}_k = \bar{y}[\dots, k, \dots]_{\text{axis}}",
    ),
    "Slice": Card(
        "x[start:stop:step] on each axis.",
        r"y = x[\mathrm{start} : \mathrm{stop} : \mathrm{step}]",
        r"\bar{x} = \bar{y} \text{ at the sliced positions, } 0 \text{ elsewhere}",
    ),
    "Broadcast": Card(
        "Repeats x along its size-1 axes to a larger shape.",
        r"y = \operatorname{broadcast}(x, \mathrm{shape})",
        r"\bar{x} = \sum_{\text{broadcast axes}} \bar{y}",
    ),
    "BroadcastTo": Card(
        "Repeats y to the shape of x, y's axes matching x's from axis.",
        r"z = \operatorname{broadcast}(y, \operatorname{shape}(x))",
        r"\bar{x} = 0,\quad \bar{y} = \sum_{\text{broadcast axes}} \bar{z}",
    ),
    "Tile": Card(
        "Repeats x reps times along each axis.",
        r"y = \operatorname{tile}(x, \mathrm{reps})",
        r"\bar{x} = \sum_{\text{tiles}} \bar{y}",
    ),
    "Pad": Card(
        "Pads the last axes: with a constant, by reflection, or by repeating the edge.",
        r"y = \operatorname{pad}(x, \mathrm{pad\_width}, \mathrm{mode})",
        r"\bar{x} = \text{the interior of } \bar{y} \text{ plus, for reflect/repeat, the padding folded back}",
    ),
    "Flip": Card(
        "Reverses x along the given axes.",
        r"y_{i} = x_{n - 1 - i} \text{ along each of axes}",
        r"\bar{x} = \operatorname{flip}(\bar{y}, \mathrm{axes})",
    ),
    "Where": Card(
        "Picks x_true where the condition holds, x_false elsewhere.",
        r"y = \begin{cases} x_{\mathrm{true}} & c \ne 0 \\ x_{\mathrm{false}} & c = 0 \end{cases}",
        r"\bar{x}_{\mathrm{true}} = \bar{y}\,\mathbb{1}[c \ne 0],\quad \bar{x}_{\mathrm{false}} = "
        r"\bar{y}\,\mathbb{1}[c = 0]",
    ),
    "OneHot": Card(
        "One-hot encoding of integer class ids.",
        r"y_{\dots, k} = \mathbb{1}[x_{\dots} = k]",
        NO_GRADIENT,
    ),
    "MatrixDiag": Card(
        "Turns the last axis into a diagonal matrix.",
        r"y_{\dots ij} = \begin{cases} x_{\dots i} & i = j \\ 0 & i \ne j \end{cases}",
        r"\bar{x}_{\dots i} = \bar{y}_{\dots ii}",
    ),
    "MatrixDiagPart": Card(
        "The diagonal of each square matrix on the last two axes.",
        r"y_{\dots i} = x_{\dots ii}",
        r"\bar{x}_{\dots ij} = \bar{y}_{\dots i}\,\mathbb{1}[i = j]",
    ),
    "Meshgrid": Card(
        "Coordinate grids from 1-D inputs, one output per input.",
        r"y_k[i_0, i_1, \dots] = x_k[i_k]",
        r"\bar{x}_k[i] = \sum_{\text{other axes}} \bar{y}_k",
    ),
    "Sink": Card(
        "A dummy scalar joining its inputs, so one forward/backward runs every graph leading to them.",
        "y = 0",
        r"\bar{x}_i = 1 \ (\text{one\_input\_grad}) \text{ or the gradient already held}",
    ),
    "Shape": Card(
        "The shape of x (from start to end) as a 1-D array.",
        r"y = \operatorname{shape}(x)[\mathrm{start} : \mathrm{end}]",
        NO_GRADIENT,
    ),
    "Assign": Card(
        "Copies src into dst's data as a side effect of forward; the output is src.",
        r"\mathrm{dst} \leftarrow \mathrm{src},\quad y = \mathrm{src}",
        r"\overline{\mathrm{dst}} = \bar{y},\quad \overline{\mathrm{src}} = 0",
    ),
    "Constant": Card(
        "An array of a shape filled with val.",
        r"y = \mathrm{val}\;\mathbf{1}_{\mathrm{shape}}",
        r"\text{no inputs}",
    ),
    "Arange": Card(
        "Evenly stepped values from start up to (not including) stop.",
        r"y_i = \mathrm{start} + i\cdot\mathrm{step},\quad y_i < \mathrm{stop}",
        r"\text{no inputs}",
    ),
    "Linspace": Card(
        "num evenly spaced values from start to stop, both included.",
        r"y_i = \mathrm{start} + i\,\frac{\mathrm{stop} - \mathrm{start}}{\mathrm{num} - 1}",
        r"\text{no inputs}",
    ),
}
