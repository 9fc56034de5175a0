"""Input that VSAE cannot learn from, and input it must survive, given to :class:`VSAEImputer`.

Every refusal is a :class:`VSAEError` whose message names the column, row or value at fault. The
tables are small slices of the shared white_wine (numerical) data with a text column ``grade`` derived
from alcohol; training budgets are a few epochs, since no test here is about accuracy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vsae.data import apply_mask, load_uci, mcar_mask
from vsae.errors import TrainingDivergedError, VSAEError
from vsae.imputer import VSAEImputer

FAST = {"epochs": 3, "warmup_epochs": 1, "device": "cpu"}


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    """200 rows, 11 numerical columns and one categorical one, 20% of cells missing."""
    frame = load_uci("white_wine").frame.iloc[:200].reset_index(drop=True)
    frame["grade"] = np.where(frame["alcohol"] > 10.5, "high", "low").astype(object)
    return apply_mask(frame, mcar_mask(frame.shape, 0.2, 0))


@pytest.fixture(scope="module")
def fitted(table: pd.DataFrame) -> VSAEImputer:
    return VSAEImputer(**FAST).fit(table)


# -- refused at fit -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "cut, shape",
    [
        (lambda t: pd.DataFrame(), "0 rows, 0 columns"),
        (lambda t: t.iloc[:0], "0 rows, 12 columns"),
        (lambda t: t.iloc[:, :0], "200 rows, 0 columns"),
    ],
    ids=["nothing", "no_rows", "no_columns"],
)
def test_empty_table(cut, shape: str, table: pd.DataFrame) -> None:
    with pytest.raises(VSAEError, match=rf"the table is empty \({shape}\)"):
        VSAEImputer(**FAST).fit(cut(table))


@pytest.mark.parametrize("dtype", ["float64", "object"])
def test_column_with_no_observed_value(dtype: str, table: pd.DataFrame) -> None:
    bad = table.assign(sensor=pd.Series([None] * len(table), dtype=dtype))
    with pytest.raises(VSAEError, match="column 'sensor' has no observed value"):
        VSAEImputer(**FAST).fit(bad)


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_infinite_value(value: float, table: pd.DataFrame, fitted: VSAEImputer) -> None:
    bad = table.copy()
    bad.loc[17, "chlorides"] = value
    message = "column 'chlorides' holds an infinite value at row 17"
    with pytest.raises(VSAEError, match=message):
        VSAEImputer(**FAST).fit(bad)
    with pytest.raises(VSAEError, match=message):
        fitted.transform(bad)


def test_text_in_a_numerical_column(table: pd.DataFrame, fitted: VSAEImputer) -> None:
    bad = table.copy()
    bad["pH"] = bad["pH"].astype(object)
    bad.loc[7, "pH"] = "3,21"  # a decimal comma: the kind of text that slips into numeric exports
    message = "column 'pH' is numerical but row 7 holds '3,21'"
    with pytest.raises(VSAEError, match=message):
        VSAEImputer(numerical_features=["pH"], **FAST).fit(bad)
    with pytest.raises(VSAEError, match=message):  # numerical at fit, so numerical at transform
        fitted.transform(bad)


def test_datetime_column(table: pd.DataFrame) -> None:
    dated = table.assign(bottled=pd.date_range("2020-01-01", periods=len(table), freq="D"))
    with pytest.raises(VSAEError, match=r"column 'bottled' holds dates/times \(datetime64"):
        VSAEImputer(**FAST).fit(dated)


def test_duplicate_column_names(table: pd.DataFrame) -> None:
    doubled = pd.concat([table, table[["density"]]], axis=1)
    with pytest.raises(VSAEError, match="duplicate column names: density"):
        VSAEImputer(**FAST).fit(doubled)


def test_single_row_cannot_be_fitted(table: pd.DataFrame) -> None:
    with pytest.raises(VSAEError, match="at least 2 rows are needed to fit, got 1"):
        VSAEImputer(**FAST).fit(table.dropna().iloc[[0]])


def test_values_too_large_to_standardise(table: pd.DataFrame) -> None:
    huge = table.assign(density=table["density"] * 1e306)
    with pytest.raises(VSAEError, match="column 'density' holds values too large to standardise"):
        VSAEImputer(**FAST).fit(huge)


def test_large_but_finite_scale_is_fine(table: pd.DataFrame) -> None:
    # Columns are standardised, so a magnitude of 1e30 is no problem for the network.
    scaled = table.assign(density=table["density"] * 1e30)
    imputed = VSAEImputer(**FAST).fit_transform(scaled)
    filled = imputed["density"][table["density"].isna()]
    assert np.isfinite(filled).all()
    assert filled.between(0.9e30, 1.1e30).all()


def test_non_finite_loss_stops_training(table: pd.DataFrame) -> None:
    imputer = VSAEImputer(learning_rate=1e6, **FAST)
    with pytest.raises(TrainingDivergedError, match=r"try a lower learning_rate \(it is 1e\+06\)") as raised:
        imputer.fit(table)
    assert "the training loss became nan at epoch 1" in str(raised.value)
    assert not hasattr(imputer, "model_")


# -- handled at transform --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "change, message",
    [
        (lambda f: f.drop(columns=["sulphates"]), "differ from those seen at fit: missing 'sulphates'"),
        (lambda f: f.assign(vintage=2001.0), "differ from those seen at fit: unexpected 'vintage'"),
        (lambda f: f.rename(columns={"pH": "ph"}), "missing 'pH'; unexpected 'ph'"),
        (lambda f: f[f.columns[::-1]], "in a different order than at fit; expected \\['fixed_acidity'"),
    ],
    ids=["missing", "extra", "renamed", "reordered"],
)
def test_different_columns_at_transform(
    change, message: str, table: pd.DataFrame, fitted: VSAEImputer
) -> None:
    with pytest.raises(VSAEError, match=message):
        fitted.transform(change(table))


def test_unseen_category_is_imputed_with_a_warning(table: pd.DataFrame, fitted: VSAEImputer) -> None:
    new = table.iloc[:6].copy()
    new.loc[2, "grade"] = "medium"
    with pytest.warns(
        UserWarning, match=r"column 'grade': 1 cell\(s\) hold categories not seen at fit \('medium'\)"
    ):
        imputed = fitted.transform(new)
    assert imputed.loc[2, "grade"] in {"high", "low"}
    others = new.drop(index=2)
    assert imputed.drop(index=2)["grade"].equals(fitted.transform(others)["grade"])


def test_row_with_every_cell_missing(table: pd.DataFrame, fitted: VSAEImputer) -> None:
    blank = pd.DataFrame([[np.nan] * 11 + [None]], columns=table.columns).astype(table.dtypes.to_dict())
    first = fitted.transform(pd.concat([table.iloc[:5], blank], ignore_index=True)).iloc[-1]
    second = fitted.transform(pd.concat([blank, table.iloc[50:60]], ignore_index=True)).iloc[0]
    numbers = first.drop("grade").to_numpy(dtype=float)
    assert np.isfinite(numbers).all()
    assert first["grade"] in {"high", "low"}
    # With nothing observed the multimodal encoder sees only the mask: the imputation is a property of
    # the model alone, the same wherever the row appears (up to float rounding of batched matmuls).
    np.testing.assert_allclose(numbers, second.drop("grade").to_numpy(dtype=float), rtol=1e-5)
    assert first["grade"] == second["grade"]
    # ...and it is a plausible row, inside the range of the training data.
    low, high = table.drop(columns="grade").min(), table.drop(columns="grade").max()
    spread = high - low
    assert ((numbers >= (low - spread).to_numpy()) & (numbers <= (high + spread).to_numpy())).all()


def test_single_row_can_be_transformed(table: pd.DataFrame, fitted: VSAEImputer) -> None:
    row = table.iloc[[3]].copy()
    row.loc[3, ["alcohol", "grade"]] = [np.nan, None]
    imputed = fitted.transform(row)
    assert imputed.shape == (1, 12) and imputed.index.tolist() == [3]
    assert np.isfinite(imputed.loc[3, "alcohol"]) and imputed.loc[3, "grade"] in {"high", "low"}
    observed = row.notna().to_numpy()[0]
    assert (imputed.iloc[0][observed] == row.iloc[0][observed]).all()
