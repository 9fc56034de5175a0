"""Shared fixtures: the shared data folder and small real tables with cells missing completely at random.

Every table comes from the shared data folder named by ``VSAE_DATA`` (CI sets it); a test that needs one
fails, never skips, when the variable is unset. Masks use the project's own MCAR mechanism.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from vsae.data import DATA_ENV_VAR, apply_mask, data_dir, load_uci, mcar_mask
from vsae.imputer import VSAEImputer

#: Rows of the small tables: enough for a validation split, few enough for a fit of about a second.
SMALL_ROWS = 160
#: A training budget that exercises warm-up, the two-pass pseudo-target and model selection.
TINY_BUDGET = {"epochs": 6, "warmup_epochs": 2, "device": "cpu", "verbose": 0}


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread_for_shared_fixtures() -> None:
    """One torch thread from the start of the session: module- and session-scoped fixtures are built
    before :func:`one_torch_thread` runs for the test that first needs them."""
    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def one_torch_thread() -> Iterator[None]:
    """Run every test, and the fixtures built after it, on one torch thread.

    The networks under test are tiny: one thread is as fast as several on an idle machine, and far
    faster on a busy one (one small fit measured 3 s with one thread, 80 s with two, on two loaded
    cores). Reset after each test too, so that a test that changes it cannot slow later fixtures.
    """
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(1)


@pytest.fixture
def tiny_budget() -> dict[str, Any]:
    """Imputer settings of :data:`TINY_BUDGET` (a fresh copy, free to modify)."""
    return dict(TINY_BUDGET)


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The shared data folder from ``VSAE_DATA``."""
    value = os.environ.get(DATA_ENV_VAR, "").strip()
    if not value:
        pytest.fail(
            f"{DATA_ENV_VAR} is not set: point it at the shared data folder, "
            f"e.g. {DATA_ENV_VAR}=../shared/data",
            pytrace=False,
        )
    return data_dir(value)


@pytest.fixture(scope="session")
def white_wine(data_root: Path) -> pd.DataFrame:
    """The white_wine table with its target ``quality`` kept (all float64)."""
    return load_uci("white_wine", data_root, drop_target=False).frame


@pytest.fixture(scope="session")
def typed_table(data_root: Path, white_wine: pd.DataFrame) -> pd.DataFrame:
    """One column of every dtype the imputer supports, complete, with a string index.

    The first rows of white_wine (numerical) and of mushroom (categorical) side by side. The two
    tables' rows are unrelated, which does not matter to tests of mechanics (dtypes, leakage,
    persistence). Categorical columns have 2 to 9 classes.
    """
    mushroom = load_uci("mushroom", data_root).frame
    index = pd.Index([f"row{i}" for i in range(SMALL_ROWS)])

    def head(column: pd.Series) -> pd.Series:
        return column.iloc[:SMALL_ROWS].set_axis(index)

    return pd.DataFrame(
        {
            "alcohol": head(white_wine["alcohol"]),  # float64
            "quality": head(white_wine["quality"]).astype("Int64"),  # nullable integer
            "cap_shape": head(mushroom["cap_shape"]),  # category
            "odor": head(mushroom["odor"]).astype(object),  # object holding str
            "gill_color": head(mushroom["gill_color"]).astype(str),  # pandas str
            "bruises": head(mushroom["bruises"]) == "t",  # bool (object once cells go missing)
            "ring_pendant": (head(mushroom["ring_type"]) == "p").astype("boolean"),  # nullable bool
        }
    )


@pytest.fixture(scope="session")
def typed_masked(typed_table: pd.DataFrame) -> pd.DataFrame:
    """:func:`typed_table` with half of its cells missing completely at random (seed 0)."""
    return apply_mask(typed_table, mcar_mask(typed_table.shape, 0.5, 0))


@pytest.fixture(scope="session")
def fitted_typed(typed_masked: pd.DataFrame) -> VSAEImputer:
    """An imputer fitted on :func:`typed_masked` with a tiny budget (shared: do not modify it)."""
    return VSAEImputer(random_state=0, **TINY_BUDGET).fit(typed_masked)


@pytest.fixture(scope="session")
def wine_array_masked(white_wine: pd.DataFrame) -> np.ndarray:
    """First white_wine rows as a float ndarray, half of the cells set to NaN (seed 1)."""
    frame = white_wine.iloc[:SMALL_ROWS]
    return apply_mask(frame, mcar_mask(frame.shape, 0.5, 1)).to_numpy()


@pytest.fixture(scope="session")
def fitted_wine_array(wine_array_masked: np.ndarray) -> VSAEImputer:
    """An imputer fitted on the ndarray :func:`wine_array_masked` (shared: do not modify it)."""
    return VSAEImputer(random_state=0, **TINY_BUDGET).fit(wine_array_masked)
