"""``nnabla.utils.download``: files fetched once into NNabla's data home and read from there afterwards.

The data home is ``~/nnabla_data`` (``os.path.expanduser``, so ``$HOME/nnabla_data``; ``./nnabla_data`` when the
home folder is ``/``), created when first asked for. A file already there is used as it is, with no network
access: place a dataset's files there and NNabla's examples run offline.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request

from nnabla.logger import logger


def get_data_home() -> str:
    """The folder downloaded files are kept in (created if missing)."""
    home = os.path.expanduser("~/nnabla_data")
    if home == "/nnabla_data":
        home = "./nnabla_data"
    os.makedirs(home, exist_ok=True)
    return home


def _progress(total: int, name: str):
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=name, unit="B", unit_scale=True, unit_divisor=1024)


def download(url: str, output_file=None, open_file: bool = True, allow_overwrite: bool = False):
    """Download ``url`` to ``output_file`` (default: the data home, under the URL's last path part).

    An existing file is kept unless ``allow_overwrite``. Returns the file opened for binary reading when
    ``open_file``, else None. When the file is missing and the URL cannot be read, the error names both.
    """
    filename = url.split("/")[-1]
    cache = os.path.join(get_data_home(), filename) if output_file is None else output_file
    if os.path.exists(cache) and not allow_overwrite:
        logger.info("> {} already exists.".format(cache))
        logger.info("> If you have any issue when using this file, ")
        logger.info("> manually remove the file and try download again.")
    else:
        try:
            response = urllib.request.urlopen(url)
        except (urllib.error.URLError, OSError) as error:
            raise OSError(
                "download: could not fetch {} ({}); place the file at {} to use it without network access".format(
                    url, getattr(error, "reason", error), os.path.abspath(cache))
            ) from error  # fmt: skip
        try:
            total = int(response.headers.get("Content-Length") or 0)
            bar = _progress(total, filename)
            chunks = []
            while True:
                chunk = response.read(1000000)
                if bar is not None:
                    bar.update(len(chunk))
                if not chunk:
                    break
                chunks.append(chunk)
            if bar is not None:
                bar.close()
        finally:
            response.close()
        tmp = cache + ".part"
        with open(tmp, "wb") as f:
            f.write(b"".join(chunks))
        os.replace(tmp, cache)
    if not open_file:
        return None
    return open(cache, "rb")
