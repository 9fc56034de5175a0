"""Calibration of the predictive distribution in vsae.model.likelihoods: the categorical temperature,
the imputation noise added to numerical draws, and its layout over the encoded columns. The values
are set by hand here (training sets them from held-out cells; see tests/test_calibration.py)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vsae.model.likelihoods import Likelihoods
from vsae.schema import Modality, Schema

SCHEMA = Schema(
    (
        Modality("num", "numerical", 1),
        Modality("cat", "categorical", 3, categories=("a", "b", "c")),
        Modality("vec", "numerical", 2),
        Modality("two", "categorical", 2, categories=(0, 1)),
    )
)


def raw_rows(n: int = 5) -> torch.Tensor:
    return 2.0 * torch.randn(n, SCHEMA.total_width, generator=torch.Generator().manual_seed(0))


def test_neutral_calibration_until_it_is_set() -> None:
    likelihoods = Likelihoods(SCHEMA)
    assert torch.equal(likelihoods.categorical_temperature, torch.ones(2))
    assert torch.equal(likelihoods.imputation_noise_variance, torch.ones(3))
    # Calibration is saved with the model (the index tables are not).
    assert {"categorical_temperature", "imputation_noise_variance"} <= set(likelihoods.state_dict())


def test_temperature_divides_each_categorical_blocks_logits() -> None:
    """A temperature T turns the logits l of a block into l / T: probabilities flatten for T > 1 and
    sharpen for T < 1, the most likely class stays the same, and the loss uses the same probabilities."""
    likelihoods = Likelihoods(SCHEMA)
    likelihoods.categorical_temperature.copy_(torch.tensor([2.0, 0.5]))
    raw = raw_rows()
    mean, mode = likelihoods.mean(raw), likelihoods.mode(raw)
    target = torch.zeros_like(raw)
    for block, (index, temperature) in enumerate(((1, 2.0), (3, 0.5))):
        columns = SCHEMA.columns_of(index)
        expected = torch.softmax(raw[:, columns] / temperature, dim=1)
        torch.testing.assert_close(mean[:, columns], expected, msg=str(block))
        assert torch.equal(mode[:, columns].argmax(1), raw[:, columns].argmax(1))
        target[:, columns] = F.one_hot(
            torch.zeros(5, dtype=torch.long), SCHEMA.modalities[index].width
        ).float()
    nll = likelihoods.negative_log_likelihood(raw, target)
    torch.testing.assert_close(nll[:, 1], -torch.log(mean[:, SCHEMA.columns_of(1)][:, 0]))
    torch.testing.assert_close(nll[:, 3], -torch.log(mean[:, SCHEMA.columns_of(3)][:, 0]))


def test_imputation_noise_is_added_to_numerical_draws_only_when_asked() -> None:
    """Multiple-imputation draws of a numerical cell are the decoder's mean plus Gaussian noise of the
    calibrated variance (mean and variance checked over 20,000 draws); plain draws (pseudo-targets,
    generation) are the mean itself."""
    likelihoods = Likelihoods(SCHEMA)
    variance = torch.tensor([0.25, 4.0, 1e-4])
    likelihoods.imputation_noise_variance.copy_(variance)
    row = raw_rows(1)
    draws = 20_000
    numeric = likelihoods.numerical_columns
    torch.manual_seed(0)
    plain = likelihoods.sample(row.expand(draws, -1))
    assert torch.equal(plain[:, numeric], row[:, numeric].expand(draws, -1))
    noisy = likelihoods.sample(row.expand(draws, -1), imputation_noise=True)[:, numeric]
    # Standard errors: sqrt(v / n) for the mean, about v * sqrt(2 / n) for the variance; 5 of each.
    mean_error = (noisy.mean(0) - row[0, numeric]).abs()
    assert (mean_error < 5 * torch.sqrt(variance / draws)).all(), mean_error
    variance_error = (noisy.var(0) - variance).abs()
    assert (variance_error < 5 * variance * (2 / draws) ** 0.5).all(), noisy.var(0)


def test_imputation_noise_laid_out_over_the_encoded_columns() -> None:
    likelihoods = Likelihoods(SCHEMA)
    likelihoods.imputation_noise_variance.copy_(torch.tensor([0.5, 2.0, 3.0]))
    #                                  num  cat (3)        vec (2)   two (2)
    expected = torch.tensor([0.5, 0.0, 0.0, 0.0, 2.0, 3.0, 0.0, 0.0])
    assert torch.equal(likelihoods.imputation_noise_per_column(), expected)
