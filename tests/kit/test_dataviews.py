"""Data views: image grids (show_images, data iterators, (images, labels) pairs) and the confusion matrix."""

import base64
import io
import re

import numpy as np
import pytest
from PIL import Image

import nnabla as nn
import nnabla_nb
from nnabla.utils.data_iterator import data_iterator_simple
from nnabla_nb import dataviews

EVIL = "<script>alert(1)</script>"


def _shell():
    from IPython.testing.globalipapp import get_ipython, start_ipython

    return start_ipython() or get_ipython()


@pytest.fixture(scope="module")
def ip():
    shell = _shell()
    shell.display_formatter.active_types = ["text/plain", "text/html"]
    shell.run_cell("%load_ext nnabla_nb")
    yield shell
    shell.run_cell("%unload_ext nnabla_nb")


def fmt(ip, obj):
    return ip.display_formatter.format(obj)[0]


def _pngs(html: str) -> list:
    """The images of a grid, decoded, in order."""
    uris = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    return [np.asarray(Image.open(io.BytesIO(base64.b64decode(u))).convert("RGB")) for u in uris]


def _svg(html: str) -> str:
    return base64.b64decode(re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', html).group(1)).decode()


# (shape, looks like images)
SHAPES = [
    ((8, 1, 28, 28), True),
    ((8, 3, 32, 32), True),
    ((8, 28, 28), True),
    ((8, 2, 28, 28), False),  # two channels: not a picture
    ((8, 1, 2, 28), False),  # too thin
    ((8, 784), False),
    ((28, 28), False),
]


@pytest.mark.parametrize("s, expected", SHAPES)
def test_image_shape_rule(s, expected):
    assert dataviews.looks_like_images(s) is expected


def test_grid_pixels_labels_and_text():
    x = np.zeros((3, 1, 5, 6), np.float32)
    x[0, 0, 0, 0], x[2, 0, 4, 5] = -1.0, 3.0  # the batch's range maps to black .. white
    grid = nnabla_nb.show_images(
        nn.Variable.from_numpy_array(x), labels=np.array([[1], [0], [1]]), classes=["cat", EVIL]
    )
    html = grid.html()
    pics = _pngs(html)
    assert [p.shape for p in pics] == [(5, 6, 3)] * 3
    assert pics[0][0, 0].tolist() == [0, 0, 0] and pics[2][4, 5].tolist() == [255, 255, 255]
    assert pics[1][0, 0].tolist() == [64, 64, 64]  # 0 in -1 .. 3
    assert "<script" not in html and html.count("&lt;script&gt;") >= 2 and ">cat</div>" in html
    assert "black -1 .. white 3" in html
    assert html == nnabla_nb.show_images(x, [1, 0, 1], ["cat", EVIL]).html()  # deterministic
    assert repr(grid) == f"images: (3, 1, 5, 6) float32, values -1 .. 3\n  labels: cat: 1, {EVIL}: 2"


def test_grid_rgb_uint8_and_limit():
    x = np.zeros((70, 3, 4, 4), np.uint8)
    x[0, 0], x[0, 2] = 200, 7  # red 200, blue 7: channels in order, uint8 unscaled
    html = nnabla_nb.show_images(nn.NdArray.from_numpy_array(x)).html()
    pics = _pngs(html)
    assert len(pics) == dataviews.MAX_IMAGES and pics[0][0, 0].tolist() == [200, 0, 7]
    assert f"first {dataviews.MAX_IMAGES} of 70 shown" in html and "uint8 shown as is" in html


def test_iterator_display_does_not_move_it(ip):
    rng = np.random.RandomState(0)
    x, t = rng.rand(10, 1, 6, 6).astype(np.float32), (np.arange(10) % 3).reshape(10, 1)
    for use_thread in (True, False):
        it = data_iterator_simple(lambda i: (x[i], t[i]), 10, 4, shuffle=True, use_thread=use_thread)
        twin = data_iterator_simple(lambda i: (x[i], t[i]), 10, 4, shuffle=True, use_thread=use_thread)
        it.next(), twin.next()
        before = (it.position, it.epoch)
        d = fmt(ip, it)
        assert (it.position, it.epoch) == before
        shown = _pngs(d["text/html"])
        batch = it.next()
        assert all(np.array_equal(a, b) for a, b in zip(batch, twin.next()))  # the same stream as untouched
        assert len(shown) == 4 and np.array_equal(shown, _pngs(nnabla_nb.show_images(batch[0]).html()))
        assert d["text/plain"].startswith("DataIterator: 10 examples, batch size 4, epoch 0")
        assert "labels: " in d["text/plain"]


def test_pair_shows_as_grid_other_tuples_as_before(ip):
    x, t = np.zeros((2, 1, 8, 8), np.float32), np.array([[3], [1]])
    d = fmt(ip, (x, t))
    assert len(_pngs(d["text/html"])) == 2 and d["text/plain"].startswith("(images, labels): (2, 1, 8, 8) float32")
    for other in ((1, 2), (x, "a"), (x, np.array([0.5, 1.0])), (np.zeros((2, 3)), t)):
        d = fmt(ip, other)
        assert "text/html" not in d
    assert fmt(ip, (1, 2))["text/plain"] == "(1, 2)"
    d = fmt(ip, nn.Variable.from_numpy_array(x))  # a Variable keeps its own display
    assert d["text/plain"].startswith("Variable(2, 1, 8, 8)")


# -- confusion --------------------------------------------------------------------------------------------
def test_confusion_counts_against_a_loop():
    rng = np.random.RandomState(3)
    scores, t = rng.rand(50, 4), rng.randint(0, 4, size=(50, 1))
    c = nnabla_nb.confusion(nn.Variable.from_numpy_array(scores), t)
    expected = np.zeros((4, 4), int)
    for row, label in zip(scores, t[:, 0]):
        expected[label, int(np.argmax(row))] += 1
    assert np.array_equal(c.matrix, expected)
    assert c.accuracy == pytest.approx(np.trace(expected) / 50)
    assert c.per_class()[2] == ("2", expected[2].sum(), expected[2, 2], expected[2, 2] / expected[2].sum())
    labels = nnabla_nb.confusion(np.argmax(scores, axis=1), t[:, 0].tolist())
    assert np.array_equal(labels.matrix, expected)


def test_confusion_classes_escaped_and_text():
    c = nnabla_nb.confusion([0, 1, 1, 2], [0, 1, 2, 2], classes=["a", EVIL, "c", "unseen"])
    assert c.matrix.shape == (4, 4) and c.per_class()[3][1] == 0
    html = c.html()
    svg = _svg(html)
    assert "<script" not in html and "<script" not in svg and "&lt;script&gt;" in svg
    assert svg.startswith("<svg") and ">1</text>" in svg and html == c.html()
    assert "0.75" in html  # overall accuracy
    text = repr(c)
    assert text.startswith("confusion: 4 examples, accuracy 0.75") and "c: 1/2 right (0.5)" in text
    assert "unseen: 0/0 right (nan)" in text
