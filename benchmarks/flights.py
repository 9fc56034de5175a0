"""Flights benchmark: VSAE against classical imputers on a large real table, and a scaling curve.

The table is ``large/flights.parquet`` of the shared data folder (every flight out of New York City in
2013, 336,776 rows x 17 columns). A further 30% of its *observed* cells are hidden completely at
random (seed 0); only those hidden cells are scored (the file's own missing cells never are): NRMSE
over the 13 numerical columns, PFC over the 4 categorical ones, and the PFC of ``tailnum`` alone.

Every cell (one method on one subsample) is a JSON file in ``docs/data/flights/``, written when it
finishes, so that a grid run can be stopped and resumed. Each cell runs in its own process under a
wall-clock cap; a method that hits the cap at some size is not run on larger ones.

Peers get tailnum with the library's cut-off already applied (every level outside the 99 most
frequent of the observed cells replaced by the most frequent of the others), the same classes VSAE
models: their one-hot encoders cannot hold 4,044 levels of 336,776 rows (11 GB as float64).

Usage (from the repository root, one thread)::

    OMP_NUM_THREADS=1 python benchmarks/flights.py grid --cap 600       # every cell, resumable
    OMP_NUM_THREADS=1 python benchmarks/flights.py cell vsae 10000       # one cell
    python benchmarks/flights.py report                                  # table + docs/figures PNG
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
CELLS = Path(os.environ.get("FLIGHTS_CELLS", ROOT / "docs" / "data" / "flights"))
FIGURE = ROOT / "docs" / "figures" / "flights_scaling.png"
CURVES_FIGURE = ROOT / "docs" / "figures" / "flights_time_to_accuracy.png"
ROWS = (10_000, 30_000, 100_000, 336_776)
METHODS = ("mean", "vsae", "mice", "knn", "missforest", "miceforest", "vsae_cli")
HIDDEN_SHARE = 0.3
SEED = 0


def flights_path() -> Path:
    base = Path(os.environ.get("VSAE_DATA", ROOT.parent / "shared" / "data"))
    return base / "large" / "flights.parquet"


def load(rows: int, seed: int = SEED) -> pd.DataFrame:
    """``rows`` rows of flights drawn without replacement (all of them for 336,776), in file order."""
    frame = pd.read_parquet(flights_path())
    if rows < len(frame):
        keep = np.sort(np.random.default_rng(seed).choice(len(frame), size=rows, replace=False))
        frame = frame.iloc[keep]
    return frame.reset_index(drop=True)


def hide(
    frame: pd.DataFrame, share: float = HIDDEN_SHARE, seed: int = SEED
) -> tuple[pd.DataFrame, np.ndarray]:
    """The table with a further ``share`` of its observed cells hidden (MCAR), and those cells."""
    from vsae.data import apply_mask, mcar_mask

    observed = frame.notna().to_numpy()
    hidden = observed & ~mcar_mask(frame.shape, share, seed)
    return apply_mask(frame, ~hidden), hidden


def categorical_columns(frame: pd.DataFrame) -> list[str]:
    from vsae.schema import is_categorical_dtype

    return [c for c in frame.columns if is_categorical_dtype(frame[c].dtype)]


def with_cut_levels(frame: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns reduced to the classes VSAE models (see the module docstring)."""
    from vsae.schema import infer_table_schema

    out = frame.copy()
    for modality in infer_table_schema(frame):
        if modality.other:
            kept = set(modality.categories)
            column = out[modality.name]
            rare = column.notna() & ~column.isin(kept)
            out[modality.name] = column.mask(rare, modality.categories[-1])
    return out


def impute(method: str, masked: pd.DataFrame, verbose: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The imputed table and the table the method was given."""
    if method == "vsae":
        from vsae.imputer import VSAEImputer

        budget = vsae_budget(len(masked))
        imputer = VSAEImputer(random_state=SEED, verbose=int(verbose), **budget)
        return imputer.fit_transform(masked), masked
    if method == "vsae_cli":
        return _vsae_cli(masked), masked
    table = with_cut_levels(masked)
    if method == "miceforest":
        return _miceforest(table), table
    from vsae.baselines import make_classical_imputer

    overrides = {"n_jobs": 1} if method == "missforest" else {}
    return make_classical_imputer(method, random_state=SEED, **overrides).fit_transform(table), table


def vsae_budget(rows: int) -> dict[str, int]:
    """Epochs and warm-up of the large-table budget (:mod:`vsae.budget`) for a table of ``rows``
    rows, of which the trainer keeps 80% for training; the batch size rule is applied by the trainer."""
    from vsae import budget
    from vsae.imputer import VSAEImputer

    defaults = VSAEImputer()
    training_rows = rows - round(rows * defaults.validation_fraction)
    return {
        "epochs": budget.epochs_for_rows(training_rows, defaults.epochs),
        "warmup_epochs": budget.warmup_for_rows(training_rows, defaults.warmup_epochs, defaults.epochs),
    }


#: Peak resident memory of the last ``vsae_cli`` run, in MB (from ``/usr/bin/time -v``).
CLI_RUN: dict[str, Any] = {}


def _vsae_cli(masked: pd.DataFrame) -> pd.DataFrame:
    """``vsae impute table.parquet -o out.parquet --epochs E --verbose`` on the table, timed from
    outside with ``/usr/bin/time -v``; E is the large-table epoch budget (the CLI has no warm-up flag)."""
    import tempfile

    epochs = vsae_budget(len(masked))["epochs"]
    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder) / "table.parquet", Path(folder) / "out.parquet"
        masked.to_parquet(source)
        vsae = str(Path(sys.executable).with_name("vsae"))
        command = ["/usr/bin/time", "-v", vsae, "impute", str(source), "-o", str(target)]
        command += ["--epochs", str(epochs), "--verbose"]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        lines = done.stderr.replace("\r", "\n").splitlines()
        start = max(i for i, line in enumerate(lines) if "Command being timed" in line)
        CLI_RUN["time_v"] = [line.strip() for line in lines[start + 1 : start + 10]]
        CLI_RUN["progress_tail"] = [line for line in lines[:start] if line.strip()][-3:]
        for line in lines:
            if "Maximum resident set size" in line:
                CLI_RUN["peak_rss_mb"] = round(int(line.split(":")[1]) / 1024, 1)
            if "Elapsed (wall clock)" in line:
                CLI_RUN["cli_wall"] = line.split(": ", 1)[1].strip()
        CLI_RUN["command"] = " ".join(["vsae", "impute", "table.parquet", "-o", "out.parquet", *command[-3:]])
        return pd.read_parquet(target)


def _miceforest(table: pd.DataFrame) -> pd.DataFrame:
    import miceforest

    categorical = categorical_columns(table)
    data = table.copy()
    for name in data.columns:
        if name in categorical:
            data[name] = data[name].astype(object).astype("category")
        else:
            data[name] = data[name].astype("float64")
    # "fast" mean matching: categorical cells drawn from the predicted class probabilities. The default
    # ("normal") takes log-odds of those probabilities, infinite for classes LightGBM gives 0.0, which
    # made its nearest-neighbour search fail on flights (rare carriers, tail numbers, destinations).
    kernel = miceforest.ImputationKernel(data, num_datasets=1, mean_match_strategy="fast", random_state=SEED)
    kernel.mice(5, num_threads=1, verbosity=-1)
    completed = kernel.complete_data(0)
    for name in categorical:
        completed[name] = completed[name].astype(object)
    return completed


def score(truth: pd.DataFrame, imputed: pd.DataFrame, hidden: np.ndarray) -> dict[str, float]:
    from vsae.metrics import nrmse, pfc

    categorical = categorical_columns(truth)
    numerical = [c for c in truth.columns if c not in categorical]
    tail = np.zeros_like(hidden)
    tail[:, truth.columns.get_loc("tailnum")] = hidden[:, truth.columns.get_loc("tailnum")]
    return {
        "nrmse": nrmse(truth, imputed, hidden, numerical),
        "pfc": pfc(truth, imputed, hidden, categorical),
        "pfc_tailnum": pfc(truth, imputed, tail, ["tailnum"]),
    }


def _commit() -> str:
    if os.environ.get("FLIGHTS_COMMIT"):  # runs from an exported copy of the repository
        return os.environ["FLIGHTS_COMMIT"]
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def environment() -> dict[str, Any]:
    import torch

    return {
        "commit": _commit(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "torch_threads": torch.get_num_threads(),
        "load_average_1min_at_start": round(os.getloadavg()[0], 2),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def cell_path(method: str, rows: int) -> Path:
    return CELLS / f"{method}_{rows}.json"


def run_cell(method: str, rows: int, verbose: bool = False) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    meta = environment()
    truth = load(rows)
    masked, hidden = hide(truth)
    start = time.perf_counter()
    imputed, given = impute(method, masked, verbose)
    seconds = time.perf_counter() - start
    observed = given.notna().to_numpy()
    same = [
        imputed[c].astype(object)[observed[:, j]].eq(given[c].astype(object)[observed[:, j]])
        for j, c in enumerate(given.columns)
    ]
    changed = sum(int((~s).sum()) for s in same)
    result = {
        "method": method,
        "rows": rows,
        "status": "done",
        "seconds": round(seconds, 2),
        **score(truth, imputed, hidden),
        "hidden_cells": int(hidden.sum()),
        "observed_cells_changed": changed,
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        **({"budget": vsae_budget(rows)} if method.startswith("vsae") else {}),
        **CLI_RUN,
        **meta,
    }
    write_cell(result)
    return result


def write_cell(result: dict[str, Any]) -> None:
    CELLS.mkdir(parents=True, exist_ok=True)
    path = cell_path(result["method"], result["rows"])
    path.write_text(json.dumps(result, indent=2) + "\n")


def commit_cell(path: Path, message: str) -> None:
    """Commit one cell file (retrying while another commit holds the index)."""
    where = {"cwd": path.parent, "capture_output": True}  # the repository holding the cells
    for _ in range(20):
        add = subprocess.run(["git", "add", str(path)], **where)
        done = add.returncode == 0 and (
            subprocess.run(["git", "commit", "-q", "-m", message, "--", str(path)], **where).returncode == 0
        )
        if done:
            return
        time.sleep(3)


def run_grid(
    methods: list[str], rows: list[int], cap: float, commit: bool, caps: dict[str, float] | None = None
) -> None:
    stopped: dict[str, int] = {}
    for previous in read_cells():  # a method that hit the cap (or failed) on fewer rows, earlier
        if previous["status"] != "done" and previous["rows"] < min(rows):
            stopped[previous["method"]] = min(
                previous["rows"], stopped.get(previous["method"], previous["rows"])
            )
    for n in rows:
        for method in methods:
            path = cell_path(method, n)
            if path.exists():
                previous = json.loads(path.read_text())
                if previous["status"] != "done":
                    stopped[method] = n
                continue
            if method in stopped:
                continue  # hit the cap on fewer rows: more rows take longer still
            limit = (caps or {}).get(method, cap)
            print(f"[{time.strftime('%H:%M:%S')}] {method} on {n} rows (cap {limit:.0f} s)", flush=True)
            command = [sys.executable, __file__, "cell", method, str(n)]
            start = time.perf_counter()
            try:
                finished = subprocess.run(command, timeout=limit, cwd=ROOT)
                status = "done" if finished.returncode == 0 else f"failed (exit {finished.returncode})"
            except subprocess.TimeoutExpired:
                status = "cap"
            if status != "done":
                stopped[method] = n
                write_cell(
                    {
                        "method": method,
                        "rows": n,
                        "status": status,
                        "seconds": round(time.perf_counter() - start, 1),
                        "cap_seconds": limit,
                        **environment(),
                    }
                )
            print(f"    {status} after {time.perf_counter() - start:.0f} s", flush=True)
            if commit:
                commit_cell(path, f"flights benchmark: {method} on {n} rows ({status})")


def read_cells() -> list[dict[str, Any]]:
    cells = [json.loads(p.read_text()) for p in sorted(CELLS.glob("*.json"))]
    return [c for c in cells if "method" in c]  # small_table.json lives beside the cells


def report() -> str:
    cells = read_cells()
    by = {(c["method"], c["rows"]): c for c in cells}
    lines = [
        "| rows | method | wall time (s) | NRMSE | PFC | PFC tailnum | load (1 min) start/end |",
        "|---:|---|---:|---:|---:|---:|---|",
    ]
    for n in ROWS:
        for method in METHODS:
            c = by.get((method, n))
            if c is None:
                continue
            if c["status"] == "done":
                lines.append(
                    f"| {n:,} | {method} | {c['seconds']:.1f} | {c['nrmse']:.3f} | {c['pfc']:.3f} | "
                    f"{c['pfc_tailnum']:.3f} | {c['load_average_1min_at_start']}/"
                    f"{c.get('load_average_1min_at_end', '')} |"
                )
            else:
                lines.append(
                    f"| {n:,} | {method} | > {c.get('cap_seconds', c['seconds']):.0f} ({c['status']}) "
                    "| – | – | – | |"
                )
    _plot(cells)
    return "\n".join(lines)


def _plot(cells: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for method in METHODS:
        if method == "vsae_cli":
            continue
        same = ("vsae", "vsae_cli") if method == "vsae" else (method,)  # the CLI run is VSAE's 336k point
        done = sorted(
            (c for c in cells if c["method"] in same and c["status"] == "done"), key=lambda c: c["rows"]
        )
        capped = [c for c in cells if c["method"] == method and c["status"] == "cap"]
        if not done and not capped:
            continue
        rows = [c["rows"] for c in done]
        (line,) = axes[0].plot(rows, [c["seconds"] for c in done], "o-", label=method)
        axes[1].plot(rows, [c["nrmse"] for c in done], "o-", label=method, color=line.get_color())
        axes[2].plot(rows, [c["pfc"] for c in done], "o-", label=method, color=line.get_color())
        for c in capped:  # hit the cap: an x at the cap
            axes[0].plot([c["rows"]], [c["cap_seconds"]], "x", ms=9, mew=2, color=line.get_color())
    for ax, title in zip(
        axes,
        ("wall time (s), fit + impute (x: hit the cap)", "NRMSE (hidden cells)", "PFC (hidden cells)"),
        strict=True,
    ):
        ax.set_xscale("log")
        ax.set_xlabel("rows of flights")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    axes[0].set_yscale("log")
    axes[0].legend()
    fig.tight_layout()
    FIGURE.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(FIGURE, dpi=110)


def plot_curves() -> str:
    """Validation score against wall time for every setting in ``budget/``; a Markdown summary."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [json.loads(p.read_text()) for p in sorted((CELLS / "budget").glob("*.json"))]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    lines = [
        "| rows | batch | lr | warm-up | epochs | best epoch (s) | best validation score "
        "| NRMSE | PFC | fit (s) |",
        "|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for run in runs:
        curve = [c for c in run["curve"] if c["validation_score"] is not None]
        label = f"{run['rows']:,} rows, batch {run['batch_size']}, lr {run['learning_rate']:g}"
        if run["warmup_epochs"] < run["epochs_run"]:
            label += f", warm-up {run['warmup_epochs']}"
        ax.plot(
            [c["seconds"] for c in curve], [c["validation_score"] for c in curve], "o-", ms=3, label=label
        )
        best = min(curve, key=lambda c: c["validation_score"])
        lines.append(
            f"| {run['rows']:,} | {run['batch_size']} | {run['learning_rate']:g} | {run['warmup_epochs']} | "
            f"{run['epochs_run']} | {best['epoch']} ({best['seconds']:.0f}) | "
            f"{best['validation_score']:.3f} | "
            f"{run['nrmse']:.3f} | {run['pfc']:.3f} | {run['fit_seconds']:.0f} |"
        )
    ax.set_xlabel("wall time of the fit (s), 1 thread, machine shared (load 3-7)")
    ax.set_ylabel("validation score (lower is better)")
    ax.set_title("VSAE on flights: time to accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(CURVES_FIGURE, dpi=110)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    cell = sub.add_parser("cell")
    cell.add_argument("method", choices=METHODS)
    cell.add_argument("rows", type=int)
    cell.add_argument("--verbose", action="store_true")
    grid = sub.add_parser("grid")
    grid.add_argument("--methods", default=",".join(METHODS))
    grid.add_argument("--rows", default=",".join(map(str, ROWS)))
    grid.add_argument("--cap", type=float, default=1800.0, help="wall-clock seconds per cell")
    grid.add_argument("--commit", action="store_true", help="commit each cell file as it arrives")
    grid.add_argument("--vsae-cap", type=float, help="cap of the VSAE cells (default: --cap)")
    sub.add_parser("report")
    args = parser.parse_args(argv)
    if args.command == "cell":
        print(json.dumps(run_cell(args.method, args.rows, args.verbose), indent=2))
    elif args.command == "grid":
        caps = {"vsae": args.vsae_cap} if args.vsae_cap else None
        run_grid(args.methods.split(","), [int(r) for r in args.rows.split(",")], args.cap, args.commit, caps)
    else:
        print(report())
        print()
        print(plot_curves())


if __name__ == "__main__":
    main()
