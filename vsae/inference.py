"""Imputation, multiple imputation, uncertainty and generation on encoded data, in row chunks.

Shared by the table front-end (:mod:`vsae.imputer`) and the multimodal one (:mod:`vsae.multimodal`).
Everything returns NumPy arrays in encoded space; front-ends decode them. ``model`` is one network or
an ensemble (:class:`vsae.model.ensemble.VSAEEnsemble`), whose predictive distribution is the
equal-weight mixture of its members': point imputations average the members' expected values, and
the ``i``-th draw of a stochastic method comes from member ``i mod k``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import torch

from vsae.errors import VSAEError
from vsae.model.ensemble import VSAEEnsemble, averaged_mean, members_of
from vsae.model.likelihoods import MIN_NOISE_VARIANCE
from vsae.model.vsae import VSAE

Model = VSAE | VSAEEnsemble

#: Rows imputed per forward pass; bounds peak memory of :func:`impute` on large inputs. Small on
#: purpose: an activation larger than glibc's largest mmap threshold (32 MiB) is a fresh memory mapping
#: whose pages fault in one by one, and at 65,536 rows of a 50-column table the kernel time that costs
#: exceeded the arithmetic (docs/performance.md). 1,024 rows keep the widest activation of a 50-column
#: model at 13 MiB, and the per-row arithmetic cost is the same as with larger chunks.
CHUNK_ROWS = 1_024


@contextmanager
def seeded(model: Model, seed: int | None) -> Iterator[None]:
    """Run with torch's RNG seeded (restored afterwards), so stochastic outputs are reproducible."""
    device = next(model.parameters()).device
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        if seed is not None:
            torch.manual_seed(seed)
        yield


def _chunks(
    model: Model,
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


def check_importance_samples(samples: object) -> int | str:
    """``importance_samples`` as an int or ``"auto"``, or a clear error when it is neither ``"auto"``
    nor an integer ≥ 0."""
    if isinstance(samples, str) and samples == "auto":
        return samples
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 0:
        raise VSAEError(f"importance_samples must be 'auto' or an integer ≥ 0, got {samples!r}")
    return int(samples)


def impute(
    model: Model,
    x: np.ndarray,
    observed: np.ndarray,
    importance_samples: int = 0,
    prior_weight: float = 1.0,
    seed: int | None = None,
) -> np.ndarray:
    """Point imputation, decoded to means / most likely classes (of the members' averaged expected
    values, for an ensemble).

    With ``importance_samples`` 0 it is deterministic: each network decodes its posterior mean. With
    more, each network's expected values are importance-weighted over that many latent draws
    (:meth:`vsae.model.vsae.VSAE.importance_weighted_mean`, prior-over-proposal ratio raised to
    ``prior_weight``), the draws seeded by ``seed`` and shared by every row.
    """
    members = members_of(model)
    likelihoods = members[0].likelihoods
    if importance_samples > 0:
        device = next(model.parameters()).device
        with seeded(model, seed):  # one set of draws per network, shared by every row
            draws = [
                torch.randn(importance_samples, len(m.schema), m.config.latent_dim, device=device)
                for m in members
            ]

        def weighted(xb: torch.Tensor, ob: torch.Tensor) -> torch.Tensor:
            pairs = zip(members, draws, strict=True)
            means = [m.importance_weighted_mean(xb, ob, noise, prior_weight) for m, noise in pairs]
            return likelihoods.point(torch.stack(means).mean(0))

        return _chunks(model, x, observed, weighted)
    if len(members) == 1:
        return _chunks(model, x, observed, lambda xb, ob: likelihoods.mode(members[0].impute(xb, ob)))
    return _chunks(model, x, observed, lambda xb, ob: likelihoods.point(averaged_mean(members, xb, ob)))


def sample_imputations(
    model: Model, x: np.ndarray, observed: np.ndarray, n: int, seed: int | None
) -> np.ndarray:
    """``n`` stochastic imputations ``[n, N, D]``: latent draws from the selective proposal, then one
    draw of every class and bit, and numerical cells the decoder mean at the drawn latent plus the
    calibrated imputation noise (:meth:`vsae.model.likelihoods.Likelihoods.sample`).

    An ensemble's draw ``i`` comes from member ``i mod k``; its numerical cells are then moved to the
    ensemble's point imputation plus the member draw's deviation from the member's own, scaled so that
    the draws spread as :func:`predictive_moments` says (the mixture of the members would spread wider
    than the ensemble's error, see there).
    """
    members = members_of(model)

    def drawn_by(member: VSAE) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        return lambda xb, ob: member.likelihoods.sample(member.impute(xb, ob, True), imputation_noise=True)

    with seeded(model, seed):
        draws = np.stack([_chunks(model, x, observed, drawn_by(members[i % len(members)])) for i in range(n)])
        if len(members) == 1:
            return draws
        _, std, member_variance, points = _ensemble_moments(members, x, observed, max(n, 2 * len(members)))
    numerical = members[0].likelihoods.numerical_columns.cpu().numpy()
    point = points.mean(axis=0)
    scale = std[:, numerical] / np.sqrt(np.maximum(member_variance[:, numerical], 1e-12))
    for i, draw in enumerate(draws):
        deviation = draw[:, numerical] - points[i % len(members)][:, numerical]
        draw[:, numerical] = point[:, numerical] + scale * deviation
    return draws


def _expected_at_draw(member: VSAE, x: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
    return member.likelihoods.mean(member.impute(x, observed, True))


def _expected_at_mean(member: VSAE, x: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
    return member.likelihoods.mean(member.impute(x, observed))


def predictive_moments(
    model: Model, x: np.ndarray, observed: np.ndarray, n: int, seed: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Predictive mean and standard deviation ``[N, D]`` over ``n`` latent draws.

    The standard deviation of a numerical column combines the spread of the decoder mean over the
    latent draws with the calibrated imputation noise (the two variances add); for categorical blocks
    the mean is the predictive class distribution. For an ensemble, see :func:`_ensemble_moments`.
    """
    if n < 2:
        raise VSAEError(f"at least 2 draws are needed to measure a spread, got {n}")
    members = members_of(model)
    if len(members) > 1:
        with seeded(model, seed):
            mean, std, _, _ = _ensemble_moments(members, x, observed, n)
        return mean, std
    total = np.zeros((x.shape[0], model.schema.total_width))
    total_sq = np.zeros_like(total)
    with seeded(model, seed):
        for _ in range(n):  # running sums: memory stays that of one draw
            draw = _chunks(model, x, observed, functools.partial(_expected_at_draw, model))
            total += draw
            total_sq += np.square(draw, dtype=np.float64)
    mean = total / n
    latent_variance = np.maximum(total_sq / n - np.square(mean), 0.0)
    noise_variance = model.likelihoods.imputation_noise_per_column().cpu().numpy()
    return mean, np.sqrt(latent_variance + noise_variance)


def _ensemble_moments(
    members: list[VSAE], x: np.ndarray, observed: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """An ensemble's predictive mean and standard deviation, its members' mean variance and their
    point imputations ``[k, N, D]`` (expected values at each one's posterior mean).

    Each member's predictive variance ``V_j`` (:func:`predictive_moments`, about ``n / k`` draws,
    at least 2) estimates the squared error of its point imputation ``p_j``, as it was calibrated to
    on its held-out cells. The ensemble imputes ``p̄``, the members' average, whose squared error is
    the members' average squared error less their spread around ``p̄`` (Krogh and Vedelsby's
    ambiguity decomposition: ``(p̄ − y)² = mean_j (p_j − y)² − mean_j (p_j − p̄)²``), so its variance
    is ``mean_j V_j − mean_j (p_j − p̄)²`` (at least :data:`MIN_NOISE_VARIANCE`). The mixture of
    the members, ``mean_j V_j + mean_j (p_j − p̄)²``, would claim far more: on the small tables its
    intervals covered up to 99% of missing values where 95% were meant (docs/model.md). The
    predictive mean of categorical blocks is the members' average class distribution.
    """
    draws = max(2, -(-n // len(members)))
    moments = [predictive_moments(member, x, observed, draws, None) for member in members]
    points = np.stack([_chunks(m, x, observed, functools.partial(_expected_at_mean, m)) for m in members])
    member_variance = np.mean([np.square(std) for _, std in moments], axis=0)
    ambiguity = points.var(axis=0)
    variance = np.maximum(member_variance - ambiguity, MIN_NOISE_VARIANCE)
    mean = np.mean([mean for mean, _ in moments], axis=0)
    return mean, np.sqrt(variance), member_variance, points


def generate(model: Model, n: int, seed: int | None) -> tuple[np.ndarray, np.ndarray]:
    """``n`` samples from the prior: encoded data (classes and bits drawn) and their mask.

    The mask is True where the generated pattern has the modality observed. An ensemble's rows come
    from its members in turn (row ``i`` from member ``i mod k``).
    """
    members = members_of(model)
    model.eval()
    with seeded(model, seed), torch.no_grad():
        k = min(len(members), n)
        parts = [members[j].generate(len(range(j, n, k))) for j in range(k)]
        values = torch.empty(n, model.schema.total_width, device=parts[0][0].device)
        mask = torch.empty(n, len(model.schema), dtype=torch.bool, device=values.device)
        for j, (raw, part_mask) in enumerate(parts):
            values[j::k] = members[j].likelihoods.sample(raw)
            mask[j::k] = part_mask
        return values.cpu().numpy(), mask.cpu().numpy()
