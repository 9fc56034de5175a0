"""The uncertainty metrics: interval coverage and expected calibration error (pure functions)."""

from __future__ import annotations

import numpy as np
import pytest

from vsae.errors import VSAEError
from vsae.metrics import expected_calibration_error, interval_coverage


def test_interval_coverage_counts_scored_cells_inside_their_bounds():
    truth = np.array([[0.0, 1.0], [2.0, 3.0]])
    low, high = truth - 0.5, truth + 0.5
    high[0, 0] = -0.1  # the first cell falls outside its interval
    scored = np.array([[True, True], [False, True]])
    assert interval_coverage(truth, low, high, scored) == pytest.approx(2 / 3)
    assert interval_coverage(truth, truth, truth, scored) == 1.0  # bounds are inclusive


def test_interval_coverage_refuses_mismatched_or_empty_input():
    values = np.zeros((2, 2))
    with pytest.raises(VSAEError, match="one shape"):
        interval_coverage(values, values, values[:1], np.ones((2, 2), dtype=bool))
    with pytest.raises(VSAEError, match="no cell"):
        interval_coverage(values, values, values, np.zeros((2, 2), dtype=bool))


def test_calibrated_predictions_have_an_ece_near_zero_and_overconfident_ones_do_not():
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.3, 1.0, 200_000)
    calibrated = rng.random(confidence.size) < confidence
    assert expected_calibration_error(confidence, calibrated) < 0.005
    overconfident = rng.random(confidence.size) < confidence - 0.2
    assert expected_calibration_error(confidence, overconfident) == pytest.approx(0.2, abs=0.01)


def test_ece_is_the_share_weighted_gap_per_bin():
    confidence = np.array([0.95, 0.95, 0.55, 0.55])
    correct = np.array([True, False, True, True])
    # bin [0.9, 1): accuracy 0.5 vs 0.95; bin [0.5, 0.6): accuracy 1 vs 0.55; each holds half.
    assert expected_calibration_error(confidence, correct) == pytest.approx(0.5 * 0.45 + 0.5 * 0.45)
    with pytest.raises(VSAEError, match=r"\[0, 1\]"):
        expected_calibration_error(np.array([1.5]), np.array([True]))
