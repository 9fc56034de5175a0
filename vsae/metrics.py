"""Imputation metrics of the benchmark, defined once (docs/protocol.md).

Tabular metrics compare an imputed table with the ground truth over the cells to *score*: a boolean
array ``scored`` of the tables' shape, True where a cell was masked in the test set **and** is present
in the raw file. They are computed on the original scale of the data.

- :func:`nrmse`: mean over numerical columns of ``RMSE / std(true column)`` (the protocol's NRMSE).
- :func:`nrmse_pooled`: missForest's NRMSE, pooled over all scored numerical cells on min-max scaled data.
- :func:`pfc`: mean over categorical columns of the proportion of falsely classified scored cells.
- :func:`modality_mse`: per-pixel MSE of one image modality over the samples where it was missing;
  :func:`combined` sums it over modalities.
- :func:`interval_coverage`: share of scored true values inside their predictive intervals;
  :func:`expected_calibration_error`: the calibration of predicted class probabilities.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from vsae.errors import VSAEError


def _check_tables(
    truth: pd.DataFrame, imputed: pd.DataFrame, scored: np.ndarray, columns: Sequence[Any]
) -> tuple[np.ndarray, list[int]]:
    """Validate the inputs of a tabular metric; return the mask and the positions of ``columns``."""
    if not isinstance(truth, pd.DataFrame) or not isinstance(imputed, pd.DataFrame):
        raise VSAEError("truth and imputed must be pandas DataFrames")
    if truth.shape != imputed.shape:
        raise VSAEError(f"truth has shape {truth.shape} but imputed has shape {imputed.shape}")
    if list(truth.columns) != list(imputed.columns):
        raise VSAEError("truth and imputed must have the same columns in the same order")
    scored = np.asarray(scored)
    if scored.dtype != np.bool_:
        raise VSAEError(f"scored must be a boolean array (True = cell to score), got dtype {scored.dtype}")
    if scored.shape != truth.shape:
        raise VSAEError(f"scored has shape {scored.shape} but the tables have shape {truth.shape}")
    positions = []
    for column in columns:
        if column not in truth.columns:
            raise VSAEError(f"column {column!r} is not in the table")
        positions.append(int(truth.columns.get_loc(column)))
    return scored, positions


def _numeric(frame: pd.DataFrame, j: int) -> np.ndarray:
    column = frame.iloc[:, j]
    try:
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise VSAEError(f"column {frame.columns[j]!r} is not numerical") from exc


def _scored_values(
    truth: pd.DataFrame, imputed: pd.DataFrame, j: int, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    true_values, imputed_values = _numeric(truth, j)[rows], _numeric(imputed, j)[rows]
    name = truth.columns[j]
    if np.isnan(true_values).any():
        raise VSAEError(
            f"column {name!r}: a scored cell has no true value (cells missing in the raw file "
            "must not be scored)"
        )
    if not np.isfinite(imputed_values).all():
        raise VSAEError(f"column {name!r}: the imputation left a scored cell NaN or infinite")
    return true_values, imputed_values


def nrmse(truth: pd.DataFrame, imputed: pd.DataFrame, scored: np.ndarray, columns: Sequence[Any]) -> float:
    """Normalised RMSE, averaged over numerical columns (the protocol's NRMSE).

    For each column ``c`` with at least one scored cell::

        NRMSE_c = sqrt(mean over scored cells of (imputed - truth)**2) / std(truth[c])

    where ``std`` is the population standard deviation (``ddof=0``) of the **whole** truth column of the
    given frame (all its non-NaN rows, scored or not; pass the test rows to get the protocol's "std of
    the true test column"). The result is the mean of ``NRMSE_c`` over the columns. Columns with no
    scored cell, and constant columns (std 0, where the ratio is undefined), are skipped.

    Parameters
    ----------
    truth, imputed : DataFrame
        Ground truth and imputation, same shape and columns.
    scored : ndarray of bool, shape ``truth.shape``
        True = cell to score.
    columns : sequence
        The numerical columns to score.

    Returns
    -------
    float

    Raises
    ------
    VSAEError
        Shape or column mismatch, a scored cell without a true value or with a non-finite imputation, or
        no column left to score.
    """
    scored, positions = _check_tables(truth, imputed, scored, columns)
    values = []
    for j in positions:
        rows = scored[:, j]
        if not rows.any():
            continue
        scale = float(np.nanstd(_numeric(truth, j)))
        if scale == 0.0:
            continue
        true_values, imputed_values = _scored_values(truth, imputed, j, rows)
        values.append(np.sqrt(np.mean((imputed_values - true_values) ** 2)) / scale)
    if not values:
        raise VSAEError("nrmse: no numerical column has a scored cell (and a non-zero std)")
    return float(np.mean(values))


def nrmse_pooled(
    truth: pd.DataFrame,
    imputed: pd.DataFrame,
    scored: np.ndarray,
    columns: Sequence[Any],
    minmax_reference: pd.DataFrame | None = None,
) -> float:
    """missForest's NRMSE (Stekhoven & Bühlmann 2012), pooled over all scored numerical cells.

    Each column is first min-max scaled with the minimum and maximum of that column in
    ``minmax_reference`` (default ``truth``; a constant column is only shifted), then::

        NRMSE = sqrt(mean((imputed - truth)**2) / var(truth))

    with the mean and the variance taken over all scored cells of all ``columns`` together. The
    variance uses ``ddof=1``, as missForest's R code (``stats::var``) does.

    Parameters
    ----------
    truth, imputed : DataFrame
        Ground truth and imputation, same shape and columns.
    scored : ndarray of bool, shape ``truth.shape``
        True = cell to score.
    columns : sequence
        The numerical columns to score.
    minmax_reference : DataFrame, optional
        Table whose columns give the min-max scaling (e.g. the training table); defaults to ``truth``.

    Returns
    -------
    float
    """
    scored, positions = _check_tables(truth, imputed, scored, columns)
    reference = truth if minmax_reference is None else minmax_reference
    errors, true_all = [], []
    for j, column in zip(positions, columns, strict=True):
        rows = scored[:, j]
        if not rows.any():
            continue
        if column not in reference.columns:
            raise VSAEError(f"column {column!r} is not in minmax_reference")
        ref = _numeric(reference, int(reference.columns.get_loc(column)))
        low, high = np.nanmin(ref), np.nanmax(ref)
        span = high - low if high > low else 1.0
        true_values, imputed_values = _scored_values(truth, imputed, j, rows)
        true_scaled, imputed_scaled = (true_values - low) / span, (imputed_values - low) / span
        errors.append(imputed_scaled - true_scaled)
        true_all.append(true_scaled)
    if not errors:
        raise VSAEError("nrmse_pooled: no numerical column has a scored cell")
    error, true_values = np.concatenate(errors), np.concatenate(true_all)
    if true_values.size < 2:
        raise VSAEError("nrmse_pooled needs at least two scored cells (the variance uses ddof=1)")
    variance = float(np.var(true_values, ddof=1))
    if variance == 0.0:
        raise VSAEError("nrmse_pooled: the true values of the scored cells are constant (variance 0)")
    return float(np.sqrt(np.mean(error**2) / variance))


def pfc(truth: pd.DataFrame, imputed: pd.DataFrame, scored: np.ndarray, columns: Sequence[Any]) -> float:
    """Proportion of falsely classified entries, averaged over categorical columns.

    For each column with at least one scored cell, the share of scored cells whose imputed value differs
    from the true one (values compared as Python objects, so ``1 == 1.0`` but ``1 != "1"``); the result
    is the mean over those columns. Columns with no scored cell are skipped.

    Parameters
    ----------
    truth, imputed : DataFrame
        Ground truth and imputation, same shape and columns.
    scored : ndarray of bool, shape ``truth.shape``
        True = cell to score.
    columns : sequence
        The categorical columns to score.

    Returns
    -------
    float
    """
    scored, positions = _check_tables(truth, imputed, scored, columns)
    values = []
    for j in positions:
        rows = scored[:, j]
        if not rows.any():
            continue
        true_values = truth.iloc[:, j].to_numpy(dtype=object)[rows]
        imputed_values = imputed.iloc[:, j].to_numpy(dtype=object)[rows]
        name = truth.columns[j]
        if pd.isna(true_values).any():
            raise VSAEError(
                f"column {name!r}: a scored cell has no true value (cells missing in the raw "
                "file must not be scored)"
            )
        if pd.isna(imputed_values).any():
            raise VSAEError(f"column {name!r}: the imputation left a scored cell missing")
        values.append(float(np.mean(true_values != imputed_values)))
    if not values:
        raise VSAEError("pfc: no categorical column has a scored cell")
    return float(np.mean(values))


def modality_mse(truth: np.ndarray, imputed: np.ndarray, scored_rows: np.ndarray) -> float:
    """Mean squared error per value (pixel) of one modality, over the samples where it was missing.

    Parameters
    ----------
    truth, imputed : ndarray of shape (n_samples, ...)
        True and imputed modality, e.g. ``[n, 784]`` images with pixels in [0, 1].
    scored_rows : ndarray of bool, shape (n_samples,)
        True = sample whose modality was missing (to score).

    Returns
    -------
    float
        ``mean((imputed - truth)**2)`` over the scored samples and all their values; multiply by the
        number of pixels for a per-image error.
    """
    truth, imputed = np.asarray(truth, dtype=np.float64), np.asarray(imputed, dtype=np.float64)
    scored_rows = np.asarray(scored_rows)
    if truth.shape != imputed.shape:
        raise VSAEError(f"truth has shape {truth.shape} but imputed has shape {imputed.shape}")
    if truth.ndim < 1:
        raise VSAEError("truth must have a sample axis")
    if scored_rows.dtype != np.bool_ or scored_rows.shape != (truth.shape[0],):
        raise VSAEError(
            f"scored_rows must be a boolean array of shape ({truth.shape[0]},), "
            f"got dtype {scored_rows.dtype} and shape {scored_rows.shape}"
        )
    if not scored_rows.any():
        raise VSAEError("modality_mse: no sample to score")
    difference = imputed[scored_rows] - truth[scored_rows]
    if not np.isfinite(difference).all():
        raise VSAEError("modality_mse: NaN or infinite values among the scored samples")
    return float(np.mean(difference**2))


def combined(per_modality: Mapping[str, float] | Sequence[float]) -> float:
    """The "combined" bimodal error: the sum of per-modality MSEs (paper Table 2).

    Parameters
    ----------
    per_modality : mapping of modality name to float, or sequence of float
        Per-modality errors from :func:`modality_mse`.

    Returns
    -------
    float
    """
    values = list(per_modality.values()) if isinstance(per_modality, Mapping) else list(per_modality)
    if not values:
        raise VSAEError("combined: no modality error given")
    return float(np.sum(values))


def interval_coverage(truth: np.ndarray, low: np.ndarray, high: np.ndarray, scored: np.ndarray) -> float:
    """Share of the scored cells whose true value lies in ``[low, high]`` (bounds included).

    Parameters
    ----------
    truth, low, high : ndarray of float, one shape
        True values and the bounds of each cell's interval.
    scored : ndarray of bool, same shape
        True = cell to score.
    """
    truth, low, high = (np.asarray(a, dtype=np.float64) for a in (truth, low, high))
    scored = np.asarray(scored)
    if not truth.shape == low.shape == high.shape == scored.shape or scored.dtype != np.bool_:
        raise VSAEError(
            f"truth {truth.shape}, low {low.shape}, high {high.shape} and a boolean scored "
            f"{scored.shape} must have one shape"
        )
    if not scored.any():
        raise VSAEError("interval_coverage: no cell to score")
    inside = (truth >= low) & (truth <= high)
    return float(inside[scored].mean())


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error of class predictions (Guo et al., 2017).

    The predictions are grouped by their confidence (the probability of the predicted class) into
    ``bins`` equal-width bins of [0, 1]; the ECE is the mean over bins, weighted by their share of the
    predictions, of ``|accuracy − mean confidence|``. 0 is perfect calibration.

    Parameters
    ----------
    confidence : ndarray of float in [0, 1], shape (n,)
    correct : ndarray of bool, shape (n,)
        Whether each prediction was right.
    """
    confidence, correct = np.asarray(confidence, dtype=np.float64), np.asarray(correct)
    if confidence.shape != correct.shape or confidence.ndim != 1 or correct.dtype != np.bool_:
        raise VSAEError("confidence and a boolean correct must be 1-D arrays of one length")
    if confidence.size == 0:
        raise VSAEError("expected_calibration_error: no prediction to score")
    if ((confidence < 0) | (confidence > 1)).any():
        raise VSAEError("confidence must lie in [0, 1]")
    which = np.clip(np.digitize(confidence, np.linspace(0.0, 1.0, bins + 1)[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            error += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(error)


def calibrated_expected_calibration_error(
    confidence: np.ndarray, bins: int = 10, draws: int = 200, seed: int = 0
) -> float:
    """The expected calibration error a perfectly calibrated predictor with these confidences scores.

    Each prediction is made right with probability its confidence, ``draws`` times (seeded), and the
    :func:`expected_calibration_error` of each draw is averaged. The estimate of the ECE is biased
    upwards on few predictions (a bin's accuracy is a binomial share); this is that bias, the score
    below which a measured ECE cannot tell miscalibration from chance.
    """
    confidence = np.asarray(confidence, dtype=np.float64)
    rng = np.random.default_rng(seed)
    scores = [
        expected_calibration_error(confidence, rng.random(confidence.shape) < confidence, bins)
        for _ in range(draws)
    ]
    return float(np.mean(scores))
