"""Data views: a batch of images as a labelled grid, and a confusion matrix with per-class accuracy.

``show_images(x, labels=None, classes=None)`` draws an array of images as a grid, each picture a small PNG
(the kit's own encoder, so the bytes depend only on the values) with its label under it, inside an HTML table;
its text form gives the shape, dtype, value range and label counts. A shape "looks like images" when it is
(N, C, H, W) with C 1 or 3, or (N, H, W), with H and W at least ``MIN_SIDE``.

What shows as a grid by itself, once ``%load_ext nnabla_nb`` is on:

- a ``DataIterator``: the batch its next ``next()`` returns (or, without a read-ahead thread, the examples at its
  position), read WITHOUT moving it: its position, epoch and pending batch are unchanged;
- a pair ``(images, labels)`` (what ``data.next()`` gives for an image set) whose first item looks like images
  and whose second holds one whole-number label per image.

A plain Variable or NdArray keeps its ordinary display (statistics, heatmap, values) even when it has an image
shape: an activation of shape (N, 3, H, W) is an array a student inspects, not necessarily pictures, so a grid
is asked for with ``show_images``.

``confusion(y, t, classes=None)`` counts predictions ``y`` (labels, or scores whose argmax along axis 1 is
taken) against true labels ``t``: an SVG heatmap with the counts (rows: true class, columns: predicted), a table
of per-class accuracy (the share of each true class predicted right) and a text form.
"""

from __future__ import annotations

import numpy as np

import nnabla as nn
from nnabla.utils.data_iterator import DataIterator

from . import errors
from .graph import read_data
from .render.chart import FONT, INK
from .render.common import num, shape
from .render.escape import escape, printable
from .render.png import data_uri, encode_png

MIN_SIDE = 4  # an image is at least this many pixels high and wide
MAX_IMAGES = 64  # a grid shows at most this many images (the first ones)
COLUMNS = 16  # images per grid row
IMAGE_PX = 48  # each image is drawn this wide (pixelated), whatever its size
BOX = "font-family:monospace;font-size:12px;line-height:1.45"
MUTED = "color:#777"
CELL = "padding:1px 8px;text-align:left;border-bottom:1px solid #ddd"


# -- arrays and images --------------------------------------------------------------------------------------
def _array(x):
    """numpy data of a Variable, NdArray or array-like; None for anything else."""
    if isinstance(x, nn.Variable):
        return read_data(x)
    if isinstance(x, nn.NdArray):
        return read_data(x)
    if isinstance(x, np.ndarray):
        return x
    return None


def looks_like_images(s) -> bool:
    """(N, C, H, W) with C in 1 or 3, or (N, H, W); H and W at least ``MIN_SIDE``."""
    s = tuple(s)
    if len(s) == 4 and s[1] in (1, 3):
        return s[2] >= MIN_SIDE and s[3] >= MIN_SIDE and s[0] >= 1
    return len(s) == 3 and s[0] >= 1 and s[1] >= MIN_SIDE and s[2] >= MIN_SIDE


def _as_labels(t, n: int):
    """``t`` as n whole-number labels ((n,) or (n, 1)), else None."""
    a = _array(t) if not isinstance(t, (list, tuple)) else np.asarray(t)
    if a is None or a.size != n or a.ndim > 2 or (a.ndim == 2 and 1 not in a.shape) or n == 0:
        return None
    a = a.reshape(n)
    if a.dtype.kind in "iu":
        return a.astype(np.int64)
    if a.dtype.kind == "f" and np.all(np.isfinite(a)) and np.all(a == np.round(a)):
        return a.astype(np.int64)
    return None


def _rgb(images: np.ndarray) -> tuple:
    """(N, H, W, 3) uint8 of an image batch and what its value range was mapped from."""
    a = images[:, 0] if images.ndim == 4 and images.shape[1] == 1 else images
    if a.ndim == 4:
        a = a.transpose(0, 2, 3, 1)
    if a.dtype == np.uint8:
        out, how = a, "uint8 shown as is"
    else:
        f = a.astype(np.float64)
        finite = f[np.isfinite(f)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
        span = hi - lo if hi > lo else 1.0
        out = np.clip(np.nan_to_num((f - lo) / span * 255.0, nan=0.0, posinf=255.0, neginf=0.0), 0, 255)
        out, how = np.round(out).astype(np.uint8), f"black {num(lo)} .. white {num(hi)}"
    if out.ndim == 3:
        out = np.repeat(out[..., None], 3, axis=3)
    return out, how


def _class_name(label: int, classes) -> str:
    if classes is not None and 0 <= label < len(classes):
        return str(classes[label])
    return str(label)


def _range_text(a: np.ndarray) -> str:
    finite = a[np.isfinite(a)] if a.dtype.kind == "f" else a.reshape(-1)
    if not finite.size:
        return "no finite values"
    return f"values {num(float(finite.min()))} .. {num(float(finite.max()))}"


def _counts(labels, classes) -> list:
    values, counts = np.unique(labels, return_counts=True)
    return [(_class_name(int(v), classes), int(c)) for v, c in zip(values, counts)]


class ImageGrid:
    """A batch of images shown as a labelled grid (HTML) with a text summary; see ``show_images``."""

    def __init__(self, images: np.ndarray, labels=None, classes=None, title: str = "images", note: str = ""):
        self.images, self.labels, self.classes, self.title, self.note = images, labels, classes, title, note

    def text(self) -> str:
        a = self.images
        lines = [f"{printable(self.title)}: {shape(a.shape)} {a.dtype.name}, {_range_text(a)}"]
        if self.note:
            lines.append(f"  {self.note}")
        if self.labels is not None:
            counts = ", ".join(f"{printable(k)}: {c}" for k, c in _counts(self.labels, self.classes))
            lines.append(f"  labels: {counts}")
        return "\n".join(lines)

    def html(self) -> str:
        a = self.images
        n = min(len(a), MAX_IMAGES)
        rgb, how = _rgb(a[:n])
        cells = []
        for i in range(n):
            label = "" if self.labels is None else _class_name(int(self.labels[i]), self.classes)
            alt = f"image {i}" + (f", label {label}" if label else "")
            cells.append(
                f'<td style="padding:2px;text-align:center;vertical-align:top">'
                f'<img src="{data_uri(encode_png(rgb[i]))}" alt="{escape(alt)}" width="{IMAGE_PX}" '
                f'style="image-rendering:pixelated;display:block;border:1px solid #8a8a8a80">'
                + (f'<div style="font-size:11px">{escape(label)}</div>' if label else "")
                + "</td>"
            )
        rows = "".join("<tr>" + "".join(cells[i : i + COLUMNS]) + "</tr>" for i in range(0, n, COLUMNS))
        shown = f"first {n} of {len(a)} shown, " if n < len(a) else ""
        caption = f"{shape(a.shape)} {a.dtype.name}, {shown}{how}"
        if self.labels is not None:
            caption += "; labels " + ", ".join(f"{k}: {c}" for k, c in _counts(self.labels, self.classes))
        note = f'<div style="{MUTED}">{escape(self.note)}</div>' if self.note else ""
        return (
            f'<figure style="{BOX};margin:0"><div><b>{escape(self.title)}</b></div>{note}'
            f'<table style="border-collapse:collapse">{rows}</table>'
            f'<figcaption style="{MUTED};font-size:11px">{escape(caption)}</figcaption></figure>'
        )

    def _repr_html_(self) -> str:
        return self.html()

    def __repr__(self) -> str:
        return self.text()


def _check_classes(where: str, classes, use: str):
    if classes is None:
        return None
    if isinstance(classes, (str, bytes)) or not isinstance(classes, (list, tuple)):
        errors.fail(where, f"classes must be a list of class names or None, got {errors.describe(classes)}", use, True)
    return [str(c) for c in classes]


def show_images(x, labels=None, classes=None) -> ImageGrid:
    """A grid of the images in ``x`` ((N, C, H, W) with C 1 or 3, or (N, H, W): a Variable, NdArray or numpy
    array), each with its label (``labels``: one whole number per image) named by ``classes`` (a list: label
    -> name). The grid is the cell's value; ``display(...)`` it inside a loop.

    A Variable keeps its statistics display unless asked: ``show_images`` is what turns it into pictures."""
    where, use = "nnabla_nb.show_images", errors.usage(show_images)
    a = _array(x)
    if a is None:
        errors.fail(where, f"x must be a Variable, NdArray or numpy array, got {errors.describe(x)}", use, True)
    if not looks_like_images(a.shape):
        errors.fail(
            where,
            f"x of shape {shape(a.shape)} does not look like images: give (N, C, H, W) with C 1 or 3, or "
            f"(N, H, W), H and W >= {MIN_SIDE}",
            use,
        )
    t = None
    if labels is not None:
        t = _as_labels(labels, len(a))
        if t is None:
            got = _array(labels) if not isinstance(labels, (list, tuple)) else np.asarray(labels)
            what = shape(got.shape) if got is not None else errors.describe(labels)
            errors.fail(where, f"labels must be {len(a)} whole numbers (one per image), got {what}", use)
    return ImageGrid(a, t, _check_classes(where, classes, use))


# -- automatic displays: pairs and data iterators ----------------------------------------------------------
def image_pair(obj):
    """``(images, labels)`` as (images, labels) arrays when ``obj`` is such a pair, else None."""
    if not isinstance(obj, tuple) or len(obj) != 2:
        return None
    a = _array(obj[0])
    if a is None or not looks_like_images(a.shape):
        return None
    t = _as_labels(obj[1], len(a)) if isinstance(obj[1], (np.ndarray, nn.NdArray, nn.Variable)) else None
    return None if t is None else (a, t)


def peek(it: DataIterator) -> tuple:
    """The arrays of ``it``'s next batch, read without moving it: its pending read-ahead batch when it has one
    (waiting for the read to finish), else the examples from its position on (not wrapping). Nothing of the
    iterator changes: ``next()`` then returns the same batch it would have."""
    if it._thread is not None:
        it._thread.join()  # the read-ahead thread fills _pending; next() joins it again, which is harmless
    pending = it._pending
    if isinstance(pending, tuple) and pending[0] is not None:
        return pending[0]
    source = it._data_source
    start = source.position
    stop = min(start + it.batch_size, it.size)
    examples = [source._get_data(p) for p in range(start, stop)]
    return tuple(np.array(c) for c in zip(*examples)) if examples else ()


def iterator_view(it: DataIterator):
    """An ``ImageGrid`` of ``it``'s next batch when one of its variables looks like images, else None."""
    arrays = peek(it)
    names = list(it.variables)
    for i, a in enumerate(arrays):
        if looks_like_images(np.shape(a)):
            labels = next(
                (t for t in (_as_labels(b, len(a)) for j, b in enumerate(arrays) if j != i) if t is not None), None
            )
            note = f"next batch of variable {names[i]!r}; epoch {it.epoch}, position {it.position} of {it.size}"
            return ImageGrid(np.asarray(a), labels, None, "DataIterator", note)
    return None


def iterator_text(it: DataIterator) -> str:
    head = f"DataIterator: {it.size} examples, batch size {it.batch_size}, epoch {it.epoch}, position {it.position}"
    view = iterator_view(it)
    if view is None:
        arrays = peek(it)
        parts = [f"  {printable(n)}: {shape(np.shape(a))}" for n, a in zip(it.variables, arrays)]
        return "\n".join([head, *parts])
    return head + "\n" + view.text()


def iterator_html(it: DataIterator):
    view = iterator_view(it)
    return None if view is None else view.html()


def pair_html(obj):
    pair = image_pair(obj)
    return None if pair is None else ImageGrid(pair[0], pair[1], None, "(images, labels)").html()


def pair_text(obj):
    pair = image_pair(obj)
    return None if pair is None else ImageGrid(pair[0], pair[1], None, "(images, labels)").text()


# -- confusion matrix -------------------------------------------------------------------------------------
CONFUSION_CELL = 26  # px per matrix cell (smaller for many classes)
NAME_CHARS = 12  # class names are cut to this many characters in the picture


def _short(name: str) -> str:
    return name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 1] + "…"


def confusion_svg(matrix: np.ndarray, names: list) -> str:
    """An SVG heatmap of ``matrix`` (rows: true, columns: predicted) with the count in each cell; each row is
    shaded by its share of that true class, so a rare class's mistakes are as visible as a common one's."""
    k = len(matrix)
    cell = max(12, min(CONFUSION_CELL, 360 // max(k, 1)))
    left = 12 + 7 * max(len(_short(n)) for n in names) + 16
    top = 30
    w, h = left + k * cell + 8, top + k * cell + 18 + 7 * max(len(_short(n)) for n in names)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" style="{FONT}">']
    parts.append(f'<text x="{left + k * cell / 2}" y="12" fill="{INK}" text-anchor="middle">predicted</text>')
    parts.append(f'<text x="10" y="{top + k * cell / 2}" fill="{INK}" text-anchor="middle" '
                 f'transform="rotate(-90 10 {top + k * cell / 2})">true</text>')  # fmt: skip
    totals = matrix.sum(axis=1)
    font = 11 if cell >= 22 else 8
    for i in range(k):
        y = top + i * cell
        parts.append(
            f'<text x="{left - 4}" y="{y + cell / 2 + 4}" fill="{INK}" text-anchor="end">'
            f"{escape(_short(names[i]))}</text>"
        )
        for j in range(k):
            c = int(matrix[i, j])
            share = c / totals[i] if totals[i] else 0.0
            color = "#3a9a4f" if i == j else "#c0392b"
            x = left + j * cell
            parts.append(
                f'<rect x="{x}" y="{y}" width="{cell - 1}" height="{cell - 1}" fill="{color}" '
                f'fill-opacity="{0.08 + 0.92 * share:.3f}"><title>true {escape(names[i])}, predicted '
                f"{escape(names[j])}: {c}</title></rect>"
            )
            if c:
                ink = "#ffffff" if share > 0.5 else INK
                parts.append(
                    f'<text x="{x + cell / 2 - 0.5}" y="{y + cell / 2 + font / 3}" fill="{ink}" font-size="{font}" '
                    f'text-anchor="middle">{c}</text>'
                )
    by = top + k * cell + 4
    for j in range(k):
        x = left + j * cell + cell / 2 + 4
        parts.append(f'<text x="{x}" y="{by}" fill="{INK}" text-anchor="end" transform="rotate(-90 {x} {by})" '
                     f'dy="0">{escape(_short(names[j]))}</text>')  # fmt: skip
    return "".join(parts) + "</svg>"


class Confusion:
    """Counts of true class (rows) against predicted class (columns); see ``confusion``."""

    def __init__(self, matrix: np.ndarray, names: list):
        self.matrix, self.names = matrix, names

    @property
    def accuracy(self) -> float:
        total = self.matrix.sum()
        return float(np.trace(self.matrix) / total) if total else float("nan")

    def per_class(self) -> list:
        """(name, examples, correct, accuracy) per true class; accuracy nan for a class with no examples."""
        rows = []
        for i, name in enumerate(self.names):
            n, ok = int(self.matrix[i].sum()), int(self.matrix[i, i])
            rows.append((name, n, ok, ok / n if n else float("nan")))
        return rows

    def text(self) -> str:
        m, names = self.matrix, [printable(n) for n in self.names]
        width = max(max(len(n) for n in names), len(str(int(m.max()))), 4)
        lines = [f"confusion: {int(m.sum())} examples, accuracy {num(self.accuracy)} (rows true, columns predicted)"]
        lines.append(" " * (width + 2) + " ".join(f"{n:>{width}}" for n in names))
        for name, row in zip(names, m):
            lines.append(f"  {name:>{width}}" + "".join(f" {int(c):>{width}}" for c in row))
        for name, n, ok, acc in self.per_class():
            lines.append(f"  {printable(name)}: {ok}/{n} right ({num(acc)})")
        return "\n".join(lines)

    def html(self) -> str:
        svg = confusion_svg(self.matrix, self.names)
        img = f'<img src="data:image/svg+xml;base64,{_b64(svg)}" alt="confusion matrix, rows true, columns predicted">'
        head = "".join(f'<th style="{CELL}">{h}</th>' for h in ("class", "examples", "right", "accuracy"))
        body = "".join(
            f'<tr><td style="{CELL}">{escape(name)}</td><td style="{CELL}">{n}</td><td style="{CELL}">{ok}</td>'
            f'<td style="{CELL}">{escape(num(acc))}</td></tr>'
            for name, n, ok, acc in self.per_class()
        )
        return (
            f'<div style="{BOX}"><div><b>confusion matrix</b>: {int(self.matrix.sum())} examples, accuracy '
            f"<b>{escape(num(self.accuracy))}</b></div>"
            f'<div style="display:flex;gap:16px;align-items:flex-start">{img}'
            f'<table style="border-collapse:collapse"><tr>{head}</tr>{body}</table></div></div>'
        )

    def _repr_html_(self) -> str:
        return self.html()

    def __repr__(self) -> str:
        return self.text()


def _b64(svg: str) -> str:
    import base64

    return base64.b64encode(svg.encode("utf-8")).decode("ascii")


def confusion(y, t, classes=None) -> Confusion:
    """The confusion matrix of predictions ``y`` against true labels ``t`` (N whole numbers, (N,) or (N, 1)).

    ``y`` is N labels, or N rows of scores (N, K) whose argmax along axis 1 is the prediction; Variables,
    NdArrays, numpy arrays and lists are accepted. ``classes`` names the classes (a list: label -> name); the
    matrix has as many classes as the scores have columns, the labels reach, or ``classes`` names."""
    where, use = "nnabla_nb.confusion", errors.usage(confusion)
    arrays = []
    for name, v in (("y", y), ("t", t)):
        a = np.asarray(v) if isinstance(v, (list, tuple)) else _array(v)
        if a is None or a.dtype.kind not in "iufb":
            errors.fail(where, f"{name} must be a Variable, NdArray, numpy array or list of numbers, got "
                        f"{errors.describe(v)}", use, True)  # fmt: skip
        arrays.append(a)
    ya, ta = arrays
    n = len(ta) if ta.ndim else 0
    labels_t = _as_labels(ta, n) if n else None
    if labels_t is None:
        errors.fail(where, f"t must be N whole-number labels ((N,) or (N, 1)), got shape {shape(ta.shape)}", use)
    if ya.ndim == 2 and ya.shape[1] > 1:
        pred, width = np.argmax(ya, axis=1).astype(np.int64), ya.shape[1]
    else:
        pred, width = _as_labels(ya, ya.size) if ya.ndim in (1, 2) else None, 0
    if pred is None or len(pred) != n:
        errors.fail(
            where,
            f"y must be {n} labels or ({n}, K) scores for t of shape {shape(ta.shape)}, got shape {shape(ya.shape)}",
            use,
        )
    if labels_t.min() < 0 or pred.min() < 0:
        errors.fail(where, f"labels must be >= 0, got {min(int(labels_t.min()), int(pred.min()))}", use)
    names = _check_classes(where, classes, use)
    k = max(width, int(labels_t.max()) + 1, int(pred.max()) + 1, len(names or ()))
    matrix = np.zeros((k, k), np.int64)
    np.add.at(matrix, (labels_t, pred), 1)
    return Confusion(matrix, [_class_name(i, names) for i in range(k)])
