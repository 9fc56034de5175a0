"""How big a performance run is: :data:`FULL` (the measurements) and :data:`QUICK` (a smoke run)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vsae.data import UCI_DATASETS

#: The protocol setting of the table parts (``batch_size``, ``uci``): seed 0, 50% MCAR.
UCI_SEED, UCI_RATIO = 0, 0.5


@dataclass(frozen=True)
class Sizes:
    """Sizes of one performance run (full or ``--quick``): batches, repeats, rows, tables."""

    batch: int = 256
    batches_in_pool: int = 8
    warmup: int = 3
    steps: int = 10
    repeats: int = 5
    numerical_features: tuple[int, ...] = (8, 50)
    batching_rows: int = 4096
    batch_sizes: tuple[int, ...] = (64, 128, 256, 512)
    batch_size_dataset: str = "white_wine"
    batch_size_epochs: int | None = None  # None: the imputer's default budget
    chunk_rows: tuple[int, ...] = (512, 1024, 2048, 4096, 16384, 65536)
    chunk_table_rows: int = 200_000
    transform_rows: int = 1_000_000
    transform_columns: int = 50
    transform_repeats: int = 3
    fit_rows: int = 20_000
    fit_epochs: int = 3
    uci_datasets: tuple[str, ...] = UCI_DATASETS
    uci_params: dict[str, dict[str, Any]] = field(default_factory=dict)


FULL = Sizes()
QUICK = Sizes(
    batch=32,
    batches_in_pool=2,
    warmup=1,
    steps=2,
    repeats=1,
    batching_rows=128,
    batch_sizes=(16, 32),
    batch_size_dataset="glass",
    batch_size_epochs=2,
    chunk_rows=(512,),
    chunk_table_rows=2048,
    transform_rows=2048,
    transform_repeats=1,
    fit_rows=256,
    fit_epochs=1,
    uci_datasets=("glass",),
    uci_params={
        "vsae": {"epochs": 2},
        "mice": {"max_iter": 1},
        "missforest": {"n_estimators": 5, "max_iter": 1},
    },
)
