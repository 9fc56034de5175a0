"""Tests of the benchmark metrics (vsae.metrics) on hand-computed examples and on a real table."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vsae.data import load_uci, mcar_mask, train_test_split_indices
from vsae.errors import VSAEError
from vsae.metrics import combined, modality_mse, nrmse, nrmse_pooled, pfc


@pytest.fixture
def numeric_tables() -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    truth = pd.DataFrame(
        {
            "a": [1.0, 2.0, 3.0, 4.0],  # std (ddof=0) = sqrt(1.25)
            "b": [0.0, 0.0, 2.0, 2.0],  # std (ddof=0) = 1
            "c": [5.0, 6.0, 7.0, 8.0],  # never scored
            "k": pd.Categorical(["x", "y", "x", "y"]),  # not a numerical column
        }
    )
    imputed = truth.copy()
    imputed.loc[2, "a"] = 0.0  # error 3 on the one scored cell of a
    imputed.loc[0, "b"] = 1.0  # error 1 on a scored cell of b
    scored = np.zeros(truth.shape, dtype=bool)
    scored[2, 0] = True
    scored[[0, 1], 1] = True  # row 1 of b is imputed exactly
    return truth, imputed, scored


def test_nrmse_hand_computed(numeric_tables) -> None:
    truth, imputed, scored = numeric_tables
    # a: RMSE 3 / std sqrt(1.25); b: RMSE sqrt((1 + 0) / 2) / 1; c: no scored cell, skipped
    expected = (3 / math.sqrt(1.25) + math.sqrt(0.5)) / 2
    assert nrmse(truth, imputed, scored, ["a", "b", "c"]) == pytest.approx(expected)
    # the std is that of the whole truth column, not of the scored cells (that of a would be 0)
    assert nrmse(truth, imputed, scored, ["a"]) == pytest.approx(3 / math.sqrt(1.25))


def test_nrmse_skips_constant_columns_and_needs_something_to_score(numeric_tables) -> None:
    truth, imputed, scored = numeric_tables
    truth = truth.assign(c=1.0)
    imputed = imputed.assign(c=2.0)
    scored[:, 2] = True
    assert nrmse(truth, imputed, scored, ["b", "c"]) == pytest.approx(math.sqrt(0.5))
    with pytest.raises(VSAEError, match="no numerical column"):
        nrmse(truth, imputed, np.zeros_like(scored), ["a", "b"])


def test_nrmse_rejects_bad_inputs(numeric_tables) -> None:
    truth, imputed, scored = numeric_tables
    with pytest.raises(VSAEError, match="shape"):
        nrmse(truth, imputed.iloc[:3], scored, ["a"])
    with pytest.raises(VSAEError, match="shape"):
        nrmse(truth, imputed, scored[:3], ["a"])
    with pytest.raises(VSAEError, match="boolean"):
        nrmse(truth, imputed, scored.astype(int), ["a"])
    with pytest.raises(VSAEError, match="not in the table"):
        nrmse(truth, imputed, scored, ["zzz"])
    left_nan = imputed.copy()
    left_nan.loc[2, "a"] = np.nan
    with pytest.raises(VSAEError, match="NaN"):
        nrmse(truth, left_nan, scored, ["a"])
    raw_missing = truth.copy()
    raw_missing.loc[2, "a"] = np.nan
    with pytest.raises(VSAEError, match="no true value"):
        nrmse(raw_missing, imputed, scored, ["a"])


def test_nrmse_pooled_hand_computed() -> None:
    truth = pd.DataFrame({"a": [0.0, 5.0, 10.0], "b": [1.0, 3.0, 5.0]})
    imputed = pd.DataFrame({"a": [0.0, 5.0, 5.0], "b": [2.0, 3.0, 5.0]})
    scored = np.array([[False, True], [True, False], [True, False]])
    # scaled by truth's min/max: a -> x / 10, b -> (x - 1) / 4
    # errors [0, -0.5, 0.25], true values [0.5, 1, 0]: mse 0.3125 / 3, var (ddof=1) 0.25
    assert nrmse_pooled(truth, imputed, scored, ["a", "b"]) == pytest.approx(math.sqrt(0.3125 / 3 / 0.25))
    # with a reference where a spans [0, 20]: errors [0, -0.25, 0.25], true [0.25, 0.5, 0], var 0.0625
    reference = pd.DataFrame({"a": [0.0, 20.0], "b": [1.0, 5.0]})
    assert nrmse_pooled(truth, imputed, scored, ["a", "b"], minmax_reference=reference) == pytest.approx(
        math.sqrt(0.125 / 3 / 0.0625)
    )


def test_nrmse_pooled_rejects_degenerate_inputs() -> None:
    truth = pd.DataFrame({"a": [0.0, 5.0, 10.0]})
    one_cell = np.array([[True], [False], [False]])
    with pytest.raises(VSAEError, match="at least two"):
        nrmse_pooled(truth, truth, one_cell, ["a"])
    with pytest.raises(VSAEError, match="minmax_reference"):
        nrmse_pooled(truth, truth, ~one_cell, ["a"], minmax_reference=pd.DataFrame({"b": [0.0]}))


def test_pfc_hand_computed() -> None:
    truth = pd.DataFrame(
        {
            "s": pd.Categorical(["a", "b", "a", "b"]),
            "i": pd.Categorical([0, 1, 1, 0]),
            "never": pd.Categorical(["u", "u", "v", "v"]),
        }
    )
    imputed = pd.DataFrame(
        {
            "s": ["a", "a", "a", "a"],  # object dtype is fine: values are compared
            "i": [0, 1, 0, 0],
            "never": ["v", "v", "u", "u"],  # all wrong, but never scored
        }
    )
    scored = np.zeros(truth.shape, dtype=bool)
    scored[[0, 1, 3], 0] = True  # 2 errors out of 3
    scored[2, 1] = True  # 1 error out of 1
    assert pfc(truth, imputed, scored, ["s", "i", "never"]) == pytest.approx((2 / 3 + 1) / 2)
    imputed_float = imputed.assign(i=[0.0, 1.0, 1.0, 0.0])  # 1.0 == 1
    assert pfc(truth, imputed_float, scored, ["i"]) == 0.0
    with pytest.raises(VSAEError, match="left a scored cell missing"):
        pfc(truth, imputed.assign(i=[0, 1, None, 0]), scored, ["i"])


def test_modality_mse_and_combined() -> None:
    truth = np.zeros((3, 4))
    imputed = np.array([[0.5] * 4, [1.0] * 4, [2.0] * 4])
    # rows 0 and 1 scored: (4 * 0.25 + 4 * 1) / 8; row 2 is ignored
    assert modality_mse(truth, imputed, np.array([True, True, False])) == pytest.approx(0.625)
    assert modality_mse(truth, imputed, np.array([False, False, True])) == pytest.approx(4.0)
    assert combined({"digit": 0.25, "partner": 0.5}) == pytest.approx(0.75)
    assert combined([0.1, 0.2]) == pytest.approx(0.3)
    with pytest.raises(VSAEError, match="shape"):
        modality_mse(truth, imputed[:2], np.array([True, True]))
    with pytest.raises(VSAEError, match="boolean"):
        modality_mse(truth, imputed, np.array([1, 1, 0]))
    with pytest.raises(VSAEError, match="no sample"):
        modality_mse(truth, imputed, np.zeros(3, dtype=bool))
    with pytest.raises(VSAEError):
        combined({})


def test_mean_imputation_scores_nrmse_one_on_white_wine(data_root: Path) -> None:
    table = load_uci("white_wine", data_root)
    _, test_rows = train_test_split_indices(len(table.frame), seed=0)
    truth = table.frame.iloc[test_rows].reset_index(drop=True)
    scored = ~mcar_mask(truth.shape, 0.5, seed_or_rng=0)
    # impute each masked cell with the mean of the true test column: RMSE ~ std of the test column
    imputed = truth.where(~scored, truth.mean(), axis=1)
    score = nrmse(truth, imputed, scored, table.numerical)
    assert score == pytest.approx(1.0, abs=0.05)
    assert nrmse(truth, truth, scored, table.numerical) == 0.0
    # the pooled form on min-max scaled data is below 1 for per-column means (it also counts the
    # spread between columns), so it must not be confused with the protocol's NRMSE
    assert nrmse_pooled(truth, imputed, scored, table.numerical) < score
