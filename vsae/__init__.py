"""vsae: the Variational Selective Autoencoder for partially observed data."""

from vsae.errors import VSAEError

__all__ = ["VSAEError"]
__version__ = "0.1.0"
