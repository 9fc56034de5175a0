"""Reference models trained on FULLY OBSERVED data: CVAE with data and VAEAC (paper §4, App. B.3).

They read ground truth by design: the paper reports them as upper references ("models having access
to fully-observed data during training"), not as competitors of the models that learn from partially
observed data. Training draws a fresh random conditioning mask ``b`` for every batch (each available
modality kept with probability ``1 − missing_rate``); the networks learn to impute the rest from it.
Cells the data file itself lacks (``available`` false) are never read nor scored.

How each is read:

- **CVAE with data** (Sohn et al. 2015, conditioned on the observed data): the recognition network
  sees all the data, ``q(z | x, b)``; the decoder is conditioned on the observed data,
  ``p(x | z, x̃_b, b)``, and reconstructs every available cell; the prior is ``N(0, I)``. At imputation
  the recognition network cannot be used (it needs the missing values): ``z`` is the prior's mean (or a
  prior draw) and the decoder conditions on the observed data.
- **VAEAC** (Ivanov et al. 2019): proposal network ``q(z | x, b)`` on the full data, prior network
  ``p_ψ(z | x̃_b, b)`` on the observed data and mask, ``KL(q ‖ p_ψ)``, and a likelihood of the
  *unobserved* part only, ``p(x_u | z)``. The paper removes VAEAC's skip connections "for a fair
  comparison", so the decoder sees ``z`` alone. The original's weak regulariser of the prior network's
  parameters only guards against numerical blow-up, which the clamped log-variances already prevent.
  At imputation ``z`` is the prior network's mean (or a draw).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Literal

import torch
from torch import nn

from vsae.baselines.networks.common import (
    BaselineConfig,
    as_posterior,
    gaussian_kl,
    make_likelihoods,
)
from vsae.errors import VSAEError
from vsae.model.encoders import UnobservedFill
from vsae.model.layers import mlp
from vsae.model.objective import LossTerms
from vsae.model.vsae import Posterior
from vsae.schema import Schema


class ConditionalReference(nn.Module, ABC):
    """Proposal network on the full data, a prior given the observed part, a decoder; imputation
    decodes the prior's mean. Satisfies :class:`vsae.train.Network`."""

    #: Which cells the likelihood scores in training: every available cell, or the hidden ones only.
    reconstructs: Literal["available", "hidden"]

    def __init__(self, schema: Schema, config: BaselineConfig) -> None:
        super().__init__()
        self.schema = schema
        self.config = config
        self.likelihoods = make_likelihoods(schema, config)
        self.filler = UnobservedFill(schema)
        n_modalities, width = len(schema), schema.total_width
        self.latent = config.latent_dim * n_modalities
        # Input: the data (cells the file lacks filled), which modalities the file has, and ``b``.
        self.proposal_network = mlp(
            width + 2 * n_modalities, config.encoder_hidden, 2 * self.latent, config.depth, config.batch_norm
        )

    def condition(self, x: torch.Tensor, observed: torch.Tensor, noise: bool) -> torch.Tensor:
        """The conditioning input ``[x̃_o, m]`` ``[N, D + M]``."""
        return torch.cat([self.filler(x, observed, noise), observed.to(x.dtype)], dim=1)

    def proposal(self, x: torch.Tensor, available: torch.Tensor, observed: torch.Tensor) -> Posterior:
        """``q(z | x, b)``: reads every available cell, including the ones hidden from the prior."""
        inputs = [self.filler(x, available, noise=True), available.to(x.dtype), observed.to(x.dtype)]
        return as_posterior(self.proposal_network(torch.cat(inputs, dim=1)), len(self.schema))

    @abstractmethod
    def prior(self, condition: torch.Tensor) -> Posterior:
        """``p(z | x̃_o, m)`` given :meth:`condition`."""

    @abstractmethod
    def decode(self, z: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """Raw data head ``[N, D]``."""

    @torch.no_grad()
    def impute(self, x: torch.Tensor, observed: torch.Tensor, stochastic: bool = False) -> torch.Tensor:
        """Raw data head given the observed modalities: the prior's mean, or one prior draw."""
        condition = self.condition(x, observed, noise=stochastic)
        prior = self.prior(condition)
        return self.decode(prior.rsample() if stochastic else prior.mean, condition)


class CVAEData(ConditionalReference):
    """CVAE conditioned on the observed data: ``q(z | x, b)``, ``p(x | z, x̃_b, b)``, prior ``N(0, I)``."""

    reconstructs = "available"

    def __init__(self, schema: Schema, config: BaselineConfig) -> None:
        super().__init__(schema, config)
        inputs = self.latent + schema.total_width + len(schema)
        self.decoder = mlp(inputs, config.decoder_hidden, schema.total_width, config.depth, config.batch_norm)

    def prior(self, condition: torch.Tensor) -> Posterior:
        shape = (condition.shape[0], len(self.schema), self.config.latent_dim)
        return Posterior(condition.new_zeros(shape), condition.new_zeros(shape))

    def decode(self, z: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        return self.decoder(torch.cat([z.flatten(1), condition], dim=1))


class VAEAC(ConditionalReference):
    """VAE with arbitrary conditioning, without skip connections: ``q(z | x, b)``, ``p_ψ(z | x̃_b, b)``,
    ``p(x_u | z)``."""

    reconstructs = "hidden"

    def __init__(self, schema: Schema, config: BaselineConfig) -> None:
        super().__init__(schema, config)
        n_modalities, width = len(schema), schema.total_width
        self.prior_network = mlp(
            width + n_modalities, config.encoder_hidden, 2 * self.latent, config.depth, config.batch_norm
        )
        self.decoder = mlp(self.latent, config.decoder_hidden, width, config.depth, config.batch_norm)

    def prior(self, condition: torch.Tensor) -> Posterior:
        return as_posterior(self.prior_network(condition), len(self.schema))

    def decode(self, z: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        return self.decoder(z.flatten(1))


class RandomMaskELBO:
    """Negative conditional ELBO on complete data under a random conditioning mask, per sample::

        Σ_{i∈S} −log p(x_i | z, ·) + kl_weight · KL(q(z | x, b) ‖ p(z | x̃_b, b))

    ``b`` keeps each available modality with probability ``1 − missing_rate`` (drawn anew per batch
    from torch's seeded generator); ``S`` is every available modality or only those ``b`` hides,
    as the network's ``reconstructs`` says. Satisfies :class:`vsae.train.Objective`; ``observed`` is
    what the data file has (``past_warmup`` is ignored).
    """

    def __init__(self, kl_weight: float = 1.0, missing_rate: float = 0.5) -> None:
        if not 0 < missing_rate < 1:
            raise VSAEError(f"missing_rate must be in (0, 1), got {missing_rate}")
        self.kl_weight = kl_weight
        self.missing_rate = missing_rate

    def __call__(
        self, model: ConditionalReference, x: torch.Tensor, observed: torch.Tensor, past_warmup: bool
    ) -> LossTerms:
        kept = observed & (torch.rand(observed.shape, device=x.device) >= self.missing_rate)
        condition = model.condition(x, kept, noise=True)
        proposal = model.proposal(x, observed, kept)
        raw = model.decode(proposal.rsample(), condition)
        scored = observed if model.reconstructs == "available" else observed & ~kept
        target = model.filler(x, observed, noise=False)
        weight = scored.to(raw.dtype)
        nll = (model.likelihoods.negative_log_likelihood(raw, target) * weight).sum(1).mean()
        prior = model.prior(condition)
        kl_blocks = gaussian_kl(proposal, prior)
        kl = kl_blocks.sum(1).mean()
        zero = raw.new_zeros(())
        return LossTerms(nll + self.kl_weight * kl, nll, zero, zero, kl, kl_blocks.mean(0).detach())
