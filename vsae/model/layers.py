"""Building blocks: plain MLPs and *grouped* MLPs that run one small network per modality at once.

The paper's tabular model has one unimodal encoder per feature. Looping over M small networks in Python
costs M kernel launches per layer; :class:`GroupedLinear` stacks their weights into ``[G, in, out]`` and
applies all of them with one batched matrix product.
"""

from __future__ import annotations

import math

import torch
from torch import nn

LEAKY_SLOPE = 0.01


class GroupedLinear(nn.Module):
    """``G`` independent affine maps applied at once: ``[N, G, in] -> [N, G, out]``."""

    def __init__(self, groups: int, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(groups, in_features, out_features))
        self.bias = nn.Parameter(torch.empty(groups, out_features))
        # Same initialisation as nn.Linear, independently for every group.
        bound = 1.0 / math.sqrt(in_features)
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # bmm over the group axis: [G, N, in] @ [G, in, out] -> [G, N, out]
        return torch.baddbmm(self.bias.unsqueeze(1), x.transpose(0, 1), self.weight).transpose(0, 1)


class GroupedBatchNorm(nn.Module):
    """Batch normalisation of every (group, feature) pair of a ``[N, G, F]`` tensor."""

    def __init__(self, groups: int, features: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm1d(groups * features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, groups, features = x.shape
        norm = self.norm
        if self.training:
            return norm(x.reshape(n, groups * features)).reshape(n, groups, features)
        # At inference batch norm is a fixed affine map per (group, feature). Broadcasting it over
        # ``x`` keeps the group-major memory that GroupedLinear returns, where BatchNorm1d needs a copy
        # into ``[N, G·F]`` first (docs/performance.md: about 3× faster; training keeps BatchNorm1d,
        # whose fused backward beats the broadcast version).
        scale = norm.weight * torch.rsqrt(norm.running_var + norm.eps)
        shift = norm.bias - norm.running_mean * scale
        return torch.addcmul(shift.view(groups, features), x, scale.view(groups, features))


def mlp(
    in_features: int, hidden: int, out_features: int, depth: int = 3, batch_norm: bool = True
) -> nn.Sequential:
    """The paper's MLP shape (Appendix B): ``depth`` hidden layers, batch norm after the first.

    ``in -> hidden (BN, LeakyReLU) -> hidden (LeakyReLU) -> … -> out``. The paper's decoder listing
    omits the activations between linear layers; a stack of linear layers would collapse into one
    affine map, so the listing is read as a typo and every hidden layer has its LeakyReLU.
    """
    layers: list[nn.Module] = []
    width = in_features
    for layer in range(depth):
        layers.append(nn.Linear(width, hidden))
        if layer == 0 and batch_norm:
            layers.append(nn.BatchNorm1d(hidden))
        layers.append(nn.LeakyReLU(LEAKY_SLOPE))
        width = hidden
    layers.append(nn.Linear(width, out_features))
    return nn.Sequential(*layers)


def grouped_mlp(
    groups: int, in_features: int, hidden: int, out_features: int, depth: int = 3, batch_norm: bool = True
) -> nn.Sequential:
    """:func:`mlp` for ``G`` groups at once, on ``[N, G, in]`` tensors."""
    layers: list[nn.Module] = []
    width = in_features
    for layer in range(depth):
        layers.append(GroupedLinear(groups, width, hidden))
        if layer == 0 and batch_norm:
            layers.append(GroupedBatchNorm(groups, hidden))
        layers.append(nn.LeakyReLU(LEAKY_SLOPE))
        width = hidden
    layers.append(GroupedLinear(groups, width, out_features))
    return nn.Sequential(*layers)
