"""The benchmark protocol (docs/protocol.md) for one table, one seed and one missingness setting.

Seeded 80/20 train/test split of the rows; the chosen mechanism masks train and test alike (with
independent streams); cells missing in the raw file count as missing and are never scored. Every
caller that compares imputers on a table (demo, tests, benchmarks) builds its data here, so all
numbers in the project come from the same masks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from vsae.data.masking import apply_mask, mar_mask, mcar_mask, minmax_scale_observed, nmar_mask
from vsae.data.uci import train_test_split_indices
from vsae.errors import VSAEError

Mechanism = Literal["mcar", "mar", "nmar"]


@dataclass(frozen=True)
class MaskedSplit:
    """Ground truth and masked versions of a train/test split.

    Attributes
    ----------
    train, test : DataFrame
        The true tables (raw missing cells still NaN).
    train_masked, test_masked : DataFrame
        The tables an imputer sees: masked cells set to NaN.
    scored : ndarray of bool
        Test cells to score: masked by the mechanism and present in the raw file.
    """

    train: pd.DataFrame
    test: pd.DataFrame
    train_masked: pd.DataFrame
    test_masked: pd.DataFrame
    scored: np.ndarray

    @property
    def missing_ratio(self) -> float:
        """Realised share of missing cells in the masked test table."""
        return float(self.test_masked.isna().to_numpy().mean())


def _mask(frame: pd.DataFrame, mechanism: Mechanism, missing_rate: float, seed: int) -> np.ndarray:
    present = frame.notna().to_numpy()
    if mechanism == "mcar":
        return mcar_mask(frame.shape, missing_rate, seed) & present
    scaled = minmax_scale_observed(frame)
    if mechanism == "mar":
        return mar_mask(scaled, seed) & present
    if mechanism == "nmar":
        return nmar_mask(scaled, seed) & present
    raise VSAEError(f"unknown missingness mechanism {mechanism!r}; use 'mcar', 'mar' or 'nmar'")


def masked_split(
    frame: pd.DataFrame, seed: int, missing_rate: float = 0.5, mechanism: Mechanism = "mcar"
) -> MaskedSplit:
    """Split ``frame`` 80/20 with ``seed`` and mask both parts (``missing_rate`` is used by MCAR only;
    MAR and NMAR set their own rates, see :mod:`vsae.data.masking`)."""
    train_rows, test_rows = train_test_split_indices(len(frame), seed)
    train = frame.iloc[train_rows].reset_index(drop=True)
    test = frame.iloc[test_rows].reset_index(drop=True)
    train_observed = _mask(train, mechanism, missing_rate, 2 * seed + 1)
    test_observed = _mask(test, mechanism, missing_rate, 2 * seed + 2)
    return MaskedSplit(
        train=train,
        test=test,
        train_masked=apply_mask(train, train_observed),
        test_masked=apply_mask(test, test_observed),
        scored=~test_observed & test.notna().to_numpy(),
    )
