"""Where the benchmark data lives, and clear errors when it is not there.

The loaders in :mod:`vsae.data` read local files only; they never download anything. The data folder is
given explicitly or through the ``VSAE_DATA`` environment variable (CI sets it to ``../shared/data``).
"""

from __future__ import annotations

import os
from pathlib import Path

from vsae.errors import VSAEError

#: Environment variable naming the data folder when no folder is passed explicitly.
DATA_ENV_VAR = "VSAE_DATA"

_UCI_URL = "https://archive.ics.uci.edu/"
_MNIST_URL = "http://yann.lecun.com/exdb/mnist/ (or keras.datasets.mnist, saved with numpy.savez)"
_FASHION_URL = (
    "https://github.com/zalandoresearch/fashion-mnist "
    "(or keras.datasets.fashion_mnist, saved with numpy.savez)"
)
_SVHN_URL = (
    "http://ufldl.stanford.edu/housenumbers/ (the 'Format 2' cropped digits: train_32x32.mat, test_32x32.mat)"
)

#: Where to obtain each known file, keyed by file name.
_SOURCES: dict[str, str] = {
    "manifest.json": "the project's shared data folder (see data/README.md)",
    "yeast.csv": f"UCI Yeast (id 110), {_UCI_URL}",
    "white_wine.csv": f"UCI Wine Quality, white subset (id 186), {_UCI_URL}",
    "glass.csv": f"UCI Glass Identification (id 42), {_UCI_URL}",
    "zoo.csv": f"UCI Zoo (id 111), {_UCI_URL}",
    "mushroom.csv": f"UCI Mushroom (id 73), {_UCI_URL}",
    "phishing.csv": f"UCI Phishing Websites (id 327), {_UCI_URL}",
    "mnist.npz": f"MNIST, {_MNIST_URL}",
    "fashion_mnist.npz": f"Fashion-MNIST, {_FASHION_URL}",
    "train_32x32.mat": f"SVHN, {_SVHN_URL}",
    "test_32x32.mat": f"SVHN, {_SVHN_URL}",
}


def data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Resolve the folder holding the benchmark data.

    Parameters
    ----------
    data_dir : str or path-like, optional
        Folder to use. When omitted, the ``VSAE_DATA`` environment variable is read.

    Returns
    -------
    Path
        The folder (``~`` expanded), checked to exist.

    Raises
    ------
    VSAEError
        If no folder is given and ``VSAE_DATA`` is unset or empty, or if the folder does not exist.
    """
    if data_dir is None:
        env = os.environ.get(DATA_ENV_VAR, "").strip()
        if not env:
            raise VSAEError(
                f"no data folder given: pass data_dir=... or set the {DATA_ENV_VAR} environment variable "
                "to the folder holding manifest.json (e.g. VSAE_DATA=../shared/data)"
            )
        path = Path(env).expanduser()
        origin = f"{DATA_ENV_VAR}={env!r}"
    else:
        path = Path(data_dir).expanduser()
        origin = f"data_dir={str(data_dir)!r}"
    if not path.is_dir():
        raise VSAEError(f"data folder {path} ({origin}) does not exist or is not a folder")
    return path


def require_file(path: str | os.PathLike[str], source: str | None = None) -> Path:
    """Check that a data file exists, and say where to get it when it does not.

    Parameters
    ----------
    path : str or path-like
        The file expected.
    source : str, optional
        Where to obtain the file. Defaults to a known source for the project's data files (looked up by
        file name), else a generic hint.

    Returns
    -------
    Path
        The same path, checked to be an existing file.

    Raises
    ------
    VSAEError
        If the file is missing; the message names the file and where to get it. Nothing is downloaded.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        hint = source or _SOURCES.get(path.name, "the dataset's original distributor")
        raise VSAEError(
            f"missing data file {path}: vsae never downloads data; obtain it from {hint} and place it there"
        )
    return path
