"""Image datasets and the multimodal benchmarks built from them (docs/protocol.md, paper App. C).

All images are returned as float32 arrays flattened to ``[n, pixels]`` with pixels in [0, 1]; labels
are int64. Nothing is downloaded: files are read from the data folder (``$VSAE_DATA`` by default).

Multimodal benchmarks
---------------------
MNIST+MNIST (:func:`load_mnist_pairs`)
    Digit pairs {0,9}, {1,8}, {2,7}, {3,6}, {4,5}. For each pair, the images of the two digits are
    shuffled (seeded) and matched one to one, so no image is used twice and the pair count is the
    smaller of the two class counts. Modality ``"digit"`` holds the digit from {0..4}, ``"partner"`` its
    partner from {5..9}. MNIST's training set gives 29071 pairs, split 80/20 into 23257 train / 5814
    validation; MNIST's test set gives 4832 test pairs: the paper's sizes exactly.
MNIST+SVHN (:func:`load_mnist_svhn_pairs`)
    The paper (App. C.3.1) pairs "one digit in MNIST with the random same digit in SVHN" and says
    "all original data points are only used once". vsae does the same per class: for each digit 0..9
    the MNIST and SVHN images of that digit are shuffled (seeded) and matched one to one, the count
    being the smaller class count. With the official files this gives 56068 training pairs (80/20 →
    44854 train / 11214 validation) and 10000 test pairs (every MNIST test image), the paper's sizes.
Image+text (:func:`load_image_text`)
    Modality ``"image"`` and modality ``"text"``, the one-hot label ``[n, 10]``.

Validation splits take ``n_val = floor(0.2 * n + 0.5)`` of the shuffled training pairs (round half up,
which reproduces both papers' validation sizes).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vsae.data.masking import as_rng
from vsae.data.paths import data_dir as resolve_data_dir
from vsae.data.paths import require_file
from vsae.errors import VSAEError

#: Image datasets stored as ``images/<name>.npz`` with ``x_train``, ``y_train``, ``x_test``, ``y_test``.
IMAGE_DATASETS: tuple[str, ...] = ("mnist", "fashion_mnist")

#: The digit pairs of MNIST+MNIST (docs/protocol.md, paper App. C.2.1).
MNIST_DIGIT_PAIRS: tuple[tuple[int, int], ...] = ((0, 9), (1, 8), (2, 7), (3, 6), (4, 5))

PathLike = str | os.PathLike[str]


@dataclass(frozen=True, eq=False)
class ImageDataset:
    """An image dataset's official train and test sets.

    Attributes
    ----------
    name : str
    x_train, x_test : ndarray of float32, shape (n, prod(image_shape))
        Flattened images, pixels in [0, 1].
    y_train, y_test : ndarray of int64, shape (n,)
        Class labels 0..9.
    image_shape : tuple of int
        Shape of one image before flattening: ``(28, 28)`` for MNIST, ``(3, 32, 32)`` (channels first)
        for SVHN.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    image_shape: tuple[int, ...]


@dataclass(frozen=True, eq=False)
class MultimodalSplit:
    """One split of a multimodal dataset: aligned arrays keyed by modality name.

    Attributes
    ----------
    modalities : dict of str to ndarray
        Modality name → float32 array ``[n, width]``; row ``i`` of every modality is the same sample.
    labels : dict of str to ndarray
        Modality name → int64 class label ``[n]`` of that modality's content (for MNIST+MNIST the two
        labels are partners; for image+text they are equal).
    """

    modalities: dict[str, np.ndarray]
    labels: dict[str, np.ndarray]

    def __post_init__(self) -> None:
        if not self.modalities:
            raise VSAEError("a multimodal split needs at least one modality")
        sizes = {name: len(a) for name, a in {**self.modalities, **self.labels}.items()}
        if len(set(sizes.values())) != 1:
            raise VSAEError(f"modalities and labels of a split must have the same length, got {sizes}")
        if set(self.labels) - set(self.modalities):
            raise VSAEError("labels given for unknown modalities")

    def __len__(self) -> int:
        return len(next(iter(self.modalities.values())))

    @property
    def names(self) -> list[str]:
        """Modality names, in order."""
        return list(self.modalities)


@dataclass(frozen=True, eq=False)
class Splits:
    """Train, validation and test splits of a multimodal dataset."""

    train: MultimodalSplit
    val: MultimodalSplit
    test: MultimodalSplit


def _to_unit_float(images: np.ndarray) -> np.ndarray:
    """uint8 images → float32 flattened [n, pixels] in [0, 1]."""
    images = np.asarray(images)
    flat = images.reshape(len(images), -1)
    if images.dtype == np.uint8:
        return flat.astype(np.float32) / np.float32(255.0)
    flat = flat.astype(np.float32)
    if flat.size and (flat.min() < 0 or flat.max() > 1):
        raise VSAEError("non-uint8 images must already lie in [0, 1]")
    return flat


def load_image_dataset(name: str, data_dir: PathLike | None = None) -> ImageDataset:
    """Load MNIST or Fashion-MNIST from ``<data_dir>/images/<name>.npz``.

    Parameters
    ----------
    name : {"mnist", "fashion_mnist"}
    data_dir : str or path-like, optional
        Data folder; defaults to ``$VSAE_DATA``.

    Returns
    -------
    ImageDataset
        ``x_*`` float32 ``[n, 784]`` in [0, 1], ``y_*`` int64; 60000 train and 10000 test images.
    """
    if name not in IMAGE_DATASETS:
        raise VSAEError(f"unknown image dataset {name!r}; valid names: {', '.join(IMAGE_DATASETS)}")
    path = require_file(resolve_data_dir(data_dir) / "images" / f"{name}.npz")
    with np.load(path) as archive:
        missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in archive.files]
        if missing:
            raise VSAEError(f"{path} lacks the arrays {missing}")
        x_train, y_train = archive["x_train"], archive["y_train"]
        x_test, y_test = archive["x_test"], archive["y_test"]
    shape = tuple(int(s) for s in x_train.shape[1:])
    return ImageDataset(
        name=name,
        x_train=_to_unit_float(x_train),
        y_train=np.asarray(y_train, dtype=np.int64).reshape(-1),
        x_test=_to_unit_float(x_test),
        y_test=np.asarray(y_test, dtype=np.int64).reshape(-1),
        image_shape=shape,
    )


def _svhn_file(folder: Path, file_name: str) -> Path:
    """``<folder>/svhn/<file>`` if present, else ``<folder>/<file>``; error names the first."""
    preferred = folder / "svhn" / file_name
    if preferred.is_file():
        return preferred
    if (folder / file_name).is_file():
        return folder / file_name
    return require_file(preferred)


def _read_svhn_mat(path: Path) -> tuple[np.ndarray, np.ndarray]:
    from scipy.io import loadmat

    try:
        content = loadmat(path)
    except (ValueError, OSError, NotImplementedError) as exc:
        raise VSAEError(f"cannot read {path} as a MATLAB file: {exc}") from exc
    if "X" not in content or "y" not in content:
        raise VSAEError(f"{path} lacks the 'X' and 'y' arrays of SVHN's format 2")
    x, y = np.asarray(content["X"]), np.asarray(content["y"]).reshape(-1)
    if x.ndim != 4 or x.shape[:3] != (32, 32, 3) or x.shape[3] != len(y):
        raise VSAEError(
            f"{path}: X should be [32, 32, 3, N] with N = len(y), got {x.shape} and {len(y)} labels"
        )
    labels = y.astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() > 10):
        raise VSAEError(f"{path}: labels should lie in 0..10, got {labels.min()}..{labels.max()}")
    labels[labels == 10] = 0
    # [32, 32, 3, N] → [N, 3, 32, 32] (channels first, as torch expects), then flattened.
    images = np.ascontiguousarray(np.transpose(x, (3, 2, 0, 1)))
    return _to_unit_float(images), labels


def load_svhn(data_dir: PathLike | None = None) -> ImageDataset:
    """Load SVHN (cropped digits, "format 2") from the user's ``train_32x32.mat`` / ``test_32x32.mat``.

    The files are looked up in ``<data_dir>/svhn/`` first, then in ``<data_dir>/``. They are not part of
    the shared data folder; get them from http://ufldl.stanford.edu/housenumbers/.

    Parameters
    ----------
    data_dir : str or path-like, optional
        Data folder; defaults to ``$VSAE_DATA``.

    Returns
    -------
    ImageDataset
        ``x_*`` float32 ``[N, 3072]`` in [0, 1], flattened channels first (``x.reshape(-1, 3, 32, 32)``
        gives torch's layout); ``y_*`` int64 in 0..9 (SVHN's label 10 is the digit 0).
    """
    folder = resolve_data_dir(data_dir)
    train_path = _svhn_file(folder, "train_32x32.mat")
    test_path = _svhn_file(folder, "test_32x32.mat")
    x_train, y_train = _read_svhn_mat(train_path)
    x_test, y_test = _read_svhn_mat(test_path)
    return ImageDataset("svhn", x_train, y_train, x_test, y_test, image_shape=(3, 32, 32))


def _n_val(n: int, val_fraction: float) -> int:
    if not 0.0 < val_fraction < 1.0:
        raise VSAEError(f"val_fraction must be in (0, 1), got {val_fraction}")
    return int(np.floor(n * val_fraction + 0.5))


def _pair_by_class(
    labels_a: np.ndarray,
    labels_b: np.ndarray,
    class_pairs: Sequence[tuple[int, int]],
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Match images of class ``a`` (first source) one to one with images of class ``b`` (second source).

    For each ``(a, b)`` both index lists are shuffled and truncated to the shorter one; the pairs of all
    classes are then shuffled together. Returns aligned index arrays into the two sources.
    """
    first, second = [], []
    for class_a, class_b in class_pairs:
        idx_a = rng.permutation(np.flatnonzero(labels_a == class_a))
        idx_b = rng.permutation(np.flatnonzero(labels_b == class_b))
        n = min(len(idx_a), len(idx_b))
        first.append(idx_a[:n])
        second.append(idx_b[:n])
    idx_first, idx_second = np.concatenate(first), np.concatenate(second)
    order = rng.permutation(len(idx_first))
    return idx_first[order], idx_second[order]


def _paired_split(
    names: tuple[str, str],
    sources: tuple[np.ndarray, np.ndarray],
    labels: tuple[np.ndarray, np.ndarray],
    index: tuple[np.ndarray, np.ndarray],
) -> MultimodalSplit:
    return MultimodalSplit(
        modalities={names[k]: sources[k][index[k]] for k in range(2)},
        labels={names[k]: labels[k][index[k]] for k in range(2)},
    )


def _subset(split: MultimodalSplit, rows: np.ndarray) -> MultimodalSplit:
    return MultimodalSplit(
        modalities={k: v[rows] for k, v in split.modalities.items()},
        labels={k: v[rows] for k, v in split.labels.items()},
    )


def _train_val(
    split: MultimodalSplit, val_fraction: float, rng: np.random.Generator
) -> tuple[MultimodalSplit, MultimodalSplit]:
    order = rng.permutation(len(split))
    n_val = _n_val(len(split), val_fraction)
    return _subset(split, np.sort(order[n_val:])), _subset(split, np.sort(order[:n_val]))


def _streams(seed: int | np.random.Generator, n: int) -> list[np.random.Generator]:
    """Independent generators for the successive random steps of a loader."""
    rng = as_rng(seed)  # validates the seed
    if isinstance(seed, np.random.Generator):
        return [np.random.default_rng(int(s)) for s in rng.integers(0, 2**63 - 1, size=n)]
    return [np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(n)]


def load_mnist_pairs(
    data_dir: PathLike | None = None, seed: int | np.random.Generator = 0, val_fraction: float = 0.2
) -> Splits:
    """MNIST+MNIST bimodal dataset: a digit from {0..4} paired with an image of its partner digit.

    See the module docstring for the pairing. Modalities ``"digit"`` and ``"partner"``, float32
    ``[n, 784]`` each; sizes 23257 / 5814 / 4832 (train / val / test) for any seed.

    Parameters
    ----------
    data_dir : str or path-like, optional
        Data folder; defaults to ``$VSAE_DATA``.
    seed : int or numpy.random.Generator, default 0
        Seeds the pairing (train and test) and the train/validation split.
    val_fraction : float, default 0.2
        Share of the training pairs held out for validation.

    Returns
    -------
    Splits
    """
    mnist = load_image_dataset("mnist", data_dir)
    rng_train, rng_test, rng_split = _streams(seed, 3)
    names = ("digit", "partner")
    train_idx = _pair_by_class(mnist.y_train, mnist.y_train, MNIST_DIGIT_PAIRS, rng_train)
    test_idx = _pair_by_class(mnist.y_test, mnist.y_test, MNIST_DIGIT_PAIRS, rng_test)
    full = _paired_split(names, (mnist.x_train, mnist.x_train), (mnist.y_train, mnist.y_train), train_idx)
    test = _paired_split(names, (mnist.x_test, mnist.x_test), (mnist.y_test, mnist.y_test), test_idx)
    train, val = _train_val(full, val_fraction, rng_split)
    return Splits(train=train, val=val, test=test)


def load_mnist_svhn_pairs(
    data_dir: PathLike | None = None,
    seed: int | np.random.Generator = 0,
    val_fraction: float = 0.2,
    svhn_dir: PathLike | None = None,
) -> Splits:
    """MNIST+SVHN bimodal dataset: an MNIST digit paired with an SVHN image of the same digit.

    Per digit class, MNIST and SVHN images are shuffled and matched one to one (each image used at most
    once; count = the smaller class count), train files with train files and test with test. With the
    official files: 44854 / 11214 / 10000 pairs (train / val / test), the paper's sizes (App. C.3.1).

    Parameters
    ----------
    data_dir : str or path-like, optional
        Data folder holding ``images/mnist.npz``; defaults to ``$VSAE_DATA``.
    seed : int or numpy.random.Generator, default 0
        Seeds the pairing and the train/validation split.
    val_fraction : float, default 0.2
        Share of the training pairs held out for validation.
    svhn_dir : str or path-like, optional
        Folder of the SVHN ``.mat`` files (see :func:`load_svhn`); defaults to ``data_dir``.

    Returns
    -------
    Splits
        Modalities ``"mnist"`` (float32 ``[n, 784]``) and ``"svhn"`` (float32 ``[n, 3072]``).
    """
    mnist = load_image_dataset("mnist", data_dir)
    svhn = load_svhn(svhn_dir if svhn_dir is not None else data_dir)
    rng_train, rng_test, rng_split = _streams(seed, 3)
    same_digit = tuple((d, d) for d in range(10))
    names = ("mnist", "svhn")
    train_idx = _pair_by_class(mnist.y_train, svhn.y_train, same_digit, rng_train)
    test_idx = _pair_by_class(mnist.y_test, svhn.y_test, same_digit, rng_test)
    full = _paired_split(names, (mnist.x_train, svhn.x_train), (mnist.y_train, svhn.y_train), train_idx)
    test = _paired_split(names, (mnist.x_test, svhn.x_test), (mnist.y_test, svhn.y_test), test_idx)
    train, val = _train_val(full, val_fraction, rng_split)
    return Splits(train=train, val=val, test=test)


def load_image_text(
    name: str,
    data_dir: PathLike | None = None,
    seed: int | np.random.Generator = 0,
    val_fraction: float = 0.2,
) -> Splits:
    """Image+text bimodal dataset: an image and its label as a one-hot "text" modality.

    Parameters
    ----------
    name : {"mnist", "fashion_mnist"}
    data_dir : str or path-like, optional
        Data folder; defaults to ``$VSAE_DATA``.
    seed : int or numpy.random.Generator, default 0
        Seeds the train/validation split of the official training set (48000 / 12000); the test split
        is the official test set (10000), in file order.
    val_fraction : float, default 0.2

    Returns
    -------
    Splits
        Modalities ``"image"`` (float32 ``[n, 784]``) and ``"text"`` (float32 one-hot ``[n, 10]``).
    """
    data = load_image_dataset(name, data_dir)
    (rng_split,) = _streams(seed, 1)

    def split(x: np.ndarray, y: np.ndarray) -> MultimodalSplit:
        if y.size and (y.min() < 0 or y.max() > 9):
            raise VSAEError(f"{name}: labels should lie in 0..9")
        one_hot = np.eye(10, dtype=np.float32)[y]
        return MultimodalSplit(modalities={"image": x, "text": one_hot}, labels={"image": y, "text": y})

    train, val = _train_val(split(data.x_train, data.y_train), val_fraction, rng_split)
    return Splits(train=train, val=val, test=split(data.x_test, data.y_test))
