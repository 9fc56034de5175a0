"""The smallest VSAE network the tests fit, defined once for every test module that needs it."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

#: Imputer settings of a network just big enough to exercise every part of the model; two epochs, one
#: of them past the warm-up so that the two-pass pseudo-target runs too. Read-only: derive variants
#: with ``{**TINY_NETWORK, "epochs": 8}``.
TINY_NETWORK: Mapping[str, Any] = MappingProxyType(
    {
        "epochs": 2,
        "warmup_epochs": 1,
        "latent_dim": 2,
        "encoder_hidden": 8,
        "mask_decoder_hidden": 8,
        "decoder_hidden": 8,
        "depth": 1,
        "device": "cpu",
        "random_state": 0,
    }
)
