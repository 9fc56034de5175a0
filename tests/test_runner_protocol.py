"""The benchmark protocol as the runner applies it: every method learns from the MASKED training split
(the references ``cvae_data`` / ``vaeac`` alone from the complete one, by design), and the cell's
record describes the table the method was really given.

Each method's ``fit`` is spied on (the real fit still runs, on a two-epoch budget) and what it
received is compared with the protocol's split computed here independently.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from vsae.bench.presets import NEURAL_REFERENCES, Budget, Setting
from vsae.bench.runner import Runner
from vsae.data import load_uci, masked_split

try:  # where the cell type lives
    from vsae.bench.cells import Cell
except ImportError:  # pragma: no cover - older layout
    from vsae.bench.runner import Cell  # type: ignore[attr-defined,no-redef]

#: Two-epoch fits on whole tables (no row subset, so the split below is the runner's split).
BUDGET = Budget(
    name="quick",
    tabular_rows=None,
    tabular_training={"epochs": 2, "warmup_epochs": 1},
    classical={"mice": {"max_iter": 2}, "missforest": {"n_estimators": 5, "max_iter": 2}},
    miwae={"n_samples": 4, "imputation_samples": 4},
    generated_rows=100,
)


def _cell_module() -> Any:
    """The module whose ``_tabular_imputer`` builds a tabular cell's method."""
    try:
        from vsae.bench import tabular_cells

        return tabular_cells
    except ImportError:  # pragma: no cover - older layout, everything in the runner
        from vsae.bench import runner

        return runner


@pytest.fixture
def received(monkeypatch: pytest.MonkeyPatch) -> list[pd.DataFrame]:
    """What the cell's imputer was given to ``fit`` (the real fit still runs)."""
    seen: list[pd.DataFrame] = []
    module = _cell_module()
    build = module._tabular_imputer

    def spying_build(*args: Any, **kwargs: Any) -> Any:
        imputer = build(*args, **kwargs)
        real = imputer.fit

        def fit(frame: Any, *more: Any, **options: Any) -> Any:
            seen.append(pd.DataFrame(frame).copy())
            return real(frame, *more, **options)

        imputer.fit = fit
        return imputer

    monkeypatch.setattr(module, "_tabular_imputer", spying_build)
    return seen


@pytest.mark.parametrize(
    ("dataset", "setting", "method"),
    [
        ("glass", Setting("mcar", 0.5), "vsae"),
        ("glass", Setting("mcar", 0.3), "mean"),
        ("glass", Setting("mar"), "knn"),
        ("zoo", Setting("mcar", 0.5), "mice"),
        ("glass", Setting("nmar"), "ae"),
        ("glass", Setting("mcar", 0.5), "cvae_data"),
    ],
)
def test_every_method_fits_the_masked_training_split(
    dataset: str,
    setting: Setting,
    method: str,
    received: list[pd.DataFrame],
    tmp_path: Path,
    data_root: Path,
) -> None:
    """The method is fitted once, on the protocol's masked training split: the same rows, the same
    values, and NaN exactly where the mechanism (or the raw file) removed a cell. The references fit
    the complete training split (only the raw file's holes). For the other methods the record's
    training missing ratio is that of the table the method was given."""
    seed = 1
    runner = Runner(tmp_path / "cells", BUDGET, "test", tmp_path / "figures", progress=False)
    record = runner.compute(Cell("tabular", dataset, setting, method, seed))
    assert "error" not in record, record.get("error")

    assert len(received) == 1
    given = received[0]
    split = masked_split(load_uci(dataset, data_root).frame, seed, setting.ratio or 0.5, setting.mechanism)
    expected = split.train if method in NEURAL_REFERENCES else split.train_masked
    assert given.shape == expected.shape
    np.testing.assert_array_equal(given.isna().to_numpy(), expected.isna().to_numpy())
    if method not in NEURAL_REFERENCES:
        # The mask really removed cells (not only the raw file's holes).
        assert given.isna().to_numpy().sum() > split.train.isna().to_numpy().sum() + 0.2 * given.size
    pd.testing.assert_frame_equal(
        given.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False
    )
    # A method that takes a seed gets the cell's, and runs on the CPU, as the budget says.
    if "random_state" in record["params"] or method in ("vsae", "mice", "ae", "cvae_data"):
        assert record["params"]["random_state"] == seed
    if "device" in record["params"]:
        assert record["params"]["device"] == "cpu"
    if method not in NEURAL_REFERENCES:
        # (For the references the record keeps the masked split's ratio, the protocol's setting.)
        assert record["missing_ratio"]["train"] == pytest.approx(float(given.isna().to_numpy().mean()))
