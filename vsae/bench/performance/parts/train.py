"""Part ``train``: training-step throughput of VSAE, the plain VAE, the naive loop and the levers."""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from vsae.bench.performance.harness import ratios, round_robin, spread
from vsae.bench.performance.references import PlainVAE, einsum_copy, forward_macs, naive_copy
from vsae.bench.performance.sizes import Sizes
from vsae.bench.performance.steps import Step, make_step, repeated, vsae_loss
from vsae.bench.performance.synthetic import encoded_pool, image_schema, numerical_schema
from vsae.model import VSAE, VSAEConfig
from vsae.schema import Schema
from vsae.train import TrainConfig


def _train_variants(
    schema: Schema, config: VSAEConfig, all_levers: bool
) -> dict[str, tuple[nn.Module, Step]]:
    torch.manual_seed(0)
    vsae_model = VSAE(schema, config).train()
    torch.manual_seed(0)
    vae = PlainVAE(schema, config).train()
    naive = naive_copy(vsae_model)
    variants: dict[str, tuple[nn.Module, Step]] = {
        "vae": (vae, make_step(vae, vae.loss)),
        "vsae": (vsae_model, make_step(vsae_model, vsae_loss(vsae_model))),
        "naive": (naive, make_step(naive, vsae_loss(naive))),
    }
    one_pass = copy.deepcopy(vsae_model)
    variants["one_pass"] = (one_pass, make_step(one_pass, vsae_loss(one_pass, unobserved_term=False)))
    if not all_levers:
        return variants
    loop_encoders = naive_copy(vsae_model, loop_likelihoods=False)
    loop_likelihoods = naive_copy(vsae_model, loop_encoders=False)
    einsum = einsum_copy(vsae_model)
    variants["loop_encoders"] = (loop_encoders, make_step(loop_encoders, vsae_loss(loop_encoders)))
    variants["loop_likelihoods"] = (
        loop_likelihoods,
        make_step(loop_likelihoods, vsae_loss(loop_likelihoods)),
    )
    variants["einsum"] = (einsum, make_step(einsum, vsae_loss(einsum)))
    sync = copy.deepcopy(vsae_model)
    variants["sync_per_step"] = (sync, make_step(sync, vsae_loss(sync), sync=True))
    # The library's Adam is fused; the two other implementations of the same algorithm, for the lever.
    for name, options in (("adam_for_loop", {"foreach": False}), ("adam_foreach", {"foreach": True})):
        model = copy.deepcopy(vsae_model)
        optimiser = torch.optim.Adam(model.parameters(), lr=TrainConfig().learning_rate, **options)
        variants[name] = (model, make_step(model, vsae_loss(model), optimiser))
    return variants


def bench_train(sizes: Sizes) -> dict[str, Any]:
    """Training-step throughput of VSAE, the plain VAE, the naive loop and the lever variants."""
    settings = {
        f"numerical_m{m}": (numerical_schema(m), VSAEConfig(), True) for m in sizes.numerical_features
    }
    settings["mnist_mnist"] = (image_schema(), VSAEConfig.for_images(), False)
    results: dict[str, Any] = {}
    for name, (schema, config, all_levers) in settings.items():
        x, observed = encoded_pool(schema, sizes.batch * sizes.batches_in_pool, seed=0)
        batches = list(zip(x.split(sizes.batch), observed.split(sizes.batch), strict=True))
        variants = _train_variants(schema, config, all_levers)

        seconds = round_robin(
            {k: repeated(step, batches, sizes.steps) for k, (_, step) in variants.items()},
            sizes.warmup,
            sizes.repeats,
        )
        samples = sizes.steps * sizes.batch
        macs = {k: forward_macs(model) for k, (model, _) in variants.items()}
        results[name] = {
            "modalities": len(schema),
            "width": schema.total_width,
            "batch": sizes.batch,
            "steps_per_repeat": sizes.steps,
            "variants": {
                k: {
                    "seconds": seconds[k],
                    "samples_per_s": spread([samples / s for s in seconds[k]]),
                    "parameters": sum(p.numel() for p in model.parameters()),
                    "forward_macs_per_sample": macs[k],
                }
                for k, (model, _) in variants.items()
            },
            "ratios": {f"{k}_over_vsae": ratios(seconds, k, "vsae") for k in variants if k != "vsae"},
            # Forward + backward ≈ 3 forward passes; the pseudo-target adds one more forward pass.
            "mac_ratio_vsae_over_vae": 4 * macs["vsae"] / (3 * macs["vae"]),
        }
    return results
