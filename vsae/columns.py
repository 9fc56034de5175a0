"""Columns the model does not learn as they are: columns passed through, and dates.

Passed through. A column named in ``ignore_features`` is neither learned from nor imputed: it is
returned exactly as given (its missing cells stay missing). A text column that is *near-unique*
(an ID, a free-text comment: at least :data:`NEAR_UNIQUE_MIN_VALUES` distinct values, and at least
:data:`NEAR_UNIQUE_SHARE` of its observed cells distinct) is passed through too, with a warning: as a
categorical it would have a class per row, and imputing it would copy another row's ID or comment into
the hole (and generating would reuse real IDs).

Dates. A ``datetime64`` column, or a text column whose every observed cell is an ISO 8601 date or
date-time of one layout (``2024-03-01``, ``2024-03-01 12:30``, ``2024-03-01T12:30:00``), is modelled as
a number (days since 1970-01-01) and its imputed cells are written back as dates: in the column's
dtype, or as text in the column's own layout (rounded to its resolution: a day, a minute, a second).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from vsae.errors import VSAEError

#: A text column is near-unique with at least this many distinct observed values…
NEAR_UNIQUE_MIN_VALUES = 50
#: … making up at least this share of its observed cells.
NEAR_UNIQUE_SHARE = 0.9

_DAY = pd.Timedelta(days=1)
_EPOCH = pd.Timestamp("1970-01-01")
#: ISO layouts of date text, most specific first: (pattern, strftime format, resolution).
_ISO_LAYOUTS: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$"), "%Y-%m-%dT%H:%M:%S", "s"),
    (re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"), "%Y-%m-%d %H:%M:%S", "s"),
    (re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$"), "%Y-%m-%dT%H:%M", "min"),
    (re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$"), "%Y-%m-%d %H:%M", "min"),
    (re.compile(r"^\d{4}-\d{2}-\d{2}$"), "%Y-%m-%d", "D"),
)


@dataclass(frozen=True)
class DateColumn:
    """How a date column is written back: its dtype, or the strftime layout of its text."""

    dtype: str | None = None
    layout: str | None = None
    resolution: str = "D"

    def to_dict(self) -> dict[str, Any]:
        return {"dtype": self.dtype, "layout": self.layout, "resolution": self.resolution}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DateColumn:
        return cls(data.get("dtype"), data.get("layout"), str(data.get("resolution", "D")))


def _is_text(column: pd.Series) -> bool:
    dtype = column.dtype
    return pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)


def _text_values(column: pd.Series) -> pd.Series | None:
    """The observed cells of a text column, if they are all strings."""
    present = column.dropna()
    if present.empty or not present.map(lambda value: isinstance(value, str)).all():
        return None
    return present.astype(str)


def find_dates(frame: pd.DataFrame, skip: Sequence[Any] = ()) -> dict[Any, DateColumn]:
    """The date columns of ``frame`` (datetime64 dtype, or ISO text of one layout), but for ``skip``."""
    dates: dict[Any, DateColumn] = {}
    for name in frame.columns:
        if name in skip:
            continue
        column = frame[name]
        if pd.api.types.is_datetime64_any_dtype(column.dtype):
            present = column.dropna()
            whole_days = bool((present == present.dt.normalize()).all())
            dates[name] = DateColumn(dtype=str(column.dtype), resolution="D" if whole_days else "s")
        elif _is_text(column):
            values = _text_values(column)
            if values is None:
                continue
            for pattern, layout, resolution in _ISO_LAYOUTS:
                if values.str.match(pattern).all():
                    parsed = pd.to_datetime(values, format=layout, errors="coerce")
                    if parsed.notna().all():
                        dates[name] = DateColumn(layout=layout, resolution=resolution)
                    break
    return dates


def dates_as_numbers(frame: pd.DataFrame, dates: dict[Any, DateColumn]) -> pd.DataFrame:
    """``frame`` with every date column as float days since 1970-01-01 (missing cells NaN)."""
    if not dates:
        return frame
    columns = {}
    for name in frame.columns:
        column = frame[name]
        if name in dates:
            column = _days(column, dates[name], name)
        columns[name] = column
    out = pd.DataFrame(columns, index=frame.index)
    out.columns = frame.columns
    return out


def _days(column: pd.Series, date: DateColumn, name: Any) -> pd.Series:
    if date.layout is None:
        if not pd.api.types.is_datetime64_any_dtype(column.dtype):
            raise VSAEError(f"column {name!r} held dates ({date.dtype}) at fit, now {column.dtype}")
        stamps = column
    else:
        text = column.astype(object).where(column.notna(), None)
        stamps = pd.to_datetime(text, format=date.layout, errors="coerce")
        bad = stamps.isna().to_numpy() & column.notna().to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise VSAEError(
                f"column {name!r} holds dates like {pd.Timestamp(0).strftime(date.layout)!r}, but row "
                f"{column.index[row]!r} holds {column.iloc[row]!r}"
            )
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    days = (stamps - _EPOCH) / _DAY
    return pd.Series(np.asarray(days, dtype=np.float64), index=column.index, name=column.name)


def numbers_as_dates(values: pd.Series, date: DateColumn) -> pd.Series:
    """Days since 1970-01-01 back to dates: of the column's dtype, or text in its layout."""
    days = pd.to_numeric(values, errors="coerce").astype(np.float64)
    stamps = _EPOCH + pd.to_timedelta(days.to_numpy(), unit="D")
    stamps = pd.Series(stamps, index=values.index).dt.round(date.resolution)
    if date.layout is None:
        try:
            return stamps.astype(date.dtype)
        except (TypeError, ValueError):
            return stamps
    text = stamps.dt.strftime(date.layout)
    return text.astype(object).where(stamps.notna(), None)


def passed_through(
    frame: pd.DataFrame, ignore: Sequence[Any] | None, keep: Sequence[Any] = (), warn: bool = True
) -> list[Any]:
    """Columns passed through untouched: those in ``ignore``, and near-unique text columns not in
    ``keep`` (the columns declared categorical or numerical), the latter with a warning."""
    ignore = list(ignore or ())
    unknown = [name for name in ignore if name not in frame.columns]
    if unknown:
        raise VSAEError(f"columns to ignore not in the table: {', '.join(map(str, unknown))}")
    chosen = [name for name in frame.columns if name in ignore]
    for name in frame.columns:
        if name in ignore or name in keep or not _is_text(frame[name]):
            continue
        values = _text_values(frame[name])
        if values is None:
            continue
        distinct = values.nunique()
        if distinct >= NEAR_UNIQUE_MIN_VALUES and distinct >= NEAR_UNIQUE_SHARE * len(values):
            chosen.append(name)
            if warn:
                warnings.warn(
                    f"column {name!r} looks like an ID or free text ({distinct} distinct values in "
                    f"{len(values)} observed cells): it is passed through untouched, its missing "
                    f"cells left missing; declare it categorical to model it anyway",
                    UserWarning,
                    stacklevel=3,
                )
    if chosen and len(chosen) == frame.shape[1]:
        raise VSAEError("every column is passed through (ignored, or an ID or free text): nothing to learn")
    return chosen


def restore_columns(
    model_frame: pd.DataFrame,
    original: pd.DataFrame,
    columns: Sequence[Any],
    dates: dict[Any, DateColumn],
    observed_dates: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The output table in ``original``'s layout: the modelled columns from ``model_frame`` (dates
    written back as dates, observed date cells as given) and passed-through columns from ``original``."""
    if not dates and list(model_frame.columns) == list(original.columns):
        return model_frame
    out = []
    for name in columns:
        if name not in model_frame.columns:
            out.append(original[name])
            continue
        column = model_frame[name]
        if name in dates:
            given = original[name]
            restored = numbers_as_dates(column, dates[name])
            column = given.where(given.notna(), restored) if given.dtype == object else _fill(given, restored)
        out.append(column)
    result = pd.concat(out, axis=1)
    result.columns = list(columns)
    result.index = original.index
    return result


def _fill(given: pd.Series, restored: pd.Series) -> pd.Series:
    """``given`` with its missing cells taken from ``restored``, keeping ``given``'s dtype."""
    column = given.copy()
    missing = column.isna().to_numpy()
    if missing.any():
        column = column.astype(object) if not pd.api.types.is_datetime64_any_dtype(column.dtype) else column
        column[missing] = restored[missing].to_numpy()
        if given.dtype != object and not pd.api.types.is_datetime64_any_dtype(given.dtype):
            try:
                column = column.astype(given.dtype)
            except (TypeError, ValueError):
                pass
    return column


def spread_layout(spread: pd.DataFrame, original: pd.DataFrame, columns: Sequence[Any]) -> pd.DataFrame:
    """Per-cell uncertainty in ``original``'s layout: a passed-through column has 0 where observed and
    NaN where missing (nothing is imputed there); a date column's spread is in days."""
    if list(spread.columns) == list(columns):
        return spread
    out = {}
    for position, name in enumerate(columns):
        if name in spread.columns:
            out[position] = spread[name].to_numpy()
        else:
            out[position] = np.where(original[name].isna().to_numpy(), np.nan, 0.0)
    result = pd.DataFrame(out, index=original.index)
    result.columns = list(columns)
    return result


def generated_layout(
    data: pd.DataFrame, mask: pd.DataFrame, columns: Sequence[Any], dates: dict[Any, DateColumn]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generated rows in the fit's layout: dates written back as dates, passed-through columns empty
    (an ID or a comment is never generated) and marked missing in the mask."""
    out, pattern = {}, {}
    for position, name in enumerate(columns):
        if name in data.columns:
            column = data[name]
            out[position] = numbers_as_dates(column, dates[name]) if name in dates else column
            pattern[position] = mask[name].to_numpy()
        else:
            out[position] = pd.Series([None] * len(data), index=data.index, dtype=object)
            pattern[position] = np.zeros(len(data), dtype=bool)
    frame, observed = pd.DataFrame(out, index=data.index), pd.DataFrame(pattern, index=data.index)
    frame.columns = observed.columns = list(columns)
    return frame, observed
