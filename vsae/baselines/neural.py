"""Neural baselines of the paper (§4, App. B.3) behind one interface with VSAE.

Seven methods, by benchmark name (:data:`METHODS`):

========== ============================================================ ==========================
name       model                                                        trained on
========== ============================================================ ==========================
ae         deterministic autoencoder on the filled input                partially observed data
vae        VAE on the filled input                                      partially observed data
cvae_mask  CVAE, encoder and decoder conditioned on the mask            partially observed data
mvae       MVAE, product of unimodal Gaussian experts                   partially observed data
miwae      MIWAE, K = 20 importance samples, observed-only likelihood   partially observed data
cvae_data  CVAE conditioned on the observed data                        FULLY OBSERVED data
vaeac      VAE with arbitrary conditioning, no skip connections         FULLY OBSERVED data
========== ============================================================ ==========================

The networks and objectives are in :mod:`vsae.baselines.networks` (their docstrings say how each
paper baseline is read). They work on encoded data of any :class:`~vsae.schema.Schema`, tables and
multimodal image data alike (:func:`train_baseline`), train with VSAE's own trainer
(:func:`vsae.train.train_network`: seeded, model selection on hidden observed validation cells,
early stopping) and impute with :func:`vsae.inference.impute`.

Same backbone, at least VSAE's size: every network is built from the MLP shapes of a
:class:`~vsae.model.vsae.VSAEConfig` (hidden widths, depth, batch norm, ``latent_dim × M`` latent
dimensions in all) and, unless ``match_parameters=False``, its hidden layers are widened to the
narrowest width that has at least as many parameters as that VSAE on the same schema.

Benchmark protocol (docs/protocol.md) for these methods:

- The MCAR-trained methods fit on the masked training split and impute the masked test split,
  exactly like VSAE; they never read an unobserved cell.
- The references (:data:`REFERENCE_METHODS`: ``cvae_data``, ``vaeac``) fit on the COMPLETE training
  split (only cells missing in the raw file stay missing), learning with random conditioning masks,
  and impute the same masked test split. They read training ground truth by design: they are upper
  references, as in the paper's tables, never competitors, and a report must keep them apart.

``NeuralBaselineImputer`` is the table face: ``fit(DataFrame)`` / ``transform(DataFrame)`` like
:class:`vsae.imputer.VSAEImputer` and the classical peers; :data:`NEURAL_IMPUTERS` maps each name to
a factory ``(random_state=0, **overrides)``::

    imputer = NEURAL_IMPUTERS["miwae"](random_state=0).fit(masked_train)
    completed = imputer.transform(masked_test)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, replace
from functools import partial
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin

from vsae import inference
from vsae.baselines.networks import (
    AE,
    MIWAE,
    MVAE,
    VAE,
    VAEAC,
    BaselineConfig,
    ConditionalReference,
    CVAEData,
    CVAEMask,
    ImportanceWeightedBound,
    LatentBaseline,
    ObservedELBO,
    RandomMaskELBO,
    count_parameters,
    widen_to_match,
)
from vsae.errors import VSAEError
from vsae.estimator import TableEstimator
from vsae.imputer import VSAEImputer
from vsae.model.vsae import VSAE, VSAEConfig
from vsae.schema import Schema, infer_table_schema
from vsae.tabular import TableCodec
from vsae.train import KL_WEIGHT, History, Objective, TrainConfig, train_network

__all__ = [
    "METHODS",
    "NEURAL_IMPUTERS",
    "REFERENCE_METHODS",
    "NeuralBaselineImputer",
    "baseline_config",
    "make_neural_imputer",
    "make_objective",
    "train_baseline",
    "vsae_parameter_count",
]

#: A baseline network: a :class:`vsae.train.Network` built as ``cls(schema, BaselineConfig)``.
BaselineNetwork = LatentBaseline | ConditionalReference

#: Benchmark name -> network class.
METHODS: dict[str, type[BaselineNetwork]] = {
    "ae": AE,
    "vae": VAE,
    "cvae_mask": CVAEMask,
    "mvae": MVAE,
    "miwae": MIWAE,
    "cvae_data": CVAEData,
    "vaeac": VAEAC,
}

#: Methods trained on fully observed data: upper references that read training ground truth by design.
REFERENCE_METHODS: frozenset[str] = frozenset(
    name for name, network in METHODS.items() if issubclass(network, ConditionalReference)
)

#: Settings that default to :class:`~vsae.imputer.VSAEImputer`'s own default when left at ``None``,
#: so that every neural method of a benchmark trains with VSAE's likelihood scale and optimiser.
_VSAE_DEFAULTS = ("numerical_variance", "learning_rate")
#: Parameters that define the VSAE a baseline is compared with (its backbone and likelihood).
_VSAE_SIZES = (
    "latent_dim",
    "encoder_hidden",
    "mask_decoder_hidden",
    "decoder_hidden",
    "depth",
    "batch_norm",
    "numerical_variance",
    "learn_numerical_variance",
)


def _network_class(method: str) -> type[BaselineNetwork]:
    try:
        return METHODS[method]
    except KeyError:
        raise VSAEError(f"unknown neural baseline {method!r}; choose one of: {', '.join(METHODS)}") from None


def make_objective(
    method: str, kl_weight: float = 1.0, n_samples: int = 20, train_missing_rate: float = 0.5
) -> Objective:
    """The training objective of ``method``.

    ``n_samples`` is MIWAE's number of importance samples; ``train_missing_rate`` the share of
    available modalities a reference model's random conditioning mask hides.
    """
    network = _network_class(method)
    if issubclass(network, MIWAE):
        return ImportanceWeightedBound(kl_weight, n_samples)
    if issubclass(network, ConditionalReference):
        return RandomMaskELBO(kl_weight, train_missing_rate)
    return ObservedELBO(kl_weight)


def baseline_config(
    method: str,
    schema: Schema,
    vsae_config: VSAEConfig | None = None,
    match_parameters: bool = True,
    **overrides: Any,
) -> BaselineConfig:
    """Sizes of ``method``'s network: ``vsae_config``'s, widened when ``match_parameters`` until the
    network has at least as many parameters as ``VSAE(schema, vsae_config)``.

    ``overrides`` set other :class:`BaselineConfig` fields (e.g. ``imputation_samples``).
    """
    network = _network_class(method)
    vsae_config = vsae_config or VSAEConfig()
    config = BaselineConfig.like(vsae_config, **overrides)
    if not match_parameters:
        return config
    target = vsae_parameter_count(schema, vsae_config)
    return widen_to_match(lambda c: network(schema, c), config, target)


def vsae_parameter_count(schema: Schema, vsae_config: VSAEConfig | None = None) -> int:
    """Parameters of ``VSAE(schema, vsae_config)``, counted without allocating it."""
    with torch.device("meta"):
        return count_parameters(VSAE(schema, vsae_config))


def train_baseline(
    method: str,
    schema: Schema,
    x: np.ndarray,
    observed: np.ndarray,
    vsae_config: VSAEConfig | None = None,
    config: TrainConfig | None = None,
    *,
    match_parameters: bool = True,
    n_samples: int = 20,
    imputation_samples: int = 100,
    train_missing_rate: float = 0.5,
) -> tuple[BaselineNetwork, History]:
    """Build ``method``'s network for ``schema`` and train it like :func:`vsae.train.train_vsae`.

    Parameters
    ----------
    method : str
        A key of :data:`METHODS`.
    schema, x, observed
        Encoded data and its mask (True = observed). For :data:`REFERENCE_METHODS`, ``x`` is the
        complete data and ``observed`` only marks what the data file itself lacks.
    vsae_config : VSAEConfig, optional
        The VSAE whose backbone sizes and likelihood settings the baseline shares.
    config : TrainConfig, optional
        Optimisation settings (its ``kl_weight`` weighs the baseline's KL term; ``"auto"`` is
        ``vsae.train.KL_WEIGHT`` on every table: the baselines' weight was never ablated).
    match_parameters : bool
        Widen the hidden layers to at least VSAE's parameter count.
    n_samples, imputation_samples : int
        MIWAE's importance samples in training and when imputing.
    train_missing_rate : float
        References: share of available modalities hidden by each random conditioning mask.
    """
    config = config or TrainConfig()
    if config.validation_masks == "auto":
        # The baselines' cells were measured with one hidden-cell mask; several were only measured
        # for VSAE (docs/model.md, "Validation on every held-out cell").
        config = replace(config, validation_masks=1)
    network = _network_class(method)
    kl_weight = KL_WEIGHT if config.kl_weight == "auto" else float(config.kl_weight)
    objective = make_objective(method, kl_weight, n_samples, train_missing_rate)
    sizes = baseline_config(
        method, schema, vsae_config, match_parameters, imputation_samples=imputation_samples
    )
    return train_network(lambda: network(schema, sizes), objective, schema, x, observed, config)


class NeuralBaselineImputer(TableEstimator, TransformerMixin, BaseEstimator):
    """Impute the missing cells of a table with one of the paper's neural baselines.

    Columns are typed, encoded and decoded exactly as :class:`~vsae.imputer.VSAEImputer` does
    (:class:`~vsae.tabular.TableCodec`); ``transform`` fills only the missing cells and returns every
    observed cell unchanged.

    Parameters
    ----------
    method : str
        A key of :data:`METHODS`. For :data:`REFERENCE_METHODS` pass the COMPLETE training table to
        ``fit``: they are trained on fully observed data (see the module documentation).
    categorical_features, numerical_features : list, optional
        Column names whose inferred type is overridden.
    latent_dim, encoder_hidden, mask_decoder_hidden, decoder_hidden, depth, batch_norm
        The sizes of the VSAE this baseline is compared with; the baseline uses its backbone and, with
        ``match_parameters``, at least its parameter count.
    numerical_variance : float, optional
        Observation variance of standardised numerical columns; None: VSAEImputer's default.
    learn_numerical_variance : bool
        Learn the observation variance per column instead.
    match_parameters : bool
        Widen the hidden layers until the network has at least VSAE's parameter count.
    n_samples : int
        MIWAE: importance samples of the training bound (paper: 20).
    imputation_samples : int
        MIWAE: importance samples per row when imputing.
    train_missing_rate : float
        References: share of modalities hidden by each random conditioning mask in training.
    epochs, batch_size, warmup_epochs, validation_fraction, validation_hidden_fraction, patience,
    clip_grad_norm, device, verbose
        Training settings, see :class:`vsae.train.TrainConfig` (the warm-up only delays early stopping).
    learning_rate : float, optional
        None: VSAEImputer's default.
    kl_weight : float or "auto"
        ``"auto"``: VSAE's KL weight of numerical tables (``vsae.train.KL_WEIGHT``, 0.1) on every
        table. The baselines' own KL weight was never ablated, so they do not follow VSAE's lower
        weight on categorical tables (docs/model.md, "Categorical tables").
    random_state : int
        Seeds initialisation, splits, shuffling and noise.

    Attributes
    ----------
    schema_, codec_ : Schema, TableCodec
        Column layout and scaling.
    model_ : BaselineNetwork
        The trained network.
    history_ : History
        Per-epoch loss terms and validation scores.
    network_config_ : BaselineConfig
        Sizes of the network after widening.
    n_parameters_, vsae_parameters_ : int
        Parameter counts of the network and of the VSAE it is matched to.
    """

    def __init__(
        self,
        method: str,
        categorical_features: list[Any] | None = None,
        numerical_features: list[Any] | None = None,
        latent_dim: int = 20,
        encoder_hidden: int = 64,
        mask_decoder_hidden: int = 64,
        decoder_hidden: int = 128,
        depth: int = 3,
        batch_norm: bool = True,
        numerical_variance: float | None = None,
        learn_numerical_variance: bool = False,
        match_parameters: bool = True,
        n_samples: int = 20,
        imputation_samples: int = 100,
        train_missing_rate: float = 0.5,
        epochs: int = 200,
        batch_size: int = 128,
        learning_rate: float | None = None,
        warmup_epochs: int = 20,
        kl_weight: float | str = "auto",
        validation_fraction: float = 0.2,
        validation_hidden_fraction: float = 0.2,
        patience: int = 20,
        clip_grad_norm: float | None = 10.0,
        device: str = "auto",
        verbose: int = 0,
        random_state: int = 0,
    ) -> None:
        self.method = method
        self.categorical_features = categorical_features
        self.numerical_features = numerical_features
        self.latent_dim = latent_dim
        self.encoder_hidden = encoder_hidden
        self.mask_decoder_hidden = mask_decoder_hidden
        self.decoder_hidden = decoder_hidden
        self.depth = depth
        self.batch_norm = batch_norm
        self.numerical_variance = numerical_variance
        self.learn_numerical_variance = learn_numerical_variance
        self.match_parameters = match_parameters
        self.n_samples = n_samples
        self.imputation_samples = imputation_samples
        self.train_missing_rate = train_missing_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.warmup_epochs = warmup_epochs
        self.kl_weight = kl_weight
        self.validation_fraction = validation_fraction
        self.validation_hidden_fraction = validation_hidden_fraction
        self.patience = patience
        self.clip_grad_norm = clip_grad_norm
        self.device = device
        self.verbose = verbose
        self.random_state = random_state

    def _resolved(self) -> dict[str, Any]:
        """Parameters with the ``None`` settings of :data:`_VSAE_DEFAULTS` replaced by VSAE's defaults."""
        params = self.get_params()
        vsae_defaults = VSAEImputer().get_params()
        for name in _VSAE_DEFAULTS:
            if params[name] is None:
                params[name] = vsae_defaults[name]
        return params

    def fit(self, X: Any, y: Any = None) -> NeuralBaselineImputer:
        """Train the network on ``X`` (missing cells NaN; complete for :data:`REFERENCE_METHODS`)."""
        _network_class(self.method)
        frame = self._fit_frame(X, self.numerical_features)
        params = self._resolved()
        vsae_config = VSAEConfig(**{name: params[name] for name in _VSAE_SIZES})
        schema = infer_table_schema(frame, self.categorical_features, self.numerical_features)
        codec = TableCodec.fit(frame, schema)
        x, observed = codec.encode(frame)
        train_config = TrainConfig(
            epochs=self.epochs,
            batch_size=self.batch_size,
            learning_rate=params["learning_rate"],
            warmup_epochs=self.warmup_epochs,
            kl_weight=params["kl_weight"],
            validation_fraction=self.validation_fraction,
            validation_hidden_fraction=self.validation_hidden_fraction,
            patience=self.patience,
            clip_grad_norm=self.clip_grad_norm,
            seed=self.random_state,
            device=self.device,
            verbose=self.verbose,
        )
        model, history = train_baseline(
            self.method,
            schema,
            x,
            observed,
            vsae_config,
            train_config,
            match_parameters=self.match_parameters,
            n_samples=self.n_samples,
            imputation_samples=self.imputation_samples,
            train_missing_rate=self.train_missing_rate,
        )
        self.schema_, self.codec_, self.model_, self.history_ = schema, codec, model, history
        self.network_config_ = model.config
        self.vsae_parameters_ = vsae_parameter_count(schema, vsae_config)
        self.n_parameters_ = count_parameters(model)
        self.n_features_in_ = frame.shape[1]
        return self

    def transform(self, X: Any) -> Any:
        """Fill every missing cell (deterministic point imputation); observed cells are unchanged.
        A DataFrame for a DataFrame, an array for an array."""
        frame, is_frame, x, observed = self._encode(X)
        values = inference.impute(self.model_, x, observed)
        return self._like_input(self.codec_.fill_missing(frame, observed, values), is_frame, X)

    # -- persistence (NetworkEstimator.save / load) -------------------------------------------------
    def _saved(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        config = {
            "params": self.get_params(),
            "codec": self.codec_.to_dict(),
            "network_config": asdict(self.network_config_),
            "vsae_parameters": self.vsae_parameters_,
        }
        return config, {}

    @classmethod
    def _unsaved(
        cls, config: dict[str, Any], tensors: dict[str, torch.Tensor], schema: Schema, device: str
    ) -> NeuralBaselineImputer:
        imputer = cls(**config["params"])
        imputer.device = device
        imputer.codec_ = TableCodec.from_dict(schema, config["codec"])
        imputer.network_config_ = BaselineConfig(**config["network_config"])
        imputer.vsae_parameters_ = int(config["vsae_parameters"])
        imputer.n_features_in_ = len(schema)
        return imputer

    def _empty_network(self, config: dict[str, Any]) -> BaselineNetwork:
        network = _network_class(self.method)(self.schema_, self.network_config_)
        self.n_parameters_ = count_parameters(network)
        return network


def make_neural_imputer(name: str, random_state: int = 0, **overrides: Any) -> NeuralBaselineImputer:
    """Build the neural baseline registered as ``name`` (one of :data:`NEURAL_IMPUTERS`)."""
    _network_class(name)
    return NeuralBaselineImputer(name, random_state=random_state, **overrides)


NEURAL_IMPUTERS: dict[str, Callable[..., NeuralBaselineImputer]] = {
    name: partial(make_neural_imputer, name) for name in METHODS
}
"""Benchmark name -> factory ``(random_state: int = 0, **overrides) -> unfitted imputer``."""
