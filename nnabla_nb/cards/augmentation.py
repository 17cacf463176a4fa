"""Cards of the data augmentations (engine/nnabla/_ops/augmentation.py)."""

from . import Card

CARDS = {
    "RandomCrop": Card(
        "A window of the given shape at a random position in each sample.",
        r"y = x[o : o + \mathrm{shape}],\quad o \text{ uniform}",
        r"\bar{x} = \bar{y} \text{ inside the window, } 0 \text{ elsewhere}",
    ),
    "RandomFlip": Card(
        "Reverses each sample along each of axes with probability 1/2.",
        r"y = \operatorname{flip}(x) \text{ or } x,\ \text{each with probability } 1/2",
        r"\bar{x} = \bar{y} \text{ flipped back the same way}",
    ),
    "RandomShift": Card(
        "Shifts each sample by a random integer per axis, the border filled.",
        r"y_{i} = x_{i - s},\quad s \sim \mathcal{U}\{-\mathrm{shifts}, \dots, \mathrm{shifts}\}",
        r"\bar{x} = \text{the shift undone on } \bar{y} \text{ (border gradients summed into the edge)}",
    ),
    "RandomErase": Card(
        "Random erasing: boxes of random area and aspect filled with uniform noise, per sample with probability prob.",
        r"y = x \text{ outside the boxes},\quad y \sim \mathcal{U}[\mathrm{replacements}] \text{ inside}",
        r"\bar{x} = \bar{y}\,\mathbb{1}[\text{not erased}]\ (\text{ste\_fine\_grained}),\ \text{else } \bar{y}",
    ),
    "ImageAugmentation": Card(
        "Random scale, rotation, crop, flips, distortion, brightness, contrast and noise of each image.",
        r"y = \operatorname{augment}(x)",
        r"\text{no gradient (NNabla defines none)}",
    ),
}
