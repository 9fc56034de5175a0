"""Categorical columns with thousands of levels: the "other" class bounds width, memory and time.

A synthetic table with a 10,000-level column (Zipf-distributed levels, as tail numbers or zip codes
are) is fitted with a tiny budget; observed cells must come back unchanged, rare levels included, and
every missing cell must receive a real level of the column.
"""

from __future__ import annotations

import time
import tracemalloc
import warnings

import numpy as np
import pandas as pd
import pytest

from vsae.imputer import VSAEImputer
from vsae.schema import MAX_CATEGORY_LEVELS, Modality, Schema, cut_rare_levels, infer_table_schema
from vsae.tabular import TableCodec

LEVELS = 10_000
ROWS = 20_000


@pytest.fixture(scope="module")
def wide_table() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(complete table, table with 20% of cells missing completely at random)."""
    rng = np.random.default_rng(0)
    names = np.array([f"L{i:05d}" for i in range(LEVELS)], dtype=object)
    weights = 1.0 / np.arange(1, LEVELS + 1)
    codes = rng.choice(LEVELS, size=ROWS, p=weights / weights.sum())
    codes[:LEVELS] = rng.permutation(LEVELS)  # every level occurs at least once
    complete = pd.DataFrame(
        {
            "level": pd.array(names[codes], dtype="string"),
            "x": (codes % 7).astype(float) + rng.normal(0, 0.1, ROWS),
            "y": rng.normal(0, 1, ROWS),
        }
    )
    missing = complete.mask(rng.random(complete.shape) < 0.2)
    return complete, missing


def test_cut_keeps_the_most_frequent_levels_and_labels_other_with_a_real_level() -> None:
    column = pd.Series(["b", "a", "a", "c", "c", "c", "d", "d", None, "e"])
    labels = ("a", "b", "c", "d", "e")
    # c (3), then a and d (2 each, a first in label order), then b and e (1 each, b first).
    assert cut_rare_levels(column, labels, 3) == ("a", "c", "d")  # d, most frequent left, is "other"
    assert cut_rare_levels(column, labels, 4) == ("a", "c", "d", "b")
    schema = infer_table_schema(column.to_frame("k"), max_levels=3)
    assert schema.modalities[0].other and schema.modalities[0].categories == ("a", "c", "d")
    assert not infer_table_schema(column.to_frame("k"), max_levels=5).modalities[0].other
    assert infer_table_schema(column.to_frame("k"), max_levels=None).modalities[0].width == 5


def test_other_flag_survives_the_schema_round_trip_and_older_folders_read_without_it() -> None:
    modality = Modality("k", "categorical", 3, categories=("a", "c", "b"), other=True)
    schema = Schema((modality,))
    assert Schema.from_dict(schema.to_dict()) == schema
    plain = Schema((Modality("k", "categorical", 2, categories=("a", "b")),))
    assert "other" not in plain.to_dict()["modalities"][0]
    assert Schema.from_dict(plain.to_dict()) == plain


def test_every_level_outside_the_kept_ones_is_observed_as_other_without_warning() -> None:
    frame = pd.DataFrame({"k": ["a", "a", "c", "c", "c", "b", "e", None]})
    schema = infer_table_schema(frame, max_levels=3)
    codec = TableCodec.fit(frame, schema)
    new = pd.DataFrame({"k": ["e", "never-seen", "a", None]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x, observed = codec.encode(new)
    assert observed[:, 0].tolist() == [True, True, True, False]
    assert x.argmax(axis=1)[:3].tolist() == [2, 2, 0]  # "other" is the last class
    assert codec.decode_column(0, x)[:3].tolist() == ["b", "b", "a"]  # "other" decodes to a real level


def test_ten_thousand_levels_fit_and_impute_within_bounded_width_memory_and_time(
    wide_table: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    complete, missing = wide_table
    schema = infer_table_schema(missing)
    level = schema.modalities[0]
    assert level.other and level.width == MAX_CATEGORY_LEVELS
    assert schema.total_width == MAX_CATEGORY_LEVELS + 2

    imputer = VSAEImputer(epochs=2, warmup_epochs=1, batch_size=512, device="cpu", random_state=0)
    tracemalloc.start()
    start = time.perf_counter()
    imputer.fit(missing)
    completed = imputer.transform(missing)
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # Without the cut-off the encoded table alone is 20,000 x 10,002 float32 = 800 MB (x3 in training).
    assert peak < 150e6, f"peak traced memory {peak / 1e6:.0f} MB"
    assert seconds < 60, f"fit + transform took {seconds:.1f} s"

    observed = missing.notna().to_numpy()
    for index, name in enumerate(missing.columns):
        rows = observed[:, index]
        pd.testing.assert_series_equal(completed[name][rows], missing[name][rows])
    assert not completed.isna().to_numpy().any()
    real_levels = set(complete["level"])
    assert set(completed["level"][~observed[:, 0]]) <= real_levels
    assert completed["level"].dtype == missing["level"].dtype
