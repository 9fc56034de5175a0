"""Part ``encoders``: the unimodal encoders alone, grouped ``baddbmm`` against ``einsum`` and a loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from vsae.bench.performance.harness import ratios, round_robin, spread
from vsae.bench.performance.references import einsum_copy, naive_copy
from vsae.bench.performance.sizes import Sizes
from vsae.bench.performance.synthetic import encoded_pool, numerical_schema
from vsae.model import VSAE


def _encoder_passes(network: VSAE, x: torch.Tensor, passes: int) -> Callable[[], None]:
    def run() -> None:
        for _ in range(passes):
            network.unimodal(x).sum().backward()

    return run


def bench_encoders(sizes: Sizes) -> dict[str, Any]:
    """The unimodal encoders alone, forward and backward at the training batch: the grouped layers
    (``baddbmm``, the library), the same with ``einsum``, and one network per modality in a loop."""
    results: dict[str, Any] = {}
    for m in sizes.numerical_features:
        schema = numerical_schema(m)
        x, _ = encoded_pool(schema, sizes.batch, seed=4)
        torch.manual_seed(0)
        model = VSAE(schema).train()
        variants = {
            "grouped_bmm": model,
            "grouped_einsum": einsum_copy(model),
            "loop": naive_copy(model, loop_likelihoods=False),
        }

        seconds = round_robin(
            {k: _encoder_passes(v, x, sizes.steps) for k, v in variants.items()},
            sizes.warmup,
            sizes.repeats,
        )
        per_step = {k: [s / sizes.steps for s in v] for k, v in seconds.items()}
        results[f"numerical_m{m}"] = {
            "batch": sizes.batch,
            "step_seconds": {k: spread(v) for k, v in per_step.items()},
            "raw_step_seconds": per_step,
            "ratios": {
                f"{k}_over_grouped_bmm": ratios(seconds, k, "grouped_bmm")
                for k in variants
                if k != "grouped_bmm"
            },
        }
    return results
