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
import pandas as pd
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer

from vsae.baselines import CLASSICAL_IMPUTERS, NEURAL_IMPUTERS, count_parameters
from vsae.bench.cells import Cell
from vsae.bench.presets import CLASSICAL, NEURAL_PARTIAL, NEURAL_REFERENCES, UNCERTAINTY_PEER, Budget
from vsae.data import (
    SKLEARN_DATASETS,
    MaskedSplit,
    UCITable,
    load_sklearn_table,
    load_uci,
    masked_split,
    missing_ratio,
)
from vsae.errors import VSAEError
from vsae.imputer import VSAEImputer
from vsae.metrics import (
    calibrated_expected_calibration_error,
    expected_calibration_error,
    interval_coverage,
    nrmse,
    nrmse_pooled,
    pfc,
)
from vsae.model.ensemble import members_of
from vsae.train import INTERVAL_Z

#: Draws behind every predictive interval and class probability a cell scores.
UNCERTAINTY_DRAWS = 50


def _tabular_imputer(method: str, seed: int, budget: Budget) -> Any:
    if method == "vsae":
        return VSAEImputer(random_state=seed, device="cpu", **budget.tabular_training)
    if method in CLASSICAL:
        return CLASSICAL_IMPUTERS[method](random_state=seed, **budget.classical.get(method, {}))
    if method in (*NEURAL_PARTIAL, *NEURAL_REFERENCES):
        extra = budget.miwae if method == "miwae" else {}
        return NEURAL_IMPUTERS[method](random_state=seed, device="cpu", **budget.tabular_training, **extra)
    raise VSAEError(f"unknown tabular method {method!r}")


def load_table(name: str) -> UCITable:
    """A benchmark table by name: one of the UCI tables or one of scikit-learn's bundled ones."""
    return load_sklearn_table(name) if name in SKLEARN_DATASETS else load_uci(name)


def draw_coverage(truth: np.ndarray, draws: np.ndarray, scored: np.ndarray) -> dict[str, float]:
    """Coverage of the 2.5–97.5% range of ``draws`` ``[n, rows, columns]`` and of ±1.96 × their std."""
    low, high = np.quantile(draws, [0.025, 0.975], axis=0)
    centre, spread = draws.mean(0), draws.std(0)
    return {
        "coverage_draws": interval_coverage(truth, low, high, scored),
        "coverage_sd": interval_coverage(
            truth, centre - INTERVAL_Z * spread, centre + INTERVAL_Z * spread, scored
        ),
    }


def vsae_uncertainty(
    imputer: VSAEImputer, table: UCITable, split: MaskedSplit, imputed: pd.DataFrame, seed: int
) -> dict[str, float]:
    """How well VSAE's uncertainty is calibrated on the scored test cells: coverage of the 95% range
    of ``sample_imputations(n=50)`` and of ±1.96 × ``uncertainty`` (numerical cells), and the expected
    calibration error of ``class_probabilities`` (categorical cells) beside the one a perfectly
    calibrated predictor with the same confidences would score in expectation."""
    out: dict[str, float] = {}
    if table.numerical:
        scored = split.scored[:, [split.test.columns.get_loc(c) for c in table.numerical]]
        truth = split.test[table.numerical].to_numpy(dtype=float)
        samples = imputer.sample_imputations(split.test_masked, n=UNCERTAINTY_DRAWS, random_state=seed)
        draws = np.stack([sample[table.numerical].to_numpy(dtype=float) for sample in samples])
        out["coverage_draws"] = draw_coverage(truth, draws, scored)["coverage_draws"]
        point = imputed[table.numerical].to_numpy(dtype=float)
        spread = imputer.uncertainty(split.test_masked, n=UNCERTAINTY_DRAWS, random_state=seed)
        spread = spread[table.numerical].to_numpy(dtype=float)
        out["coverage_sd"] = interval_coverage(
            truth, point - INTERVAL_Z * spread, point + INTERVAL_Z * spread, scored
        )
    if table.categorical:
        probabilities = imputer.class_probabilities(split.test_masked, n=UNCERTAINTY_DRAWS, random_state=seed)
        confidence, correct = [], []
        for name in table.categorical:
            rows = split.scored[:, split.test.columns.get_loc(name)]
            block = probabilities[name].to_numpy()[rows]
            predicted = np.asarray(probabilities[name].columns, dtype=object)[block.argmax(1)]
            truth = split.test[name].to_numpy()[rows]
            confidence.append(block.max(1))
            correct.append(predicted.astype(str) == truth.astype(str))
        confidences = np.concatenate(confidence)
        out["ece"] = expected_calibration_error(confidences, np.concatenate(correct))
        out["ece_if_calibrated"] = calibrated_expected_calibration_error(confidences, seed=seed)
    return out


def iterative_posterior_cell(table: UCITable, split: MaskedSplit, seed: int) -> dict[str, Any]:
    """The uncertainty peer: ``UNCERTAINTY_DRAWS`` scikit-learn IterativeImputers with
    ``sample_posterior=True`` (seeds ``1000·seed + k``) on the numerical columns; the point imputation
    is the mean of the draws."""
    if table.categorical:
        raise VSAEError(
            f"{UNCERTAINTY_PEER} scores numerical tables only; {table.name!r} has categorical columns"
        )
    train, test = split.train_masked[table.numerical], split.test_masked[table.numerical]
    start = time.perf_counter()
    draws = np.stack(
        [
            IterativeImputer(sample_posterior=True, random_state=1000 * seed + k).fit(train).transform(test)
            for k in range(UNCERTAINTY_DRAWS)
        ]
    )
    seconds = time.perf_counter() - start
    imputed = pd.DataFrame(draws.mean(0), columns=table.numerical)
    truth = split.test[table.numerical]
    scored = split.scored[:, [split.test.columns.get_loc(c) for c in table.numerical]]
    return {
        "metrics": {"nrmse": nrmse(truth, imputed, scored, table.numerical)},
        "uncertainty": draw_coverage(truth.to_numpy(dtype=float), draws, scored),
        "fit_seconds": seconds,
        "draws": UNCERTAINTY_DRAWS,
        "rows": {"train": len(split.train), "test": len(split.test)},
    }


def tabular_cell(cell: Cell, budget: Budget) -> dict[str, Any]:
    """Fit ``cell.method`` on the masked training split of ``cell.dataset``, impute and score the
    masked test split; the body of the cell's record."""
    table = load_table(cell.dataset)
    frame = table.frame
    if budget.tabular_rows is not None and len(frame) > budget.tabular_rows:
        rows = np.sort(np.random.default_rng(0).choice(len(frame), budget.tabular_rows, replace=False))
        frame = frame.iloc[rows].reset_index(drop=True)
    ratio = cell.setting.ratio if cell.setting.ratio is not None else 0.5
    split = masked_split(frame, cell.seed, ratio, cell.setting.mechanism)
    if cell.method == UNCERTAINTY_PEER:
        return iterative_posterior_cell(table, split, cell.seed)
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
        record["ensemble_members"] = len(members_of(imputer.model_))
        _, mask = imputer.generate(budget.generated_rows, random_state=cell.seed)
        record["generated_missing_ratio"] = missing_ratio(np.asarray(mask, dtype=bool))
        record["generated_rows"] = budget.generated_rows
        record["refit_epochs"] = imputer.history_.refit_epochs
        record["uncertainty"] = vsae_uncertainty(imputer, table, split, imputed, cell.seed)
    elif hasattr(imputer, "n_parameters_"):
        record["n_parameters"] = imputer.n_parameters_
        record["vsae_parameters"] = imputer.vsae_parameters_
    return record


def _is_json_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))
