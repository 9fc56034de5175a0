"""What every estimator shares: the fitted check, saving and loading, and the table checks.

:class:`NetworkEstimator` is the base of :class:`~vsae.imputer.VSAEImputer`,
:class:`~vsae.multimodal.MultimodalVSAE` and :class:`~vsae.baselines.NeuralBaselineImputer`. It holds a
trained network (``model_``), its schema (``schema_``) and training history (``history_``), and writes
once what they all do with them:

- ``_check_fitted`` raises :class:`NotFittedError`, a :class:`~vsae.errors.VSAEError` (one readable
  line at the command line) that is also scikit-learn's ``NotFittedError``;
- ``save`` / ``load``: a model folder (``config.json`` plus ``model.safetensors``, no pickle,
  :mod:`vsae.persistence`). A subclass says what it adds to the folder (``_saved``), how to rebuild
  itself from it (``_unsaved``) and the untrained network the weights go into (``_empty_network``);
  every inconsistency of a folder is one :class:`VSAEError` naming the folder.

:class:`TableEstimator` adds what the table estimators share: a table is read as a DataFrame
(arrays too), checked with :func:`vsae.tabular.validate_table` and encoded with the fitted
:class:`~vsae.tabular.TableCodec`; results go back as the kind of input given.

Parameter validation is the config dataclasses' (:class:`~vsae.model.vsae.VSAEConfig`,
:class:`~vsae.train.TrainConfig`, :class:`~vsae.baselines.networks.BaselineConfig`): an estimator
builds them from its parameters at fit, and their checks raise :class:`VSAEError` naming the setting.
"""

from __future__ import annotations

import os
from typing import Any, Self

import numpy as np
import pandas as pd
import torch
from sklearn.exceptions import NotFittedError as SklearnNotFittedError

from vsae import distributed
from vsae.errors import VSAEError
from vsae.persistence import load_folder, restore_state, save_folder
from vsae.schema import Schema
from vsae.tabular import TableCodec, as_frame, validate_table
from vsae.train import History, resolve_device


class NotFittedError(VSAEError, SklearnNotFittedError):
    """A method that needs a fitted estimator was called before ``fit``."""


class NetworkEstimator:
    """An estimator holding a trained network: ``schema_``, ``model_`` and ``history_`` once fitted."""

    schema_: Schema
    model_: torch.nn.Module
    history_: History

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit first")

    # -- what a subclass says about its model folder ----------------------------------------------
    def _saved(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        """What this estimator adds to ``config.json`` and to the weights besides the network's."""
        raise NotImplementedError

    @classmethod
    def _unsaved(
        cls, config: dict[str, Any], tensors: dict[str, torch.Tensor], schema: Schema, device: str
    ) -> Self:
        """A new estimator with every fitted attribute but the network, from what :meth:`_saved`
        wrote; pops its own entries from ``tensors``. Raises KeyError, TypeError or ValueError (or
        VSAEError) for an incomplete or inconsistent folder."""
        raise NotImplementedError

    def _empty_network(self, config: dict[str, Any]) -> torch.nn.Module:
        """The untrained network of the saved shape, to load the weights into."""
        raise NotImplementedError

    # -- saving and loading -------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the fitted estimator to the folder ``path``: ``config.json`` plus ``model.safetensors``.

        Under ``torchrun`` only rank 0 writes (every process holds the same model).
        """
        self._check_fitted()
        if not distributed.is_main_process():
            return
        config, tensors = self._saved()
        common = {
            "estimator": type(self).__name__,
            "schema": self.schema_.to_dict(),
            "history": self.history_.to_dict(),
        }
        save_folder(path, {**common, **config}, {**self.model_.state_dict(), **tensors})

    @classmethod
    def load(cls, path: str | os.PathLike[str], device: str = "cpu") -> Self:
        """Read an estimator written by :meth:`save` (no pickle: JSON and safetensors only)."""
        config, state = load_folder(path)
        if config.get("estimator") != cls.__name__:
            raise VSAEError(f"{str(path)!r} holds a {config.get('estimator')!r}, not a {cls.__name__}")
        try:
            schema = Schema.from_dict(config["schema"])
            history = History.from_dict(config["history"])
            estimator = cls._unsaved(config, state, schema, device)
            estimator.schema_, estimator.history_ = schema, history
            model = estimator._empty_network(config)
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            raise VSAEError(
                f"the config.json in {str(path)!r} is incomplete or inconsistent: {error!r}"
            ) from error
        restore_state(model, state, str(path))
        model.to(resolve_device(device)).eval()
        estimator.model_ = model
        return estimator


class TableEstimator(NetworkEstimator):
    """A :class:`NetworkEstimator` of tables: its fitted ``codec_`` encodes them."""

    codec_: TableCodec

    def _fit_frame(self, X: Any, numerical: Any = ()) -> pd.DataFrame:
        """The modelled frame of the table given to ``fit``, checked (``numerical``: columns that
        must hold numbers)."""
        frame, _ = as_frame(X)
        frame = self._model_frame(frame, fitting=True)
        validate_table(frame, numerical=numerical or ())
        return frame

    def _model_frame(self, frame: pd.DataFrame, fitting: bool = False) -> pd.DataFrame:
        """The columns of ``frame`` the network models (all unless a subclass says otherwise); at fit,
        the subclass may decide which those are."""
        return frame

    def _encode(self, X: Any) -> tuple[pd.DataFrame, bool, np.ndarray, np.ndarray]:
        """The modelled frame of ``X``, whether ``X`` was a DataFrame, its encoding and mask."""
        self._check_fitted()
        frame, is_frame = as_frame(X)
        frame = self._model_frame(frame)
        validate_table(frame)
        x, observed = self.codec_.encode(frame)
        return frame, is_frame, x, observed

    @staticmethod
    def _like_input(frame: pd.DataFrame, is_frame: bool, original: Any) -> Any:
        """``frame`` as the kind of table the user gave: a DataFrame, or an array of its dtype."""
        if is_frame:
            return frame
        dtype = np.asarray(original).dtype
        return frame.to_numpy(dtype=None if dtype.kind == "O" else dtype)
