"""The ``vsae`` command: impute, fit, transform and generate tables from the shell, and a demo.

Tables are CSV or Parquet files (see :mod:`vsae.io`: an empty CSV cell is a missing value). A model is
a folder written by :meth:`vsae.imputer.VSAEImputer.save`.

A user error (bad file, bad data, bad argument) prints one line ``vsae: error: ...`` on stderr and
exits with status 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn, TextIO

import numpy as np
import pandas as pd
from sklearn.datasets import load_wine

from vsae import __version__, distributed
from vsae.baselines import MeanModeImputer
from vsae.bench.runner import add_arguments as add_bench_arguments
from vsae.bench.runner import run_bench
from vsae.data import DATA_ENV_VAR, apply_mask, load_uci, mcar_mask, train_test_split_indices
from vsae.errors import VSAEError
from vsae.imputer import VSAEImputer
from vsae.io import FORMATS, check_output_path, read_table, write_table
from vsae.metrics import nrmse
from vsae.streaming import DEFAULT_CHUNK_ROWS, STREAMING_THRESHOLD_BYTES, fitted_labels, transform_file

#: Share of cells hidden at random from the demo's train and test rows (DESIGN §2, MCAR).
DEMO_MISSING_RATE = 0.5


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
        help="cell contents read as missing besides empty cells, e.g. 'NA,?'",
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
    training.add_argument("--seed", type=_non_negative_int, default=0, help="random seed (default: 0)")
    training.add_argument("--verbose", action="store_true", help="show a progress bar while training")

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
        "columns the model was fitted on, in the same order.",
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
        help="impute a real table with half its cells hidden; compare with mean imputation",
        description="Split the UCI wine table (scikit-learn's copy; the shared white_wine table when "
        "VSAE_DATA is set) 80/20, hide 50% of the cells at random, fit VSAE on the train rows, impute "
        "the test rows and print the NRMSE of VSAE and of mean imputation on the hidden test cells.",
    )
    command.set_defaults(run=_demo)

    command = commands.add_parser(
        "bench",
        help="reproduce the paper's tables and figures (one JSON file per cell; a rerun resumes)",
        description="Run a preset of the paper's experiments on the shared data (VSAE_DATA) and store "
        "one JSON file per (dataset, setting, method, seed); cells already computed are skipped. "
        "'python -m vsae.bench.report' writes docs/results.md from the cells.",
    )
    add_bench_arguments(command)
    command.set_defaults(run=run_bench)
    return parser


# -- commands ----------------------------------------------------------------------------------------
def _imputer(
    args: argparse.Namespace, categorical: list[str] | None = None, numerical: list[str] | None = None
) -> VSAEImputer:
    """An imputer with the command line's settings; unset options keep the imputer's defaults."""
    overrides = {
        name: value
        for name, value in (("epochs", args.epochs), ("learning_rate", args.learning_rate))
        if value is not None
    }
    return VSAEImputer(
        categorical_features=categorical,
        numerical_features=numerical,
        device=args.device,
        verbose=int(args.verbose),
        random_state=args.seed,
        **overrides,
    )


def _check_not_input(input_path: str, output_path: str) -> None:
    if Path(output_path).resolve() == Path(input_path).resolve():
        raise VSAEError(f"the output {output_path!r} would overwrite the input; choose another file name")


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
    imputer = _imputer(args, args.categorical, args.numerical)
    if args.checkpoint_dir is not None:
        imputer.set_params(checkpoint_dir=args.checkpoint_dir)
        if args.resume and not Path(args.checkpoint_dir).exists():
            message = f"no checkpoint in {args.checkpoint_dir!r} yet; training from the first epoch"
            print(f"vsae: {message}", file=sys.stderr)
    if args.checkpoint_every is not None:
        imputer.set_params(checkpoint_every=args.checkpoint_every)
    return imputer.fit(frame, resume=args.resume)


def _read(args: argparse.Namespace, categorical: list[str] | None) -> pd.DataFrame:
    return read_table(args.input, categorical, missing_values=args.na_values, encoding=args.encoding)


def _impute(args: argparse.Namespace, out: TextIO) -> None:
    check_output_path(args.output)
    _check_not_input(args.input, args.output)
    _check_checkpointing(args)
    frame = _read(args, args.categorical)
    imputed = _fit_imputer(args, frame).transform(frame)
    if not distributed.is_main_process():  # under torchrun, rank 0 writes
        return
    write_table(imputed, args.output)
    print(f"imputed {int(frame.isna().to_numpy().sum())} missing cells; wrote {args.output}", file=out)


def _fit(args: argparse.Namespace, out: TextIO) -> None:
    # Checked before training, which can take a while; saving checks again.
    folder = Path(args.model)
    if not folder.parent.is_dir():
        raise VSAEError(
            f"cannot save the model to {args.model!r}: folder {str(folder.parent)!r} does not exist"
        )
    _check_checkpointing(args, args.model)
    frame = _read(args, args.categorical)
    imputer = _fit_imputer(args, frame)
    imputer.save(folder)
    if not distributed.is_main_process():  # under torchrun, rank 0 saves and reports
        return
    history = imputer.history_
    print(
        f"trained {len(history.epochs)} epochs (kept epoch {history.best_epoch}); "
        f"saved the model to {args.model}",
        file=out,
    )


def _transform(args: argparse.Namespace, out: TextIO) -> None:
    check_output_path(args.output)
    _check_not_input(args.input, args.output)
    imputer = VSAEImputer.load(args.model, device=args.device)
    source = Path(args.input)
    large = source.is_file() and source.stat().st_size > STREAMING_THRESHOLD_BYTES
    if args.chunk_rows is not None or large:
        chunk_rows = args.chunk_rows or DEFAULT_CHUNK_ROWS
        summary = transform_file(
            imputer, source, args.output, chunk_rows, missing_values=args.na_values, encoding=args.encoding
        )
        print(f"imputed {summary.imputed_cells} missing cells; wrote {args.output}", file=out)
        return
    categorical = [m.name for m in imputer.schema_ if m.kind == "categorical" and isinstance(m.name, str)]
    frame = fitted_labels(_read(args, categorical), imputer.schema_)
    imputed = imputer.transform(frame)
    write_table(imputed, args.output)
    print(f"imputed {int(frame.isna().to_numpy().sum())} missing cells; wrote {args.output}", file=out)


def _generate(args: argparse.Namespace, out: TextIO) -> None:
    check_output_path(args.output)
    imputer = VSAEImputer.load(args.model, device=args.device)
    data, mask = imputer.generate(args.rows, random_state=args.seed)
    names = [str(name) for name in imputer.schema_.names]
    data, mask = pd.DataFrame(data, columns=names), pd.DataFrame(np.asarray(mask), columns=names)
    if not args.no_mask:
        data = data.where(mask)
    write_table(data, args.output)
    empty = int(data.isna().to_numpy().sum())
    print(f"generated {args.rows} rows ({empty} empty cells); wrote {args.output}", file=out)


def _demo_table() -> tuple[str, pd.DataFrame, list[str]]:
    """The demo's table: its name, the table (target dropped) and its numerical columns."""
    if os.environ.get(DATA_ENV_VAR, "").strip():
        table = load_uci("white_wine")
        return "white_wine", table.frame, table.numerical
    frame = load_wine(as_frame=True).frame.drop(columns="target")
    return "wine (scikit-learn)", frame, list(frame.columns)


def _demo(args: argparse.Namespace, out: TextIO) -> None:
    """DESIGN §2 for one seed: 80/20 split, MCAR on train and test, fit on train, score test."""
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

    start = time.perf_counter()
    vsae = _imputer(args).fit(train)
    fit_seconds = time.perf_counter() - start
    vsae_error = nrmse(test_truth, vsae.transform(test), scored, numerical)
    mean_error = nrmse(test_truth, MeanModeImputer().fit(train).transform(test), scored, numerical)

    header = ("dataset", "rows", "columns", "VSAE NRMSE", "mean imputation NRMSE", "VSAE fit (s)")
    row = (
        name,
        str(len(frame)),
        str(frame.shape[1]),
        f"{vsae_error:.3f}",
        f"{mean_error:.3f}",
        f"{fit_seconds:.1f}",
    )
    widths = [max(len(h), len(c)) for h, c in zip(header, row, strict=True)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)), file=out)
    print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)), file=out)
    print(
        f"NRMSE over the hidden test cells (lower is better; 1.0 is about the column mean): 80/20 split, "
        f"{DEMO_MISSING_RATE:.0%} of cells missing completely at random, seed {args.seed}, "
        f"{len(vsae.history_.epochs)} epochs.",
        file=out,
    )


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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``vsae`` command with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, --version and usage errors (already printed)
        return int(stop.code or 0)
    run: Callable[[argparse.Namespace, TextIO], None] = args.run
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            run(args, sys.stdout)
        except VSAEError as error:
            return _fail(str(error))
        except OSError as error:  # the file system refused: permissions, disk full, ...
            return _fail(f"{error.strerror or error}: {error.filename}" if error.filename else str(error))
        except KeyboardInterrupt:
            print("vsae: interrupted", file=sys.stderr)
            return 130
    return 0


def _fail(message: str) -> int:
    print(f"vsae: error: {_one_line(message)}", file=sys.stderr)
    return 2
