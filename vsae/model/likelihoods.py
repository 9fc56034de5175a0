"""Per-type output heads of the data decoder, computed for all modalities in one pass.

The data decoder emits one raw vector ``[N, total_width]`` laid out like the encoded data. This module
turns it into per-modality negative log-likelihoods ``[N, M]`` and into point predictions or samples,
with one vectorised computation per *type* (never a loop over modalities):

- numerical: the raw output is the mean of a Gaussian whose variance per column is fixed
  (``numerical_variance``; the paper's MSE loss is the case 0.5) or learned;
- categorical: logits; cross-entropy. Blocks of different class counts are gathered into one padded
  ``[N, C, k_max]`` tensor whose padding logits are ``-inf``;
- binary and image: ``sigmoid`` of the raw output; squared error (the paper) or binary cross-entropy.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vsae.errors import VSAEError
from vsae.schema import Schema

#: Bound of every log-variance (latent and observation): ``exp`` can neither overflow nor vanish.
LOGVAR_LIMIT = 10.0

BinaryLoss = Literal["mse", "bce"]


#: Least calibrated imputation noise of a standardised numerical column (1% of its variance).
MIN_NOISE_VARIANCE = 0.01


class Likelihoods(nn.Module):
    """Losses and decoding for every modality of a schema (index tensors are buffers, no weights)."""

    def __init__(
        self,
        schema: Schema,
        numerical_variance: float = 0.5,
        binary_loss: BinaryLoss = "mse",
        learn_numerical_variance: bool = False,
    ) -> None:
        super().__init__()
        if numerical_variance <= 0:
            raise VSAEError(f"numerical_variance must be positive, got {numerical_variance}")
        if binary_loss not in ("mse", "bce"):
            raise VSAEError(f"binary_loss must be 'mse' or 'bce', got {binary_loss!r}")
        self.n_modalities = len(schema)
        self.binary_loss = binary_loss
        column_modality = schema.column_modality()
        kinds = np.array([m.kind for m in schema])
        column_kind = kinds[column_modality]

        def columns(*wanted: str) -> torch.Tensor:
            return torch.as_tensor(np.flatnonzero(np.isin(column_kind, wanted)), dtype=torch.long)

        numerical = columns("numerical")
        sigmoid = columns("binary", "image")
        self.register_buffer("numerical_columns", numerical, persistent=False)
        self.register_buffer(
            "numerical_modality", torch.as_tensor(column_modality)[numerical], persistent=False
        )
        self.register_buffer("sigmoid_columns", sigmoid, persistent=False)
        self.register_buffer("sigmoid_modality", torch.as_tensor(column_modality)[sigmoid], persistent=False)
        self.register_buffer("binary_columns", columns("binary"), persistent=False)
        # Log-variance of every numerical column; a learned parameter or a fixed buffer.
        logvar = torch.full((numerical.numel(),), float(np.log(numerical_variance)))
        if learn_numerical_variance:
            self.numerical_logvar = nn.Parameter(logvar)
        else:
            self.register_buffer("numerical_logvar", logvar)
        # Predictive calibration, set after training from held-out observed cells (see
        # ``vsae.train.calibrate``); neutral values until then, so training never depends on them.
        # ``imputation_noise_variance``: variance (standardised units) of an imputation's error that
        # the spread of the latent posterior does not explain, per numerical column; 1 (the column's
        # own variance, a conservative guess) when it could not be measured.
        # ``categorical_temperature``: divides the logits of each categorical modality.
        self.register_buffer("imputation_noise_variance", torch.ones(numerical.numel()))
        # Squared error of a one-hot prediction summed over its block is 2 when wrong, 0 when right;
        # other types average it over their columns. Either way: one error per modality, 0 = perfect.
        normalizer = [2.0 if m.kind == "categorical" else float(m.width) for m in schema]
        self.register_buffer("column_modality", torch.as_tensor(column_modality), persistent=False)
        self.register_buffer("error_normalizer", torch.tensor(normalizer), persistent=False)

        # Categorical blocks padded to k_max: gather index into the raw vector (padding points at
        # column 0 and is masked out) and the modality of every block.
        categorical = [i for i, m in enumerate(schema) if m.kind == "categorical"]
        k_max = max((schema.modalities[i].width for i in categorical), default=1)
        gather = np.zeros((len(categorical), k_max), dtype=np.int64)
        valid = np.zeros((len(categorical), k_max), dtype=bool)
        for row, index in enumerate(categorical):
            width = schema.modalities[index].width
            gather[row, :width] = np.arange(schema.offsets[index], schema.offsets[index] + width)
            valid[row, :width] = True
        self.register_buffer("categorical_gather", torch.as_tensor(gather), persistent=False)
        self.register_buffer("categorical_valid", torch.as_tensor(valid), persistent=False)
        self.register_buffer(
            "categorical_modality", torch.as_tensor(categorical, dtype=torch.long), persistent=False
        )
        self.register_buffer("categorical_temperature", torch.ones(len(categorical)))

    # -- categorical blocks ---------------------------------------------------------------------
    def _padded_log_probs(self, raw: torch.Tensor, calibrated: bool = True) -> torch.Tensor:
        logits = raw[:, self.categorical_gather]
        if calibrated:
            logits = logits / self.categorical_temperature[:, None]
        logits = logits.masked_fill(~self.categorical_valid, float("-inf"))
        return torch.log_softmax(logits, dim=-1)

    def _scatter_blocks(self, padded: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """Write padded ``[N, C, k_max]`` values back to their columns of ``out`` ``[N, D]``."""
        out[:, self.categorical_gather[self.categorical_valid]] = padded[:, self.categorical_valid]
        return out

    # -- losses ---------------------------------------------------------------------------------
    def negative_log_likelihood(self, raw: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood per sample and modality ``[N, M]``, summed over each modality's columns."""
        n = raw.shape[0]
        nll = raw.new_zeros(n, self.n_modalities)
        if self.numerical_columns.numel():
            error = raw[:, self.numerical_columns] - target[:, self.numerical_columns]
            # Clamped like the latent log-variances: a learned variance on a constant column would
            # otherwise fall without bound.
            logvar = self.numerical_logvar.clamp(-LOGVAR_LIMIT, LOGVAR_LIMIT)
            nll.index_add_(1, self.numerical_modality, 0.5 * (error.square() * torch.exp(-logvar) + logvar))
        if self.sigmoid_columns.numel():
            logits = raw[:, self.sigmoid_columns]
            wanted = target[:, self.sigmoid_columns]
            if self.binary_loss == "bce":
                loss = F.binary_cross_entropy_with_logits(logits, wanted, reduction="none")
            else:
                loss = (torch.sigmoid(logits) - wanted).square()
            nll.index_add_(1, self.sigmoid_modality, loss)
        if self.categorical_modality.numel():
            log_probs = self._padded_log_probs(raw)
            one_hot = target[:, self.categorical_gather] * self.categorical_valid
            cross_entropy = -(one_hot * log_probs.masked_fill(~self.categorical_valid, 0.0)).sum(-1)
            nll.index_add_(1, self.categorical_modality, cross_entropy)
        return nll

    def imputation_error(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Error of point predictions (:meth:`mode`) per sample and modality, ``[N, M]``.

        Mean squared error per column for numerical (standardised units) and image modalities, error
        rate for categorical and binary ones: the score used for model selection on held-out cells.
        """
        squared = (prediction - target).square()
        error = squared.new_zeros(squared.shape[0], self.n_modalities)
        return error.index_add_(1, self.column_modality, squared) / self.error_normalizer

    # -- predictions ----------------------------------------------------------------------------
    def mean(self, raw: torch.Tensor, calibrated: bool = True) -> torch.Tensor:
        """Expected value in encoded space: Gaussian means, class probabilities, pixel/bit probabilities.

        ``calibrated=False`` ignores the calibrated ``categorical_temperature``: the probabilities as
        trained, for what the network itself reads back (:attr:`VSAEConfig.feedback_rounds`).
        """
        out = raw.clone()
        if self.sigmoid_columns.numel():
            out[:, self.sigmoid_columns] = torch.sigmoid(raw[:, self.sigmoid_columns])
        if self.categorical_modality.numel():
            self._scatter_blocks(self._padded_log_probs(raw, calibrated).exp(), out)
        return out

    def mode(self, raw: torch.Tensor) -> torch.Tensor:
        """Point imputation: means for numerical and image columns, one-hot argmax, rounded bits."""
        return self.point(self.mean(raw))

    def point(self, mean: torch.Tensor) -> torch.Tensor:
        """Point imputation from expected values (:meth:`mean`, or an average of several): the
        numerical and image columns as they are, the most probable class one-hot, bits rounded."""
        out = mean.clone()
        if self.binary_columns.numel():
            out[:, self.binary_columns] = (out[:, self.binary_columns] > 0.5).to(out.dtype)
        if self.categorical_modality.numel():
            probabilities = mean[:, self.categorical_gather].masked_fill(~self.categorical_valid, -1.0)
            one_hot = F.one_hot(probabilities.argmax(-1), probabilities.shape[-1]).to(out.dtype)
            self._scatter_blocks(one_hot, out)
        return out

    def sample(self, raw: torch.Tensor, imputation_noise: bool = False) -> torch.Tensor:
        """One draw per cell: classes and bits are sampled; numerical and image columns take the mean.

        The fixed observation variance is a modelling device, not an estimate of the data's noise, so
        numerical draws never add it. With ``imputation_noise`` (multiple imputation), numerical draws
        add Gaussian noise of the calibrated ``imputation_noise_variance``, the part of an imputation's
        error that the latent posterior's spread does not explain; pseudo-targets during training and
        generated rows draw without it.
        """
        out = self.mean(raw)
        if imputation_noise and self.numerical_columns.numel():
            noise = torch.randn_like(out[:, self.numerical_columns]) * self.imputation_noise_variance.sqrt()
            out[:, self.numerical_columns] += noise
        if self.binary_columns.numel():
            out[:, self.binary_columns] = torch.bernoulli(out[:, self.binary_columns])
        if self.categorical_modality.numel():
            log_probs = self._padded_log_probs(raw)
            n, blocks, k_max = log_probs.shape
            draws = torch.multinomial(log_probs.exp().reshape(n * blocks, k_max), 1).reshape(n, blocks)
            self._scatter_blocks(F.one_hot(draws, k_max).to(out.dtype), out)
        return out

    def imputation_noise_per_column(self) -> torch.Tensor:
        """``imputation_noise_variance`` laid out over all encoded columns ``[D]`` (0 off numerical)."""
        out = self.imputation_noise_variance.new_zeros(int(self.column_modality.numel()))
        out[self.numerical_columns] = self.imputation_noise_variance
        return out
