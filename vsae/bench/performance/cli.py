"""The command line of the performance benchmark, ``python -m vsae.bench.performance``."""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from vsae.bench.cells import machine
from vsae.bench.performance.harness import loadavg
from vsae.bench.performance.parts.batch_size import bench_batch_size
from vsae.bench.performance.parts.batching import bench_batching
from vsae.bench.performance.parts.compile import bench_compile
from vsae.bench.performance.parts.encoders import bench_encoders
from vsae.bench.performance.parts.train import bench_train
from vsae.bench.performance.parts.transform import bench_chunks, bench_transform
from vsae.bench.performance.parts.uci import bench_uci, uci_from_cells
from vsae.bench.performance.sizes import FULL, QUICK
from vsae.bench.performance.summary import markdown_summary
from vsae.data import UCI_DATASETS

DESCRIPTION = (
    "Performance benchmark: training throughput, fit-plus-impute time and accuracy, imputation at scale."
)
#: The parts, in the order they run (see :mod:`vsae.bench.performance`).
PARTS: tuple[str, ...] = (
    "train",
    "encoders",
    "batching",
    "compile",
    "batch_size",
    "chunks",
    "transform",
    "uci",
)
#: ``torch.compile`` takes about a minute per model on CPU: left out of ``--quick`` unless asked for.
QUICK_PARTS: tuple[str, ...] = tuple(p for p in PARTS if p != "compile")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m vsae.bench.performance", description=DESCRIPTION)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repeat (a smoke run)")
    parser.add_argument("--out", type=Path, default=Path("runs/perf.json"), help="JSON file of every figure")
    parser.add_argument("--parts", nargs="+", choices=PARTS, help="parts to run (default: all)")
    parser.add_argument(
        "--datasets", nargs="+", choices=UCI_DATASETS, help="UCI tables (default: all; --quick: glass)"
    )
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's own choice)")
    parser.add_argument("--repeats", type=int, help="override the number of timed repeats")
    parser.add_argument(
        "--uci-cells",
        type=Path,
        metavar="DIR",
        help="instead of the uci part, summarise the `vsae bench uci` cells in DIR (same protocol, 3 seeds)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the chosen parts (every part not yet in ``--out`` is measured again), save every figure to
    ``--out`` as it comes, print the Markdown summary; return the exit status."""
    args = _parser().parse_args(argv)
    sizes = QUICK if args.quick else FULL
    if args.repeats is not None:
        sizes = replace(sizes, repeats=args.repeats, transform_repeats=args.repeats)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    parts = args.parts or list(QUICK_PARTS if args.quick else PARTS)
    results: dict[str, Any] = json.loads(args.out.read_text()) if args.out.exists() else {}
    results["machine"] = machine()
    args.out.parent.mkdir(parents=True, exist_ok=True)

    def save() -> None:
        temporary = args.out.with_suffix(".tmp")
        temporary.write_text(json.dumps(results, indent=1))
        os.replace(temporary, args.out)

    threads = args.threads
    runners: dict[str, Callable[[], dict[str, Any]]] = {
        "train": lambda: bench_train(sizes),
        "encoders": lambda: bench_encoders(sizes),
        "batching": lambda: bench_batching(sizes),
        "compile": lambda: bench_compile(sizes),
        "batch_size": lambda: bench_batch_size(sizes),
        "chunks": lambda: bench_chunks(sizes, threads),
        "transform": lambda: bench_transform(sizes, threads),
        "uci": lambda: bench_uci(
            sizes, args.datasets or sizes.uci_datasets, results.setdefault("uci", {}), save
        ),
    }
    if args.uci_cells is not None:
        results["uci_cells"] = uci_from_cells(args.uci_cells, args.datasets or UCI_DATASETS)
        save()
        print(markdown_summary({"uci_cells": results["uci_cells"]}))
        return 0
    for part in parts:
        before, start = loadavg(), time.perf_counter()
        print(f"{part}: running (load average {before})", flush=True)
        outcome = runners[part]()
        meta = {
            "quick": args.quick,
            "threads": torch.get_num_threads(),
            "loadavg_before": before,
            "loadavg_after": loadavg(),
            "seconds": time.perf_counter() - start,
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        results[part] = outcome
        results.setdefault("meta", {})[part] = meta
        save()
    print(markdown_summary({k: v for k, v in results.items() if k in parts}))
    return 0
