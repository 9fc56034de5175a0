"""Tests of generation from the prior (``VSAEImputer.generate``): data and missingness pattern."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vsae.data import apply_mask, mcar_mask
from vsae.imputer import VSAEImputer

#: Training rows and budget under which the generated missing proportion settles.
GENERATION_ROWS, GENERATION_EPOCHS, GENERATION_WARMUP = 300, 12, 4
#: Largest distance allowed between the generated missing proportion (4000 generated rows) and the
#: realised one of the training table. Measured on white_wine (12 columns, 300 rows) with mask and
#: model seeds 0-5: differences -0.016 to +0.021 at ratio 0.3 and 0.7 (12 fits); 0.04 is about twice
#: the widest. An untrained mask decoder generates 0.49-0.51 missing (sigmoid of logits near 0) on
#: the same seeds, so the two ratios, 0.2 away from one half on either side, tell a mask decoder that
#: learned p(m | z) from one that did not.
GENERATION_TOLERANCE = 0.04


@pytest.mark.parametrize("missing_rate", [0.3, 0.7])
def test_generated_missing_proportion_tracks_training(white_wine: pd.DataFrame, missing_rate: float) -> None:
    """Generation reproduces the missingness pattern it learned: the share of generated cells drawn
    missing matches the training table's (the mask decoder models p(m | z))."""
    rows = white_wine.iloc[:GENERATION_ROWS]
    masked = apply_mask(rows, mcar_mask(rows.shape, missing_rate, 0))
    realised = float(masked.isna().to_numpy().mean())
    imputer = VSAEImputer(
        epochs=GENERATION_EPOCHS, warmup_epochs=GENERATION_WARMUP, device="cpu", random_state=0
    ).fit(masked)
    _, mask = imputer.generate(4000, random_state=0)
    generated_missing = 1.0 - float(mask.to_numpy().mean())
    assert abs(generated_missing - realised) < GENERATION_TOLERANCE, (generated_missing, realised)


def test_generate_returns_fitted_dtypes_and_a_boolean_mask(
    fitted_typed: VSAEImputer, typed_masked: pd.DataFrame
) -> None:
    data, mask = fitted_typed.generate(200, random_state=3)
    assert isinstance(data, pd.DataFrame) and isinstance(mask, pd.DataFrame)
    assert data.shape == mask.shape == (200, typed_masked.shape[1])
    assert list(data.columns) == list(mask.columns) == list(typed_masked.columns)
    assert all(dtype == np.bool_ for dtype in mask.dtypes)
    assert int(data.isna().sum().sum()) == 0  # every cell has a value; the mask says which are observed
    for name in typed_masked.columns:
        assert data[name].dtype == typed_masked[name].dtype, name
    assert data["cap_shape"].cat.categories.equals(typed_masked["cap_shape"].cat.categories)
    for index, modality in enumerate(fitted_typed.schema_):
        if modality.kind == "categorical":
            assert set(data.iloc[:, index]) <= set(modality.categories), modality.name
    # Generated numbers stay in a plausible range of their column (standardised decoder output).
    alcohol = typed_masked["alcohol"]
    assert data["alcohol"].between(alcohol.min() - 5 * alcohol.std(), alcohol.max() + 5 * alcohol.std()).all()

    again_data, again_mask = fitted_typed.generate(200, random_state=3)
    pd.testing.assert_frame_equal(data, again_data)
    pd.testing.assert_frame_equal(mask, again_mask)
    other_data, _ = fitted_typed.generate(200, random_state=4)
    assert not data.equals(other_data)


def test_generate_from_an_array_fit(fitted_wine_array: VSAEImputer, wine_array_masked: np.ndarray) -> None:
    data, mask = fitted_wine_array.generate(50)
    assert isinstance(data, np.ndarray) and isinstance(mask, np.ndarray)
    assert data.shape == mask.shape == (50, wine_array_masked.shape[1])
    assert mask.dtype == np.bool_
    assert np.isfinite(data.astype(np.float64)).all()
