"""The default VSAEImputer against MICE (scikit-learn's IterativeImputer) on shared tables.

White_wine, 1,200 rows (a seeded subset), MCAR 0.5, 40 epochs (an ensemble of 3 networks, the
default at this size): VSAE / MICE NRMSE measured on split seeds 0, 1, 2 as 0.920, 0.951 and 0.901, so
the bound 0.99 on seed 0 sits above the worst seed measured by more than the seeds' spread (about
0.025) and below 1: a default no better than MICE fails.

Mushroom, 2,000 rows (a seeded subset), MCAR 0.5, 60 epochs, split seeds 0, 1, 2: VSAE / MICE PFC
0.906, 0.876 and 0.880 (mean 0.887) with the categorical defaults (KL weight 0.02, modality dropout
0.3; docs/model.md), against 0.914, 0.942 and 0.998 (mean 0.952) with the previous ones (0.1, 0). The
bound 0.92 on the mean over the three seeds fails the previous defaults and leaves the current ones a
margin of twice the seeds' spread (about 0.016).
"""

from __future__ import annotations

import numpy as np

from vsae import VSAEImputer
from vsae.baselines import CLASSICAL_IMPUTERS
from vsae.data import load_uci, masked_split
from vsae.metrics import nrmse, pfc


def test_default_beats_mice_on_white_wine(data_root) -> None:
    table = load_uci("white_wine", data_root)
    keep = np.sort(np.random.default_rng(0).choice(len(table.frame), 1200, replace=False))
    split = masked_split(table.frame.iloc[keep].reset_index(drop=True), seed=0, missing_rate=0.5)

    def error(imputer: object) -> float:
        imputed = imputer.fit(split.train_masked).transform(split.test_masked)  # type: ignore[attr-defined]
        return nrmse(split.test, imputed, split.scored, table.numerical)

    ours = error(VSAEImputer(epochs=40, random_state=0, device="cpu"))
    mice = error(CLASSICAL_IMPUTERS["mice"](random_state=0))
    assert ours < 0.99 * mice, (ours, mice)


def test_default_beats_mice_on_mushroom(data_root) -> None:
    table = load_uci("mushroom", data_root)
    keep = np.sort(np.random.default_rng(0).choice(len(table.frame), 2000, replace=False))
    ratios = []
    for seed in (0, 1, 2):
        split = masked_split(table.frame.iloc[keep].reset_index(drop=True), seed=seed, missing_rate=0.5)

        def error(imputer: object, split: object = split) -> float:
            imputed = imputer.fit(split.train_masked).transform(split.test_masked)  # type: ignore[attr-defined]
            return pfc(split.test, imputed, split.scored, table.categorical)  # type: ignore[attr-defined]

        ours = error(VSAEImputer(epochs=60, random_state=0, device="cpu"))
        ratios.append(ours / error(CLASSICAL_IMPUTERS["mice"](random_state=0)))
    assert np.mean(ratios) < 0.92, ratios
