"""The performance benchmark: its naive reference computes what the batched model computes, and a
seconds-long ``--quick`` run writes every part it promises (no timing is asserted)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from vsae.bench.performance import cli
from vsae.bench.performance.references import PlainVAE, forward_macs, naive_copy
from vsae.bench.performance.sizes import QUICK
from vsae.bench.performance.synthetic import numerical_schema
from vsae.model import VSAE, GroupedLinear, SelectiveELBO, VSAEConfig
from vsae.schema import Modality, Schema

SMALL = VSAEConfig(latent_dim=3, encoder_hidden=8, mask_decoder_hidden=8, decoder_hidden=8)


def _mixed_schema() -> Schema:
    """Every modality type, with padded small groups (widths 1, 3, 5) and a wide group (two images)."""
    return Schema(
        (
            Modality("a", "numerical", 1),
            Modality("b", "categorical", 3, categories=("x", "y", "z")),
            Modality("c", "numerical", 1),
            Modality("d", "categorical", 5, categories=tuple(range(5))),
            Modality("e", "binary", 1),
            Modality("f", "image", 70, shape=(7, 10)),
            Modality("g", "image", 70, shape=(7, 10)),
        )
    )


def _encoded(schema: Schema, rows: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)
    blocks = []
    for modality in schema:
        if modality.kind == "numerical":
            blocks.append(rng.standard_normal((rows, 1)))
        elif modality.kind == "categorical":
            blocks.append(np.eye(modality.width)[rng.integers(0, modality.width, rows)])
        elif modality.kind == "binary":
            blocks.append(rng.integers(0, 2, (rows, 1)))
        else:
            blocks.append(rng.random((rows, modality.width)))
    observed = rng.random((rows, len(schema))) > 0.3
    return torch.as_tensor(np.hstack(blocks), dtype=torch.float32), torch.as_tensor(observed)


@pytest.mark.parametrize(("loop_encoders", "loop_likelihoods"), [(True, True), (True, False), (False, True)])
def test_naive_reference_equals_batched_model(loop_encoders: bool, loop_likelihoods: bool) -> None:
    schema = _mixed_schema()
    torch.manual_seed(0)
    batched = VSAE(schema, SMALL).train()
    naive = naive_copy(batched, loop_encoders, loop_likelihoods)
    x, observed = _encoded(schema, rows=32, seed=1)

    losses = []
    for model in (batched, naive):
        torch.manual_seed(2)  # same noise fill, pseudo-targets and reparameterisation draws
        terms = SelectiveELBO()(model, x, observed, past_warmup=True)
        terms.total.backward()
        losses.append(terms.total.detach())
    torch.testing.assert_close(losses[0], losses[1], rtol=1e-5, atol=1e-5)

    # Gradients of the shared networks agree name by name ...
    naive_parameters = dict(naive.named_parameters())
    for name, parameter in batched.named_parameters():
        if not name.startswith("unimodal.") or not loop_encoders:
            torch.testing.assert_close(parameter.grad, naive_parameters[name].grad, rtol=1e-4, atol=1e-6)
    # ... and every member network of a grouped encoder has its group's slice of the gradient.
    if loop_encoders:
        for g, grouped in enumerate(batched.unimodal):
            for position, layer in enumerate(grouped):
                if isinstance(layer, GroupedLinear):
                    for member, network in enumerate(naive.unimodal[g].members):
                        torch.testing.assert_close(
                            network[position].weight.grad, layer.weight.grad[member].T, rtol=1e-4, atol=1e-6
                        )

    # Batch-norm running statistics were updated alike: deterministic imputation agrees in eval mode.
    batched.eval()
    naive.eval()
    torch.testing.assert_close(batched.impute(x, observed), naive.impute(x, observed), rtol=1e-5, atol=1e-5)


def test_plain_vae_reference_counts_the_same_widths() -> None:
    schema = numerical_schema(8)
    vae = PlainVAE(schema, VSAEConfig())
    vsae = VSAE(schema, VSAEConfig())
    # Its encoder and decoder are the VSAE's multimodal encoder and data decoder without the mask inputs.
    expected = forward_macs(vsae.multimodal) + forward_macs(vsae.data_decoder) - 8 * 64 - 8 * 128
    assert forward_macs(vae) == expected


def _spread_ok(summary: dict[str, float]) -> None:
    assert set(summary) == {"min", "median", "max"}
    assert 0 < summary["min"] <= summary["median"] <= summary["max"]


# MICE stops after the one round ``--quick`` allows it, and says so.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_quick_run_writes_every_part_and_resumes_the_uci_part(tmp_path: Path) -> None:
    assert os.environ.get("VSAE_DATA"), (
        "set VSAE_DATA to the shared data folder (e.g. VSAE_DATA=../shared/data)"
    )
    out = tmp_path / "perf.json"
    assert cli.main(["--quick", "--threads", "1", "--out", str(out)]) == 0
    results = json.loads(out.read_text())

    assert set(cli.QUICK_PARTS) <= set(results)
    assert set(results["meta"]) == set(cli.QUICK_PARTS)
    assert results["machine"]["torch"] == torch.__version__
    for setting in ("numerical_m8", "numerical_m50", "mnist_mnist"):
        data = results["train"][setting]
        assert {"vae", "vsae", "naive", "one_pass"} <= set(data["variants"])
        for figures in data["variants"].values():
            _spread_ok(figures["samples_per_s"])
            assert len(figures["seconds"]) == QUICK.repeats
        _spread_ok(data["ratios"]["naive_over_vsae"])
        _spread_ok(data["ratios"]["vae_over_vsae"])
        assert data["mac_ratio_vsae_over_vae"] > 1
    assert {"loop_encoders", "loop_likelihoods", "einsum", "sync_per_step", "adam_for_loop"} <= set(
        results["train"]["numerical_m50"]["variants"]
    )
    for data in results["encoders"].values():
        _spread_ok(data["ratios"]["loop_over_grouped_bmm"])
        _spread_ok(data["ratios"]["grouped_einsum_over_grouped_bmm"])
    _spread_ok(results["batching"]["ratios"]["dataloader_over_index_epoch"])

    runs = results["batch_size"]["runs"]
    assert set(runs) == {str(b) for b in QUICK.batch_sizes}
    assert all(math.isfinite(run["nrmse"]) and run["epochs_run"] == 2 for run in runs.values())

    assert [run["chunk_rows"] for run in results["chunks"]["runs"]] == list(QUICK.chunk_rows)
    (transform,) = results["transform"]["runs"]
    assert transform["input_bytes"] >= QUICK.transform_rows * QUICK.transform_columns * 8
    for run in [transform, *results["chunks"]["runs"]]:
        assert run["peak_bytes_above_baseline"] > 0 and run["tracemalloc_peak_bytes"] > 0
        _spread_ok(run["rows_per_s"])

    assert set(results["uci"]) == {"glass/vsae", "glass/mice", "glass/missforest"}
    for entry in results["uci"].values():
        assert math.isfinite(entry["nrmse"]) and entry["total_seconds"] > 0

    # A rerun of the UCI part finds every (dataset, method) done and leaves the entries untouched.
    assert cli.main(["--quick", "--threads", "1", "--out", str(out), "--parts", "uci"]) == 0
    assert json.loads(out.read_text())["uci"] == results["uci"]
