"""The estimator base (vsae.estimator): what every estimator shares is written once and behaves alike."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError as SklearnNotFittedError

from vsae import MultimodalVSAE, VSAEImputer
from vsae.baselines import NeuralBaselineImputer
from vsae.errors import VSAEError
from vsae.estimator import NetworkEstimator, NotFittedError, TableEstimator

ESTIMATORS = (VSAEImputer, MultimodalVSAE, NeuralBaselineImputer)
BUDGET = {"epochs": 3, "warmup_epochs": 1, "device": "cpu"}


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"a": rng.normal(size=60), "b": rng.normal(size=60), "c": rng.choice(["x", "y"], 60)}
    )
    return frame.mask(rng.random(frame.shape) < 0.2)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_saving_loading_and_the_fitted_check_are_written_once(estimator: type) -> None:
    assert issubclass(estimator, NetworkEstimator)
    for name in ("save", "load", "_check_fitted"):
        assert name not in vars(estimator), f"{estimator.__name__} writes its own {name}"


@pytest.mark.parametrize("estimator", [VSAEImputer, NeuralBaselineImputer])
def test_the_table_estimators_share_the_table_checks(estimator: type) -> None:
    assert issubclass(estimator, TableEstimator)
    for name in ("_encode", "_like_input", "_fit_frame"):
        assert name not in vars(estimator), f"{estimator.__name__} writes its own {name}"


@pytest.mark.parametrize(
    "unfitted",
    [
        lambda table: VSAEImputer(**BUDGET).transform(table),
        lambda table: NeuralBaselineImputer("vae", **BUDGET).transform(table),
        lambda table: MultimodalVSAE(**BUDGET).impute({"a": table["a"].to_numpy()}, np.ones((60, 1), bool)),
        lambda table: VSAEImputer(**BUDGET).save("unused"),
    ],
)
def test_an_unfitted_estimator_raises_one_error_of_both_kinds(table: pd.DataFrame, unfitted) -> None:
    with pytest.raises(NotFittedError, match="is not fitted yet; call fit first") as raised:
        unfitted(table)
    assert isinstance(raised.value, VSAEError) and isinstance(raised.value, SklearnNotFittedError)


def test_a_folder_is_read_only_by_the_estimator_that_wrote_it(table: pd.DataFrame, tmp_path: Path) -> None:
    NeuralBaselineImputer("ae", **BUDGET).fit(table).save(tmp_path / "ae")
    VSAEImputer(ensemble_size=1, **BUDGET).fit(table).save(tmp_path / "vsae")
    with pytest.raises(VSAEError, match="holds a 'NeuralBaselineImputer', not a VSAEImputer"):
        VSAEImputer.load(tmp_path / "ae")
    with pytest.raises(VSAEError, match="holds a 'VSAEImputer', not a MultimodalVSAE"):
        MultimodalVSAE.load(tmp_path / "vsae")


def test_an_inconsistent_folder_is_one_error_naming_it(table: pd.DataFrame, tmp_path: Path) -> None:
    NeuralBaselineImputer("ae", **BUDGET).fit(table).save(tmp_path / "ae")
    config_file = tmp_path / "ae" / "config.json"
    config = json.loads(config_file.read_text())
    del config["network_config"]
    config_file.write_text(json.dumps(config))
    with pytest.raises(VSAEError, match=r"config.json in '.*ae' is incomplete or inconsistent: KeyError"):
        NeuralBaselineImputer.load(tmp_path / "ae")
