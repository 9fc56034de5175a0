"""VSAE imputes real tables better than simple baselines (the protocol of docs/protocol.md, 50% MCAR,
short budget), on three seeds each.

Each bound is set from the ratio of VSAE's error to the baseline's measured over seeds 0-4 with the
same rows, budget and library defaults (the comment beside it gives the range and the seed-to-seed
standard deviation): the bound sits above the worst seed measured by at least 0.03 and 1.5 standard
deviations, and below 1, so a VSAE no better than the baseline fails.
Yeast is left out on purpose: on it every method measured (MICE, MissForest, KNN,
GAIN, MIWAE) lands within noise of mean imputation, so a win there would be luck, not a property.
KNN is a baseline only where VSAE beats it at this budget on every seed measured (white_wine); KNN was
better on three of five seeds of zoo (VSAE / KNN 0.67-1.21) and on every seed of a 1500-row mushroom
subset (1.24-1.35).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from vsae import VSAEImputer
from vsae.baselines import CLASSICAL_IMPUTERS, MeanModeImputer
from vsae.data import load_uci, masked_split
from vsae.metrics import nrmse, pfc

#: dataset: (rows kept (a seeded subset, None = all), epochs, {baseline: bound on VSAE / baseline}).
CASES = {
    # VSAE / mean 0.905-0.937 (sd 0.012), VSAE / KNN 0.861-0.923 (sd 0.024).
    "white_wine": (1200, 40, {"mean": 0.97, "knn": 0.97}),
    # VSAE / mean 0.373-0.706 (sd 0.13).
    "zoo": (None, 60, {"mean": 0.9}),
    # VSAE / mean 0.730-0.758 (sd 0.012).
    "mushroom": (3000, 12, {"mean": 0.85}),
}
BASELINES = {
    "mean": lambda seed: MeanModeImputer(),
    "knn": lambda seed: CLASSICAL_IMPUTERS["knn"](random_state=seed),
}


def _shared_data() -> str:
    folder = os.environ.get("VSAE_DATA")
    assert folder, "set VSAE_DATA to the shared data folder (e.g. VSAE_DATA=../shared/data)"
    return folder


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("dataset", list(CASES))
def test_vsae_beats_simple_baselines(dataset: str, seed: int) -> None:
    rows, epochs, bounds = CASES[dataset]
    table = load_uci(dataset, _shared_data())
    frame = table.frame
    if rows is not None:
        keep = np.sort(np.random.default_rng(0).choice(len(frame), rows, replace=False))
        frame = frame.iloc[keep].reset_index(drop=True)
    split = masked_split(frame, seed=seed, missing_rate=0.5)

    def error(imputer: object) -> float:
        imputed = imputer.fit(split.train_masked).transform(split.test_masked)  # type: ignore[attr-defined]
        if table.numerical:
            return nrmse(split.test, imputed, split.scored, table.numerical)
        return pfc(split.test, imputed, split.scored, table.categorical)

    ours = error(VSAEImputer(epochs=epochs, random_state=seed, device="cpu"))
    for name, bound in bounds.items():
        theirs = error(BASELINES[name](seed))
        assert ours < bound * theirs, f"{dataset} seed {seed}: VSAE {ours:.4f} vs {name} {theirs:.4f}"
