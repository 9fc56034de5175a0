"""Does multiple imputation support valid inference? Rubin's rules on a table with a known linear model.

Each replication draws 500 rows of ``y = 1 + 2·x1 − x2 + ε`` (``x1``, ``x2`` correlated standard
normals, ``ε ~ N(0, 1)``) and hides ``x1`` at random given the always-observed ``y`` (MAR: probability
``sigmoid(y − 1.5)``, about 35% of the rows). An imputer completes the table ``m = 20`` times; each
completed table gives the least-squares coefficient of ``x1`` and its variance, pooled with Rubin's
rules (Barnard–Rubin degrees of freedom). The 95% interval should cover the true 2 in about 95% of the
replications.

    python benchmarks/rubin_coverage.py run --method vsae --replications 100
    python benchmarks/rubin_coverage.py run --method vsae_single --replications 100   # one network
    python benchmarks/rubin_coverage.py run --method vsae_one_mask --replications 100 # one held-out mask
    python benchmarks/rubin_coverage.py run --method vsae_drawn_masks --replications 100
    python benchmarks/rubin_coverage.py run --method iterative --replications 100
    python benchmarks/rubin_coverage.py summary
    python benchmarks/rubin_coverage.py diagnose --replications 5 --set kl_weight=0.02

``diagnose`` asks why the estimate is biased: for a few replications it prints each imputer's
point-imputation error of the hidden ``x1`` (RMSE and mean signed error against the true values,
which a replication knows), the standard deviation of the draws around the point imputation (a
proper imputation's is the true conditional one, ``CONDITIONAL_SD``) and the pooled estimate, for
the VSAE defaults with ``--set`` overrides, one network, and IterativeImputer; nothing is stored.

Cells: ``docs/data/rubin/<method>/rep<k>.json`` (resumable). Run with ``OMP_NUM_THREADS=1``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy import stats
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer

from vsae import VSAEImputer

CELLS = Path(__file__).resolve().parent.parent / "docs" / "data" / "rubin"
ROWS, IMPUTATIONS, TRUE_COEFFICIENT = 500, 20, 2.0
#: Standard deviation of x1 given y and x2 in ``replication_table``'s model: x1 | x2 ~ N(x2 / 2, 3/4)
#: and y − 1 + x2 = 2·x1 + ε, so the conditional precision is 4/3 + 4.
CONDITIONAL_SD = float(np.sqrt(1 / (4 / 3 + 4)))


def replication_table(replication: int) -> pd.DataFrame:
    rng = np.random.default_rng(replication)
    x1 = rng.normal(size=ROWS)
    x2 = 0.5 * x1 + np.sqrt(0.75) * rng.normal(size=ROWS)
    y = 1.0 + TRUE_COEFFICIENT * x1 - x2 + rng.normal(size=ROWS)
    hidden = rng.random(ROWS) < 1.0 / (1.0 + np.exp(-(y - 1.5)))
    return pd.DataFrame({"y": y, "x1": np.where(hidden, np.nan, x1), "x2": x2})


#: VSAE variants beside the default: the settings of each one's cells' time.
VSAE_VARIANTS: dict[str, dict[str, Any]] = {
    "vsae": {},
    # one network with the KL weight of the default before ensembles
    "vsae_single": {"ensemble_size": 1, "kl_weight": 0.1, "validation_masks": 1},
    # the default before the held-out rows were scored on every cell
    "vsae_one_mask": {"validation_masks": 1},
    # the default before each held-out row's cells were dealt to the masks (drawn independently)
    "vsae_drawn_masks": {"deal_validation_cells": False},
    # the default before the noise was scaled to cover 95% of the held-out cells
    "vsae_variance_calibration": {"interval_calibration": "variance"},
    # the default before the classical companions (the network alone)
    "vsae_network_only": {"classical_weight": 0.0},
}


def completed_tables(method: str, table: pd.DataFrame, replication: int) -> list[pd.DataFrame]:
    if method in VSAE_VARIANTS:
        settings = VSAE_VARIANTS[method]
        imputer = VSAEImputer(random_state=replication, device="cpu", **settings).fit(table)
        return imputer.sample_imputations(table, n=IMPUTATIONS, random_state=replication)
    tables = []
    for draw in range(IMPUTATIONS):
        iterative = IterativeImputer(sample_posterior=True, random_state=replication * 1000 + draw)
        tables.append(pd.DataFrame(iterative.fit_transform(table), columns=table.columns))
    return tables


def coefficient_and_variance(table: pd.DataFrame) -> tuple[float, float]:
    """Least-squares coefficient of x1 in y ~ 1 + x1 + x2, and its estimated variance."""
    design = np.column_stack([np.ones(len(table)), table["x1"], table["x2"]])
    coefficients, *_ = np.linalg.lstsq(design, table["y"].to_numpy(), rcond=None)
    residual = table["y"].to_numpy() - design @ coefficients
    sigma2 = residual @ residual / (len(table) - design.shape[1])
    covariance = sigma2 * np.linalg.inv(design.T @ design)
    return float(coefficients[1]), float(covariance[1, 1])


def rubin_interval(estimates: np.ndarray, variances: np.ndarray, n: int, k: int) -> tuple[float, float]:
    """95% interval by Rubin's rules with the Barnard–Rubin small-sample degrees of freedom."""
    m = len(estimates)
    pooled, within, between = estimates.mean(), variances.mean(), estimates.var(ddof=1)
    total = within + (1 + 1 / m) * between
    missing_information = (1 + 1 / m) * between / total
    old_df = (m - 1) / max(missing_information, 1e-12) ** 2
    complete_df = n - k
    observed_df = (complete_df + 1) / (complete_df + 3) * complete_df * (1 - missing_information)
    df = 1 / (1 / old_df + 1 / observed_df)
    half = stats.t.ppf(0.975, df) * np.sqrt(total)
    return float(pooled - half), float(pooled + half)


def run(args: argparse.Namespace) -> None:
    torch.set_num_threads(1)
    for replication in range(args.replications):
        path = CELLS / args.method / f"rep{replication}.json"
        if path.exists():
            continue
        table = replication_table(replication)
        start = time.perf_counter()
        results = [coefficient_and_variance(t) for t in completed_tables(args.method, table, replication)]
        estimates, variances = (np.array(values) for values in zip(*results, strict=True))
        low, high = rubin_interval(estimates, variances, ROWS, 3)
        record = {
            "method": args.method,
            "replication": replication,
            "missing_share": float(table["x1"].isna().mean()),
            "estimate": float(estimates.mean()),
            "interval": [low, high],
            "covers": bool(low <= TRUE_COEFFICIENT <= high),
            "seconds": time.perf_counter() - start,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, indent=1) + "\n")
        print(record, flush=True)


def summary() -> str:
    lines = ["| method | replications | coverage of the true coefficient | mean estimate | mean width |"]
    lines.append("|---|---|---|---|---|")
    for folder in sorted(CELLS.glob("*")):
        records = [json.loads(p.read_text()) for p in folder.glob("rep*.json")]
        if not records:
            continue
        coverage = np.mean([r["covers"] for r in records])
        estimate = np.mean([r["estimate"] for r in records])
        width = np.mean([r["interval"][1] - r["interval"][0] for r in records])
        lines.append(f"| {folder.name} | {len(records)} | {coverage:.2f} | {estimate:.3f} | {width:.3f} |")
    return "\n".join(lines)


def _true_x1(replication: int) -> np.ndarray:
    """The values ``replication_table`` hides (same draws)."""
    return np.random.default_rng(replication).normal(size=ROWS)


def diagnose(replications: int, overrides: dict[str, Any]) -> str:
    """Markdown: point-imputation RMSE of the hidden x1 and pooled estimate, mean ± std over
    replications 0 … ``replications - 1``, per imputer."""
    torch.set_num_threads(1)
    imputers: dict[str, Callable[[pd.DataFrame, int], tuple[np.ndarray, list[pd.DataFrame]]]] = {}

    def vsae(
        settings: dict[str, Any],
    ) -> Callable[[pd.DataFrame, int], tuple[np.ndarray, list[pd.DataFrame]]]:
        def impute(table: pd.DataFrame, replication: int) -> tuple[np.ndarray, list[pd.DataFrame]]:
            imputer = VSAEImputer(random_state=replication, device="cpu", **settings).fit(table)
            point = imputer.transform(table)["x1"].to_numpy()
            return point, imputer.sample_imputations(table, n=IMPUTATIONS, random_state=replication)

        return impute

    def iterative(table: pd.DataFrame, replication: int) -> tuple[np.ndarray, list[pd.DataFrame]]:
        point = IterativeImputer(random_state=replication).fit_transform(table)[:, 1]
        return point, completed_tables("iterative", table, replication)

    label = ", ".join(f"{k}={v}" for k, v in overrides.items()) or "defaults"
    imputers[f"vsae ({label})"] = vsae(overrides)
    imputers["vsae (one network)"] = vsae({**overrides, "ensemble_size": 1})
    imputers["iterative"] = iterative
    lines = [
        "| imputer | point RMSE of hidden x1 | mean signed error | sd of draws around the point "
        f"(proper: {CONDITIONAL_SD:.3f}) | pooled estimate (true 2) |",
        "|---|---|---|---|---|",
    ]
    for name, impute in imputers.items():
        measured: dict[str, list[float]] = {"rmse": [], "bias": [], "spread": [], "estimate": []}
        for replication in range(replications):
            table = replication_table(replication)
            hidden = table["x1"].isna().to_numpy()
            point, draws = impute(table, replication)
            error = point[hidden] - _true_x1(replication)[hidden]
            deviations = np.stack([t["x1"].to_numpy()[hidden] - point[hidden] for t in draws])
            measured["rmse"].append(float(np.sqrt(np.mean(error**2))))
            measured["bias"].append(float(np.mean(error)))
            measured["spread"].append(float(np.sqrt(np.mean(deviations**2))))
            measured["estimate"].append(float(np.mean([coefficient_and_variance(t)[0] for t in draws])))
        cells = [f"{np.mean(v):.3f} ± {np.std(v, ddof=1):.3f}" for v in measured.values()]
        lines.append(f"| {name} | {' | '.join(cells)} |")
    return "\n".join(lines)


def _setting(text: str) -> tuple[str, Any]:
    name, _, value = text.partition("=")
    return name, json.loads(value) if value not in ("auto",) else value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run")
    run_parser.add_argument("--method", choices=[*VSAE_VARIANTS, "iterative"], default="vsae")
    run_parser.add_argument("--replications", type=int, default=100)
    commands.add_parser("summary")
    diagnose_parser = commands.add_parser("diagnose")
    diagnose_parser.add_argument("--replications", type=int, default=5)
    diagnose_parser.add_argument("--set", nargs="*", type=_setting, default=[], metavar="NAME=VALUE")
    args = parser.parse_args(argv)
    if args.command == "run":
        run(args)
    elif args.command == "diagnose":
        print(diagnose(args.replications, dict(args.set)))
    else:
        print(summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
