"""A seconds-long version of the flights benchmark (benchmarks/flights.py) on 2,000 rows.

The benchmark itself is not run here; its data preparation and scoring are, on a small subsample:
real missing cells are never scored, the peers' table has the classes VSAE models, and the mean/mode
cell and a tiny VSAE fit produce finite scores with every observed cell unchanged.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from vsae.imputer import VSAEImputer
from vsae.schema import MAX_CATEGORY_LEVELS

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "flights.py"


@pytest.fixture
def flights(data_root: Path):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("flights_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_hidden_cells_are_observed_cells_only_and_peers_get_the_modelled_classes(flights) -> None:  # type: ignore[no-untyped-def]
    truth = flights.load(2_000)
    masked, hidden = flights.hide(truth)
    assert truth.shape == (2_000, 17)
    assert not (hidden & truth.isna().to_numpy()).any()  # the file's own missing cells are never scored
    assert 0.27 < hidden.sum() / truth.notna().to_numpy().sum() < 0.33
    assert masked.isna().to_numpy()[hidden].all()
    peers = flights.with_cut_levels(masked)
    assert peers["tailnum"].nunique() <= MAX_CATEGORY_LEVELS
    assert masked["tailnum"].nunique() > MAX_CATEGORY_LEVELS


def test_mean_and_a_tiny_vsae_score_and_leave_observed_cells_alone(flights) -> None:  # type: ignore[no-untyped-def]
    truth = flights.load(2_000)
    masked, hidden = flights.hide(truth)
    imputed, _ = flights.impute("mean", masked)
    mean = flights.score(truth, imputed, hidden)
    assert 0.9 < mean["nrmse"] < 1.1  # mean imputation: about one standard deviation
    vsae = VSAEImputer(epochs=4, warmup_epochs=1, device="cpu", random_state=0).fit_transform(masked)
    scores = flights.score(truth, vsae, hidden)
    assert all(np.isfinite(v) for v in scores.values())
    observed = masked.notna().to_numpy()
    for j, name in enumerate(masked.columns):
        assert (
            vsae[name][observed[:, j]].astype(object) == masked[name][observed[:, j]].astype(object)
        ).all()
