"""``vsae bench PRESET``: run the paper's experiments cell by cell, one JSON file per cell.

A cell is one (dataset, missingness setting, method, seed): build the data and masks with the
project's one definition of the protocol (:func:`vsae.data.masked_split` for tables,
:func:`vsae.data.modality_mcar_mask` for multimodal data), fit the method on the training part, impute
the test part, score it with :mod:`vsae.metrics`. The cell's JSON holds the metrics, the wall time of
fit and of imputation, parameter counts of neural methods, the realised missing ratios, the command
that computed it and the library versions. Cells live at ``OUT/<dataset>/<setting>/<method>-seed<N>.json``,
shared by every preset that needs them; a rerun skips cells already computed (a failed cell, stored
with its error, is retried), so an interrupted run resumes where it stopped.

Protocol details (DESIGN §2) that the code below fixes:

- Tables: methods fit on the masked training split and impute the masked test split; the references
  ``cvae_data`` / ``vaeac`` fit on the complete training split by design (only cells missing in the
  raw file stay missing) and are reported apart.
- Multimodal data: the loaders' training and validation splits are pooled and handed to the trainer
  with ``validation_fraction = n_val / (n_train + n_val)``, so the trainer fits on as many samples as
  the paper's training set (23257 for MNIST+MNIST) and selects on as many as its validation set (model
  selection hides observed modalities of the held-out samples, never reads an unobserved one).
  Training masks are drawn with seed ``2·seed + 1``, test masks with ``2·seed + 2``.

Usage::

    VSAE_DATA=../shared/data vsae bench uci --seeds 0 1 2
    VSAE_DATA=../shared/data python -m vsae.bench.runner mnist_pairs --methods vsae --ratios 0.5
    VSAE_DATA=../shared/data vsae bench figures --quick --out /tmp/bench --report /tmp/results.md
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import shlex
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd
import sklearn
import torch
from tqdm.auto import tqdm

import vsae
from vsae import inference
from vsae.baselines import CLASSICAL_IMPUTERS, NEURAL_IMPUTERS, count_parameters, train_baseline
from vsae.baselines.neural import vsae_parameter_count
from vsae.bench.presets import (
    BUDGETS,
    CLASSICAL,
    IMAGE_TEXT,
    MNIST_PAIRS,
    NEURAL_PARTIAL,
    NEURAL_REFERENCES,
    PRESETS,
    Budget,
    Preset,
    Setting,
)
from vsae.data import (
    MNIST_DIGIT_PAIRS,
    MultimodalSplit,
    Splits,
    data_dir,
    load_image_text,
    load_mnist_pairs,
    load_uci,
    masked_split,
    missing_ratio,
    modality_mcar_mask,
)
from vsae.errors import VSAEError
from vsae.imputer import VSAEImputer
from vsae.metrics import combined, modality_mse, nrmse, nrmse_pooled, pfc
from vsae.model.vsae import VSAEConfig
from vsae.multimodal import MultimodalVSAE
from vsae.schema import ModalityKind, Schema
from vsae.train import TrainConfig

#: Default seeds of every preset but ``figures`` (one model is enough to draw from).
DEFAULT_SEEDS = (0, 1, 2)
FIGURE_SEEDS = (0,)
#: Where cells go unless ``--out`` says otherwise; quick (CI) cells never mix with full ones.
DEFAULT_OUT = {"full": Path("runs/bench"), "quick": Path("runs/bench-quick")}
DEFAULT_FIGURES = Path("docs/figures")
#: File names of the figures the ``figures`` preset draws (``{seed}`` is filled in).
FIGURE_FILES = {
    "imputation": "figure3_imputation_seed{seed}.png",
    "generation": "figure4_generation_seed{seed}.png",
    "draws": "figure7_eight_draws_seed{seed}.png",
}
#: Unconditional samples classified to measure how often generation keeps the digit pairing (the
#: first 20 are drawn in Figure 4).
PAIRING_SAMPLES = 1000


# -- cells -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Cell:
    """One fit-and-score (or, for kind ``figures``, one set of drawn figures)."""

    kind: str
    dataset: str
    setting: Setting
    method: str
    seed: int

    @property
    def relative_path(self) -> Path:
        suffix = "-figures" if self.kind == "figures" else ""
        return Path(self.dataset) / self.setting.key / f"{self.method}{suffix}-seed{self.seed}.json"

    @property
    def label(self) -> str:
        return f"{self.dataset} {self.setting.key} {self.method} seed {self.seed}"


def _checked(values: Sequence[Any] | None, allowed: Sequence[Any], what: str, preset: Preset) -> list[Any]:
    """``values`` if every one is among ``allowed`` (all of ``allowed`` when None)."""
    if values is None:
        return list(allowed)
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise VSAEError(
            f"preset {preset.name!r} has no {what} {', '.join(map(str, unknown))}; "
            f"choose among: {', '.join(map(str, allowed))}"
        )
    return [v for v in allowed if v in values]


def preset_cells(
    preset: Preset,
    seeds: Sequence[int],
    datasets: Sequence[str] | None = None,
    methods: Sequence[str] | None = None,
    ratios: Sequence[float] | None = None,
) -> list[Cell]:
    """The cells of ``preset``, optionally restricted, in the order they are run.

    Method-major in the preset's method order (the cheap methods first, MissForest last), then
    setting, dataset and seed. ``ratios`` filters MCAR settings; MAR and NMAR are kept.
    """
    chosen_datasets = _checked(datasets, preset.datasets, "dataset", preset)
    chosen_methods = _checked(methods, preset.methods, "method", preset)
    mcar_ratios = [s.ratio for s in preset.settings if s.mechanism == "mcar"]
    chosen_ratios = _checked(ratios, mcar_ratios, "MCAR ratio", preset)
    settings = [s for s in preset.settings if s.mechanism != "mcar" or s.ratio in chosen_ratios]
    if any(seed < 0 for seed in seeds):
        raise VSAEError(f"seeds must be non-negative integers, got {list(seeds)}")
    return [
        Cell(preset.kind, dataset, setting, method, seed)
        for method in chosen_methods
        for setting in settings
        for dataset in chosen_datasets
        for seed in dict.fromkeys(seeds)
    ]


def library_versions() -> dict[str, str]:
    """Versions of what a cell's numbers depend on."""
    return {
        "vsae": vsae.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scikit-learn": sklearn.__version__,
        "platform": platform.platform(),
        "torch_threads": str(torch.get_num_threads()),
    }


def _write_json(path: Path, record: dict[str, Any]) -> None:
    """Write atomically: a killed run never leaves a half-written cell behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.tmp")
    staging.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(staging, path)


def read_cell(path: Path) -> dict[str, Any]:
    """A cell's record; VSAEError naming the file when it is not one."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise VSAEError(f"cannot read the benchmark cell {str(path)!r}: {error}") from error
    if not isinstance(record, dict) or "budget" not in record:
        raise VSAEError(f"{str(path)!r} is not a benchmark cell (no 'budget' field)")
    return record


# -- tabular cells -----------------------------------------------------------------------------------
def _tabular_imputer(method: str, seed: int, budget: Budget) -> Any:
    if method == "vsae":
        return VSAEImputer(random_state=seed, device="cpu", **budget.tabular_training)
    if method in CLASSICAL:
        return CLASSICAL_IMPUTERS[method](random_state=seed, **budget.classical.get(method, {}))
    if method in (*NEURAL_PARTIAL, *NEURAL_REFERENCES):
        extra = budget.miwae if method == "miwae" else {}
        return NEURAL_IMPUTERS[method](random_state=seed, device="cpu", **budget.tabular_training, **extra)
    raise VSAEError(f"unknown tabular method {method!r}")


def _tabular_cell(cell: Cell, budget: Budget) -> dict[str, Any]:
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


# -- multimodal cells --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImageData:
    """A multimodal benchmark ready to fit: pooled training samples, test samples, masks."""

    kinds: dict[str, ModalityKind]
    train: MultimodalSplit
    test: MultimodalSplit
    n_validation: int
    train_observed: np.ndarray
    test_observed: np.ndarray

    @property
    def validation_fraction(self) -> float:
        """The share of the pooled samples that the trainer holds out: the loader's validation size."""
        return self.n_validation / len(self.train)


def _head(split: MultimodalSplit, rows: int | None) -> MultimodalSplit:
    if rows is None or rows >= len(split):
        return split
    return MultimodalSplit(
        modalities={k: v[:rows] for k, v in split.modalities.items()},
        labels={k: v[:rows] for k, v in split.labels.items()},
    )


@functools.lru_cache(maxsize=3)
def _splits(dataset: str, seed: int, data_folder: Path) -> tuple[Splits, dict[str, ModalityKind]]:
    """The seeded splits of a multimodal dataset and its modality kinds (cached: consecutive cells of
    a preset share them, and pairing 60000 images takes seconds)."""
    if dataset == MNIST_PAIRS:
        return load_mnist_pairs(data_folder, seed=seed), {"digit": "image", "partner": "image"}
    if dataset in IMAGE_TEXT:
        return load_image_text(IMAGE_TEXT[dataset], data_folder, seed=seed), {
            "image": "image",
            "text": "categorical",
        }
    raise VSAEError(f"unknown multimodal dataset {dataset!r}")


def image_data(dataset: str, setting: Setting, seed: int, budget: Budget) -> ImageData:
    """Load ``dataset`` (pairing and splits seeded by ``seed``) and draw its modality masks."""
    splits, kinds = _splits(dataset, seed, data_dir())
    if setting.mechanism != "mcar" or setting.ratio is None:
        raise VSAEError(f"multimodal benchmarks use modality-level MCAR, not {setting.key!r}")
    train_rows, val_rows, test_rows = budget.image_rows
    train, val, test = (
        _head(splits.train, train_rows),
        _head(splits.val, val_rows),
        _head(splits.test, test_rows),
    )
    pooled = MultimodalSplit(
        modalities={k: np.concatenate([train.modalities[k], val.modalities[k]]) for k in kinds},
        labels={k: np.concatenate([train.labels[k], val.labels[k]]) for k in kinds},
    )
    return ImageData(
        kinds=kinds,
        train=pooled,
        test=test,
        n_validation=len(val),
        train_observed=modality_mcar_mask(len(pooled), len(kinds), setting.ratio, 2 * seed + 1),
        test_observed=modality_mcar_mask(len(test), len(kinds), setting.ratio, 2 * seed + 2),
    )


def _image_train_config(data: ImageData, seed: int, budget: Budget) -> TrainConfig:
    return TrainConfig(
        seed=seed, device="cpu", validation_fraction=data.validation_fraction, **budget.image_training
    )


def _encoded(schema: Schema, split: MultimodalSplit, observed: np.ndarray) -> np.ndarray:
    """The modalities side by side in schema order, unobserved ones zeroed (images and one-hot
    labels need no scaling, so this is the encoding :class:`MultimodalVSAE` uses for them)."""
    blocks = [
        np.where(observed[:, [i]], split.modalities[m.name].reshape(len(split), -1), 0.0)
        for i, m in enumerate(schema)
    ]
    return np.concatenate(blocks, axis=1).astype(np.float32)


def _mean_predictions(data: ImageData, by_class: bool) -> dict[str, np.ndarray]:
    """Each modality's mean over the training samples where it is observed, for every test sample;
    with ``by_class``, image modalities take the mean of the test sample's own class (an oracle)."""
    predictions = {}
    for i, (name, kind) in enumerate(data.kinds.items()):
        rows = data.train_observed[:, i]
        values, labels = data.train.modalities[name][rows], data.train.labels[name][rows]
        overall = values.mean(axis=0)
        if by_class and kind == "image":
            test_labels = data.test.labels[name]
            # A class without an observed training image (only on tiny subsets) keeps the global mean.
            means = np.tile(overall, (int(max(labels.max(), test_labels.max())) + 1, 1))
            for label in np.unique(labels):
                means[label] = values[labels == label].mean(axis=0)
            predictions[name] = means[test_labels]
        else:
            predictions[name] = np.broadcast_to(overall, data.test.modalities[name].shape)
    return predictions


def _decoded(schema: Schema, values: np.ndarray) -> dict[str, np.ndarray]:
    return {m.name: values[:, schema.columns_of(i)] for i, m in enumerate(schema)}


def _fit_image_method(cell: Cell, data: ImageData, budget: Budget, model_dir: Path) -> dict[str, Any]:
    """Fit ``cell.method`` and impute the test samples; the record's timings, sizes and predictions."""
    config = _image_train_config(data, cell.seed, budget)
    record: dict[str, Any] = {}
    start = time.perf_counter()
    if cell.method in ("global_mean", "class_mean"):
        predictions = _mean_predictions(data, by_class=cell.method == "class_mean")
        record["fit_seconds"] = time.perf_counter() - start
        record["impute_seconds"] = 0.0
    elif cell.method == "vsae":
        model = MultimodalVSAE(data.kinds, VSAEConfig.for_images(), config)
        model.fit(data.train.modalities, data.train_observed)
        record["fit_seconds"] = time.perf_counter() - start
        start = time.perf_counter()
        predictions = model.impute(data.test.modalities, data.test_observed)
        record["impute_seconds"] = time.perf_counter() - start
        record["n_parameters"] = count_parameters(model.model_)
        record["epochs_run"], record["best_epoch"] = len(model.history_.epochs), model.history_.best_epoch
        _, mask = model.generate(budget.generated_rows, random_state=cell.seed)
        record["generated_missing_ratio"] = missing_ratio(mask)
        model_dir.parent.mkdir(parents=True, exist_ok=True)
        model.save(model_dir)
    elif cell.method in (*NEURAL_PARTIAL, *NEURAL_REFERENCES):
        schema = Schema.from_arrays(data.train.modalities, data.kinds)
        # References learn from complete training samples (random conditioning masks): by design.
        observed = data.train_observed
        if cell.method in NEURAL_REFERENCES:
            observed = np.ones_like(observed)
        network, history = train_baseline(
            cell.method,
            schema,
            _encoded(schema, data.train, observed),
            observed,
            VSAEConfig.for_images(),
            config,
            **(budget.miwae if cell.method == "miwae" else {}),
        )
        record["fit_seconds"] = time.perf_counter() - start
        start = time.perf_counter()
        values = inference.impute(
            network, _encoded(schema, data.test, data.test_observed), data.test_observed
        )
        predictions = _decoded(schema, values)
        record["impute_seconds"] = time.perf_counter() - start
        record["n_parameters"] = count_parameters(network)
        record["vsae_parameters"] = vsae_parameter_count(schema, VSAEConfig.for_images())
        record["epochs_run"], record["best_epoch"] = len(history.epochs), history.best_epoch
    else:
        raise VSAEError(f"unknown multimodal method {cell.method!r}")
    record["predictions"] = predictions
    return record


def _image_metrics(data: ImageData, predictions: dict[str, np.ndarray]) -> dict[str, float]:
    """Per-pixel MSE of each image modality and PFC of each label modality, over the test samples
    where the modality is missing; ``combined`` sums the image MSEs; ``image_mse_per_image`` is the
    per-pixel MSE times the pixel count (paper Table 10's scale)."""
    metrics: dict[str, float] = {}
    for i, (name, kind) in enumerate(data.kinds.items()):
        scored = ~data.test_observed[:, i]
        truth = data.test.modalities[name]
        prediction = np.asarray(predictions[name]).reshape(truth.shape)
        if kind == "image":
            metrics[f"{name}_mse"] = modality_mse(truth, prediction, scored)
        else:
            true_labels = pd.DataFrame({name: data.test.labels[name]})
            predicted = pd.DataFrame({name: prediction.argmax(axis=1)})
            metrics[f"{name}_pfc"] = pfc(true_labels, predicted, scored[:, None], [name])
    images = [f"{name}_mse" for name, kind in data.kinds.items() if kind == "image"]
    if len(images) > 1:
        metrics["combined"] = combined([metrics[key] for key in images])
    if "image_mse" in metrics:
        metrics["image_mse_per_image"] = metrics["image_mse"] * data.test.modalities["image"].shape[1]
    return metrics


def _image_cell(cell: Cell, budget: Budget, model_dir: Path) -> dict[str, Any]:
    data = image_data(cell.dataset, cell.setting, cell.seed, budget)
    record = _fit_image_method(cell, data, budget, model_dir)
    predictions = record.pop("predictions")
    record["metrics"] = _image_metrics(data, predictions)
    record["rows"] = {
        "train": len(data.train) - data.n_validation,
        "validation": data.n_validation,
        "test": len(data.test),
    }
    record["missing_ratio"] = {
        "train": missing_ratio(data.train_observed),
        "test": missing_ratio(data.test_observed),
    }
    record["params"] = {"train_config": _image_train_config(data, cell.seed, budget).to_dict()}
    return record


# -- figures -----------------------------------------------------------------------------------------
def _nearest_class_mean(images: np.ndarray, means: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """The class of the nearest class-mean image (squared Euclidean distance)."""
    distances = (images**2).sum(1)[:, None] - 2 * images @ means.T + (means**2).sum(1)[None, :]
    return classes[distances.argmin(axis=1)]


def _figures_cell(cell: Cell, runner: Runner) -> dict[str, Any]:
    """Draw Figures 3, 4 and 7 from the MNIST+MNIST VSAE of the same setting and seed (fitted first
    if that cell has not been computed yet)."""
    from vsae.bench.figures import save_image_grid

    source = Cell("image", cell.dataset, cell.setting, "vsae", cell.seed)
    runner.ensure(source)
    model = MultimodalVSAE.load(runner.model_dir(source))
    data = image_data(cell.dataset, cell.setting, cell.seed, runner.budget)
    test, observed = data.test, data.test_observed
    digit, partner = test.modalities["digit"], test.modalities["partner"]
    imputed = model.impute(test.modalities, observed)
    runner.figures_dir.mkdir(parents=True, exist_ok=True)
    paths = {key: runner.figures_dir / name.format(seed=cell.seed) for key, name in FIGURE_FILES.items()}

    # Figure 3: one column per digit pair and direction; observed, true unobserved, imputed.
    columns = []
    for missing, shown in ((1, 0), (0, 1)):
        for first, _ in MNIST_DIGIT_PAIRS:
            label = test.labels["digit"]
            rows = np.flatnonzero(~observed[:, missing] & observed[:, shown] & (label == first))
            if rows.size:
                columns.append((rows[0], missing, shown))
    names = ("digit", "partner")
    grid = [
        [test.modalities[names[shown]][r] for r, _, shown in columns],
        [test.modalities[names[missing]][r] for r, missing, _ in columns],
        [imputed[names[missing]][r] for r, missing, _ in columns],
    ]
    save_image_grid(
        paths["imputation"],
        grid,
        ["observed", "unobserved (truth)", "VSAE imputation"],
        "Imputation on MNIST+MNIST (one column per sample)",
    )

    # Figure 4: unconditional samples, each pair shown side by side; pairing measured on many more.
    generated, _ = model.generate(PAIRING_SAMPLES, random_state=cell.seed)
    pairs = [
        np.concatenate([generated["digit"][k].reshape(28, 28), generated["partner"][k].reshape(28, 28)], 1)
        for k in range(20)
    ]
    save_image_grid(
        paths["generation"],
        [pairs[k : k + 5] for k in range(0, 20, 5)],
        ["", "", "", ""],
        "Unconditional generation (digit | partner); pairs {0,9} {1,8} {2,7} {3,6} {4,5}",
    )
    train_digit, train_partner = data.train.modalities["digit"], data.train.modalities["partner"]
    labels_digit, labels_partner = data.train.labels["digit"], data.train.labels["partner"]
    digit_classes = np.array([a for a, _ in MNIST_DIGIT_PAIRS])
    partner_classes = np.array([b for _, b in MNIST_DIGIT_PAIRS])
    digit_means = np.stack([train_digit[labels_digit == c].mean(0) for c in digit_classes])
    partner_means = np.stack([train_partner[labels_partner == c].mean(0) for c in partner_classes])
    partner_of = dict(MNIST_DIGIT_PAIRS)

    def pairing_rate(first: np.ndarray, second: np.ndarray) -> float:
        a = _nearest_class_mean(first.reshape(len(first), -1), digit_means, digit_classes)
        b = _nearest_class_mean(second.reshape(len(second), -1), partner_means, partner_classes)
        return float(np.mean([partner_of[int(x)] == int(y) for x, y in zip(a, b, strict=True)]))

    # Figure 7: eight draws of the missing partner for a few samples whose partner is missing.
    rows = np.flatnonzero(~observed[:, 1] & observed[:, 0])[:6]
    draws = model.sample_imputations(test.modalities, observed, n=8, random_state=cell.seed)
    save_image_grid(
        paths["draws"],
        [[digit[r]] + [draw["partner"][r] for draw in draws] for r in rows],
        ["" for _ in rows],
        "Observed digit (left) and eight independent imputations of its partner",
    )
    return {
        "metrics": {
            "generated_pairing_rate": pairing_rate(generated["digit"], generated["partner"]),
            "real_test_pairing_rate": pairing_rate(digit, partner),
            "chance_pairing_rate": 1 / len(MNIST_DIGIT_PAIRS),
        },
        "generated_rows": len(generated["digit"]),
        "figures": {key: path.name for key, path in paths.items()},
        "source_cell": str(source.relative_path),
        "fit_seconds": 0.0,
        "impute_seconds": 0.0,
    }


# -- running -----------------------------------------------------------------------------------------
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
        return self.out / "models" / cell.dataset / cell.setting.key / f"{cell.method}-seed{cell.seed}"

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
            compute = lambda: _tabular_cell(cell, self.budget)  # noqa: E731
        elif cell.kind == "image":
            compute = lambda: _image_cell(cell, self.budget, self.model_dir(cell))  # noqa: E731
        else:
            compute = lambda: _figures_cell(cell, self)  # noqa: E731
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
        _write_json(self.path(cell), record)
        return record

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


# -- command line ------------------------------------------------------------------------------------
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
        from vsae.bench.report import write_report

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
