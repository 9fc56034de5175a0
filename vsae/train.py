"""Training: seeded, in-memory, with model selection on held-out *observed* cells.

The data stay on the device as two tensors and mini-batches are index slices of a shuffled permutation
(no DataLoader: for in-memory tables it only adds per-batch overhead).

Model selection: a share ``validation_fraction`` of the rows is kept out of training. In those rows a
further share ``validation_hidden_fraction`` of the *observed* cells is hidden from the model; after
every epoch the model imputes them and the error on them (standardised MSE for numerical modalities,
error rate for categorical ones) is the validation score. The epoch with the best score is kept and
training stops after ``patience`` epochs without improvement (never before the warm-up has ended).
Nothing in this procedure reads an unobserved cell.

Data-parallel training: when this process is one of several in a ``torch.distributed`` process group
(see :mod:`vsae.distributed`), every process holds the whole table, a ``DistributedSampler`` gives each
one its share of every epoch's shuffled rows and ``DistributedDataParallel`` averages the gradients.
``batch_size`` stays the number of rows per optimiser step, split evenly among the processes, so the
settings mean what they mean on one process. Loss sums are added up over the processes once per
epoch; the validation score is computed by rank 0 and sent to all, so every process takes the same
best-epoch and early-stopping decisions; progress bar and checkpoints belong to rank 0.

The loop is a :class:`Trainer` of named steps: :meth:`Trainer.train_step` (one optimiser step on one
batch), :meth:`Trainer.train_epoch` (one pass over the shuffled batches), :meth:`Trainer.score` and
:class:`Selection` (the kept epoch, the patience, the decision to stop), and :meth:`Trainer.fit`, the
loop over epochs, which calls its callbacks (:class:`Callback`): the progress bar
(:class:`ProgressBar`) and the checkpoints (:class:`Checkpointing`, the state itself in
:mod:`vsae.checkpoint`). The process-group parts of the loop are in :mod:`vsae.distributed`.
"""

from __future__ import annotations

import copy
import functools
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from statistics import NormalDist
from typing import Any, Literal, Protocol, TypeVar, get_args

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from vsae import budget, distributed
from vsae.checkpoint import Checkpoint, make_ensemble_folder, run_fingerprint
from vsae.errors import TrainingDivergedError, VSAEError
from vsae.model.ensemble import VSAEEnsemble
from vsae.model.likelihoods import MIN_NOISE_VARIANCE, Likelihoods
from vsae.model.objective import LossTerms, PseudoTargets, SelectiveELBO, check_pseudo_targets
from vsae.model.vsae import VSAE, VSAEConfig
from vsae.schema import Schema

#: Below this many validation rows the score is too noisy to select on: train on all rows instead.
MIN_VALIDATION_ROWS = 8
#: Batches are shrunk (never below 2 rows) until an epoch has at least this many optimiser steps.
MIN_BATCHES_PER_EPOCH = 8
#: The hidden share of validation cells is raised (up to one half) to score at least this many cells
#: (one hidden-cell mask, ``validation_masks=1``).
MIN_HIDDEN_CELLS = 200
#: How the numerical imputation noise is calibrated (:attr:`TrainConfig.interval_calibration`).
IntervalCalibration = Literal["coverage", "variance"]
#: ``validation_masks="auto"`` keeps one mask when it scores at least this many cells, and otherwise
#: scores every observed held-out cell.
ENOUGH_SCORED_CELLS = 2_000


@dataclass
class TrainConfig:
    """Optimisation settings.

    Attributes
    ----------
    epochs : int
        Maximum number of passes over the training rows. For VSAE on tables of
        ``vsae.budget.LARGE_TABLE_ROWS`` training rows or more it is capped by
        :func:`vsae.budget.epochs_for_rows` (a bounded number of row visits) and the warm-up spans
        the capped budget, so the last epoch is kept.
    batch_size : int
        Rows per mini-batch (smaller on tables too small for ``MIN_BATCHES_PER_EPOCH`` batches).
    learning_rate : float
        Adam's step size.
    warmup_epochs : int
        Epochs trained without the unobserved-modality term (paper: 20).
    unobserved_term : bool or "auto"
        Objective setting: whether the Eq. 8 term for unobserved modalities is used after the warm-up.
        ``"auto"`` picks the default of the data type (:func:`default_unobserved_term`).
    kl_weight : float or "auto"
        Objective setting: multiplier of the KL term. The paper's ELBO is 1.0; at 1.0 the posterior
        collapses on low-entropy features (``docs/model.md``, "Likelihood scale"). ``"auto"`` picks
        the default of the data type (:func:`default_kl_weight`: 0.01 on numerical tables, 0.02 on
        tables with a categorical column, 0.1 for images), chosen on validation data.
    modality_dropout : float or "auto"
        Objective setting: share of observed modalities hidden from the encoders in each batch
        (an extension, 0 = the paper's objective; see :class:`vsae.model.objective.SelectiveELBO`).
        ``"auto"`` picks the default of the data type (:func:`default_modality_dropout`).
    pseudo_targets : {"sampled", "expected"}
        Objective setting, used with the unobserved term: the pseudo-targets of unobserved
        categorical cells are one drawn class (the paper) or the predicted class probabilities
        (:class:`vsae.model.objective.SelectiveELBO`).
    validation_fraction : float
        Share of rows held out for model selection (0 disables selection and early stopping).
    validation_hidden_fraction : float
        Share of the held-out rows' observed cells that is hidden and imputed to score an epoch
        (raised up to 0.5 when that would score fewer than ``MIN_HIDDEN_CELLS`` cells).
    validation_masks : int or "auto"
        Complementary hidden-cell masks each held-out row is scored under: each row's observed
        cells are dealt to the masks in turn (:func:`_hide_cells`), so that ``ceil(1 / h)`` masks
        (``h`` the hidden share) score every observed held-out cell once, each with as many of the
        row's other cells seen as the masks allow. 1 scores one mask, its share raised on small
        validation sets (``MIN_HIDDEN_CELLS``).
        ``"auto"``: :func:`default_validation_masks`.
    deal_validation_cells : bool
        With several masks, deal each row's observed cells to them in turn (:func:`_hide_cells`);
        False draws each cell's mask independently (the default before, kept to reproduce its
        measurements).
    patience : int
        Epochs without a better validation score before training stops.
    select_after_warmup : bool
        Treat the warm-up as a burn-in (VSAE's objective): select only among the epochs after it and
        start counting ``patience`` there, so that the kept model has trained at least
        ``warmup_epochs`` epochs, with the full objective when the unobserved term is on. False
        restores selection over every epoch.
    refit : bool
        After selection, train a fresh network on every row (the validation rows and their hidden
        cells included) for the selected number of epochs and keep it: nothing is held out of the
        final model. The calibration of the predictive distribution still comes from the selection
        run's held-out cells.
    clip_grad_norm : float or None
        Maximum gradient norm.
    seed : int
        Seeds weights, splits, shuffling and noise.
    device : str
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ``"cuda:1"``…
    verbose : int
        0 silent, 1 a progress bar over epochs.
    checkpoint_dir : str, optional
        Folder where the training state is saved every ``checkpoint_every`` epochs and at the end,
        so that an interrupted run can be resumed (``resume=True``) to the same final model.
    checkpoint_every : int
        Epochs between checkpoints.
    interval_calibration : {"coverage", "variance"}
        How the imputation noise of numerical columns is calibrated on the held-out cells
        (:func:`calibrate`): ``"coverage"`` scales the variance-matched noise so that ±1.96 ×
        ``uncertainty`` covers 95% of the hidden cells (split-conformal, docs/model.md);
        ``"variance"`` stops at matching the mean squared error (the default before, kept to
        reproduce its measurements).
    ensemble_size : int or "auto"
        Networks trained, each on its own seed (weights, held-out rows and cells, shuffling) and
        calibrated on its own held-out cells, then averaged (:class:`vsae.model.ensemble.VSAEEnsemble`).
        ``"auto"``: the default of the data type and size, :func:`default_ensemble_size` (numerical
        tables: 3 networks up to 1,666 rows, 1 from 2,500 rows on; tables with a categorical column:
        3 up to 10,000 rows, 1 from 15,000 on; 1 when a modality is an image), and 1 with ``refit``
        (which trains one network on every row).
    """

    epochs: int = 200
    batch_size: int = 128
    learning_rate: float = 1e-3
    warmup_epochs: int = 20
    unobserved_term: bool | str = "auto"
    kl_weight: float | str = "auto"
    modality_dropout: float | str = "auto"
    pseudo_targets: PseudoTargets = "sampled"
    validation_fraction: float = 0.2
    validation_hidden_fraction: float = 0.2
    validation_masks: int | str = "auto"
    deal_validation_cells: bool = True
    patience: int = 20
    select_after_warmup: bool = True
    refit: bool = False
    clip_grad_norm: float | None = 10.0
    seed: int = 0
    device: str = "auto"
    verbose: int = 0
    checkpoint_dir: str | None = None
    checkpoint_every: int = 10
    ensemble_size: int | str = "auto"
    interval_calibration: IntervalCalibration = "coverage"

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 2:
            raise VSAEError(f"epochs must be ≥ 1 and batch_size ≥ 2, got {self.epochs} and {self.batch_size}")
        if not 0 <= self.validation_fraction < 1 or not 0 < self.validation_hidden_fraction < 1:
            raise VSAEError("validation_fraction must be in [0, 1) and validation_hidden_fraction in (0, 1)")
        if not self.learning_rate > 0:
            raise VSAEError(f"learning_rate must be positive, got {self.learning_rate}")
        kl = self.kl_weight
        if kl != "auto" and (isinstance(kl, bool) or not isinstance(kl, (int, float)) or not kl >= 0):
            raise VSAEError(f"kl_weight must be 'auto' or a number ≥ 0, got {kl!r}")
        if self.checkpoint_every < 1:
            raise VSAEError(f"checkpoint_every must be at least 1, got {self.checkpoint_every}")
        if self.unobserved_term not in ("auto", True, False):
            raise VSAEError(f"unobserved_term must be 'auto', True or False, got {self.unobserved_term!r}")
        if self.modality_dropout != "auto" and not (
            isinstance(self.modality_dropout, (int, float)) and 0 <= self.modality_dropout < 1
        ):
            raise VSAEError(f"modality_dropout must be 'auto' or in [0, 1), got {self.modality_dropout!r}")
        check_pseudo_targets(self.pseudo_targets)
        if self.interval_calibration not in get_args(IntervalCalibration):
            raise VSAEError(
                f"interval_calibration must be 'coverage' or 'variance', got {self.interval_calibration!r}"
            )
        masks = self.validation_masks
        if masks != "auto" and (not isinstance(masks, int) or isinstance(masks, bool) or masks < 1):
            raise VSAEError(f"validation_masks must be 'auto' or an integer ≥ 1, got {masks!r}")
        if isinstance(masks, int) and masks > masks_scoring_every_cell(self.validation_hidden_fraction):
            raise VSAEError(
                f"validation_masks={masks}: masks of share {self.validation_hidden_fraction} score every "
                f"held-out cell with {masks_scoring_every_cell(self.validation_hidden_fraction)}; the "
                "others would hide nothing"
            )
        size = self.ensemble_size
        if size != "auto" and (not isinstance(size, int) or isinstance(size, bool) or size < 1):
            raise VSAEError(f"ensemble_size must be 'auto' or an integer ≥ 1, got {size!r}")
        if self.refit and size not in ("auto", 1):
            raise VSAEError(
                "refit trains one network on every row: it cannot be combined with ensemble_size > 1"
            )

    def fingerprint_fields(self) -> dict[str, Any]:
        """Settings that change the trained model (not where or how loudly it is trained)."""
        ignored = {"device", "verbose", "checkpoint_dir", "checkpoint_every"}
        return {k: v for k, v in asdict(self).items() if k not in ignored}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class History:
    """Per-epoch record of every loss term and of the validation score."""

    epochs: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = -1
    stopped_early: bool = False
    kl_per_modality: list[float] = field(default_factory=list)
    refit_epochs: int = 0
    #: An ensemble's other members' histories (this one is the first member's).
    members: list[History] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        members = [cls.from_dict(member) for member in data.get("members", [])]
        return cls(**{**data, "members": members})


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as error:
        raise VSAEError(f"unknown device {device!r}: {error}") from error
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise VSAEError(f"device {device!r} was requested but CUDA is not available; use device='cpu'")
    return resolved


@dataclass
class _Validation:
    """Held-out rows with some observed cells hidden, and the truth of those cells."""

    x: torch.Tensor
    observed_input: torch.Tensor
    hidden: torch.Tensor


def _split_rows(
    observed: np.ndarray, config: TrainConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    n = observed.shape[0]
    n_validation = round(n * config.validation_fraction)
    if n_validation < MIN_VALIDATION_ROWS or n - n_validation < 2:
        return np.arange(n), np.arange(0)
    order = rng.permutation(n)
    return np.sort(order[n_validation:]), np.sort(order[:n_validation])


def _hide_cells(
    observed: np.ndarray, share: float, masks: int, rng: np.random.Generator, deal: bool
) -> np.ndarray:
    """Boolean ``[masks, n, M]``: the observed cells each mask hides (``TrainConfig.validation_masks``).

    One mask hides each observed cell with probability ``share``, raised up to one half on small
    validation sets so that about ``MIN_HIDDEN_CELLS`` cells are scored. Several masks split each
    row's observed cells between them as evenly as possible: the cells, in random order, are dealt
    to the masks in turn from a random first mask, so a row with ``d`` observed cells has
    ``floor(d / masks)`` or ``ceil(d / masks)`` of them hidden by each mask. Dealt rather than drawn
    independently, a cell is never scored with more of its row hidden than it has to be: on a
    table with no more observed cells per row than masks, each cell is scored with every other
    observed cell of its row seen, the conditioning it has at imputation (drawn independently,
    a third of the cells of a 3-column table were scored with a second cell hidden, and the
    calibrated noise took their larger errors for the imputation's; docs/model.md). ``deal=False``
    draws the masks independently instead: mask ``k`` hides the cells whose uniform draw falls in
    ``[k·share, (k+1)·share)``.
    """
    draw = rng.random(observed.shape)
    if masks == 1:
        share = max(share, min(0.5, MIN_HIDDEN_CELLS / max(int(observed.sum()), 1)))
        return (observed & (draw < share))[None]
    if deal:
        rank = np.argsort(np.argsort(np.where(observed, draw, np.inf), axis=1), axis=1)
        slot = (rank + rng.integers(masks, size=(observed.shape[0], 1))) % masks
    else:
        slot = np.floor(draw / share)
    return np.stack([observed & (slot == k) for k in range(masks)])


def masks_scoring_every_cell(share: float) -> int:
    """How many complementary masks of about ``share`` hide every observed cell once (dealt, each
    hides about ``1 / masks`` of a row's cells; drawn, the last may hide less than ``share``)."""
    return math.ceil(1 / share - 1e-9)


def default_validation_masks(schema: Schema, observed_cells: int, share: float) -> int:
    """How many complementary hidden-cell masks score the held-out rows by default, given how many
    observed cells they hold (docs/model.md, "Validation on every held-out cell").

    Tables: one mask when it scores at least :data:`ENOUGH_SCORED_CELLS` cells, otherwise every
    observed held-out cell once (:func:`masks_scoring_every_cell`). One mask scores a fifth of a small
    table's held-out cells: the kept epoch and the moment training stops then follow which cells
    that fifth holds. The threshold is set by cost: more masks lengthen training, and where one
    mask scores enough cells (mushroom, 2 cells) five gave 0.994 of one mask's validation error at
    1.87 times the fit time. Images: one mask; an image modality's error already averages its pixels.
    """
    if any(m.kind == "image" for m in schema) or observed_cells * share >= ENOUGH_SCORED_CELLS:
        return 1
    return masks_scoring_every_cell(share)


class Network(Protocol):
    """What the trainer needs of a network: its schema, its likelihoods and a point imputation."""

    schema: Schema
    likelihoods: Likelihoods

    def impute(self, x: torch.Tensor, observed: torch.Tensor) -> torch.Tensor: ...


class Objective(Protocol):
    """A training loss: batch terms of a network, given whether the warm-up is over."""

    def __call__(
        self, model: Any, x: torch.Tensor, observed: torch.Tensor, past_warmup: bool
    ) -> LossTerms: ...


NetworkT = TypeVar("NetworkT", bound=nn.Module)


#: KL weight of images and of the neural baselines (docs/model.md, "Likelihood scale").
KL_WEIGHT = 0.1
#: KL weight of numerical tables (docs/model.md, "Numerical tables: KL weight 0.01"): on top of the
#: other defaults it lowered the validation error on every numerical table of the ablation.
NUMERICAL_KL_WEIGHT = 0.01
#: KL weight and modality dropout of tables with a categorical column (docs/model.md, "Categorical
#: tables"): together, not alone, they lowered the validation error on 16 of 18 categorical cells.
CATEGORICAL_KL_WEIGHT = 0.02
CATEGORICAL_MODALITY_DROPOUT = 0.3
#: Modality dropout of images with a categorical modality (image + label; docs/model.md, "Image +
#: label"): it cut the label PFC on held-out observed labels of MNIST + label from 0.155 to 0.092
#: (seeds 0-2) and the per-pixel image error from 0.0668 to 0.0547, against no dropout.
IMAGE_LABEL_MODALITY_DROPOUT = 0.3


def _is_categorical_table(schema: Schema) -> bool:
    """A table (no image modality) with at least one categorical column."""
    kinds = {m.kind for m in schema}
    return "categorical" in kinds and "image" not in kinds


def default_modality_dropout(schema: Schema) -> float:
    """The default modality dropout of a data type, chosen on validation scores (docs/model.md).

    0.5 when no modality is categorical (numerical tables, images): it lowered the validation error
    on every numerical UCI table and on MNIST+MNIST. :data:`CATEGORICAL_MODALITY_DROPOUT`, with the
    lower KL weight of :func:`default_kl_weight`, on tables with a categorical column.
    :data:`IMAGE_LABEL_MODALITY_DROPOUT` for images with a categorical modality (image + label).
    """
    if _is_categorical_table(schema):
        return CATEGORICAL_MODALITY_DROPOUT
    return IMAGE_LABEL_MODALITY_DROPOUT if any(m.kind == "categorical" for m in schema) else 0.5


def default_kl_weight(schema: Schema) -> float:
    """The default KL weight of a data type (docs/model.md): :data:`NUMERICAL_KL_WEIGHT` on numerical
    tables, :data:`CATEGORICAL_KL_WEIGHT` on tables with a categorical column, :data:`KL_WEIGHT` as
    soon as a modality is not a table column (images, binary vectors)."""
    if _is_categorical_table(schema):
        return CATEGORICAL_KL_WEIGHT
    return NUMERICAL_KL_WEIGHT if all(m.kind == "numerical" for m in schema) else KL_WEIGHT


def default_unobserved_term(schema: Schema) -> bool:
    """Whether the Eq. 8 unobserved term is on by default for a data type (docs/model.md, "Ablation").

    Off for tables: without it the validation error on held-out observed cells was lower on every
    table of the ablation. On as soon as a modality is an image, where the paper's objective was
    measured (docs/results.md) and no ablation has been run.
    """
    return any(m.kind == "image" for m in schema)


def default_ensemble_size(schema: Schema, rows: int) -> int:
    """The default number of networks for a data type and ``rows`` rows (docs/model.md, "Ensembles").

    Tables get as many networks as the rows afford (:func:`vsae.budget.ensemble_size_for_rows`).
    Numerical tables: 3 up to 1,666 rows, 2 up to 2,500 (:data:`vsae.budget.ENSEMBLE_ROWS`): on the
    six small numerical tables of the ablation 3 networks lowered the validation error in 28 of 36
    cells. Tables with a categorical column, mixed ones included: 3 up to 10,000 rows, 2 up to
    15,000 (:data:`vsae.budget.CATEGORICAL_ENSEMBLE_ROWS`): on zoo, mushroom and phishing 3
    networks lowered the validation PFC in 16 of 18 cells; mixed tables were not measured, and
    their numerical and categorical columns each gained on their own kind of table. One network as
    soon as a modality is an image (not measured; an image network already takes minutes).
    """
    kinds = {m.kind for m in schema}
    if "image" in kinds:
        return 1
    if kinds == {"numerical"}:
        return budget.ensemble_size_for_rows(rows)
    return budget.ensemble_size_for_rows(rows, budget.CATEGORICAL_ENSEMBLE_ROWS)


#: Latent draws over which the point imputations of numerical tables are importance-weighted
#: (docs/model.md, "Importance-weighted imputation"): on the ablation's numerical cells 0.992 of the
#: posterior mean's validation error, lower in 33 of 42 cells.
NUMERICAL_IMPORTANCE_SAMPLES = 50


def default_importance_samples(schema: Schema) -> int:
    """The default ``importance_samples`` of a data type (docs/model.md, "Importance-weighted
    imputation"): :data:`NUMERICAL_IMPORTANCE_SAMPLES` on numerical tables; 0 (the posterior mean) as
    soon as a modality is not numerical: on the categorical cells of the ablation the weighted
    imputation was worse in 7 of 10 (validation error 1.008 of the posterior mean's)."""
    return NUMERICAL_IMPORTANCE_SAMPLES if all(m.kind == "numerical" for m in schema) else 0


def train_vsae(
    schema: Schema,
    x: np.ndarray,
    observed: np.ndarray,
    model_config: VSAEConfig | None = None,
    config: TrainConfig | None = None,
    resume: bool = False,
) -> tuple[VSAE | VSAEEnsemble, History]:
    """Build a :class:`VSAE` for ``schema`` and train it with the Eq. 8 objective on encoded data
    (an ensemble of them, :class:`VSAEEnsemble`, when ``config.ensemble_size`` asks for several).

    Parameters
    ----------
    schema : Schema
        Layout of ``x``.
    x : ndarray of shape (n_samples, schema.total_width)
        Encoded data; unobserved cells may hold anything (they are never read).
    observed : ndarray of bool, shape (n_samples, n_modalities)
        True where a modality is observed.
    model_config, config : optional
        Network and optimisation settings.
    resume : bool
        Continue from the checkpoint in ``config.checkpoint_dir`` if there is one.

    Returns
    -------
    model : VSAE or VSAEEnsemble
        The network at its best validation epoch, in eval mode, on ``config.device`` (or the
        ensemble of such networks).
    history : History
        The first network's; an ensemble's other members' are in ``history.members``.
    """
    config = config or TrainConfig()
    dropout = config.modality_dropout
    dropout = default_modality_dropout(schema) if dropout == "auto" else float(dropout)
    unobserved = config.unobserved_term
    unobserved = default_unobserved_term(schema) if unobserved == "auto" else bool(unobserved)
    kl_weight = config.kl_weight
    kl_weight = default_kl_weight(schema) if kl_weight == "auto" else float(kl_weight)
    objective = SelectiveELBO(kl_weight, unobserved, dropout, config.pseudo_targets)
    # Large tables: a bounded number of row visits (vsae/budget.py); the warm-up then spans the whole
    # budget, so the last epoch is kept and the unobserved term never switches on.
    rows = round(x.shape[0] * (1 - config.validation_fraction))
    epochs = budget.epochs_for_rows(rows, config.epochs)
    config = replace(
        config, epochs=epochs, warmup_epochs=budget.warmup_for_rows(rows, config.warmup_epochs, epochs)
    )
    build = functools.partial(VSAE, schema, model_config)
    size = config.ensemble_size
    size = 1 if config.refit else default_ensemble_size(schema, x.shape[0]) if size == "auto" else int(size)
    if size > 1 and config.checkpoint_dir is not None:
        make_ensemble_folder(config.checkpoint_dir)
    trained = [
        train_network(build, objective, schema, x, observed, _member_config(config, j, size), resume, True)
        for j in range(size)
    ]
    if size == 1:
        return trained[0]
    models, histories = zip(*trained, strict=True)
    return VSAEEnsemble(models), replace(histories[0], members=list(histories[1:]))


def _member_config(config: TrainConfig, member: int, size: int) -> TrainConfig:
    """The training settings of an ensemble's ``member``: the first keeps the seed (a one-member
    ensemble is the plain network), the others get seeds drawn from it, so that each holds out rows
    and cells of its own and the ensemble as a whole learns from every row; each checkpoints to a
    subfolder of its own."""
    if size == 1:
        return config
    seed = config.seed
    if member > 0:
        seed = int(np.random.SeedSequence([config.seed, 2, member]).generate_state(1)[0])
    folder = (
        None if config.checkpoint_dir is None else os.path.join(config.checkpoint_dir, f"member-{member}")
    )
    return replace(config, seed=seed, checkpoint_dir=folder)


def train_network(
    build: Callable[[], NetworkT],
    objective: Objective,
    schema: Schema,
    x: np.ndarray,
    observed: np.ndarray,
    config: TrainConfig,
    resume: bool = False,
    calibrate_predictive: bool = False,
) -> tuple[NetworkT, History]:
    """Seeded training of any :class:`Network` (VSAE or a baseline) with model selection.

    ``build`` is called under the seed, so initial weights are reproducible. With
    ``config.checkpoint_dir`` set, the state is checkpointed; ``resume=True`` continues from it and
    ends with the same model as an uninterrupted run (exactly, on the CPU). With
    ``calibrate_predictive`` (VSAE), the selected network's predictive distribution is calibrated on
    the held-out cells (:func:`calibrate`). With ``config.refit``, a fresh network is then trained on
    every row for the selected number of epochs and returned, carrying that calibration.
    """
    if resume and config.checkpoint_dir is None:
        raise VSAEError("resume needs a checkpoint folder (checkpoint_dir)")
    if x.shape[0] < 2:
        raise VSAEError(f"at least 2 rows are needed to fit, got {x.shape[0]}")
    if not observed.any():
        raise VSAEError("no cell of the data is observed: there is nothing to learn from")
    device = distributed.process_device(resolve_device(config.device))
    rng = np.random.default_rng(config.seed)
    train_rows, validation_rows = _split_rows(observed, config, rng)
    share = config.validation_hidden_fraction
    masks = config.validation_masks
    if masks == "auto":
        masks = default_validation_masks(schema, int(observed[validation_rows].sum()), share)
    hidden = _hide_cells(observed[validation_rows], share, masks, rng, config.deal_validation_cells)

    # Unobserved cells are zeroed before anything reads them: their content cannot matter.
    x = np.where(np.repeat(observed, [m.width for m in schema], axis=1), x, 0.0).astype(np.float32)
    x_all = torch.as_tensor(x, device=device)
    observed_all = torch.as_tensor(observed, device=device)
    x_train, observed_train = x_all[train_rows], observed_all[train_rows]
    validation = None
    if validation_rows.size and hidden.any():
        # One copy of the held-out rows per mask, stacked: scoring and calibration see every copy.
        validation = _Validation(
            x=x_all[validation_rows].repeat(masks, 1),
            observed_input=torch.as_tensor(
                (observed[validation_rows][None] & ~hidden).reshape(-1, observed.shape[1]), device=device
            ),
            hidden=torch.as_tensor(hidden.reshape(-1, observed.shape[1]), device=device),
        )

    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(config.seed)
        model = build().to(device)
        fingerprint = ""
        if config.checkpoint_dir is not None or distributed.is_distributed():
            fingerprint = run_fingerprint(x, observed, config, model)
        if distributed.is_distributed():
            if not distributed.same_on_all_ranks(fingerprint):
                raise VSAEError(
                    "the training processes hold different tables or settings: under torchrun every "
                    "process must fit the same table with the same settings"
                )
            # Same initial weights everywhere (built above under one seed); a noise stream per process.
            torch.manual_seed(
                int(np.random.SeedSequence([config.seed, distributed.rank()]).generate_state(1)[0])
            )
        checkpoint = None
        if config.checkpoint_dir is not None:
            checkpoint = Checkpoint(config.checkpoint_dir, config.checkpoint_every, resume, fingerprint)
        history = _optimise(model, x_train, observed_train, validation, objective, config, checkpoint)
        if calibrate_predictive and validation is not None:
            calibration = distributed.computed_on_main(
                functools.partial(calibrate, model, validation, config.interval_calibration)
            )
            model.likelihoods.load_state_dict(calibration, strict=False)
        if config.refit and validation is not None and history.best_epoch > 0:
            model = _refit(build, model, x_all, observed_all, objective, config, history.best_epoch)
            history.refit_epochs = history.best_epoch
    model.eval()
    return model, history


def _refit(
    build: Callable[[], NetworkT],
    selected: NetworkT,
    x: torch.Tensor,
    observed: torch.Tensor,
    objective: Objective,
    config: TrainConfig,
    epochs: int,
) -> NetworkT:
    """A fresh network trained on every row for ``epochs`` epochs (the last one kept), with the
    selected network's calibration. Seeded apart from the selection run, so it is reproducible; it is
    not checkpointed: a resumed fit repeats it from the start, to the same result."""
    torch.manual_seed(int(np.random.SeedSequence([config.seed, 1]).generate_state(1)[0]))
    model = build().to(x.device)
    refit_config = replace(config, epochs=epochs, checkpoint_dir=None)
    _optimise(model, x, observed, None, objective, refit_config)
    calibration = {name: selected.likelihoods.state_dict()[name] for name in CALIBRATION_BUFFERS}
    model.likelihoods.load_state_dict(calibration, strict=False)
    return model


#: The buffers of :class:`vsae.model.likelihoods.Likelihoods` set by :func:`calibrate`.
CALIBRATION_BUFFERS = ("imputation_noise_variance", "categorical_temperature")
#: Latent draws used to measure the posterior's share of the imputation error.
CALIBRATION_DRAWS = 20
#: Below this many held-out cells a column's imputation noise is not estimated (its variance stays 1).
MIN_CALIBRATION_CELLS = 10
#: Temperatures tried for each categorical modality (log-spaced, 1 included).
_TEMPERATURES = torch.logspace(-1.0, 1.0, 41, base=4.0)


#: The two-sided level of the intervals ±1.96 × ``uncertainty`` (``interval_calibration="coverage"``).
INTERVAL_LEVEL = 0.95
#: The level's normal quantile (1.96): ±``INTERVAL_Z`` × ``uncertainty`` is the nominal interval.
INTERVAL_Z = NormalDist().inv_cdf(0.5 + INTERVAL_LEVEL / 2)


@torch.no_grad()
def calibrate(
    model: Any, validation: _Validation, interval: IntervalCalibration = "coverage"
) -> dict[str, torch.Tensor]:
    """Calibration of the predictive distribution on the held-out cells (never on unobserved ones).

    Numerical column j: the imputation error ``e`` of a hidden cell has variance about
    ``Var_z[μ(z)] + s_j²`` (the latent posterior's spread plus what it does not explain); ``s_j²`` is
    the mean of ``e²`` less the mean latent variance over the column's hidden cells (at least 1% of
    the column's variance). With ``interval="coverage"`` every ``s_j²`` is then multiplied by one
    factor, :func:`coverage_factor`, so that ±1.96 standard deviations cover 95% of the hidden cells:
    matching the variance alone covers less where errors are heavy-tailed or where the latent spread
    ranks the cells' errors poorly (glass: 0.920, docs/model.md). Categorical modalities: one
    temperature shared by their logits, the one minimising the negative log-likelihood of the hidden
    cells' true classes (one shared value because small tables hold too few hidden cells per column
    to fit one each). Returns the buffers :data:`CALIBRATION_BUFFERS`.
    """
    was_training = model.training
    model.eval()
    likelihoods = model.likelihoods
    x, seen, hidden = validation.x, validation.observed_input, validation.hidden
    result = {name: likelihoods.state_dict()[name].clone() for name in CALIBRATION_BUFFERS}
    if likelihoods.numerical_columns.numel():
        columns, modality = likelihoods.numerical_columns, likelihoods.numerical_modality
        point = likelihoods.mode(model.impute(x, seen))[:, columns]
        draws = torch.stack(
            [likelihoods.mean(model.impute(x, seen, True))[:, columns] for _ in range(CALIBRATION_DRAWS)]
        )
        latent_variance = draws.var(0, unbiased=False)
        squared_error = (point - x[:, columns]).square()
        cells = hidden[:, modality]
        counts = cells.sum(0)
        excess = ((squared_error - latent_variance) * cells).sum(0) / counts.clamp(min=1)
        measured = counts >= MIN_CALIBRATION_CELLS
        variance = excess.clamp(min=MIN_NOISE_VARIANCE)
        if interval == "coverage" and measured.any():
            scored = cells & measured
            factor = coverage_factor(
                squared_error[scored], latent_variance[scored], variance.expand_as(cells)[scored]
            )
            variance = (variance * factor).clamp(min=MIN_NOISE_VARIANCE)
        result["imputation_noise_variance"] = torch.where(measured, variance, torch.ones_like(variance))
    if likelihoods.categorical_modality.numel():
        valid = likelihoods.categorical_valid
        rows, blocks = hidden[:, likelihoods.categorical_modality].nonzero(as_tuple=True)
        if rows.numel() >= MIN_CALIBRATION_CELLS:
            logits = model.impute(x, seen)[:, likelihoods.categorical_gather][rows, blocks]
            logits = logits.masked_fill(~valid[blocks], float("-inf"))
            target = x[:, likelihoods.categorical_gather][rows, blocks].argmax(-1)  # observed one-hot truth
            losses = [F.cross_entropy(logits / t, target).item() for t in _TEMPERATURES.tolist()]
            result["categorical_temperature"].fill_(float(_TEMPERATURES[int(np.argmin(losses))]))
    model.train(was_training)
    return result


def coverage_factor(
    squared_error: torch.Tensor, latent_variance: torch.Tensor, noise_variance: torch.Tensor
) -> torch.Tensor:
    """The least ``c`` for which ``|e| ≤ z · sqrt(v + c · s²)`` holds on a share :data:`INTERVAL_LEVEL`
    of the cells (split-conformal: the ``⌈(n + 1) · level⌉``-th smallest of the factors each cell
    needs, so that a new exchangeable cell is covered with probability at least the level; the
    largest when there are too few cells for that rank). One value per cell in each argument; ``z``
    is :data:`INTERVAL_Z`."""
    needed = ((squared_error / INTERVAL_Z**2 - latent_variance) / noise_variance).clamp(min=0.0)
    n = needed.numel()
    rank = min(n, math.ceil((n + 1) * INTERVAL_LEVEL))
    return needed.kthvalue(rank).values


def validation_score(model: Network, validation: _Validation) -> float:
    """Mean imputation error over the hidden validation cells (lower is better)."""
    was_training = model.training
    model.eval()
    prediction = model.likelihoods.mode(model.impute(validation.x, validation.observed_input))
    error = model.likelihoods.imputation_error(prediction, validation.x)
    model.train(was_training)
    return float((error * validation.hidden).sum() / validation.hidden.sum())


#: Devices with a fused (single-kernel) Adam in every supported torch release.
_FUSED_ADAM_DEVICES = frozenset({"cpu", "cuda"})


def adam_optimiser(parameters: list[nn.Parameter], learning_rate: float) -> torch.optim.Adam:
    """Adam, fused into one kernel per step where the parameters' device has one.

    Same algorithm as the default implementation; measured 11-20% faster per training step at M = 8
    on CPU (docs/performance.md, "Adam implementation").
    """
    fused = all(p.device.type in _FUSED_ADAM_DEVICES for p in parameters)
    return torch.optim.Adam(parameters, lr=learning_rate, fused=fused or None)


class Callback:
    """Hooks into :meth:`Trainer.fit`; each does nothing unless a subclass overrides it.

    The trainer calls its callbacks in the order of its ``callbacks`` list:

    - ``on_train_begin(trainer)`` once, before the first epoch (a resumed run's state is restored
      there, by :class:`Checkpointing`, so that callbacks after it see the restored state);
    - ``on_epoch_end(trainer, record)`` after every epoch, once its record is in ``trainer.history``,
      the selection has seen it and the stopping decision is taken (``trainer.stop_training``);
    - ``on_train_end(trainer)`` once training is over (``trainer.finished``), before the model is
      given the selected epoch's weights.

    None is called after an exception (a diverged loss, an interruption).
    """

    def on_train_begin(self, trainer: Trainer) -> None:
        """Called once before the first epoch."""

    def on_epoch_end(self, trainer: Trainer, record: dict[str, float]) -> None:
        """Called after every epoch with its record."""

    def on_train_end(self, trainer: Trainer) -> None:
        """Called once when training is over."""


class ProgressBar(Callback):
    """A progress bar over the epochs (tqdm) showing the last epoch's loss and selection score."""

    def __init__(self) -> None:
        self.bar: Any = None

    def on_train_begin(self, trainer: Trainer) -> None:
        self.bar = tqdm(
            desc="vsae fit",
            unit="epoch",
            leave=False,
            initial=trainer.epochs_done,
            total=trainer.config.epochs,
        )

    def on_epoch_end(self, trainer: Trainer, record: dict[str, float]) -> None:
        score = record[trainer.score_key]
        self.bar.set_postfix(loss=f"{record['loss']:.3f}", score=f"{score:.4f}", refresh=False)
        self.bar.update()

    def on_train_end(self, trainer: Trainer) -> None:
        self.bar.close()


class Checkpointing(Callback):
    """Saves the training state to ``checkpoint`` every ``checkpoint.every`` epochs and when training
    ends; with ``checkpoint.resume``, first restores the saved state (if there is one).

    The epoch at which training stops early is saved once, by ``on_train_end``, as a finished run: a
    checkpoint of it as unfinished would resume into epochs the uninterrupted run never trains.
    """

    def __init__(self, checkpoint: Checkpoint) -> None:
        self.checkpoint = checkpoint

    def on_train_begin(self, trainer: Trainer) -> None:
        if self.checkpoint.resume:
            self.checkpoint.restore_run(trainer)

    def on_epoch_end(self, trainer: Trainer, record: dict[str, float]) -> None:
        if not trainer.stop_training and trainer.epochs_done % self.checkpoint.every == 0:
            self.checkpoint.save_run(trainer)

    def on_train_end(self, trainer: Trainer) -> None:
        self.checkpoint.save_run(trainer)


@dataclass
class Selection:
    """Model selection and early stopping: which epoch's weights to keep, and when to stop.

    Epochs are numbered from 1. Epochs after ``start`` are eligible: an eligible epoch scoring below
    ``best_score`` (lower is better) becomes the kept one, its weights copied to ``best_state``, and
    resets ``since_best``; any other eligible epoch adds one to ``since_best``. Training stops after
    an epoch past ``min_epochs`` at which ``since_best`` has reached ``patience``.

    Without held-out cells (``held_out`` False) there is nothing honest to select on: every epoch is
    kept in turn (the last one wins, no weights are copied) and training never stops early.
    ``best_score``, ``since_best`` and ``best_state`` are checkpointed (:mod:`vsae.checkpoint`).
    """

    held_out: bool
    start: int = 0
    min_epochs: int = 0
    patience: int = 0
    best_score: float = math.inf
    since_best: int = 0
    best_state: dict[str, torch.Tensor] | None = None

    @classmethod
    def for_run(cls, config: TrainConfig, objective: Objective, held_out: bool) -> Selection:
        """The selection ``config`` asks for. With ``select_after_warmup`` and an objective whose
        ``warmup_is_burn_in``, the epochs of the warm-up are never kept nor counted by the patience;
        training never stops before the warm-up has ended."""
        burn_in = config.select_after_warmup and getattr(objective, "warmup_is_burn_in", False)
        start = config.warmup_epochs if burn_in else 0
        return cls(held_out, start, max(config.warmup_epochs, start), config.patience)

    def update(self, epoch: int, score: float, model: nn.Module) -> bool:
        """Take epoch ``epoch``'s ``score`` into account (``model`` holds its weights); True when it is
        now the kept epoch."""
        if not self.held_out:
            return True
        if epoch <= self.start:
            return False
        if score < self.best_score:
            self.best_score, self.since_best = score, 0
            self.best_state = copy.deepcopy(model.state_dict())
            return True
        self.since_best += 1
        return False

    def should_stop(self, epoch: int) -> bool:
        """Whether training stops after epoch ``epoch`` (patience exhausted)."""
        return self.held_out and epoch > self.min_epochs and self.since_best >= self.patience


class Trainer:
    """Trains one network with one objective, as named steps.

    - :meth:`train_step`: one optimiser step on one batch (loss, backward, gradient clipping, Adam);
    - :meth:`train_epoch`: one pass over an epoch's shuffled mini-batches, returning its record;
    - :meth:`score`: what an epoch is selected on (the validation score, else the training loss);
    - :attr:`selection` (:class:`Selection`): which epoch to keep, and when to stop;
    - :meth:`fit`: the loop over the epochs, which calls the callbacks (:class:`Callback`), such as
      the progress bar (:class:`ProgressBar`) and the checkpoints (:class:`Checkpointing`).

    Parameters
    ----------
    model : nn.Module
        A :class:`Network`, on its device.
    objective : Objective
        The loss; ``objective.warmup_is_burn_in`` (if present) tells the selection that no epoch of
        the warm-up may be kept.
    config : TrainConfig
        Optimisation, selection and stopping settings.
    validation : optional
        Held-out rows with hidden observed cells, scored after every epoch; without them the last
        epoch is kept and training never stops early.
    callbacks : sequence of Callback
        Called in this order.
    optimiser : torch.optim.Optimizer, optional
        Default: :func:`adam_optimiser` with ``config.learning_rate``.

    The run's state (``model``, ``optimiser``, ``history``, ``selection``, ``finished``) is what a
    checkpoint holds (:func:`vsae.checkpoint.training_state`).
    """

    def __init__(
        self,
        model: Any,
        objective: Objective,
        config: TrainConfig,
        validation: _Validation | None = None,
        callbacks: Sequence[Callback] = (),
        optimiser: torch.optim.Optimizer | None = None,
    ) -> None:
        self.model = model
        self.objective = objective
        self.config = config
        self.validation = validation
        self.callbacks = list(callbacks)
        if optimiser is None:
            optimiser = adam_optimiser(list(model.parameters()), config.learning_rate)
        self.optimiser = optimiser
        self.history = History()
        self.selection = Selection.for_run(config, objective, held_out=validation is not None)
        self.finished = False
        #: Set after an epoch when the selection decides to stop (callbacks read it in on_epoch_end).
        self.stop_training = False

    @property
    def epochs_done(self) -> int:
        """Epochs trained so far (a resumed run's included)."""
        return len(self.history.epochs)

    @property
    def score_key(self) -> str:
        """Key of the score in an epoch's record: ``validation_score`` on held-out cells, else
        ``selection_score`` (the training loss)."""
        return "validation_score" if self.validation is not None else "selection_score"

    @functools.cached_property
    def loss_function(self) -> Callable[..., LossTerms]:
        """``(x, observed, past_warmup) -> LossTerms``: the objective on this network, wrapped for
        data-parallel training when there are several processes (:func:`vsae.distributed.loss_function`)."""
        return distributed.loss_function(self.model, self.objective)

    def batch_size(self, rows: int) -> int:
        """Rows per optimiser step for ``rows`` training rows: small tables get smaller batches
        (at least ``MIN_BATCHES_PER_EPOCH`` steps per epoch), large ones larger (:mod:`vsae.budget`)."""
        return budget.batch_size_for_rows(rows, self.config.batch_size, MIN_BATCHES_PER_EPOCH)

    def train_step(self, x: torch.Tensor, observed: torch.Tensor, past_warmup: bool) -> LossTerms:
        """One optimiser step on one batch: the objective's loss terms, backward, gradient clipping
        to ``config.clip_grad_norm``, an optimiser step. Returns the batch's loss terms (on the
        device: nothing here waits for the device)."""
        terms = self.loss_function(x, observed, past_warmup)
        self.optimiser.zero_grad(set_to_none=True)
        terms.total.backward()
        if self.config.clip_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.clip_grad_norm)
        self.optimiser.step()
        return terms

    def train_epoch(self, x: torch.Tensor, observed: torch.Tensor, epoch: int) -> dict[str, float]:
        """Epoch ``epoch`` (numbered from 0): one :meth:`train_step` per shuffled mini-batch of the
        training rows ``x``/``observed``.

        Returns the epoch's record: every loss term's mean over the batches (over every process's
        batches when data-parallel; one device synchronisation per epoch) and ``"epoch"``, numbered
        from 1. Sets ``history.kl_per_modality`` to the epoch's mean KL of each modality. Raises
        :class:`TrainingDivergedError` when the loss is not finite.
        """
        self.model.train()
        past_warmup = epoch >= self.config.warmup_epochs
        sums: dict[str, torch.Tensor] = {}
        kl_blocks = torch.zeros(len(self.model.schema), device=x.device)
        batches = 0
        n = x.shape[0]
        for index in _epoch_batches(n, self.batch_size(n), epoch, self.config.seed, x.device):
            if index.numel() < 2:  # batch norm cannot normalise a single row
                continue
            terms = self.train_step(x[index], observed[index], past_warmup)
            for key, value in terms.detached().items():
                sums[key] = sums.get(key, 0.0) + value
            kl_blocks += terms.kl_per_modality
            batches += 1
        if distributed.is_distributed():
            sums, kl_blocks, batches = distributed.summed_over_processes(sums, kl_blocks, batches)
        record = {key: float(value) / batches for key, value in sums.items()}  # one sync per epoch
        if not math.isfinite(record["loss"]):
            raise TrainingDivergedError(
                f"the training loss became {record['loss']} at epoch {epoch + 1}; "
                f"try a lower learning_rate (it is {self.config.learning_rate:g})"
            )
        record["epoch"] = epoch + 1
        self.history.kl_per_modality = (kl_blocks / batches).tolist()
        return record

    def score(self, record: dict[str, float]) -> float:
        """What the epoch of ``record`` is selected on (lower is better): the validation score of the
        model as it is (:func:`validation_score`, computed by rank 0 and sent to every process, so
        that all select and stop alike), or the epoch's training loss without held-out cells."""
        if self.validation is None:
            return record["loss"]
        return distributed.computed_on_main(functools.partial(validation_score, self.model, self.validation))

    def fit(self, x: torch.Tensor, observed: torch.Tensor) -> History:
        """Train on the rows ``x``/``observed`` from the current state (a resumed run continues) to
        ``config.epochs`` epochs or an early stop; the model ends with the selected epoch's weights,
        rank 0's on every process (batch-norm statistics drift apart between processes)."""
        for callback in self.callbacks:
            callback.on_train_begin(self)
        _ = self.loss_function  # built once a resumed state is in place
        for epoch in range(self.epochs_done, self.config.epochs) if not self.finished else range(0):
            record = self.train_epoch(x, observed, epoch)
            record[self.score_key] = score = self.score(record)
            self.history.epochs.append(record)
            if self.selection.update(epoch + 1, score, self.model):
                self.history.best_epoch = epoch + 1
            self.stop_training = self.selection.should_stop(epoch + 1)
            if self.stop_training:
                self.history.stopped_early = True
            for callback in self.callbacks:
                callback.on_epoch_end(self, record)
            if self.stop_training:
                break
        if self.selection.best_state is None and self.history.epochs:
            # No epoch was eligible (the budget ended within the warm-up): the last one is kept.
            self.history.best_epoch = len(self.history.epochs)
        self.finished = True
        for callback in self.callbacks:
            callback.on_train_end(self)
        if self.selection.best_state is not None:
            self.model.load_state_dict(self.selection.best_state)
        distributed.broadcast_tensors_(self.model.state_dict().values())
        return self.history


def _epoch_batches(
    n: int, batch_size: int, epoch: int, seed: int, device: torch.device
) -> list[torch.Tensor]:
    """Row indices of the epoch's mini-batches: a random permutation on one process; when data-parallel,
    this process's share (:func:`vsae.distributed.sampled_batches`)."""
    if not distributed.is_distributed():
        return list(torch.randperm(n, device=device).split(batch_size))
    return distributed.sampled_batches(n, batch_size, epoch, seed, device)


def _optimise(
    model: Any,
    x: torch.Tensor,
    observed: torch.Tensor,
    validation: _Validation | None,
    objective: Objective,
    config: TrainConfig,
    checkpoint: Checkpoint | None = None,
) -> History:
    """Train ``model`` with a :class:`Trainer`: checkpoints (resumed first) and, at ``verbose`` ≥ 1
    on rank 0, a progress bar."""
    callbacks: list[Callback] = []
    if checkpoint is not None:
        callbacks.append(Checkpointing(checkpoint))  # first: it restores what the bar starts from
    if config.verbose > 0 and distributed.is_main_process():
        callbacks.append(ProgressBar())
    return Trainer(model, objective, config, validation, callbacks).fit(x, observed)
