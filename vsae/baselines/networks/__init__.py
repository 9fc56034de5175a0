"""Neural baseline networks and their training objectives, on encoded data (any :class:`Schema`).

Each network satisfies :class:`vsae.train.Network` and each objective :class:`vsae.train.Objective`,
so they train with :func:`vsae.train.train_network` and impute with :func:`vsae.inference.impute`
exactly as VSAE does. :mod:`vsae.baselines.neural` pairs them by benchmark name.
"""

from vsae.baselines.networks.autoencoders import (
    AE,
    MVAE,
    VAE,
    CVAEMask,
    LatentBaseline,
    ObservedELBO,
    product_of_experts,
)
from vsae.baselines.networks.common import BaselineConfig, count_parameters, widen_to_match
from vsae.baselines.networks.miwae import MIWAE, ImportanceSamples, ImportanceWeightedBound
from vsae.baselines.networks.references import VAEAC, ConditionalReference, CVAEData, RandomMaskELBO

__all__ = [
    "AE",
    "MIWAE",
    "MVAE",
    "VAE",
    "VAEAC",
    "BaselineConfig",
    "CVAEData",
    "CVAEMask",
    "ConditionalReference",
    "ImportanceSamples",
    "ImportanceWeightedBound",
    "LatentBaseline",
    "ObservedELBO",
    "RandomMaskELBO",
    "count_parameters",
    "product_of_experts",
    "widen_to_match",
]
