"""The benchmark protocol as the runner applies it: every method learns from the MASKED training split
(the references ``cvae_data`` / ``vaeac`` alone from the complete one, by design), and the cell's
record describes the table the method was really given.

Each method's ``fit`` is spied on (the real fit still runs, on a two-epoch budget) and what it
received is compared with the protocol's split computed here independently.
"""

from __future__ import annotations

import time
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


#: As BUDGET, with the seeded row subset of the quick budget.
SUBSET = Budget(**{**BUDGET.__dict__, "tabular_rows": 150})


def _json_scalars(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is None or isinstance(v, (bool, int, float, str))}


@pytest.mark.parametrize(
    ("dataset", "setting", "method"),
    [
        ("glass", Setting("mcar", 0.5), "vsae"),
        ("zoo", Setting("mcar", 0.3), "mean"),
        ("iris", Setting("mcar", 0.5), "mice"),
        ("glass", Setting("mar"), "miwae"),
        ("glass", Setting("nmar"), "ae"),
    ],
)
def test_the_record_describes_the_fit_that_was_made(
    dataset: str, setting: Setting, method: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Every field of a tabular cell's record, recomputed from what the method was really given and
    returned: the protocol's metrics on its imputation, the split's sizes and ratios on the seeded row
    subset, its settings (the budget's overrides included), training history, parameter counts and,
    for VSAE, the generated missing ratio and the uncertainty summary."""
    from vsae.baselines import count_parameters
    from vsae.bench import tabular_cells
    from vsae.data import missing_ratio
    from vsae.metrics import nrmse, nrmse_pooled, pfc

    seed = 2
    made: list[Any] = []
    imputed: list[pd.DataFrame] = []
    build = tabular_cells._tabular_imputer

    def spying_build(*args: Any, **kwargs: Any) -> Any:
        imputer = build(*args, **kwargs)
        real = imputer.transform

        def transform(frame: Any, *more: Any, **options: Any) -> Any:
            out = real(frame, *more, **options)
            if not imputed:
                imputed.append(out.copy())
            return out

        imputer.transform = transform
        made.append(imputer)
        return imputer

    monkeypatch.setattr(tabular_cells, "_tabular_imputer", spying_build)
    runner = Runner(tmp_path / "cells", SUBSET, "test", tmp_path / "figures", progress=False)
    start = time.perf_counter()
    record = runner.compute(Cell("tabular", dataset, setting, method, seed))
    wall = time.perf_counter() - start
    assert "error" not in record, record.get("error")

    table = tabular_cells.load_table(dataset)
    frame = table.frame
    if len(frame) > SUBSET.tabular_rows:
        rows = np.sort(np.random.default_rng(0).choice(len(frame), SUBSET.tabular_rows, replace=False))
        frame = frame.iloc[rows].reset_index(drop=True)
    split = masked_split(frame, seed, setting.ratio or 0.5, setting.mechanism)
    (imputer,), (out,) = made, imputed
    expected_metrics = {}
    if table.numerical:
        expected_metrics["nrmse"] = nrmse(split.test, out, split.scored, table.numerical)
        expected_metrics["nrmse_pooled"] = nrmse_pooled(split.test, out, split.scored, table.numerical)
    if table.categorical:
        expected_metrics["pfc"] = pfc(split.test, out, split.scored, table.categorical)
    assert record["metrics"] == pytest.approx(expected_metrics)
    assert 0 < record["fit_seconds"] < wall and 0 < record["impute_seconds"] < wall
    assert record["rows"] == {"train": len(split.train), "test": len(split.test)}
    assert len(split.train) + len(split.test) == min(len(table.frame), SUBSET.tabular_rows)
    assert record["missing_ratio"] == pytest.approx(
        {
            "train": float(split.train_masked.isna().to_numpy().mean()),
            "test": split.missing_ratio,
            "scored_cells": int(split.scored.sum()),
        }
    )
    params = imputer.get_params()
    assert record["params"] == _json_scalars(params)
    # The budget's overrides reach the method (classical ones by method, the training ones otherwise).
    if method in ("mean", "knn", "mice", "missforest"):
        overrides = dict(SUBSET.classical.get(method, {}))
    else:
        overrides = {**SUBSET.tabular_training, **(SUBSET.miwae if method == "miwae" else {})}
    for name, value in overrides.items():
        assert params[name] == value, name
    if method in ("ae", "vae", "cvae_mask", "mvae"):  # MIWAE's sample counts are MIWAE's alone
        from vsae.baselines import NEURAL_IMPUTERS

        defaults = NEURAL_IMPUTERS[method]().get_params()
        assert {k: params[k] for k in SUBSET.miwae} == {k: defaults[k] for k in SUBSET.miwae}
    if hasattr(imputer, "history_"):
        assert record["epochs_run"] == len(imputer.history_.epochs)
        assert record["best_epoch"] == imputer.history_.best_epoch
    if method == "vsae":
        assert record["n_parameters"] == count_parameters(imputer.model_)
        _, mask = imputer.generate(SUBSET.generated_rows, random_state=seed)
        assert record["generated_missing_ratio"] == missing_ratio(np.asarray(mask, dtype=bool))
        assert record["generated_rows"] == SUBSET.generated_rows
        assert record["refit_epochs"] == imputer.history_.refit_epochs
        assert record["uncertainty"] == pytest.approx(
            tabular_cells.vsae_uncertainty(imputer, table, split, imputer.transform(split.test_masked), seed)
        )
    elif hasattr(imputer, "n_parameters_"):
        assert record["n_parameters"] == imputer.n_parameters_
        assert record["vsae_parameters"] == imputer.vsae_parameters_
    else:
        assert "n_parameters" not in record


def test_an_unknown_method_fails_its_cell_with_its_name(tmp_path: Path) -> None:
    runner = Runner(tmp_path / "cells", BUDGET, "test", tmp_path / "figures", progress=False)
    record = runner.compute(Cell("tabular", "zoo", Setting("mcar", 0.5), "oracle", 0))
    assert record["error"] == "VSAEError: unknown tabular method 'oracle'"


# ------------------------------------------------------------------------- the uncertainty summary


class _StubImputer:
    """Known draws, spreads and class probabilities; records how it was asked."""

    def __init__(
        self,
        test: pd.DataFrame,
        draws: list[pd.DataFrame],
        spread: pd.DataFrame,
        probabilities: dict[str, pd.DataFrame],
    ) -> None:
        self.test, self.draws = test, draws
        self.spread, self.probabilities = spread, probabilities
        self.calls: list[tuple[str, int, int]] = []

    def _seen(self, what: str, frame: pd.DataFrame, n: int, random_state: int) -> None:
        assert frame is self.test
        self.calls.append((what, n, random_state))

    def sample_imputations(self, frame: pd.DataFrame, n: int, random_state: int) -> list[pd.DataFrame]:
        self._seen("draws", frame, n, random_state)
        return self.draws

    def uncertainty(self, frame: pd.DataFrame, n: int, random_state: int) -> pd.DataFrame:
        self._seen("spread", frame, n, random_state)
        return self.spread

    def class_probabilities(self, frame: pd.DataFrame, n: int, random_state: int) -> dict[str, pd.DataFrame]:
        self._seen("probabilities", frame, n, random_state)
        return self.probabilities


def test_uncertainty_summary_by_hand() -> None:
    """VSAE cells summarise uncertainty on the scored test cells only: the share of true values inside
    the 2.5-97.5% range of the draws, the share inside ±1.96 spreads of the point imputation, and the
    ECE of the predicted classes' probabilities; with the benchmark's number of draws and the cell's
    seed. Every interval is built so that each scored cell is clearly in or out."""
    from types import SimpleNamespace

    from vsae.bench.tabular_cells import UNCERTAINTY_DRAWS, draw_coverage, vsae_uncertainty
    from vsae.data.protocol import MaskedSplit
    from vsae.metrics import calibrated_expected_calibration_error

    n = UNCERTAINTY_DRAWS
    truth = pd.DataFrame({"x": [0.5, 3.0, 0.0, 9.0], "c": ["a", "b", "a", "b"], "y": [1.9, 2.1, -1.9, 5.0]})
    scored = np.array([[True, True, True], [True, True, True], [True, True, True], [False, False, False]])
    # Draws spread evenly over [-1, 1] around 0 for x and y: x = 0.5 and 0.0 inside, 3.0 outside.
    offsets = np.linspace(-1.0, 1.0, n)
    draws = [pd.DataFrame({"x": [o] * 4, "c": ["a"] * 4, "y": [o] * 4}) for o in offsets]
    # Point 0, spreads 1 (x) and 2 (y): x = 0.5, 0 inside ±1.96 and 3 outside; y = 1.9, 2.1, -1.9
    # inside ±3.92 (a spread of 2 tells multiplying by it from dividing by it).
    point = pd.DataFrame({"x": [0.0] * 4, "c": ["a"] * 4, "y": [0.0] * 4})
    spread = pd.DataFrame({"x": [1.0] * 4, "c": [0.0] * 4, "y": [2.0] * 4})
    # Class "a" predicted with confidence 0.75 (right, wrong, right), all in one ECE bin.
    probabilities = {"c": pd.DataFrame({"a": [0.75] * 4, "b": [0.25] * 4})}
    split = MaskedSplit(train=truth, test=truth, train_masked=truth, test_masked=truth.copy(), scored=scored)
    stub = _StubImputer(split.test_masked, draws, spread, probabilities)
    table = SimpleNamespace(numerical=["x", "y"], categorical=["c"], name="stub")
    seed = 7
    summary = vsae_uncertainty(stub, table, split, point, seed)  # type: ignore[arg-type]
    # x: 0.5 in, 3 out, 0 in; y: 1.9 out of [-0.95, 0.95], 2.1 out, -1.9 out (draws' range).
    assert summary["coverage_draws"] == pytest.approx(2 / 6)
    # x: 0.5 in, 3 out, 0 in; y: all three in.
    assert summary["coverage_sd"] == pytest.approx(5 / 6)
    # One bin: accuracy 2/3, confidence 0.75.
    assert summary["ece"] == pytest.approx(abs(2 / 3 - 0.75))
    # Beside it, a calibrated predictor's expected ECE for those three confidences, under the cell's seed.
    assert summary["ece_if_calibrated"] == calibrated_expected_calibration_error(np.full(3, 0.75), seed=seed)
    assert sorted(stub.calls) == [("draws", n, seed), ("probabilities", n, seed), ("spread", n, seed)]

    # draw_coverage on its own: per cell, the draws' 95% range and their mean ± 1.96 std.
    cube = np.stack([np.array([[o, 10.0 + 2 * o]]) for o in offsets])  # [n, 1 row, 2 columns]
    std = float(offsets.std())
    inside = np.array([[0.9, 10.0 + 1.9 * std * 1.96 / 2]])
    outside = np.array([[1.5, 10.0 + 2 * 2.0 * std]])
    everything = np.ones((1, 2), dtype=bool)
    assert draw_coverage(inside, cube, everything) == {"coverage_draws": 1.0, "coverage_sd": 1.0}
    assert draw_coverage(outside, cube, everything) == {"coverage_draws": 0.0, "coverage_sd": 0.0}
    below = np.array([[-1.5, 0.0]])  # under both lower bounds of the first column
    first = np.array([[True, False]])
    assert draw_coverage(below, cube, first) == {"coverage_draws": 0.0, "coverage_sd": 0.0}


def test_the_uncertainty_peer_cell_is_the_mean_of_seeded_posterior_draws(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The uncertainty peer: IterativeImputer with posterior sampling, one per draw with seeds
    1000·seed + k, on the numerical columns of the masked training split; its point imputation is the
    mean of the draws, its coverage that of the draws. Tables with categorical columns are refused.
    Four draws instead of the benchmark's fifty keep the test short."""
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer

    from vsae.bench import tabular_cells
    from vsae.bench.presets import UNCERTAINTY_PEER
    from vsae.bench.tabular_cells import draw_coverage, load_table
    from vsae.metrics import nrmse

    monkeypatch.setattr(tabular_cells, "UNCERTAINTY_DRAWS", 4)
    seed = 1
    runner = Runner(tmp_path / "cells", BUDGET, "test", tmp_path / "figures", progress=False)
    start = time.perf_counter()
    record = runner.compute(Cell("tabular", "iris", Setting("mcar", 0.5), UNCERTAINTY_PEER, seed))
    wall = time.perf_counter() - start
    assert "error" not in record, record.get("error")
    table = load_table("iris")
    split = masked_split(table.frame, seed, 0.5, "mcar")
    train, test = split.train_masked[table.numerical], split.test_masked[table.numerical]
    draws = np.stack(
        [
            IterativeImputer(sample_posterior=True, random_state=1000 * seed + k).fit(train).transform(test)
            for k in range(4)
        ]
    )
    truth = split.test[table.numerical]
    scored = split.scored[:, [split.test.columns.get_loc(c) for c in table.numerical]]
    imputed = pd.DataFrame(draws.mean(0), columns=table.numerical)
    assert record["metrics"] == pytest.approx({"nrmse": nrmse(truth, imputed, scored, table.numerical)})
    assert record["uncertainty"] == pytest.approx(draw_coverage(truth.to_numpy(dtype=float), draws, scored))
    assert record["draws"] == 4
    assert record["rows"] == {"train": len(split.train), "test": len(split.test)}
    assert 0 < record["fit_seconds"] < wall
    refused = runner.compute(Cell("tabular", "zoo", Setting("mcar", 0.5), UNCERTAINTY_PEER, seed))
    assert refused["error"] == (
        f"VSAEError: {UNCERTAINTY_PEER} scores numerical tables only; 'zoo' has categorical columns"
    )
