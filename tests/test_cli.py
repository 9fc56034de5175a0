"""The ``vsae`` command end to end, and its handling of malformed files.

The table is the first 300 rows of the shared white_wine data with 20% of its cells knocked out, plus
a text column (``grade``, derived from alcohol) and an integer-coded column (``band``, derived from pH)
so that both kinds of categorical input go through the files. Training budgets are tiny (5 epochs):
these tests check plumbing and contracts, not accuracy.
"""

from __future__ import annotations

import io
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
from vsae.imputer import VSAEImputer
from vsae.io import read_table, write_table
from vsae.model.ensemble import members_of

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


def test_ensemble_size_option(csv_path: Path, tmp_path: Path, capsys) -> None:
    """The table has 300 rows and categorical columns, so the default is three networks
    (vsae.train.default_ensemble_size); the option sets the number, and the saved model keeps it."""
    for size in ("2", None):
        model = tmp_path / f"model-{size}"
        argv = ["fit", csv_path, "--model", model, "--epochs", "2"] + (
            ["--ensemble-size", size] if size else []
        )
        status, _, err = run(argv, capsys)
        assert status == 0, err
        members = len(members_of(VSAEImputer.load(model).model_))
        assert members == (2 if size else 3)


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
    intro, header, *rows, note = stdout.strip().splitlines()
    assert intro.startswith("white_wine: 4898 rows" if shared else "wine (scikit-learn): 178 rows")
    assert "50% of cells missing" in intro and "2 epochs" in intro
    assert header.split() == ["method", "NRMSE", "fit", "+", "impute", "(s)"]
    scores = {}
    for row in rows:  # name, NRMSE, seconds
        *name, error, seconds = row.split()
        scores[" ".join(name)] = float(error)
        assert float(seconds) >= 0
    assert list(scores) == ["VSAE", "IterativeImputer", "KNNImputer (k=5)", "mean imputation"]
    assert 0.8 < scores["mean imputation"] < 1.3
    assert all(0 < error < 2 for error in scores.values())
    assert scores["IterativeImputer"] < scores["mean imputation"]  # the peers are real imputers
    assert "same holes" in note


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
    "text in numerical": ("bad.csv", b"a,b\n1,2\n3,oops\n5,6\n", "column 'b' is numerical but line 3 holds"),
    "short header": ("bad.csv", b"a,b\n1,2,10\n3,,11\n", "line 2 has 3 fields but the header (line 1) has 2"),
    "comment line": ("bad.csv", b"# comment\na,b\n1,2\n3,\n", "--comment '#'"),
    "blank-separated": ("bad.csv", b"a b\n1 2\n3 4\n", "seem separated by spaces, not by commas; pass --sep"),
    "infinite on line": ("bad.csv", b"a,b\n1,2\n3,inf\n5,6\n", "infinite value ('inf') on line 3"),
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
    assert name in err or case in ("text in numerical", "infinite on line")  # these name column and line
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


# -- files people actually have (docs/robustness.md, "Files people actually have") ---------------------
def test_observed_cells_come_back_byte_identical(tmp_path: Path, capsys) -> None:
    rows = [f"{i:05d},{0.125 * (i % 8):.3f},{i % 3}" for i in range(2000, 2060)]
    rows[3] = "02003,,0"  # one hole
    source, out = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_text("zip,share,band\n" + "\n".join(rows) + "\n")
    status, stdout, err = run(["impute", source, "-o", out, *EPOCHS], capsys)
    assert status == 0, err
    lines = out.read_text().splitlines()
    assert lines[0] == "zip,share,band"
    for i, (given, written) in enumerate(zip(rows, lines[1:], strict=True)):
        if i != 3:
            assert written == given  # "02140" and "0.640" are not rewritten as 2140 and 0.64
    zip_code, share, band = lines[4].split(",")
    assert (zip_code, band) == ("02003", "0") and share != ""
    assert stdout.startswith("imputed 1 missing cell in 1 column (")


def test_na_cells_are_imputed(tmp_path: Path, capsys) -> None:
    source, out = tmp_path / "in.csv", tmp_path / "out.csv"
    lines = [f"{i},{i / 10}" for i in range(40)]
    lines[5] = "5,NA"
    source.write_text("a,b\n" + "\n".join(lines) + "\n")
    status, stdout, err = run(["impute", source, "-o", out, *EPOCHS], capsys)
    assert status == 0, err
    assert "imputed 1 missing cell in 1 column" in stdout
    written = out.read_text().splitlines()[6].split(",")
    assert written[0] == "5" and written[1] != "NA" and 0 <= float(written[1]) <= 4


def test_sep_and_comment_options(tmp_path: Path, capsys) -> None:
    source, out = tmp_path / "in.csv", tmp_path / "out.csv"
    body = "\n".join(f"{i}  {i * 2}\t{'NA' if i == 3 else i % 2}" for i in range(30))
    source.write_text("# a comment\nx y z\n" + body + "\n")
    argv = ["impute", source, "-o", out, "--sep", "whitespace", "--comment", "#", *EPOCHS]
    status, _, err = run(argv, capsys)
    assert status == 0, err
    frame = read_table(out)
    assert list(frame.columns) == ["x", "y", "z"] and frame.shape == (30, 3)
    assert frame.notna().all().all()


def test_output_folder_is_explained(csv_path: Path, tmp_path: Path, capsys) -> None:
    status, _, err = run(["impute", csv_path, "-o", tmp_path, *EPOCHS], capsys)
    assert status == 2
    assert_one_error_line(err)
    assert "it is a folder; give a file name, e.g." in err


def test_stdin_and_stdout(csv_path: Path, monkeypatch, capsys) -> None:
    content = csv_path.read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(content)))
    status, stdout, err = run(["impute", "-", "-o", "-", *EPOCHS], capsys)
    assert status == 0, err
    assert err.startswith("imputed ") and err.rstrip().endswith("wrote stdout")  # the summary on stderr
    imputed = pd.read_csv(io.StringIO(stdout))
    assert imputed.shape == (300, 13) and not imputed.isna().any().any()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"a,b\n1,2,3\n")))
    status, _, err = run(["impute", "-", "-o", "-", *EPOCHS], capsys)
    assert status == 2 and "<stdin>: line 2 has 3 fields" in err


def test_a_complete_table_is_copied_without_a_fit(tmp_path: Path, monkeypatch, capsys) -> None:
    def no_fit(*args, **kwargs):
        raise AssertionError("fitted a table with nothing missing")

    monkeypatch.setattr(VSAEImputer, "fit", no_fit)
    source, out = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_bytes(b"a,b\n1,0.50\n2,x\n")
    status, stdout, err = run(["impute", source, "-o", out], capsys)
    assert status == 0, err
    assert out.read_bytes() == source.read_bytes()
    assert stdout.startswith("nothing to impute: no cell is missing")


def test_transform_matches_columns_by_name(csv_path: Path, tmp_path: Path, capsys) -> None:
    model = tmp_path / "model"
    assert run(["fit", csv_path, "--model", model, "--categorical", "band", *EPOCHS], capsys)[0] == 0
    frame = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    shuffled = frame[list(reversed(frame.columns))]
    source, out, reference = tmp_path / "shuffled.csv", tmp_path / "out.csv", tmp_path / "ref.csv"
    shuffled.to_csv(source, index=False)
    status, _, err = run(["transform", model, source, "-o", out], capsys)
    assert status == 0, err
    assert run(["transform", model, csv_path, "-o", reference], capsys)[0] == 0
    result = pd.read_csv(out, dtype=str)
    assert list(result.columns) == list(shuffled.columns)  # the input's order is kept
    expected = pd.read_csv(reference, dtype=str)[list(shuffled.columns)]
    pd.testing.assert_frame_equal(result, expected)


@pytest.mark.parametrize("checkpoint", [False, True], ids=["no_checkpoint", "checkpoint"])
def test_interrupt_says_how_to_resume(
    checkpoint: bool, csv_path: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    def interrupted(*args, **kwargs):
        (tmp_path / "ckpt").mkdir(exist_ok=True)
        raise KeyboardInterrupt

    monkeypatch.setattr(VSAEImputer, "fit", interrupted)
    extra = ["--checkpoint-dir", tmp_path / "ckpt"] if checkpoint else []
    status, _, err = run(["impute", csv_path, "-o", tmp_path / "out.csv", *extra], capsys)
    assert status == 130
    if checkpoint:
        assert "Run the same command with --resume" in err and "ckpt" in err
    else:
        assert "start it with --checkpoint-dir DIR, then run the same command with --resume" in err
    assert not (tmp_path / "out.csv").exists()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal_only(csv_path: Path, tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "out.csv"
    for stream, extra, shown in (
        (_Terminal(), [], True),
        (_Terminal(), ["--quiet"], False),
        (io.StringIO(), [], False),
        (io.StringIO(), ["--verbose"], True),
    ):
        monkeypatch.setattr(sys, "stderr", stream)
        monkeypatch.setattr(sys, "stdout", io.StringIO())
        assert main([str(a) for a in ["impute", csv_path, "-o", out, *EPOCHS, *extra]]) == 0
        assert ("vsae fit" in stream.getvalue()) is shown, (extra, stream.getvalue())
        summary = sys.stdout.getvalue()
        assert summary.startswith("imputed ") and " s); wrote " in summary


def test_threads_option_sets_torch_threads_during_fit(
    csv_path: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    import torch

    import vsae.imputer

    seen = []
    original = vsae.imputer.train_vsae

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        torch.set_num_threads(1)  # two threads on a busy machine are slow; the count was recorded
        return original(*args, **kwargs)

    monkeypatch.setattr(vsae.imputer, "train_vsae", spy)
    small = tmp_path / "small.csv"
    read_table(csv_path).iloc[:40, :3].to_csv(small, index=False)
    quick = ["--epochs", "1"]
    assert run(["impute", small, "-o", tmp_path / "a.csv", "--threads", "2", *quick], capsys)[0] == 0
    assert run(["impute", small, "-o", tmp_path / "b.csv", *quick], capsys)[0] == 0
    assert seen == [2, 1]
    assert torch.get_num_threads() == 1  # restored


def test_ignored_and_id_columns_pass_through(tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(0)
    n = 120
    frame = pd.DataFrame(
        {
            "customer": [f"C{i:05d}" for i in range(n)],
            "note": [f"called {i} times" for i in rng.permutation(n)],
            "income": rng.normal(50, 10, n).round(2),
            "spend": rng.normal(20, 5, n).round(2),
        }
    )
    frame.loc[[3, 8], "income"] = np.nan
    frame.loc[[5], "customer"] = None
    source, out = tmp_path / "in.csv", tmp_path / "out.csv"
    frame.to_csv(source, index=False)
    status, stdout, err = run(["impute", source, "-o", out, "--ignore", "note", *EPOCHS], capsys)
    assert status == 0, err
    assert "column 'customer' looks like an ID or free text" in err  # warned, not modelled
    result = pd.read_csv(out, dtype=str, keep_default_na=False)
    original = pd.read_csv(source, dtype=str, keep_default_na=False)
    assert result["customer"].tolist() == original["customer"].tolist()  # untouched, the hole too
    assert result["note"].tolist() == original["note"].tolist()
    assert (result["income"] != "").all()
    assert "imputed 2 missing cells in 1 column" in stdout and "left missing" in stdout
    model, generated = tmp_path / "model", tmp_path / "generated.csv"
    assert run(["fit", source, "--model", model, "--ignore", "note", *EPOCHS], capsys)[0] == 0
    assert run(["generate", model, "-n", "30", "-o", generated], capsys)[0] == 0
    rows = pd.read_csv(generated, dtype=str, keep_default_na=False)
    assert list(rows.columns) == list(frame.columns)
    assert (rows["customer"] == "").all() and (rows["note"] == "").all()  # no real ID or note reused


def test_impute_loads_neither_benchmark_nor_baselines() -> None:
    code = (
        "import sys, vsae.cli; "
        "print(sorted(m for m in sys.modules if m.startswith(('vsae.bench', 'vsae.baselines', 'vsae.data'))))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert done.stdout.strip() == "[]"


def test_bench_help_still_works(capsys) -> None:
    status, usage, _ = run(["bench", "--help"], capsys)
    assert status == 0 and "preset" in usage and "--seeds" in usage
