"""Baselines that learn from partially observed data with the observed-modality ELBO: AE, VAE, CVAE
with mask and MVAE (paper §4, App. B.3).

How each paper baseline is read:

- **AE**: a deterministic autoencoder on the filled input ``x̃`` (no mask information), trained on the
  reconstruction of the observed modalities only.
- **VAE**: the same with a Gaussian latent, ``q(z | x̃)``, and a KL term to ``N(0, I)``.
- **CVAE with mask**: encoder ``q(z | x̃, m)`` and decoder ``p(x | z, m)`` both conditioned on the mask.
  The prior stays ``N(0, I)``: the encoder sees the observed data at imputation, so a conditional prior
  network (used only to generate) would not change the imputation.
- **MVAE** (Wu & Goodman 2018): one unimodal encoder per modality (the same grouped networks as VSAE's
  unimodal encoders), each a Gaussian expert on the *shared* latent; the posterior is the product of
  the observed modalities' experts and the prior expert ``N(0, I)``. Trained with the ELBO of the
  observed modalities under that posterior (the natural sub-sampling of missing data replaces the
  paper's sub-sampled ELBO terms).

Every network fills unobserved modalities like VSAE (:class:`~vsae.model.encoders.UnobservedFill`:
noise for tabular columns while training, zeros for images and for deterministic imputation), so no
network reads what an unobserved cell holds, and no loss scores one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import nn

from vsae.baselines.networks.common import BaselineConfig, as_posterior, make_likelihoods
from vsae.model.encoders import UnimodalEncoders, UnobservedFill
from vsae.model.layers import mlp
from vsae.model.likelihoods import LOGVAR_LIMIT
from vsae.model.objective import LossTerms
from vsae.model.vsae import Posterior
from vsae.schema import Schema


class LatentBaseline(nn.Module, ABC):
    """An encoder ``q(z | observed data)`` and a decoder; imputation decodes the posterior mean.

    Satisfies :class:`vsae.train.Network`. Latent codes are ``[N, M, L]`` (``M × L`` dimensions in all).
    """

    #: Whether the latent is stochastic (an ELBO with a KL term) or a point (autoencoder).
    variational = True

    def __init__(self, schema: Schema, config: BaselineConfig) -> None:
        super().__init__()
        self.schema = schema
        self.config = config
        self.likelihoods = make_likelihoods(schema, config)
        self.filler = UnobservedFill(schema)

    @abstractmethod
    def encode(self, x: torch.Tensor, observed: torch.Tensor, noise: bool = True) -> Posterior:
        """Posterior over the latent blocks given the observed modalities (``noise``: fill with noise)."""

    @abstractmethod
    def decode(self, z: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
        """Raw data head ``[N, D]`` (see :class:`~vsae.model.likelihoods.Likelihoods`)."""

    @torch.no_grad()
    def impute(self, x: torch.Tensor, observed: torch.Tensor, stochastic: bool = False) -> torch.Tensor:
        """Raw data head for imputation: the posterior mean (zero fill) by default, one draw otherwise."""
        posterior = self.encode(x, observed, noise=stochastic)
        z = posterior.rsample() if stochastic else posterior.mean
        return self.decode(z, observed)


class _EncoderDecoder(LatentBaseline):
    """One MLP encoder on ``x̃`` (and the mask, when conditioned) and one MLP decoder on ``z``."""

    mask_conditioned = False

    def __init__(self, schema: Schema, config: BaselineConfig) -> None:
        super().__init__(schema, config)
        n_modalities, width = len(schema), schema.total_width
        latent = config.latent_dim * n_modalities
        condition = n_modalities if self.mask_conditioned else 0
        outputs = 2 * latent if self.variational else latent
        self.encoder = mlp(width + condition, config.encoder_hidden, outputs, config.depth, config.batch_norm)
        self.decoder = mlp(latent + condition, config.decoder_hidden, width, config.depth, config.batch_norm)

    def _with_mask(self, h: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
        return torch.cat([h, observed.to(h.dtype)], dim=1) if self.mask_conditioned else h

    def encode(self, x: torch.Tensor, observed: torch.Tensor, noise: bool = True) -> Posterior:
        stats = self.encoder(self._with_mask(self.filler(x, observed, noise), observed))
        if self.variational:
            return as_posterior(stats, len(self.schema))
        code = stats.view(stats.shape[0], len(self.schema), -1)
        # A point mass: zero variance, so a "draw" is the code itself.
        return Posterior(code, torch.full_like(code, float("-inf")))

    def decode(self, z: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
        return self.decoder(self._with_mask(z.flatten(1), observed))


class AE(_EncoderDecoder):
    """Deterministic autoencoder ``x̃ → z → x``."""

    variational = False


class VAE(_EncoderDecoder):
    """Variational autoencoder ``q(z | x̃)``, ``p(x | z)``."""


class CVAEMask(_EncoderDecoder):
    """Conditional VAE on the mask: ``q(z | x̃, m)``, ``p(x | z, m)``, prior ``N(0, I)``."""

    mask_conditioned = True


def product_of_experts(experts: Posterior, present: torch.Tensor) -> Posterior:
    """Product of the present Gaussian experts and the prior expert ``N(0, I)``.

    ``experts`` holds ``[N, E, Z]`` means and log-variances, ``present`` ``[N, E]`` which experts take
    part. Precisions add, ``T = 1 + Σ_e T_e``; the mean is the precision-weighted mean
    ``Σ_e T_e μ_e / T`` (the prior's mean is 0). Returns ``[N, Z]``.
    """
    precision = torch.exp(-experts.logvar) * present.unsqueeze(-1).to(experts.mean.dtype)
    total = 1.0 + precision.sum(1)
    mean = (experts.mean * precision).sum(1) / total
    return Posterior(mean, -torch.log(total))


class MVAE(LatentBaseline):
    """Multimodal VAE: a product of unimodal Gaussian experts over one shared latent, one decoder."""

    def __init__(self, schema: Schema, config: BaselineConfig) -> None:
        super().__init__(schema, config)
        latent = config.latent_dim * len(schema)
        self.experts = UnimodalEncoders(
            schema, config.encoder_hidden, 2 * latent, config.depth, config.batch_norm
        )
        self.decoder = mlp(latent, config.decoder_hidden, schema.total_width, config.depth, config.batch_norm)

    def encode(self, x: torch.Tensor, observed: torch.Tensor, noise: bool = True) -> Posterior:
        mean, logvar = self.experts(self.filler(x, observed, noise)).chunk(2, dim=-1)
        joint = product_of_experts(Posterior(mean, logvar.clamp(-LOGVAR_LIMIT, LOGVAR_LIMIT)), observed)
        blocks = (x.shape[0], len(self.schema), self.config.latent_dim)
        return Posterior(joint.mean.view(blocks), joint.logvar.view(blocks))

    def decode(self, z: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
        return self.decoder(z.flatten(1))


class ObservedELBO:
    """Negative ELBO of the observed modalities, per sample::

        Σ_{i∈O} −log p(x_i | z, ·) + kl_weight · KL(q(z | ·) ‖ N(0, I))

    with one reparameterised draw of ``z``; a deterministic autoencoder has no KL term. Satisfies
    :class:`vsae.train.Objective` (there is no warm-up: ``past_warmup`` is ignored).
    """

    def __init__(self, kl_weight: float = 1.0) -> None:
        self.kl_weight = kl_weight

    def __call__(
        self, model: LatentBaseline, x: torch.Tensor, observed: torch.Tensor, past_warmup: bool
    ) -> LossTerms:
        posterior = model.encode(x, observed)
        raw = model.decode(posterior.rsample(), observed)
        target = model.filler(x, observed, noise=False)  # unobserved cells are never scored, nor read
        weight = observed.to(raw.dtype)
        observed_nll = (model.likelihoods.negative_log_likelihood(raw, target) * weight).sum(1).mean()
        if model.variational:
            kl_blocks = posterior.kl_to_standard_normal()
        else:
            kl_blocks = raw.new_zeros(posterior.mean.shape[:2])
        kl = kl_blocks.sum(1).mean()
        zero = raw.new_zeros(())
        total = observed_nll + self.kl_weight * kl
        return LossTerms(total, observed_nll, zero, zero, kl, kl_blocks.mean(0).detach())
