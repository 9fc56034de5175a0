"""The edges of the benchmark metrics (vsae.metrics): which columns count, what scaling a constant
column gets, integer inputs, and the exact message of every refusal (a user reading a failed cell
must be told what is wrong, in words that name the column)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from vsae.errors import VSAEError
from vsae.metrics import combined, modality_mse, nrmse, nrmse_pooled, pfc


def frames(**columns: list[Any]) -> pd.DataFrame:
    return pd.DataFrame(columns)


# ---------------------------------------------------------------------------------- which columns


def test_nrmse_skips_unscored_and_constant_columns_wherever_they_are() -> None:
    """A column with no scored cell, or a constant one, is skipped; the columns after it still count."""
    truth = frames(empty=[1.0, 2.0, 3.0, 4.0], constant=[5.0] * 4, real=[0.0, 2.0, 4.0, 6.0])
    imputed = truth.copy()
    imputed.loc[0, "real"] = 3.0  # error 3 on one of two scored cells
    scored = np.zeros(truth.shape, dtype=bool)
    scored[:2, 1] = True
    scored[:2, 2] = True
    expected = np.sqrt(9.0 / 2) / np.std([0.0, 2.0, 4.0, 6.0])
    assert nrmse(truth, imputed, scored, ["empty", "constant", "real"]) == pytest.approx(expected)


def test_nrmse_pooled_skips_unscored_columns_wherever_they_are() -> None:
    truth = frames(empty=[1.0, 2.0, 3.0], real=[0.0, 5.0, 10.0])
    imputed = truth.copy()
    imputed.loc[0, "real"] = 5.0
    scored = np.zeros(truth.shape, dtype=bool)
    scored[:, 1] = True
    # Scaled by the column's range (10): errors (0.5, 0, 0), true values (0, 0.5, 1), ddof=1 variance 0.25.
    expected = np.sqrt((0.25 / 3) / 0.25)
    assert nrmse_pooled(truth, imputed, scored, ["empty", "real"]) == pytest.approx(expected)


def test_pfc_skips_unscored_columns_wherever_they_are() -> None:
    truth = frames(empty=["a", "b"], real=["x", "y"])
    imputed = frames(empty=["b", "a"], real=["x", "x"])
    scored = np.array([[False, True], [False, True]])
    assert pfc(truth, imputed, scored, ["empty", "real"]) == 0.5


# ---------------------------------------------------------------------------- scaling and dtypes


def test_nrmse_pooled_shifts_a_constant_reference_column_without_scaling() -> None:
    """missForest's min-max scaling of a column constant in the reference: a shift only (span 1)."""
    reference = frames(flat=[2.0, 2.0, 2.0], other=[0.0, 1.0, 2.0])
    truth = frames(flat=[0.0, 1.0, 2.0], other=[0.0, 1.0, 2.0])
    imputed = frames(flat=[1.0, 1.0, 2.0], other=[0.0, 1.0, 2.0])
    scored = np.array([[True, False], [True, False], [True, False]])
    # Scaled truth (x - 2) / 1 = (-2, -1, 0): variance 1 (ddof=1); errors (1, 0, 0): mean square 1/3.
    value = nrmse_pooled(truth, imputed, scored, ["flat"], minmax_reference=reference)
    assert value == pytest.approx(np.sqrt(1 / 3))
    # Pooled with a column of span 2, the shift-only scaling shows: flat scaled (-2, -1, 0) with
    # errors (1, 0, 0), other scaled (0, 0.5, 1) with errors (0, 0.5, 0).
    imputed.loc[1, "other"] = 2.0
    both = np.ones((3, 2), dtype=bool)
    pooled_truth = np.array([-2.0, -1.0, 0.0, 0.0, 0.5, 1.0])
    expected = np.sqrt(np.mean(np.array([1.0, 0, 0, 0, 0.5, 0]) ** 2) / np.var(pooled_truth, ddof=1))
    assert nrmse_pooled(truth, imputed, both, ["flat", "other"], minmax_reference=reference) == (
        pytest.approx(expected)
    )


def test_nrmse_pooled_with_exactly_two_cells_and_a_variance_of_one() -> None:
    """Two scored cells are enough (ddof=1); a variance of exactly 1 is nothing special."""
    truth = frames(v=[0.0, 1.0, 2.0])
    imputed = frames(v=[0.5, 1.0, 2.0])
    two = np.array([[True], [True], [False]])
    # Range 2: scaled truth (0, 0.5), variance 0.125; errors (0.25, 0): mean square 1/32.
    assert nrmse_pooled(truth, imputed, two, ["v"]) == pytest.approx(np.sqrt((1 / 32) / 0.125))
    reference = frames(v=[0.0, 1.0, 1.0])  # range 1: scaled truth (0, 1, 2), variance exactly 1
    all_three = np.ones((3, 1), dtype=bool)
    value = nrmse_pooled(truth, imputed, all_three, ["v"], minmax_reference=reference)
    assert value == pytest.approx(np.sqrt(0.25 / 3))


def test_nrmse_reads_nullable_integer_columns() -> None:
    """Nullable integers with missing (unscored) cells are numbers, not objects."""
    truth = pd.DataFrame({"n": pd.array([1, 2, None, 5], dtype="Int64")})
    imputed = pd.DataFrame({"n": pd.array([1, 4, 3, 5], dtype="Int64")})
    scored = np.array([[True], [True], [False], [False]])
    as_float = truth.astype("float64")
    expected = nrmse(as_float, imputed.astype("float64"), scored, ["n"])
    assert nrmse(truth, imputed, scored, ["n"]) == pytest.approx(expected)
    assert expected == pytest.approx(np.sqrt(2.0) / np.nanstd([1.0, 2.0, 5.0]))
    assert nrmse_pooled(truth, imputed, scored, ["n"]) == pytest.approx(
        nrmse_pooled(as_float, imputed.astype("float64"), scored, ["n"])
    )


def test_modality_mse_by_hand_on_integer_images_and_scalar_modalities() -> None:
    """Errors are computed in floating point (uint8 pixels must not wrap around) and a modality may
    be one value per sample (a 1-d array)."""
    truth = np.array([[0, 255], [10, 10]], dtype=np.uint8)
    imputed = np.array([[255, 0], [10, 10]], dtype=np.uint8)
    assert modality_mse(truth, imputed, np.array([True, False])) == 255.0**2
    assert modality_mse(imputed, truth, np.array([True, True])) == 255.0**2 / 2
    assert modality_mse(np.array([1.0, 2.0, 3.0]), np.array([1.5, 2.0, 0.0]), np.ones(3, bool)) == (
        pytest.approx((0.25 + 9.0) / 3)
    )
    assert combined({"a": 0.5, "b": 0.25}) == 0.75
    assert combined([1.0]) == 1.0


# ------------------------------------------------------------------------------------- refusals

TRUTH = frames(x=[1.0, 2.0, 3.0], c=["a", "b", "a"])
SCORED = np.array([[True, True], [True, True], [False, False]])


def _with(frame: pd.DataFrame, row: int, column: str, value: Any) -> pd.DataFrame:
    out = frame.copy()
    out[column] = out[column].astype(object) if isinstance(value, str) else out[column]
    out.loc[row, column] = value
    return out


REFUSALS: list[tuple[str, Callable[[], Any], str]] = [
    (
        "not frames",
        lambda: nrmse(TRUTH, TRUTH.to_numpy(), SCORED, ["x"]),
        "truth and imputed must be pandas DataFrames",
    ),
    (
        "columns",
        lambda: nrmse(TRUTH, TRUTH[["c", "x"]], SCORED, ["x"]),
        "truth and imputed must have the same columns in the same order",
    ),
    (
        "text as number",
        lambda: nrmse(_with(TRUTH, 2, "x", "seven"), TRUTH, SCORED, ["x"]),
        "column 'x' is not numerical",
    ),
    (
        "true NaN",
        lambda: nrmse(_with(TRUTH, 0, "x", np.nan), TRUTH, SCORED, ["x"]),
        "column 'x': a scored cell has no true value (cells missing in the raw file must not be scored)",
    ),
    (
        "imputed NaN",
        lambda: nrmse(TRUTH, _with(TRUTH, 0, "x", np.nan), SCORED, ["x"]),
        "column 'x': the imputation left a scored cell NaN or infinite",
    ),
    (
        "nrmse nothing",
        lambda: nrmse(TRUTH, TRUTH, np.zeros((3, 2), bool), ["x"]),
        "nrmse: no numerical column has a scored cell (and a non-zero std)",
    ),
    (
        "pooled nothing",
        lambda: nrmse_pooled(TRUTH, TRUTH, np.zeros((3, 2), bool), ["x"]),
        "nrmse_pooled: no numerical column has a scored cell",
    ),
    (
        "pooled one",
        lambda: nrmse_pooled(TRUTH, TRUTH, np.array([[True, False], [False] * 2, [False] * 2]), ["x"]),
        "nrmse_pooled needs at least two scored cells (the variance uses ddof=1)",
    ),
    (
        "pooled constant",
        lambda: nrmse_pooled(
            frames(x=[1.0, 1.0, 2.0]), frames(x=[1.0, 1.0, 2.0]), np.array([[True], [True], [False]]), ["x"]
        ),
        "nrmse_pooled: the true values of the scored cells are constant (variance 0)",
    ),
    (
        "pfc true NaN",
        lambda: pfc(_with(TRUTH, 0, "c", np.nan), TRUTH, SCORED, ["c"]),
        "column 'c': a scored cell has no true value (cells missing in the raw file must not be scored)",
    ),
    (
        "pfc imputed NaN",
        lambda: pfc(TRUTH, _with(TRUTH, 1, "c", np.nan), SCORED, ["c"]),
        "column 'c': the imputation left a scored cell missing",
    ),
    (
        "pfc nothing",
        lambda: pfc(TRUTH, TRUTH, np.zeros((3, 2), bool), ["c"]),
        "pfc: no categorical column has a scored cell",
    ),
    (
        "mse scalar",
        lambda: modality_mse(np.float64(1.0), np.float64(1.0), np.array(True)),
        "truth must have a sample axis",
    ),
    (
        "mse rows",
        lambda: modality_mse(np.zeros((5, 3)), np.zeros((5, 3)), np.ones(3, bool)),
        "scored_rows must be a boolean array of shape (5,), got dtype bool and shape (3,)",
    ),
    (
        "mse none",
        lambda: modality_mse(np.zeros((2, 3)), np.zeros((2, 3)), np.zeros(2, bool)),
        "modality_mse: no sample to score",
    ),
    (
        "mse NaN",
        lambda: modality_mse(np.zeros((2, 3)), np.full((2, 3), np.nan), np.ones(2, bool)),
        "modality_mse: NaN or infinite values among the scored samples",
    ),
    ("combined none", lambda: combined({}), "combined: no modality error given"),
]


@pytest.mark.parametrize(("call", "message"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_every_refusal_says_what_is_wrong(call: Callable[[], Any], message: str) -> None:
    with pytest.raises(VSAEError, match=f"^{re.escape(message)}$"):
        call()


# ------------------------------------------------------------------------------ uncertainty metrics


def test_a_calibrated_predictors_ece_is_the_binomial_bias_of_the_estimate() -> None:
    """Ten predictions of confidence 0.8 (one bin): a calibrated predictor's ECE is
    E|k/10 − 0.8| with k ~ Binomial(10, 0.8), 0.0966 exactly; the 200 seeded draws estimate it within
    their standard error (about 0.006). Certain predictions are always right (0); many predictions
    leave almost no bias."""
    from scipy import stats

    from vsae.metrics import calibrated_expected_calibration_error

    k = np.arange(11)
    exact = float(np.sum(stats.binom.pmf(k, 10, 0.8) * np.abs(k / 10 - 0.8)))
    assert exact == pytest.approx(0.0966, abs=1e-4)
    assert calibrated_expected_calibration_error(np.full(10, 0.8)) == pytest.approx(exact, abs=0.02)
    assert calibrated_expected_calibration_error(np.ones(30)) == 0.0
    assert calibrated_expected_calibration_error(np.full(20_000, 0.8), draws=20) < 0.005


def test_expected_calibration_error_by_hand() -> None:
    """Ten equal-width bins by default; each bin's |accuracy − mean confidence| weighted by its share.
    Confidences in four different bins (first, second, ninth, last) make every bin edge count."""
    from vsae.metrics import expected_calibration_error

    confidence = np.array([0.05, 0.15, 0.85, 0.95])
    correct = np.array([True, False, True, False])
    # Each alone in its bin: (0.95 + 0.15 + 0.15 + 0.95) / 4.
    assert expected_calibration_error(confidence, correct) == pytest.approx(0.55)
    assert expected_calibration_error(confidence, correct, bins=10) == pytest.approx(0.55)
    # Four bins: 0.05 and 0.15 share the first (accuracy 0.5, confidence 0.1), 0.85 and 0.95 the last.
    assert expected_calibration_error(confidence, correct, bins=4) == pytest.approx(0.5 * 0.4 + 0.5 * 0.4)
    # 0.05 and 0.12 straddle the edge at 0.1 (eight bins would merge them); 0.08 and 0.095 share the
    # first of ten bins (eleven would split them at 1/11).
    split = np.array([True, False])
    assert expected_calibration_error(np.array([0.05, 0.12]), split) == pytest.approx(0.5 * 0.95 + 0.5 * 0.12)
    assert expected_calibration_error(np.array([0.05, 0.12]), split, bins=8) == pytest.approx(0.5 - 0.085)
    assert expected_calibration_error(np.array([0.08, 0.095]), split) == pytest.approx(0.5 - 0.0875)
    # The ends of [0, 1] are valid confidences.
    assert expected_calibration_error(np.array([0.0, 1.0]), np.array([False, True])) == 0.0


def test_interval_coverage_includes_the_bounds() -> None:
    from vsae.metrics import interval_coverage

    truth = np.array([[1.0, 2.0], [3.0, 4.0]])
    low, high = np.array([[1.0, 0.0], [3.5, 0.0]]), np.array([[2.0, 2.0], [4.0, 1.0]])
    scored = np.array([[True, True], [True, False]])
    assert interval_coverage(truth, low, high, scored) == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (([0.5], [True, False]), "confidence and a boolean correct must be 1-D arrays of one length"),
        (([[0.5]], [[True]]), "confidence and a boolean correct must be 1-D arrays of one length"),
        (([0.5], [1]), "confidence and a boolean correct must be 1-D arrays of one length"),
        (([], np.array([], dtype=bool)), "expected_calibration_error: no prediction to score"),
        (([1.5], [True]), "confidence must lie in [0, 1]"),
        (([-0.5], [True]), "confidence must lie in [0, 1]"),
    ],
)
def test_expected_calibration_error_refusals(arguments: tuple[Any, Any], message: str) -> None:
    from vsae.metrics import expected_calibration_error

    confidence, correct = (np.asarray(a) for a in arguments)
    with pytest.raises(VSAEError, match=f"^{re.escape(message)}$"):
        expected_calibration_error(confidence, correct)


def test_interval_coverage_refusals() -> None:
    from vsae.metrics import interval_coverage

    ones = np.ones((2, 2))
    with pytest.raises(VSAEError, match=r"^interval_coverage: no cell to score$"):
        interval_coverage(ones, ones, ones, np.zeros((2, 2), dtype=bool))
    with pytest.raises(VSAEError, match="must have one shape"):
        interval_coverage(ones, ones, np.ones(2), np.ones((2, 2), dtype=bool))
