"""Computing one multimodal cell: MNIST+MNIST or image + label, one method, one seed, one ratio.

The protocol (docs/protocol.md, "Multimodal data") that the code below fixes:

- The loaders' training and validation splits are pooled and handed to the trainer with
  ``validation_fraction = n_val / (n_train + n_val)``, so the trainer fits on as many samples as the
  paper's training set (23257 for MNIST+MNIST) and selects on as many as its validation set (model
  selection hides observed modalities of the held-out samples, never reads an unobserved one).
- Modality masks come from :func:`vsae.data.modality_mcar_mask`: training masks are drawn with seed
  ``2·seed + 1``, test masks with ``2·seed + 2``.
- Each modality is scored over the test samples where it is missing: per-pixel MSE for images, PFC
  for labels (:mod:`vsae.metrics`).
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vsae import inference
from vsae.baselines import count_parameters, train_baseline
from vsae.baselines.neural import vsae_parameter_count
from vsae.bench.cells import Cell
from vsae.bench.presets import IMAGE_TEXT, MNIST_PAIRS, NEURAL_PARTIAL, NEURAL_REFERENCES, Budget, Setting
from vsae.data import (
    MultimodalSplit,
    Splits,
    data_dir,
    load_image_text,
    load_mnist_pairs,
    missing_ratio,
    modality_mcar_mask,
)
from vsae.errors import VSAEError
from vsae.metrics import combined, modality_mse, pfc
from vsae.model import VSAEConfig
from vsae.multimodal import MultimodalVSAE
from vsae.schema import ModalityKind, Schema
from vsae.train import TrainConfig


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
    sizes = VSAEConfig.for_modalities(data.kinds.values())
    record: dict[str, Any] = {}
    start = time.perf_counter()
    if cell.method in ("global_mean", "class_mean"):
        predictions = _mean_predictions(data, by_class=cell.method == "class_mean")
        record["fit_seconds"] = time.perf_counter() - start
        record["impute_seconds"] = 0.0
    elif cell.method == "vsae":
        model = MultimodalVSAE(data.kinds, sizes, config)
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
            sizes,
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
        record["vsae_parameters"] = vsae_parameter_count(schema, sizes)
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


def image_cell(cell: Cell, budget: Budget, model_dir: Path) -> dict[str, Any]:
    """Fit ``cell.method`` on the pooled training samples, impute and score the test samples; the
    body of the cell's record (a fitted VSAE is saved to ``model_dir`` for the figures)."""
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
