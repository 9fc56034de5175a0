"""The ``vsae`` command end to end, and its handling of malformed files.

The table is the first 300 rows of the shared white_wine data with 20% of its cells knocked out, plus
a text column (``grade``, derived from alcohol) and an integer-coded column (``band``, derived from pH)
so that both kinds of categorical input go through the files. Training budgets are tiny (5 epochs):
these tests check plumbing and contracts, not accuracy.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vsae.cli import main
from vsae.data import apply_mask, load_uci, mcar_mask
from vsae.errors import VSAEError
from vsae.io import read_table, write_table

ROOT = Path(__file__).resolve().parents[1]
EPOCHS = ["--epochs", "5"]


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    frame = load_uci("white_wine").frame.iloc[:300].reset_index(drop=True)
    frame["grade"] = np.where(frame["alcohol"] > 10.5, "high", "low")
    frame["band"] = pd.array(np.round(frame["pH"] * 10).astype(int), dtype="Int64")
    return apply_mask(frame, mcar_mask(frame.shape, 0.2, 0))


@pytest.fixture
def csv_path(table: pd.DataFrame, tmp_path: Path) -> Path:
    path = tmp_path / "wine.csv"
    table.to_csv(path, index=False)
    return path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_one_error_line(err: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("vsae: error: "), err
    assert "Traceback" not in err


def test_impute_fills_only_missing_cells(csv_path: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "imputed.csv"
    before = csv_path.read_bytes()
    status, stdout, err = run(["impute", csv_path, "-o", out, "--categorical", "band", *EPOCHS], capsys)
    assert status == 0, err
    assert "imputed" in stdout
    assert csv_path.read_bytes() == before
    original, imputed = read_table(csv_path, categorical=["band"]), read_table(out, categorical=["band"])
    assert list(imputed.columns) == list(original.columns)
    assert not imputed.isna().any().any()
    observed = original.notna().to_numpy()
    for j, name in enumerate(original.columns):
        kept = observed[:, j]
        assert (imputed[name][kept] == original[name][kept]).all(), name
    assert set(imputed["grade"]) <= {"high", "low"}
    assert set(imputed["band"]) <= set(original["band"].dropna())
    # Observed cells are written back exactly as read: an integer-coded column keeps no ".0".
    text = out.read_text().splitlines()
    assert text[0] == csv_path.read_text().splitlines()[0]
    assert not any(os.path.basename(p).startswith(".") for p in os.listdir(tmp_path))


def test_integer_column_stays_integer(table: pd.DataFrame, tmp_path: Path, capsys) -> None:
    path, out = tmp_path / "ints.csv", tmp_path / "ints_out.csv"
    table.to_csv(path, index=False)
    assert read_table(path)["band"].dtype == "Int64"
    status, _, err = run(["impute", path, "-o", out, *EPOCHS], capsys)
    assert status == 0, err
    band = read_table(out)["band"]
    assert band.dtype == "Int64" and band.notna().all()


def test_fit_transform_generate(csv_path: Path, tmp_path: Path, capsys) -> None:
    model, imputed, generated = tmp_path / "model", tmp_path / "t.csv", tmp_path / "g.csv"
    status, stdout, err = run(["fit", csv_path, "--model", model, "--categorical", "band", *EPOCHS], capsys)
    assert status == 0, err
    assert "saved the model" in stdout
    assert sorted(os.listdir(model)) == ["config.json", "model.safetensors"]

    status, _, err = run(["transform", model, csv_path, "-o", imputed], capsys)
    assert status == 0, err
    assert not read_table(imputed).isna().any().any()
    # Same seed and settings: the saved model imputes exactly as `vsae impute` does.
    direct = tmp_path / "direct.csv"
    assert run(["impute", csv_path, "-o", direct, "--categorical", "band", *EPOCHS], capsys)[0] == 0
    assert imputed.read_bytes() == direct.read_bytes()

    status, stdout, err = run(["generate", model, "-n", "200", "-o", generated], capsys)
    assert status == 0, err
    rows = read_table(generated, categorical=["band"])
    assert rows.shape == (200, 13)
    empty = rows.isna().to_numpy().mean()
    assert 0 < empty < 1  # the generated missingness pattern is written as empty cells
    assert set(rows["grade"].dropna()) <= {"high", "low"}

    full = tmp_path / "full.csv"
    assert run(["generate", model, "-n", "200", "-o", full, "--no-mask"], capsys)[0] == 0
    complete = read_table(full, categorical=["band"])
    assert not complete.isna().any().any()
    # The mask only blanks cells: every written cell equals the unmasked draw.
    written = rows.notna().to_numpy()
    assert (rows.astype(str).to_numpy()[written] == complete.astype(str).to_numpy()[written]).all()


def test_unseen_category_at_transform_warns(csv_path: Path, tmp_path: Path, capsys) -> None:
    model = tmp_path / "model"
    assert run(["fit", csv_path, "--model", model, *EPOCHS], capsys)[0] == 0
    frame = read_table(csv_path)
    frame.loc[3, "grade"] = "medium"
    changed, out = tmp_path / "changed.csv", tmp_path / "out.csv"
    write_table(frame, changed)
    status, _, err = run(["transform", model, changed, "-o", out], capsys)
    assert status == 0
    assert err.startswith("vsae: warning: column 'grade'") and "'medium'" in err
    assert read_table(out).loc[3, "grade"] in {"high", "low"}


@pytest.mark.parametrize("band_dtype", ["Int64", "float64"])
def test_parquet_round_trip_and_typed_labels(
    band_dtype: str, table: pd.DataFrame, tmp_path: Path, capsys
) -> None:
    source, out, model, csv_out = (tmp_path / n for n in ("in.parquet", "out.parquet", "m", "out.csv"))
    typed = table.astype({"band": band_dtype, "grade": "category"})
    write_table(typed, source)
    assert read_table(source).dtypes.equals(typed.dtypes)
    status, _, err = run(["fit", source, "--model", model, "--categorical", "band", *EPOCHS], capsys)
    assert status == 0, err
    status, _, err = run(["transform", model, source, "-o", out], capsys)
    assert status == 0, err
    imputed = read_table(out)
    assert imputed.dtypes.equals(typed.dtypes)
    assert list(imputed["grade"].cat.categories) == list(typed["grade"].cat.categories)
    assert not imputed.isna().any().any()
    assert set(imputed["band"]) <= set(typed["band"].dropna())
    # The model learned numeric labels (29 or 29.0); the same table as CSV spells them "29".
    csv_in = tmp_path / "in.csv"
    table.to_csv(csv_in, index=False)
    status, _, err = run(["transform", model, csv_in, "-o", csv_out], capsys)
    assert status == 0
    assert err == ""  # no label was mistaken for an unseen category
    assert not read_table(csv_out).isna().any().any()


def test_python_dash_m(csv_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    ok = subprocess.run(
        [sys.executable, "-m", "vsae", "impute", str(csv_path), "-o", str(out), *EPOCHS],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("imputed ") and ok.stderr == ""
    assert not read_table(out).isna().any().any()


@pytest.mark.parametrize("shared", [True, False], ids=["white_wine", "sklearn_wine"])
def test_demo(shared: bool, monkeypatch, capsys) -> None:
    if not shared:
        monkeypatch.delenv("VSAE_DATA", raising=False)
    status, stdout, err = run(["demo", "--epochs", "2"], capsys)
    assert status == 0, err
    header, row, note = stdout.strip().splitlines()
    assert "VSAE NRMSE" in header and "mean imputation NRMSE" in header
    cells = row.split()
    assert cells[0] == ("white_wine" if shared else "wine")
    assert int(cells[-5]) > 0  # rows
    vsae_error, mean_error = float(cells[-3]), float(cells[-2])
    assert 0 < vsae_error < 2 and 0.8 < mean_error < 1.3
    assert "50%" in note and "2 epochs" in note


# -- malformed input ------------------------------------------------------------------------------
MALFORMED = {
    "empty file": ("bad.csv", b"", "is empty"),
    "blank lines": ("bad.csv", b"\n\n", "no table"),
    "header only": ("bad.csv", b"a,b,c\n", "header but no rows"),
    "ragged rows": ("bad.csv", b"a,b\n1,2\n3,4,5\n", "line 3"),
    "wrong encoding": ("bad.csv", "a,b\n1,caf\u00e9\n2,x\n".encode("latin-1"), "not valid utf-8"),
    "repeated column": ("bad.csv", b"a,a,b\n1,2,3\n4,5,6\n", "repeats the column name(s) 'a'"),
    "semicolons": ("bad.csv", b"a;b\n1;\n;4\n", "seem separated by ';', not by commas"),
    "unknown suffix": ("bad.xlsx", b"a,b\n1,2\n", "unknown table format '.xlsx'"),
    "not parquet": ("bad.parquet", b"a,b\n1,2\n", "cannot read"),
    "text in numerical": ("bad.csv", b"a,b\n1,2\n3,oops\n5,6\n", "column 'b' is numerical but row 1"),
}


@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
def test_malformed_input_file(case: str, tmp_path: Path, capsys) -> None:
    name, content, expected = MALFORMED[case]
    path = tmp_path / name
    path.write_bytes(content)
    status, stdout, err = run(
        ["impute", path, "-o", tmp_path / "out.csv", "--numerical", "b", *EPOCHS], capsys
    )
    assert status == 2
    assert_one_error_line(err)
    assert expected in err
    assert name in err or case == "text in numerical"  # that one names the column and row instead
    assert stdout == ""
    assert path.read_bytes() == content
    assert sorted(os.listdir(tmp_path)) == [name]


@pytest.mark.parametrize(
    "argv, expected",
    [
        (
            ["impute", "{tmp}/absent.csv", "-o", "{tmp}/out.csv"],
            "input file '{tmp}/absent.csv' does not exist",
        ),
        (["impute", "{csv}", "-o", "{tmp}/no/such/folder/out.csv"], "folder '{tmp}/no/such/folder' does not"),
        (["impute", "{csv}", "-o", "{csv}"], "would overwrite the input"),
        (["impute", "{csv}", "-o", "{tmp}/out.txt"], "unknown table format '.txt'"),
        (["fit", "{csv}", "--model", "{tmp}/no/model"], "folder '{tmp}/no' does not exist"),
        (["transform", "{tmp}/absent_model", "{csv}", "-o", "{tmp}/out.csv"], "not a vsae model folder"),
        (["generate", "{tmp}", "-n", "5", "-o", "{tmp}/out.csv"], "not a vsae model folder"),
        (["generate", "{tmp}", "-n", "0", "-o", "{tmp}/out.csv"], "expected a positive integer, got '0'"),
        (["impute", "{csv}", "-o", "{tmp}/out.csv", "--epochs", "-3"], "argument --epochs"),
        (["impute", "{csv}"], "required: -o/--output"),
        (["impute", "{csv}", "-o", "{tmp}/out.csv", "--categorical", "nope"], "not in the table: nope"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        ([], "required: COMMAND"),
    ],
)
def test_user_errors_are_one_line(
    argv: list[str], expected: str, csv_path: Path, tmp_path: Path, capsys
) -> None:
    before = csv_path.read_bytes()
    listing = sorted(os.listdir(tmp_path))

    def fill(text: str) -> str:
        return text.format(tmp=tmp_path, csv=csv_path)

    status, stdout, err = run([fill(a) for a in argv], capsys)
    assert status == 2
    assert_one_error_line(err)
    assert fill(expected) in err
    assert stdout == ""
    assert csv_path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == listing


def test_training_divergence_is_a_user_error(csv_path: Path, tmp_path: Path, capsys) -> None:
    argv = ["impute", csv_path, "-o", tmp_path / "out.csv", "--epochs", "2", "--learning-rate", "1e6"]
    status, _, err = run(argv, capsys)
    assert status == 2
    assert_one_error_line(err)
    assert "lower learning_rate" in err
    assert not (tmp_path / "out.csv").exists()


def test_failed_write_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "out.parquet"
    target.write_bytes(b"previous")
    mixed = pd.DataFrame({"a": pd.Series([1, "text"], dtype=object)})  # pyarrow cannot type this column
    with pytest.raises(VSAEError, match="cannot write"):
        write_table(mixed, target)
    assert target.read_bytes() == b"previous"
    assert sorted(os.listdir(tmp_path)) == ["out.parquet"]


def test_help_and_version(capsys) -> None:
    assert run(["--version"], capsys)[1].startswith("vsae ")
    status, usage, _ = run(["--help"], capsys)
    assert status == 0
    for command in ("impute", "fit", "transform", "generate", "demo"):
        assert command in usage
