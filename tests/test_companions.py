"""The classical companions (vsae.companions): when ``"auto"`` uses them, how they enter the imputation,
the draws and a saved model folder. Real model and real classical imputers, small budgets, seeded."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vsae import VSAEImputer
from vsae.companions import COMPANION_MAX_ROWS, DEFAULT_CLASSICAL_WEIGHT, default_classical_weight
from vsae.data import load_uci
from vsae.data.masking import apply_mask, mcar_mask
from vsae.errors import VSAEError
from vsae.schema import infer_table_schema

BUDGET = {"epochs": 6, "warmup_epochs": 2, "ensemble_size": 1, "device": "cpu", "random_state": 0}


@pytest.fixture(scope="module")
def glass() -> pd.DataFrame:
    frame = load_uci("glass").frame
    return apply_mask(frame, mcar_mask(frame.shape, 0.3, 0))


@pytest.fixture(scope="module")
def by_weight(glass: pd.DataFrame) -> dict[float, VSAEImputer]:
    """The same network (same seed, same rows) with the companions' weight 0, 0.5 and 1."""
    return {w: VSAEImputer(classical_weight=w, **BUDGET).fit(glass) for w in (0.0, 0.5, 1.0)}


def test_auto_uses_the_companions_on_numerical_tables_only(glass: pd.DataFrame) -> None:
    schema = infer_table_schema(glass)
    assert default_classical_weight(schema, len(glass)) == DEFAULT_CLASSICAL_WEIGHT
    assert default_classical_weight(schema, COMPANION_MAX_ROWS) == DEFAULT_CLASSICAL_WEIGHT
    assert default_classical_weight(schema, COMPANION_MAX_ROWS + 1) == 0.0
    labelled = glass.assign(kind=np.where(glass.iloc[:, 0] > glass.iloc[:, 0].median(), "a", "b"))
    assert default_classical_weight(infer_table_schema(labelled), len(labelled)) == 0.0
    assert VSAEImputer(**BUDGET).fit(labelled).companions_ is None


def test_the_imputation_is_the_weighted_mean_of_the_network_and_the_companions(
    glass: pd.DataFrame, by_weight: dict[float, VSAEImputer]
) -> None:
    """Weight 0 is the network alone, 1 the companions alone; 0.5 lies halfway in every missing cell,
    and observed cells are never changed."""
    imputed = {w: imputer.transform(glass).to_numpy(dtype=float) for w, imputer in by_weight.items()}
    missing = glass.isna().to_numpy()
    np.testing.assert_allclose(imputed[0.5], (imputed[0.0] + imputed[1.0]) / 2, rtol=1e-5, atol=1e-6)
    assert not np.allclose(imputed[0.0][missing], imputed[1.0][missing])
    for values in imputed.values():
        np.testing.assert_array_equal(values[~missing], glass.to_numpy(dtype=float)[~missing])
    assert by_weight[0.0].companions_ is None
    # Weight 1 leaves nothing of the network: another network gives the same imputation.
    other_network = VSAEImputer(classical_weight=1.0, **{**BUDGET, "epochs": 3}).fit(glass)
    np.testing.assert_allclose(other_network.transform(glass).to_numpy(dtype=float), imputed[1.0], rtol=1e-6)


def test_the_draws_centre_on_the_blended_imputation(
    glass: pd.DataFrame, by_weight: dict[float, VSAEImputer]
) -> None:
    """Each draw is moved by exactly what the companions add to ``transform``'s imputation."""
    network, blended = by_weight[0.0], by_weight[0.5]
    shift = blended.transform(glass).to_numpy(dtype=float) - network.transform(glass).to_numpy(dtype=float)
    alone = network.sample_imputations(glass, n=3, random_state=5)
    moved = blended.sample_imputations(glass, n=3, random_state=5)
    for a, m in zip(alone, moved, strict=True):
        np.testing.assert_allclose(m.to_numpy(dtype=float) - a.to_numpy(dtype=float), shift, atol=1e-4)


def test_a_saved_imputer_refits_the_same_companions(glass: pd.DataFrame, by_weight, tmp_path) -> None:
    blended = by_weight[0.5]
    blended.save(tmp_path / "model")
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["config.json", "model.safetensors"]
    loaded = VSAEImputer.load(tmp_path / "model")
    pd.testing.assert_frame_equal(loaded.transform(glass), blended.transform(glass))


@pytest.mark.parametrize("weight", [-0.1, 1.5, "half", True])
def test_an_invalid_weight_is_refused_before_training(glass: pd.DataFrame, weight: object) -> None:
    with pytest.raises(VSAEError, match="classical_weight"):
        VSAEImputer(classical_weight=weight, **BUDGET).fit(glass)
