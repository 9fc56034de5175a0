"""Reading and writing tables as files: CSV and Parquet, chosen by the file's suffix.

CSV conventions, the same for reading and writing:

- Missing cells are the empty cell and pandas' standard missing tokens (``NA``, ``N/A``, ``NaN``,
  ``null``, ``None``, ``#N/A``… see :data:`DEFAULT_NA_TOKENS`), plus any listed in
  ``missing_values``; ``keep_default_na=False`` makes the empty cell (and ``missing_values``) the only
  missing cells.
- A mostly numeric column holding a few other tokens (``-``, ``n.a.``, ``missing``) is read as text,
  as pandas does, but with a warning naming the column, each token and its count.
- Columns of codes written with leading zeros (``02140``) are text, not numbers.
- Columns are typed with pandas' nullable dtypes, so an integer column with missing cells stays
  integer (``Int64``). Parquet files keep their own types.
- The separator is a comma unless ``sep`` says otherwise (``";"``, ``"\\t"``, ``"|"``, or
  ``"whitespace"`` for runs of blanks). A file that looks separated by something else is refused with
  the likely separator named; so is a first line that looks like a comment (``# …``), unless
  ``comment`` names the comment character.
- Every line must have as many fields as the header: a row with more or fewer is refused with its line
  number (pandas would otherwise take an extra leading field as an index and drop it, or pad a short
  row with missing cells).

:func:`read_table_text` also returns the text of every cell as it was in the file (:class:`CsvText`);
:func:`write_table` given it writes every observed cell, and every cell still missing, with exactly
its input text, and only the imputed cells are new.

Every problem with a file (missing, empty, malformed, wrong encoding, unknown format, nowhere to
write) is a :class:`~vsae.errors.VSAEError` naming the file. Input files are only ever opened for
reading, and writes are atomic: the table is written to a temporary file beside the target and
renamed into place, so a failed write never leaves a partial file behind.
"""

from __future__ import annotations

import csv
import io
import os
import re
import secrets
import warnings
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from vsae.errors import VSAEError

TableFormat = Literal["csv", "parquet"]

#: File suffixes understood, lower case.
FORMATS: dict[str, TableFormat] = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}

#: pandas' standard missing-value tokens, read as missing unless ``keep_default_na=False``.
DEFAULT_NA_TOKENS: tuple[str, ...] = tuple(
    sorted(
        {
            "",
            "#N/A",
            "#N/A N/A",
            "#NA",
            "-1.#IND",
            "-1.#QNAN",
            "-NaN",
            "-nan",
            "1.#IND",
            "1.#QNAN",
            "<NA>",
            "N/A",
            "NA",
            "NULL",
            "NaN",
            "None",
            "n/a",
            "nan",
            "null",
        }
    )
)
#: ``sep`` value for fields separated by runs of spaces or tabs.
WHITESPACE = "whitespace"
#: A mostly numeric column: at least this share of its non-missing cells are numbers…
MOSTLY_NUMERIC_SHARE = 0.9
#: … and at most this many distinct other tokens (which are then named in a warning).
MOSTLY_NUMERIC_TOKENS = 3

_LEADING_ZERO = re.compile(r"^[+-]?0\d")
_NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")


@dataclass(frozen=True)
class CsvText:
    """The text of a CSV table as it was in the file.

    Attributes
    ----------
    header : list of str
        The header's fields.
    cells : DataFrame
        Every cell's text (``""`` for an empty cell), same shape, index and columns as the table read.
    lines : ndarray of int
        The file line (1-based) on which each row starts.
    """

    header: list[str]
    cells: pd.DataFrame
    lines: np.ndarray


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
    if target.is_dir():
        raise VSAEError(
            f"cannot write {str(target)!r}: it is a folder; give a file name, "
            f"e.g. {str(target / 'imputed.csv')!r}"
        )
    fmt = table_format(target)
    folder = target.parent
    if not folder.is_dir():
        raise VSAEError(f"cannot write {str(target)!r}: folder {str(folder)!r} does not exist")
    return fmt


def read_table(
    path: str | os.PathLike[str],
    categorical: Collection[str] | None = None,
    missing_values: Sequence[str] = (),
    encoding: str = "utf-8",
    *,
    sep: str = ",",
    comment: str | None = None,
    keep_default_na: bool = True,
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
        CSV cell contents read as missing besides the empty cell and the standard tokens, e.g. ``("?",)``.
    encoding : str
        Text encoding of a CSV file.
    sep : str
        CSV field separator: one character, or ``"whitespace"``.
    comment : str, optional
        A character that starts a comment: lines starting with it are skipped, and the rest of a line
        after it is ignored.
    keep_default_na : bool
        Read pandas' standard missing tokens (``NA``, ``null``…) as missing.

    Returns
    -------
    DataFrame
        With at least one row and one column, and unique column names.

    Raises
    ------
    VSAEError
        The file is missing, empty, has a header but no rows, has a line with more or fewer fields than
        the header, repeats a column name, seems separated by another character or to start with a
        comment, cannot be decoded, or is not a table of a known format.
    """
    frame, _ = read_table_text(
        path,
        categorical,
        missing_values,
        encoding,
        sep=sep,
        comment=comment,
        keep_default_na=keep_default_na,
    )
    return frame


def read_table_text(
    path: str | os.PathLike[str],
    categorical: Collection[str] | None = None,
    missing_values: Sequence[str] = (),
    encoding: str = "utf-8",
    *,
    sep: str = ",",
    comment: str | None = None,
    keep_default_na: bool = True,
) -> tuple[pd.DataFrame, CsvText | None]:
    """:func:`read_table`, and for a CSV file the text of every cell as it was in the file."""
    source = Path(path)
    fmt = check_input_path(source)
    text = None
    with _reading_errors(source, fmt):
        if fmt == "csv":
            text = _read_csv_text(source, encoding, sep, comment)
            frame = _typed_csv(
                source, text, categorical or (), missing_values, encoding, sep, comment, keep_default_na
            )
        else:
            frame = pd.read_parquet(source, engine="pyarrow")
    if frame.shape[1] == 0:
        raise VSAEError(f"{str(source)!r} has no columns")
    if frame.shape[0] == 0:
        raise VSAEError(f"{str(source)!r} has a header but no rows")
    return frame, text


def iter_table(
    path: str | os.PathLike[str],
    chunk_rows: int,
    categorical: Collection[str] | None = None,
    missing_values: Sequence[str] = (),
    encoding: str = "utf-8",
    *,
    dtypes: Mapping[str, object] | None = None,
    columns: Sequence[str] | None = None,
    sep: str = ",",
    comment: str | None = None,
    keep_default_na: bool = True,
) -> Iterator[pd.DataFrame]:
    """Read a CSV or Parquet table in chunks of at most ``chunk_rows`` rows, in bounded memory.

    Conventions, checks and errors are those of :func:`read_table`, except that the count of fields
    is checked on the first lines only, and that leading-zero codes are typed as the chunk shows
    them. Every chunk but the last has exactly ``chunk_rows`` rows, and its index continues the
    previous one's row numbers. Column types are inferred chunk by chunk unless given: ``dtypes`` maps
    CSV column names to the type to parse them as (``categorical`` columns are text). ``columns``
    restricts a Parquet read to those columns.
    """
    source = Path(path)
    fmt = check_input_path(source)
    rows = 0
    with _reading_errors(source, fmt, strict=False), ExitStack() as opened:
        if fmt == "csv":
            _check_csv_start(source, encoding, sep, comment, fields=True)
            options = _csv_options(categorical or (), missing_values, encoding, sep, comment, keep_default_na)
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
def _reading_errors(source: Path, fmt: TableFormat, strict: bool = True) -> Iterator[None]:
    """Turn the errors of reading ``source`` into :class:`VSAEError` naming the file.

    ``strict``: pandas' warning that lines are longer than the header (it drops their extra fields)
    is an error too; not for generators (:func:`iter_table`), whose warning filters would outlive them.
    """
    try:
        with warnings.catch_warnings():
            if strict:
                warnings.filterwarnings("error", category=pd.errors.ParserWarning)
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
    except (pd.errors.ParserError, pd.errors.ParserWarning, csv.Error) as error:
        raise VSAEError(f"{str(source)!r} is not a well-formed CSV table: {_one_line(error)}") from error
    except (pa.ArrowException, OSError) as error:
        raise VSAEError(f"cannot read {str(source)!r} as {fmt}: {_one_line(error)}") from error


# -- CSV text -----------------------------------------------------------------------------------------
def _records(lines: Iterable[str], sep: str, comment: str | None) -> Iterator[tuple[int, list[str]]]:
    """``(first line number, fields)`` of every record of a CSV text, skipping blank and comment lines
    as pandas does (a quoted field may span lines)."""
    if sep == WHITESPACE:
        for number, line in enumerate(lines, start=1):
            if comment is not None:
                line = line.split(comment, 1)[0]
            if line.strip():
                yield number, line.split()
        return
    numbered = _numbered(lines, comment)
    reader = csv.reader(numbered.lines(), delimiter=sep, quotechar='"', strict=False)
    for fields in reader:
        start = numbered.start_of_record(reader.line_num)
        if fields:  # a blank line is [], a line holding one empty quoted field [""]
            yield start, fields


class _numbered:
    """Lines with comments stripped, remembering the file line of every line handed to the reader."""

    def __init__(self, lines: Iterable[str], comment: str | None) -> None:
        self._lines, self._comment = lines, comment
        self._numbers: list[int] = []
        self._done = 0  # reader lines already attributed to records

    def lines(self) -> Iterator[str]:
        for number, line in enumerate(self._lines, start=1):
            if self._comment is not None and self._comment in line:
                if line.lstrip().startswith(self._comment):
                    continue
                line = line.split(self._comment, 1)[0] + "\n"
            self._numbers.append(number)
            yield line

    def start_of_record(self, reader_lines: int) -> int:
        start = self._numbers[self._done]
        self._done = reader_lines
        return start


def _read_csv_text(source: Path, encoding: str, sep: str, comment: str | None) -> CsvText:
    """Every cell's text and the line each row starts on; checks the start and the field counts."""
    _check_csv_start(source, encoding, sep, comment)
    with open(source, encoding=encoding, newline="") as handle:
        records = _records(handle, sep, comment)
        first = next(records, None)
        if first is None:
            raise pd.errors.EmptyDataError("no header line")
        header_line, header = first
        rows: list[list[str]] = []
        starts: list[int] = []
        for number, fields in records:
            if len(fields) != len(header):
                raise VSAEError(
                    f"{str(source)!r}: line {number} has {len(fields)} fields but the header "
                    f"(line {header_line}) has {len(header)}; fix the line, or check the separator "
                    "(--sep) and quoting"
                )
            rows.append(fields)
            starts.append(number)
    _check_names(source, header)
    cells = pd.DataFrame(rows, columns=header, dtype=object) if rows else pd.DataFrame(columns=header)
    return CsvText(header, cells, np.asarray(starts, dtype=np.int64))


def _check_names(source: Path, names: list[str]) -> None:
    # pandas renames a repeated header ("a", "a.1") without a word.
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise VSAEError(f"{str(source)!r} repeats the column name(s) {', '.join(map(repr, repeated))}")


def _check_csv_start(
    source: Path, encoding: str, sep: str, comment: str | None, fields: bool = False
) -> None:
    """Refuse a file whose first lines show another separator or a comment line; with ``fields``,
    or whose first records have another number of fields than the header."""
    with open(source, encoding=encoding, newline="") as handle:
        head = [line for line in (handle.readline() for _ in range(21)) if line]
    lines = [line.rstrip("\r\n") for line in head if line.strip()]
    if not lines:
        raise pd.errors.EmptyDataError("no header line")
    first = lines[0]
    if comment is None and first.lstrip().startswith("#"):
        raise VSAEError(
            f"{str(source)!r}: line 1 looks like a comment ({_shorten(first)!r}), not a header; skip "
            "comment lines with --comment '#' (comment='#')"
        )
    if fields:
        _check_first_records(source, head, sep, comment)
    if sep == WHITESPACE:
        return
    names = next(csv.reader([first], delimiter=sep))
    _check_names(source, names)
    if len(names) != 1 or sep != ",":
        return
    for mark, label in ((";", "';'"), ("\t", "'\\t'"), ("|", "'|'")):
        if mark in names[0]:
            raise VSAEError(
                f"{str(source)!r} has a single column named {names[0]!r}: its cells seem separated by "
                f"{mark!r}, not by commas; pass --sep {label} (sep={mark!r})"
            )
    widths = {len(line.split()) for line in lines}
    if len(widths) == 1 and widths.pop() > 1:
        raise VSAEError(
            f"{str(source)!r} has a single column named {names[0]!r}: its cells seem separated by "
            f"spaces, not by commas; pass --sep whitespace (sep='whitespace')"
        )


def _check_first_records(source: Path, head: list[str], sep: str, comment: str | None) -> None:
    """The field counts of the complete records among the first lines (the last may be cut)."""
    records = list(_records(head, sep, comment))
    if not records:
        return
    header_line, header = records[0]
    for number, fields in records[1:-1]:
        if len(fields) != len(header):
            raise VSAEError(
                f"{str(source)!r}: line {number} has {len(fields)} fields but the header "
                f"(line {header_line}) has {len(header)}; fix the line, or check the separator "
                "(--sep) and quoting"
            )


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _typed_csv(
    source: Path,
    text: CsvText,
    categorical: Collection[str],
    missing_values: Sequence[str],
    encoding: str,
    sep: str,
    comment: str | None,
    keep_default_na: bool,
) -> pd.DataFrame:
    """The typed table of a CSV file whose text is ``text``."""
    missing_tokens = {"", *missing_values, *(DEFAULT_NA_TOKENS if keep_default_na else ())}
    as_text = set(categorical) | set(_leading_zero_columns(text.cells, missing_tokens))
    options = _csv_options(as_text, missing_values, encoding, sep, comment, keep_default_na)
    frame = pd.read_csv(source, **options)
    if len(frame) != len(text.cells):  # the two readings must agree row for row
        raise VSAEError(
            f"{str(source)!r} is not a well-formed CSV table: {len(frame)} rows parsed, "
            f"{len(text.cells)} lines of fields"
        )
    _warn_stray_tokens(frame, text.cells, missing_tokens, as_text)
    return frame


def _leading_zero_columns(cells: pd.DataFrame, missing: set[str]) -> list[str]:
    """Columns holding a code written with a leading zero (``02140``): numbers would lose the zero."""
    found = []
    for name in cells.columns:
        values = cells[name]
        present = values[~values.isin(missing)]
        if present.str.match(_LEADING_ZERO).any():
            found.append(name)
    return found


def _warn_stray_tokens(
    frame: pd.DataFrame, cells: pd.DataFrame, missing: set[str], as_text: set[str]
) -> None:
    """Warn about a mostly numeric column read as text because of a few other tokens."""
    for name in frame.columns:
        if name in as_text or pd.api.types.is_numeric_dtype(frame[name].dtype):
            continue
        values = cells[name]
        present = values[~values.isin(missing)]
        if present.empty:
            continue
        numeric = present.str.match(_NUMBER)
        others = present[~numeric].value_counts()
        if numeric.mean() >= MOSTLY_NUMERIC_SHARE and len(others) <= MOSTLY_NUMERIC_TOKENS:
            tokens = ", ".join(f"{token!r} ({count}x)" for token, count in others.items())
            warnings.warn(
                f"column {name!r} is numeric but for {tokens}, so it is read as text (categorical); "
                "if they mean missing, pass them with --na-values (missing_values)",
                UserWarning,
                stacklevel=4,
            )


def _csv_options(
    categorical: Collection[str],
    missing_values: Sequence[str],
    encoding: str,
    sep: str = ",",
    comment: str | None = None,
    keep_default_na: bool = True,
) -> dict[str, Any]:
    """``pandas.read_csv`` settings of the CSV conventions (see the module notes)."""
    return {
        "keep_default_na": keep_default_na,
        "na_values": ["", *missing_values],
        "dtype": {name: str for name in categorical},
        "dtype_backend": "numpy_nullable",
        "encoding": encoding,
        "sep": r"\s+" if sep == WHITESPACE else sep,
        "comment": comment,
        "index_col": False,
    }


# -- writing ------------------------------------------------------------------------------------------
def write_table(
    frame: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    text: CsvText | None = None,
    observed: np.ndarray | None = None,
) -> Path:
    """Write ``frame`` (without its index) to a CSV or Parquet file, atomically; missing cells are empty.

    With ``text`` (the input's :class:`CsvText`, the same columns in the same order) and ``observed``
    (True for the input's observed cells), a CSV output holds, for every observed cell and every cell
    still missing, exactly the text it had in the input, and the header's exact fields; only the
    cells imputed are written from ``frame``. An existing file at ``path`` is replaced only once the
    new one is complete.
    """
    target = Path(path)
    fmt = check_output_path(target)
    with atomic_write(target) as temporary:
        if fmt == "csv":
            _frame_as_csv(frame, text, observed).to_csv(temporary, index=False)
        else:
            frame.to_parquet(temporary, index=False, engine="pyarrow")
    return target


def unchanged_cells(before: pd.DataFrame, after: pd.DataFrame) -> np.ndarray:
    """True where a cell holds a value in ``before`` and the same value in ``after`` (same columns)."""
    same = np.zeros(before.shape, dtype=bool)
    for j in range(before.shape[1]):
        old, new = before.iloc[:, j], after.iloc[:, j]
        present = old.notna().to_numpy() & new.notna().to_numpy()
        left = old.astype(object).to_numpy(dtype=object)
        right = new.astype(object).to_numpy(dtype=object)
        equal = np.fromiter(
            (bool(p) and a == b for p, a, b in zip(present, left, right, strict=True)), bool, len(old)
        )
        same[:, j] = equal
    return same


def csv_text(frame: pd.DataFrame, text: CsvText | None = None, observed: np.ndarray | None = None) -> str:
    """The CSV text :func:`write_table` would write."""
    buffer = io.StringIO()
    _frame_as_csv(frame, text, observed).to_csv(buffer, index=False)
    return buffer.getvalue()


def _frame_as_csv(frame: pd.DataFrame, text: CsvText | None, observed: np.ndarray | None) -> pd.DataFrame:
    if text is None:
        return frame
    if list(text.cells.columns) != list(frame.columns) or len(text.cells) != len(frame):
        raise VSAEError("the input's text does not match the table to write (columns or rows differ)")
    keep = frame.isna().to_numpy() if observed is None else (np.asarray(observed) | frame.isna().to_numpy())
    columns = {}
    for j in range(frame.shape[1]):
        original = text.cells.iloc[:, j].to_numpy(dtype=object)
        written = frame.iloc[:, j].astype(object).to_numpy(dtype=object)
        columns[j] = np.where(keep[:, j], original, written)
    out = pd.DataFrame(columns, index=frame.index)
    out.columns = text.header
    return out


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
