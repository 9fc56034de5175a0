"""Tests of the missingness mechanisms (vsae.data.masking). Masks: True = observed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vsae.data import (
    always_observed_count,
    apply_mask,
    expected_modality_missing_rate,
    load_uci,
    mar_mask,
    mcar_mask,
    minmax_scale_observed,
    missing_ratio,
    modality_mcar_mask,
    nmar_mask,
)
from vsae.errors import VSAEError

# --------------------------------------------------------------------------------------------- MCAR


@pytest.mark.parametrize("rate", [0.0, 0.3, 0.5, 0.7, 1.0])
def test_mcar_rate_is_close_to_target(rate: float) -> None:
    observed = mcar_mask((2000, 50), rate, seed_or_rng=0)
    assert observed.dtype == np.bool_ and observed.shape == (2000, 50)
    assert abs(missing_ratio(observed) - rate) < 0.01
    # independent cells: every column's rate is close to the target too
    assert np.all(np.abs((~observed).mean(axis=0) - rate) < 0.06)


def test_mcar_is_seeded() -> None:
    assert np.array_equal(mcar_mask((50, 7), 0.5, 3), mcar_mask((50, 7), 0.5, 3))
    assert not np.array_equal(mcar_mask((50, 7), 0.5, 3), mcar_mask((50, 7), 0.5, 4))
    assert np.array_equal(
        mcar_mask((50, 7), 0.5, np.random.default_rng(3)), mcar_mask((50, 7), 0.5, np.int64(3))
    )


@pytest.mark.parametrize("bad_seed", [None, 1.5, True, "0", -1])
def test_seeds_must_be_ints_or_generators(bad_seed) -> None:
    with pytest.raises(VSAEError):
        mcar_mask((3, 3), 0.5, bad_seed)


def test_mcar_rejects_bad_rates() -> None:
    for rate in (-0.1, 1.1):
        with pytest.raises(VSAEError, match="missing_rate"):
            mcar_mask((3, 3), rate, 0)


# ---------------------------------------------------------------------------------------------- MAR


@pytest.mark.parametrize(("m", "k"), [(1, 1), (3, 1), (4, 1), (8, 2), (9, 3), (11, 3), (22, 6), (30, 8)])
def test_always_observed_count_is_ceil_of_a_quarter(m: int, k: int) -> None:
    assert always_observed_count(m) == k


def test_always_observed_count_ignores_float_noise() -> None:
    assert always_observed_count(10, 0.3) == 3  # 0.3 * 10 == 3.0000000000000004


def test_mar_keeps_first_k_columns_observed_and_follows_the_rule() -> None:
    rng = np.random.default_rng(0)
    n, m = 20000, 8
    x = rng.random((n, m))
    x[: n // 2, :2] = 1.0  # rows with a large driving sum: P(missing) = sigmoid(2 / 8)
    x[n // 2 :, :2] = 0.0  # rows with a zero driving sum: P(missing) = sigmoid(0) = 0.5
    observed = mar_mask(x, seed_or_rng=1)
    assert observed[:, :2].all()
    high = 1.0 - observed[: n // 2, 2:].mean()
    low = 1.0 - observed[n // 2 :, 2:].mean()
    assert abs(high - 1 / (1 + np.exp(-0.25))) < 0.01
    assert abs(low - 0.5) < 0.01
    # the rule depends only on the driving columns: the others' values do not matter
    y = x.copy()
    y[:, 2:] = 1.0 - y[:, 2:]
    assert np.array_equal(mar_mask(y, 1), observed)


def test_mar_is_seeded_and_marks_raw_missing_cells() -> None:
    x = np.random.default_rng(2).random((100, 8))
    x[5, 0] = np.nan
    x[6, 4] = np.nan
    first = mar_mask(x, 7)
    assert np.array_equal(first, mar_mask(x, 7))
    assert not first[5, 0] and not first[6, 4]
    assert first[:, :2].sum() == 2 * 100 - 1


def test_mar_requires_scaled_data() -> None:
    with pytest.raises(VSAEError, match=r"\[0, 1\]"):
        mar_mask(np.array([[0.0, 5.0], [1.0, 2.0]]), 0)
    with pytest.raises(VSAEError, match="2-d"):
        mar_mask(np.zeros(4), 0)


def test_mar_on_yeast_realised_ratio(data_root: Path) -> None:
    frame = load_uci("yeast", data_root).frame
    observed = mar_mask(minmax_scale_observed(frame), 0)
    ratio = missing_ratio(observed)
    print(f"yeast MAR realised missing ratio: {ratio:.3f}")
    # 6 of 8 features masked with probability in [0.5, 0.562]
    assert 0.75 * 0.5 - 0.02 < ratio < 0.75 * 0.562 + 0.02
    assert observed[:, :2].all()


# --------------------------------------------------------------------------------------------- NMAR


def test_nmar_is_self_masking() -> None:
    zeros, ones = np.zeros((20000, 5)), np.ones((20000, 5))
    assert abs(missing_ratio(nmar_mask(zeros, 0)) - 0.5) < 0.01
    assert abs(missing_ratio(nmar_mask(ones, 0)) - 1 / (1 + np.exp(-1.0))) < 0.01
    x = np.random.default_rng(3).random((20000, 5))
    observed = nmar_mask(x, 4)
    assert (~observed)[x > 0.8].mean() > (~observed)[x < 0.2].mean() + 0.1
    assert np.array_equal(observed, nmar_mask(x, 4))


@pytest.mark.parametrize("name", ["yeast", "white_wine", "glass", "phishing"])
def test_nmar_realised_ratio_in_sensible_range(data_root: Path, name: str) -> None:
    frame = load_uci(name, data_root).frame
    observed = nmar_mask(minmax_scale_observed(frame), 0)
    ratio = missing_ratio(observed)
    print(f"{name} NMAR realised missing ratio: {ratio:.3f}")
    assert 0.5 - 0.02 < ratio < 1 / (1 + np.exp(-1.0)) + 0.02


def test_nmar_marks_raw_missing_cells(data_root: Path) -> None:
    frame = load_uci("mushroom", data_root).frame
    observed = nmar_mask(minmax_scale_observed(frame), 0)
    assert not observed[frame["stalk_root"].isna().to_numpy(), frame.columns.get_loc("stalk_root")].any()


# ------------------------------------------------------------------------------------------ scaling


def test_minmax_scale_observed_numerical_and_categorical() -> None:
    frame = pd.DataFrame(
        {
            "num": [2.0, 4.0, np.nan, 6.0],
            "const": [3.0, 3.0, 3.0, 3.0],
            "cat": pd.Categorical([1, -1, 0, np.nan], categories=[-1, 0, 1]),
            "letters": pd.Series(["b", "a", "c", "a"], dtype=object),
        }
    )
    scaled = minmax_scale_observed(frame)
    expected = np.array(
        [[0.0, 0.0, 1.0, 0.5], [0.5, 0.0, 0.0, 0.0], [np.nan, 0.0, 0.5, 1.0], [1.0, 0.0, np.nan, 0.0]]
    )
    np.testing.assert_array_equal(scaled, expected)
    array = minmax_scale_observed(np.array([[1.0, 10.0], [3.0, 20.0], [2.0, np.nan]]))
    np.testing.assert_array_equal(array, [[0.0, 0.0], [1.0, 1.0], [0.5, np.nan]])


def test_minmax_scale_on_a_real_categorical_table(data_root: Path) -> None:
    scaled = minmax_scale_observed(load_uci("phishing", data_root).frame)
    assert set(np.unique(scaled).tolist()) <= {0.0, 0.5, 1.0}
    assert np.nanmin(scaled) == 0.0 and np.nanmax(scaled) == 1.0


# --------------------------------------------------------------------------------------- modalities


@pytest.mark.parametrize(("rate", "m"), [(0.3, 2), (0.5, 2), (0.7, 2), (0.5, 3)])
def test_modality_mask_never_drops_every_modality(rate: float, m: int) -> None:
    observed = modality_mcar_mask(20000, m, rate, 0)
    assert observed.shape == (20000, m) and observed.dtype == np.bool_
    assert observed.any(axis=1).all()
    realised = missing_ratio(observed)
    print(f"modality MCAR r={rate} M={m}: realised missing ratio {realised:.3f}")
    assert abs(realised - expected_modality_missing_rate(rate, m)) < 0.01
    assert realised < rate


def test_modality_mask_restores_a_uniformly_chosen_modality() -> None:
    observed = modality_mcar_mask(40000, 2, 0.9, 0)
    only_first = np.mean(observed[:, 0] & ~observed[:, 1])
    only_second = np.mean(~observed[:, 0] & observed[:, 1])
    # P(only one observed) = r(1 - r) + r^2 / 2 = 0.495 for each modality
    assert abs(only_first - 0.495) < 0.01 and abs(only_second - 0.495) < 0.01


def test_modality_mask_edge_cases() -> None:
    assert modality_mcar_mask(100, 1, 0.9, 0).all()
    assert np.array_equal(modality_mcar_mask(30, 2, 0.5, 5), modality_mcar_mask(30, 2, 0.5, 5))
    assert modality_mcar_mask(0, 2, 0.5, 0).shape == (0, 2)
    with pytest.raises(VSAEError):
        modality_mcar_mask(10, 0, 0.5, 0)


# ------------------------------------------------------------------------------------ apply / ratio


def test_apply_mask_sets_nan_and_keeps_dtypes() -> None:
    frame = pd.DataFrame(
        {
            "x": [1.0, 2.0, 3.0],
            "c": pd.Categorical([0, 1, 1], categories=[0, 1]),
            "s": pd.Categorical(["a", "b", "a"]),
        }
    )
    observed = np.array([[True, False, True], [False, True, True], [True, True, False]])
    masked = apply_mask(frame, observed)
    assert masked.isna().to_numpy().tolist() == (~observed).tolist()
    assert masked.dtypes.equals(frame.dtypes)
    assert list(masked["c"].cat.categories) == [0, 1]
    assert masked.loc[0, "x"] == 1.0 and masked.loc[1, "c"] == 1 and masked.loc[0, "s"] == "a"
    assert frame.notna().all().all()  # the input is left untouched


def test_apply_mask_on_a_real_table_keeps_raw_missing_cells(data_root: Path) -> None:
    frame = load_uci("mushroom", data_root).frame
    observed = mcar_mask(frame.shape, 0.5, 0)
    masked = apply_mask(frame, observed)
    assert (masked.dtypes == "category").all()
    assert masked.isna().to_numpy().tolist() == (~observed | frame.isna().to_numpy()).tolist()


def test_apply_mask_validates_the_mask() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    with pytest.raises(VSAEError, match="shape"):
        apply_mask(frame, np.ones((3, 1), dtype=bool))
    with pytest.raises(VSAEError, match="boolean"):
        apply_mask(frame, np.ones((2, 1)))


def test_missing_ratio() -> None:
    assert missing_ratio(np.array([[True, False], [False, False]])) == 0.75
    with pytest.raises(VSAEError, match="boolean"):
        missing_ratio(np.array([1, 0]))
