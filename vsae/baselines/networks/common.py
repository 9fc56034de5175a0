"""What every neural baseline shares: its configuration, parameter counting and matching, Gaussian
helpers, and the inverse of :meth:`Likelihoods.mean`.

Backbone (paper §4 and App. B.3): every baseline is built from :func:`vsae.model.layers.mlp` with the
sizes of a :class:`~vsae.model.vsae.VSAEConfig` (hidden widths, depth, batch norm) and the same total
latent size, ``latent_dim × M``. The paper widens baselines until they have as many parameters as VSAE;
:func:`widen_to_match` finds the narrowest widening of both hidden widths that has *at least* VSAE's
parameter count on the same schema.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any

import torch
from torch import nn

from vsae.errors import VSAEError
from vsae.model.likelihoods import LOGVAR_LIMIT, BinaryLoss, Likelihoods
from vsae.model.vsae import Posterior, VSAEConfig
from vsae.schema import Schema

#: Probabilities are clipped this far from 0 and 1 before taking logits or logs.
PROBABILITY_EPS = 1e-6


@dataclass(frozen=True)
class BaselineConfig:
    """Sizes and likelihood settings of a baseline network.

    Attributes
    ----------
    latent_dim : int
        Latent dimensions per modality; every baseline has ``latent_dim × M`` latent dimensions in
        all, as VSAE has (viewed as ``M`` blocks of ``latent_dim`` for per-block KL diagnostics).
    encoder_hidden, decoder_hidden : int
        Widths of the encoder-side and decoder-side MLPs.
    depth : int
        Hidden layers of every MLP.
    batch_norm : bool
        Batch normalisation after the first layer of every MLP.
    numerical_variance, learn_numerical_variance, binary_loss
        Likelihood settings, as :class:`~vsae.model.vsae.VSAEConfig`.
    imputation_samples : int
        Importance samples per row when MIWAE imputes (Mattei & Frellsen 2019); ignored by the others.
    """

    latent_dim: int = 20
    encoder_hidden: int = 64
    decoder_hidden: int = 128
    depth: int = 3
    batch_norm: bool = True
    numerical_variance: float = 0.5
    learn_numerical_variance: bool = False
    binary_loss: BinaryLoss = "mse"
    imputation_samples: int = 100

    def __post_init__(self) -> None:
        for name in ("latent_dim", "encoder_hidden", "decoder_hidden", "depth", "imputation_samples"):
            if int(getattr(self, name)) < 1:
                raise VSAEError(f"{name} must be a positive integer, got {getattr(self, name)!r}")

    @classmethod
    def like(cls, config: VSAEConfig, **overrides: Any) -> BaselineConfig:
        """The sizes and likelihood settings of a VSAE configuration (plus ``overrides``)."""
        shared = {f.name: getattr(config, f.name) for f in fields(cls) if hasattr(config, f.name)}
        return cls(**{**shared, **overrides})


def count_parameters(module: nn.Module) -> int:
    """Number of learned values (parameters; buffers such as batch-norm statistics excluded)."""
    return sum(parameter.numel() for parameter in module.parameters())


def widen_to_match(
    build: Callable[[BaselineConfig], nn.Module], config: BaselineConfig, target: int
) -> BaselineConfig:
    """The narrowest widening of ``config`` whose network has at least ``target`` parameters.

    Both hidden widths grow together: the encoder side by ``k`` units, the decoder side in the same
    proportion (rounded up). The count only grows with ``k``, so the smallest ``k`` is found by doubling
    then bisection. Networks are built on the ``meta`` device: nothing is allocated or initialised.
    """

    def widened(extra: int) -> BaselineConfig:
        encoder = config.encoder_hidden + extra
        decoder = math.ceil(config.decoder_hidden * encoder / config.encoder_hidden)
        return replace(config, encoder_hidden=encoder, decoder_hidden=decoder)

    def size(extra: int) -> int:
        with torch.device("meta"):
            return count_parameters(build(widened(extra)))

    if size(0) >= target:
        return config
    low, high = 0, 1  # invariant: size(low) < target <= size(high) once the doubling ends
    while size(high) < target:
        low, high = high, 2 * high
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if size(middle) >= target else (middle, high)
    return widened(high)


def as_posterior(stats: torch.Tensor, n_blocks: int) -> Posterior:
    """A network's ``[N, 2·B·L]`` output as a diagonal Gaussian of ``B`` blocks ``[N, B, L]`` (as VSAE
    reads its multimodal encoder), log-variances clamped to ``±LOGVAR_LIMIT``."""
    mean, logvar = stats.view(stats.shape[0], n_blocks, -1).chunk(2, dim=-1)
    return Posterior(mean, logvar.clamp(-LOGVAR_LIMIT, LOGVAR_LIMIT))


def gaussian_kl(q: Posterior, p: Posterior) -> torch.Tensor:
    """Analytic ``KL(q ‖ p)`` of two diagonal Gaussians, summed within each latent block: ``[N, B]``."""
    variance_ratio = torch.exp(q.logvar - p.logvar)
    mean_term = (q.mean - p.mean).square() * torch.exp(-p.logvar)
    return 0.5 * (variance_ratio + mean_term - 1.0 - (q.logvar - p.logvar)).sum(-1)


def standard_normal_log_density(z: torch.Tensor) -> torch.Tensor:
    """``log N(z; 0, I)`` summed over the last dimension."""
    return -0.5 * (z.square() + math.log(2 * math.pi)).sum(-1)


def raw_from_mean(likelihoods: Likelihoods, mean: torch.Tensor) -> torch.Tensor:
    """A raw decoder output whose :meth:`Likelihoods.mean` is ``mean`` (its inverse).

    Numerical columns are their own mean; binary and image columns become logits and categorical
    blocks log-probabilities (a valid set of logits: their softmax is the probabilities themselves).
    Used to hand an averaged prediction back to :meth:`Likelihoods.mode`.
    """
    raw = mean.clone()
    sigmoid = likelihoods.sigmoid_columns
    if sigmoid.numel():
        raw[:, sigmoid] = torch.logit(mean[:, sigmoid].clamp(PROBABILITY_EPS, 1 - PROBABILITY_EPS))
    categorical = likelihoods.categorical_gather[likelihoods.categorical_valid]
    if categorical.numel():
        raw[:, categorical] = torch.log(mean[:, categorical].clamp_min(PROBABILITY_EPS))
    return raw


def make_likelihoods(schema: Schema, config: BaselineConfig) -> Likelihoods:
    """The output heads of ``schema`` with ``config``'s likelihood settings."""
    return Likelihoods(schema, config.numerical_variance, config.binary_loss, config.learn_numerical_variance)
