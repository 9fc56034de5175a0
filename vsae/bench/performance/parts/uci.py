"""Part ``uci``: fit-plus-impute time and accuracy of VSAE, MICE and MissForest on the UCI tables.

:func:`uci_from_cells` reads the same comparison from the reproduction's cells instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from vsae.baselines import MICEImputer, MissForestImputer
from vsae.bench.cells import read_cell
from vsae.bench.performance.harness import loadavg
from vsae.bench.performance.sizes import UCI_RATIO, UCI_SEED, Sizes
from vsae.data import load_uci, masked_split
from vsae.imputer import VSAEImputer
from vsae.metrics import nrmse, pfc

UCI_METHODS: tuple[str, ...] = ("vsae", "mice", "missforest")


def accuracy(table: Any, split: Any, imputed: pd.DataFrame) -> dict[str, float]:
    scores: dict[str, float] = {}
    if table.numerical:
        scores["nrmse"] = nrmse(split.test, imputed, split.scored, table.numerical)
    if table.categorical:
        scores["pfc"] = pfc(split.test, imputed, split.scored, table.categorical)
    return scores


def _make_imputer(method: str, params: dict[str, Any]) -> Any:
    if method == "vsae":
        return VSAEImputer(random_state=UCI_SEED, device="cpu", **params)
    if method == "mice":
        return MICEImputer(random_state=UCI_SEED, **params)
    return MissForestImputer(random_state=UCI_SEED, **params)


def bench_uci_one(dataset: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """Fit on the masked training split, impute the masked test split; time both, score the result."""
    table = load_uci(dataset)
    split = masked_split(table.frame, seed=UCI_SEED, missing_rate=UCI_RATIO)
    imputer = _make_imputer(method, params)
    start = time.perf_counter()
    imputer.fit(split.train_masked)
    fitted = time.perf_counter()
    imputed = imputer.transform(split.test_masked)
    done = time.perf_counter()
    return {
        "dataset": dataset,
        "method": method,
        "params": params,
        "seed": UCI_SEED,
        "ratio": UCI_RATIO,
        "fit_seconds": fitted - start,
        "impute_seconds": done - fitted,
        "total_seconds": done - start,
        "threads": torch.get_num_threads(),
        "loadavg_after": loadavg(),
        **accuracy(table, split, imputed),
    }


def bench_uci(
    sizes: Sizes, datasets: Sequence[str], cache: dict[str, Any], save: Callable[[], None]
) -> dict[str, Any]:
    """Every (dataset, method) not already in ``cache`` with the same parameters; saved after each."""
    for dataset in datasets:
        for method in UCI_METHODS:
            key = f"{dataset}/{method}"
            params = dict(sizes.uci_params.get(method, {}))
            if key in cache and cache[key].get("params") == params:
                print(f"uci {key}: cached", flush=True)
                continue
            cache[key] = bench_uci_one(dataset, method, params)
            print(f"uci {key}: {cache[key]['total_seconds']:.1f} s", flush=True)
            save()
    return cache


def uci_from_cells(cells_dir: Path, datasets: Sequence[str]) -> dict[str, Any]:
    """The ``uci`` comparison read from ``vsae bench uci`` cells instead of measured again.

    Those cells follow the same protocol (``masked_split``, 50% MCAR, library defaults) for seeds
    0, 1, 2; re-measuring would repeat about an hour of MissForest per seed on mushroom and phishing.
    Returns, per ``dataset/method``, the per-seed fit + impute seconds and test errors.
    """
    runs: dict[str, Any] = {}
    for dataset in datasets:
        for method in UCI_METHODS:
            seeds, seconds, errors = [], [], []
            for path in sorted((cells_dir / dataset / f"mcar-{UCI_RATIO:g}").glob(f"{method}-seed*.json")):
                cell = read_cell(path)
                if "metrics" not in cell:  # a failed cell holds its error instead
                    continue
                seeds.append(cell["seed"])
                seconds.append(cell["fit_seconds"] + cell["impute_seconds"])
                errors.append(cell["metrics"].get("nrmse", cell["metrics"].get("pfc")))
            if seeds:
                runs[f"{dataset}/{method}"] = {
                    "dataset": dataset,
                    "method": method,
                    "seeds": seeds,
                    "total_seconds": seconds,
                    "errors": errors,
                }
    return {"cells": str(cells_dir), "runs": runs}
