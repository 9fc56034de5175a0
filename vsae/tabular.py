"""Tables in and out of the model's encoded space.

:func:`validate_table` turns user input into a checked DataFrame (or says exactly what is wrong);
:class:`TableCodec` maps a table to the encoded float matrix and observation mask the model trains on,
and maps the model's output back to values of the original columns.

Numerical columns are standardised with the mean and standard deviation of their *observed* training
cells (docs/design.md, "A pitfall measured here": min-max scaling with an MSE likelihood lets the posterior
collapse). Categorical columns become one-hot blocks; in a column with an "other" class
(:data:`vsae.schema.MAX_CATEGORY_LEVELS`) every level outside the kept ones is encoded as "other".
Unobserved cells are written as 0 in the encoded matrix, so nothing downstream ever reads what the
user had in them.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from vsae.errors import VSAEError
from vsae.schema import Schema


def as_frame(X: Any) -> tuple[pd.DataFrame, bool]:
    """The input as a DataFrame, and whether it was one (to return the same kind)."""
    if isinstance(X, pd.DataFrame):
        return X, True
    if hasattr(X, "tocsr"):  # scipy.sparse: np.asarray would wrap it in a 0-d object array
        raise VSAEError("sparse input is not supported: pass a dense array or a DataFrame (X.toarray())")
    try:
        array = np.asarray(X)
    except Exception as error:  # ragged nested lists and the like
        raise VSAEError(f"cannot read the input as a table: {error}") from error
    if array.ndim != 2:
        raise VSAEError(f"expected a 2-dimensional table, got an array of shape {array.shape}")
    return pd.DataFrame(array), False


def validate_table(frame: pd.DataFrame, numerical: Sequence[Any] = ()) -> None:
    """Reject what the model cannot learn from, naming the column (and row) at fault.

    ``numerical`` lists columns that must hold numbers; their text cells are reported.
    """
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise VSAEError(f"the table is empty ({frame.shape[0]} rows, {frame.shape[1]} columns)")
    duplicated = frame.columns[frame.columns.duplicated()].unique().tolist()
    if duplicated:
        raise VSAEError(f"duplicate column names: {', '.join(map(str, duplicated))}")
    for name in frame.columns:
        dtype = frame[name].dtype
        if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
            raise VSAEError(
                f"column {name!r} holds dates/times ({dtype}); convert it to numbers or drop it first"
            )
    for name in numerical:
        if name not in frame.columns:
            raise VSAEError(f"numerical column {name!r} is not in the table")
        numeric_column(frame[name])


def numeric_column(column: pd.Series) -> np.ndarray:
    """A column as float64 with NaN for missing; text or infinite values are an error."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        column = column.astype(object)
    numbers = pd.to_numeric(column, errors="coerce")
    if pd.api.types.is_complex_dtype(numbers.dtype):  # casting would silently drop the imaginary part
        raise VSAEError(
            f"column {column.name!r} holds complex numbers; split them into real and imaginary columns"
        )
    values = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    bad_text = np.isnan(values) & column.notna().to_numpy()
    if bad_text.any():
        row = int(np.flatnonzero(bad_text)[0])
        raise VSAEError(
            f"column {column.name!r} is numerical but row {column.index[row]!r} holds "
            f"{column.iloc[row]!r}; clean the value or declare the column categorical"
        )
    infinite = np.isinf(values)
    if infinite.any():
        row = int(np.flatnonzero(infinite)[0])
        raise VSAEError(
            f"column {column.name!r} holds an infinite value at row {column.index[row]!r}; "
            "replace it with a finite number or leave the cell empty"
        )
    return values


#: What becomes of a cell holding a category not seen at fit (:meth:`TableCodec.encode`).
UnseenCells = Literal["imputed", "kept"]
_UNSEEN_FATE: dict[str, str] = {
    "imputed": "they are treated as missing and imputed",
    "kept": "they are treated as missing when imputing other cells and are returned unchanged",
}


@dataclass
class TableCodec:
    """Standardisation statistics and category lists learned from the observed training cells."""

    schema: Schema
    means: dict[str, float]
    stds: dict[str, float]

    @classmethod
    def fit(cls, frame: pd.DataFrame, schema: Schema) -> TableCodec:
        means: dict[str, float] = {}
        stds: dict[str, float] = {}
        for modality in schema:
            if modality.kind == "categorical":
                continue
            values = numeric_column(frame[modality.name])
            observed = values[~np.isnan(values)]
            if observed.size == 0:
                raise VSAEError(
                    f"column {modality.name!r} has no observed value: it cannot be learned or imputed"
                )
            with np.errstate(over="ignore", invalid="ignore"):
                mean, std = float(observed.mean()), float(observed.std())
            if not (math.isfinite(mean) and math.isfinite(std)):
                raise VSAEError(
                    f"column {modality.name!r} holds values too large to standardise (largest magnitude "
                    f"{np.abs(observed).max():.3g}); rescale the column, e.g. divide it by a power of ten"
                )
            means[modality.name] = mean
            # A constant column has scale 0: it is encoded with unit scale (see ``encode``) and
            # decoded as exactly its constant, whatever its magnitude (a unit scale at decoding would
            # put an imputed 1e-15 off by the decoder's error, ~0.1).
            stds[modality.name] = std
        return cls(schema, means, stds)

    def check_columns(self, frame: pd.DataFrame) -> None:
        """The table must have exactly the columns seen at fit, in the same order."""
        expected = self.schema.names
        actual = list(frame.columns)
        if actual == expected:
            return
        missing = [c for c in expected if c not in actual]
        extra = [c for c in actual if c not in expected]
        if missing or extra:
            details = []
            if missing:
                details.append(f"missing {', '.join(map(repr, missing))}")
            if extra:
                details.append(f"unexpected {', '.join(map(repr, extra))}")
            raise VSAEError(f"the table's columns differ from those seen at fit: {'; '.join(details)}")
        raise VSAEError(f"the table's columns are in a different order than at fit; expected {expected}")

    def encode(
        self, frame: pd.DataFrame, dtype: type[np.floating] = np.float32, unseen: UnseenCells = "imputed"
    ) -> tuple[np.ndarray, np.ndarray]:
        """Encoded matrix ``[n, total_width]`` and observation mask ``[n, M]`` (True = observed).

        ``dtype``: float32 for the network; the classical peers read float64. Categories not seen at
        fit are treated as missing, with a warning naming them and saying what becomes of those
        cells: ``unseen`` is ``"imputed"`` when the caller fills every unobserved cell (the
        estimators), ``"kept"`` when it fills only the empty ones (the classical peers).
        """
        self.check_columns(frame)
        n = len(frame)
        x = np.zeros((n, self.schema.total_width), dtype=dtype)
        observed = np.zeros((n, len(self.schema)), dtype=bool)
        for index, modality in enumerate(self.schema):
            column = frame.iloc[:, index]
            start = self.schema.offsets[index]
            if modality.kind == "categorical":
                # Index lookup, not pd.Categorical: pandas deprecates building a Categorical from
                # values outside its categories, which is exactly the unseen-category case.
                codes = pd.Index(list(modality.categories)).get_indexer(column)
                if modality.other:
                    codes = _other_codes(codes, column, modality.width)
                new_levels = (codes < 0) & column.notna().to_numpy()
                if new_levels.any():
                    values = sorted({repr(v) for v in column[new_levels]})[:5]
                    warnings.warn(
                        f"column {modality.name!r}: {int(new_levels.sum())} cell(s) hold categories not seen "
                        f"at fit ({', '.join(values)}); {_UNSEEN_FATE[unseen]}",
                        UserWarning,
                        stacklevel=3,
                    )
                rows = np.flatnonzero(codes >= 0)
                x[rows, start + codes[rows]] = 1.0
                observed[:, index] = codes >= 0
            else:
                values = numeric_column(column)
                present = ~np.isnan(values)
                scaled = (values - self.means[modality.name]) / (self.stds[modality.name] or 1.0)
                x[present, start] = scaled[present]
                observed[:, index] = present
        return x, observed

    def decode(self, values: np.ndarray) -> dict[str, np.ndarray]:
        """Column values from the model's point predictions in encoded space.

        ``values`` holds, per modality, the standardised mean (numerical) or the one-hot/probability
        block (categorical, decoded by argmax).
        """
        return {
            modality.name: self.decode_column(index, values) for index, modality in enumerate(self.schema)
        }

    def decode_column(self, index: int, values: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """The values of modality ``index`` decoded from ``values`` (see :meth:`decode`), only at the
        boolean ``rows`` if given."""
        modality = self.schema.modalities[index]
        block = values[:, self.schema.columns_of(index)]
        if rows is not None:
            block = block[rows]
        if modality.kind == "categorical":
            labels = np.asarray(modality.categories, dtype=object)
            return labels[block.argmax(axis=1)]
        return block[:, 0].astype(np.float64) * self.stds[modality.name] + self.means[modality.name]

    def fill_missing(self, frame: pd.DataFrame, observed: np.ndarray, values: np.ndarray) -> pd.DataFrame:
        """A copy of ``frame`` whose unobserved cells hold the decoded ``values``; other cells untouched.

        Column by column, decoding only the missing rows, and assembled in one ``concat``: a frame of
        n rows never holds more than its input, one column in the making and the result (decoding
        every column first and writing into ``frame.copy()`` held 4x the input at 1M x 50,
        docs/performance.md).
        """
        columns = []
        for index in range(len(self.schema)):
            column = frame.iloc[:, index]
            missing = ~observed[:, index]
            if missing.any():
                column = write_cells(column, missing, self.decode_column(index, values, missing))
            columns.append(column)
        out = pd.concat(columns, axis=1)
        out.columns = frame.columns
        return out

    def to_dict(self) -> dict[str, Any]:
        # Lists in schema order: column names need not be strings (JSON object keys must be).
        return {
            "means": [self.means.get(m.name) for m in self.schema],
            "stds": [self.stds.get(m.name) for m in self.schema],
        }

    @classmethod
    def from_dict(cls, schema: Schema, data: dict[str, Any]) -> TableCodec:
        """The codec saved by :meth:`to_dict`; statistics that could not have been fitted are refused
        (a NaN mean or scale would turn every cell of the column into NaN)."""
        numerical = [
            (m.name, mean, std)
            for m, mean, std in zip(schema, data["means"], data["stds"], strict=True)
            if m.kind != "categorical"
        ]
        means = {name: float(mean) for name, mean, _ in numerical}
        stds = {name: float(std) for name, _, std in numerical}
        for name in means:
            if not (math.isfinite(means[name]) and math.isfinite(stds[name]) and stds[name] >= 0):
                raise VSAEError(
                    f"column {name!r}: mean {means[name]!r} and scale {stds[name]!r} are not a finite "
                    "mean and a finite, non-negative scale"
                )
        return cls(schema, means, stds)


def _other_codes(codes: np.ndarray, column: pd.Series, width: int) -> np.ndarray:
    """Codes of a column with an "other" class (the last, ``width - 1``): every present level that is
    not one of the listed classes, rare at fit or new since, is observed as "other"."""
    codes = codes.copy()
    codes[(codes < 0) & column.notna().to_numpy()] = width - 1
    return codes


def write_cells(column: pd.Series, rows: np.ndarray, values: np.ndarray) -> pd.Series:
    """``column`` with ``values`` written at the boolean ``rows``, keeping its dtype where it can.

    Integer columns (pandas' nullable ``Int64`` and friends) receive rounded values; a plain numpy
    integer column cannot hold a missing value, so it never reaches here with one. Numbers are clipped
    to the range of the column's dtype (an imputed ``UInt8`` cell may decode to -0.4) and cast to it,
    since pandas refuses to write a value its dtype cannot hold exactly (float64 into float32).
    """
    column = column.copy()
    dtype = column.dtype
    if pd.api.types.is_integer_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
        integers = np.dtype(getattr(dtype, "numpy_dtype", dtype))
        limits = np.iinfo(integers)
        # The largest float below max + 1: float(2**63 - 1) rounds up to 2**63, which int64 cannot hold.
        high = np.nextafter(float(limits.max) + 1.0, 0.0)
        values = np.clip(np.rint(values.astype(np.float64)), float(limits.min), high).astype(integers)
    elif pd.api.types.is_bool_dtype(dtype):
        values = values.astype(bool)
    elif pd.api.types.is_float_dtype(dtype):
        floats = np.dtype(getattr(dtype, "numpy_dtype", dtype))
        limits = np.finfo(floats)
        values = np.clip(values.astype(np.float64), float(limits.min), float(limits.max)).astype(floats)
    elif pd.api.types.is_object_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        values = values.astype(object)
    column[rows] = values
    return column
