"""The default VSAEImputer against MICE (scikit-learn's IterativeImputer) on a shared table.

White_wine, 1,200 rows (a seeded subset), MCAR 0.5, 40 epochs, seed 0. VSAE / MICE NRMSE measured
on seeds 0, 1, 2: 0.929, 0.967, 0.916, so the bound 0.99 sits above the worst seed measured by more
than twice the seed-to-seed spread (about 0.02) and below 1: a default no better than MICE fails.
No categorical table is here: at a budget short enough for the suite (12–20 epochs on 2,000–3,000
mushroom rows) the default's PFC is 1.11–1.21 times MICE's (docs/model.md), so the categorical half
of that target is not met at a short budget.
"""

from __future__ import annotations

import numpy as np

from vsae import VSAEImputer
from vsae.baselines import CLASSICAL_IMPUTERS
from vsae.data import load_uci, masked_split
from vsae.metrics import nrmse


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
