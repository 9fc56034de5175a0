"""Generated data of the timed parts: correlated Gaussian tables, image-like pixels, their schemas."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch

from vsae.data import mcar_mask, modality_mcar_mask
from vsae.schema import Modality, Schema

#: Share of modalities (or cells) missing in the generated data.
MISSING_RATE = 0.3


def correlated_gaussian(rows: int, columns: int, seed: int) -> np.ndarray:
    """Standardised-scale Gaussian data with correlated columns (a low-rank factor model plus noise)."""
    rng = np.random.default_rng(seed)
    factors = max(2, columns // 4)
    loadings = rng.standard_normal((factors, columns)) / math.sqrt(factors)
    return rng.standard_normal((rows, factors)) @ loadings + 0.5 * rng.standard_normal((rows, columns))


def numerical_schema(columns: int) -> Schema:
    return Schema(tuple(Modality(f"x{j}", "numerical", 1) for j in range(columns)))


def image_schema(width: int = 784) -> Schema:
    """Two image modalities, as MNIST+MNIST."""
    side = math.isqrt(width)
    return Schema(tuple(Modality(name, "image", width, shape=(side, side)) for name in ("digit", "partner")))


def synthetic_table(rows: int, columns: int, missing_rate: float, seed: int) -> pd.DataFrame:
    """A float64 table of correlated Gaussian columns with MCAR missing cells."""
    values = correlated_gaussian(rows, columns, seed)
    values[~mcar_mask(values.shape, missing_rate, seed + 1)] = np.nan
    return pd.DataFrame(values, columns=[f"x{j}" for j in range(columns)])


def encoded_pool(schema: Schema, rows: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Encoded training rows and their mask: correlated Gaussians, or uniform pixels for images."""
    if all(m.kind == "image" for m in schema):
        rng = np.random.default_rng(seed)
        x = rng.random((rows, schema.total_width), dtype=np.float32)
        observed = modality_mcar_mask(rows, len(schema), MISSING_RATE, seed + 1)
    else:
        x = correlated_gaussian(rows, schema.total_width, seed).astype(np.float32)
        observed = mcar_mask((rows, len(schema)), MISSING_RATE, seed + 1)
    x[~np.repeat(observed, [m.width for m in schema], axis=1)] = 0.0  # as the trainer stores them
    return torch.as_tensor(x), torch.as_tensor(observed)
