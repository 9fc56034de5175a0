"""Choose the default likelihood scale on validation data (observed training cells only).

For every configuration and dataset this fits ``VSAEImputer`` on the masked training split (docs/protocol.md,
ratio 0.5) and records the model's own best validation score — the imputation error on held-out
observed cells of held-out training rows — which is what the choice is made on. Test NRMSE/PFC are
recorded beside it for the report, never used to choose.

    VSAE_DATA=../shared/data python benchmarks/defaults_sweep.py --out runs/defaults_sweep.jsonl

Each finished (config, dataset, seed) is appended as one JSON line; a rerun skips lines already there.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from vsae.data import load_uci, masked_split
from vsae.imputer import VSAEImputer
from vsae.metrics import nrmse, pfc

CONFIGS: dict[str, dict] = {
    "paper_scale": {"numerical_variance": 0.5, "kl_weight": 1.0, "modality_dropout": 0.0},
    "var0.05": {"numerical_variance": 0.05, "kl_weight": 1.0, "modality_dropout": 0.0},
    "learned_var": {
        "numerical_variance": 0.5,
        "learn_numerical_variance": True,
        "kl_weight": 1.0,
        "modality_dropout": 0.0,
    },
    "beta0.2": {"numerical_variance": 0.5, "kl_weight": 0.2, "modality_dropout": 0.0},
    "beta0.1": {"numerical_variance": 0.5, "kl_weight": 0.1, "modality_dropout": 0.0},
    "beta0.05": {"numerical_variance": 0.5, "kl_weight": 0.05, "modality_dropout": 0.0},
    "beta0.1_lr1e-2": {
        "numerical_variance": 0.5,
        "kl_weight": 0.1,
        "learning_rate": 1e-2,
        "modality_dropout": 0.0,
    },
    "beta0.1_dropout0.2": {"numerical_variance": 0.5, "kl_weight": 0.1, "modality_dropout": 0.2},
    "beta0.1_dropout0.5": {"numerical_variance": 0.5, "kl_weight": 0.1, "modality_dropout": 0.5},
}
DATASETS = ("yeast", "white_wine", "glass", "zoo", "mushroom", "phishing")


def run(config: str, dataset: str, seed: int, ratio: float) -> dict:
    table = load_uci(dataset)
    split = masked_split(table.frame, seed, ratio)
    test, scored = split.test, split.scored
    start = time.perf_counter()
    imputer = VSAEImputer(random_state=seed, **CONFIGS[config]).fit(split.train_masked)
    fit_seconds = time.perf_counter() - start
    imputed = imputer.transform(split.test_masked)
    scores = [e["validation_score"] for e in imputer.history_.epochs]
    result = {
        "config": config,
        "dataset": dataset,
        "seed": seed,
        "ratio": ratio,
        "validation_score": min(scores),
        "best_epoch": imputer.history_.best_epoch,
        "epochs_run": len(scores),
        "fit_seconds": round(fit_seconds, 2),
    }
    if table.numerical:
        result["test_nrmse"] = nrmse(test, imputed, scored, table.numerical)
    if table.categorical:
        result["test_pfc"] = pfc(test, imputed, scored, table.categorical)
    return result


def report(path: Path) -> str:
    """Markdown table per configuration and dataset: validation score mean ± std over seeds (population
    std), the test metric's mean in brackets, and the number of seeds."""
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    datasets = [d for d in DATASETS if any(r["dataset"] == d for r in rows)]
    lines = [
        "| config | " + " | ".join(datasets) + " |",
        "|---|" + "---|" * len(datasets),
    ]
    for config in CONFIGS:
        cells = []
        for dataset in datasets:
            found = [r for r in rows if r["config"] == config and r["dataset"] == dataset]
            if not found:
                cells.append("–")
                continue
            scores = np.array([r["validation_score"] for r in found])
            test = np.array([r.get("test_nrmse", r.get("test_pfc")) for r in found])
            cells.append(f"{scores.mean():.3f} ± {scores.std():.3f} ({test.mean():.3f}) n={len(found)}")
        lines.append(f"| {config} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/defaults_sweep.jsonl"))
    parser.add_argument("--configs", nargs="*", default=list(CONFIGS))
    parser.add_argument("--datasets", nargs="*", default=list(DATASETS))
    parser.add_argument("--seeds", nargs="*", type=int, default=[0])
    parser.add_argument("--ratio", type=float, default=0.5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--report", action="store_true", help="print the Markdown table of --out and exit")
    args = parser.parse_args()
    if args.report:
        print(report(args.out))
        return
    torch.set_num_threads(args.threads)
    done = set()
    if args.out.exists():
        for line in args.out.read_text().splitlines():
            r = json.loads(line)
            done.add((r["config"], r["dataset"], r["seed"], r["ratio"]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for dataset in args.datasets:
        for config in args.configs:
            for seed in args.seeds:
                if (config, dataset, seed, args.ratio) in done:
                    continue
                result = run(config, dataset, seed, args.ratio)
                print(json.dumps(result), flush=True)
                with args.out.open("a") as handle:
                    handle.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
