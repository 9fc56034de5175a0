"""Loaders for the six UCI tables of the benchmark, typed by the data folder's ``manifest.json``."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from vsae.data.masking import as_rng
from vsae.data.paths import data_dir as resolve_data_dir
from vsae.data.paths import require_file
from vsae.errors import VSAEError

#: The UCI datasets of the benchmark (docs/protocol.md): three numerical, three categorical.
UCI_DATASETS: tuple[str, ...] = ("yeast", "white_wine", "glass", "zoo", "mushroom", "phishing")

#: Cell contents read as missing: empty cells and UCI's ``?``. Nothing else (``"NA"``, ``"n"``, ...).
_MISSING_TOKENS = ["", "?"]


@dataclass(frozen=True, eq=False)
class UCITable:
    """One UCI table, typed.

    Attributes
    ----------
    name : str
        Dataset name (a key of the manifest).
    frame : DataFrame
        The table. Numerical columns are ``float64``; categorical columns are pandas ``category`` dtype
        whose categories are the file's own values (integers such as 0/1 for zoo or -1/0/1 for
        phishing, strings such as mushroom's letters), sorted. Cells missing in the file are NaN.
    numerical : list of str
        Numerical columns of ``frame``, in column order.
    categorical : list of str
        Categorical columns of ``frame``, in column order.
    target : str
        The manifest's target column (absent from ``frame`` when the target was dropped).
    """

    name: str
    frame: pd.DataFrame
    numerical: list[str]
    categorical: list[str]
    target: str


def load_manifest(data_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Read the data folder's ``manifest.json``.

    Parameters
    ----------
    data_dir : str or path-like, optional
        Data folder; defaults to ``$VSAE_DATA`` (see :func:`vsae.data.data_dir`).

    Returns
    -------
    dict
        Dataset name → entry (``file``, ``rows``, ``columns`` {name: "numerical" | "categorical"},
        ``target``, ``source``, ...).
    """
    path = require_file(resolve_data_dir(data_dir) / "manifest.json")
    try:
        with path.open(encoding="utf-8") as handle:
            manifest = json.load(handle)
    except json.JSONDecodeError as exc:
        raise VSAEError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(manifest, dict):
        raise VSAEError(f"{path} should hold a JSON object keyed by dataset name")
    return manifest


def load_uci(name: str, data_dir: str | os.PathLike[str] | None = None, drop_target: bool = True) -> UCITable:
    """Load one UCI table with the column types of the manifest.

    Parameters
    ----------
    name : str
        One of :data:`UCI_DATASETS`.
    data_dir : str or path-like, optional
        Data folder; defaults to ``$VSAE_DATA``.
    drop_target : bool, default True
        Drop the manifest's target column, as the benchmark protocol does (docs/protocol.md). When kept, the
        target appears in ``numerical`` or ``categorical`` according to its manifest type.

    Returns
    -------
    UCITable

    Raises
    ------
    VSAEError
        Unknown dataset name (the message lists the valid ones), missing file or folder, or a file whose
        columns, row count or values disagree with the manifest.
    """
    if name not in UCI_DATASETS:
        raise VSAEError(f"unknown UCI dataset {name!r}; valid names: {', '.join(UCI_DATASETS)}")
    folder = resolve_data_dir(data_dir)
    manifest = load_manifest(folder)
    if name not in manifest:
        raise VSAEError(f"dataset {name!r} is not listed in {folder / 'manifest.json'}")
    entry = manifest[name]
    lacking = [key for key in ("file", "columns", "target") if key not in entry]
    if lacking:
        raise VSAEError(f"manifest entry {name!r} lacks {', '.join(lacking)}")
    types: dict[str, str] = dict(entry["columns"])
    target: str = entry["target"]
    path = require_file(folder / entry["file"])

    raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=_MISSING_TOKENS)
    missing_cols = [c for c in types if c not in raw.columns]
    extra_cols = [c for c in raw.columns if c not in types]
    if missing_cols or extra_cols:
        raise VSAEError(
            f"{path}: columns disagree with the manifest (missing: {missing_cols}, unexpected: {extra_cols})"
        )
    if "rows" in entry and len(raw) != int(entry["rows"]):
        raise VSAEError(f"{path}: {len(raw)} rows, the manifest says {entry['rows']}")

    columns: dict[str, pd.Series] = {}
    for column, kind in types.items():
        if drop_target and column == target:
            continue
        if kind == "numerical":
            columns[column] = _numerical(raw[column], path.name)
        elif kind == "categorical":
            columns[column] = _categorical(raw[column])
        else:
            raise VSAEError(f"manifest: column {column!r} of {name!r} has unknown type {kind!r}")
    frame = pd.DataFrame(columns, index=pd.RangeIndex(len(raw)))
    return UCITable(
        name=name,
        frame=frame,
        numerical=[c for c in frame.columns if types[c] == "numerical"],
        categorical=[c for c in frame.columns if types[c] == "categorical"],
        target=target,
    )


def _numerical(column: pd.Series, file_name: str) -> pd.Series:
    """A numerical column as float64, NaN where missing."""
    try:
        return pd.to_numeric(column, errors="raise").astype("float64")
    except (ValueError, TypeError) as exc:
        raise VSAEError(f"{file_name}: column {column.name!r} is numerical but holds {exc}") from exc


def _categorical(column: pd.Series) -> pd.Series:
    """A categorical column with the file's own values as categories.

    Values that all parse as integers (zoo's 0/1 and legs, phishing's -1/0/1) become integer categories;
    anything else stays as the file's strings. Categories are sorted.
    """
    present = column.dropna()
    try:
        numbers = pd.to_numeric(present, errors="raise").to_numpy(dtype=np.float64)
    except (ValueError, TypeError):
        numbers = None
    if numbers is not None and numbers.size and np.all(np.mod(numbers, 1) == 0):
        integers = numbers.astype(np.int64)
        categories = pd.Index(np.unique(integers), dtype="int64")
        codes = np.full(len(column), -1, dtype=np.int64)
        codes[column.notna().to_numpy()] = categories.get_indexer(integers)
        return pd.Series(pd.Categorical.from_codes(codes, categories), name=column.name, index=column.index)
    categories = pd.Index(sorted(present.unique()))
    return pd.Series(pd.Categorical(column, categories=categories), name=column.name, index=column.index)


def train_test_split_indices(
    n_rows: int, seed: int | np.random.Generator, test_fraction: float = 0.2
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded train/test split of row indices (the protocol's 80/20 split, docs/protocol.md).

    Rows are permuted with ``numpy.random.default_rng(seed)``; the first ``n_test`` permuted rows form
    the test set, where ``n_test = floor(n_rows * test_fraction + 0.5)`` (round half up: 1484 yeast
    rows give 297 test rows). Both index arrays are returned sorted. The validation split is done inside
    a model's ``fit``, not here.

    Parameters
    ----------
    n_rows : int
        Number of rows of the table.
    seed : int or numpy.random.Generator
        Seed of the permutation.
    test_fraction : float, default 0.2
        Share of rows in the test set, in (0, 1).

    Returns
    -------
    train_idx, test_idx : ndarray of int64
        Disjoint sorted indices covering ``range(n_rows)``.
    """
    if not 0.0 < test_fraction < 1.0:
        raise VSAEError(f"test_fraction must be in (0, 1), got {test_fraction}")
    n_rows = int(n_rows)
    n_test = int(np.floor(n_rows * test_fraction + 0.5))
    if n_test < 1 or n_test >= n_rows:
        raise VSAEError(
            f"cannot split {n_rows} rows with test_fraction={test_fraction}: a side would be empty"
        )
    permutation = as_rng(seed).permutation(n_rows)
    return np.sort(permutation[n_test:]).astype(np.int64), np.sort(permutation[:n_test]).astype(np.int64)
