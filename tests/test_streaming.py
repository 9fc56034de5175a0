"""Streaming imputation: a file many times the chunk size, imputed chunk by chunk, is the in-memory result.

The in-memory reference is what imputing a whole file takes: :func:`vsae.io.read_table` (categorical
columns read as text, then :func:`vsae.streaming.fitted_labels`), :meth:`VSAEImputer.transform` and
:func:`vsae.io.write_table`. The files are built so that chunk-by-chunk type inference would go wrong:
a CSV integer column whose only decimal number sits in a late chunk, a column empty in the whole first
chunk, a Parquet integer and a boolean column without pandas metadata whose empty cells sit in late
chunks only, and Parquet row groups that are not a multiple of the chunk size.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from vsae import inference
from vsae.cli import main
from vsae.data import apply_mask, mcar_mask
from vsae.errors import VSAEError
from vsae.imputer import VSAEImputer
from vsae.io import read_table, write_table
from vsae.streaming import fitted_labels, transform_file

#: Rows the network imputes per forward pass in these tests (the library's is 65 536), and the chunk
#: size: a multiple of it, for bit-identical output (see vsae.streaming).
FORWARD_ROWS = 64
CHUNK_ROWS = 2 * FORWARD_ROWS
#: Rows of the file imputed: 7.8 chunks.
FILE_ROWS = 1000


def _table(white_wine: pd.DataFrame, rows: slice) -> pd.DataFrame:
    """White-wine rows with one column of each kind: decimal, integer, integer-coded classes, text and
    boolean classes (derived from the wine's own values, so that they can be learned)."""
    wine = white_wine.iloc[rows].reset_index(drop=True)
    sweetness = pd.cut(wine["residual_sugar"], [-1, 2, 8, 100], labels=["dry", "medium", "sweet"])
    return pd.DataFrame(
        {
            "alcohol": wine["alcohol"],
            "free_sulfur_dioxide": wine["free_sulfur_dioxide"].round().astype("Int64"),
            "quality": (wine["quality"] >= 6).astype("int64") + (wine["quality"] >= 7),  # classes 0, 1, 2
            "sweetness": sweetness.astype(str).astype(object),
            "acidic": (wine["pH"] < 3.15).astype("boolean"),
        }
    )


@pytest.fixture(scope="module")
def model_dir(white_wine: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.set_num_threads(1)  # built before the per-test one-thread fixture (see conftest)
    complete = _table(white_wine, slice(0, 300))
    frame = apply_mask(complete, mcar_mask(complete.shape, 0.3, 0))
    imputer = VSAEImputer(
        categorical_features=["quality"], epochs=4, warmup_epochs=1, device="cpu", random_state=0
    ).fit(frame)
    folder = tmp_path_factory.mktemp("streaming") / "model"
    imputer.save(folder)
    return folder


@pytest.fixture
def small_forward_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inference, "CHUNK_ROWS", FORWARD_ROWS)


def _write_input(white_wine: pd.DataFrame, path: Path) -> None:
    complete = _table(white_wine, slice(300, 300 + FILE_ROWS))
    observed = mcar_mask(complete.shape, 0.3, 1)
    observed[: CHUNK_ROWS + 5, 0] = False  # "alcohol" is empty in the whole first chunk
    if path.suffix == ".csv":
        frame = apply_mask(complete, observed)
        sulfur = frame["free_sulfur_dioxide"].astype("Float64")
        sulfur.iloc[FILE_ROWS - 50] = 31.5  # the one decimal number, in the last chunk
        frame["free_sulfur_dioxide"] = sulfur
        frame.to_csv(path, index=False)
        return
    # Empty integer and boolean cells in late chunks only, and no pandas metadata: pandas reads those
    # columns as int64/bool in early chunks and as float64/object in the file as a whole.
    observed[:600, [1, 4]] = True
    table = pa.Table.from_pandas(apply_mask(complete, observed), preserve_index=False)
    pq.write_table(table.replace_schema_metadata(None), path, row_group_size=300)


def _in_memory(model_dir: Path, source: Path, target: Path) -> None:
    imputer = VSAEImputer.load(model_dir)
    categorical = [m.name for m in imputer.schema_ if m.kind == "categorical"]
    frame = fitted_labels(read_table(source, categorical), imputer.schema_)
    write_table(imputer.transform(frame), target)


def _read_back(path: Path) -> Any:
    return path.read_bytes() if path.suffix == ".csv" else pd.read_parquet(path)


@pytest.mark.usefixtures("small_forward_passes")
@pytest.mark.parametrize(
    ("source_name", "target_name"),
    [
        ("in.csv", "out.csv"),
        ("in.parquet", "out.parquet"),
        ("in.csv", "out.parquet"),
        ("in.parquet", "out.csv"),
    ],
)
def test_streamed_file_is_the_in_memory_result(
    white_wine: pd.DataFrame, model_dir: Path, tmp_path: Path, source_name: str, target_name: str
) -> None:
    source, streamed, whole = (
        tmp_path / source_name,
        tmp_path / target_name,
        tmp_path / f"whole_{target_name}",
    )
    _write_input(white_wine, source)
    imputer = VSAEImputer.load(model_dir)
    sizes: list[int] = []
    transform = imputer.transform

    def recording_transform(X: Any) -> Any:
        sizes.append(len(X))
        return transform(X)

    imputer.transform = recording_transform  # type: ignore[method-assign]
    summary = transform_file(imputer, source, streamed, chunk_rows=CHUNK_ROWS)
    _in_memory(model_dir, source, whole)

    assert sizes == [CHUNK_ROWS] * (FILE_ROWS // CHUNK_ROWS) + [FILE_ROWS % CHUNK_ROWS]  # bounded chunks
    assert summary.rows == FILE_ROWS
    assert summary.imputed_cells == int(read_table(source).isna().to_numpy().sum()) > 0
    if target_name.endswith(".csv"):
        assert _read_back(streamed) == _read_back(whole)
    else:
        pd.testing.assert_frame_equal(_read_back(streamed), _read_back(whole))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([source.name, streamed.name, whole.name])


def test_a_failure_in_a_late_chunk_leaves_no_output(
    white_wine: pd.DataFrame, model_dir: Path, tmp_path: Path
) -> None:
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    frame = _table(white_wine, slice(300, 300 + FILE_ROWS))
    frame["alcohol"] = frame["alcohol"].astype(object)
    frame.loc[FILE_ROWS - 10, "alcohol"] = "oops"  # not a missing token (n/a, NA... are)
    frame.to_csv(source, index=False)
    target.write_text("previous content\n")

    with pytest.raises(VSAEError, match=rf"'alcohol'.*row {FILE_ROWS - 10}.*'oops'"):
        transform_file(model_dir, source, target, chunk_rows=CHUNK_ROWS)
    assert target.read_text() == "previous content\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]


@pytest.mark.usefixtures("small_forward_passes")
def test_cli_transform_with_chunk_rows_writes_the_in_memory_file(
    white_wine: pd.DataFrame, model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.csv"
    _write_input(white_wine, source)
    command = ["transform", str(model_dir), str(source), "-o"]
    assert main([*command, str(tmp_path / "streamed.csv"), "--chunk-rows", str(CHUNK_ROWS)]) == 0
    assert main([*command, str(tmp_path / "whole.csv")]) == 0
    assert (tmp_path / "streamed.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
    streamed, whole = capsys.readouterr().out.splitlines()

    def summary(line: str) -> str:  # the time taken differs; streaming does not count columns
        return re.sub(r" in \d+ columns?| \(\d+\.\d s\)", "", line)

    assert summary(streamed.replace("streamed", "whole")) == summary(whole)


@pytest.mark.parametrize("chunk_rows", [0, -5])
def test_chunk_rows_must_be_positive(model_dir: Path, tmp_path: Path, chunk_rows: int) -> None:
    with pytest.raises(VSAEError, match="chunk_rows must be at least 1"):
        transform_file(model_dir, tmp_path / "in.csv", tmp_path / "out.csv", chunk_rows=chunk_rows)


def test_a_missing_input_is_named(model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(VSAEError, match=r"input file '.*missing\.parquet' does not exist"):
        transform_file(model_dir, tmp_path / "missing.parquet", tmp_path / "out.csv")
    assert list(tmp_path.iterdir()) == []
