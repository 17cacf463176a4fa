"""``nnabla.ext_utils``: contexts by extension name ('cpu', 'cuda', 'cudnn')."""

from __future__ import annotations

import importlib

from .logger import logger


def list_extensions() -> list:
    """Names of the extension modules under ``nnabla_ext``."""
    return ["cpu", "cuda", "cudnn"]


def import_extension_module(ext_name: str):
    """``nnabla_ext.<ext_name>``; an unknown name logs an error and raises ImportError, as NNabla does."""
    try:
        return importlib.import_module("." + ext_name, "nnabla_ext")
    except ImportError as e:
        logger.error(f"Extension `{ext_name}` does not exist.")
        raise ImportError(f"Extension {ext_name!r} does not exist (known: {', '.join(list_extensions())})") from e


def get_extension_context(ext_name: str, **kw):
    """The context of extension ``ext_name``, e.g. ``get_extension_context('cudnn', device_id='0')``."""
    if ext_name == "cuda.cudnn":
        logger.warning('Deprecated extension name "cuda.cudnn" passed. Use "cudnn" instead.')
        ext_name = "cudnn"
    return import_extension_module(ext_name).context(**kw)
