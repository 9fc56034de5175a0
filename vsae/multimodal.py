"""``MultimodalVSAE``: VSAE on data given as ``{modality name: array}`` with whole modalities missing.

Each modality is an array ``[n_samples, ...]`` (an image, a feature vector, a one-hot label) and a
per-sample mask ``observed [n_samples, n_modalities]`` (True = observed, columns in the order of the
dict) says which modalities each sample has. Contents of unobserved modalities are never read.

Numerical modalities are standardised per column with their observed rows; image and binary
modalities must already lie in [0, 1]. A categorical modality is given one-hot ``[n, k]``, or as
integer class codes ``0 … k-1``, shaped ``[n]`` or ``[n, 1]`` (then ``k`` is the largest observed code
plus one, and imputations are codes of the same shape). A 1-D array of another kind is one value per
sample. Every shape is checked against the others and against the mask, with a :class:`VSAEError`
naming the modality.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields, replace
from typing import Any

import numpy as np
import torch

from vsae import inference
from vsae.errors import UnknownSettingError, VSAEError
from vsae.estimator import NetworkEstimator
from vsae.model.ensemble import VSAEEnsemble, build_model, members_of
from vsae.model.vsae import VSAE, VSAEConfig
from vsae.runtime import as_seed, threaded
from vsae.schema import ModalityKind, Schema
from vsae.train import TrainConfig, train_vsae


class MultimodalVSAE(NetworkEstimator):
    """Learn, impute and generate multimodal data with missing modalities.

    Parameters
    ----------
    kinds : mapping, optional
        Kind of each modality (``"numerical"``, ``"categorical"``, ``"binary"``, ``"image"``); by
        default arrays with more than two dimensions are images and the others numerical.
    model_config : VSAEConfig, optional
        Network sizes; defaults to :meth:`VSAEConfig.for_modalities`: the paper's image sizes when a
        modality is an image (with a 512-wide data decoder and 256-wide encoders when a categorical
        modality is beside it), else the tabular sizes.
    train_config : TrainConfig, optional
        Optimisation settings.
    random_state : None, int, numpy RandomState or Generator, optional
        The seed (overrides ``train_config.seed``), as in scikit-learn.
    n_jobs : int, optional
        CPU threads torch uses inside the methods (``None``: one; ``-1``: every core), see
        :mod:`vsae.runtime`.
    **settings
        Any field of :class:`TrainConfig` (``epochs=2``, ``learning_rate``, ``device``…) or of
        :class:`VSAEConfig` (``latent_dim``…), like the keyword arguments of ``VSAEImputer``; they
        override ``train_config`` and ``model_config``.
    """

    def __init__(
        self,
        kinds: Mapping[str, ModalityKind] | None = None,
        model_config: VSAEConfig | None = None,
        train_config: TrainConfig | None = None,
        *,
        random_state: Any = None,
        n_jobs: int | None = None,
        **settings: Any,
    ) -> None:
        train_fields = {f.name for f in fields(TrainConfig)} - {"seed"}
        model_fields = {f.name for f in fields(VSAEConfig)}
        unknown = sorted(set(settings) - train_fields - model_fields)
        if unknown:
            known = ", ".join(sorted(train_fields | model_fields | {"random_state", "n_jobs"}))
            raise UnknownSettingError(
                f"MultimodalVSAE got unknown settings {unknown}; known settings: {known}"
            )
        self.kinds = dict(kinds or {})
        self.n_jobs = n_jobs
        train = {k: v for k, v in settings.items() if k in train_fields}
        if random_state is not None:
            train["seed"] = as_seed(random_state)
        self.train_config = replace(train_config or TrainConfig(), **train)
        self._model_settings = {k: v for k, v in settings.items() if k in model_fields}
        self.model_config = (
            replace(model_config, **self._model_settings) if model_config is not None else None
        )

    # -- class codes ----------------------------------------------------------------------------
    def _check_shapes(
        self, data: Mapping[str, Any], observed: Any
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """The arrays and the mask, checked against each other; the mask as booleans."""
        if not isinstance(data, Mapping) or not data:
            raise VSAEError("data must be a non-empty mapping {modality name: array [n_samples, ...]}")
        arrays = {name: np.asarray(array) for name, array in data.items()}
        mask = np.asarray(observed)
        if mask.dtype != bool:
            if mask.dtype.kind in "iuf" and np.isin(mask, (0, 1)).all():
                mask = mask.astype(bool)
            else:
                raise VSAEError(f"observed must be a boolean array (True = observed), got {mask.dtype}")
        names = list(arrays)
        if mask.ndim != 2 or mask.shape[1] != len(names):
            raise VSAEError(
                f"observed must have shape (n_samples, {len(names)}), one column per modality in the "
                f"order {names}; got shape {mask.shape}"
            )
        for name, array in arrays.items():
            if array.ndim == 0 or array.shape[0] != mask.shape[0]:
                raise VSAEError(
                    f"modality {name!r} has {array.shape[0] if array.ndim else 0} samples (shape "
                    f"{array.shape}) but observed has {mask.shape[0]} rows"
                )
        return arrays, mask

    def _as_one_hot(
        self, arrays: dict[str, np.ndarray], mask: np.ndarray, fitting: bool
    ) -> dict[str, np.ndarray]:
        """Class-code modalities as one-hot arrays; at fit, decides which modalities are codes."""
        if fitting:
            self.codes_ = {}
            for index, (name, array) in enumerate(arrays.items()):
                if self.kinds.get(name) == "categorical" and (array.ndim == 1 or array.shape[1:] == (1,)):
                    codes = self._codes(name, array, mask[:, index])
                    observed_codes = codes[mask[:, index]]
                    if observed_codes.size == 0:
                        raise VSAEError(f"modality {name!r} is never observed: it cannot be learned")
                    self.codes_[name] = {"classes": int(observed_codes.max()) + 1, "ndim": array.ndim}
        out = {}
        for index, (name, array) in enumerate(arrays.items()):
            if name in getattr(self, "codes_", {}):
                spec = self.codes_[name]
                if array.ndim > 2 or (array.ndim == 2 and array.shape[1] != 1):
                    raise VSAEError(f"modality {name!r} was class codes at fit; got shape {array.shape}")
                codes = self._codes(name, array, mask[:, index])
                rows = mask[:, index]
                if (codes[rows] >= spec["classes"]).any():
                    raise VSAEError(
                        f"modality {name!r}: class code {int(codes[rows].max())} was not seen at fit "
                        f"(codes 0 to {spec['classes'] - 1})"
                    )
                one_hot = np.zeros((len(array), spec["classes"]), dtype=np.float32)
                one_hot[np.flatnonzero(rows), codes[rows]] = 1.0
                out[name] = one_hot
            elif array.ndim == 1:
                out[name] = array.reshape(-1, 1)
            else:
                out[name] = array
        return out

    @staticmethod
    def _codes(name: str, array: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Integer class codes of the observed rows (0 elsewhere); anything else is an error."""
        flat = array.reshape(len(array))
        codes = np.zeros(len(flat), dtype=np.int64)
        try:
            given = flat[rows].astype(np.float64)
        except (TypeError, ValueError) as error:
            raise VSAEError(f"modality {name!r}: class codes must be integers 0 … k-1 ({error})") from error
        if not np.isfinite(given).all():
            row = int(np.flatnonzero(rows)[int(np.flatnonzero(~np.isfinite(given))[0])])
            raise VSAEError(
                f"modality {name!r} is marked observed in row {row} but holds NaN or infinite values"
            )
        wrong = (given < 0) | (given != np.round(given))
        if wrong.any():
            raise VSAEError(
                f"modality {name!r}: class codes must be integers 0 … k-1, got {given[wrong][0]!r}"
            )
        codes[rows] = given.astype(np.int64)
        return codes

    # -- encoding -------------------------------------------------------------------------------
    def _encode(self, data: Mapping[str, np.ndarray], observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        schema = self.schema_
        missing = [name for name in schema.names if name not in data]
        extra = [name for name in data if name not in schema.names]
        if missing or extra:
            raise VSAEError(
                f"modalities differ from those seen at fit: missing {missing}, unexpected {extra}"
            )
        data = {name: data[name] for name in schema.names}
        arrays, observed = self._check_shapes(data, observed)
        data = self._as_one_hot(arrays, observed, fitting=False)
        n = len(next(iter(data.values())))
        observed = np.asarray(observed)
        if observed.shape != (n, len(schema)) or observed.dtype != bool:
            raise VSAEError(
                f"observed must be a boolean array of shape ({n}, {len(schema)}), "
                f"got {observed.dtype} {observed.shape}"
            )
        blocks = []
        for index, modality in enumerate(schema):
            array = np.asarray(data[modality.name], dtype=np.float32)
            if array.shape[0] != n or int(np.prod(array.shape[1:])) != modality.width:
                raise VSAEError(
                    f"modality {modality.name!r}: expected shape ({n}, ...) with {modality.width} values "
                    f"per sample, got {array.shape}"
                )
            block = array.reshape(n, modality.width)
            rows = observed[:, index]
            bad = rows & ~np.isfinite(block).all(axis=1)
            if bad.any():
                raise VSAEError(
                    f"modality {modality.name!r} is marked observed in row {int(np.flatnonzero(bad)[0])} "
                    "but holds NaN or infinite values"
                )
            block = np.where(rows[:, None], block, 0.0)
            if modality.kind in ("image", "binary") and ((block < 0) | (block > 1)).any():
                raise VSAEError(f"modality {modality.name!r} is {modality.kind}: values must lie in [0, 1]")
            if modality.kind == "numerical":
                block = np.where(rows[:, None], (block - self.means_[index]) / self.stds_[index], 0.0)
            blocks.append(block.astype(np.float32))
        return np.concatenate(blocks, axis=1), observed

    def _decode(self, values: np.ndarray, n: int) -> dict[str, np.ndarray]:
        out = {}
        codes = getattr(self, "codes_", {})
        for index, modality in enumerate(self.schema_):
            block = values[:, self.schema_.columns_of(index)]
            if modality.name in codes:
                labels = block.argmax(axis=1).astype(np.int64)
                out[modality.name] = labels if codes[modality.name]["ndim"] == 1 else labels[:, None]
                continue
            if modality.kind == "numerical":
                block = block * self.stds_[index] + self.means_[index]
            out[modality.name] = block.reshape((n, *(modality.shape or (modality.width,))))
        return out

    def _fill(
        self, data: Mapping[str, np.ndarray], observed: np.ndarray, values: np.ndarray
    ) -> dict[str, np.ndarray]:
        """Observed modalities as given, unobserved ones from the decoded ``values``."""
        n = observed.shape[0]
        decoded = self._decode(values, n)
        filled = {}
        codes = getattr(self, "codes_", {})
        for index, name in enumerate(self.schema_.names):
            if name in codes:
                given = self._codes(name, np.asarray(data[name]), observed[:, index])
                labels = np.where(observed[:, index], given, decoded[name].reshape(n))
                filled[name] = labels if codes[name]["ndim"] == 1 else labels[:, None]
                continue
            shape = np.shape(data[name])
            given = np.asarray(data[name], dtype=np.float32).reshape(decoded[name].shape)
            rows = observed[:, index].reshape((n,) + (1,) * (given.ndim - 1))
            filled[name] = np.where(rows, given, decoded[name]).reshape(shape)  # a 1-D input stays 1-D
        return filled

    # -- public API -----------------------------------------------------------------------------
    @threaded
    def fit(self, data: Mapping[str, np.ndarray], observed: np.ndarray) -> MultimodalVSAE:
        """Train on ``data`` where ``observed`` says which modalities each sample has."""
        if isinstance(data, Mapping) and not data:
            raise VSAEError("no modality given")
        arrays, observed = self._check_shapes(data, observed)
        unknown = sorted(set(self.kinds) - set(arrays))
        if unknown:
            raise VSAEError(f"kinds given for unknown modalities: {', '.join(unknown)}")
        data = self._as_one_hot(arrays, observed, fitting=True)
        self.schema_ = Schema.from_arrays(data, self.kinds)
        n = observed.shape[0]
        self.means_, self.stds_ = [], []
        for index, modality in enumerate(self.schema_):
            if modality.kind != "numerical":
                self.means_.append(np.zeros(modality.width, np.float32))
                self.stds_.append(np.ones(modality.width, np.float32))
                continue
            rows = np.asarray(data[modality.name], dtype=np.float32).reshape(n, -1)[observed[:, index]]
            if rows.shape[0] == 0:
                raise VSAEError(f"modality {modality.name!r} is never observed: it cannot be learned")
            std = rows.std(axis=0)
            self.means_.append(rows.mean(axis=0))
            self.stds_.append(np.where(std > 0, std, 1.0).astype(np.float32))
        x, observed = self._encode(arrays, observed)
        config = self.model_config
        if config is None:
            config = VSAEConfig.for_modalities(m.kind for m in self.schema_)
            config = replace(config, **getattr(self, "_model_settings", {}))
        self.model_, self.history_ = train_vsae(self.schema_, x, observed, config, self.train_config)
        return self

    @threaded
    def impute(self, data: Mapping[str, np.ndarray], observed: np.ndarray) -> dict[str, np.ndarray]:
        """Fill the unobserved modalities (posterior means); observed ones are returned unchanged."""
        self._check_fitted()
        x, observed = self._encode(data, observed)
        return self._fill(data, observed, inference.impute(self.model_, x, observed))

    @threaded
    def sample_imputations(
        self,
        data: Mapping[str, np.ndarray],
        observed: np.ndarray,
        n: int = 10,
        random_state: int | None = None,
    ) -> list[dict[str, np.ndarray]]:
        """``n`` stochastic imputations (latent draws from the selective proposal)."""
        self._check_fitted()
        x, observed = self._encode(data, observed)
        seed = self.train_config.seed if random_state is None else random_state
        draws = inference.sample_imputations(self.model_, x, observed, n, seed)
        return [self._fill(data, observed, draw) for draw in draws]

    @threaded
    def generate(self, n: int, random_state: int | None = None) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """``n`` samples from the prior and their generated modality mask (True = observed)."""
        self._check_fitted()
        seed = self.train_config.seed if random_state is None else random_state
        values, mask = inference.generate(self.model_, n, seed)
        return self._decode(values, n), mask

    # -- persistence (NetworkEstimator.save / load) -------------------------------------------------
    def _saved(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        config = {
            "model_config": self.model_.config.to_dict(),
            "train_config": self.train_config.to_dict(),
            "class_codes": getattr(self, "codes_", {}),
            "ensemble_members": len(members_of(self.model_)),
        }
        tensors = {}
        for index, name in enumerate(self.schema_.names):
            tensors[f"codec.{name}.mean"] = torch.as_tensor(np.ascontiguousarray(self.means_[index]))
            tensors[f"codec.{name}.std"] = torch.as_tensor(np.ascontiguousarray(self.stds_[index]))
        return config, tensors

    @classmethod
    def _unsaved(
        cls, config: dict[str, Any], tensors: dict[str, torch.Tensor], schema: Schema, device: str
    ) -> MultimodalVSAE:
        model_config = VSAEConfig.from_dict(config["model_config"])
        train_config = TrainConfig.from_dict({**config["train_config"], "device": device})
        loaded = cls({m.name: m.kind for m in schema}, model_config, train_config)
        loaded.means_ = [tensors.pop(f"codec.{name}.mean").numpy() for name in schema.names]
        loaded.stds_ = [tensors.pop(f"codec.{name}.std").numpy() for name in schema.names]
        loaded.codes_ = {
            str(name): {"classes": int(spec["classes"]), "ndim": int(spec["ndim"])}
            for name, spec in config.get("class_codes", {}).items()
        }
        return loaded

    def _empty_network(self, config: dict[str, Any]) -> VSAE | VSAEEnsemble:
        model_config = VSAEConfig.from_dict(config["model_config"])
        return build_model(self.schema_, model_config, int(config.get("ensemble_members", 1)))
