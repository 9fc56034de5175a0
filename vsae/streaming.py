"""Imputation of tables larger than memory: read, impute and write a file chunk by chunk.

:func:`transform_file` writes the file that imputing the whole table in memory would give (read with
:func:`vsae.io.read_table`, imputed with :meth:`VSAEImputer.transform`, written with
:func:`vsae.io.write_table`): the same cells, the same column types, while holding only ``chunk_rows``
rows at a time. Every row is imputed on its own (the network is in evaluation mode), so splitting the
rows into chunks changes nothing but memory, with one caveat about floating point: matrix products
round differently for different numbers of rows, so the output is *bit for bit* the in-memory one
when ``chunk_rows`` is a multiple of :data:`vsae.inference.CHUNK_ROWS` (the rows the network imputes
per forward pass, also in memory; the default chunk size is a multiple of it), and may differ in the last
digits of a few imputed numbers otherwise.

Column types are the part that needs care: a file's types are those of the *whole* file, and one chunk
does not show them. A CSV column of integers with one decimal number far down is a float column (its
imputed cells are not rounded); a Parquet integer column with one empty cell far down is a float
column in pandas. So types are settled before any row is imputed, by a first pass over the file:

- CSV: every chunk is parsed as :func:`~vsae.io.read_table` parses a file, and the types of the chunks
  are merged the way pandas merges them over a whole file (integer and decimal chunks make a decimal
  column; mixed text and numbers make a text column). The second pass parses each column with its
  merged type. Categorical columns of the model are read as text, as ``vsae transform`` always does,
  and their text is turned back into the labels seen at fit (:func:`fitted_labels`).
- Parquet: only the columns whose pandas type depends on the rows (integer and boolean columns with
  empty cells, dictionary columns) are scanned; each chunk is then cast to the whole-file type.

The output is written to a temporary file beside the target and renamed into place when complete, so
a failure leaves no partial output.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from vsae import inference
from vsae.errors import VSAEError
from vsae.imputer import VSAEImputer
from vsae.io import atomic_write, check_input_path, check_output_path, iter_table, table_format
from vsae.schema import Schema

#: Rows per chunk when none is given: a multiple of the rows the network imputes per forward pass
#: (so the output is bit for bit the in-memory one), 65,536 rows.
DEFAULT_CHUNK_ROWS = 64 * inference.CHUNK_ROWS
#: ``vsae transform`` streams an input file larger than this even without ``--chunk-rows``.
STREAMING_THRESHOLD_BYTES = 256 * 2**20


@dataclass(frozen=True)
class StreamSummary:
    """What :func:`transform_file` did: rows written and cells that were missing (and imputed)."""

    rows: int
    imputed_cells: int


def transform_file(
    model: VSAEImputer | str | os.PathLike[str],
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    *,
    missing_values: Sequence[str] = (),
    encoding: str = "utf-8",
    device: str = "cpu",
) -> StreamSummary:
    """Impute every missing cell of a CSV or Parquet file into another file, ``chunk_rows`` rows at a time.

    Parameters
    ----------
    model : VSAEImputer or path-like
        A fitted imputer, or a model folder written by :meth:`VSAEImputer.save`.
    input_path, output_path : path-like
        ``.csv``, ``.parquet`` or ``.pq`` files (the formats may differ). The output is replaced only
        once it is complete.
    chunk_rows : int
        Rows read, imputed and written at a time; memory use grows with it. A multiple of
        :data:`vsae.inference.CHUNK_ROWS` gives exactly the in-memory result (see the module notes).
    missing_values, encoding
        CSV reading settings, as in :func:`vsae.io.read_table`.
    device : str
        Device of the model when ``model`` is a folder.

    Returns
    -------
    StreamSummary
    """
    if chunk_rows < 1:
        raise VSAEError(f"chunk_rows must be at least 1, got {chunk_rows}")
    target = Path(output_path)
    check_input_path(input_path)
    check_output_path(target)
    imputer = model if isinstance(model, VSAEImputer) else VSAEImputer.load(model, device=device)
    chunks = _typed_chunks(imputer.schema_, input_path, chunk_rows, missing_values, encoding)
    rows = imputed = 0
    with atomic_write(target) as temporary:
        write, close = _chunk_writer(table_format(target), temporary)
        try:
            for chunk in chunks:
                frame = fitted_labels(chunk, imputer.schema_)
                imputed += int(frame.isna().to_numpy().sum())
                write(imputer.transform(frame))
                rows += len(frame)
        finally:
            close()
    return StreamSummary(rows, imputed)


# -- reading ---------------------------------------------------------------------------------------
def _typed_chunks(
    schema: Schema,
    path: str | os.PathLike[str],
    chunk_rows: int,
    missing_values: Sequence[str],
    encoding: str,
) -> Iterator[pd.DataFrame]:
    """The file's chunks, every column in its whole-file type (see the module notes)."""
    if table_format(path) == "csv":
        categorical = [m.name for m in schema if m.kind == "categorical" and isinstance(m.name, str)]

        def read(dtypes: dict[str, Any] | None) -> Iterator[pd.DataFrame]:
            return iter_table(path, chunk_rows, categorical, missing_values, encoding, dtypes=dtypes)

        # A column empty in a chunk is read as Int64 there: it says nothing about the column's type.
        scanned = read(None)
        return read(_merged_dtypes(scanned, skip=set(categorical), skip_empty=True))
    columns = _parquet_columns_to_scan(path)
    dtypes = _merged_dtypes(iter_table(path, chunk_rows, columns=columns)) if columns else {}
    return (chunk.astype(dtypes) for chunk in iter_table(path, chunk_rows))


def _parquet_columns_to_scan(path: str | os.PathLike[str]) -> list[str]:
    """Columns whose pandas type can differ between row chunks: integers and booleans that may hold
    empty cells (float and object in pandas in a chunk where they do) and dictionary columns (whose
    categories are the chunk's). Nullable pandas types recorded in the file do not vary."""
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError) as error:
        raise VSAEError(f"cannot read {str(path)!r} as parquet: {' '.join(str(error).split())}") from error
    return [
        field.name
        for field in schema
        if pa.types.is_dictionary(field.type)
        or (field.nullable and (pa.types.is_integer(field.type) or pa.types.is_boolean(field.type)))
    ]


def _merged_dtypes(
    chunks: Iterator[pd.DataFrame], skip: Collection[str] = (), skip_empty: bool = False
) -> dict[str, Any]:
    """Per column, the type of the whole table given the types of its chunks.

    Columns in ``skip`` are left out; with ``skip_empty``, so are chunks where a column is empty, and
    columns empty in every chunk.
    """
    seen: dict[str, list[Any]] = {}
    for chunk in chunks:
        for name in chunk.columns:
            kinds = seen.setdefault(name, [])
            column = chunk[name]
            if skip_empty and not column.notna().any():
                continue
            if column.dtype not in kinds:
                kinds.append(column.dtype)
    return {name: _merge(kinds) for name, kinds in seen.items() if kinds and name not in skip}


def _merge(dtypes: list[Any]) -> Any:
    """One type holding the values of every chunk, as pandas chooses it for a whole table."""
    if len(dtypes) == 1:
        return dtypes[0]
    if all(isinstance(d, pd.CategoricalDtype) for d in dtypes):
        # Categories in order of first appearance, as pyarrow unifies dictionaries.
        categories = pd.Index([c for d in dtypes for c in d.categories]).unique()
        return pd.CategoricalDtype(categories, ordered=dtypes[0].ordered)
    if all(pd.api.types.is_numeric_dtype(d) and not pd.api.types.is_bool_dtype(d) for d in dtypes):
        # Integer and decimal chunks: a decimal column (nullable when the chunks' types are).
        floats = [d for d in dtypes if pd.api.types.is_float_dtype(d)]
        return floats[0] if floats else np.dtype(np.float64)
    # Text and numbers: text (as pandas reads a column it cannot parse as numbers); else objects.
    return next((d for d in dtypes if pd.api.types.is_string_dtype(d)), np.dtype(object))


def fitted_labels(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Categorical cells read as text, turned back into the labels seen at fit where those are not text.

    A model fitted on typed data (Parquet, or Python objects) has labels such as ``1``, ``1.0`` or
    ``True``, which a CSV file spells ``"1"`` and ``"True"``. Text matching no label is left as it
    is, so that the imputer reports it as an unseen category.
    """
    frame = frame.copy()
    for modality in schema:
        if modality.kind != "categorical" or modality.name not in frame.columns:
            continue
        column = frame[modality.name]
        labels = modality.categories or ()
        if all(isinstance(label, str) for label in labels) or not pd.api.types.is_string_dtype(column.dtype):
            continue
        frame[modality.name] = column.astype(object).map(_relabel(labels), na_action="ignore")
    return frame


def _relabel(labels: Sequence[object]) -> Callable[[object], object]:
    """Text → the label it spells (``"29"`` is the label ``29`` or ``29.0``); other text unchanged."""
    by_text = {str(label): label for label in labels}
    by_number = {
        float(label): label
        for label in labels
        if isinstance(label, (int, float, np.number)) and not isinstance(label, (bool, np.bool_))
    }

    def relabel(text: object) -> object:
        if text in by_text:
            return by_text[text]
        try:
            return by_number.get(float(text), text)  # type: ignore[arg-type]
        except ValueError:
            return text

    return relabel


# -- writing ---------------------------------------------------------------------------------------
def _chunk_writer(fmt: str, path: Path) -> tuple[Callable[[pd.DataFrame], None], Callable[[], None]]:
    """``(write, close)`` appending imputed chunks to ``path`` as :func:`vsae.io.write_table` writes a
    whole table (no index; a CSV header once; Parquet: one row group per chunk, the first chunk's
    schema)."""
    if fmt == "csv":
        handle = path.open("w", newline="", encoding="utf-8")

        def write_csv(chunk: pd.DataFrame) -> None:
            chunk.to_csv(handle, index=False, header=handle.tell() == 0)

        return write_csv, handle.close

    writer: list[pq.ParquetWriter] = []

    def write_parquet(chunk: pd.DataFrame) -> None:
        schema = writer[0].schema if writer else None
        table = pa.Table.from_pandas(chunk, schema=schema, preserve_index=False)
        if not writer:
            writer.append(pq.ParquetWriter(path, table.schema))
        writer[0].write_table(table)

    def close_parquet() -> None:
        if writer:
            writer[0].close()

    return write_parquet, close_parquet
