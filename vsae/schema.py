"""Modalities and the schema that orders them.

A *modality* is a group of columns of one type that is observed or missing as a whole: one tabular
feature, one image, one text vector. The model sees every modality as a block of an encoded float
vector; :class:`Schema` fixes the order of the blocks and their widths.

Encoded widths: a numerical or binary modality of ``w`` values takes ``w`` columns; a categorical one
with ``k`` classes takes ``k`` columns (one-hot); an image takes ``prod(shape)`` columns, pixels in [0, 1].

High-cardinality categorical columns: a table column with more than :data:`MAX_CATEGORY_LEVELS` levels
keeps its ``MAX_CATEGORY_LEVELS - 1`` most frequent levels as classes and one last class, "other", for
every remaining level (``Modality.other``). The "other" class is labelled with the most frequent of the
remaining levels, so that a cell imputed as "other" receives a real level of the column (the most
frequent rare one). The model's width, memory and time are thus bounded whatever the number of levels
(docs/performance.md, "High-cardinality categoricals").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from vsae.errors import VSAEError

ModalityKind = Literal["numerical", "categorical", "binary", "image"]
MODALITY_KINDS: tuple[str, ...] = get_args(ModalityKind)

#: Most classes a table's categorical column is given; beyond, rare levels share one "other" class.
MAX_CATEGORY_LEVELS = 100


@dataclass(frozen=True)
class Modality:
    """One modality: its name, type and encoded width.

    Parameters
    ----------
    name : str
        Key of the modality (a column name for tables).
    kind : {"numerical", "categorical", "binary", "image"}
        Likelihood family of the modality.
    width : int
        Number of encoded columns (number of classes for a categorical modality).
    categories : tuple, optional
        Class labels of a categorical modality, in code order.
    shape : tuple of int, optional
        Shape of one sample of an image modality (``prod(shape) == width``).
    other : bool
        Categorical only: the last class stands for every level not among the classes before it
        ("other"); its label is the most frequent of those levels (see the module docstring).
    """

    name: str
    kind: ModalityKind
    width: int
    categories: tuple[Any, ...] | None = None
    shape: tuple[int, ...] | None = None
    other: bool = False

    def __post_init__(self) -> None:
        if self.kind not in MODALITY_KINDS:
            raise VSAEError(
                f"modality {self.name!r}: unknown kind {self.kind!r}; use one of {MODALITY_KINDS}"
            )
        if self.width < 1:
            raise VSAEError(f"modality {self.name!r}: width must be at least 1, got {self.width}")
        if self.kind == "categorical" and (self.categories is None or len(self.categories) != self.width):
            raise VSAEError(f"modality {self.name!r}: a categorical modality needs one label per class")
        if self.shape is not None and math.prod(self.shape) != self.width:
            raise VSAEError(f"modality {self.name!r}: shape {self.shape} does not match width {self.width}")
        if self.other and self.kind != "categorical":
            raise VSAEError(f"modality {self.name!r}: only a categorical modality can have an 'other' class")

    @property
    def is_tabular(self) -> bool:
        """Tabular modalities are filled with noise when missing, images with zeros (docs/design.md)."""
        return self.kind != "image"

    def to_dict(self) -> dict[str, Any]:
        data = {
            "name": self.name,
            "kind": self.kind,
            "width": self.width,
            "categories": None if self.categories is None else [_json_scalar(c) for c in self.categories],
            "shape": None if self.shape is None else list(self.shape),
        }
        if self.other:  # only when set: folders written before the "other" class read the same
            data["other"] = True
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Modality:
        categories = data.get("categories")
        shape = data.get("shape")
        if categories is not None and not all(isinstance(c, (str, int, float)) for c in categories):
            raise VSAEError(f"modality {data['name']!r}: class labels must be text, numbers or booleans")
        return cls(
            name=data["name"],
            kind=data["kind"],
            width=int(data["width"]),
            categories=None if categories is None else tuple(categories),
            shape=None if shape is None else tuple(int(s) for s in shape),
            other=bool(data.get("other", False)),
        )


@dataclass(frozen=True)
class Schema:
    """Ordered modalities; the layout of the encoded data matrix ``[n_samples, total_width]``."""

    modalities: tuple[Modality, ...]
    offsets: tuple[int, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.modalities:
            raise VSAEError("a schema needs at least one modality")
        names = [m.name for m in self.modalities]
        duplicated = sorted({str(n) for n in names if names.count(n) > 1})
        if duplicated:
            raise VSAEError(f"duplicate modality/column names: {', '.join(duplicated)}")
        offsets = np.concatenate([[0], np.cumsum([m.width for m in self.modalities])]).tolist()
        object.__setattr__(self, "offsets", tuple(int(o) for o in offsets))

    def __len__(self) -> int:
        return len(self.modalities)

    def __iter__(self):
        return iter(self.modalities)

    @property
    def names(self) -> list[str]:
        return [m.name for m in self.modalities]

    @property
    def total_width(self) -> int:
        return self.offsets[-1]

    def columns_of(self, index: int) -> slice:
        """Encoded columns of the ``index``-th modality."""
        return slice(self.offsets[index], self.offsets[index + 1])

    def column_modality(self) -> np.ndarray:
        """For every encoded column, the index of its modality."""
        return np.repeat(np.arange(len(self.modalities)), [m.width for m in self.modalities])

    def to_dict(self) -> dict[str, Any]:
        return {"modalities": [m.to_dict() for m in self.modalities]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Schema:
        return cls(tuple(Modality.from_dict(m) for m in data["modalities"]))

    @classmethod
    def from_arrays(
        cls, data: Mapping[str, np.ndarray], kinds: Mapping[str, ModalityKind] | None = None
    ) -> Schema:
        """Schema of multimodal data given as ``{name: array of shape [n_samples, ...]}``.

        Without an explicit kind, an array with more than two dimensions is an image (its sample shape
        is kept) and a two-dimensional one is numerical. Categorical modalities are given one-hot
        encoded; their class labels are ``0 … width-1``.
        """
        kinds = dict(kinds or {})
        unknown = sorted(set(kinds) - set(data))
        if unknown:
            raise VSAEError(f"kinds given for unknown modalities: {', '.join(unknown)}")
        modalities = []
        for name, array in data.items():
            array = np.asarray(array)
            if array.ndim < 2:
                raise VSAEError(
                    f"modality {name!r}: expected an array [n_samples, ...], got shape {array.shape}"
                )
            kind = kinds.get(name, "image" if array.ndim > 2 else "numerical")
            shape = tuple(array.shape[1:])
            width = math.prod(shape)
            modalities.append(
                Modality(
                    name=name,
                    kind=kind,
                    width=width,
                    categories=tuple(range(width)) if kind == "categorical" else None,
                    shape=shape if kind == "image" else None,
                )
            )
        return cls(tuple(modalities))


def _json_scalar(value: Any) -> Any:
    """A category label as a JSON-serialisable Python scalar."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def is_categorical_dtype(dtype: Any) -> bool:
    """Dtypes that a table's schema treats as categorical by default."""
    return (
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_bool_dtype(dtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
    )


def infer_table_schema(
    frame: pd.DataFrame,
    categorical: Sequence[Any] | None = None,
    numerical: Sequence[Any] | None = None,
    max_levels: int | None = MAX_CATEGORY_LEVELS,
    declared_categories: bool = True,
) -> Schema:
    """One modality per column: numeric dtypes are numerical, the rest categorical.

    Parameters
    ----------
    frame : DataFrame
        The table, already validated (no datetime columns, no duplicate names).
    categorical : sequence, optional
        Columns to treat as categorical whatever their dtype (e.g. integer-coded classes).
    numerical : sequence, optional
        Columns to treat as numerical whatever their dtype (e.g. numbers read as text).
    max_levels : int or None
        Most classes of a categorical modality; a column with more levels keeps its
        ``max_levels - 1`` most frequent ones and an "other" class (:func:`cut_rare_levels`).
        None keeps every level.
    declared_categories : bool
        A ``category`` column's classes are its declared categories; False keeps only those observed
        in it (the classical peers, whose every encoded column must hold an observed value).
    """
    if max_levels is not None and max_levels < 2:
        raise VSAEError(f"max_levels must be at least 2 (or None), got {max_levels}")
    forced_categorical, forced_numerical = list(categorical or ()), list(numerical or ())
    for label, names in (("categorical", forced_categorical), ("numerical", forced_numerical)):
        unknown = [c for c in names if c not in frame.columns]
        if unknown:
            raise VSAEError(f"{label} columns not in the table: {', '.join(map(str, unknown))}")
    both = [c for c in forced_categorical if c in forced_numerical]
    if both:
        raise VSAEError(f"columns declared both categorical and numerical: {', '.join(map(str, both))}")
    modalities = []
    for name in frame.columns:
        column = frame[name]
        if name not in forced_numerical and (
            name in forced_categorical or is_categorical_dtype(column.dtype)
        ):
            labels = _category_labels(column, declared_categories)
            other = max_levels is not None and len(labels) > max_levels
            if other:
                labels = cut_rare_levels(column, labels, max_levels)
            modalities.append(Modality(name, "categorical", len(labels), categories=labels, other=other))
        else:
            modalities.append(Modality(name, "numerical", 1))
    return Schema(tuple(modalities))


def _category_labels(column: pd.Series, declared: bool = True) -> tuple[Any, ...]:
    """Class labels of a categorical column: its declared categories (only the observed ones unless
    ``declared``), else its sorted observed values."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        labels = list(column.cat.categories)
        if not declared:
            present = set(column.cat.codes[column.notna()].unique().tolist())
            labels = [label for code, label in enumerate(labels) if code in present]
    else:
        try:
            observed = column.dropna().unique().tolist()
        except TypeError as error:  # unhashable cells (dicts, lists) cannot be categories
            raise VSAEError(
                f"column {column.name!r} holds values that cannot be categories ({error}); "
                "convert them to text or numbers first"
            ) from error
        try:
            labels = sorted(observed)
        except TypeError:  # mixed types: keep first-seen order, which is deterministic for a given table
            labels = observed
    if not labels:
        raise VSAEError(f"column {column.name!r} has no observed value: it cannot be learned or imputed")
    return tuple(_json_scalar(v) for v in labels)


def cut_rare_levels(column: pd.Series, labels: Sequence[Any], max_levels: int) -> tuple[Any, ...]:
    """The classes of a column with more than ``max_levels`` levels: its ``max_levels - 1`` most
    frequent levels (in the order of ``labels``), then the most frequent of the others, which labels
    the "other" class. Ties in frequency go to the level first in ``labels`` (deterministic)."""
    values = column.astype(object) if isinstance(column.dtype, pd.CategoricalDtype) else column
    counts = values.value_counts(dropna=True)
    index = pd.Index(counts.index.map(_json_scalar), dtype=object)
    frequency = np.zeros(len(labels), dtype=np.int64)
    positions = pd.Index(list(labels), dtype=object).get_indexer(index)
    found = positions >= 0
    frequency[positions[found]] = counts.to_numpy()[found]
    order = np.lexsort((np.arange(len(labels)), -frequency))  # most frequent first, then label order
    kept = np.sort(order[: max_levels - 1])
    return (*(labels[i] for i in kept), labels[order[max_levels - 1]])
