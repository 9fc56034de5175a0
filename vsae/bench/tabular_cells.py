"""Computing one UCI cell: build the protocol's split and masks, fit a method, impute, score.

The protocol (docs/protocol.md, "Tables") is the project's one definition, :func:`vsae.data.masked_split`:
methods fit on the masked training split and impute the masked test split. The references
``cvae_data`` / ``vaeac`` fit on the complete training split by design (only cells missing in the raw
file stay missing) and are reported apart. Scores come from :mod:`vsae.metrics`.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from vsae.baselines import CLASSICAL_IMPUTERS, NEURAL_IMPUTERS, count_parameters
from vsae.bench.cells import Cell
from vsae.bench.presets import CLASSICAL, NEURAL_PARTIAL, NEURAL_REFERENCES, Budget
from vsae.data import load_uci, masked_split, missing_ratio
from vsae.errors import VSAEError
from vsae.imputer import VSAEImputer
from vsae.metrics import nrmse, nrmse_pooled, pfc


def _tabular_imputer(method: str, seed: int, budget: Budget) -> Any:
    if method == "vsae":
        return VSAEImputer(random_state=seed, device="cpu", **budget.tabular_training)
    if method in CLASSICAL:
        return CLASSICAL_IMPUTERS[method](random_state=seed, **budget.classical.get(method, {}))
    if method in (*NEURAL_PARTIAL, *NEURAL_REFERENCES):
        extra = budget.miwae if method == "miwae" else {}
        return NEURAL_IMPUTERS[method](random_state=seed, device="cpu", **budget.tabular_training, **extra)
    raise VSAEError(f"unknown tabular method {method!r}")


def tabular_cell(cell: Cell, budget: Budget) -> dict[str, Any]:
    """Fit ``cell.method`` on the masked training split of ``cell.dataset``, impute and score the
    masked test split; the body of the cell's record."""
    table = load_uci(cell.dataset)
    frame = table.frame
    if budget.tabular_rows is not None and len(frame) > budget.tabular_rows:
        rows = np.sort(np.random.default_rng(0).choice(len(frame), budget.tabular_rows, replace=False))
        frame = frame.iloc[rows].reset_index(drop=True)
    ratio = cell.setting.ratio if cell.setting.ratio is not None else 0.5
    split = masked_split(frame, cell.seed, ratio, cell.setting.mechanism)
    imputer = _tabular_imputer(cell.method, cell.seed, budget)
    training = split.train if cell.method in NEURAL_REFERENCES else split.train_masked
    start = time.perf_counter()
    imputer.fit(training)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    imputed = imputer.transform(split.test_masked)
    impute_seconds = time.perf_counter() - start

    metrics: dict[str, float] = {}
    if table.numerical:
        metrics["nrmse"] = nrmse(split.test, imputed, split.scored, table.numerical)
        metrics["nrmse_pooled"] = nrmse_pooled(split.test, imputed, split.scored, table.numerical)
    if table.categorical:
        metrics["pfc"] = pfc(split.test, imputed, split.scored, table.categorical)
    record: dict[str, Any] = {
        "metrics": metrics,
        "fit_seconds": fit_seconds,
        "impute_seconds": impute_seconds,
        "rows": {"train": len(split.train), "test": len(split.test)},
        "missing_ratio": {
            "train": float(split.train_masked.isna().to_numpy().mean()),
            "test": split.missing_ratio,
            "scored_cells": int(split.scored.sum()),
        },
        "params": {k: v for k, v in imputer.get_params().items() if _is_json_scalar(v)},
    }
    if hasattr(imputer, "history_"):
        record["epochs_run"] = len(imputer.history_.epochs)
        record["best_epoch"] = imputer.history_.best_epoch
    if cell.method == "vsae":
        record["n_parameters"] = count_parameters(imputer.model_)
        _, mask = imputer.generate(budget.generated_rows, random_state=cell.seed)
        record["generated_missing_ratio"] = missing_ratio(np.asarray(mask, dtype=bool))
        record["generated_rows"] = budget.generated_rows
    elif hasattr(imputer, "n_parameters_"):
        record["n_parameters"] = imputer.n_parameters_
        record["vsae_parameters"] = imputer.vsae_parameters_
    return record


def _is_json_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))
