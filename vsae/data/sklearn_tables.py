"""The four numerical tables bundled with scikit-learn, as benchmark tables (no download).

``load_diabetes``, ``load_breast_cancer``, ``load_wine`` and ``load_iris`` ship inside scikit-learn's
wheel; the protocol drops their target, as for the UCI tables (docs: the benchmark protocol).
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from sklearn import datasets
from sklearn.utils import Bunch

from vsae.data.uci import UCITable
from vsae.errors import VSAEError

_LOADERS: dict[str, Callable[..., Bunch]] = {
    "diabetes": datasets.load_diabetes,
    "breast_cancer": datasets.load_breast_cancer,
    "wine": datasets.load_wine,
    "iris": datasets.load_iris,
}

#: The scikit-learn tables of the benchmark, all numerical.
SKLEARN_DATASETS: tuple[str, ...] = tuple(_LOADERS)


def load_sklearn_table(name: str) -> UCITable:
    """One of :data:`SKLEARN_DATASETS` with its target dropped, every column ``float64``."""
    if name not in _LOADERS:
        raise VSAEError(f"unknown scikit-learn table {name!r}; valid names: {', '.join(SKLEARN_DATASETS)}")
    bunch = _LOADERS[name](as_frame=True)
    frame = pd.DataFrame(bunch.data).astype("float64").reset_index(drop=True)
    return UCITable(name=name, frame=frame, numerical=list(frame.columns), categorical=[], target="target")
