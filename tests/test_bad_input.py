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


def test_datetime_column_is_modelled_as_a_date(table: pd.DataFrame) -> None:
    bottled = pd.Series(pd.date_range("2020-01-01", periods=len(table), freq="D"))
    dated = table.assign(bottled=bottled.where(np.arange(len(table)) % 4 != 0))
    imputer = VSAEImputer(**FAST).fit(dated)
    completed = imputer.transform(dated)
    assert completed["bottled"].dtype == dated["bottled"].dtype
    kept = dated["bottled"].notna()
    assert (completed["bottled"][kept] == dated["bottled"][kept]).all()
    filled = completed["bottled"][~kept]
    assert filled.notna().all() and (filled == filled.dt.normalize()).all()  # whole days, like the input
    assert filled.between(pd.Timestamp("2019-01-01"), pd.Timestamp("2021-06-01")).all()


def test_iso_date_text_is_written_back_in_its_layout(table: pd.DataFrame, tmp_path) -> None:
    days = pd.date_range("2021-03-01 08:00", periods=len(table), freq="h")
    text = pd.Series(days.strftime("%Y-%m-%d %H:%M"), dtype=object).where(np.arange(len(table)) % 5 != 1)
    dated = table.assign(measured=text)
    imputer = VSAEImputer(**FAST).fit(dated)
    assert "measured" in imputer.dates_
    completed = imputer.transform(dated)
    kept = text.notna()
    assert (completed["measured"][kept] == text[kept]).all()
    filled = completed["measured"][~kept]
    assert filled.str.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}").all()  # the input's layout
    # Saved and loaded, the model still writes dates back.
    imputer.save(tmp_path / "m")
    again = VSAEImputer.load(tmp_path / "m").transform(dated)
    pd.testing.assert_frame_equal(again, completed)
    generated, _ = imputer.generate(5)
    assert generated["measured"].str.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}").all()


def test_near_unique_text_is_passed_through_with_a_warning(table: pd.DataFrame) -> None:
    ids = pd.Series([f"C{i:05d}" for i in range(len(table))], dtype=object)
    comments = pd.Series([f"note number {i}" for i in range(len(table))], dtype=object)
    noisy = table.assign(customer=ids.where(np.arange(len(table)) % 7 != 2), comment=comments)
    with pytest.warns(UserWarning, match=r"looks like an ID or free text") as caught:
        imputer = VSAEImputer(**FAST).fit(noisy)
    assert [str(w.message).split()[1] for w in caught] == ["'customer'", "'comment'"]
    assert imputer.passed_through_ == ["customer", "comment"]
    assert imputer.schema_.names == list(table.columns)  # neither is modelled
    completed = imputer.transform(noisy)
    assert list(completed.columns) == list(noisy.columns)
    pd.testing.assert_series_equal(completed["customer"], noisy["customer"])  # holes stay holes
    assert not completed[list(table.columns)].isna().any().any()
    generated, mask = imputer.generate(20)
    assert generated["customer"].isna().all() and not mask["customer"].any()  # no real ID reused
    spread = imputer.uncertainty(noisy)
    assert spread["customer"].isna().sum() == noisy["customer"].isna().sum()
    assert list(imputer.get_feature_names_out()) == list(noisy.columns)


def test_ignore_features_pass_columns_through(table: pd.DataFrame) -> None:
    imputer = VSAEImputer(ignore_features=["grade", "pH"], **FAST).fit(table)
    assert "grade" not in imputer.schema_.names and "pH" not in imputer.schema_.names
    completed = imputer.transform(table)
    pd.testing.assert_series_equal(completed["pH"], table["pH"])
    assert completed["pH"].isna().any() and not completed["alcohol"].isna().any()
    with pytest.raises(VSAEError, match="columns to ignore not in the table: colour"):
        VSAEImputer(ignore_features=["colour"], **FAST).fit(table)
    with pytest.raises(VSAEError, match="missing \\['pH'\\]"):
        imputer.transform(table.drop(columns="pH"))


@pytest.mark.parametrize(
    "state",
    [None, 7, np.random.RandomState(7), np.random.default_rng(7), np.int64(7)],
    ids=["none", "int", "randomstate", "generator", "numpy_int"],
)
def test_random_state_like_scikit_learn(state, table: pd.DataFrame, tmp_path) -> None:
    from sklearn.base import clone

    imputer = VSAEImputer(random_state=state, **FAST).fit(table)
    assert isinstance(imputer.random_seed_, int)
    if isinstance(state, (int, np.integer)):
        assert imputer.random_seed_ == 7
    assert imputer.get_params()["random_state"] is state  # the parameter is left as given
    clone(imputer)
    imputer.save(tmp_path / "m")  # a RandomState is saved as the seed it gave
    loaded = VSAEImputer.load(tmp_path / "m")
    pd.testing.assert_frame_equal(loaded.transform(table), imputer.transform(table))
    draws = imputer.sample_imputations(table, n=2, random_state=np.random.default_rng(1))
    assert len(draws) == 2
    with pytest.raises(VSAEError, match="random_state must be None, an int"):
        VSAEImputer(random_state="seven", **FAST).fit(table)


def test_n_jobs_threads_are_set_and_restored(table: pd.DataFrame, monkeypatch) -> None:
    import torch

    import vsae.imputer

    seen = []
    original = vsae.imputer.train_vsae

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return original(*args, **kwargs)

    monkeypatch.setattr(vsae.imputer, "train_vsae", spy)
    torch.set_num_threads(2)  # whatever the process had, the default is one thread
    default = VSAEImputer(**FAST).fit(table)
    assert seen == [1] and torch.get_num_threads() == 2
    torch.set_num_threads(1)
    one = VSAEImputer(n_jobs=1, **FAST).fit(table)
    pd.testing.assert_frame_equal(default.transform(table), one.transform(table))  # same threads, same bits
    VSAEImputer(n_jobs=2, **{**FAST, "epochs": 1}).fit(table.iloc[:40])  # two threads are slow when busy
    assert seen == [1, 1, 2] and torch.get_num_threads() == 1
    with pytest.raises(VSAEError, match="n_jobs must be None, -1 or a positive integer"):
        VSAEImputer(n_jobs=0, **FAST).fit(table)


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


@pytest.mark.parametrize("method", ["uncertainty", "class_probabilities"])
def test_one_draw_cannot_measure_a_spread(method: str, table: pd.DataFrame, fitted: VSAEImputer) -> None:
    with pytest.raises(VSAEError, match="at least 2 draws"):
        getattr(fitted, method)(table, n=1)
