"""The missingness mechanisms of the benchmark, defined once (docs/protocol.md).

Convention used throughout vsae: a mask is a boolean numpy array with **True = observed** (the paper's
``m_i = 1``) and False = missing. Every function takes its randomness from an ``int`` seed or a
:class:`numpy.random.Generator`, so that masks are reproducible.

Mechanisms
----------
MCAR
    Every cell is missing independently with probability ``missing_rate`` (:func:`mcar_mask`).
MAR (paper App. C.4, after Mattei & Frellsen 2019)
    On data min-max scaled to [0, 1], the first ``K = ceil(0.25 * M)`` of the ``M`` features are always
    observed; every other feature of row ``n`` is missing independently with probability
    ``sigmoid((1 / M) * sum_{k <= K} x_nk)`` (:func:`mar_mask`).
NMAR (self-masking)
    Feature ``i`` of a row is missing with probability ``sigmoid(x_i)`` (:func:`nmar_mask`).
Modality MCAR
    For multimodal data: every modality of a sample is missing with probability ``missing_rate``, and a
    sample whose draw left every modality missing gets one modality, chosen uniformly at random, set
    back to observed (:func:`modality_mcar_mask`).

The paper does not say whether its MAR/NMAR ``pi`` is the probability of being missing or observed;
vsae reads it as the probability of being **missing** (docs/protocol.md). Cells missing in the raw data
(NaN in the scaled input) are returned as unobserved by :func:`mar_mask` and :func:`nmar_mask`;
:func:`mcar_mask` sees only a shape, so combine it with ``frame.notna()`` when the raw data has holes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from vsae.errors import VSAEError

SeedLike = int | np.integer | np.random.Generator


def as_rng(seed_or_rng: SeedLike) -> np.random.Generator:
    """A :class:`numpy.random.Generator` from an integer seed or an existing generator.

    A generator is returned as is (its state advances as it is used); an integer seeds a new one with
    :func:`numpy.random.default_rng`. Anything else (``None`` included) raises :class:`VSAEError`, so
    that every mask in the project is reproducible.
    """
    if isinstance(seed_or_rng, np.random.Generator):
        return seed_or_rng
    if isinstance(seed_or_rng, (int, np.integer)) and not isinstance(seed_or_rng, bool):
        if seed_or_rng < 0:
            raise VSAEError(f"seed must be non-negative, got {seed_or_rng}")
        return np.random.default_rng(int(seed_or_rng))
    raise VSAEError(f"expected an int seed or a numpy.random.Generator, got {type(seed_or_rng).__name__}")


def _check_rate(missing_rate: float) -> float:
    rate = float(missing_rate)
    if not 0.0 <= rate <= 1.0:
        raise VSAEError(f"missing_rate must be in [0, 1], got {missing_rate}")
    return rate


def _check_mask(observed: np.ndarray, name: str = "observed") -> np.ndarray:
    observed = np.asarray(observed)
    if observed.dtype != np.bool_:
        raise VSAEError(
            f"{name} must be a boolean array (True = observed), got dtype {observed.dtype}; "
            "convert explicitly, e.g. mask.astype(bool)"
        )
    return observed


def _check_scaled(x_scaled: np.ndarray) -> np.ndarray:
    x = np.asarray(x_scaled, dtype=np.float64)
    if x.ndim != 2:
        raise VSAEError(f"x_scaled must be a 2-d array [n_samples, n_features], got shape {x.shape}")
    present = x[~np.isnan(x)]
    if present.size and (present.min() < -1e-9 or present.max() > 1 + 1e-9):
        raise VSAEError(
            "x_scaled must be min-max scaled to [0, 1] (NaN where missing); use minmax_scale_observed first"
        )
    return x


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def mcar_mask(shape: int | Sequence[int], missing_rate: float, seed_or_rng: SeedLike) -> np.ndarray:
    """Missing-completely-at-random mask: each cell missing independently with probability ``missing_rate``.

    Parameters
    ----------
    shape : int or sequence of int
        Shape of the mask, e.g. ``frame.shape``.
    missing_rate : float
        Probability that a cell is missing, in [0, 1].
    seed_or_rng : int or numpy.random.Generator
        Source of randomness.

    Returns
    -------
    ndarray of bool
        True = observed.
    """
    rate = _check_rate(missing_rate)
    return as_rng(seed_or_rng).random(shape) >= rate


def always_observed_count(n_features: int, always_observed_fraction: float = 0.25) -> int:
    """``K``, the number of leading features that MAR keeps observed: ``ceil(fraction * M)``.

    Ceil (not floor) guarantees at least one driving feature whenever ``fraction > 0`` (floor would
    give ``K = 0`` for ``M < 4`` and turn MAR into MCAR). Examples: yeast M=8 → K=2; glass M=9 → K=3;
    white_wine M=11 → K=3. The product is rounded to 9 decimals before the ceil, so that floating-point
    noise (``0.3 * 10 = 3.0000000000000004``) does not add a feature.
    """
    if not 0.0 <= always_observed_fraction <= 1.0:
        raise VSAEError(f"always_observed_fraction must be in [0, 1], got {always_observed_fraction}")
    return min(int(n_features), math.ceil(round(always_observed_fraction * n_features, 9)))


def mar_mask(
    x_scaled: np.ndarray, seed_or_rng: SeedLike, always_observed_fraction: float = 0.25
) -> np.ndarray:
    """Missing-at-random mask of the paper (App. C.4), on data min-max scaled to [0, 1].

    The first ``K = ceil(always_observed_fraction * M)`` features (column order) are always observed
    (see :func:`always_observed_count`). Every other feature of row ``n`` is missing independently with
    probability ``sigmoid((1 / M) * sum_{k < K} x_nk)`` — the sum is divided by ``M``, as in the paper,
    not by ``K``; with ``K = M / 4`` the probability lies in [0.5, 0.562]. A NaN in the driving features
    contributes 0 to the sum. Cells that are NaN in ``x_scaled`` (missing in the raw data) are returned
    as unobserved, including in the first ``K`` features.

    Parameters
    ----------
    x_scaled : ndarray of shape (n_samples, n_features)
        Data scaled to [0, 1], NaN where missing (see :func:`minmax_scale_observed`).
    seed_or_rng : int or numpy.random.Generator
        Source of randomness.
    always_observed_fraction : float, default 0.25
        Share of leading features that are never masked and drive the missingness of the others.

    Returns
    -------
    ndarray of bool, shape (n_samples, n_features)
        True = observed. Report the realised ratio with :func:`missing_ratio`.
    """
    x = _check_scaled(x_scaled)
    n_features = x.shape[1]
    k = always_observed_count(n_features, always_observed_fraction)
    drive = np.nansum(x[:, :k], axis=1) / n_features
    p_missing = np.broadcast_to(_sigmoid(drive)[:, None], x.shape).copy()
    p_missing[:, :k] = 0.0
    observed = as_rng(seed_or_rng).random(x.shape) >= p_missing
    observed &= ~np.isnan(x)
    return observed


def nmar_mask(x_scaled: np.ndarray, seed_or_rng: SeedLike) -> np.ndarray:
    """Not-missing-at-random (self-masking) mask of the paper (App. C.4).

    Cell ``(n, i)`` is missing independently with probability ``sigmoid(x_ni)`` where ``x`` is min-max
    scaled to [0, 1]; the probability therefore lies in [0.5, 0.731] and grows with the value itself.
    The realised missing ratio is data dependent (about 0.55 to 0.65 on the UCI tables); report it with
    :func:`missing_ratio`. Cells that are NaN in ``x_scaled`` are returned as unobserved.

    Parameters
    ----------
    x_scaled : ndarray of shape (n_samples, n_features)
        Data scaled to [0, 1], NaN where missing (see :func:`minmax_scale_observed`).
    seed_or_rng : int or numpy.random.Generator
        Source of randomness.

    Returns
    -------
    ndarray of bool, shape (n_samples, n_features)
        True = observed.
    """
    x = _check_scaled(x_scaled)
    nan = np.isnan(x)
    p_missing = _sigmoid(np.where(nan, 0.0, x))
    observed = as_rng(seed_or_rng).random(x.shape) >= p_missing
    observed &= ~nan
    return observed


def minmax_scale_observed(data: pd.DataFrame | np.ndarray) -> np.ndarray:
    """Min-max scale every column to [0, 1] over its observed (non-NaN) values, for MAR/NMAR.

    Numerical columns: ``(x - min) / (max - min)``. Categorical columns (pandas ``category``, ``bool``,
    ``object`` or string dtype): their ordinal codes ``0 … k-1`` in category order (sorted values for
    non-category dtypes, i.e. the order pandas gives categories: -1 < 0 < 1 for phishing, alphabetical
    for mushroom), divided by ``k - 1``. A column with a single observed value (or a single category)
    scales to 0. NaN stays NaN. Scaling statistics come from ``data`` itself, so pass the rows the
    mechanism is applied to.

    Parameters
    ----------
    data : DataFrame or ndarray of shape (n_samples, n_features)
        The table; an array is treated as all-numerical.

    Returns
    -------
    ndarray of float64, shape (n_samples, n_features)
    """
    if isinstance(data, pd.DataFrame):
        columns = []
        for name in data.columns:
            column = data[name]
            if _is_categorical(column):
                categorical = column.astype("category")
                codes = categorical.cat.codes.to_numpy().astype(np.float64)
                codes[codes < 0] = np.nan
                k = len(categorical.cat.categories)
                columns.append(codes / (k - 1) if k > 1 else np.where(np.isnan(codes), np.nan, 0.0))
            else:
                try:
                    values = column.to_numpy(dtype=np.float64, na_value=np.nan)
                except (TypeError, ValueError) as exc:
                    raise VSAEError(f"column {name!r} is neither numeric nor categorical") from exc
                columns.append(_minmax(values))
        if not columns:
            return np.empty((len(data), 0))
        return np.column_stack(columns)
    x = np.asarray(data, dtype=np.float64)
    if x.ndim != 2:
        raise VSAEError(f"expected a 2-d array [n_samples, n_features], got shape {x.shape}")
    return np.column_stack([_minmax(x[:, j]) for j in range(x.shape[1])]) if x.shape[1] else x.copy()


def _is_categorical(column: pd.Series) -> bool:
    dtype = column.dtype
    return (
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_bool_dtype(dtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
    )


def _minmax(values: np.ndarray) -> np.ndarray:
    present = values[~np.isnan(values)]
    if present.size == 0:
        return values.copy()
    low, high = present.min(), present.max()
    span = high - low
    return (values - low) / span if span > 0 else np.where(np.isnan(values), np.nan, 0.0)


def modality_mcar_mask(
    n_samples: int, n_modalities: int, missing_rate: float, seed_or_rng: SeedLike
) -> np.ndarray:
    """Modality-level MCAR mask with at least one observed modality per sample.

    Every modality of every sample is first drawn missing with probability ``missing_rate``. For each
    sample whose draw left **all** modalities missing, one modality chosen uniformly at random (from
    the same generator, after the first draw) is set back to observed. The realised missing rate is
    therefore below the nominal one, in expectation ``r - r**M / M`` for rate ``r`` and ``M``
    modalities (see :func:`expected_modality_missing_rate`): for two modalities 0.255 / 0.375 / 0.455
    at r = 0.3 / 0.5 / 0.7. Report the realised rate with :func:`missing_ratio`.

    Parameters
    ----------
    n_samples : int
        Number of samples (rows).
    n_modalities : int
        Number of modalities (columns), at least 1.
    missing_rate : float
        Nominal probability that a modality is missing, in [0, 1].
    seed_or_rng : int or numpy.random.Generator
        Source of randomness.

    Returns
    -------
    ndarray of bool, shape (n_samples, n_modalities)
        True = observed; every row has at least one True.
    """
    if n_modalities < 1:
        raise VSAEError(f"n_modalities must be at least 1, got {n_modalities}")
    if n_samples < 0:
        raise VSAEError(f"n_samples must be non-negative, got {n_samples}")
    rng = as_rng(seed_or_rng)
    observed = mcar_mask((int(n_samples), int(n_modalities)), missing_rate, rng)
    empty = np.flatnonzero(~observed.any(axis=1))
    observed[empty, rng.integers(0, n_modalities, size=empty.size)] = True
    return observed


def expected_modality_missing_rate(missing_rate: float, n_modalities: int) -> float:
    """Expected realised missing rate of :func:`modality_mcar_mask`: ``r - r**M / M``."""
    rate = _check_rate(missing_rate)
    return rate - rate**n_modalities / n_modalities


def apply_mask(frame: pd.DataFrame, observed: np.ndarray) -> pd.DataFrame:
    """A copy of ``frame`` with every unobserved cell set to NaN.

    Dtypes are kept where they can hold NaN: ``category`` stays ``category`` (same categories),
    floats stay floats; integer and bool columns that receive a NaN become float/object, as in pandas.
    Cells already NaN stay NaN whatever the mask says.

    Parameters
    ----------
    frame : DataFrame
    observed : ndarray of bool, shape ``frame.shape``
        True = keep the value.

    Returns
    -------
    DataFrame
    """
    observed = _check_mask(observed)
    if observed.shape != frame.shape:
        raise VSAEError(f"mask shape {observed.shape} does not match the table's shape {frame.shape}")
    out = frame.copy()
    for j in range(frame.shape[1]):
        keep = observed[:, j]
        if not keep.all():
            out.isetitem(j, frame.iloc[:, j].where(keep))
    return out


def missing_ratio(observed: np.ndarray) -> float:
    """Share of unobserved cells of a mask (``1 - mean(observed)``)."""
    observed = _check_mask(observed)
    if observed.size == 0:
        raise VSAEError("missing_ratio of an empty mask is undefined")
    return float(1.0 - observed.mean())
