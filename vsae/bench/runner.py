"""``vsae bench PRESET``: run the paper's experiments cell by cell, one JSON file per cell.

:class:`Runner` computes the cells of a preset (:func:`vsae.bench.cells.preset_cells`) into a folder
and skips the ones already there (a failed cell, stored with its error, is retried), so an
interrupted run resumes where it stopped. What one cell computes lives beside it:
:mod:`vsae.bench.tabular_cells` (UCI tables), :mod:`vsae.bench.image_cells` (MNIST+MNIST, image +
label) and :mod:`vsae.bench.figure_cells` (Figures 3/4/7). Every record also holds the command that
computed it, the data folder and the library versions (:func:`vsae.bench.cells.library_versions`).

Usage::

    VSAE_DATA=../shared/data vsae bench uci --seeds 0 1 2
    VSAE_DATA=../shared/data python -m vsae.bench.runner mnist_pairs --methods vsae --ratios 0.5
    VSAE_DATA=../shared/data vsae bench figures --quick --out /tmp/bench --report /tmp/results.md
"""

from __future__ import annotations

import argparse
import shlex
import sys
import traceback
import warnings
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

import torch
from tqdm.auto import tqdm

from vsae.bench.cells import (
    DEFAULT_FIGURES,
    DEFAULT_OUT,
    MODELS_FOLDER,
    Cell,
    library_versions,
    preset_cells,
    read_cell,
    write_cell,
)
from vsae.bench.figure_cells import figures_cell, source_cell
from vsae.bench.image_cells import image_cell
from vsae.bench.presets import BUDGETS, DEFAULT_SEEDS, FIGURE_SEEDS, PRESETS, Budget
from vsae.bench.report import write_report
from vsae.bench.tabular_cells import tabular_cell
from vsae.data import data_dir
from vsae.errors import VSAEError


class Runner:
    """Computes cells into ``out`` (skipping those already there) with one budget and command."""

    def __init__(
        self, out: Path, budget: Budget, command: str, figures_dir: Path, progress: bool = True
    ) -> None:
        self.out = out
        self.budget = budget
        self.command = command
        self.figures_dir = figures_dir
        self.progress = progress

    def path(self, cell: Cell) -> Path:
        return self.out / cell.relative_path

    def model_dir(self, cell: Cell) -> Path:
        """Where an image VSAE cell keeps its fitted model (the figures are drawn from it)."""
        return self.out / MODELS_FOLDER / cell.dataset / cell.setting.key / f"{cell.method}-seed{cell.seed}"

    def done(self, cell: Cell) -> dict[str, Any] | None:
        """The stored record when the cell is computed (with this budget), else None."""
        path = self.path(cell)
        if not path.is_file():
            return None
        record = read_cell(path)
        if record["budget"] != self.budget.name:
            raise VSAEError(
                f"{str(path)!r} was computed with the {record['budget']!r} budget, not "
                f"{self.budget.name!r}: use another --out folder"
            )
        if "error" in record:
            return None
        if cell.kind == "figures" and not all(
            (self.figures_dir / name).is_file() for name in record["figures"].values()
        ):
            return None
        return record

    def ensure(self, cell: Cell) -> dict[str, Any]:
        """The cell's record, computing it first when needed; VSAEError if it fails."""
        record = self.done(cell) or self.compute(cell)
        if "error" in record:
            raise VSAEError(f"cell {cell.label} failed: {record['error']}")
        return record

    def compute(self, cell: Cell) -> dict[str, Any]:
        """Compute and store one cell; a failure is stored as the cell's ``error`` and returned."""
        header = {
            "dataset": cell.dataset,
            "setting": {
                "mechanism": cell.setting.mechanism,
                "ratio": cell.setting.ratio,
                "key": cell.setting.key,
            },
            "method": cell.method,
            "seed": cell.seed,
            "kind": cell.kind,
            "budget": self.budget.name,
            "command": self.command,
            "data_dir": str(data_dir()),
            "versions": library_versions(),
        }
        compute: Callable[[], dict[str, Any]]
        if cell.kind == "tabular":
            compute = lambda: tabular_cell(cell, self.budget)  # noqa: E731
        elif cell.kind == "image":
            compute = lambda: image_cell(cell, self.budget, self.model_dir(cell))  # noqa: E731
        else:
            compute = lambda: self._figures(cell)  # noqa: E731
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                body = compute()
            except Exception as error:  # stored and reported: one failing cell must not stop the rest
                body = {"error": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc()}
        messages = list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
        record = {
            **header,
            **body,
            "warnings": messages[:10],
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        write_cell(self.path(cell), record)
        return record

    def _figures(self, cell: Cell) -> dict[str, Any]:
        """The figures of ``cell``, drawn from its source image cell (computed first if needed)."""
        source = source_cell(cell)
        self.ensure(source)
        return figures_cell(cell, self.budget, self.model_dir(source), self.figures_dir)

    def run(self, cells: Iterable[Cell], out: TextIO) -> tuple[int, int, list[Cell]]:
        """Compute every cell not yet done; return (computed, skipped, failed cells)."""
        cells = list(cells)
        computed, skipped, failed = 0, 0, []
        bar = tqdm(cells, unit="cell", disable=not self.progress, file=sys.stderr, dynamic_ncols=True)
        for cell in bar:
            bar.set_postfix_str(cell.label)
            if self.done(cell) is not None:
                skipped += 1
                continue
            record = self.compute(cell)
            computed += 1
            if "error" in record:
                failed.append(cell)
                print(f"vsae bench: cell {cell.label} failed: {record['error']}", file=out)
        return computed, skipped, failed


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``vsae bench`` (also ``python -m vsae.bench.runner``)."""
    parser.add_argument(
        "preset",
        choices=list(PRESETS),
        help="what to run: " + "; ".join(f"{p.name}: {p.title}" for p in PRESETS.values()),
    )
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        metavar="N",
        help=f"seeds (default: {' '.join(map(str, DEFAULT_SEEDS))}; figures: {FIGURE_SEEDS[0]})",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="CI-sized budget: small row subsets and a few epochs (numbers are not comparable)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help=f"folder of the JSON cells (default: {DEFAULT_OUT['full']}; "
        f"with --quick: {DEFAULT_OUT['quick']})",
    )
    parser.add_argument("--datasets", nargs="+", metavar="NAME", help="only these datasets of the preset")
    parser.add_argument("--methods", nargs="+", metavar="NAME", help="only these methods of the preset")
    parser.add_argument("--ratios", type=float, nargs="+", metavar="R", help="only these MCAR ratios")
    parser.add_argument(
        "--figures-dir",
        type=Path,
        default=DEFAULT_FIGURES,
        metavar="DIR",
        help=f"where the figures preset writes its PNG files (default: {DEFAULT_FIGURES})",
    )
    parser.add_argument(
        "--report",
        type=Path,
        metavar="FILE",
        help="afterwards, regenerate this Markdown report from every cell in --out (e.g. docs/results.md); "
        "its figures go to --figures-dir",
    )
    parser.add_argument("--threads", type=int, default=1, metavar="N", help="torch threads (default: 1)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def canonical_command(args: argparse.Namespace, out: Path, seeds: Sequence[int]) -> str:
    """The ``vsae bench`` command line that computes exactly these cells."""
    parts = ["vsae", "bench", args.preset, "--seeds", *map(str, seeds)]
    if args.quick:
        parts.append("--quick")
    for option, values in (
        ("--datasets", args.datasets),
        ("--methods", args.methods),
        ("--ratios", args.ratios),
    ):
        if values:
            parts += [option, *map(str, values)]
    parts += ["--out", str(out)]
    if args.preset == "figures":
        parts += ["--figures-dir", str(args.figures_dir)]
    return shlex.join(parts)


def run_bench(args: argparse.Namespace, out: TextIO) -> None:
    """Run the cells of ``args.preset``; raise VSAEError if any failed (after running the others)."""
    if args.threads < 1:
        raise VSAEError(f"--threads must be at least 1, got {args.threads}")
    torch.set_num_threads(args.threads)
    budget = BUDGETS["quick" if args.quick else "full"]
    preset = PRESETS[args.preset]
    seeds = args.seeds or (FIGURE_SEEDS if preset.kind == "figures" else DEFAULT_SEEDS)
    out_dir = args.out or DEFAULT_OUT[budget.name]
    cells = preset_cells(preset, seeds, args.datasets, args.methods, args.ratios)
    runner = Runner(
        out_dir, budget, canonical_command(args, out_dir, seeds), args.figures_dir, not args.no_progress
    )
    computed, skipped, failed = runner.run(cells, out)
    print(
        f"vsae bench {preset.name}: {computed} cells computed, {skipped} already done, {len(failed)} failed; "
        f"cells in {out_dir}",
        file=out,
    )
    if args.report is not None:
        write_report(out_dir, args.report, args.figures_dir)
        print(f"wrote {args.report}", file=out)
    if failed:
        raise VSAEError(f"{len(failed)} cells failed (their JSON files hold the error); rerun to retry them")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vsae.bench.runner", description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        run_bench(args, sys.stdout)
    except VSAEError as error:
        print(f"vsae bench: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
