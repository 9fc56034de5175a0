"""``VSAEImputer``: the scikit-learn face of VSAE for tables with missing cells."""

from __future__ import annotations

import functools
from dataclasses import fields
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import Tags

from vsae import distributed, inference
from vsae.columns import (
    DateColumn,
    dates_as_numbers,
    find_dates,
    generated_layout,
    passed_through,
    restore_columns,
    spread_layout,
)
from vsae.companions import ClassicalCompanions, check_classical_weight, default_classical_weight
from vsae.errors import VSAEError
from vsae.estimator import TableEstimator
from vsae.model.ensemble import VSAEEnsemble, build_model, members_of
from vsae.model.vsae import VSAE, VSAEConfig
from vsae.runtime import as_seed, threaded
from vsae.schema import Schema, infer_table_schema
from vsae.tabular import TableCodec, as_frame, validate_table, write_cells
from vsae.train import (
    History,
    TrainConfig,
    default_importance_samples,
    default_kl_weight,
    resolve_device,
    train_vsae,
)

#: The tensors of a saved imputer holding the encoded rows its classical companions were fitted on.
COMPANION_ROWS_X, COMPANION_ROWS_OBSERVED = "classical_companions.x", "classical_companions.observed"
_MODEL_FIELDS = tuple(f.name for f in fields(VSAEConfig))
_TRAIN_FIELDS = tuple(f.name for f in fields(TrainConfig) if f.name != "seed")

#: The paper's objective and model selection (Eq. 8, Appendix B), reported beside the defaults.
PAPER_SETTINGS: dict[str, Any] = {
    # The network alone: no classical companions.
    "classical_weight": 0.0,
    "kl_weight": 1.0,
    "modality_dropout": 0.0,
    "select_after_warmup": False,
    "refit": False,
    "unobserved_term": True,
    "mask_input": "reconstructed",
    "ensemble_size": 1,
    "feedback_rounds": 0,
    # Imputation decodes the posterior mean.
    "importance_samples": 0,
    # One held-out mask: the selection every paper cell was measured with.
    "validation_masks": 1,
}


class VSAEImputer(TableEstimator, TransformerMixin, BaseEstimator):
    """Impute missing cells of a table with a Variational Selective Autoencoder.

    Every column is a modality. Numeric columns are numerical (Gaussian likelihood on standardised
    values), other dtypes (object, string, category, bool) are categorical (one-hot, cross-entropy).
    The model learns from the table as it is, missing cells included; ``transform`` fills only the
    missing cells and returns every observed cell unchanged.

    Parameters
    ----------
    categorical_features, numerical_features : list, optional
        Column names (or positions, for arrays) whose inferred type is overridden.
    latent_dim, encoder_hidden, mask_decoder_hidden, decoder_hidden, depth : int
        Network sizes (defaults: the paper's tabular architecture).
    aggregator : {"concat", "mean", "max"}
        How latent blocks are combined (paper: concat).
    mask_input : {"reconstructed", "true", "none"}
        What the data decoder is conditioned on besides the latent code.
    batch_norm : bool
        Batch normalisation after the first layer of every network.
    numerical_variance : float
        Observation variance of standardised numerical columns; 0.5 makes the loss the paper's MSE.
    learn_numerical_variance : bool
        Learn the observation variance per column instead.
    binary_loss : {"mse", "bce"}
        Loss of binary columns (used by the multimodal API; tables have none).
    feedback_rounds : int
        Rounds in which the network's imputation is fed back through a refinement encoder
        (:class:`vsae.model.vsae.VSAEConfig`); 0, off, by default (docs/model.md, "Feeding the
        imputation back": not adopted).
    epochs, batch_size, learning_rate, warmup_epochs, unobserved_term, kl_weight, modality_dropout,
    pseudo_targets, validation_fraction, validation_hidden_fraction, validation_masks,
    deal_validation_cells, patience, select_after_warmup, refit, clip_grad_norm, interval_calibration,
    device, verbose
        Training settings, see :class:`vsae.train.TrainConfig`.
    random_state : None, int, numpy RandomState or Generator
        Seeds initialisation, splits, shuffling and sampling, as in scikit-learn: an int is the seed;
        ``None`` or a random state draws one at each fit (kept as ``random_seed_``).
    checkpoint_dir : str, optional
        Folder for training checkpoints (every ``checkpoint_every`` epochs); see ``fit(resume=True)``.
    checkpoint_every : int
        Epochs between checkpoints.
    n_jobs : int, optional
        CPU threads torch uses inside ``fit``, ``transform`` and the other methods (restored after):
        ``None`` one thread, ``-1`` every available core (see :mod:`vsae.runtime`).
    ignore_features : list, optional
        Columns passed through untouched, neither learned from nor imputed. Near-unique text columns
        (IDs, free text) are passed through anyway, with a warning; dates (datetime64 or ISO text) are
        modelled as numbers and written back as dates (see :mod:`vsae.columns`).
    ensemble_size : int or "auto"
        Networks trained on their own seeds and averaged (:class:`vsae.model.ensemble.VSAEEnsemble`);
        ``"auto"``: on numerical tables 3 up to 1,666 rows, 2 up to 2,500 rows, 1 above; on tables
        with a categorical column 3 up to 10,000 rows, 2 up to 15,000, 1 above
        (:func:`vsae.train.default_ensemble_size`).
    importance_samples : int or "auto"
        Latent draws over which ``transform`` importance-weights each network's imputation
        (:func:`vsae.inference.impute`); 0 decodes the posterior mean. ``"auto"``: 50 on numerical
        tables, 0 as soon as a column is categorical (:func:`vsae.train.default_importance_samples`):
        50 draws gave numerical tables 0.992 of the posterior mean's validation error and categorical
        ones 1.008 (docs/model.md, "Importance-weighted imputation").
    classical_weight : float or "auto"
        Share of each numerical cell's imputation taken from two classical companions fitted on the
        same rows, MICE and a 30-tree MissForest, averaged (:mod:`vsae.companions`); 0 is the network
        alone. ``"auto"``: 0.5 on numerical tables of up to 10,000 rows, 0 above and as soon as a
        column is categorical (:func:`vsae.companions.default_classical_weight`): on held-out observed
        cells of the seven numerical benchmark tables it scored 0.968 of the network's error
        (docs/model.md, "Classical companions"). The companions move the point imputation and the centre of
        ``sample_imputations``; ``uncertainty`` stays the network's. A saved imputer with companions
        keeps the encoded training rows in its folder and refits them at ``load`` (no pickle).

    Attributes
    ----------
    schema_ : Schema
        One modality per column.
    codec_ : TableCodec
        Standardisation statistics and category lists.
    model_ : VSAE or VSAEEnsemble
        The trained network, or the ensemble of them.
    history_ : History
        Per-epoch loss terms and validation scores.
    """

    def __init__(
        self,
        categorical_features: list[Any] | None = None,
        numerical_features: list[Any] | None = None,
        latent_dim: int = 20,
        encoder_hidden: int = 64,
        mask_decoder_hidden: int = 64,
        decoder_hidden: int = 128,
        depth: int = 3,
        aggregator: str = "concat",
        mask_input: str = "reconstructed",
        batch_norm: bool = True,
        numerical_variance: float = 0.5,
        learn_numerical_variance: bool = False,
        binary_loss: str = "mse",
        feedback_rounds: int = 0,
        epochs: int = 200,
        batch_size: int = 128,
        learning_rate: float = 1e-3,
        warmup_epochs: int = 20,
        unobserved_term: bool | str = "auto",
        kl_weight: float | str = "auto",
        modality_dropout: float | str = "auto",
        pseudo_targets: str = "sampled",
        validation_fraction: float = 0.2,
        validation_hidden_fraction: float = 0.2,
        validation_masks: int | str = "auto",
        deal_validation_cells: bool = True,
        patience: int = 20,
        select_after_warmup: bool = True,
        refit: bool = False,
        clip_grad_norm: float | None = 10.0,
        interval_calibration: str = "coverage",
        device: str = "auto",
        verbose: int = 0,
        random_state: int = 0,
        checkpoint_dir: str | None = None,
        checkpoint_every: int = 10,
        n_jobs: int | None = None,
        ignore_features: list[Any] | None = None,
        ensemble_size: int | str = "auto",
        importance_samples: int | str = "auto",
        classical_weight: float | str = "auto",
    ) -> None:
        self.categorical_features = categorical_features
        self.numerical_features = numerical_features
        self.latent_dim = latent_dim
        self.encoder_hidden = encoder_hidden
        self.mask_decoder_hidden = mask_decoder_hidden
        self.decoder_hidden = decoder_hidden
        self.depth = depth
        self.aggregator = aggregator
        self.mask_input = mask_input
        self.batch_norm = batch_norm
        self.numerical_variance = numerical_variance
        self.learn_numerical_variance = learn_numerical_variance
        self.binary_loss = binary_loss
        self.feedback_rounds = feedback_rounds
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.warmup_epochs = warmup_epochs
        self.unobserved_term = unobserved_term
        self.kl_weight = kl_weight
        self.modality_dropout = modality_dropout
        self.pseudo_targets = pseudo_targets
        self.validation_fraction = validation_fraction
        self.validation_hidden_fraction = validation_hidden_fraction
        self.validation_masks = validation_masks
        self.deal_validation_cells = deal_validation_cells
        self.patience = patience
        self.select_after_warmup = select_after_warmup
        self.refit = refit
        self.clip_grad_norm = clip_grad_norm
        self.interval_calibration = interval_calibration
        self.device = device
        self.verbose = verbose
        self.random_state = random_state
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.n_jobs = n_jobs
        self.ignore_features = ignore_features
        self.ensemble_size = ensemble_size
        self.importance_samples = importance_samples
        self.classical_weight = classical_weight

    @classmethod
    def paper(cls, **overrides: Any) -> VSAEImputer:
        """An imputer with the paper's objective and selection (:data:`PAPER_SETTINGS`): ELBO with KL
        weight 1, no modality dropout, selection over every epoch, no refit, one network.
        ``overrides`` win."""
        return cls(**{**PAPER_SETTINGS, **overrides})

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing cells are the input this estimator exists for
        return tags

    # -- configuration --------------------------------------------------------------------------
    def _model_config(self) -> VSAEConfig:
        return VSAEConfig(**{name: getattr(self, name) for name in _MODEL_FIELDS})

    def _train_config(self) -> TrainConfig:
        return TrainConfig(
            seed=self._sampling_seed(None), **{name: getattr(self, name) for name in _TRAIN_FIELDS}
        )

    def _trained_kl_weight(self) -> float:
        """The KL weight the network was trained with (its default for the schema when ``"auto"``)."""
        return float(default_kl_weight(self.schema_) if self.kl_weight == "auto" else self.kl_weight)

    def _importance_samples(self) -> int:
        """The latent draws of ``transform`` (the schema's default when ``"auto"``)."""
        samples = inference.check_importance_samples(self.importance_samples)
        return default_importance_samples(self.schema_) if samples == "auto" else int(samples)

    def _sampling_seed(self, random_state: Any) -> int:
        """The integer seed of a method's ``random_state``; ``None``: the seed of the fit."""
        if random_state is not None:
            return as_seed(random_state)
        if not hasattr(self, "random_seed_"):
            return as_seed(self.random_state)
        return self.random_seed_

    # -- columns passed through and dates (vsae.columns) -------------------------------------------
    def _model_frame(self, frame: pd.DataFrame, fitting: bool = False) -> pd.DataFrame:
        """The columns the model learns, dates as numbers; at fit, decides which those are."""
        if frame.columns.has_duplicates:
            validate_table(frame)  # names the repeated columns
        if fitting:
            declared = [*(self.categorical_features or ()), *(self.numerical_features or ())]
            skip = [*(self.categorical_features or ()), *(self.ignore_features or ())]
            dates = find_dates(frame, skip=[name for name in skip if name in frame.columns])
            self.passed_through_ = passed_through(frame, self.ignore_features, [*declared, *dates])
            self.columns_ = list(frame.columns)
            self.dates_ = {name: date for name, date in dates.items() if name not in self.passed_through_}
        passed = getattr(self, "passed_through_", [])
        absent = [name for name in passed if name not in frame.columns]
        if absent:
            raise VSAEError(f"the table's columns differ from those seen at fit: missing {absent}")
        modelled = frame.drop(columns=passed) if passed else frame
        return dates_as_numbers(modelled, getattr(self, "dates_", {}))

    def _restore(self, filled: pd.DataFrame, X: Any) -> pd.DataFrame:
        """An imputed model frame back in the input's layout (passed-through columns, dates)."""
        if not getattr(self, "passed_through_", []) and not getattr(self, "dates_", {}):
            return filled
        original, _ = as_frame(X)
        return restore_columns(filled, original, list(original.columns), self.dates_)

    def _all_columns(self) -> list[Any]:
        return list(getattr(self, "columns_", None) or self.schema_.names)

    # -- fitting --------------------------------------------------------------------------------
    @threaded
    def fit(self, X: Any, y: Any = None, resume: bool = False) -> VSAEImputer:
        """Learn the table's joint distribution of values and missingness from its observed cells.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            The table; missing cells are NaN/None/NA. Unobserved cells are never read.
        y : ignored
        resume : bool
            Continue an interrupted fit from the checkpoint in ``checkpoint_dir``; the result is the
            model an uninterrupted fit would have given.

        Notes
        -----
        In a script started by ``torchrun`` (``WORLD_SIZE`` > 1), or inside a ``torch.distributed``
        process group, every process calls ``fit`` on the same table and training is data-parallel
        (:mod:`vsae.distributed`): the schema and standardisation statistics are computed by rank 0
        and sent to all, so that every process encodes alike, and every process ends with the same
        model. :meth:`save` writes on rank 0 only.
        """
        original, _ = as_frame(X)
        # Both fail before training if invalid.
        inference.check_importance_samples(self.importance_samples)
        check_classical_weight(self.classical_weight)
        self.random_seed_ = as_seed(self.random_state)
        frame = self._fit_frame(original, self.numerical_features)
        config = self._train_config()
        with distributed.process_group(resolve_device(config.device)):
            schema, codec = distributed.computed_on_main(functools.partial(self._preprocessing, frame))
            x, observed = codec.encode(frame)
            model, history = train_vsae(schema, x, observed, self._model_config(), config, resume)
        self._set_fitted(frame, schema, codec, model, history)
        self._fit_companions(x, observed)
        if self.passed_through_:
            self.n_features_in_ = original.shape[1]
            if all(isinstance(c, str) for c in original.columns):
                self.feature_names_in_ = np.asarray(original.columns, dtype=object)
        return self

    def _preprocessing(self, frame: pd.DataFrame) -> tuple[Schema, TableCodec]:
        """The schema and the standardisation statistics learned from ``frame``."""
        schema = infer_table_schema(frame, self.categorical_features, self.numerical_features)
        return schema, TableCodec.fit(frame, schema)

    def _set_fitted(
        self, frame: pd.DataFrame, schema: Schema, codec: TableCodec, model: VSAE, history: History
    ) -> None:
        self.schema_, self.codec_, self.model_, self.history_ = schema, codec, model, history
        self.n_features_in_ = frame.shape[1]
        self.dtypes_ = [str(dtype) for dtype in frame.dtypes]
        if all(isinstance(c, str) for c in frame.columns):
            self.feature_names_in_ = np.asarray(frame.columns, dtype=object)

    def _fit_companions(self, x: np.ndarray, observed: np.ndarray) -> None:
        """Fit the classical companions on the encoded training rows when their weight is above 0."""
        weight = check_classical_weight(self.classical_weight)
        if weight == "auto":
            weight = default_classical_weight(self.schema_, x.shape[0])
        self.classical_weight_ = weight
        self.companions_ = None
        if weight > 0:
            self.companions_ = ClassicalCompanions(self.schema_, self._sampling_seed(None)).fit(x, observed)
            self.companion_rows_ = (x, observed)

    def _network_values(self, x: np.ndarray, observed: np.ndarray) -> np.ndarray:
        """The network's encoded point imputation, seeded by the fit's seed."""
        return inference.impute(
            self.model_,
            x,
            observed,
            self._importance_samples(),
            self._trained_kl_weight(),
            self._sampling_seed(None),
        )

    def _point_values(self, x: np.ndarray, observed: np.ndarray) -> np.ndarray:
        """The encoded point imputation: the network's, blended with the companions' when fitted."""
        values = self._network_values(x, observed)
        if self.companions_ is None:
            return values
        return self.companions_.blend(values, x, observed, self.classical_weight_)

    # -- imputation -----------------------------------------------------------------------------
    @threaded
    def transform(self, X: Any) -> Any:
        """Fill every missing cell; observed cells are returned unchanged.

        Numerical cells get the decoder mean and categorical cells the most likely class, at the
        posterior mean of the selective proposal or, with ``importance_samples``, importance-weighted
        over that many latent draws (seeded by the fit's seed, so the result is the same at every
        call), numerical cells then averaged with the classical companions' (``classical_weight``).
        A row with every cell missing is imputed through the multimodal encoder from the mask alone.

        Returns a DataFrame (same index, column order, dtypes and categories) for a DataFrame, an
        ndarray for an array.
        """
        frame, is_frame, x, observed = self._encode(X)
        values = self._point_values(x, observed)
        del x  # the encoded copy of the table: freed before the output is assembled
        return self._like_input(
            self._restore(self.codec_.fill_missing(frame, observed, values), X), is_frame, X
        )

    @threaded
    def sample_imputations(self, X: Any, n: int = 10, random_state: int | None = None) -> Any:
        """``n`` stochastic imputations (multiple imputation).

        Each draw samples the latent code from the selective proposal, every categorical cell from its
        predicted distribution and every numerical cell adds the calibrated imputation noise. With
        classical companions every draw of a numerical cell is moved by the companions' share of
        ``transform``'s imputation (the blended point less the network's), so that the draws centre on
        what ``transform`` returns. Returns a list of ``n`` DataFrames for a DataFrame, an array
        ``[n, n_samples, n_features]`` for an array.
        """
        if n < 1:
            raise VSAEError(f"n must be at least 1, got {n}")
        frame, is_frame, x, observed = self._encode(X)
        seed = self._sampling_seed(random_state)
        draws = inference.sample_imputations(self.model_, x, observed, n, seed)
        if self.companions_ is not None:
            network = self._network_values(x, observed)  # transform's: the draws centre on its imputation
            draws = draws + (self.companions_.blend(network, x, observed, self.classical_weight_) - network)
        filled = [self._restore(self.codec_.fill_missing(frame, observed, draw), X) for draw in draws]
        if is_frame:
            return filled
        return np.stack([self._like_input(f, False, X) for f in filled])

    @threaded
    def uncertainty(self, X: Any, n: int = 50, random_state: int | None = None) -> Any:
        """Per-cell uncertainty of the imputation; 0 for observed cells.

        Numerical cells: standard deviation, on the column's original scale, of the predictive
        distribution: the spread of the decoder mean over ``n`` latent draws combined with the
        imputation noise calibrated on held-out observed cells at fit, so that ±1.96 × uncertainty is
        meant as a 95% interval. Categorical cells: ``1 − max_k p(k)`` of the (temperature-calibrated)
        class distribution averaged over the draws. Returns a float DataFrame (or array) shaped like
        ``X``.
        """
        frame, is_frame, x, observed = self._encode(X)
        seed = self._sampling_seed(random_state)
        mean, std = inference.predictive_moments(self.model_, x, observed, n, seed)
        spread = np.zeros(frame.shape)
        for index, modality in enumerate(self.schema_):
            columns = self.schema_.columns_of(index)
            if modality.kind == "categorical":
                spread[:, index] = 1.0 - mean[:, columns].max(axis=1)
            else:
                spread[:, index] = std[:, columns][:, 0] * self.codec_.stds[modality.name]
        spread[observed] = 0.0
        result = pd.DataFrame(spread, index=frame.index, columns=frame.columns)
        if getattr(self, "passed_through_", []):
            original, _ = as_frame(X)
            result = spread_layout(result, original, list(original.columns))
            spread = result.to_numpy()
        return result if is_frame else spread

    @threaded
    def class_probabilities(
        self, X: Any, n: int = 50, random_state: int | None = None
    ) -> dict[Any, pd.DataFrame]:
        """Predictive class probabilities of every categorical column, one row per row of ``X``.

        The class distribution averaged over ``n`` latent draws of the selective proposal, with the
        temperature calibrated on held-out observed cells at fit (the probabilities :meth:`uncertainty`
        and :meth:`sample_imputations` use). Meaningful for missing cells; an observed cell's row is
        the model's reconstruction of it. Returns ``{column: DataFrame}`` whose columns are the
        categories.
        """
        frame, _, x, observed = self._encode(X)
        mean, _ = inference.predictive_moments(self.model_, x, observed, n, self._sampling_seed(random_state))
        return {
            modality.name: pd.DataFrame(
                mean[:, self.schema_.columns_of(index)], index=frame.index, columns=list(modality.categories)
            )
            for index, modality in enumerate(self.schema_)
            if modality.kind == "categorical"
        }

    @threaded
    def generate(self, n: int, random_state: int | None = None) -> tuple[Any, Any]:
        """``n`` new rows drawn from the prior, with their generated missingness pattern.

        Returns ``(data, mask)``: ``data`` holds a value in every cell, ``mask`` is True where the
        generated pattern says the cell is observed. DataFrames when fitted on a DataFrame.
        """
        self._check_fitted()
        if n < 1:
            raise VSAEError(f"n must be at least 1, got {n}")
        seed = self._sampling_seed(random_state)
        values, mask = inference.generate(self.model_, n, seed)
        decoded = self.codec_.decode(values)
        columns = [self._generated_column(i, decoded[m.name]) for i, m in enumerate(self.schema_)]
        data = pd.concat(columns, axis=1)
        data.columns = self.schema_.names
        if getattr(self, "passed_through_", []) or getattr(self, "dates_", {}):
            names = pd.DataFrame(np.asarray(mask), columns=self.schema_.names)
            data, pattern = generated_layout(data, names, self._all_columns(), self.dates_)
            if hasattr(self, "feature_names_in_"):
                return data, pattern
            return data.to_numpy(), pattern.to_numpy()
        if hasattr(self, "feature_names_in_"):
            return data, pd.DataFrame(mask, columns=self.schema_.names)
        return data.to_numpy(), mask

    def _generated_column(self, index: int, values: np.ndarray) -> pd.Series:
        """A generated column in the dtype the column had at fit, where it can hold the values."""
        modality, dtype = self.schema_.modalities[index], self.dtypes_[index]
        if modality.kind == "categorical":
            column = pd.Series(pd.Categorical(values, categories=list(modality.categories)))
            if dtype == "category":
                return column
            try:  # str, boolean, int64…: every generated cell holds a label seen in that dtype at fit
                return column.astype(dtype)
            except (TypeError, ValueError):
                return column.astype(object)
        empty = pd.Series(np.full(len(values), np.nan), dtype="float64")
        try:
            empty = empty.astype(dtype)
        except (TypeError, ValueError):  # e.g. numpy int64, which cannot hold NaN while being filled
            pass
        return write_cells(empty, np.ones(len(values), dtype=bool), values)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        self._check_fitted()
        return np.asarray([str(name) for name in self._all_columns()], dtype=object)

    # -- persistence (NetworkEstimator.save / load) -------------------------------------------------
    def _saved(self) -> tuple[dict[str, Any], dict[str, Any]]:
        config: dict[str, Any] = {
            "params": {**self.get_params(), "random_state": self._sampling_seed(None)},
            "codec": self.codec_.to_dict(),
            "dtypes": self.dtypes_,
            "columns_were_named": hasattr(self, "feature_names_in_"),
            "ensemble_members": len(members_of(self.model_)),
        }
        if getattr(self, "passed_through_", []) or getattr(self, "dates_", {}):
            config["columns"] = {
                "all": list(self._all_columns()),
                "passed_through": list(self.passed_through_),
                "dates": {str(name): date.to_dict() for name, date in self.dates_.items()},
            }
        if self.companions_ is None:
            return config, {}
        x, observed = self.companion_rows_
        return config, {
            COMPANION_ROWS_X: torch.as_tensor(x),
            COMPANION_ROWS_OBSERVED: torch.as_tensor(observed),
        }

    @classmethod
    def _unsaved(
        cls, config: dict[str, Any], tensors: dict[str, Any], schema: Schema, device: str
    ) -> VSAEImputer:
        imputer = cls(**config["params"])
        imputer.device = device
        imputer.codec_ = TableCodec.from_dict(schema, config["codec"])
        imputer.dtypes_ = list(config["dtypes"])
        if len(imputer.dtypes_) != len(schema):
            raise VSAEError(f"{len(imputer.dtypes_)} column dtypes for {len(schema)} columns")
        imputer.n_features_in_ = len(schema)
        if config.get("columns_were_named"):
            imputer.feature_names_in_ = np.asarray(schema.names, dtype=object)
        imputer.random_seed_ = imputer._sampling_seed(None)
        imputer.schema_ = schema
        if COMPANION_ROWS_X in tensors:  # refitted on the saved rows: the same companions, no pickle
            rows = tensors.pop(COMPANION_ROWS_X).numpy(), tensors.pop(COMPANION_ROWS_OBSERVED).numpy()
            imputer._fit_companions(*rows)
        else:
            imputer.classical_weight_, imputer.companions_ = 0.0, None
        if "columns" in config:
            layout = config["columns"]
            imputer.columns_, imputer.passed_through_ = list(layout["all"]), list(layout["passed_through"])
            imputer.dates_ = {name: DateColumn.from_dict(layout["dates"][name]) for name in layout["dates"]}
            imputer.n_features_in_ = len(imputer.columns_)
            if config.get("columns_were_named"):
                imputer.feature_names_in_ = np.asarray(imputer.columns_, dtype=object)
        return imputer

    def _empty_network(self, config: dict[str, Any]) -> VSAE | VSAEEnsemble:
        return build_model(self.schema_, self._model_config(), int(config.get("ensemble_members", 1)))
