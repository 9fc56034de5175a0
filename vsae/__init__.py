"""vsae: the Variational Selective Autoencoder for partially observed data.

- :class:`VSAEImputer`: scikit-learn imputer for tables (DataFrame or array) with missing cells.
- :class:`MultimodalVSAE`: data given as ``{modality: array}`` with whole modalities missing.
"""

from vsae.errors import TrainingDivergedError, VSAEError
from vsae.imputer import VSAEImputer
from vsae.model.vsae import VSAEConfig
from vsae.multimodal import MultimodalVSAE
from vsae.train import TrainConfig

__all__ = ["MultimodalVSAE", "TrainConfig", "TrainingDivergedError", "VSAEConfig", "VSAEError", "VSAEImputer"]
__version__ = "0.1.0"
