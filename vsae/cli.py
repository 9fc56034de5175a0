"""The ``vsae`` command: impute, fit, transform and generate tables from the shell, and a demo.

Tables are CSV or Parquet files (see :mod:`vsae.io`: an empty CSV cell is a missing value). A model is
a folder written by :meth:`vsae.imputer.VSAEImputer.save`.

A user error (bad file, bad data, bad argument) prints one line ``vsae: error: ...`` on stderr and
exits with status 2; anything else is a bug and keeps its traceback. ``-`` as the input reads CSV from
stdin, as the output writes CSV to stdout (the summary line then goes to stderr).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn, TextIO

import numpy as np
import pandas as pd

from vsae import __version__, distributed
from vsae.errors import VSAEError
from vsae.imputer import VSAEImputer
from vsae.io import (
    FORMATS,
    WHITESPACE,
    CsvText,
    check_output_path,
    csv_text,
    read_table_text,
    table_format,
    unchanged_cells,
    write_table,
)
from vsae.streaming import DEFAULT_CHUNK_ROWS, STREAMING_THRESHOLD_BYTES, fitted_labels, transform_file

# The benchmark (vsae.bench), the baselines, the data loaders and scikit-learn's imputers are imported
# by the commands that use them (bench, demo), so that `vsae impute` loads only what it needs.

#: Share of cells hidden at random from the demo's train and test rows (docs/protocol.md, "Tables": MCAR).
DEMO_MISSING_RATE = 0.5
#: The name of the standard streams as a file argument.
STDIO = "-"


class _Parser(argparse.ArgumentParser):
    """Usage errors in the same one-line form as every other user error (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"vsae: error: {message} (see '{self.prog} --help')\n")


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``vsae`` command."""
    formats = ", ".join(FORMATS)

    reading = argparse.ArgumentParser(add_help=False)
    group = reading.add_argument_group("reading CSV files")
    group.add_argument(
        "--na-values",
        type=_names,
        default=[],
        metavar="A,B",
        help="cell contents read as missing besides empty cells and pandas' standard tokens "
        "(NA, N/A, NaN, null, None, #N/A...), e.g. '?,-'",
    )
    group.add_argument(
        "--no-default-na",
        dest="keep_default_na",
        action="store_false",
        help="read only empty cells (and --na-values) as missing, not NA, null, None...",
    )
    group.add_argument(
        "--sep",
        default=",",
        metavar="C",
        help=f"field separator: one character (';', '\\t', '|'), or '{WHITESPACE}' for runs of blanks "
        "(default: ',')",
    )
    group.add_argument(
        "--comment",
        metavar="C",
        help="comment character: lines starting with it are skipped, the rest of a line after it ignored",
    )
    group.add_argument("--encoding", default="utf-8", help="text encoding of CSV input (default: utf-8)")

    columns = argparse.ArgumentParser(add_help=False)
    group = columns.add_argument_group("column types (default: numbers are numerical, the rest categorical)")
    group.add_argument(
        "--categorical",
        type=_names,
        action="extend",
        default=None,
        metavar="A,B",
        help="columns to treat as categorical, e.g. integer-coded classes",
    )
    group.add_argument(
        "--numerical",
        type=_names,
        action="extend",
        default=None,
        metavar="A,B",
        help="columns that must hold numbers (a text cell in them is reported)",
    )
    group.add_argument(
        "--ignore",
        type=_names,
        action="extend",
        default=None,
        metavar="A,B",
        help="columns passed through untouched (neither learned from nor imputed), e.g. IDs or free "
        "text; near-unique text columns are passed through anyway, with a warning",
    )

    device = argparse.ArgumentParser(add_help=False)
    device.add_argument(
        "--device", default="auto", help="'auto' (CUDA when available), 'cpu', 'cuda', 'cuda:1'..."
    )

    training = argparse.ArgumentParser(add_help=False, parents=[device])
    training.add_argument(
        "--epochs",
        type=_positive_int,
        metavar="N",
        help="maximum training epochs (default: the imputer's default)",
    )
    training.add_argument(
        "--learning-rate",
        type=_positive_float,
        metavar="LR",
        help="Adam step size (default: the imputer's default)",
    )
    training.add_argument(
        "--ensemble-size",
        type=_positive_int,
        metavar="N",
        help="networks trained and averaged (default: on numerical tables 3 up to 1,666 rows, 2 up to "
        "2,500 rows, 1 above; 1 when a column is categorical); 1 is the fastest",
    )
    training.add_argument("--seed", type=_non_negative_int, default=0, help="random seed (default: 0)")
    training.add_argument(
        "--threads",
        type=_positive_int,
        metavar="N",
        help="CPU threads for training and imputation (default: 1, see docs/robustness.md)",
    )
    loudness = training.add_mutually_exclusive_group()
    loudness.add_argument(
        "--verbose",
        action="store_true",
        help="show a progress bar while training (default: when stderr is a terminal)",
    )
    loudness.add_argument("--quiet", action="store_true", help="no progress bar")

    checkpointing = argparse.ArgumentParser(add_help=False)
    group = checkpointing.add_argument_group("interrupted training")
    group.add_argument(
        "--checkpoint-dir",
        metavar="DIR",
        help="folder where the training state is saved every --checkpoint-every epochs (replaced)",
    )
    group.add_argument(
        "--checkpoint-every",
        type=_positive_int,
        metavar="N",
        help="epochs between checkpoints (default: the imputer's default)",
    )
    group.add_argument(
        "--resume",
        action="store_true",
        help="continue the run checkpointed in --checkpoint-dir (same table and settings); the result "
        "is the model an uninterrupted run gives. Without a checkpoint there yet, training starts afresh",
    )

    parser = _Parser(
        prog="vsae",
        description="Variational Selective Autoencoder: learn from, impute and generate partially "
        f"observed tables ({formats} files; an empty CSV cell is a missing value).",
    )
    parser.add_argument("--version", action="version", version=f"vsae {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    command = commands.add_parser(
        "impute",
        parents=[columns, training, checkpointing, reading],
        help="fit on a table and write it with its missing cells imputed",
        description="Fit VSAE on IN and write IN with every missing cell imputed (observed cells unchanged).",
    )
    command.add_argument("input", metavar="IN", help="table with missing cells")
    command.add_argument("-o", "--output", required=True, metavar="OUT", help="imputed table to write")
    command.set_defaults(run=_impute)

    command = commands.add_parser(
        "fit",
        parents=[columns, training, checkpointing, reading],
        help="fit on a table and save the model to a folder",
        description="Fit VSAE on IN and save the model (config.json + model.safetensors) to DIR. "
        "Launched by torchrun (e.g. 'torchrun --nproc-per-node 2 -m vsae fit IN --model DIR'), "
        "training is data-parallel over the processes and rank 0 saves the model.",
    )
    command.add_argument("input", metavar="IN", help="table with missing cells")
    command.add_argument("--model", required=True, metavar="DIR", help="model folder to write (replaced)")
    command.set_defaults(run=_fit)

    command = commands.add_parser(
        "transform",
        parents=[device, reading],
        help="impute a table with a saved model",
        description="Write IN with every missing cell imputed by the model in DIR. IN must have the "
        "columns the model was fitted on, in any order (the output keeps IN's order).",
    )
    command.add_argument("model", metavar="DIR", help="model folder written by 'vsae fit'")
    command.add_argument("input", metavar="IN", help="table with missing cells")
    command.add_argument("-o", "--output", required=True, metavar="OUT", help="imputed table to write")
    command.add_argument(
        "--chunk-rows",
        type=_positive_int,
        metavar="N",
        help="read, impute and write N rows at a time, in bounded memory; the output is the in-memory "
        f"one, to the last digit when N is a multiple of {DEFAULT_CHUNK_ROWS}. Inputs over "
        f"{STREAMING_THRESHOLD_BYTES // 2**20} MiB are streamed even without this option, "
        f"{DEFAULT_CHUNK_ROWS} rows at a time",
    )
    command.add_argument(
        "--threads", type=_positive_int, metavar="N", help="CPU threads for imputation (default: 1)"
    )
    command.set_defaults(run=_transform)

    command = commands.add_parser(
        "generate",
        parents=[device],
        help="generate new rows, with their missingness pattern, from a saved model",
        description="Draw N rows from the model in DIR. Cells the generated missingness pattern marks "
        "as missing are written empty, unless --no-mask is given.",
    )
    command.add_argument("model", metavar="DIR", help="model folder written by 'vsae fit'")
    command.add_argument("-n", "--rows", type=_positive_int, required=True, metavar="N", help="rows to draw")
    command.add_argument("-o", "--output", required=True, metavar="OUT", help="table to write")
    command.add_argument(
        "--seed", type=_non_negative_int, help="random seed (default: the seed the model was fitted with)"
    )
    command.add_argument("--no-mask", action="store_true", help="write every generated value, no empty cell")
    command.set_defaults(run=_generate)

    command = commands.add_parser(
        "demo",
        parents=[training],
        help="impute a real table with half its cells hidden; compare with other imputers",
        description="Split the UCI wine table (scikit-learn's copy; the shared white_wine table when "
        "VSAE_DATA is set) 80/20, hide 50% of the cells at random, fit VSAE on the train rows, impute "
        "the test rows and print the NRMSE on the hidden test cells and the time taken of VSAE, "
        "scikit-learn's IterativeImputer and KNNImputer, and mean imputation, on the same holes.",
    )
    command.set_defaults(run=_demo)

    # Listed here for --help; its arguments are parsed by _bench_main, which imports the benchmark.
    command = commands.add_parser(
        "bench",
        add_help=False,
        help="reproduce the paper's tables and figures (one JSON file per cell; a rerun resumes)",
    )
    command.add_argument("arguments", nargs=argparse.REMAINDER)
    return parser


BENCH_DESCRIPTION = (
    "Run a preset of the paper's experiments on the shared data (VSAE_DATA) and store one JSON file "
    "per (dataset, setting, method, seed); cells already computed are skipped. "
    "'python -m vsae.bench.report' writes docs/results.md from the cells."
)


# -- commands ----------------------------------------------------------------------------------------
def _progress(args: argparse.Namespace) -> int:
    """A progress bar (1) with --verbose, or by default when stderr is a terminal; none with --quiet."""
    if getattr(args, "quiet", False):
        return 0
    if getattr(args, "verbose", False):
        return 1
    return int(bool(getattr(sys.stderr, "isatty", lambda: False)()))


def _imputer(
    args: argparse.Namespace,
    categorical: list[str] | None = None,
    numerical: list[str] | None = None,
    ignore: list[str] | None = None,
) -> VSAEImputer:
    """An imputer with the command line's settings; unset options keep the imputer's defaults."""
    overrides = {
        name: value
        for name, value in (
            ("epochs", args.epochs),
            ("learning_rate", args.learning_rate),
            ("ensemble_size", args.ensemble_size),
            ("n_jobs", args.threads),
            ("ignore_features", ignore),
        )
        if value is not None
    }
    return VSAEImputer(
        categorical_features=categorical,
        numerical_features=numerical,
        device=args.device,
        verbose=_progress(args),
        random_state=args.seed,
        **overrides,
    )


def _check_not_input(input_path: str, output_path: str) -> None:
    if STDIO in (input_path, output_path):
        return
    if Path(output_path).resolve() == Path(input_path).resolve():
        raise VSAEError(f"the output {output_path!r} would overwrite the input; choose another file name")


def _check_output(path: str) -> None:
    if path != STDIO:
        check_output_path(path)


def _check_checkpointing(args: argparse.Namespace, model: str | None = None) -> None:
    """Check the checkpoint options before any work is done (saving a checkpoint checks again)."""
    if args.checkpoint_dir is None:
        if args.resume:
            raise VSAEError("--resume needs --checkpoint-dir, the folder of the run to continue")
        return
    folder = Path(args.checkpoint_dir)
    if not folder.parent.is_dir():
        raise VSAEError(
            f"cannot keep checkpoints in {args.checkpoint_dir!r}: "
            f"folder {str(folder.parent)!r} does not exist"
        )
    if folder.exists() and not folder.is_dir():
        raise VSAEError(f"cannot keep checkpoints in {args.checkpoint_dir!r}: it is a file")
    if model is not None and folder.resolve() == Path(model).resolve():
        raise VSAEError(f"the checkpoint folder {args.checkpoint_dir!r} must differ from the model folder")


def _fit_imputer(args: argparse.Namespace, frame: pd.DataFrame) -> VSAEImputer:
    """Fit an imputer with the command line's settings, checkpointing and resuming as asked."""
    imputer = _imputer(args, args.categorical, args.numerical, args.ignore)
    if args.checkpoint_dir is not None:
        imputer.set_params(checkpoint_dir=args.checkpoint_dir)
        if args.resume and not Path(args.checkpoint_dir).exists():
            message = f"no checkpoint in {args.checkpoint_dir!r} yet; training from the first epoch"
            print(f"vsae: {message}", file=sys.stderr)
    if args.checkpoint_every is not None:
        imputer.set_params(checkpoint_every=args.checkpoint_every)
    return imputer.fit(frame, resume=args.resume)


@contextmanager
def _input_file(args: argparse.Namespace) -> Iterator[None]:
    """``-`` as the input: stdin's bytes in a temporary CSV file, named ``<stdin>`` in messages."""
    if args.input != STDIO:
        yield
        return
    with tempfile.TemporaryDirectory(prefix="vsae-stdin-") as folder:
        path = Path(folder) / "stdin.csv"
        with open(path, "wb") as copy:
            shutil.copyfileobj(sys.stdin.buffer, copy)
        args.input = str(path)
        try:
            yield
        except VSAEError as error:
            raise VSAEError(str(error).replace(repr(str(path)), "<stdin>")) from error
        finally:
            args.input = STDIO


def _read(args: argparse.Namespace, categorical: list[str] | None) -> tuple[pd.DataFrame, CsvText | None]:
    frame, text = read_table_text(
        args.input,
        categorical,
        missing_values=args.na_values,
        encoding=args.encoding,
        sep=args.sep,
        comment=args.comment,
        keep_default_na=args.keep_default_na,
    )
    if text is not None:
        _check_cells(frame, text, getattr(args, "numerical", None) or ())
    return frame, text


def _check_cells(frame: pd.DataFrame, text: CsvText, numerical: Sequence[str]) -> None:
    """Text in a --numerical column and infinite numbers, reported with the file's line number."""
    for name in frame.columns:
        column = frame[name]
        numbers = pd.to_numeric(column, errors="coerce") if name in numerical else column
        if name in numerical:
            bad = numbers.isna().to_numpy() & column.notna().to_numpy()
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                raise VSAEError(
                    f"column {name!r} is numerical but line {int(text.lines[row])} holds "
                    f"{text.cells.iloc[row][name]!r}; clean the value or declare the column categorical"
                )
        if pd.api.types.is_float_dtype(numbers.dtype):
            values = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
            infinite = np.isinf(values)
            if infinite.any():
                row = int(np.flatnonzero(infinite)[0])
                raise VSAEError(
                    f"column {name!r} holds an infinite value ({text.cells.iloc[row][name]!r}) on line "
                    f"{int(text.lines[row])}; replace it with a finite number or leave the cell empty"
                )


def _write(frame: pd.DataFrame, args: argparse.Namespace, text: CsvText | None, observed: np.ndarray) -> None:
    """The output table: CSV text on stdout for ``-``, else a file (observed cells as their input text)."""
    if args.output == STDIO:
        sys.stdout.write(csv_text(frame, text, observed))
        sys.stdout.flush()
    else:
        write_table(frame, args.output, text=text, observed=observed)


def _report_stream(args: argparse.Namespace, out: TextIO) -> TextIO:
    return sys.stderr if args.output == STDIO else out


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _summary(frame: pd.DataFrame, imputed: pd.DataFrame, seconds: float, output: str) -> str:
    """``imputed 3 missing cells in 2 columns (1.2 s); wrote OUT`` and what was passed through."""
    before, after = frame.isna().to_numpy(), imputed.isna().to_numpy()
    filled = before & ~after
    columns = int(filled.any(axis=0).sum())
    where = "stdout" if output == STDIO else output
    line = (
        f"imputed {_plural(int(filled.sum()), 'missing cell')} in {_plural(columns, 'column')} "
        f"({seconds:.1f} s); wrote {where}"
    )
    left = after.any(axis=0)
    if left.any():
        names = ", ".join(repr(str(name)) for name in frame.columns[left])
        line += f"; {_plural(int(after.sum()), 'cell')} left missing in passed-through column(s) {names}"
    return line


def _copy_through(args: argparse.Namespace, frame: pd.DataFrame, text: CsvText | None, out: TextIO) -> None:
    """A table with no missing cell is written as it is, without a fit."""
    source = Path(args.input)
    if args.output == STDIO:
        if text is not None:
            sys.stdout.write(source.read_text(encoding=args.encoding))
        else:
            sys.stdout.write(csv_text(frame))
    elif text is not None and table_format(args.output) == "csv":
        write_table(frame, args.output, text=text, observed=np.ones(frame.shape, dtype=bool))
    else:
        write_table(frame, args.output)
    where = "stdout" if args.output == STDIO else args.output
    print(
        f"nothing to impute: no cell is missing; copied the table to {where} (no model fitted)",
        file=_report_stream(args, out),
    )


def _impute(args: argparse.Namespace, out: TextIO) -> None:
    _check_output(args.output)
    _check_not_input(args.input, args.output)
    _check_checkpointing(args)
    start = time.perf_counter()
    with _input_file(args):
        frame, text = _read(args, args.categorical)
        observed = frame.notna().to_numpy()
        if observed.all():
            _copy_through(args, frame, text, out)
            return
        imputed = _fit_imputer(args, frame).transform(frame)
        if not distributed.is_main_process():  # under torchrun, rank 0 writes
            return
        _write(imputed, args, text, unchanged_cells(frame, imputed))
    print(_summary(frame, imputed, time.perf_counter() - start, args.output), file=_report_stream(args, out))


def _fit(args: argparse.Namespace, out: TextIO) -> None:
    # Checked before training, which can take a while; saving checks again.
    folder = Path(args.model)
    if not folder.parent.is_dir():
        raise VSAEError(
            f"cannot save the model to {args.model!r}: folder {str(folder.parent)!r} does not exist"
        )
    _check_checkpointing(args, args.model)
    start = time.perf_counter()
    with _input_file(args):
        frame, _ = _read(args, args.categorical)
        imputer = _fit_imputer(args, frame)
    imputer.save(folder)
    if not distributed.is_main_process():  # under torchrun, rank 0 saves and reports
        return
    history = imputer.history_
    print(
        f"trained {len(history.epochs)} epochs (kept epoch {history.best_epoch}) in "
        f"{time.perf_counter() - start:.1f} s; saved the model to {args.model}",
        file=out,
    )


def _in_fitted_order(frame: pd.DataFrame, imputer: VSAEImputer) -> pd.DataFrame:
    """The table's columns in the order of the fit when they are the same columns in another order."""
    expected = list(imputer.schema_.names)
    if list(frame.columns) != expected and sorted(map(str, frame.columns)) == sorted(map(str, expected)):
        return frame[expected]
    return frame


def _transform(args: argparse.Namespace, out: TextIO) -> None:
    _check_output(args.output)
    _check_not_input(args.input, args.output)
    imputer = VSAEImputer.load(args.model, device=args.device)
    if args.threads is not None:
        imputer.set_params(n_jobs=args.threads)
    start = time.perf_counter()
    with _input_file(args):
        source = Path(args.input)
        large = source.is_file() and source.stat().st_size > STREAMING_THRESHOLD_BYTES
        if (args.chunk_rows is not None or large) and args.output != STDIO:
            if args.sep != "," or args.comment is not None or not args.keep_default_na:
                raise VSAEError(
                    "--sep, --comment and --no-default-na are not available when streaming "
                    "(--chunk-rows, or an input over "
                    f"{STREAMING_THRESHOLD_BYTES // 2**20} MiB); save the file as plain comma-separated CSV"
                )
            chunk_rows = args.chunk_rows or DEFAULT_CHUNK_ROWS
            summary = transform_file(
                imputer,
                source,
                args.output,
                chunk_rows,
                missing_values=args.na_values,
                encoding=args.encoding,
            )
            print(
                f"imputed {_plural(summary.imputed_cells, 'missing cell')} "
                f"({time.perf_counter() - start:.1f} s); wrote {args.output}",
                file=out,
            )
            return
        categorical = [m.name for m in imputer.schema_ if m.kind == "categorical" and isinstance(m.name, str)]
        frame, text = _read(args, categorical)
        frame = fitted_labels(frame, imputer.schema_)
        imputed = imputer.transform(_in_fitted_order(frame, imputer))[list(frame.columns)]
        _write(imputed, args, text, unchanged_cells(frame, imputed))
    print(_summary(frame, imputed, time.perf_counter() - start, args.output), file=_report_stream(args, out))


def _generate(args: argparse.Namespace, out: TextIO) -> None:
    _check_output(args.output)
    imputer = VSAEImputer.load(args.model, device=args.device)
    data, mask = imputer.generate(args.rows, random_state=args.seed)
    names = [str(name) for name in imputer.get_feature_names_out()]  # passed-through columns too
    data = data.copy() if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
    data.columns = names
    mask = pd.DataFrame(np.asarray(mask, dtype=bool), columns=names)
    if not args.no_mask:
        data = data.where(mask)
    if args.output == STDIO:
        sys.stdout.write(csv_text(data))
    else:
        write_table(data, args.output)
    empty = int(data.isna().to_numpy().sum())
    where = "stdout" if args.output == STDIO else args.output
    print(
        f"generated {_plural(args.rows, 'row')} ({_plural(empty, 'empty cell')}); wrote {where}",
        file=_report_stream(args, out),
    )


def _demo_table() -> tuple[str, pd.DataFrame, list[str]]:
    """The demo's table: its name, the table (target dropped) and its numerical columns."""
    from vsae.data import DATA_ENV_VAR, load_uci

    if os.environ.get(DATA_ENV_VAR, "").strip():
        table = load_uci("white_wine")
        return "white_wine", table.frame, table.numerical
    from sklearn.datasets import load_wine

    frame = load_wine(as_frame=True).frame.drop(columns="target")
    return "wine (scikit-learn)", frame, list(frame.columns)


def _demo(args: argparse.Namespace, out: TextIO) -> None:
    """The protocol of docs/protocol.md for one seed: 80/20 split, MCAR on train and test, fit on train,
    score test; the same holes for VSAE, scikit-learn's IterativeImputer and KNNImputer, and mean
    imputation."""
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401  (makes IterativeImputer importable)
    from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer

    from vsae.data import apply_mask, mcar_mask, train_test_split_indices
    from vsae.metrics import nrmse

    name, frame, numerical = _demo_table()
    train_rows, test_rows = train_test_split_indices(len(frame), args.seed)
    rng = np.random.default_rng(args.seed)
    parts = []
    for rows in (train_rows, test_rows):
        truth = frame.iloc[rows].reset_index(drop=True)
        observed = mcar_mask(truth.shape, DEMO_MISSING_RATE, rng) & truth.notna().to_numpy()
        parts.append((truth, observed, apply_mask(truth, observed)))
    (_, _, train), (test_truth, test_observed, test) = parts
    scored = ~test_observed & test_truth.notna().to_numpy()

    def scikit_learn(model: object) -> Callable[[], pd.DataFrame]:
        def run() -> pd.DataFrame:
            values = model.fit(train.to_numpy(dtype=float)).transform(test.to_numpy(dtype=float))  # type: ignore[attr-defined]
            return pd.DataFrame(values, columns=test.columns)

        return run

    vsae = _imputer(args)
    methods: list[tuple[str, Callable[[], pd.DataFrame]]] = [
        ("VSAE", lambda: vsae.fit(train).transform(test)),
        ("IterativeImputer", scikit_learn(IterativeImputer(max_iter=10, random_state=args.seed))),
        ("KNNImputer (k=5)", scikit_learn(KNNImputer(n_neighbors=5))),
        ("mean imputation", scikit_learn(SimpleImputer(strategy="mean"))),
    ]
    rows = []
    for method, run in methods:
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=Warning)  # IterativeImputer's convergence notes
            completed = run()
        seconds = time.perf_counter() - started
        rows.append((method, f"{nrmse(test_truth, completed, scored, numerical):.3f}", f"{seconds:.1f}"))

    print(
        f"{name}: {len(frame)} rows, {frame.shape[1]} columns; 80/20 split, {DEMO_MISSING_RATE:.0%} of "
        f"cells missing completely at random, seed {args.seed}; VSAE trained "
        f"{len(vsae.history_.epochs)} epochs.",
        file=out,
    )
    header = ("method", "NRMSE", "fit + impute (s)")
    widths = [max(len(cells[i]) for cells in (header, *rows)) for i in range(len(header))]
    for cells in (header, *rows):
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip(), file=out)
    print(
        "NRMSE over the hidden test cells of the same holes for every method (lower is better; "
        "1.0 is about the column mean).",
        file=out,
    )


def _bench_main(argv: Sequence[str]) -> int:
    """``vsae bench ...``: the benchmark is imported here only."""
    from vsae.bench.runner import add_arguments, run_bench

    parser = _Parser(prog="vsae bench", description=BENCH_DESCRIPTION)
    add_arguments(parser)
    try:
        args = parser.parse_args(list(argv))
    except SystemExit as stop:
        return int(stop.code or 0)
    return _run(run_bench, args)


# -- entry point -------------------------------------------------------------------------------------
def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    print(f"vsae: warning: {_one_line(message)}", file=sys.stderr)


def _one_line(message: object) -> str:
    return " ".join(line.strip() for line in str(message).splitlines() if line.strip())


def _interrupted(args: argparse.Namespace) -> str:
    """What to say after Ctrl-C: how to continue, where the run can be resumed."""
    if getattr(args, "command", None) not in ("impute", "fit"):
        return "vsae: interrupted; nothing was written"
    if args.checkpoint_dir is not None and Path(args.checkpoint_dir).is_dir():
        return (
            f"vsae: interrupted; nothing was written. Run the same command with --resume to continue "
            f"from the last checkpoint in {args.checkpoint_dir!r}"
        )
    if args.checkpoint_dir is not None:
        return (
            "vsae: interrupted before the first checkpoint; nothing was written. Run the same command "
            "with --resume to start again (it resumes once a checkpoint exists)"
        )
    return (
        "vsae: interrupted; nothing was written. To be able to resume a long run, start it with "
        "--checkpoint-dir DIR, then run the same command with --resume after an interruption"
    )


def _run(run: Callable[[argparse.Namespace, TextIO], None], args: argparse.Namespace) -> int:
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            run(args, sys.stdout)
        except VSAEError as error:
            return _fail(str(error))
        except OSError as error:  # the file system refused: permissions, disk full, ...
            return _fail(f"{error.strerror or error}: {error.filename}" if error.filename else str(error))
        except KeyboardInterrupt:
            print(_interrupted(args), file=sys.stderr)
            return 130
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``vsae`` command with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"]:
        return _bench_main(argv[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, --version and usage errors (already printed)
        return int(stop.code or 0)
    return _run(args.run, args)


def _fail(message: str) -> int:
    print(f"vsae: error: {_one_line(message)}", file=sys.stderr)
    return 2
