"""Imputation, multiple imputation, uncertainty and generation on encoded data, in row chunks.

Shared by the table front-end (:mod:`vsae.imputer`) and the multimodal one (:mod:`vsae.multimodal`).
Everything returns NumPy arrays in encoded space; front-ends decode them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import torch

from vsae.model.vsae import VSAE

#: Rows imputed per forward pass; bounds peak memory of :func:`impute` on large inputs. Small on
#: purpose: an activation larger than glibc's largest mmap threshold (32 MiB) is a fresh memory mapping
#: whose pages fault in one by one, and at 65,536 rows of a 50-column table the kernel time that costs
#: exceeded the arithmetic (docs/performance.md). 1,024 rows keep the widest activation of a 50-column
#: model at 13 MiB, and the per-row arithmetic cost is the same as with larger chunks.
CHUNK_ROWS = 1_024


@contextmanager
def seeded(model: VSAE, seed: int | None) -> Iterator[None]:
    """Run with torch's RNG seeded (restored afterwards), so stochastic outputs are reproducible."""
    device = next(model.parameters()).device
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        if seed is not None:
            torch.manual_seed(seed)
        yield


def _chunks(
    model: VSAE,
    x: np.ndarray,
    observed: np.ndarray,
    compute: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
) -> np.ndarray:
    """Apply ``compute`` to row chunks moved to the model's device, writing into one output array
    (no list of parts to concatenate, which would hold the result twice)."""
    device = next(model.parameters()).device
    model.eval()
    out = np.empty((x.shape[0], model.schema.total_width), dtype=np.float32)
    with torch.no_grad():
        for start in range(0, x.shape[0], CHUNK_ROWS):
            stop = start + CHUNK_ROWS
            xb = torch.as_tensor(x[start:stop], dtype=torch.float32, device=device)
            ob = torch.as_tensor(observed[start:stop], device=device)
            out[start:stop] = compute(xb, ob).cpu().numpy()
    return out


def impute(model: VSAE, x: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Deterministic point imputation: posterior means, decoded to means / most likely classes."""
    return _chunks(model, x, observed, lambda xb, ob: model.likelihoods.mode(model.impute(xb, ob)))


def sample_imputations(
    model: VSAE, x: np.ndarray, observed: np.ndarray, n: int, seed: int | None
) -> np.ndarray:
    """``n`` stochastic imputations ``[n, N, D]``: latent draws from the selective proposal, then one
    draw of every class and bit, and numerical cells the decoder mean at the drawn latent plus the
    calibrated imputation noise (:meth:`vsae.model.likelihoods.Likelihoods.sample`)."""

    def draw(xb: torch.Tensor, ob: torch.Tensor) -> torch.Tensor:
        return model.likelihoods.sample(model.impute(xb, ob, True), imputation_noise=True)

    with seeded(model, seed):
        return np.stack([_chunks(model, x, observed, draw) for _ in range(n)])


def predictive_moments(
    model: VSAE, x: np.ndarray, observed: np.ndarray, n: int, seed: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Predictive mean and standard deviation ``[N, D]`` over ``n`` latent draws.

    The standard deviation of a numerical column combines the spread of the decoder mean over the
    latent draws with the calibrated imputation noise (the two variances add); for categorical blocks
    the mean is the predictive class distribution.
    """
    if n < 2:
        raise ValueError(f"at least 2 draws are needed to measure a spread, got {n}")
    total = np.zeros((x.shape[0], model.schema.total_width))
    total_sq = np.zeros_like(total)
    with seeded(model, seed):
        for _ in range(n):  # running sums: memory stays that of one draw
            draw = _chunks(
                model, x, observed, lambda xb, ob: model.likelihoods.mean(model.impute(xb, ob, True))
            )
            total += draw
            total_sq += np.square(draw, dtype=np.float64)
    mean = total / n
    latent_variance = np.maximum(total_sq / n - np.square(mean), 0.0)
    noise_variance = model.likelihoods.imputation_noise_per_column().cpu().numpy()
    return mean, np.sqrt(latent_variance + noise_variance)


def generate(model: VSAE, n: int, seed: int | None) -> tuple[np.ndarray, np.ndarray]:
    """``n`` samples from the prior: encoded data (classes and bits drawn) and their mask.

    The mask is True where the generated pattern has the modality observed.
    """
    model.eval()
    with seeded(model, seed), torch.no_grad():
        raw, mask = model.generate(n)
        return model.likelihoods.sample(raw).cpu().numpy(), mask.cpu().numpy()
