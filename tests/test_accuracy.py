"""VSAE imputes real tables better than simple baselines (DESIGN §2 protocol, 50% MCAR, short budget),
on three seeds each.

Each bound is set from the ratio of VSAE's error to the baseline's measured over seeds 0-4 with the
same rows and budget (the comment beside it gives the range): the bound sits above the worst seed
measured by more than twice the seed-to-seed spread, and below 1, so a VSAE no better than the
baseline fails. Yeast is left out on purpose: on it every method measured (MICE, MissForest, KNN,
GAIN, MIWAE) lands within noise of mean imputation, so a win there would be luck, not a property.
KNN is a baseline only where VSAE beats it at this budget on every seed measured (white_wine); on zoo
and mushroom KNN is better than a VSAE trained this briefly (ratios 1.1-1.35).
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
    # VSAE / mean 0.898-0.945, VSAE / KNN 0.850-0.930 (seeds 0-4; seed-to-seed spread about 0.02).
    "white_wine": (1200, 40, {"mean": 0.97, "knn": 0.97}),
    # VSAE / mean 0.636-0.812 (spread about 0.07).
    "zoo": (None, 60, {"mean": 0.9}),
    # VSAE / mean 0.734-0.756 (seeds 0-3).
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
