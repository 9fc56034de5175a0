"""Reading the CSV files people actually have, and writing observed cells back exactly as they were.

Each test is one quirk of real files (a header shorter than its rows, a comment line, R's ``NA``, codes
with leading zeros, numbers spelled ``0.640``, blank-separated columns), read with
:func:`vsae.io.read_table` / :func:`vsae.io.read_table_text` and written with :func:`vsae.io.write_table`.
The round trip of observed cells is a Hypothesis property over generated CSV files.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vsae.errors import VSAEError
from vsae.io import DEFAULT_NA_TOKENS, csv_text, read_table, read_table_text, unchanged_cells, write_table

STOCKS = Path(__import__("matplotlib").get_data_path()) / "sample_data" / "Stocks.csv"


def write(tmp_path: Path, content: str, name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_text(content)
    return path


# -- 1. a header with fewer fields than the rows ----------------------------------------------------------
def test_header_shorter_than_its_rows_is_refused_with_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b\n1,2,10\n3,,11\n5,6,12\n7,8,13\n")
    with pytest.raises(VSAEError, match=r"line 2 has 3 fields but the header \(line 1\) has 2"):
        read_table(path)


def test_a_short_row_is_refused_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, 'a,b,c\n1,2,3\n"x\ny",5,6\n7,8\n')
    with pytest.raises(VSAEError, match=r"line 5 has 2 fields but the header \(line 1\) has 3"):
        read_table(path)


def test_matplotlib_stocks_file_is_read_whole() -> None:
    with pytest.raises(VSAEError, match="--comment '#'"):
        read_table(STOCKS)
    frame = read_table(STOCKS, comment="#")
    assert frame.shape == (524, 11)  # 526 lines: a comment, the header, 524 rows
    assert list(frame.columns[:3]) == ["Date", "IBM", "AAPL"]
    assert frame["Date"].iloc[0] == "1990-01-01"
    assert frame["IBM"].dtype == "Float64" and frame["IBM"].notna().sum() > 300


# -- 2. a leading comment line ----------------------------------------------------------------------------
def test_leading_comment_line_is_refused_and_skipped_with_comment(tmp_path: Path) -> None:
    path = write(tmp_path, "# exported 2024-01-01\na,b\n1,x\n2,\n3,y\n")
    with pytest.raises(VSAEError, match=r"line 1 looks like a comment .*--comment '#'"):
        read_table(path)
    frame, text = read_table_text(path, comment="#")
    assert list(frame.columns) == ["a", "b"]
    assert frame["b"].tolist()[0] == "x" and pd.isna(frame["b"].iloc[1])
    assert text is not None and text.lines.tolist() == [3, 4, 5]


# -- 3. NA and the other standard tokens are missing ------------------------------------------------------
@pytest.mark.parametrize("token", ["NA", "N/A", "NaN", "null", "NULL", "None", "#N/A", "nan", "<NA>"])
def test_standard_missing_tokens_are_missing(token: str, tmp_path: Path) -> None:
    assert token in DEFAULT_NA_TOKENS
    path = write(tmp_path, f"a,b\n1,2.5\n2,{token}\n3,4.0\n")
    frame = read_table(path)
    assert pd.api.types.is_float_dtype(frame["b"].dtype)
    assert frame["b"].isna().tolist() == [False, True, False]
    # keep_default_na=False: only the empty cell is missing, NA is a value again.
    kept = read_table(path, keep_default_na=False)
    assert kept["b"].tolist()[1] == token


def test_a_few_stray_tokens_in_a_numeric_column_are_named(tmp_path: Path) -> None:
    rows = "".join(f"{i},{i / 4}\n" for i in range(40))
    path = write(tmp_path, f"id,value\n{rows}40,-\n41,-\n42,n.a.\n")
    with pytest.warns(UserWarning, match=r"column 'value' is numeric but for '-' \(2x\), 'n.a.' \(1x\)"):
        read_table(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = read_table(path, missing_values=["-", "n.a."])
    assert pd.api.types.is_float_dtype(frame["value"].dtype) and frame["value"].isna().sum() == 3


# -- 4. codes with leading zeros are text; observed cells come back byte for byte --------------------------
def test_leading_zero_codes_are_text(tmp_path: Path) -> None:
    path = write(tmp_path, "zip,x\n02140,0.640\n10001,\n,1.50\n")
    frame = read_table(path)
    assert frame["zip"].tolist()[:2] == ["02140", "10001"]
    assert pd.api.types.is_float_dtype(frame["x"].dtype)


def test_observed_cells_are_written_with_their_input_text(tmp_path: Path) -> None:
    path = write(tmp_path, "zip,x,y\n02140,0.640,1e3\n10001,,7\n00501,1.50,-0.0\n")
    frame, text = read_table_text(path)
    filled = frame.fillna({"x": 0.25})
    out = write_table(filled, tmp_path / "out.csv", text=text, observed=unchanged_cells(frame, filled))
    assert out.read_text() == "zip,x,y\n02140,0.640,1e3\n10001,0.25,7\n00501,1.50,-0.0\n"


NUMBER_TEXT = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.decimals(-1000, 1000, places=3, allow_nan=False, allow_infinity=False).map(str),
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda v: f"{v:.4e}"),
    st.integers(0, 99999).map(lambda v: f"{v:05d}"),  # codes with leading zeros
    st.sampled_from(["0.640", "1.50", "-0.0", "+3", ".5", "7."]),
)
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=8).filter(
    lambda s: s.strip() == s and s not in DEFAULT_NA_TOKENS and not s.startswith("#")
)


@st.composite
def csv_tables(draw: st.DrawFn) -> list[list[str]]:
    n_columns = draw(st.integers(1, 4))
    n_rows = draw(st.integers(1, 8))
    kinds = [draw(st.sampled_from(["number", "text", "mixed"])) for _ in range(n_columns)]
    header = [f"c{j}" for j in range(n_columns)]
    rows = []
    for _ in range(n_rows):
        row = []
        for kind in kinds:
            cell = draw(
                NUMBER_TEXT if kind == "number" else TEXT if kind == "text" else st.one_of(NUMBER_TEXT, TEXT)
            )
            row.append("" if draw(st.integers(0, 3)) == 0 else cell)
        rows.append(row)
    if all(cell == "" for row in rows for cell in row):
        rows[0][0] = "1"
    return [header, *rows]


def _fill(frame: pd.DataFrame) -> pd.DataFrame:
    """Stand-in for an imputer: every missing cell gets a value of its column's type."""
    values = {}
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column.dtype):
            values[name] = 1
        else:
            values[name] = "imputed"
    return frame.fillna(values)


@settings(max_examples=120, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(table=csv_tables())
def test_observed_cells_round_trip_byte_identical(table: list[list[str]], tmp_path_factory) -> None:
    folder = tmp_path_factory.mktemp("roundtrip")
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(table)
    source = folder / "in.csv"
    source.write_text(buffer.getvalue())
    rows = table[1:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # stray-token notes
        frame, text = read_table_text(source)
    assert frame.shape == (len(rows), len(table[0]))
    filled = _fill(frame)
    written = list(csv.reader(io.StringIO(csv_text(filled, text, unchanged_cells(frame, filled)))))
    assert written[0] == table[0]
    for given_row, out_row in zip(rows, written[1:], strict=True):
        for cell, out in zip(given_row, out_row, strict=True):
            if cell != "":
                assert out == cell  # observed: the input text, byte for byte
            else:
                assert out != ""  # missing: imputed
    # The file itself: every row without a missing cell is the input line, unchanged.
    lines = buffer.getvalue().splitlines()[1:]
    out_lines = csv_text(filled, text, unchanged_cells(frame, filled)).splitlines()[1:]
    complete = [i for i, row in enumerate(rows) if "" not in row]
    for i in complete:
        assert out_lines[i] == lines[i]


# -- 5. whitespace-separated files ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "content, separator, option",
    [
        ("a b c\n1 2 3\n4  5 6\n", "spaces", "whitespace"),
        ("a\tb\tc\n1\t2\t3\n4\t5\t6\n", "'\\t'", "\t"),
        ("a;b;c\n1;2;3\n4;5;6\n", "';'", ";"),
    ],
    ids=["spaces", "tabs", "semicolons"],
)
def test_other_separators_are_named_and_read_with_sep(
    content: str, separator: str, option: str, tmp_path: Path
) -> None:
    path = write(tmp_path, content)
    with pytest.raises(VSAEError, match=rf"seem separated by {re.escape(separator)}.*--sep"):
        read_table(path)
    frame = read_table(path, sep=option)
    assert list(frame.columns) == ["a", "b", "c"]
    assert frame.to_numpy().tolist() == [[1, 2, 3], [4, 5, 6]]


def test_one_text_column_with_spaces_is_not_taken_for_blank_separated(tmp_path: Path) -> None:
    path = write(tmp_path, "comment\nall good\nnot so good at all\n\n")
    assert read_table(path)["comment"].tolist() == ["all good", "not so good at all"]


def test_the_line_of_every_row_is_known(tmp_path: Path) -> None:
    path = write(tmp_path, 'a,b\n1,2\n\n"two\nlines",3\n4,5\n')
    frame, text = read_table_text(path)
    assert text is not None and text.lines.tolist() == [2, 4, 6]
    assert np.asarray(frame["b"]).tolist() == [2, 3, 5]


def test_chunked_reading_checks_fields_too(tmp_path: Path) -> None:
    from vsae.io import iter_table

    path = write(tmp_path, "a,b\n1,2,10\n3,,11\n5,6,12\n")
    with pytest.raises(VSAEError, match=r"line 2 has 3 fields but the header \(line 1\) has 2"):
        list(iter_table(path, 2))
    late = write(tmp_path, "a,b\n" + "1,2\n" * 30 + "3,4,5\n", "late.csv")
    with pytest.raises(VSAEError, match="Expected 2 fields in line 32, saw 3"):
        list(iter_table(late, 10))
    assert [len(chunk) for chunk in iter_table(write(tmp_path, "a,b\n1,NA\n2,3\n", "na.csv"), 1)] == [1, 1]
