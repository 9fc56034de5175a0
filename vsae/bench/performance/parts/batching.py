"""Part ``batching``: an epoch of index batches of in-memory tensors against a ``DataLoader``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.utils.data import DataLoader, TensorDataset

from vsae.bench.performance.harness import ratios, round_robin, spread
from vsae.bench.performance.sizes import Sizes
from vsae.bench.performance.steps import make_step, vsae_loss
from vsae.bench.performance.synthetic import encoded_pool, numerical_schema
from vsae.model import VSAE


def bench_batching(sizes: Sizes) -> dict[str, Any]:
    """An epoch of index batches of in-memory tensors against a shuffling ``DataLoader`` (M = 8)."""
    schema = numerical_schema(8)
    x, observed = encoded_pool(schema, sizes.batching_rows, seed=1)
    torch.manual_seed(0)
    model = VSAE(schema).train()
    step = make_step(model, vsae_loss(model))
    loader = DataLoader(TensorDataset(x, observed), batch_size=sizes.batch, shuffle=True)

    def index_batches() -> Any:
        for index in torch.randperm(x.shape[0]).split(sizes.batch):
            yield x[index], observed[index]

    def epoch(batches: Callable[[], Any], train: bool) -> Callable[[], None]:
        def run() -> None:
            for xb, ob in batches():
                if train:
                    step(xb, ob)

        return run

    seconds = round_robin(
        {
            "index_batches_only": epoch(index_batches, False),
            "dataloader_only": epoch(lambda: loader, False),
            "index_epoch": epoch(index_batches, True),
            "dataloader_epoch": epoch(lambda: loader, True),
        },
        1,
        sizes.repeats,
    )
    return {
        "rows": sizes.batching_rows,
        "batch": sizes.batch,
        "seconds": {k: spread(v) for k, v in seconds.items()},
        "raw_seconds": seconds,
        "ratios": {
            "dataloader_over_index_batching": ratios(seconds, "dataloader_only", "index_batches_only"),
            "dataloader_over_index_epoch": ratios(seconds, "dataloader_epoch", "index_epoch"),
        },
    }
