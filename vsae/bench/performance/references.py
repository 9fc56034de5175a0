"""The networks VSAE is timed against, each computing what it computes (or a plain VAE's loss).

- :class:`PlainVAE`: a VAE on the whole zero-filled vector, with the VSAE's widths and depth;
- :func:`naive_copy`: the VSAE with its unimodal encoders (:class:`LoopedMLPs`) and/or likelihoods
  (:class:`LoopedLikelihoods`) looping over modalities in Python;
- :func:`einsum_copy`: the VSAE with ``einsum`` grouped layers (:class:`EinsumGroupedLinear`);
- :func:`forward_macs`: the multiply-accumulates of a network, to compare the work done.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from vsae.model import VSAE, GroupedBatchNorm, GroupedLinear, Likelihoods, Posterior, VSAEConfig
from vsae.model.layers import mlp
from vsae.model.likelihoods import LOGVAR_LIMIT
from vsae.schema import Schema


class PlainVAE(nn.Module):
    """The reference: a VAE on the whole zero-filled vector, with the VSAE's widths and depth.

    Encoder ``D -> encoder_hidden … -> 2·L·M`` and decoder ``L·M -> decoder_hidden … -> D`` (the sizes
    of the VSAE's multimodal encoder and data decoder); the loss is the NLL of the observed cells plus
    the KL term, with the VSAE's likelihoods.
    """

    def __init__(self, schema: Schema, config: VSAEConfig) -> None:
        super().__init__()
        width, latent = schema.total_width, config.latent_dim * len(schema)
        self.likelihoods = Likelihoods(schema, config.numerical_variance, config.binary_loss)
        self.encoder = mlp(width, config.encoder_hidden, 2 * latent, config.depth, config.batch_norm)
        self.decoder = mlp(latent, config.decoder_hidden, width, config.depth, config.batch_norm)

    def loss(self, x: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
        mean, logvar = self.encoder(x).chunk(2, dim=-1)
        posterior = Posterior(mean, logvar.clamp(-LOGVAR_LIMIT, LOGVAR_LIMIT))
        nll = self.likelihoods.negative_log_likelihood(self.decoder(posterior.rsample()), x)
        return (nll * observed).sum(1).mean() + posterior.kl_to_standard_normal().mean()


class LoopedMLPs(nn.Module):
    """A grouped MLP unrolled into one ``nn.Sequential`` per group member, run in a Python loop.

    Built from the grouped network's weights, so it computes the same function: ``[N, G, in]`` in,
    ``[N, G, out]`` out. Each member reads the group's padded input width; the padding columns of a
    narrower modality are zeros and contribute nothing, as in the grouped network.
    """

    def __init__(self, grouped: nn.Sequential) -> None:
        super().__init__()
        self.members = nn.ModuleList(self._member(grouped, g) for g in range(groups_of(grouped)))

    @staticmethod
    def _member(grouped: nn.Sequential, g: int) -> nn.Sequential:
        layers: list[nn.Module] = []
        for layer in grouped:
            if isinstance(layer, GroupedLinear):
                _, in_features, out_features = layer.weight.shape
                linear = nn.Linear(in_features, out_features)
                linear.weight.data.copy_(layer.weight.data[g].T)
                linear.bias.data.copy_(layer.bias.data[g])
                layers.append(linear)
            elif isinstance(layer, GroupedBatchNorm):
                shared = layer.norm
                features = shared.num_features // groups_of(grouped)
                own = slice(g * features, (g + 1) * features)
                norm = nn.BatchNorm1d(features, eps=shared.eps, momentum=shared.momentum)
                norm.weight.data.copy_(shared.weight.data[own])
                norm.bias.data.copy_(shared.bias.data[own])
                norm.running_mean.copy_(shared.running_mean[own])
                norm.running_var.copy_(shared.running_var[own])
                norm.num_batches_tracked.copy_(shared.num_batches_tracked)
                layers.append(norm)
            else:
                layers.append(copy.deepcopy(layer))
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([member(x[:, g]) for g, member in enumerate(self.members)], dim=1)


def groups_of(grouped: nn.Sequential) -> int:
    """Number of groups of a grouped MLP."""
    return next(m for m in grouped if isinstance(m, GroupedLinear)).weight.shape[0]


class LoopedLikelihoods(Likelihoods):
    """Negative log-likelihoods computed modality by modality in a Python loop (the unfused reference)."""

    def __init__(self, schema: Schema, config: VSAEConfig) -> None:
        super().__init__(
            schema, config.numerical_variance, config.binary_loss, config.learn_numerical_variance
        )
        self.schema = schema

    def negative_log_likelihood(self, raw: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        per_modality = []
        numerical = 0
        for index, modality in enumerate(self.schema):
            columns = self.schema.columns_of(index)
            out, wanted = raw[:, columns], target[:, columns]
            if modality.kind == "numerical":
                logvar = self.numerical_logvar[numerical : numerical + modality.width]
                numerical += modality.width
                nll = 0.5 * ((out - wanted).square() * torch.exp(-logvar) + logvar)
            elif modality.kind == "categorical":
                nll = -(wanted * torch.log_softmax(out, dim=-1))
            elif self.binary_loss == "bce":
                nll = F.binary_cross_entropy_with_logits(out, wanted, reduction="none")
            else:
                nll = (torch.sigmoid(out) - wanted).square()
            per_modality.append(nll.sum(1))
        return torch.stack(per_modality, dim=1)


class EinsumGroupedLinear(GroupedLinear):
    """:class:`GroupedLinear` computed with ``einsum`` instead of ``baddbmm`` (a lever measured here)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("ngi,gio->ngo", x, self.weight) + self.bias


def naive_copy(model: VSAE, loop_encoders: bool = True, loop_likelihoods: bool = True) -> VSAE:
    """A copy of ``model`` with the same weights whose unimodal encoders and/or likelihoods loop over
    modalities in Python: the naive implementation the batched one must equal."""
    naive = copy.deepcopy(model)
    if loop_encoders:
        for g, grouped in enumerate(model.unimodal):
            naive.unimodal[g] = LoopedMLPs(grouped)
    if loop_likelihoods:
        looped = LoopedLikelihoods(model.schema, model.config)
        looped.load_state_dict(model.likelihoods.state_dict())
        naive.likelihoods = looped
    return naive


def einsum_copy(model: VSAE) -> VSAE:
    """A copy of ``model`` whose grouped layers use :class:`EinsumGroupedLinear`."""
    variant = copy.deepcopy(model)
    for grouped in variant.unimodal:
        for index, layer in enumerate(grouped):
            if isinstance(layer, GroupedLinear):
                replacement = EinsumGroupedLinear(*layer.weight.shape)
                replacement.load_state_dict(layer.state_dict())
                grouped[index] = replacement
    return variant


def forward_macs(model: nn.Module) -> int:
    """Multiply-accumulates per sample of one pass through every linear layer of ``model``."""
    total = 0
    for module in model.modules():
        if isinstance(module, nn.Linear):
            total += module.in_features * module.out_features
        elif isinstance(module, GroupedLinear):
            total += module.weight.numel()
    return total
