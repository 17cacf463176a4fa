"""``nnabla.utils.image_utils``: reading, writing and resizing images as numpy arrays, on Pillow.

Arrays are (height, width, channels) for color and (height, width) for gray, uint8 by default; ``size`` is
(width, height) everywhere, as in NNabla. NNabla picks among several backends (pil, cv2, pypng, dicom); this
engine has the Pillow one, which is NNabla's default, so 16-bit images are not read or written.
"""

from __future__ import annotations

import numpy as np

_BACKEND = "pil"


def _pil():
    from PIL import Image

    return Image


def _resample_modes():
    R = _pil().Resampling
    return {"nearest": R.NEAREST, "bilinear": R.BILINEAR, "bicubic": R.BICUBIC, "hamming": R.HAMMING,
            "box": R.BOX, "lanczos": R.LANCZOS}  # fmt: skip


def set_backend(backend: str) -> None:
    """Choose the backend; only ``'pil'`` is available here."""
    if backend not in get_available_backends():
        raise ValueError("image_utils.set_backend: {!r} is not available (available: {})".format(
            backend, get_available_backends()))  # fmt: skip


def get_backend() -> str:
    return _BACKEND


def get_available_backends() -> list:
    return [_BACKEND]


def rescale_pixel_intensity(img, input_low=0, input_high=255, output_low=0, output_high=255, output_type=None):
    """Map values in [input_low, input_high] linearly onto [output_low, output_high] (as ``output_type``)."""
    if not isinstance(img, np.ndarray):
        raise ValueError("rescale_pixel_intensity() supports only numpy.ndarray as input")
    output_type = img.dtype if output_type is None else output_type
    if input_low == output_low and output_low == output_high:
        return np.asarray(img, output_type)
    span = input_high - input_low
    if span == 0:
        normalized = img if input_low == 0 else img / input_low
    else:
        normalized = (img - input_low) / span
    return (normalized * (output_high - output_low) + output_low).astype(output_type)


def minmax_auto_scale(img, as_uint16: bool):
    """Stretch ``img`` so its minimum is 0 and its maximum 255 (65535 with ``as_uint16``)."""
    high, dtype = (65535, np.uint16) if as_uint16 else (255, np.uint8)
    return rescale_pixel_intensity(img, img.min(), img.max(), 0, high, dtype)


def imread(path, grayscale: bool = False, size=None, interpolate: str = "bilinear", channel_first: bool = False,
           as_uint16: bool = False, num_channels: int = -1, return_palette_indices: bool = False):  # fmt: skip
    """Read an image file (a path or a binary file object) as a uint8 array; ``size`` is (width, height)."""
    if as_uint16:
        raise ValueError("imread: as_uint16=True needs a 16-bit backend (cv2 or pypng); this engine reads with Pillow")
    if num_channels not in (-1, 0, 1, 3, 4):
        raise ValueError("imread: num_channels supports [-1, 0, 1, 3, 4] (got {})".format(num_channels))
    if not grayscale and num_channels in (0, 1):
        raise ValueError("imread: with grayscale=False, num_channels must be -1, 3 or 4 (got {})".format(num_channels))
    image = _pil().open(path)
    if image.mode == "I":
        raise ValueError("imread: 32-bit integer images are not supported by the Pillow backend")
    if image.mode == "P" and not return_palette_indices:
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if grayscale:
        img = np.asarray(image.convert("L"))
        if num_channels > 0:
            img = np.broadcast_to(img[..., None], img.shape + (num_channels,))
    else:
        if num_channels == 3:
            image = image.convert("RGB")
        elif num_channels == 4:
            image = image.convert("RGBA")
        img = np.asarray(image)
    img = np.asarray(img).astype(np.uint8)
    if size is not None:
        img = imresize(img, size, interpolate=interpolate)
    if channel_first and img.ndim == 3:
        img = img.transpose(2, 0, 1)
    return img


def imsave(path, img, channel_first: bool = False, as_uint16: bool = False, auto_scale: bool = True) -> None:
    """Write ``img`` (uint8, or floats in [0, 1] scaled by 255 when ``auto_scale``) to ``path``."""
    if not isinstance(img, np.ndarray):
        raise ValueError("the input img for imsave must be numpy.ndarray.")
    if img.ndim not in (2, 3):
        raise ValueError("Invalid dimension size of input image. (dims: {})".format(img.ndim))
    if img.dtype == np.uint16 or as_uint16:
        raise ValueError("imsave: 16-bit images need a 16-bit backend (cv2 or pypng); this engine writes with Pillow")
    if img.dtype != np.uint8:
        if not auto_scale:
            raise ValueError("If you want to save image with float values, 'auto_scale' must be True.")
        if np.any(img < 0) or np.any(img > 1):
            raise ValueError("Except for uint8 or uint16, all the pixel values of input must be in the range of [0, 1]")
        img = np.asarray(img, np.float32)
    if channel_first and img.ndim == 3:
        img = img.transpose(1, 2, 0)
    if img.ndim == 3 and img.shape[-1] not in (1, 2, 3, 4):
        raise ValueError("Invalid channel size of input image. (channel size: {})".format(img.shape[-1]))
    if img.dtype != np.uint8:
        img = (img * 255).astype(np.uint8)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    _pil().fromarray(img).save(path)


def _resize_plane(arr, size, resample):
    image = _pil().fromarray(arr)  # float32 planes become Pillow's "F" mode
    return np.asarray(image.resize(tuple(size), resample=resample))


def imresize(img, size, interpolate: str = "bilinear", channel_first: bool = False):
    """Resize ``img`` to ``size`` = (width, height); the result is (height, width[, channels])."""
    if not isinstance(img, np.ndarray):
        raise ValueError("the input img for imresize must be numpy.ndarray.")
    if not isinstance(size, (list, tuple)):
        raise ValueError("size must be list or tuple")
    if img.ndim not in (2, 3):
        raise ValueError("Invalid dimension size of input image. (dims: {})".format(img.ndim))
    modes = _resample_modes()
    if interpolate not in modes:
        raise ValueError("unknown interpolation type. In this backend, you can use only one of [{}]".format(
            ", ".join(modes)))  # fmt: skip
    if img.dtype not in (np.uint8, np.uint16):
        img = np.asarray(img, np.float32)
    if channel_first and img.ndim == 3:
        img = img.transpose(1, 2, 0)
    if img.ndim == 3 and np.prod(img.shape[:-1]) == 1:
        img = (img * np.ones((2, 2, 1))).astype(img.dtype)
    single_channel = img.ndim == 3 and img.shape[-1] == 1
    if single_channel:
        img = img[..., 0]
    resample = modes[interpolate]
    if img.dtype == np.uint8:
        resized = _resize_plane(img, size, resample)
    else:
        planes = np.asarray(img, np.float32)
        if planes.ndim == 3:
            resized = np.stack([_resize_plane(planes[..., i], size, resample) for i in range(planes.shape[-1])], 2)
        else:
            resized = _resize_plane(planes, size, resample)
        resized = np.asarray(resized, img.dtype)
    if single_channel:
        resized = resized[..., None]
    if channel_first and resized.ndim == 3:
        resized = resized.transpose(2, 0, 1)
    return resized
