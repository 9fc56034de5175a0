"""Ensembles of VSAE networks (vsae.model.ensemble): what is averaged, how they persist, and that
averaging helps on a real small table."""

from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from vsae import VSAEImputer, inference
from vsae.data import load_uci, masked_split
from vsae.data.masking import apply_mask, mcar_mask
from vsae.errors import VSAEError
from vsae.metrics import nrmse
from vsae.model.ensemble import VSAEEnsemble, members_of
from vsae.model.vsae import VSAE
from vsae.train import TrainConfig


@pytest.fixture(scope="module")
def fitted_ensemble(typed_masked: pd.DataFrame) -> VSAEImputer:
    """Three networks on the mixed table of conftest (numerical and categorical columns)."""
    return VSAEImputer(random_state=0, ensemble_size=3, epochs=6, warmup_epochs=2, device="cpu").fit(
        typed_masked
    )


def test_members_are_trained_apart_and_recorded(fitted_ensemble: VSAEImputer) -> None:
    members = members_of(fitted_ensemble.model_)
    assert isinstance(fitted_ensemble.model_, VSAEEnsemble) and len(members) == 3
    first = dict(members[0].named_parameters())
    for other in members[1:]:
        assert any(not np.array_equal(first[n].detach(), p.detach()) for n, p in other.named_parameters())
    assert len(fitted_ensemble.history_.members) == 2
    assert all(h.epochs for h in fitted_ensemble.history_.members)


def test_point_imputation_averages_the_members_expected_values(
    fitted_ensemble: VSAEImputer, typed_masked: pd.DataFrame
) -> None:
    x, observed = fitted_ensemble.codec_.encode(typed_masked)
    members = members_of(fitted_ensemble.model_)
    schema = fitted_ensemble.schema_
    ours = inference.impute(fitted_ensemble.model_, x, observed)
    alone = [inference.impute(member, x, observed) for member in members]
    expected = np.mean([_expected_values(member, x, observed) for member in members], axis=0)
    disagreements = 0
    for index, modality in enumerate(schema):
        columns = schema.columns_of(index)
        if modality.kind == "categorical":
            np.testing.assert_array_equal(ours[:, columns].argmax(1), expected[:, columns].argmax(1))
            votes = [a[:, columns].argmax(1) for a in alone]
            disagreements += sum(int((votes[0] != other).sum()) for other in votes[1:])
        else:
            np.testing.assert_allclose(ours[:, columns], expected[:, columns], rtol=1e-5, atol=1e-6)
            assert not np.allclose(ours[:, columns], alone[0][:, columns])
    assert disagreements > 0  # the members' classes differ, so the average is not any one member's


def _expected_values(member: VSAE, x: np.ndarray, observed: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        xb = torch.as_tensor(x, dtype=torch.float32)
        return member.likelihoods.mean(member.impute(xb, torch.as_tensor(observed))).numpy()


def test_draw_i_comes_from_member_i_mod_k(fitted_ensemble: VSAEImputer, typed_masked: pd.DataFrame) -> None:
    x, observed = fitted_ensemble.codec_.encode(typed_masked)
    first = members_of(fitted_ensemble.model_)[0]
    categorical = first.likelihoods.categorical_gather[first.likelihoods.categorical_valid].numpy()
    ours = inference.sample_imputations(fitted_ensemble.model_, x, observed, 2, seed=5)
    first_alone = inference.sample_imputations(first, x, observed, 2, seed=5)
    # same member, same random stream: the same classes drawn
    np.testing.assert_array_equal(ours[0][:, categorical], first_alone[0][:, categorical])
    assert not np.array_equal(ours[1][:, categorical], first_alone[1][:, categorical])  # another member's


@pytest.fixture(scope="module")
def disagreeing_ensemble(data_root: Path) -> tuple[VSAEImputer, np.ndarray, np.ndarray]:
    """Three members on glass (30% MCAR, 30 epochs), the second one's numerical outputs shifted by one
    standard deviation: members that disagree, so that the ensemble's variance (members' variance
    less their spread) and the members' mixture (plus their spread) are far apart."""
    frame = load_uci("glass", data_root).frame
    masked = apply_mask(frame, mcar_mask(frame.shape, 0.3, 0))
    imputer = VSAEImputer(random_state=0, ensemble_size=3, epochs=30, device="cpu").fit(masked)
    member = members_of(imputer.model_)[1]
    with torch.no_grad():
        member.data_decoder[-1].bias[member.likelihoods.numerical_columns] += 1.0
    x, observed = imputer.codec_.encode(masked)
    return imputer, x, observed


def test_the_ensemble_variance_is_the_members_variance_less_their_spread(
    disagreeing_ensemble: tuple[VSAEImputer, np.ndarray, np.ndarray],
) -> None:
    imputer, x, observed = disagreeing_ensemble
    members = members_of(imputer.model_)
    numerical = members[0].likelihoods.numerical_columns.numpy()
    missing = ~observed
    _, std = inference.predictive_moments(imputer.model_, x, observed, 90, seed=2)
    member_variance = np.mean(
        [np.square(inference.predictive_moments(m, x, observed, 30, seed=3)[1]) for m in members], axis=0
    )
    spread = np.stack([inference.impute(m, x, observed) for m in members]).var(axis=0)
    expected = np.maximum(member_variance - spread, 0.01)[:, numerical][missing]
    mixture = (member_variance + spread)[:, numerical][missing]
    ours = np.square(std[:, numerical][missing])
    assert np.median(spread[:, numerical][missing] / member_variance[:, numerical][missing]) > 0.1
    assert 0.9 < np.median(ours / expected) < 1.1  # 30 draws per member each way: a few % of noise
    assert np.median(ours / mixture) < 0.8


def test_draws_spread_as_the_predictive_standard_deviation_says(
    disagreeing_ensemble: tuple[VSAEImputer, np.ndarray, np.ndarray],
) -> None:
    """Numerical draws are centred on the ensemble's point imputation and scaled to its predictive
    standard deviation, not spread as the members' mixture."""
    imputer, x, observed = disagreeing_ensemble
    numerical = members_of(imputer.model_)[0].likelihoods.numerical_columns.numpy()
    missing = ~observed
    draws = inference.sample_imputations(imputer.model_, x, observed, 300, seed=1)
    _, std = inference.predictive_moments(imputer.model_, x, observed, 90, seed=2)
    ratio = draws.std(0)[:, numerical][missing] / std[:, numerical][missing]
    assert 0.9 < np.median(ratio) < 1.1  # 300 draws leave about ±4% per cell
    point = inference.impute(imputer.model_, x, observed)
    centre = np.abs(draws.mean(0) - point)[:, numerical][missing] / std[:, numerical][missing]
    assert np.median(centre) < 0.15  # 300 draws: the mean's own error is about 0.06 standard deviations


def test_save_and_load_keep_every_member(
    fitted_ensemble: VSAEImputer, typed_masked: pd.DataFrame, tmp_path: Path
) -> None:
    fitted_ensemble.save(tmp_path / "model")
    loaded = VSAEImputer.load(tmp_path / "model")
    assert len(members_of(loaded.model_)) == 3
    pd.testing.assert_frame_equal(loaded.transform(typed_masked), fitted_ensemble.transform(typed_masked))
    pd.testing.assert_frame_equal(
        loaded.uncertainty(typed_masked, random_state=3),
        fitted_ensemble.uncertainty(typed_masked, random_state=3),
    )
    data, mask = loaded.generate(7, random_state=4)
    expected_data, expected_mask = fitted_ensemble.generate(7, random_state=4)
    pd.testing.assert_frame_equal(data, expected_data)
    pd.testing.assert_frame_equal(mask, expected_mask)


def test_one_member_is_the_plain_network(typed_masked: pd.DataFrame) -> None:
    imputer = VSAEImputer(random_state=0, ensemble_size=1, epochs=3, warmup_epochs=1, device="cpu")
    assert isinstance(imputer.fit(typed_masked).model_, VSAE)
    assert imputer.history_.members == []


@pytest.mark.parametrize("size", [0, -1, "3", True, 2.0])
def test_an_invalid_ensemble_size_is_refused(size: object) -> None:
    with pytest.raises(VSAEError, match="ensemble_size"):
        TrainConfig(ensemble_size=size)  # type: ignore[arg-type]


def test_the_ensemble_beats_its_average_member_on_glass(data_root: Path) -> None:
    """Glass, MCAR 0.3, default settings, scored on held-out *observed* training cells (as the
    ablation is). Measured on seeds 0, 1, 2: the ensemble's NRMSE was 0.975, 0.982 and 0.975 of its
    five members' mean (0.940 against 0.965 ± 0.015 on seed 0), so the bound 0.99 on seed 0 fails an
    ensemble that does not average, with a margin above the worst seed of twice the seeds' spread."""
    table = load_uci("glass", data_root)
    split = masked_split(table.frame, seed=0, missing_rate=0.3)
    observed = split.train_masked.notna().to_numpy()
    kept = observed & mcar_mask(observed.shape, 0.2, 10_000)  # True: left observed for the fit
    fit_frame = apply_mask(split.train_masked, kept)
    cells = observed & ~kept
    ensemble = VSAEImputer(random_state=0, ensemble_size=5, device="cpu").fit(fit_frame)
    x, mask = ensemble.codec_.encode(fit_frame)

    def error(values: np.ndarray) -> float:
        imputed = ensemble.codec_.fill_missing(fit_frame, mask, values)
        return nrmse(split.train_masked, imputed, cells, table.numerical)

    ours = error(inference.impute(ensemble.model_, x, mask))
    members = [error(inference.impute(member, x, mask)) for member in members_of(ensemble.model_)]
    assert ours < 0.99 * statistics.mean(members), (ours, members)
