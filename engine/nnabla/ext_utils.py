"""``nnabla.ext_utils``: contexts by extension name ('cpu', 'cuda', 'cudnn')."""

from __future__ import annotations

import importlib


def list_extensions() -> list:
    return ["cpu", "cuda", "cudnn"]


def import_extension_module(ext_name: str):
    """``nnabla_ext.<ext_name>``, or a clear error naming the known extensions."""
    if ext_name not in list_extensions():
        raise ValueError(f"get_extension_context: unknown extension {ext_name!r} (known: {list_extensions()})")
    return importlib.import_module(f"nnabla_ext.{ext_name}")


def get_extension_context(ext_name: str, **kw):
    """The context of extension ``ext_name``, e.g. ``get_extension_context('cudnn', device_id='0')``."""
    return import_extension_module(ext_name).context(**kw)
