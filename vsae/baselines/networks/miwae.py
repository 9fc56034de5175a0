"""MIWAE (Mattei & Frellsen 2019): a VAE trained with an importance-weighted bound of the observed
data's likelihood, imputing with importance-weighted means.

With ``K`` draws ``z_k ~ q(z | x̃)`` and weights ``w_k = p(x_o | z_k) p(z_k) / q(z_k | x̃)``:

- training maximises ``log (1/K) Σ_k w_k`` (``K = 20``, as the paper's comparison uses), only the
  observed modalities entering ``p(x_o | z)``;
- a single imputation is the self-normalised importance-sampling estimate of ``E[x_u | x_o]``:
  ``Σ_k ŵ_k E[x_u | z_k]`` with ``ŵ = w / Σ w`` (class probabilities are averaged, then the most
  likely class is taken); a stochastic imputation resamples one ``z_k`` with probabilities ``ŵ``.

The encoder sees ``x̃`` without the mask, as in the original (which fills with zeros; here unobserved
cells are filled like every other network of the library, see
:class:`~vsae.model.encoders.UnobservedFill`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from vsae.baselines.networks.autoencoders import VAE
from vsae.baselines.networks.common import raw_from_mean, standard_normal_log_density
from vsae.errors import VSAEError
from vsae.model.objective import LossTerms
from vsae.model.vsae import Posterior

#: Rows × importance samples decoded at once when imputing (bounds peak memory).
SAMPLE_ROWS = 1 << 14
#: Seed of the draws of a deterministic imputation: the same input always gets the same estimate, and
#: successive validation scores compare the networks, not the Monte Carlo noise.
IMPUTATION_SEED = 0


@dataclass
class ImportanceSamples:
    """``K`` draws for ``N`` rows: raw data heads ``[K, N, D]``, ``log p(x_o | z_k)`` and the log
    importance weights ``[K, N]``, and the proposal they were drawn from."""

    posterior: Posterior
    raw: torch.Tensor
    log_likelihood: torch.Tensor
    log_weights: torch.Tensor

    def normalised_weights(self) -> torch.Tensor:
        """Self-normalised weights ``ŵ`` ``[K, N]``: non-negative, summing to 1 over the draws."""
        return torch.softmax(self.log_weights, dim=0)


class MIWAE(VAE):
    """VAE architecture; :meth:`impute` is the importance-weighted conditional mean."""

    def importance_samples(
        self,
        x: torch.Tensor,
        observed: torch.Tensor,
        n_samples: int,
        noise: bool = True,
        kl_weight: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> ImportanceSamples:
        """Draw ``n_samples`` latent codes per row and weigh them.

        ``log w_k = log p(x_o | z_k) + kl_weight · (log p(z_k) − log q(z_k | x̃))``; ``kl_weight = 1``
        is MIWAE's bound, other values weigh the prior the way the trainer's ``kl_weight`` does for the
        other networks. The draws come from ``generator`` (torch's global one by default).
        """
        n, n_modalities = observed.shape
        posterior = self.encode(x, observed, noise)
        mean, logvar = posterior.mean.flatten(1), posterior.logvar.flatten(1)
        noise_draws = torch.randn(n_samples, *mean.shape, device=x.device, generator=generator)
        z = mean + noise_draws * torch.exp(0.5 * logvar)
        observed_k = observed.repeat(n_samples, 1)
        raw = self.decode(z.flatten(0, 1), observed_k)
        target = self.filler(x, observed, noise=False).repeat(n_samples, 1)
        nll = self.likelihoods.negative_log_likelihood(raw, target).view(n_samples, n, n_modalities)
        log_likelihood = -(nll * observed.to(nll.dtype)).sum(-1)
        log_prior = standard_normal_log_density(z)
        # z = mean + σ·ε, so log q(z) = log N(ε; 0, I) − Σ log σ.
        log_proposal = standard_normal_log_density(noise_draws) - 0.5 * logvar.sum(-1)
        log_weights = log_likelihood + kl_weight * (log_prior - log_proposal)
        return ImportanceSamples(posterior, raw.view(n_samples, n, -1), log_likelihood, log_weights)

    @torch.no_grad()
    def impute(self, x: torch.Tensor, observed: torch.Tensor, stochastic: bool = False) -> torch.Tensor:
        """Importance-weighted mean of ``imputation_samples`` draws, deterministic (zero-filled input,
        draws seeded with :data:`IMPUTATION_SEED`); or with ``stochastic`` one draw resampled by its
        weight, from torch's global generator."""
        n_samples = self.config.imputation_samples
        generator = None if stochastic else torch.Generator(x.device).manual_seed(IMPUTATION_SEED)
        rows = max(1, SAMPLE_ROWS // n_samples)
        parts = []
        for start in range(0, x.shape[0], rows):
            samples = self.importance_samples(
                x[start : start + rows],
                observed[start : start + rows],
                n_samples,
                noise=stochastic,
                generator=generator,
            )
            weights = samples.normalised_weights()
            if stochastic:
                chosen = torch.multinomial(weights.T, 1).squeeze(1)
                parts.append(samples.raw[chosen, torch.arange(chosen.numel(), device=x.device)])
                continue
            means = self.likelihoods.mean(samples.raw.flatten(0, 1)).view_as(samples.raw)
            parts.append(raw_from_mean(self.likelihoods, torch.einsum("kn,knd->nd", weights, means)))
        return torch.cat(parts, dim=0)


class ImportanceWeightedBound:
    """Negative MIWAE bound ``−log (1/K) Σ_k w_k``, averaged over the batch.

    ``observed_nll`` and ``kl`` of the returned terms are diagnostics (mean ``−log p(x_o | z_k)`` over
    the draws, analytic ``KL(q ‖ N(0, I))``); ``total`` is the bound, not their sum. Satisfies
    :class:`vsae.train.Objective` (``past_warmup`` is ignored).
    """

    def __init__(self, kl_weight: float = 1.0, n_samples: int = 20) -> None:
        if n_samples < 1:
            raise VSAEError(f"n_samples must be at least 1, got {n_samples}")
        self.kl_weight = kl_weight
        self.n_samples = n_samples

    def __call__(self, model: MIWAE, x: torch.Tensor, observed: torch.Tensor, past_warmup: bool) -> LossTerms:
        samples = model.importance_samples(x, observed, self.n_samples, kl_weight=self.kl_weight)
        bound = torch.logsumexp(samples.log_weights, dim=0) - math.log(self.n_samples)
        kl_blocks = samples.posterior.kl_to_standard_normal().detach()
        zero = bound.new_zeros(())
        return LossTerms(
            total=-bound.mean(),
            observed_nll=-samples.log_likelihood.mean(),
            unobserved_nll=zero,
            mask_nll=zero,
            kl=kl_blocks.sum(1).mean(),
            kl_per_modality=kl_blocks.mean(0),
        )
