"""The edges of the missingness mechanisms (vsae.data.masking): bounds that are inclusive, inputs
that are not float arrays, degenerate columns, and the exact message of every refusal."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from vsae.data.masking import (
    always_observed_count,
    apply_mask,
    as_rng,
    mar_mask,
    minmax_scale_observed,
    missing_ratio,
    modality_mcar_mask,
    nmar_mask,
)
from vsae.errors import VSAEError


def test_always_observed_fraction_bounds_are_inclusive_and_rounded_to_nine_decimals() -> None:
    """0 and 1 are valid shares (no driving feature / every feature); the product is rounded to 9
    decimals before the ceil, so noise below that never adds a feature."""
    assert always_observed_count(8, 0.0) == 0
    assert always_observed_count(8, 1.0) == 8
    assert always_observed_count(10, 0.200000000006) == 2
    with pytest.raises(VSAEError, match=r"^always_observed_fraction must be in \[0, 1\], got 1.5$"):
        always_observed_count(8, 1.5)


def test_mar_uses_the_given_always_observed_fraction() -> None:
    x = np.random.default_rng(0).random((400, 8))
    observed = mar_mask(x, 0, always_observed_fraction=0.5)
    assert observed[:, :4].all()
    assert not observed[:, 4:].all(axis=0).any()


def test_scaled_bounds_are_tolerant_by_1e_9_and_no_more() -> None:
    """Values within 1e-9 of [0, 1] are accepted (float noise of a min-max scaling); beyond, refused."""
    edges = np.array([[-1e-9, 1 + 1e-9], [0.5, 0.5]])
    assert mar_mask(edges, 0).shape == nmar_mask(edges, 0).shape == (2, 2)
    message = "x_scaled must be min-max scaled to [0, 1] (NaN where missing); use minmax_scale_observed first"
    for bad in (-0.5, 1.5, 2.5):
        with pytest.raises(VSAEError, match=f"^{re.escape(message)}$"):
            nmar_mask(np.array([[bad, 0.5]]), 0)


def test_mechanisms_read_lists_with_none_as_missing() -> None:
    rows = [[0.2, None, 0.9, 0.1], [0.4, 0.5, None, 1.0]]
    for observed in (mar_mask(rows, 0), nmar_mask(rows, 0)):
        assert not observed[0, 1] and not observed[1, 2]
    scaled = minmax_scale_observed([[1, None], [3, 4], [2, 6]])
    np.testing.assert_allclose(scaled, [[0.0, np.nan], [1.0, 0.0], [0.5, 1.0]])


def test_minmax_scale_of_degenerate_and_typed_columns() -> None:
    """A single category or a single observed value scales to 0 (NaN stays NaN); a range under 1 is
    still stretched to [0, 1]; two categories are 0 and 1; pandas string and nullable integer columns
    are read as what they are; no column gives an empty ``[n, 0]`` array."""
    frame = pd.DataFrame(
        {
            "one_class": pd.Series(["a", None, "a"], dtype="category"),
            "two_classes": ["x", "y", "x"],
            "text": pd.Series(["p", "q", None], dtype="string"),
            "one_value": [np.nan, 7.0, np.nan],
            "narrow": [0.0, 0.25, 0.5],
            "nullable": pd.array([1, None, 3], dtype="Int64"),
            "flags": [True, False, True],
        }
    )
    scaled = minmax_scale_observed(frame)
    assert scaled.dtype == np.float64
    expected = np.array(
        [
            [0.0, 0.0, 0.0, np.nan, 0.0, 0.0, 1.0],
            [np.nan, 1.0, 1.0, 0.0, 0.5, np.nan, 0.0],
            [0.0, 0.0, np.nan, np.nan, 1.0, 1.0, 1.0],
        ]
    )
    np.testing.assert_array_equal(scaled, expected)
    assert minmax_scale_observed(frame[[]]).shape == (3, 0)
    assert minmax_scale_observed(np.zeros((4, 0))).shape == (4, 0)


def test_missing_ratio_of_a_single_cell() -> None:
    assert missing_ratio(np.array([True])) == 0.0
    assert missing_ratio(np.array([[False]])) == 1.0


INT_MASK = (
    "observed must be a boolean array (True = observed), got dtype int64; "
    "convert explicitly, e.g. mask.astype(bool)"
)
REFUSALS: list[tuple[str, Callable[[], Any], str]] = [
    ("negative seed", lambda: as_rng(-1), "seed must be non-negative, got -1"),
    ("text seed", lambda: as_rng("7"), "expected an int seed or a numpy.random.Generator, got str"),
    (
        "int mask",
        lambda: missing_ratio(np.array([1, 0])),
        INT_MASK,
    ),
    (
        "apply int mask",
        lambda: apply_mask(pd.DataFrame({"a": [1.0]}), np.array([[1]])),
        INT_MASK,
    ),
    (
        "fraction",
        lambda: always_observed_count(4, -0.1),
        "always_observed_fraction must be in [0, 1], got -0.1",
    ),
    (
        "not a column",
        lambda: minmax_scale_observed(pd.DataFrame({"when": pd.period_range("2020", periods=2, freq="D")})),
        "column 'when' is neither numeric nor categorical",
    ),
    (
        "1-d",
        lambda: minmax_scale_observed(np.zeros(3)),
        "expected a 2-d array [n_samples, n_features], got shape (3,)",
    ),
    ("no modality", lambda: modality_mcar_mask(3, 0, 0.5, 0), "n_modalities must be at least 1, got 0"),
    ("negative samples", lambda: modality_mcar_mask(-1, 2, 0.5, 0), "n_samples must be non-negative, got -1"),
    (
        "empty mask",
        lambda: missing_ratio(np.zeros((0, 3), dtype=bool)),
        "missing_ratio of an empty mask is undefined",
    ),
]


@pytest.mark.parametrize(("call", "message"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_every_refusal_says_what_is_wrong(call: Callable[[], Any], message: str) -> None:
    with pytest.raises(VSAEError, match=f"^{re.escape(message)}$"):
        call()
