"""Classical peer imputers for mixed numerical / categorical tables.

Every benchmark table carries four classical peers next to VSAE (docs/protocol.md): mean/mode imputation,
k-nearest neighbours, MICE and MissForest. They share one interface with the VSAE imputer, the
scikit-learn transformer API on :class:`pandas.DataFrame` objects::

    imputer = KNNTableImputer(n_neighbors=5).fit(train)   # NaN marks a missing cell
    completed = imputer.transform(test)                   # same index, columns and dtypes

All four work on one shared encoding, :class:`_PeerEncoding` (the network's
:class:`vsae.tabular.TableCodec` seen as scikit-learn reads a table), fitted on the observed cells of the
frame given to ``fit`` (never on missing cells, never on the frame given to ``transform``):

* a numerical column is standardised with the mean and standard deviation of its observed cells;
* a categorical column becomes a block of one-hot columns, one per category observed at fit; a missing
  cell sets its whole block to NaN.

A scikit-learn imputer fills the NaN entries of that float matrix; each numerical column is mapped
back to its original scale and each categorical cell takes the category whose one-hot entry in the
imputed block is largest. Only missing cells change: every observed cell comes back exactly as given.

Column roles: numeric dtypes are numerical; ``category``, ``object``, ``bool`` and string dtypes are
categorical. ``categorical_features`` overrides this (for instance integer-coded categories).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.ensemble import RandomForestRegressor
from sklearn.experimental import enable_iterative_imputer  # noqa: F401  (registers IterativeImputer)
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.utils.validation import check_is_fitted

from vsae.errors import VSAEError
from vsae.schema import infer_table_schema
from vsae.tabular import TableCodec, numeric_column

__all__ = ["KNNTableImputer", "MICEImputer", "MeanModeImputer", "MissForestImputer"]


def _check_frame(X: Any, what: str) -> pd.DataFrame:
    """Reject anything but a non-empty DataFrame with unique column names."""
    if not isinstance(X, pd.DataFrame):
        raise VSAEError(f"{what} expects a pandas DataFrame, got {type(X).__name__}")
    if X.shape[0] == 0:
        raise VSAEError(f"{what} got a DataFrame with no rows")
    if X.shape[1] == 0:
        raise VSAEError(f"{what} got a DataFrame with no columns")
    duplicated = X.columns[X.columns.duplicated()].unique().tolist()
    if duplicated:
        raise VSAEError(f"{what} got duplicated column names: {duplicated}")
    return X


def _is_numerical_dtype(dtype: Any) -> bool:
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


class _PeerEncoding:
    """A table as scikit-learn's imputers read it: :class:`vsae.tabular.TableCodec`'s encoding in
    float64, NaN in every missing cell, numerical columns first.

    The codec is the network's (standardisation with the observed cells' mean and standard deviation,
    one-hot blocks), fitted with what the peers need besides: every observed category kept (no
    "other" class, no declared but unobserved category), the variable of each encoded column (a
    one-hot column is never predicted from its own block) and each column's observed range (MICE's
    clipping). The numerical-first column order is the order in which scikit-learn's iterative
    imputers visit the columns, so it fixes their results; the peers accept the fitted columns in any
    order and return a category unseen at fit unchanged.

    Parameters
    ----------
    frame : DataFrame
        The table given to ``fit``; only its observed cells are read.
    categorical_features : list of column names or None
        The categorical columns; ``None`` infers the roles from the dtypes. When given, every other
        column must be numeric.
    """

    def __init__(self, frame: pd.DataFrame, categorical_features: Sequence[Hashable] | None) -> None:
        if categorical_features is not None:
            listed = list(categorical_features)
            unknown = [c for c in listed if c not in frame.columns]
            if unknown:
                raise VSAEError(f"categorical_features names column(s) not in the data: {unknown}")
            not_numeric = [
                c for c in frame.columns if c not in listed and not _is_numerical_dtype(frame[c].dtype)
            ]
            if not_numeric:
                raise VSAEError(
                    f"column(s) {not_numeric} are not numeric but are missing from categorical_features"
                )
        schema = infer_table_schema(frame, categorical_features, max_levels=None, declared_categories=False)
        self.codec = TableCodec.fit(frame, schema)
        self.columns: list[Hashable] = list(schema.names)
        numerical = [i for i, m in enumerate(schema) if m.kind != "categorical"]
        categorical = [i for i, m in enumerate(schema) if m.kind == "categorical"]
        #: Encoded columns of the codec in the peers' order, and the variable (column) of each.
        positions = np.arange(schema.total_width)
        self.order = np.concatenate([positions[schema.columns_of(i)] for i in [*numerical, *categorical]])
        self.variables = np.concatenate(
            [np.full(schema.modalities[i].width, rank) for rank, i in enumerate([*numerical, *categorical])]
        )
        #: The first encoded column of every categorical block (MICE's reference category).
        self.block_starts = np.flatnonzero(np.diff(self.variables, prepend=-1))[len(numerical) :]
        # Range of the observed encoded values of each column: one-hot columns span [0, 1]. One
        # observed value leaves nothing to clip to (scikit-learn requires low < high). Scaling is
        # monotone, so the scaled extremes are the extremes of the encoded column.
        self.lows, self.highs = np.zeros(len(self.order)), np.ones(len(self.order))
        for j, index in enumerate(numerical):
            name = schema.names[index]
            values = numeric_column(frame[name])
            scale = self.codec.stds[name] or 1.0
            low = (np.nanmin(values) - self.codec.means[name]) / scale
            high = (np.nanmax(values) - self.codec.means[name]) / scale
            self.lows[j], self.highs[j] = (low, high) if low < high else (-np.inf, np.inf)

    def check_columns(self, X: pd.DataFrame) -> None:
        """Raise unless ``X`` has exactly the fitted columns (in any order)."""
        missing = [c for c in self.columns if c not in X.columns]
        extra = [c for c in X.columns if c not in set(self.columns)]
        if missing or extra:
            raise VSAEError(f"columns differ from those seen in fit: missing {missing}, unexpected {extra}")

    def encode(self, X: pd.DataFrame) -> np.ndarray:
        """Float matrix ``[n_rows, encoded columns]`` with NaN wherever a cell is missing.

        A category not seen at fit cannot be encoded: it is treated as missing (with a
        :class:`UserWarning` naming the column and the values) and returned unchanged by
        :meth:`decode`.
        """
        encoded, observed = self.codec.encode(X[self.columns], dtype=np.float64, unseen="kept")
        schema = self.codec.schema
        for index in range(len(schema)):
            encoded[~observed[:, index], schema.offsets[index] : schema.offsets[index + 1]] = np.nan
        # C order, as scikit-learn's imputers were measured with: a column-major copy changes the
        # order of their sums, and so KNN's neighbours where distances tie.
        return np.ascontiguousarray(encoded[:, self.order])

    def decode(self, Z: np.ndarray, X: pd.DataFrame) -> pd.DataFrame:
        """Copy of ``X`` whose missing cells take their values from the imputed matrix ``Z``."""
        values = np.empty_like(Z)
        values[:, self.order] = Z
        frame = X[self.columns]
        return self.codec.fill_missing(frame, frame.notna().to_numpy(), values)[list(X.columns)]


class _VariableWiseIterativeImputer(IterativeImputer):
    """``IterativeImputer`` that never predicts an encoded column from its own variable's other columns.

    A categorical variable's one-hot columns are always missing together and, where observed, sum to
    one. Left as predictors of each other, every regression learns ``d_k = 1 - sum(other d_j)`` and,
    in the missing rows, only echoes the siblings' current (initial: mean) imputations: MICE then
    imputes exactly the mode, whatever the other columns say (measured on the wine table: PFC equal to
    mode imputation's). Excluding the siblings makes each categorical variable be predicted from the
    other variables only, as MICE and missForest do. ``_variables`` (the variable of each encoded column)
    is set by :func:`_variable_wise_iterative_imputer`: fixed by the encoding, not a user parameter.

    This overrides a private scikit-learn method (unchanged from 0.21 to 1.9);
    ``tests/test_baselines_classical.py`` fails if it stops taking effect (MICE's PFC would fall back
    to the mode's).
    """

    def _get_neighbor_feat_idx(self, n_features, feat_idx, abs_corr_mat):  # type: ignore[no-untyped-def]
        neighbours = super()._get_neighbor_feat_idx(n_features, feat_idx, abs_corr_mat)
        keep = (self._variables[neighbours] != self._variables[feat_idx]) & ~self._not_predictors[neighbours]
        return neighbours[keep]


def _variable_wise_iterative_imputer(
    encoding: _PeerEncoding, drop_reference_category: bool = False, **params: Any
) -> IterativeImputer:
    """A :class:`_VariableWiseIterativeImputer` for the columns of ``encoding``.

    ``drop_reference_category``: a categorical variable enters other variables' regressions without
    its first one-hot column (dummy coding). Its full block sums to one, collinear with a linear
    model's intercept; that exact rank deficiency made LAPACK's SVD in ``BayesianRidge`` fail to
    converge on phishing (50% MCAR, every seed). Forests do not need it.
    """
    if len(encoding.columns) == 1:  # nothing to regress on: keep the initial (mean / mode) imputation
        params["max_iter"] = 0
    if not hasattr(IterativeImputer, "_get_neighbor_feat_idx"):  # pragma: no cover - future sklearn
        raise RuntimeError("this scikit-learn's IterativeImputer lacks _get_neighbor_feat_idx; update vsae")
    # Imputations are clipped to each encoded column's observed range: without it the deterministic
    # regressions of later rounds extrapolate from their own growing predictions.
    imputer = _VariableWiseIterativeImputer(min_value=encoding.lows, max_value=encoding.highs, **params)
    imputer._variables = encoding.variables
    imputer._not_predictors = np.zeros(len(encoding.variables), dtype=bool)
    if drop_reference_category:
        imputer._not_predictors[encoding.block_starts] = True
    return imputer


class _EncodedImputer(TransformerMixin, BaseEstimator):
    """Shared machinery: encode with :class:`_PeerEncoding`, impute the float matrix, decode.

    Subclasses only say which scikit-learn imputer runs on the encoded matrix.
    """

    def _make_imputer(self, encoding: _PeerEncoding) -> BaseEstimator:
        """A fresh, unfitted scikit-learn imputer for the matrix of ``encoding``."""
        raise NotImplementedError

    def fit(self, X: pd.DataFrame, y: None = None) -> _EncodedImputer:
        """Fit the encoding and the imputer on the observed cells of ``X``.

        Parameters
        ----------
        X : DataFrame
            Table with NaN (or None / pd.NA) marking missing cells.
        y : ignored

        Returns
        -------
        self
        """
        X = _check_frame(X, f"{type(self).__name__}.fit")
        self.encoding_ = _PeerEncoding(X, self.categorical_features)
        self.imputer_ = self._make_imputer(self.encoding_).fit(self.encoding_.encode(X))
        self.feature_names_in_ = np.asarray(self.encoding_.columns, dtype=object)
        self.n_features_in_ = len(self.encoding_.columns)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Impute the missing cells of ``X``.

        Parameters
        ----------
        X : DataFrame
            Same columns as the frame given to ``fit`` (any order).

        Returns
        -------
        DataFrame
            Same index, column order and dtypes as ``X``; observed cells unchanged, no missing cell.
        """
        check_is_fitted(self, "imputer_")
        X = _check_frame(X, f"{type(self).__name__}.transform")
        self.encoding_.check_columns(X)
        Z = self.imputer_.transform(self.encoding_.encode(X))
        return self.encoding_.decode(Z, X)

    def fit_transform(self, X: pd.DataFrame, y: None = None, **fit_params: Any) -> pd.DataFrame:
        """Fit on ``X`` and impute its missing cells (same as ``fit(X).transform(X)``)."""
        return self.fit(X, y).transform(X)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "imputer_")
        return self.feature_names_in_.copy()


class MeanModeImputer(_EncodedImputer):
    """Mean imputation for numerical columns, most frequent observed category for categorical ones.

    Ties between equally frequent categories go to the first in the column's category order
    (declared order for ``category`` dtype, sorted order otherwise).

    Parameters
    ----------
    categorical_features : list of column names or None, default None
        Columns to treat as categorical; ``None`` infers roles from the dtypes.
    """

    def __init__(self, categorical_features: Sequence[Hashable] | None = None) -> None:
        self.categorical_features = categorical_features

    def _make_imputer(self, encoding: _PeerEncoding) -> BaseEstimator:
        # The mean of a one-hot block is the category frequencies, so its argmax is the mode.
        return SimpleImputer(strategy="mean")


class KNNTableImputer(_EncodedImputer):
    """k-nearest-neighbour imputation (scikit-learn ``KNNImputer``) on the standardised/one-hot table.

    Distances are NaN-aware Euclidean over the cells both rows observe; a numerical cell takes the mean
    of its neighbours' values, a categorical cell the category most frequent among its neighbours.

    Parameters
    ----------
    n_neighbors : int, default 5
        Number of neighbouring rows (among the rows given to ``fit``) used for each cell.
    categorical_features : list of column names or None, default None
        Columns to treat as categorical; ``None`` infers roles from the dtypes.
    """

    def __init__(self, n_neighbors: int = 5, categorical_features: Sequence[Hashable] | None = None) -> None:
        self.n_neighbors = n_neighbors
        self.categorical_features = categorical_features

    def _make_imputer(self, encoding: _PeerEncoding) -> BaseEstimator:
        return KNNImputer(n_neighbors=self.n_neighbors)


class MICEImputer(_EncodedImputer):
    """MICE: scikit-learn ``IterativeImputer`` with its default ``BayesianRidge`` regressions.

    Runs on the standardised/one-hot table; each categorical cell takes the category with the largest
    imputed entry in its one-hot block. A one-hot column is never regressed on the other columns of its
    own block (see :class:`_VariableWiseIterativeImputer`). Imputations are deterministic (posterior
    means, ``sample_posterior=False``): a single imputation, as the benchmark scores it.

    With deterministic imputations the regressions of later rounds are fitted partly on earlier rounds'
    predictions and their coefficients grow; on small tables this can make rows imputed by
    ``transform`` worse than after one round (measured on 142 wine rows: NRMSE 0.88 after 1 round,
    1.15 after 10, numerical columns only). ``max_iter`` keeps scikit-learn's default.

    Parameters
    ----------
    max_iter : int, default 10
        Rounds of round-robin regressions.
    random_state : int or None, default None
        Seed for ``IterativeImputer``.
    categorical_features : list of column names or None, default None
        Columns to treat as categorical; ``None`` infers roles from the dtypes.
    """

    def __init__(
        self,
        max_iter: int = 10,
        random_state: int | None = None,
        categorical_features: Sequence[Hashable] | None = None,
    ) -> None:
        self.max_iter = max_iter
        self.random_state = random_state
        self.categorical_features = categorical_features

    def _make_imputer(self, encoding: _PeerEncoding) -> BaseEstimator:
        return _variable_wise_iterative_imputer(
            encoding, drop_reference_category=True, max_iter=self.max_iter, random_state=self.random_state
        )


class MissForestImputer(_EncodedImputer):
    """MissForest as the project's protocol defines it: ``IterativeImputer`` with random forests.

    This is the scikit-learn approximation of missForest (Stekhoven & Bühlmann, 2012), not the R
    package: every column of the standardised/one-hot table, one-hot columns included, is imputed by
    a *regression* forest (``RandomForestRegressor``), starting from mean imputation, for ``max_iter``
    rounds; a categorical cell then takes the category with the largest imputed entry in its block.
    As in :class:`MICEImputer`, a one-hot column is never predicted from its own block's columns.
    The original uses *classification* forests for categorical variables and stops when the change
    between rounds first increases. docs/protocol.md fixes this variant so that every table is comparable.

    Each split considers ``sqrt(p)`` randomly drawn predictor columns, missForest's default ``mtry``
    (``floor(sqrt(p))``), not ``RandomForestRegressor``'s default of all ``p`` (plain bagging). Here
    ``p`` counts encoded columns, so a categorical variable contributes one candidate per category.
    Besides matching the original, this makes each forest about 5× cheaper on the 68-column phishing
    table.

    Parameters
    ----------
    n_estimators : int, default 100
        Trees per forest.
    max_features : {"sqrt", "log2"}, int, float or None, default "sqrt"
        Predictor columns drawn at each split, as in ``RandomForestRegressor``; ``1.0`` is bagging.
    max_iter : int, default 10
        Rounds of round-robin forest fits.
    random_state : int or None, default None
        Seed for ``IterativeImputer`` and for the forests.
    n_jobs : int or None, default None
        Parallel jobs for each forest.
    categorical_features : list of column names or None, default None
        Columns to treat as categorical; ``None`` infers roles from the dtypes.
    """

    def __init__(
        self,
        n_estimators: int = 100,
        max_features: str | int | float | None = "sqrt",
        max_iter: int = 10,
        random_state: int | None = None,
        n_jobs: int | None = None,
        categorical_features: Sequence[Hashable] | None = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.max_features = max_features
        self.max_iter = max_iter
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.categorical_features = categorical_features

    def _make_imputer(self, encoding: _PeerEncoding) -> BaseEstimator:
        forest = RandomForestRegressor(
            n_estimators=self.n_estimators,
            max_features=self.max_features,
            random_state=self.random_state,
            n_jobs=self.n_jobs,
        )
        return _variable_wise_iterative_imputer(
            encoding,
            estimator=forest,
            initial_strategy="mean",
            max_iter=self.max_iter,
            random_state=self.random_state,
        )
