"""Classical peer imputers that every benchmark table carries next to VSAE (docs/protocol.md).

All share the VSAE imputer's interface: ``fit(X: DataFrame) -> self``, ``transform(X) -> DataFrame``,
``fit_transform``. :data:`CLASSICAL_IMPUTERS` maps each benchmark name to a factory called as
``factory(random_state=seed, **overrides)``; deterministic methods accept and ignore the seed::

    imputer = CLASSICAL_IMPUTERS["missforest"](random_state=0, n_jobs=-1)

The paper's neural baselines (AE, VAE, CVAE, MVAE, MIWAE, and the fully-observed references CVAE with
data and VAEAC) are in :mod:`vsae.baselines.neural`, with the same interface and registry shape
(:data:`NEURAL_IMPUTERS`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sklearn.base import BaseEstimator

from vsae.baselines.networks import count_parameters
from vsae.baselines.neural import (
    NEURAL_IMPUTERS,
    REFERENCE_METHODS,
    NeuralBaselineImputer,
    make_neural_imputer,
    train_baseline,
)
from vsae.classical import KNNTableImputer, MeanModeImputer, MICEImputer, MissForestImputer
from vsae.errors import VSAEError

__all__ = [
    "CLASSICAL_IMPUTERS",
    "NEURAL_IMPUTERS",
    "REFERENCE_METHODS",
    "KNNTableImputer",
    "MICEImputer",
    "MeanModeImputer",
    "MissForestImputer",
    "NeuralBaselineImputer",
    "count_parameters",
    "make_classical_imputer",
    "make_neural_imputer",
    "train_baseline",
]


def _mean(random_state: int = 0, **overrides: Any) -> MeanModeImputer:
    return MeanModeImputer(**overrides)


def _knn(random_state: int = 0, **overrides: Any) -> KNNTableImputer:
    return KNNTableImputer(**overrides)


def _mice(random_state: int = 0, **overrides: Any) -> MICEImputer:
    return MICEImputer(random_state=random_state, **overrides)


def _missforest(random_state: int = 0, **overrides: Any) -> MissForestImputer:
    return MissForestImputer(random_state=random_state, **overrides)


CLASSICAL_IMPUTERS: dict[str, Callable[..., BaseEstimator]] = {
    "mean": _mean,
    "knn": _knn,
    "mice": _mice,
    "missforest": _missforest,
}
"""Benchmark name -> factory ``(random_state: int = 0, **overrides) -> unfitted imputer``."""


def make_classical_imputer(name: str, random_state: int = 0, **overrides: Any) -> BaseEstimator:
    """Build the classical imputer registered as ``name`` (one of :data:`CLASSICAL_IMPUTERS`)."""
    try:
        factory = CLASSICAL_IMPUTERS[name]
    except KeyError:
        known = ", ".join(CLASSICAL_IMPUTERS)
        raise VSAEError(f"unknown classical imputer {name!r}; choose one of: {known}") from None
    return factory(random_state=random_state, **overrides)
