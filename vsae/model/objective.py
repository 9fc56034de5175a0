"""The training objective, paper Eq. 8, as a swappable object (as Pyro does with its ELBO estimators).

Per sample::

    ELBO = Σ_{i∈O} log p(x_i | m, z) + Σ_{j∈U} E[log p(x_j | m, z)]
           + log p(m | z) − Σ_i KL(q(z_i|·) ‖ N(0, I))

The expectation over unobserved modalities is approximated with one pseudo-target per cell drawn from
the model itself (two passes: the first, without gradient, encodes and decodes a sample ``x̂_u``; the
second scores real ``x_o`` and the detached ``x̂_u``). Losses are summed over a modality's columns and
averaged over the batch. The true values of unobserved cells are never read: the targets of those cells
are replaced before any loss is computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from vsae.errors import VSAEError
from vsae.model.vsae import VSAE


@dataclass
class LossTerms:
    """Batch means of the terms of the negative ELBO; ``total`` carries the gradient."""

    total: torch.Tensor
    observed_nll: torch.Tensor
    unobserved_nll: torch.Tensor
    mask_nll: torch.Tensor
    kl: torch.Tensor
    kl_per_modality: torch.Tensor

    def detached(self) -> dict[str, torch.Tensor]:
        """Scalar terms as detached tensors (kept on the device until the epoch ends)."""
        return {
            "loss": self.total.detach(),
            "observed_nll": self.observed_nll.detach(),
            "unobserved_nll": self.unobserved_nll.detach(),
            "mask_nll": self.mask_nll.detach(),
            "kl": self.kl.detach(),
        }


#: How the pseudo-targets of unobserved categorical (and binary) cells are formed: one class drawn
#: from the model's predictive distribution (the paper), or that distribution itself. Numerical and
#: image cells take the predicted mean either way.
PseudoTargets = Literal["sampled", "expected"]
PSEUDO_TARGETS: tuple[PseudoTargets, ...] = ("sampled", "expected")


def check_pseudo_targets(value: object) -> None:
    """Refuse a ``pseudo_targets`` setting that is not one of :data:`PSEUDO_TARGETS`."""
    if value not in PSEUDO_TARGETS:
        raise VSAEError(f"pseudo_targets must be one of {PSEUDO_TARGETS}, got {value!r}")


class SelectiveELBO:
    """Negative Eq. 8 ELBO of a batch.

    Parameters
    ----------
    kl_weight : float
        Multiplier of the KL term (1 is the ELBO).
    unobserved_term : bool
        Whether the unobserved-modality term is used once the warm-up is over.
    modality_dropout : float
        Not in the paper (off by default): the share of *observed* modalities hidden from the
        encoders in each batch. Their true values stay targets, so the multimodal encoder and the
        decoder learn to predict a modality from the others with real, not pseudo, targets.
    pseudo_targets : {"sampled", "expected"}
        ``"sampled"`` (the paper): one class per unobserved categorical cell, drawn from the first
        pass's predictive distribution. ``"expected"``: the class probabilities themselves, so that
        the cross-entropy is the expectation of the cell's negative log-likelihood over that
        distribution (given the first pass's latent draw), without the noise of one draw.
    """

    def __init__(
        self,
        kl_weight: float = 1.0,
        unobserved_term: bool = True,
        modality_dropout: float = 0.0,
        pseudo_targets: PseudoTargets = "sampled",
    ) -> None:
        if not 0.0 <= modality_dropout < 1.0:
            raise VSAEError(f"modality_dropout must be in [0, 1), got {modality_dropout}")
        check_pseudo_targets(pseudo_targets)
        self.kl_weight = kl_weight
        self.unobserved_term = unobserved_term
        self.modality_dropout = modality_dropout
        self.pseudo_targets = pseudo_targets

    #: The warm-up is a burn-in for model selection (``TrainConfig.select_after_warmup``): no epoch
    #: of it is kept. With the unobserved term on, those epochs are trained without it; with it off,
    #: the floor still keeps selection from picking a network whose mask decoder has barely trained
    #: (an early epoch kept from a 12-epoch fit generated masks 0.53 missing for a table 0.70
    #: missing; tests/test_generation.py).
    warmup_is_burn_in = True

    def __call__(self, model: VSAE, x: torch.Tensor, observed: torch.Tensor, past_warmup: bool) -> LossTerms:
        unobserved_term = self.unobserved_term and past_warmup
        column_observed = observed[:, model.column_modality]
        target = torch.where(column_observed, x, torch.zeros_like(x))
        # What the encoders see: the observed mask, less the modalities dropped for this batch.
        seen = observed
        if self.modality_dropout > 0:
            seen = observed & (torch.rand(observed.shape, device=observed.device) >= self.modality_dropout)
        if unobserved_term:
            with torch.no_grad():
                first = model.encode(x, seen)
                raw = model.decode(first.rsample(), seen).data
                expected = self.pseudo_targets == "expected"
                pseudo = model.likelihoods.mean(raw) if expected else model.likelihoods.sample(raw)
            target = torch.where(column_observed, x, pseudo)

        posterior = model.encode(x, seen)
        decoded = model.decode(posterior.rsample(), seen)
        nll = model.likelihoods.negative_log_likelihood(decoded.data, target)
        weight = observed.to(nll.dtype)
        observed_nll = (nll * weight).sum(1).mean()
        unobserved_nll = (nll * (1 - weight)).sum(1).mean() if unobserved_term else nll.new_zeros(())
        mask_nll = (
            F.binary_cross_entropy_with_logits(decoded.mask_logits, weight, reduction="none").sum(1).mean()
        )
        kl_blocks = posterior.kl_to_standard_normal()
        kl = kl_blocks.sum(1).mean()
        total = observed_nll + unobserved_nll + mask_nll + self.kl_weight * kl
        return LossTerms(total, observed_nll, unobserved_nll, mask_nll, kl, kl_blocks.mean(0).detach())
