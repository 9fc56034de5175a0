"""Reading and writing tables as files: CSV and Parquet, chosen by the file's suffix.

CSV conventions, the same for reading and writing: an empty cell is a missing value, and nothing else
is (``NA``, ``null`` or ``?`` are values unless listed in ``missing_values``). Columns are typed with
pandas' nullable dtypes, so an integer column with empty cells stays integer (``Int64``) and is
written back without a spurious ``.0``. Parquet files keep their own types.

Every problem with a file (missing, empty, malformed, wrong encoding, unknown format, nowhere to
write) is a :class:`~vsae.errors.VSAEError` naming the file. Input files are only ever opened for
reading, and writes are atomic: the table is written to a temporary file beside the target and
renamed into place, so a failed write never leaves a partial file behind.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from vsae.errors import VSAEError

TableFormat = Literal["csv", "parquet"]

#: File suffixes understood, lower case.
FORMATS: dict[str, TableFormat] = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def table_format(path: str | os.PathLike[str]) -> TableFormat:
    """The format of a table file, from its suffix."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        known = ", ".join(FORMATS)
        raise VSAEError(
            f"{str(path)!r}: unknown table format {suffix or '(no suffix)'!r}; use one of {known}"
        )
    return FORMATS[suffix]


def check_output_path(path: str | os.PathLike[str]) -> TableFormat:
    """Check, before any work is done, that a table can be written to ``path``; return its format."""
    target = Path(path)
    fmt = table_format(target)
    folder = target.parent
    if not folder.is_dir():
        raise VSAEError(f"cannot write {str(target)!r}: folder {str(folder)!r} does not exist")
    if target.is_dir():
        raise VSAEError(f"cannot write {str(target)!r}: it is a folder")
    return fmt


def read_table(
    path: str | os.PathLike[str],
    categorical: Collection[str] | None = None,
    missing_values: Sequence[str] = (),
    encoding: str = "utf-8",
) -> pd.DataFrame:
    """Read a CSV or Parquet table.

    Parameters
    ----------
    path : str or path-like
        ``.csv``, ``.parquet`` or ``.pq`` file.
    categorical : collection of str, optional
        CSV columns to read as text whatever they look like, so that codes such as ``01`` or ``7``
        keep their exact spelling as category labels (names not in the file are ignored). Parquet
        columns keep their stored types.
    missing_values : sequence of str
        CSV cell contents read as missing besides the empty cell, e.g. ``("NA", "?")``.
    encoding : str
        Text encoding of a CSV file.

    Returns
    -------
    DataFrame
        With at least one row and one column, and unique column names.

    Raises
    ------
    VSAEError
        The file is missing, empty, has a header but no rows, has rows with more cells than the header,
        repeats a column name, cannot be decoded, or is not a table of a known format.
    """
    source = Path(path)
    fmt = check_input_path(source)
    with _reading_errors(source, fmt):
        if fmt == "csv":
            _check_csv_header(source, encoding)
            frame = pd.read_csv(source, **_csv_options(categorical or (), missing_values, encoding))
        else:
            frame = pd.read_parquet(source, engine="pyarrow")
    if frame.shape[1] == 0:
        raise VSAEError(f"{str(source)!r} has no columns")
    if frame.shape[0] == 0:
        raise VSAEError(f"{str(source)!r} has a header but no rows")
    return frame


def iter_table(
    path: str | os.PathLike[str],
    chunk_rows: int,
    categorical: Collection[str] | None = None,
    missing_values: Sequence[str] = (),
    encoding: str = "utf-8",
    *,
    dtypes: Mapping[str, object] | None = None,
    columns: Sequence[str] | None = None,
) -> Iterator[pd.DataFrame]:
    """Read a CSV or Parquet table in chunks of at most ``chunk_rows`` rows, in bounded memory.

    Conventions, checks and errors are those of :func:`read_table`. Every chunk but the last has
    exactly ``chunk_rows`` rows, and its index continues the previous one's row numbers. Column types
    are inferred chunk by chunk unless given: ``dtypes`` maps CSV column names to the type to parse
    them as (``categorical`` columns are text). ``columns`` restricts a Parquet read to those columns.
    """
    source = Path(path)
    fmt = check_input_path(source)
    rows = 0
    with _reading_errors(source, fmt), ExitStack() as opened:
        if fmt == "csv":
            _check_csv_header(source, encoding)
            options = _csv_options(categorical or (), missing_values, encoding)
            options["dtype"] = {**(dtypes or {}), **options["dtype"]}
            chunks: Iterable[pd.DataFrame] = opened.enter_context(
                pd.read_csv(source, chunksize=chunk_rows, **options)
            )
        else:
            parquet = opened.enter_context(pq.ParquetFile(source))
            batches = parquet.iter_batches(batch_size=chunk_rows, columns=columns)
            chunks = (table.to_pandas() for table in _exact_chunks(batches, chunk_rows))
        for chunk in chunks:
            if chunk.shape[1] == 0:
                raise VSAEError(f"{str(source)!r} has no columns")
            if len(chunk) == 0:
                continue
            if isinstance(chunk.index, pd.RangeIndex):
                chunk.index = pd.RangeIndex(rows, rows + len(chunk))
            rows += len(chunk)
            yield chunk
    if rows == 0:
        raise VSAEError(f"{str(source)!r} has a header but no rows")


def _exact_chunks(batches: Iterable[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """Record batches regrouped into tables of exactly ``rows`` rows (the last one may be shorter):
    Parquet batches stop at row-group ends, whatever size was asked for."""
    pending: list[pa.RecordBatch] = []
    held = 0
    for batch in batches:
        pending.append(batch)
        held += batch.num_rows
        while held >= rows:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, rows)
            rest = table.slice(rows)
            pending, held = rest.to_batches(), rest.num_rows
    if held:
        yield pa.Table.from_batches(pending, schema=pending[0].schema)


def check_input_path(path: str | os.PathLike[str]) -> TableFormat:
    """Check that ``path`` is a table file that exists and is not empty; return its format."""
    source = Path(path)
    fmt = table_format(source)
    if not source.exists():
        raise VSAEError(f"input file {str(source)!r} does not exist")
    if not source.is_file():
        raise VSAEError(f"input {str(source)!r} is not a file")
    if source.stat().st_size == 0:
        raise VSAEError(f"input file {str(source)!r} is empty")
    return fmt


@contextmanager
def _reading_errors(source: Path, fmt: TableFormat) -> Iterator[None]:
    """Turn the errors of reading ``source`` into :class:`VSAEError` naming the file."""
    try:
        yield
    except UnicodeDecodeError as error:
        raise VSAEError(
            f"{str(source)!r} is not valid {error.encoding} text (it holds the byte "
            f"0x{error.object[error.start]:02x}); save it as UTF-8 or pass its encoding, e.g. latin-1"
        ) from error
    except LookupError as error:  # an encoding name Python does not know
        raise VSAEError(f"cannot read {str(source)!r}: {error}") from error
    except pd.errors.EmptyDataError as error:
        raise VSAEError(f"{str(source)!r} holds no table (no header line)") from error
    except pd.errors.ParserError as error:
        raise VSAEError(f"{str(source)!r} is not a well-formed CSV table: {_one_line(error)}") from error
    except (pa.ArrowException, OSError) as error:
        raise VSAEError(f"cannot read {str(source)!r} as {fmt}: {_one_line(error)}") from error


def _check_csv_header(source: Path, encoding: str) -> None:
    # pandas renames a repeated header ("a", "a.1") without a word, so the raw header is read first.
    header = pd.read_csv(source, header=None, nrows=1, dtype=str, keep_default_na=False, encoding=encoding)
    names = header.iloc[0].tolist() if len(header) else []
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise VSAEError(f"{str(source)!r} repeats the column name(s) {', '.join(map(repr, repeated))}")
    # A file separated by another character reads as one column whose cells are whole lines.
    others = [mark for mark in (";", "\t", "|") if len(names) == 1 and mark in names[0]]
    if others:
        raise VSAEError(
            f"{str(source)!r} has a single column named {names[0]!r}: its cells seem separated by "
            f"{others[0]!r}, not by commas; save it as comma-separated CSV"
        )


def _csv_options(
    categorical: Collection[str], missing_values: Sequence[str], encoding: str
) -> dict[str, Any]:
    """``pandas.read_csv`` settings of the CSV conventions (see the module notes)."""
    return {
        "keep_default_na": False,
        "na_values": ["", *missing_values],
        "dtype": {name: str for name in categorical},
        "dtype_backend": "numpy_nullable",
        "encoding": encoding,
    }


def write_table(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``frame`` (without its index) to a CSV or Parquet file, atomically; missing cells are empty.

    An existing file at ``path`` is replaced only once the new one is complete.
    """
    target = Path(path)
    fmt = check_output_path(target)
    with atomic_write(target) as temporary:
        if fmt == "csv":
            frame.to_csv(temporary, index=False)
        else:
            frame.to_parquet(temporary, index=False, engine="pyarrow")
    return target


@contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary file name beside ``path`` to write to, renamed to ``path`` when the block succeeds.

    On any error the temporary file is removed and ``path`` is left as it was; file-system and Arrow
    errors become a :class:`VSAEError` naming ``path``.
    """
    target = Path(path)
    # A fresh name beside the target (same file system, so the rename is atomic); created by the
    # writer itself, hence with the usual permissions rather than mkstemp's private ones.
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    try:
        yield temporary
        os.replace(temporary, target)
    except (pa.ArrowException, OSError) as error:
        raise VSAEError(f"cannot write {str(target)!r}: {_one_line(error)}") from error
    finally:
        temporary.unlink(missing_ok=True)


def _one_line(error: Any) -> str:
    return " ".join(str(error).split())
