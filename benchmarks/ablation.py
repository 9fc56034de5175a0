"""Ablation of VSAE's levers on tables, scored on held-out *observed* training cells.

Every cell is one (configuration, table, MCAR ratio, seed): the benchmark protocol's masked split
(:func:`vsae.data.masked_split`), then a further 20% of the *observed* training cells hidden
("selection cells"). VSAE is fitted on the training split without them and scored on them: that
validation score is what defaults are chosen on. The same model also imputes the masked test split,
and its test error, the coverage of its 95% intervals on numerical test cells and the expected
calibration error of its class probabilities on categorical test cells are recorded for the report,
never for choosing.

    python benchmarks/ablation.py run --configs default paper --tables glass zoo --seeds 0 1 2
    python benchmarks/ablation.py summary            # Markdown tables of every cell present
    python benchmarks/ablation.py summary --into docs/model.md

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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from vsae import VSAEImputer
from vsae.bench.tabular_cells import UNCERTAINTY_DRAWS, load_table, vsae_uncertainty
from vsae.data import SKLEARN_DATASETS, UCI_DATASETS, MaskedSplit, masked_split, mcar_mask
from vsae.data.masking import apply_mask
from vsae.data.uci import UCITable
from vsae.imputer import PAPER_SETTINGS
from vsae.metrics import interval_coverage, nrmse, pfc
from vsae.train import INTERVAL_Z

CELLS = Path(__file__).resolve().parent.parent / "docs" / "data" / "ablation"
TABLES = (*UCI_DATASETS, *SKLEARN_DATASETS)
#: Share of the observed training cells hidden for scoring a configuration.
SELECTION_SHARE = 0.2


@dataclass(frozen=True)
class ByTableType:
    """A setting whose value depends on whether the table has a categorical column."""

    numerical: Any
    categorical: Any

    def value(self, table: UCITable) -> Any:
        return self.categorical if table.categorical else self.numerical

    def __str__(self) -> str:
        return f"{self.numerical} (numerical) / {self.categorical} (categorical)"


#: The objective settings of the library's default before categorical data got its own (KL weight
#: 0.02, modality dropout 0.3): every configuration measured before that keeps them, so that its cells
#: stay reproducible.
_BEFORE_CATEGORICAL_DEFAULTS = {"kl_weight": 0.1, "modality_dropout": ByTableType(0.5, 0.0)}
#: One network, no ensemble: every configuration measured before ensembles existed (their cells were
#: computed when the library trained one network; rerunning two with ``ensemble_size=1`` gave the same
#: numbers bit for bit).
_SINGLE = {"ensemble_size": 1, **_BEFORE_CATEGORICAL_DEFAULTS}
#: The settings of the previous default, one lever at a time on top of it ("pseudo_" configurations).
_PSEUDO = {**_SINGLE, "unobserved_term": True}
_SELECT_ALL = {"select_after_warmup": False}
_NO_PSEUDO = {**_SINGLE, "unobserved_term": False}

#: One network on tables with a categorical column, as the library trained them until
#: ``current_ensemble_3`` made three their default: every configuration measured before keeps it, so
#: that its cells stay reproducible.
_ONE_NETWORK_IF_CATEGORICAL = {"ensemble_size": ByTableType("auto", 1)}
#: The KL weight of the library default before numerical tables got their own (0.01): ``default``
#: and the levers measured on top of it keep it, so that their cells stay reproducible.
_ENSEMBLE_DEFAULT = {"kl_weight": ByTableType(0.1, 0.02), **_ONE_NETWORK_IF_CATEGORICAL}

#: Every configuration measured before the held-out rows were scored under several complementary masks
#: (``validation_masks``) keeps one, so that its cells stay reproducible.
_ONE_MASK = {"validation_masks": 1}
#: The library defaults of every data type since numerical tables got KL weight 0.01 (``default``
#: measured the categorical ones, ``default_kl_0.01`` the numerical ones, each with one mask), with
#: one network on tables with a categorical column (their default until ``current_ensemble_3``).
_CURRENT = {"kl_weight": ByTableType(0.01, 0.02), **_ONE_NETWORK_IF_CATEGORICAL}

#: name -> VSAEImputer parameters on top of the library defaults.
_MEASURED_WITH_ONE_MASK: dict[str, dict[str, Any]] = {
    # the library default with ensembles and the categorical defaults, before numerical tables got KL
    # weight 0.01 (that default is ``default_kl_0.01`` on numerical tables, ``default`` on the others)
    "default": _ENSEMBLE_DEFAULT,
    "paper": PAPER_SETTINGS,
    # the default when this study began: Eq. 8 term on, selection over every epoch
    "previous_default": {**_PSEUDO, **_SELECT_ALL},
    # the Eq. 8 term on, selection after the warm-up, and one lever at a time on top of that
    "pseudo_targets": _PSEUDO,
    "pseudo_refit": {**_PSEUDO, "refit": True},
    "pseudo_dropout_0": {**_PSEUDO, "modality_dropout": 0.0},
    "pseudo_dropout_0.3": {**_PSEUDO, "modality_dropout": 0.3},
    "pseudo_dropout_0.5": {**_PSEUDO, "modality_dropout": 0.5},
    "pseudo_kl_0.02": {**_PSEUDO, "kl_weight": 0.02},
    "pseudo_kl_0.02_dropout_0.3": {**_PSEUDO, "kl_weight": 0.02, "modality_dropout": 0.3},
    "pseudo_patience_50": {**_PSEUDO, "patience": 50},
    "pseudo_lr_3e-3": {**_PSEUDO, "learning_rate": 3e-3},
    "pseudo_refit_patience_50": {**_PSEUDO, "refit": True, "patience": 50},
    "pseudo_refit_dropout_0.3": {**_PSEUDO, "refit": True, "modality_dropout": 0.3},
    "pseudo_refit_kl_0.02_dropout_0.3": {
        **_PSEUDO,
        "refit": True,
        "kl_weight": 0.02,
        "modality_dropout": 0.3,
    },
    "pseudo_latent_8": {**_PSEUDO, "latent_dim": 8},
    "pseudo_learned_variance": {**_PSEUDO, "learn_numerical_variance": True},
    "pseudo_mask_input_true": {**_PSEUDO, "mask_input": "true"},
    "pseudo_mask_input_none": {**_PSEUDO, "mask_input": "none"},
    # the Eq. 8 term off, selection over every epoch
    "no_pseudo_select_all": {**_NO_PSEUDO, **_SELECT_ALL},
    "kl_0.02_no_pseudo_select_all": {**_NO_PSEUDO, **_SELECT_ALL, "kl_weight": 0.02},
    "refit_kl_0.02_no_pseudo_select_all": {**_NO_PSEUDO, **_SELECT_ALL, "kl_weight": 0.02, "refit": True},
    "refit_no_pseudo_dropout_0.3_select_all": {
        **_NO_PSEUDO,
        **_SELECT_ALL,
        "refit": True,
        "modality_dropout": 0.3,
    },
    # the default of one network (before ensembles), and levers on top of it
    "single": _SINGLE,
    "single_refit": {**_SINGLE, "refit": True},
    "single_kl_0.02": {**_SINGLE, "kl_weight": 0.02},
    "single_dropout_0.3": {**_SINGLE, "modality_dropout": 0.3},
    "single_kl_0.02_dropout_0.3": {**_SINGLE, "kl_weight": 0.02, "modality_dropout": 0.3},
    # ensemble sizes (the default is "auto": vsae.train.default_ensemble_size)
    "ensemble_5": {**_BEFORE_CATEGORICAL_DEFAULTS, "ensemble_size": 5},
    # one lever at a time on top of ``default`` (compared with it)
    "default_latent_8": {**_ENSEMBLE_DEFAULT, "latent_dim": 8},
    "default_learned_variance": {**_ENSEMBLE_DEFAULT, "learn_numerical_variance": True},
    "default_pseudo_targets": {**_ENSEMBLE_DEFAULT, "unobserved_term": True},
    "default_mask_input_none": {**_ENSEMBLE_DEFAULT, "mask_input": "none"},
    "default_kl_0.01": {"kl_weight": 0.01, **_ONE_NETWORK_IF_CATEGORICAL},
    "default_kl_0.03": {"kl_weight": 0.03, **_ONE_NETWORK_IF_CATEGORICAL},
}
CONFIGS: dict[str, dict[str, Any]] = {
    **{name: {**params, **_ONE_MASK} for name, params in _MEASURED_WITH_ONE_MASK.items()},
    # the library defaults (every held-out cell scored), and one lever at a time on top of them
    "current": {**_CURRENT, "validation_masks": "auto"},
    "current_one_mask": {**_CURRENT, **_ONE_MASK},
    # the default before each held-out row's cells were dealt to the masks (drawn independently)
    "current_drawn_masks": {**_CURRENT, "validation_masks": "auto", "deal_validation_cells": False},
    # lower KL weights on numerical tables (the trend of default_kl_0.03 -> default_kl_0.01 continued)
    "current_kl_0.003": {**_CURRENT, "kl_weight": ByTableType(0.003, 0.02)},
    "current_kl_0.001": {**_CURRENT, "kl_weight": ByTableType(0.001, 0.02)},
    "current_kl_0.0003": {**_CURRENT, "kl_weight": ByTableType(0.0003, 0.02)},
    # every held-out cell scored on every table (five masks), large ones included
    "current_five_masks": {**_CURRENT, "validation_masks": 5, "deal_validation_cells": False},
}
# every configuration above was measured decoding the posterior mean and feeding nothing back, before
# importance_samples="auto" and feedback_rounds="auto"
CONFIGS = {
    name: {"importance_samples": 0, "feedback_rounds": 0, **params} for name, params in CONFIGS.items()
}
# importance-weighted point imputation over 50 latent draws (what "auto" does on numerical tables)
CONFIGS["current_importance_weighted"] = {
    **_CURRENT,
    "validation_masks": "auto",
    "importance_samples": 50,
    "feedback_rounds": 0,
}
# levers on tables with a categorical column, on top of the library defaults (posterior-mean imputation
# there): wider re-masking (ReMasker's 0.5), a lower KL weight, wider networks
CONFIGS["current_dropout_0.5"] = {**CONFIGS["current"], "modality_dropout": 0.5}
CONFIGS["current_kl_0.005"] = {**CONFIGS["current"], "kl_weight": ByTableType(0.01, 0.005)}
CONFIGS["current_wide"] = {**CONFIGS["current"], "encoder_hidden": 128, "decoder_hidden": 256}
# smaller networks (on small tables the wider ones above were worse on zoo)
CONFIGS["current_narrow"] = {**CONFIGS["current"], "encoder_hidden": 32, "decoder_hidden": 64}
CONFIGS["current_depth_2"] = {**CONFIGS["current"], "depth": 2}
# a data decoder four times as wide (on image + label data it halved the label error)
CONFIGS["current_decoder_512"] = {**CONFIGS["current"], "decoder_hidden": 512}
# a lower learning rate (3e-3 was worse on top of the earlier defaults)
CONFIGS["current_lr_3e-4"] = {**CONFIGS["current"], "learning_rate": 3e-4}
CONFIGS["current_wide_dropout_0.5"] = {**CONFIGS["current_wide"], "modality_dropout": 0.5}
# smaller batches (twice the optimiser steps per epoch), on the table VSAE loses (phishing MCAR 0.3)
CONFIGS["current_batch_64"] = {**CONFIGS["current"], "batch_size": 64}
# three networks averaged on tables with a categorical column too (their default since)
CONFIGS["current_ensemble_3"] = {**CONFIGS["current"], "ensemble_size": 3}
# the Eq. 8 unobserved term on top of the categorical defaults, its pseudo-targets drawn (the paper)
# or expected (the class probabilities)
CONFIGS["current_pseudo_targets"] = {**CONFIGS["current"], "unobserved_term": True}
CONFIGS["current_pseudo_targets_expected"] = {
    **CONFIGS["current_pseudo_targets"],
    "pseudo_targets": "expected",
}
# the imputation fed back through a refinement encoder, one round and two
CONFIGS["current_feedback_1"] = {**CONFIGS["current"], "feedback_rounds": 1}
CONFIGS["current_feedback_2"] = {**CONFIGS["current"], "feedback_rounds": 2}
# ... and with the numerical tables' importance-weighted imputation
CONFIGS["current_importance_weighted_feedback_1"] = {
    **CONFIGS["current_importance_weighted"],
    "feedback_rounds": 1,
}
# every configuration above calibrated its intervals by matching the variance of the held-out errors,
# before interval_calibration="coverage"
CONFIGS = {name: {"interval_calibration": "variance", **params} for name, params in CONFIGS.items()}
# the numerical default's imputation, its intervals calibrated by matching the variance of the held-out
# errors or to cover 95% of the held-out cells (the cells of current_importance_weighted came from an
# earlier version of the library, so both are computed anew)
CONFIGS["calibration_variance"] = {
    **CONFIGS["current_importance_weighted"],
    "interval_calibration": "variance",
}
CONFIGS["calibration_coverage"] = {
    **CONFIGS["current_importance_weighted"],
    "interval_calibration": "coverage",
}
#: Every configuration above was measured with the network alone, before the classical companions
#: (``classical_weight``, benchmarks/peer_blend.py) joined the numerical default: each keeps it, so
#: that its cells stay reproducible.
CONFIGS = {name: {"classical_weight": 0.0, **settings} for name, settings in CONFIGS.items()}


def cell_path(config: str, table: str, ratio: float, seed: int) -> Path:
    return CELLS / config / table / f"mcar-{ratio}" / f"seed{seed}.json"


def score(table: UCITable, truth: pd.DataFrame, imputed: pd.DataFrame, cells: np.ndarray) -> dict[str, float]:
    out = {}
    if table.numerical:
        out["nrmse"] = nrmse(truth, imputed, cells, table.numerical)
    if table.categorical:
        out["pfc"] = pfc(truth, imputed, cells, table.categorical)
    return out


def resolved_params(config: str, table: UCITable) -> dict[str, Any]:
    """The VSAEImputer parameters of ``config`` on ``table``."""
    return {k: v.value(table) if isinstance(v, ByTableType) else v for k, v in CONFIGS[config].items()}


#: Rows drawn from the prior to describe what a configuration generates.
GENERATED_ROWS = 1_000


def generation(imputer: VSAEImputer, table: UCITable, fit_frame: pd.DataFrame, seed: int) -> dict[str, float]:
    """How rows generated from the prior compare with the table fitted on: the share of cells their
    generated masks leave missing against the fitted table's, and (numerical columns) the median over
    columns of the generated values' standard deviation over the observed values' (1 when the
    generated rows spread like the data)."""
    data, mask = imputer.generate(GENERATED_ROWS, random_state=seed)
    out = {
        "missing_share": float(1 - mask.to_numpy().mean()),
        "fitted_missing_share": float(fit_frame.isna().to_numpy().mean()),
    }
    if table.numerical:
        generated = data[table.numerical].to_numpy(dtype=float).std(0)
        observed = fit_frame[table.numerical].std().to_numpy(dtype=float)
        out["sd_ratio"] = float(np.median(generated / observed))
    return out


def selection_split(split: MaskedSplit, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """The masked training split with the selection cells hidden, and those cells (True = hidden):
    each observed training cell is hidden with probability :data:`SELECTION_SHARE`."""
    observed = split.train_masked.notna().to_numpy()
    kept = observed & mcar_mask(observed.shape, SELECTION_SHARE, 10_000 + seed)
    return apply_mask(split.train_masked, kept), observed & ~kept


def run_cell(config: str, table_name: str, ratio: float, seed: int) -> dict[str, Any]:
    table = load_table(table_name)
    split = masked_split(table.frame, seed, ratio, "mcar")
    fit_frame, selection_cells = selection_split(split, seed)
    params = resolved_params(config, table)
    imputer = VSAEImputer(random_state=seed, device="cpu", **params)
    start = time.perf_counter()
    imputer.fit(fit_frame)
    fit_seconds = time.perf_counter() - start
    fit_imputed = imputer.transform(fit_frame)
    validation = score(table, split.train_masked, fit_imputed, selection_cells)
    imputed = imputer.transform(split.test_masked)
    test = score(table, split.test, imputed, split.scored)
    record = {
        "config": config,
        "params": params,
        "table": table_name,
        "ratio": ratio,
        "seed": seed,
        "validation": validation,
        "test": test,
        "uncertainty": vsae_uncertainty(imputer, table, split, imputed, seed),
        "generation": generation(imputer, table, fit_frame, seed),
        "fit_seconds": fit_seconds,
        "epochs_run": len(imputer.history_.epochs),
        "best_epoch": imputer.history_.best_epoch,
        "refit_epochs": imputer.history_.refit_epochs,
        "torch_threads": torch.get_num_threads(),
        "load_average": os.getloadavg()[0],
    }
    if table.numerical:  # last, so that the draws it takes change nothing recorded above
        record["validation_coverage_sd"] = held_out_coverage(
            imputer, table, fit_frame, fit_imputed, split, selection_cells, seed
        )
    return record


def held_out_coverage(
    imputer: VSAEImputer,
    table: UCITable,
    fit_frame: pd.DataFrame,
    fit_imputed: pd.DataFrame,
    split: MaskedSplit,
    cells: np.ndarray,
    seed: int,
) -> float:
    """Coverage of ±1.96 × ``uncertainty`` on the selection cells' true (observed) numerical values:
    the validation measure an interval calibration is chosen on."""
    columns = [fit_frame.columns.get_loc(c) for c in table.numerical]
    spread = imputer.uncertainty(fit_frame, n=UNCERTAINTY_DRAWS, random_state=seed)[table.numerical]
    point = fit_imputed[table.numerical].to_numpy(dtype=float)
    truth = split.train_masked[table.numerical].to_numpy(dtype=float)
    half = INTERVAL_Z * spread.to_numpy(dtype=float)
    return interval_coverage(truth, point - half, point + half, cells[:, columns])


def write_cell(path: Path, record: dict[str, Any]) -> None:
    """Write a cell atomically (a stopped run never leaves half a cell to be skipped)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    temporary.replace(path)


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
                    write_cell(path, record)
                    print(
                        f"{config} {table} {ratio} seed {seed}: val {record['validation']} "
                        f"test {record['test']} {record['uncertainty']} {record['fit_seconds']:.1f}s",
                        flush=True,
                    )


def _metric(record: dict[str, Any], part: str) -> float:
    values = record[part]
    return values["nrmse"] if "nrmse" in values else values["pfc"]


#: Configurations shown per table in the detailed table (the rest only in the overview).
DETAILED = (
    "default",
    "single",
    "ensemble_5",
    "paper",
    "previous_default",
    "pseudo_targets",
    "no_pseudo_select_all",
    "pseudo_refit",
    "pseudo_kl_0.02",
    "single_refit",
)
#: The summary sits between these lines of the file given to ``summary --into``.
MARKERS = (
    "<!-- ablation: generated by python benchmarks/ablation.py summary --into docs/model.md -->",
    "<!-- end -->",
)


def stat(values: list[float], digits: int = 3) -> str:
    if not values:
        return "–"
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.{digits}f} ± {spread:.{digits}f} ({len(values)})"


#: What every configuration is compared with: one network with the library's default settings before
#: ensembles and before the categorical defaults (each lever was measured on top of it or of
#: ``pseudo_targets``).
REFERENCE = "single"


#: The references of the configurations named ``<reference>_…``: one lever on top of the defaults of
#: their time (``default`` before the held-out rows were scored under several masks), or on top of
#: another lever (``current_pseudo_targets``: the Eq. 8 term on, whose pseudo-targets a lever changes).
LEVER_REFERENCES = ("default", "current", "current_pseudo_targets")
#: The references whose levers also get a table per dataset.
PER_TABLE_REFERENCES = ("current", "current_pseudo_targets")


def _geometric_mean(ratios: list[float]) -> str:
    """Geometric mean of error ratios, 3 decimals ("–" when there are none)."""
    return f"{np.exp(np.mean(np.log(ratios))):.3f}" if ratios else "–"


#: Cells by (table, ratio, seed), then by configuration.
Cells = dict[tuple[str, float, int], dict[str, dict[str, Any]]]


def _table_type(record: dict[str, Any]) -> str:
    return "categorical" if "pfc" in record["validation"] else "numerical"


def _overview(
    cell: Cells,
    configs: list[str],
    reference: str,
    by_type: bool = False,
) -> list[str]:
    """One row per configuration (per table type with ``by_type``): its cells' errors against
    ``reference``'s over the cells both have."""
    lines = [
        f"| configuration | settings |{' tables |' if by_type else ''} cells | validation error / "
        f"{reference}'s | better / worse (validation) | test error / {reference}'s | ±1.96·sd coverage "
        "| 95%-of-draws coverage | ECE |",
        "|---|---|" + ("---|" if by_type else "") + "---|---|---|---|---|---|---|",
    ]
    for config in configs:
        for table_type in ("numerical", "categorical") if by_type else (None,):
            ratios, tests, better, worse = [], [], 0, 0
            mine = []
            for by in cell.values():
                if config not in by or (table_type and _table_type(by[config]) != table_type):
                    continue
                mine.append(by[config])
                if reference in by:
                    ours, base = _metric(by[config], "validation"), _metric(by[reference], "validation")
                    ratios.append(ours / base)
                    tests.append(_metric(by[config], "test") / _metric(by[reference], "test"))
                    better, worse = better + (ours < base), worse + (ours > base)
            if not mine:
                continue

            def median(key: str, mine: list[dict[str, Any]] = mine) -> str:
                found = [r["uncertainty"][key] for r in mine if key in r["uncertainty"]]
                return f"{statistics.median(found):.3f}" if found else "–"

            settings = ", ".join(f"{k}={v}" for k, v in CONFIGS[config].items()) or "library defaults"
            geometric, test = _geometric_mean(ratios), _geometric_mean(tests)
            kind = f" {table_type} |" if table_type else ""
            lines.append(
                f"| {config} | {settings} |{kind} {len(mine)} | {geometric} | {better} / {worse} | {test} "
                f"| {median('coverage_sd')} | {median('coverage_draws')} | {median('ece')} |"
            )
    return lines


def _per_table(cell: Cells, lever: str, reference: str) -> list[str]:
    """Per table, over the cells both have: ``lever``'s validation and test errors relative to
    ``reference``'s (geometric means), its better / worse cells, the median coverage (numerical
    tables) or ECE (categorical ones) of each, and the ratio of their fit times."""
    lines = [
        f"`{lever}` against `{reference}`, per table (geometric means of the error ratios; coverage of "
        "±1.96·sd or ECE as medians; fit-time ratio as the median, under the load of the run):",
        "",
        f"| table | cells | validation error / {reference}'s | better / worse | test error / {reference}'s "
        f"| coverage or ECE, {lever} | coverage or ECE, {reference} | fit time / {reference}'s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for table in TABLES:
        pairs = [
            (by[lever], by[reference])
            for (t, _, _), by in cell.items()
            if t == table and lever in by and reference in by
        ]
        if not pairs:
            continue
        validation = [_metric(a, "validation") / _metric(b, "validation") for a, b in pairs]
        test = [_metric(a, "test") / _metric(b, "test") for a, b in pairs]
        key = "ece" if "pfc" in pairs[0][0]["validation"] else "coverage_sd"

        def median(records: list[dict[str, Any]], key: str = key) -> str:
            return f"{statistics.median(r['uncertainty'][key] for r in records):.3f}"

        better = sum(v < 1 for v in validation)
        worse = sum(v > 1 for v in validation)
        time = statistics.median(a["fit_seconds"] / b["fit_seconds"] for a, b in pairs)
        lines.append(
            f"| {table} | {len(pairs)} | {_geometric_mean(validation)} | {better} / {worse} "
            f"| {_geometric_mean(test)} | {median([a for a, _ in pairs])} "
            f"| {median([b for _, b in pairs])} | {time:.2f} |"
        )
    return lines


def _generation(cell: Cells, configs: list[str]) -> list[str]:
    """Markdown: what the configurations whose cells record it generate from the prior, per table
    type (medians over the cells)."""
    lines = [
        "Rows generated from the prior (1,000 per cell; configurations whose cells record it), medians"
        " over the cells:",
        "",
        "| configuration | tables | cells | generated missing share − fitted table's | generated sd / "
        "observed sd (numerical columns) |",
        "|---|---|---|---|---|",
    ]
    for config in configs:
        records = [by[config] for by in cell.values() if "generation" in by.get(config, {})]
        for kind in ("numerical", "categorical"):
            of_kind = [r["generation"] for r in records if _table_type(r) == kind]
            if not of_kind:
                continue
            gap = statistics.median(g["missing_share"] - g["fitted_missing_share"] for g in of_kind)
            spread = [g["sd_ratio"] for g in of_kind if "sd_ratio" in g]
            spread_text = f"{statistics.median(spread):.3f}" if spread else "–"
            lines.append(f"| {config} | {kind} | {len(of_kind)} | {gap:+.3f} | {spread_text} |")
    return lines


def _interval_calibration(cell: Cells, configs: list[str]) -> list[str]:
    """Markdown: per numerical table and ratio, the coverage of ±1.96 × ``uncertainty`` on the
    selection cells (what an interval calibration is chosen on) and on the test cells, for the
    configurations whose cells record the former (mean ± sd over seeds)."""
    measured = [c for c in configs if any("validation_coverage_sd" in by.get(c, {}) for by in cell.values())]
    if not measured:
        return []
    lines = [
        "Coverage of ±1.96 × uncertainty, validation (held-out observed cells) and test (missing cells),"
        " mean ± sd over seeds:",
        "",
        "| table | ratio | " + " | ".join(f"{c}, validation | {c}, test" for c in measured) + " |",
        "|---|---|" + "---|---|" * len(measured),
    ]
    keys = sorted(
        {(t, r) for (t, r, _), by in cell.items() if any(c in by for c in measured)},
        key=lambda key: (TABLES.index(key[0]), key[1]),
    )
    for table, ratio in keys:
        row = []
        for config in measured:
            records = [
                by[config] for (t, r, _), by in cell.items() if (t, r) == (table, ratio) and config in by
            ]
            row.append(stat([r["validation_coverage_sd"] for r in records]))
            row.append(stat([r["uncertainty"]["coverage_sd"] for r in records]))
        lines.append(f"| {table} | {ratio} | " + " | ".join(row) + " |")
    return lines


def summary() -> str:
    """Markdown: an overview of every configuration against :data:`REFERENCE` over the cells both
    have; each lever against its reference (:data:`LEVER_REFERENCES`), per table type, and per
    table for :data:`PER_TABLE_REFERENCES`; what they generate; the interval coverage of the
    interval calibrations; then validation errors per table and ratio for :data:`DETAILED`."""
    records = [json.loads(p.read_text()) for p in sorted(CELLS.glob("*/*/*/seed*.json"))]
    cell: Cells = {}
    for record in records:
        cell.setdefault((record["table"], record["ratio"], record["seed"]), {})[record["config"]] = record
    configs = [c for c in CONFIGS if any(c in by for by in cell.values())]
    levers = {
        reference: [c for c in configs if c.startswith(f"{reference}_")] for reference in LEVER_REFERENCES
    }
    on_levers = {c for group in levers.values() for c in group}
    lines = _overview(cell, [c for c in configs if c not in on_levers and c != "current"], REFERENCE)
    for reference, group in levers.items():
        if reference not in configs:
            continue
        lines += [
            "",
            f"One lever at a time on top of `{reference}`, against it, per table type:",
            "",
            *_overview(cell, [reference, *group], reference, by_type=True),
        ]
    for reference in PER_TABLE_REFERENCES:
        for lever in levers.get(reference, []):
            lines += ["", *_per_table(cell, lever, reference)]
    lines += ["", *_generation(cell, configs)]
    calibration = _interval_calibration(cell, configs)
    lines += ["", *calibration] if calibration else []
    detailed = [c for c in DETAILED if c in configs]
    lines += ["", "| table | ratio | " + " | ".join(detailed) + " |", "|---|---|" + "---|" * len(detailed)]
    keys = sorted({(t, r) for t, r, _ in cell}, key=lambda key: (TABLES.index(key[0]), key[1]))
    for table, ratio in keys:
        row = []
        for config in detailed:
            values = [
                _metric(by[config], "validation")
                for (t, r, _), by in cell.items()
                if (t, r) == (table, ratio) and config in by
            ]
            row.append(stat(values))
        lines.append(f"| {table} | {ratio} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def write_into(path: Path, text: str, markers: tuple[str, str] = MARKERS) -> None:
    """Replace the block between the two ``markers`` lines in ``path`` with ``text``."""
    content = path.read_text(encoding="utf-8")
    start, end = markers
    if start not in content:
        raise SystemExit(f"{path} has no line {start!r}")
    before, rest = content.split(start, 1)
    path.write_text(f"{before}{start}\n{text}\n{end}{rest.split(end, 1)[1]}", encoding="utf-8")


def run_or_summarise(
    argv: list[str] | None,
    description: str,
    add_run_options: Callable[[argparse.ArgumentParser], None],
    run_cells: Callable[[argparse.Namespace], None],
    summary_text: Callable[[], str],
    markers: tuple[str, str] = MARKERS,
) -> int:
    """The command line of this script and of those beside it: ``run`` (options added by
    ``add_run_options``) computes the missing cells; ``summary [--into FILE]`` prints the summary or
    writes it between ``markers`` in FILE."""
    parser = argparse.ArgumentParser(description=description)
    commands = parser.add_subparsers(dest="command", required=True)
    add_run_options(commands.add_parser("run"))
    summary_parser = commands.add_parser("summary")
    summary_parser.add_argument("--into", type=Path, help="replace the generated block of this file")
    args = parser.parse_args(argv)
    if args.command == "run":
        run_cells(args)
    elif args.into is None:
        print(summary_text())
    else:
        write_into(args.into, summary_text(), markers)
    return 0


def add_run_options(run_parser: argparse.ArgumentParser) -> None:
    run_parser.add_argument("--configs", nargs="+", default=["default"])
    run_parser.add_argument("--tables", nargs="+", default=list(TABLES))
    run_parser.add_argument("--ratios", nargs="+", type=float, default=[0.3, 0.5])
    run_parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])


def main(argv: list[str] | None = None) -> int:
    return run_or_summarise(argv, __doc__.split("\n\n")[0], add_run_options, run, summary)


if __name__ == "__main__":
    sys.exit(main())
