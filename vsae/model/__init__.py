"""The VSAE network and its objective, on encoded tensors only (no tables, no files).

- :class:`VSAE`, :class:`VSAEConfig`: the network (:mod:`vsae.model.vsae`) and its sizes and choices.
- :class:`SelectiveELBO`, :class:`LossTerms`: the Eq. 8 objective (:mod:`vsae.model.objective`).
- :class:`Likelihoods`: the per-type output heads (:mod:`vsae.model.likelihoods`).
- :class:`UnimodalEncoders`, :class:`UnobservedFill`: the per-modality encoders and the ``x̃`` fill
  (:mod:`vsae.model.encoders`); :class:`GroupedLinear`, :class:`GroupedBatchNorm`: the batched layers
  they are built of (:mod:`vsae.model.layers`).
- :class:`Posterior`, :class:`Decoded`: what the network returns.
- :class:`VSAEEnsemble`: networks fitted to the same data whose predictions are averaged
  (:mod:`vsae.model.ensemble`).

The model is described in docs/design.md; what it must never import is in docs/architecture.md.
"""

from vsae.model.encoders import UnimodalEncoders, UnobservedFill
from vsae.model.ensemble import VSAEEnsemble
from vsae.model.layers import GroupedBatchNorm, GroupedLinear
from vsae.model.likelihoods import LOGVAR_LIMIT, Likelihoods
from vsae.model.objective import LossTerms, SelectiveELBO
from vsae.model.vsae import VSAE, Decoded, Posterior, VSAEConfig

__all__ = [
    "LOGVAR_LIMIT",
    "VSAE",
    "Decoded",
    "GroupedBatchNorm",
    "GroupedLinear",
    "Likelihoods",
    "LossTerms",
    "Posterior",
    "SelectiveELBO",
    "UnimodalEncoders",
    "UnobservedFill",
    "VSAEConfig",
    "VSAEEnsemble",
]
