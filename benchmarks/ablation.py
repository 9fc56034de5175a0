"""Ablation of VSAE's levers on tables, scored on held-out *observed* training cells.

Every cell is one (configuration, table, MCAR ratio, seed): the benchmark protocol's masked split
(:func:`vsae.data.masked_split`), then a further 20% of the *observed* training cells hidden
("selection cells"). VSAE is fitted on the training split without them and scored on them: that
validation score is what defaults are chosen on. The same model also imputes the masked test split,
and its test error, the coverage of its 95% intervals on numerical test cells and the expected
calibration error of its class probabilities on categorical test cells are recorded for the report,
never for choosing.

    python benchmarks/ablation.py run --configs default paper --tables glass zoo --seeds 0 1 2
    python benchmarks/ablation.py summary            # Markdown table of every cell present

Cells are JSON files under ``docs/data/ablation/<config>/<table>/mcar-<ratio>/seed<k>.json``; a run
skips the cells already there, so it can be stopped and resumed. Run with ``OMP_NUM_THREADS=1``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from vsae import VSAEImputer, inference
from vsae.data import SKLEARN_DATASETS, UCI_DATASETS, load_sklearn_table, load_uci, masked_split, mcar_mask
from vsae.data.masking import apply_mask
from vsae.data.uci import UCITable
from vsae.imputer import PAPER_SETTINGS
from vsae.metrics import nrmse, pfc

CELLS = Path(__file__).resolve().parent.parent / "docs" / "data" / "ablation"
TABLES = (*UCI_DATASETS, *SKLEARN_DATASETS)
#: Share of the observed training cells hidden for scoring a configuration.
SELECTION_SHARE = 0.2
#: Draws for the intervals and the predictive probabilities.
DRAWS = 50

#: name -> VSAEImputer parameters (on top of the library defaults, which ``default`` is).
CONFIGS: dict[str, dict[str, Any]] = {
    "default": {},
    "paper": PAPER_SETTINGS,
    # the defaults before selection after warm-up (selection over every epoch)
    "select_all_epochs": {"select_after_warmup": False},
    "no_pseudo_targets": {"unobserved_term": False},
    "refit": {"refit": True},
    "dropout_0": {"modality_dropout": 0.0},
    "dropout_0.3": {"modality_dropout": 0.3},
    "dropout_0.5": {"modality_dropout": 0.5},
    "kl_0.02": {"kl_weight": 0.02},
    "kl_0.02_dropout_0.3": {"kl_weight": 0.02, "modality_dropout": 0.3},
    "patience_50": {"patience": 50},
    "lr_3e-3": {"learning_rate": 3e-3},
    "refit_patience_50": {"refit": True, "patience": 50},
    "latent_8": {"latent_dim": 8},
    "learned_variance": {"learn_numerical_variance": True},
    "mask_input_true": {"mask_input": "true"},
    "mask_input_none": {"mask_input": "none"},
}


def load_table(name: str) -> UCITable:
    return load_sklearn_table(name) if name in SKLEARN_DATASETS else load_uci(name)


def cell_path(config: str, table: str, ratio: float, seed: int) -> Path:
    return CELLS / config / table / f"mcar-{ratio}" / f"seed{seed}.json"


def score(table: UCITable, truth: pd.DataFrame, imputed: pd.DataFrame, cells: np.ndarray) -> dict[str, float]:
    out = {}
    if table.numerical:
        out["nrmse"] = nrmse(truth, imputed, cells, table.numerical)
    if table.categorical:
        out["pfc"] = pfc(truth, imputed, cells, table.categorical)
    return out


def interval_coverage(imputer: VSAEImputer, table: UCITable, split: Any, seed: int) -> dict[str, float]:
    """Coverage of the 95% intervals on scored numerical test cells, and the ECE on categorical ones."""
    out: dict[str, float] = {}
    if table.numerical:
        columns = [split.test.columns.get_loc(c) for c in table.numerical]
        scored = split.scored[:, columns]
        truth = split.test[table.numerical].to_numpy(dtype=float)
        draws = imputer.sample_imputations(split.test_masked, n=DRAWS, random_state=seed)
        stacked = np.stack([d[table.numerical].to_numpy(dtype=float) for d in draws])
        low, high = np.quantile(stacked, [0.025, 0.975], axis=0)
        out["coverage_draws"] = float(((truth >= low) & (truth <= high))[scored].mean())
        point = imputer.transform(split.test_masked)[table.numerical].to_numpy(dtype=float)
        spread = imputer.uncertainty(split.test_masked, n=DRAWS, random_state=seed)
        spread = spread[table.numerical].to_numpy(dtype=float)
        inside = np.abs(truth - point) <= 1.96 * spread
        out["coverage_sd"] = float(inside[scored].mean())
    if table.categorical:
        _, _, x, observed = imputer._encode(split.test_masked)
        probabilities, _ = inference.predictive_moments(imputer.model_, x, observed, DRAWS, seed)
        confidence, correct = [], []
        for name in table.categorical:
            index = imputer.schema_.names.index(name)
            block = probabilities[:, imputer.schema_.columns_of(index)]
            categories = list(imputer.schema_.modalities[index].categories)
            rows = split.scored[:, split.test.columns.get_loc(name)]
            truth = split.test[name].to_numpy()[rows]
            predicted = np.asarray(categories, dtype=object)[block[rows].argmax(1)]
            confidence.append(block[rows].max(1))
            correct.append(np.array([str(a) == str(b) for a, b in zip(predicted, truth, strict=True)]))
        out["ece"] = expected_calibration_error(np.concatenate(confidence), np.concatenate(correct))
    return out


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """ECE: the share-weighted mean over equal-width confidence bins of |accuracy − confidence|."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            total += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(total)


def run_cell(config: str, table_name: str, ratio: float, seed: int) -> dict[str, Any]:
    table = load_table(table_name)
    split = masked_split(table.frame, seed, ratio, "mcar")
    observed = split.train_masked.notna().to_numpy()
    selection = observed & mcar_mask(observed.shape, SELECTION_SHARE, 10_000 + seed)
    selection_cells = observed & ~selection
    fit_frame = apply_mask(split.train_masked, selection)
    imputer = VSAEImputer(random_state=seed, device="cpu", **CONFIGS[config])
    start = time.perf_counter()
    imputer.fit(fit_frame)
    fit_seconds = time.perf_counter() - start
    validation = score(table, split.train_masked, imputer.transform(fit_frame), selection_cells)
    test = score(table, split.test, imputer.transform(split.test_masked), split.scored)
    return {
        "config": config,
        "params": CONFIGS[config],
        "table": table_name,
        "ratio": ratio,
        "seed": seed,
        "validation": validation,
        "test": test,
        "uncertainty": interval_coverage(imputer, table, split, seed),
        "fit_seconds": fit_seconds,
        "epochs_run": len(imputer.history_.epochs),
        "best_epoch": imputer.history_.best_epoch,
        "refit_epochs": imputer.history_.refit_epochs,
        "torch_threads": torch.get_num_threads(),
        "load_average": os.getloadavg()[0],
    }


def run(args: argparse.Namespace) -> None:
    torch.set_num_threads(1)
    for config in args.configs:
        if config not in CONFIGS:
            raise SystemExit(f"unknown configuration {config!r}; known: {', '.join(CONFIGS)}")
    for seed in args.seeds:
        for ratio in args.ratios:
            for table in args.tables:
                for config in args.configs:
                    path = cell_path(config, table, ratio, seed)
                    if path.exists():
                        continue
                    record = run_cell(config, table, ratio, seed)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    temporary = path.with_suffix(".tmp")
                    temporary.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
                    temporary.replace(path)
                    print(
                        f"{config} {table} {ratio} seed {seed}: val {record['validation']} "
                        f"test {record['test']} {record['uncertainty']} {record['fit_seconds']:.1f}s",
                        flush=True,
                    )


def _metric(record: dict[str, Any], part: str) -> float:
    values = record[part]
    return values["nrmse"] if "nrmse" in values else values["pfc"]


def summary(args: argparse.Namespace) -> str:
    """Markdown: per table and ratio, mean ± std over seeds of validation and test error per config."""
    records = [json.loads(p.read_text()) for p in sorted(CELLS.glob("*/*/*/seed*.json"))]
    configs = [c for c in CONFIGS if any(r["config"] == c for r in records)]
    groups: dict[tuple[str, float], dict[str, list[dict[str, Any]]]] = {}
    for record in records:
        groups.setdefault((record["table"], record["ratio"]), {}).setdefault(record["config"], []).append(
            record
        )
    lines = [
        "| table | ratio | " + " | ".join(configs) + " |",
        "|---|---|" + "---|" * len(configs),
    ]

    def stat(values: list[float]) -> str:
        if not values:
            return "–"
        spread = statistics.pstdev(values) if len(values) > 1 else 0.0
        return f"{statistics.mean(values):.3f} ± {spread:.3f} ({len(values)})"

    for (table, ratio), by_config in sorted(
        groups.items(), key=lambda kv: (TABLES.index(kv[0][0]), kv[0][1])
    ):
        cells = [stat([_metric(r, args.part) for r in by_config.get(c, [])]) for c in configs]
        lines.append(f"| {table} | {ratio} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run")
    run_parser.add_argument("--configs", nargs="+", default=["default"])
    run_parser.add_argument("--tables", nargs="+", default=list(TABLES))
    run_parser.add_argument("--ratios", nargs="+", type=float, default=[0.3, 0.5])
    run_parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    summary_parser = commands.add_parser("summary")
    summary_parser.add_argument("--part", choices=["validation", "test"], default="validation")
    args = parser.parse_args(argv)
    if args.command == "run":
        run(args)
    else:
        print(summary(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
