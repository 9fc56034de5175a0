"""Part ``compile``: ``torch.compile`` of the whole loss or of each network."""

from __future__ import annotations

import time
from typing import Any

import torch

from vsae.bench.performance.harness import ratios, round_robin, spread
from vsae.bench.performance.sizes import Sizes
from vsae.bench.performance.steps import Step, make_step, repeated, vsae_loss
from vsae.bench.performance.synthetic import encoded_pool, numerical_schema
from vsae.model import VSAE


def bench_compile(sizes: Sizes) -> dict[str, Any]:
    """``torch.compile`` of the whole loss or of each network: compile time and steady-state step."""
    results: dict[str, Any] = {}
    for m in sizes.numerical_features:
        schema = numerical_schema(m)
        x, observed = encoded_pool(schema, sizes.batch, seed=2)
        steps: dict[str, Step] = {}
        first: dict[str, float] = {}
        for mode in ("eager", "compiled_loss", "compiled_networks"):
            torch.manual_seed(0)
            model = VSAE(schema).train()
            loss = vsae_loss(model)
            if mode == "compiled_loss":
                loss = torch.compile(loss)
            elif mode == "compiled_networks":
                for network in (model.multimodal, model.mask_decoder, model.data_decoder, *model.unimodal):
                    network.compile()
            steps[mode] = make_step(model, loss)
            start = time.perf_counter()
            steps[mode](x, observed)
            first[mode] = time.perf_counter() - start

        seconds = round_robin(
            {k: repeated(s, [(x, observed)], sizes.steps) for k, s in steps.items()},
            sizes.warmup,
            sizes.repeats,
        )
        per_step = {k: [s / sizes.steps for s in v] for k, v in seconds.items()}
        results[f"numerical_m{m}"] = {
            "first_step_seconds": first,
            "step_seconds": {k: spread(v) for k, v in per_step.items()},
            "raw_step_seconds": per_step,
            "ratios": {f"{k}_over_eager": ratios(seconds, k, "eager") for k in steps if k != "eager"},
        }
    return results
