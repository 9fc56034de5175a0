"""An ensemble of VSAE networks fitted to the same data: their predictive distributions are averaged.

Each member is a complete :class:`~vsae.model.vsae.VSAE` trained on its own seed (weights, validation
split, shuffling), selected and calibrated on its own held-out cells. The ensemble's predictive
distribution is the equal-weight mixture of the members': point imputations average the members'
expected values (Gaussian means, class probabilities) before taking the most likely class, draws come
from one member each in turn. Averaging removes much of the variance a single network's fit has on a
small table (docs/model.md, "Ensembles").
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from vsae.errors import VSAEError
from vsae.model.vsae import VSAE, VSAEConfig
from vsae.schema import Schema


class VSAEEnsemble(nn.Module):
    """``k`` VSAE networks of one schema and one configuration, held as ``members``."""

    def __init__(self, members: Sequence[VSAE]) -> None:
        super().__init__()
        if len(members) < 2:
            raise VSAEError(f"an ensemble needs at least 2 members, got {len(members)}")
        first = members[0]
        if any(m.schema != first.schema or m.config != first.config for m in members[1:]):
            raise VSAEError("the members of an ensemble must share one schema and one configuration")
        self.members = nn.ModuleList(members)
        self.schema: Schema = first.schema
        self.config: VSAEConfig = first.config


def members_of(model: VSAE | VSAEEnsemble) -> list[VSAE]:
    """The networks whose predictions are averaged: an ensemble's members, or the network alone."""
    return list(model.members) if isinstance(model, VSAEEnsemble) else [model]


def averaged_mean(members: Sequence[VSAE], x: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
    """The members' expected values (at the posterior mean of each one's latent code), averaged."""
    total = members[0].likelihoods.mean(members[0].impute(x, observed))
    for member in members[1:]:
        total += member.likelihoods.mean(member.impute(x, observed))
    return total / len(members)


def build_model(schema: Schema, config: VSAEConfig, members: int) -> VSAE | VSAEEnsemble:
    """An untrained network (``members == 1``) or ensemble of ``members`` networks, e.g. to load
    weights into."""
    if members == 1:
        return VSAE(schema, config)
    return VSAEEnsemble([VSAE(schema, config) for _ in range(members)])
