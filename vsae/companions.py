"""Classical companions: MICE and a small MissForest whose imputations of numerical cells are averaged
with the network's (docs/model.md, "Classical companions").

HyperImpute (Jarrett et al., 2022) combines a pool of imputers column by column. Measured with the
ablation's protocol on the seven numerical tables (benchmarks/peer_blend.py, seeds 0–2, MCAR 0.3 and
0.5, held-out observed training cells), the imputation ``(1 − w) · VSAE + w/2 · MICE + w/2 · forest``
with ``w = 0.5`` and a 30-tree, 3-round MissForest scored 0.968 of VSAE's validation error
(geometric mean over 42 cells; better in 12 of 14 settings, at most 1.025 of it), ahead of
per-column weights and a per-column choice fitted on those cells (0.977 and 0.995, cross-fitted:
fitted on a few dozen cells per column, the weights follow their noise). The forest costs about
a tenth of VSAE's fit time on those tables, MICE a hundredth.

The companions see the table as the network does (:class:`vsae.tabular.TableCodec`'s encoding,
standardised numerical columns, categorical columns as class codes) and are fitted on the rows the
network is fitted on. They change only the point imputation of numerical cells (``transform``) and
the centre of the draws (``sample_imputations``); the spread (``uncertainty``) stays the network's.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning

from vsae.classical import MICEImputer, MissForestImputer
from vsae.errors import VSAEError
from vsae.schema import Schema

#: The companions' share of a numerical cell's imputation on numerical tables (``"auto"``).
DEFAULT_CLASSICAL_WEIGHT = 0.5
#: Above this many rows ``"auto"`` leaves the network alone: the forest's cost grows with the rows
#: (4.6 s on white_wine's 3,900 training rows) and the weight was measured on 150–4,898 rows.
COMPANION_MAX_ROWS = 10_000
#: The small forest: trees per forest and rounds of the iterative imputer.
FOREST_TREES, FOREST_ROUNDS = 30, 3


def check_classical_weight(weight: Any) -> float | str:
    """``weight`` if it is ``"auto"`` or a number in [0, 1]; a :class:`VSAEError` naming it otherwise."""
    if weight == "auto":
        return weight
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0.0 <= weight <= 1.0:
        raise VSAEError(f"classical_weight must be 'auto' or a number in [0, 1], got {weight!r}")
    return float(weight)


def default_classical_weight(schema: Schema, rows: int) -> float:
    """The companions' weight of ``"auto"``: :data:`DEFAULT_CLASSICAL_WEIGHT` on numerical tables of up
    to :data:`COMPANION_MAX_ROWS` rows, 0 as soon as a column is categorical (not measured there)."""
    if rows > COMPANION_MAX_ROWS or any(m.kind != "numerical" for m in schema):
        return 0.0
    return DEFAULT_CLASSICAL_WEIGHT


class ClassicalCompanions:
    """MICE and a :data:`FOREST_TREES`-tree, :data:`FOREST_ROUNDS`-round MissForest on encoded data.

    Parameters
    ----------
    schema : Schema
        Layout of the encoded rows.
    seed : int
        Seeds both imputers: a refit on the same rows gives the same companions.
    """

    def __init__(self, schema: Schema, seed: int) -> None:
        self.schema = schema
        self.seed = seed
        self.categorical = [i for i, m in enumerate(schema) if m.kind == "categorical"]
        self.numerical = [i for i, m in enumerate(schema) if m.kind == "numerical"]

    def _frame(self, x: np.ndarray, observed: np.ndarray) -> pd.DataFrame:
        """The encoded rows as the classical imputers read a table: one column per modality (named by
        its position), standardised numbers or class codes, NaN where unobserved."""
        values = np.full(observed.shape, np.nan)
        for index in range(len(self.schema)):
            block = x[:, self.schema.columns_of(index)]
            column = block.argmax(1) if index in self.categorical else block[:, 0]
            values[:, index] = np.where(observed[:, index], column, np.nan)
        return pd.DataFrame(values)

    def fit(self, x: np.ndarray, observed: np.ndarray) -> ClassicalCompanions:
        """Fit both imputers on the observed cells of the encoded rows ``x`` (mask ``observed``)."""
        frame = self._frame(x, observed)
        common = {"random_state": self.seed, "categorical_features": self.categorical}
        with warnings.catch_warnings():
            # The rounds are fixed by design (3 for the forest, chosen with them); scikit-learn's
            # note that its stopping rule was not reached says nothing the user can act on.
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.imputers_ = [
                MICEImputer(**common).fit(frame),
                MissForestImputer(n_estimators=FOREST_TREES, max_iter=FOREST_ROUNDS, **common).fit(frame),
            ]
        return self

    def blend(self, values: np.ndarray, x: np.ndarray, observed: np.ndarray, weight: float) -> np.ndarray:
        """``values`` (encoded imputations of the rows ``x``) with every numerical column replaced by
        ``(1 − weight) · values + weight · (mean of the two companions' imputations)``; the cells
        ``observed`` are read from ``x`` by the companions and stay whatever ``values`` holds."""
        if not self.numerical:
            return values
        frame = self._frame(x, observed)
        imputed = np.mean(
            [imputer.transform(frame).to_numpy(dtype=float) for imputer in self.imputers_], axis=0
        )
        out = values.copy()
        positions = [self.schema.offsets[i] for i in self.numerical]
        out[:, positions] = (1.0 - weight) * values[:, positions] + weight * imputed[:, self.numerical]
        return out
