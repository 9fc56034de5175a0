"""Performance benchmark: training throughput, fit-plus-impute time and accuracy, imputation at scale.

Every figure is measured in one run, repeated, and reported as min/median/max; methods compared with
each other are timed round-robin inside the same repeat, so a change of machine load hits all of them
alike and their *ratios* are more robust than the absolute numbers. Parts:

- ``train``: samples/s of one full training step at batch 256 (the two-pass Eq. 8 objective,
  backward, gradient clipping, Adam) for M = 8 and M = 50 numerical features and for MNIST+MNIST,
  against a plain VAE of the same widths and depth and against a naive VSAE that loops over modalities
  in Python. The levers of the step are variants timed in the same round-robin (grouped layers, fused
  loss, einsum, Adam implementations, a host synchronisation per step, the pseudo-target pass).
- ``encoders``: the unimodal encoders alone: grouped ``baddbmm`` against ``einsum`` and a loop.
- ``batching``: one epoch with index batches of in-memory tensors against a ``DataLoader``.
- ``compile``: ``torch.compile`` compile time and steady-state step time.
- ``batch_size``: wall time and accuracy of ``VSAEImputer`` for several batch sizes (time to accuracy).
- ``chunks``: ``VSAEImputer.transform`` time and peak memory for several chunk sizes.
- ``transform``: ``VSAEImputer.transform`` of 1,000,000 rows × 50 columns; time and peak memory,
  measured in a fresh process.
- ``uci``: fit-plus-impute wall time and NRMSE/PFC of VSAE, MICE and MissForest on the UCI tables
  (DESIGN §2 protocol, seed 0, ratio 0.5). Results are cached per (dataset, method) in the output file:
  a rerun skips what is done.

Usage::

    VSAE_DATA=../shared/data python -m vsae.bench.perf --threads 2 --out runs/perf.json
    VSAE_DATA=../shared/data python -m vsae.bench.perf --parts uci --datasets mushroom
    VSAE_DATA=../shared/data python -m vsae.bench.perf --quick --out runs/perf-quick.json
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sklearn
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import vsae
from vsae import inference
from vsae.baselines import MICEImputer, MissForestImputer
from vsae.bench.runner import read_cell
from vsae.data import UCI_DATASETS, load_uci, masked_split, mcar_mask, modality_mcar_mask
from vsae.imputer import VSAEImputer
from vsae.metrics import nrmse, pfc
from vsae.model.layers import GroupedBatchNorm, GroupedLinear, mlp
from vsae.model.likelihoods import Likelihoods
from vsae.model.objective import SelectiveELBO
from vsae.model.vsae import LOGVAR_LIMIT, VSAE, Posterior, VSAEConfig
from vsae.schema import Modality, Schema
from vsae.train import TrainConfig, adam_optimiser

PARTS: tuple[str, ...] = (
    "train",
    "encoders",
    "batching",
    "compile",
    "batch_size",
    "chunks",
    "transform",
    "uci",
)
#: ``torch.compile`` takes about a minute per model on CPU: left out of ``--quick`` unless asked for.
QUICK_PARTS: tuple[str, ...] = tuple(p for p in PARTS if p != "compile")
UCI_METHODS: tuple[str, ...] = ("vsae", "mice", "missforest")
MISSING_RATE = 0.3
UCI_SEED, UCI_RATIO = 0, 0.5

Step = Callable[[torch.Tensor, torch.Tensor], None]


@dataclass(frozen=True)
class Budget:
    """Sizes of one benchmark run (full or ``--quick``)."""

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


FULL = Budget()
QUICK = Budget(
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


# -- timing ---------------------------------------------------------------------------------------
def spread(values: Sequence[float]) -> dict[str, float]:
    """Min, median and max of repeated measurements."""
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def round_robin(runs: dict[str, Callable[[], None]], warmup: int, repeats: int) -> dict[str, list[float]]:
    """Seconds of every run per repeat; within a repeat the runs take turns (order rotated each repeat)."""
    for run in runs.values():
        for _ in range(warmup):
            run()
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for repeat in range(repeats):
        for name in names[repeat % len(names) :] + names[: repeat % len(names)]:
            start = time.perf_counter()
            runs[name]()
            seconds[name].append(time.perf_counter() - start)
    return seconds


def ratios(seconds: dict[str, list[float]], slower: str, faster: str) -> dict[str, float]:
    """Per-repeat time ratio ``slower / faster`` (same repeat, same load), summarised."""
    return spread([a / b for a, b in zip(seconds[slower], seconds[faster], strict=True)])


def _loadavg() -> list[float]:
    try:
        return [float(v) for v in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return list(os.getloadavg())


# -- synthetic data -------------------------------------------------------------------------------
def correlated_gaussian(rows: int, columns: int, seed: int) -> np.ndarray:
    """Standardised-scale Gaussian data with correlated columns (a low-rank factor model plus noise)."""
    rng = np.random.default_rng(seed)
    factors = max(2, columns // 4)
    loadings = rng.standard_normal((factors, columns)) / math.sqrt(factors)
    return rng.standard_normal((rows, factors)) @ loadings + 0.5 * rng.standard_normal((rows, columns))


def numerical_schema(columns: int) -> Schema:
    return Schema(tuple(Modality(f"x{j}", "numerical", 1) for j in range(columns)))


def image_schema(width: int = 784) -> Schema:
    """Two image modalities, as MNIST+MNIST."""
    side = math.isqrt(width)
    return Schema(tuple(Modality(name, "image", width, shape=(side, side)) for name in ("digit", "partner")))


def synthetic_table(rows: int, columns: int, missing_rate: float, seed: int) -> pd.DataFrame:
    """A float64 table of correlated Gaussian columns with MCAR missing cells."""
    values = correlated_gaussian(rows, columns, seed)
    values[~mcar_mask(values.shape, missing_rate, seed + 1)] = np.nan
    return pd.DataFrame(values, columns=[f"x{j}" for j in range(columns)])


# -- reference networks ---------------------------------------------------------------------------
class PlainVAE(nn.Module):
    """The reference: a VAE on the whole zero-filled vector, with the VSAE's widths and depth.

    Encoder ``D -> encoder_hidden … -> 2·L·M`` and decoder ``L·M -> decoder_hidden … -> D`` (the sizes
    of the VSAE's multimodal encoder and data decoder); the loss is the NLL of the observed cells plus
    the KL term, with the VSAE's likelihoods.
    """

    def __init__(self, schema: Schema, config: VSAEConfig) -> None:
        super().__init__()
        width, latent = schema.total_width, config.latent_dim * len(schema)
        self.likelihoods = Likelihoods(schema, config.numerical_variance, config.binary_loss)
        self.encoder = mlp(width, config.encoder_hidden, 2 * latent, config.depth, config.batch_norm)
        self.decoder = mlp(latent, config.decoder_hidden, width, config.depth, config.batch_norm)

    def loss(self, x: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
        mean, logvar = self.encoder(x).chunk(2, dim=-1)
        posterior = Posterior(mean, logvar.clamp(-LOGVAR_LIMIT, LOGVAR_LIMIT))
        nll = self.likelihoods.negative_log_likelihood(self.decoder(posterior.rsample()), x)
        return (nll * observed).sum(1).mean() + posterior.kl_to_standard_normal().mean()


class LoopedMLPs(nn.Module):
    """A grouped MLP unrolled into one ``nn.Sequential`` per group member, run in a Python loop.

    Built from the grouped network's weights, so it computes the same function: ``[N, G, in]`` in,
    ``[N, G, out]`` out. Each member reads the group's padded input width; the padding columns of a
    narrower modality are zeros and contribute nothing, as in the grouped network.
    """

    def __init__(self, grouped: nn.Sequential) -> None:
        super().__init__()
        self.members = nn.ModuleList(self._member(grouped, g) for g in range(groups_of(grouped)))

    @staticmethod
    def _member(grouped: nn.Sequential, g: int) -> nn.Sequential:
        layers: list[nn.Module] = []
        for layer in grouped:
            if isinstance(layer, GroupedLinear):
                _, in_features, out_features = layer.weight.shape
                linear = nn.Linear(in_features, out_features)
                linear.weight.data.copy_(layer.weight.data[g].T)
                linear.bias.data.copy_(layer.bias.data[g])
                layers.append(linear)
            elif isinstance(layer, GroupedBatchNorm):
                shared = layer.norm
                features = shared.num_features // groups_of(grouped)
                own = slice(g * features, (g + 1) * features)
                norm = nn.BatchNorm1d(features, eps=shared.eps, momentum=shared.momentum)
                norm.weight.data.copy_(shared.weight.data[own])
                norm.bias.data.copy_(shared.bias.data[own])
                norm.running_mean.copy_(shared.running_mean[own])
                norm.running_var.copy_(shared.running_var[own])
                norm.num_batches_tracked.copy_(shared.num_batches_tracked)
                layers.append(norm)
            else:
                layers.append(copy.deepcopy(layer))
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([member(x[:, g]) for g, member in enumerate(self.members)], dim=1)


def groups_of(grouped: nn.Sequential) -> int:
    """Number of groups of a grouped MLP."""
    return next(m for m in grouped if isinstance(m, GroupedLinear)).weight.shape[0]


class LoopedLikelihoods(Likelihoods):
    """Negative log-likelihoods computed modality by modality in a Python loop (the unfused reference)."""

    def __init__(self, schema: Schema, config: VSAEConfig) -> None:
        super().__init__(
            schema, config.numerical_variance, config.binary_loss, config.learn_numerical_variance
        )
        self.schema = schema

    def negative_log_likelihood(self, raw: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        per_modality = []
        numerical = 0
        for index, modality in enumerate(self.schema):
            columns = self.schema.columns_of(index)
            out, wanted = raw[:, columns], target[:, columns]
            if modality.kind == "numerical":
                logvar = self.numerical_logvar[numerical : numerical + modality.width]
                numerical += modality.width
                nll = 0.5 * ((out - wanted).square() * torch.exp(-logvar) + logvar)
            elif modality.kind == "categorical":
                nll = -(wanted * torch.log_softmax(out, dim=-1))
            elif self.binary_loss == "bce":
                nll = F.binary_cross_entropy_with_logits(out, wanted, reduction="none")
            else:
                nll = (torch.sigmoid(out) - wanted).square()
            per_modality.append(nll.sum(1))
        return torch.stack(per_modality, dim=1)


class EinsumGroupedLinear(GroupedLinear):
    """:class:`GroupedLinear` computed with ``einsum`` instead of ``baddbmm`` (a lever measured here)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("ngi,gio->ngo", x, self.weight) + self.bias


def naive_copy(model: VSAE, loop_encoders: bool = True, loop_likelihoods: bool = True) -> VSAE:
    """A copy of ``model`` with the same weights whose unimodal encoders and/or likelihoods loop over
    modalities in Python: the naive implementation the batched one must equal."""
    naive = copy.deepcopy(model)
    if loop_encoders:
        for g, grouped in enumerate(model.unimodal):
            naive.unimodal[g] = LoopedMLPs(grouped)
    if loop_likelihoods:
        looped = LoopedLikelihoods(model.schema, model.config)
        looped.load_state_dict(model.likelihoods.state_dict())
        naive.likelihoods = looped
    return naive


def einsum_copy(model: VSAE) -> VSAE:
    """A copy of ``model`` whose grouped layers use :class:`EinsumGroupedLinear`."""
    variant = copy.deepcopy(model)
    for grouped in variant.unimodal:
        for index, layer in enumerate(grouped):
            if isinstance(layer, GroupedLinear):
                replacement = EinsumGroupedLinear(*layer.weight.shape)
                replacement.load_state_dict(layer.state_dict())
                grouped[index] = replacement
    return variant


def forward_macs(model: nn.Module) -> int:
    """Multiply-accumulates per sample of one pass through every linear layer of ``model``."""
    total = 0
    for module in model.modules():
        if isinstance(module, nn.Linear):
            total += module.in_features * module.out_features
        elif isinstance(module, GroupedLinear):
            total += module.weight.numel()
    return total


# -- training steps -------------------------------------------------------------------------------
def make_step(
    model: nn.Module,
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    optimiser: torch.optim.Optimizer | None = None,
    sync: bool = False,
) -> Step:
    """One optimiser step as the trainer takes it: loss, backward, gradient clipping, Adam.

    ``sync`` reads the loss on the host after every step (what a per-step log line costs).
    """
    defaults = TrainConfig()
    optimiser = optimiser or adam_optimiser(list(model.parameters()), defaults.learning_rate)
    parameters = list(model.parameters())

    def step(x: torch.Tensor, observed: torch.Tensor) -> None:
        total = loss(x, observed)
        optimiser.zero_grad(set_to_none=True)
        total.backward()
        if defaults.clip_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(parameters, defaults.clip_grad_norm)
        optimiser.step()
        if sync:
            float(total.detach())

    return step


def repeated(step: Step, batches: list[tuple[torch.Tensor, torch.Tensor]], steps: int) -> Callable[[], None]:
    """``steps`` optimiser steps cycling through ``batches``."""

    def run() -> None:
        for i in range(steps):
            step(*batches[i % len(batches)])

    return run


def vsae_loss(
    model: VSAE, unobserved_term: bool = True
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The Eq. 8 loss past the warm-up (two passes when ``unobserved_term``)."""
    objective = SelectiveELBO(unobserved_term=unobserved_term)
    return lambda x, observed: objective(model, x, observed, True).total


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


def _pool(schema: Schema, rows: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Encoded training rows and their mask: correlated Gaussians, or uniform pixels for images."""
    if all(m.kind == "image" for m in schema):
        rng = np.random.default_rng(seed)
        x = rng.random((rows, schema.total_width), dtype=np.float32)
        observed = modality_mcar_mask(rows, len(schema), MISSING_RATE, seed + 1)
    else:
        x = correlated_gaussian(rows, schema.total_width, seed).astype(np.float32)
        observed = mcar_mask((rows, len(schema)), MISSING_RATE, seed + 1)
    x[~np.repeat(observed, [m.width for m in schema], axis=1)] = 0.0  # as the trainer stores them
    return torch.as_tensor(x), torch.as_tensor(observed)


def bench_train(budget: Budget) -> dict[str, Any]:
    """Training-step throughput of VSAE, the plain VAE, the naive loop and the lever variants."""
    settings = {
        f"numerical_m{m}": (numerical_schema(m), VSAEConfig(), True) for m in budget.numerical_features
    }
    settings["mnist_mnist"] = (image_schema(), VSAEConfig.for_images(), False)
    results: dict[str, Any] = {}
    for name, (schema, config, all_levers) in settings.items():
        x, observed = _pool(schema, budget.batch * budget.batches_in_pool, seed=0)
        batches = list(zip(x.split(budget.batch), observed.split(budget.batch), strict=True))
        variants = _train_variants(schema, config, all_levers)

        seconds = round_robin(
            {k: repeated(step, batches, budget.steps) for k, (_, step) in variants.items()},
            budget.warmup,
            budget.repeats,
        )
        samples = budget.steps * budget.batch
        macs = {k: forward_macs(model) for k, (model, _) in variants.items()}
        results[name] = {
            "modalities": len(schema),
            "width": schema.total_width,
            "batch": budget.batch,
            "steps_per_repeat": budget.steps,
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


def _encoder_passes(network: VSAE, x: torch.Tensor, passes: int) -> Callable[[], None]:
    def run() -> None:
        for _ in range(passes):
            network.unimodal(x).sum().backward()

    return run


def bench_encoders(budget: Budget) -> dict[str, Any]:
    """The unimodal encoders alone, forward and backward at the training batch: the grouped layers
    (``baddbmm``, the library), the same with ``einsum``, and one network per modality in a loop."""
    results: dict[str, Any] = {}
    for m in budget.numerical_features:
        schema = numerical_schema(m)
        x, _ = _pool(schema, budget.batch, seed=4)
        torch.manual_seed(0)
        model = VSAE(schema).train()
        variants = {
            "grouped_bmm": model,
            "grouped_einsum": einsum_copy(model),
            "loop": naive_copy(model, loop_likelihoods=False),
        }

        seconds = round_robin(
            {k: _encoder_passes(v, x, budget.steps) for k, v in variants.items()},
            budget.warmup,
            budget.repeats,
        )
        per_step = {k: [s / budget.steps for s in v] for k, v in seconds.items()}
        results[f"numerical_m{m}"] = {
            "batch": budget.batch,
            "step_seconds": {k: spread(v) for k, v in per_step.items()},
            "raw_step_seconds": per_step,
            "ratios": {
                f"{k}_over_grouped_bmm": ratios(seconds, k, "grouped_bmm")
                for k in variants
                if k != "grouped_bmm"
            },
        }
    return results


def bench_batching(budget: Budget) -> dict[str, Any]:
    """An epoch of index batches of in-memory tensors against a shuffling ``DataLoader`` (M = 8)."""
    schema = numerical_schema(8)
    x, observed = _pool(schema, budget.batching_rows, seed=1)
    torch.manual_seed(0)
    model = VSAE(schema).train()
    step = make_step(model, vsae_loss(model))
    loader = DataLoader(TensorDataset(x, observed), batch_size=budget.batch, shuffle=True)

    def index_batches() -> Any:
        for index in torch.randperm(x.shape[0]).split(budget.batch):
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
        budget.repeats,
    )
    return {
        "rows": budget.batching_rows,
        "batch": budget.batch,
        "seconds": {k: spread(v) for k, v in seconds.items()},
        "raw_seconds": seconds,
        "ratios": {
            "dataloader_over_index_batching": ratios(seconds, "dataloader_only", "index_batches_only"),
            "dataloader_over_index_epoch": ratios(seconds, "dataloader_epoch", "index_epoch"),
        },
    }


def bench_compile(budget: Budget) -> dict[str, Any]:
    """``torch.compile`` of the whole loss or of each network: compile time and steady-state step."""
    results: dict[str, Any] = {}
    for m in budget.numerical_features:
        schema = numerical_schema(m)
        x, observed = _pool(schema, budget.batch, seed=2)
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
            {k: repeated(s, [(x, observed)], budget.steps) for k, s in steps.items()},
            budget.warmup,
            budget.repeats,
        )
        per_step = {k: [s / budget.steps for s in v] for k, v in seconds.items()}
        results[f"numerical_m{m}"] = {
            "first_step_seconds": first,
            "step_seconds": {k: spread(v) for k, v in per_step.items()},
            "raw_step_seconds": per_step,
            "ratios": {f"{k}_over_eager": ratios(seconds, k, "eager") for k in steps if k != "eager"},
        }
    return results


def bench_batch_size(budget: Budget) -> dict[str, Any]:
    """Fit time and accuracy of ``VSAEImputer`` per batch size on one table (time to accuracy)."""
    table = load_uci(budget.batch_size_dataset)
    split = masked_split(table.frame, seed=UCI_SEED, missing_rate=UCI_RATIO)
    results: dict[str, Any] = {"dataset": table.name, "seed": UCI_SEED, "ratio": UCI_RATIO, "runs": {}}
    for batch_size in budget.batch_sizes:
        params: dict[str, Any] = {"batch_size": batch_size, "random_state": UCI_SEED, "device": "cpu"}
        if budget.batch_size_epochs is not None:
            params["epochs"] = budget.batch_size_epochs
        start = time.perf_counter()
        imputer = VSAEImputer(**params).fit(split.train_masked)
        fit_seconds = time.perf_counter() - start
        scores = [e.get("validation_score", e.get("selection_score")) for e in imputer.history_.epochs]
        epochs = len(scores)
        best = min(scores)
        # Estimated wall time at the first epoch within 1% of the best validation score.
        reached = next(i for i, s in enumerate(scores) if s <= best * 1.01 + 1e-12)
        results["runs"][str(batch_size)] = {
            "fit_seconds": fit_seconds,
            "epochs_run": epochs,
            "best_epoch": imputer.history_.best_epoch,
            "seconds_per_epoch": fit_seconds / epochs,
            "seconds_to_within_1pct_of_best": fit_seconds * (reached + 1) / epochs,
            "validation_scores": scores,
            **_accuracy(table, split, imputer.transform(split.test_masked)),
        }
    return results


def _accuracy(table: Any, split: Any, imputed: pd.DataFrame) -> dict[str, float]:
    scores: dict[str, float] = {}
    if table.numerical:
        scores["nrmse"] = nrmse(split.test, imputed, split.scored, table.numerical)
    if table.categorical:
        scores["pfc"] = pfc(split.test, imputed, split.scored, table.categorical)
    return scores


# -- transform at scale (in a fresh process) ------------------------------------------------------
def _process_memory() -> dict[str, int]:
    """Current and peak resident memory of this process in bytes (Linux ``/proc/self/status``)."""
    values: dict[str, int] = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) * 1024
    return values


def _reset_peak_memory() -> bool:
    """Reset the kernel's peak-RSS mark to the current RSS; False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def transform_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Fit briefly on a subset, then time ``transform`` of a large table and measure its peak memory.

    Runs in a fresh process (see :func:`_run_worker`). Peak memory is that of the *first* transform:
    the kernel's peak-RSS mark is reset right before it and read right after, minus the RSS before
    (input, model and interpreter already resident). Later repeats are timed only: memory freed by
    the first stays in the allocator's heap, so their RSS figures would understate the peak.
    ``tracemalloc`` adds the peak of NumPy/pandas allocations (torch's own allocations are not traced).
    """
    if spec["threads"]:
        torch.set_num_threads(spec["threads"])
    if spec["chunk_rows"] is not None:
        inference.CHUNK_ROWS = spec["chunk_rows"]
    frame = synthetic_table(spec["rows"], spec["columns"], MISSING_RATE, seed=3)
    imputer = VSAEImputer(epochs=spec["fit_epochs"], random_state=0, device="cpu")
    imputer.fit(frame.iloc[: spec["fit_rows"]])
    input_bytes = int(frame.memory_usage(deep=True).sum())
    seconds, user, system = [], [], []
    peak = 0
    exact = True
    for repeat in range(spec["repeats"]):
        gc.collect()
        if repeat == 0:
            exact = _reset_peak_memory()
            before = _process_memory()["VmRSS"]
        usage = resource.getrusage(resource.RUSAGE_SELF)
        start = time.perf_counter()
        out = imputer.transform(frame)
        seconds.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_SELF)
        user.append(after.ru_utime - usage.ru_utime)
        system.append(after.ru_stime - usage.ru_stime)
        if repeat == 0:
            high = _process_memory()["VmHWM"] if exact else after.ru_maxrss * 1024
            peak = high - before
        if out.isna().to_numpy().any():
            raise RuntimeError("transform left a missing cell")
        del out
    gc.collect()
    tracemalloc.start()
    imputer.transform(frame)
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "rows": spec["rows"],
        "columns": spec["columns"],
        "missing_rate": MISSING_RATE,
        "input_bytes": input_bytes,
        "fit_rows": spec["fit_rows"],
        "fit_epochs": spec["fit_epochs"],
        "threads": torch.get_num_threads(),
        "chunk_rows": inference.CHUNK_ROWS,
        "seconds": spread(seconds),
        "raw_seconds": seconds,
        "rows_per_s": spread([spec["rows"] / s for s in seconds]),
        # CPU seconds are less sensitive to other processes than wall time; system time is mostly
        # page faults of freshly mapped memory.
        "cpu_user_seconds": spread(user),
        "cpu_system_seconds": spread(system),
        "peak_bytes_above_baseline": peak,
        "peak_over_input": peak / input_bytes,
        "peak_method": "VmHWM reset" if exact else "ru_maxrss (lifetime peak, an upper bound)",
        "tracemalloc_peak_bytes": traced_peak,
        "tracemalloc_peak_over_input": traced_peak / input_bytes,
    }


def _run_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """:func:`transform_worker` in a fresh Python process, so that its memory figures are its own."""
    package_root = str(Path(vsae.__file__).resolve().parents[1])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])),
    }
    with tempfile.TemporaryDirectory() as folder:
        result_path = Path(folder) / "result.json"
        code = (
            "import json, sys; from vsae.bench.perf import transform_worker; "
            "json.dump(transform_worker(json.loads(sys.argv[1])), open(sys.argv[2], 'w'))"
        )
        completed = subprocess.run(
            [sys.executable, "-c", code, json.dumps(spec), str(result_path)],
            env=env,
            capture_output=True,
            text=True,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"the transform worker failed:\n{completed.stderr[-4000:]}")
        return json.loads(result_path.read_text())


def bench_transform(budget: Budget, threads: int | None) -> dict[str, Any]:
    """``transform`` of ``transform_rows`` × ``transform_columns`` at the library's chunk size."""
    return {
        "runs": [
            _run_worker(
                {
                    "rows": budget.transform_rows,
                    "columns": budget.transform_columns,
                    "fit_rows": budget.fit_rows,
                    "fit_epochs": budget.fit_epochs,
                    "repeats": budget.transform_repeats,
                    "chunk_rows": None,
                    "threads": threads,
                }
            )
        ]
    }


def bench_chunks(budget: Budget, threads: int | None) -> dict[str, Any]:
    """``transform`` time and peak memory for several chunk sizes (one fresh process each)."""
    return {
        "runs": [
            _run_worker(
                {
                    "rows": budget.chunk_table_rows,
                    "columns": budget.transform_columns,
                    "fit_rows": min(budget.fit_rows, budget.chunk_table_rows),
                    "fit_epochs": budget.fit_epochs,
                    "repeats": budget.transform_repeats,
                    "chunk_rows": chunk,
                    "threads": threads,
                }
            )
            for chunk in budget.chunk_rows
        ]
    }


# -- UCI fit-plus-impute --------------------------------------------------------------------------
def _make_imputer(method: str, params: dict[str, Any]) -> Any:
    if method == "vsae":
        return VSAEImputer(random_state=UCI_SEED, device="cpu", **params)
    if method == "mice":
        return MICEImputer(random_state=UCI_SEED, **params)
    return MissForestImputer(random_state=UCI_SEED, **params)


def bench_uci_one(dataset: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """Fit on the masked training split, impute the masked test split; time both, score the result."""
    table = load_uci(dataset)
    split = masked_split(table.frame, seed=UCI_SEED, missing_rate=UCI_RATIO)
    imputer = _make_imputer(method, params)
    start = time.perf_counter()
    imputer.fit(split.train_masked)
    fitted = time.perf_counter()
    imputed = imputer.transform(split.test_masked)
    done = time.perf_counter()
    return {
        "dataset": dataset,
        "method": method,
        "params": params,
        "seed": UCI_SEED,
        "ratio": UCI_RATIO,
        "fit_seconds": fitted - start,
        "impute_seconds": done - fitted,
        "total_seconds": done - start,
        "threads": torch.get_num_threads(),
        "loadavg_after": _loadavg(),
        **_accuracy(table, split, imputed),
    }


def bench_uci(
    budget: Budget, datasets: Sequence[str], cache: dict[str, Any], save: Callable[[], None]
) -> dict[str, Any]:
    """Every (dataset, method) not already in ``cache`` with the same parameters; saved after each."""
    for dataset in datasets:
        for method in UCI_METHODS:
            key = f"{dataset}/{method}"
            params = dict(budget.uci_params.get(method, {}))
            if key in cache and cache[key].get("params") == params:
                print(f"uci {key}: cached", flush=True)
                continue
            cache[key] = bench_uci_one(dataset, method, params)
            print(f"uci {key}: {cache[key]['total_seconds']:.1f} s", flush=True)
            save()
    return cache


def uci_from_cells(cells_dir: Path, datasets: Sequence[str]) -> dict[str, Any]:
    """The ``uci`` comparison read from ``vsae bench uci`` cells instead of measured again.

    Those cells follow the same protocol (``masked_split``, 50% MCAR, library defaults) for seeds
    0, 1, 2; re-measuring would repeat about an hour of MissForest per seed on mushroom and phishing.
    Returns, per ``dataset/method``, the per-seed fit + impute seconds and test errors.
    """
    runs: dict[str, Any] = {}
    for dataset in datasets:
        for method in UCI_METHODS:
            seeds, seconds, errors = [], [], []
            for path in sorted((cells_dir / dataset / f"mcar-{UCI_RATIO:g}").glob(f"{method}-seed*.json")):
                cell = read_cell(path)
                if "metrics" not in cell:  # a failed cell holds its error instead
                    continue
                seeds.append(cell["seed"])
                seconds.append(cell["fit_seconds"] + cell["impute_seconds"])
                errors.append(cell["metrics"].get("nrmse", cell["metrics"].get("pfc")))
            if seeds:
                runs[f"{dataset}/{method}"] = {
                    "dataset": dataset,
                    "method": method,
                    "seeds": seeds,
                    "total_seconds": seconds,
                    "errors": errors,
                }
    return {"cells": str(cells_dir), "runs": runs}


# -- report ---------------------------------------------------------------------------------------
def _fmt(summary: dict[str, float], scale: float = 1.0, digits: int = 0) -> str:
    return " / ".join(f"{summary[k] * scale:,.{digits}f}" for k in ("min", "median", "max"))


def markdown_summary(results: dict[str, Any]) -> str:
    """The figures of ``results`` as Markdown tables (min / median / max where repeated)."""
    lines: list[str] = []
    if "train" in results:
        lines += [
            "### Training step, samples/s (min / median / max); time ratio to batched VSAE (median)",
            "",
            "| setting | variant | samples/s | time ÷ vsae |",
            "|---|---|---|---|",
        ]
        for setting, data in results["train"].items():
            for variant, figures in data["variants"].items():
                ratio = data["ratios"].get(f"{variant}_over_vsae", {"median": 1.0})["median"]
                lines.append(f"| {setting} | {variant} | {_fmt(figures['samples_per_s'])} | {ratio:.2f} |")
        lines.append("")
    if "encoders" in results:
        lines += [
            "### Unimodal encoders alone, forward + backward, ms (min / median / max)",
            "",
            "| setting | implementation | ms | time ÷ grouped bmm (median) |",
            "|---|---|---|---|",
        ]
        for setting, data in results["encoders"].items():
            for name, figures in data["step_seconds"].items():
                ratio = data["ratios"].get(f"{name}_over_grouped_bmm", {"median": 1.0})["median"]
                lines.append(f"| {setting} | {name} | {_fmt(figures, 1e3, 2)} | {ratio:.2f} |")
        lines.append("")
    if "batching" in results:
        data = results["batching"]
        lines += [
            "### Batching, seconds per epoch (min / median / max)",
            "",
            "| loop | seconds |",
            "|---|---|",
        ]
        lines += [f"| {k} | {_fmt(v, digits=4)} |" for k, v in data["seconds"].items()]
        lines.append("")
    if "compile" in results:
        lines += [
            "### torch.compile, ms per step (min / median / max)",
            "",
            "| setting | mode | first step s | ms/step |",
            "|---|---|---|---|",
        ]
        for setting, data in results["compile"].items():
            for mode, figures in data["step_seconds"].items():
                lines.append(
                    f"| {setting} | {mode} | {data['first_step_seconds'][mode]:.1f} "
                    f"| {_fmt(figures, 1e3, 1)} |"
                )
        lines.append("")
    if "batch_size" in results:
        data = results["batch_size"]
        lines += [
            f"### Batch size on {data['dataset']} (seed {data['seed']}, ratio {data['ratio']})",
            "",
            "| batch | fit s | epochs | best epoch | s to within 1% of best | test error |",
            "|---|---|---|---|---|---|",
        ]
        for batch, run in data["runs"].items():
            error = run.get("nrmse", run.get("pfc"))
            lines.append(
                f"| {batch} | {run['fit_seconds']:.1f} | {run['epochs_run']} | {run['best_epoch']} "
                f"| {run['seconds_to_within_1pct_of_best']:.1f} | {error:.4f} |"
            )
        lines.append("")
    for part in ("chunks", "transform"):
        if part not in results:
            continue
        lines += [
            f"### {part}: VSAEImputer.transform, seconds (min / median / max), memory of the first call",
            "",
            "| rows × columns | input MiB | chunk rows | seconds | rows/s (median) | CPU user / system s "
            "(median) | peak RSS ÷ input | traced ÷ input |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for run in results[part]["runs"]:
            lines.append(
                f"| {run['rows']:,} × {run['columns']} | {run['input_bytes'] / 2**20:,.0f} "
                f"| {run['chunk_rows']:,} | {_fmt(run['seconds'], digits=2)} "
                f"| {run['rows_per_s']['median']:,.0f} | {run['cpu_user_seconds']['median']:.1f} / "
                f"{run['cpu_system_seconds']['median']:.1f} | {run['peak_over_input']:.2f} "
                f"| {run['tracemalloc_peak_over_input']:.2f} |"
            )
        lines.append("")
    if results.get("uci"):
        lines += [
            "### UCI fit + impute (seed 0, 50% MCAR): seconds and test error (NRMSE or PFC)",
            "",
            "| dataset | method | fit + impute s | error | time ÷ MissForest |",
            "|---|---|---|---|---|",
        ]
        for run in results["uci"].values():
            forest = results["uci"].get(f"{run['dataset']}/missforest")
            share = f"{run['total_seconds'] / forest['total_seconds']:.3f}" if forest else "–"
            error = run.get("nrmse", run.get("pfc"))
            lines.append(
                f"| {run['dataset']} | {run['method']} | {run['total_seconds']:.1f} | {error:.4f} | {share} |"
            )
        lines.append("")
    if results.get("uci_cells"):
        lines += [
            f"### UCI fit + impute from the cells in {results['uci_cells']['cells']} (50% MCAR): seconds "
            "(min / median / max over seeds) and test error (NRMSE or PFC, mean ± std)",
            "",
            "| dataset | method | seeds | fit + impute s | error | time ÷ MissForest (per seed, median) |",
            "|---|---|---|---|---|---|",
        ]
        runs = results["uci_cells"]["runs"]
        for run in runs.values():
            forest = runs.get(f"{run['dataset']}/missforest")
            share = "–"
            if forest:
                forest_seconds = dict(zip(forest["seeds"], forest["total_seconds"], strict=True))
                shares = [
                    t / forest_seconds[seed]
                    for seed, t in zip(run["seeds"], run["total_seconds"], strict=True)
                    if seed in forest_seconds
                ]
                share = f"{statistics.median(shares):.3f}" if shares else "–"
            errors = np.asarray(run["errors"])
            std = f" ± {errors.std(ddof=1):.3f}" if errors.size > 1 else ""
            lines.append(
                f"| {run['dataset']} | {run['method']} | {len(run['seeds'])} "
                f"| {_fmt(spread(run['total_seconds']), digits=1)} | {errors.mean():.3f}{std} | {share} |"
            )
        lines.append("")
    return "\n".join(lines)


# -- command line ---------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read_lines("/proc/cpuinfo")
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu": model,
        "logical_cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scikit_learn": sklearn.__version__,
    }


def _read_lines(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m vsae.bench.perf", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repeat (a smoke run)")
    parser.add_argument("--out", type=Path, default=Path("runs/perf.json"), help="JSON file of every figure")
    parser.add_argument("--parts", nargs="+", choices=PARTS, help="parts to run (default: all)")
    parser.add_argument(
        "--datasets", nargs="+", choices=UCI_DATASETS, help="UCI tables (default: all; --quick: glass)"
    )
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's own choice)")
    parser.add_argument("--repeats", type=int, help="override the number of timed repeats")
    parser.add_argument(
        "--uci-cells",
        type=Path,
        metavar="DIR",
        help="instead of the uci part, summarise the `vsae bench uci` cells in DIR (same protocol, 3 seeds)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    budget = QUICK if args.quick else FULL
    if args.repeats is not None:
        budget = replace(budget, repeats=args.repeats, transform_repeats=args.repeats)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    parts = args.parts or list(QUICK_PARTS if args.quick else PARTS)
    results: dict[str, Any] = json.loads(args.out.read_text()) if args.out.exists() else {}
    results["machine"] = machine()
    args.out.parent.mkdir(parents=True, exist_ok=True)

    def save() -> None:
        temporary = args.out.with_suffix(".tmp")
        temporary.write_text(json.dumps(results, indent=1))
        os.replace(temporary, args.out)

    threads = args.threads
    runners: dict[str, Callable[[], dict[str, Any]]] = {
        "train": lambda: bench_train(budget),
        "encoders": lambda: bench_encoders(budget),
        "batching": lambda: bench_batching(budget),
        "compile": lambda: bench_compile(budget),
        "batch_size": lambda: bench_batch_size(budget),
        "chunks": lambda: bench_chunks(budget, threads),
        "transform": lambda: bench_transform(budget, threads),
        "uci": lambda: bench_uci(
            budget, args.datasets or budget.uci_datasets, results.setdefault("uci", {}), save
        ),
    }
    if args.uci_cells is not None:
        results["uci_cells"] = uci_from_cells(args.uci_cells, args.datasets or UCI_DATASETS)
        save()
        print(markdown_summary({"uci_cells": results["uci_cells"]}))
        return 0
    for part in parts:
        before, start = _loadavg(), time.perf_counter()
        print(f"{part}: running (load average {before})", flush=True)
        outcome = runners[part]()
        meta = {
            "quick": args.quick,
            "threads": torch.get_num_threads(),
            "loadavg_before": before,
            "loadavg_after": _loadavg(),
            "seconds": time.perf_counter() - start,
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        results[part] = outcome
        results.setdefault("meta", {})[part] = meta
        save()
    print(markdown_summary({k: v for k, v in results.items() if k in parts}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
