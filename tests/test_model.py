"""Tests of the VSAE network (vsae.model): encoders, selective proposal, KL, likelihoods, objective."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from vsae.data import apply_mask, load_uci, mcar_mask
from vsae.imputer import VSAEImputer
from vsae.model.layers import GroupedBatchNorm, GroupedLinear
from vsae.model.likelihoods import LOGVAR_LIMIT, Likelihoods
from vsae.model.vsae import VSAE, Posterior, VSAEConfig
from vsae.schema import Modality, Schema

# ------------------------------------------------------------------------------------------- helpers


def mixed_width_schema() -> Schema:
    """Every modality type, categoricals of different class counts, a numerical modality of width 3,
    and images wider than the small-modality group (two of one width, one of another)."""
    return Schema(
        (
            Modality("num", "numerical", 1),
            Modality("two", "categorical", 2, categories=("a", "b")),
            Modality("six", "categorical", 6, categories=tuple(range(6))),
            Modality("vec", "numerical", 3),
            Modality("bit", "binary", 1),
            Modality("img_a", "image", 100, shape=(10, 10)),
            Modality("img_small", "image", 81, shape=(9, 9)),
            Modality("img_b", "image", 100, shape=(10, 10)),
        )
    )


def random_encoded(schema: Schema, n: int, generator: torch.Generator) -> torch.Tensor:
    """Valid encoded data: standard normal numbers, one-hot classes, bits, pixels in [0, 1]."""
    blocks = []
    for modality in schema:
        if modality.kind == "numerical":
            blocks.append(torch.randn(n, modality.width, generator=generator))
        elif modality.kind == "categorical":
            classes = torch.randint(modality.width, (n,), generator=generator)
            blocks.append(F.one_hot(classes, modality.width).float())
        elif modality.kind == "binary":
            blocks.append(torch.randint(2, (n, modality.width), generator=generator).float())
        else:
            blocks.append(torch.rand(n, modality.width, generator=generator))
    return torch.cat(blocks, dim=1)


def randomise_batch_norm(model: nn.Module, generator: torch.Generator) -> None:
    """Non-trivial running statistics and affine parameters, so that eval-mode batch norm matters."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm1d):
                size = module.num_features
                module.running_mean.copy_(torch.randn(size, generator=generator))
                module.running_var.copy_(0.5 + torch.rand(size, generator=generator))
                module.weight.copy_(1.0 + 0.3 * torch.randn(size, generator=generator))
                module.bias.copy_(0.3 * torch.randn(size, generator=generator))


def encoder_slot(model: VSAE, index: int) -> tuple[int, int]:
    """The grouped encoder and the row of its stacked weights that form modality ``index``'s network.

    Read from the gather indices; the slot must read exactly the modality's own columns (the rest of
    its row points at the zero column), and no other slot may read them.
    """
    schema = model.schema
    own = list(range(schema.offsets[index], schema.offsets[index + 1]))
    slots = []
    for group in range(len(model.unimodal)):
        gather = getattr(model.unimodal, f"gather_{group}")
        for row, columns in enumerate(gather.tolist()):
            read = [c for c in columns if c != schema.total_width]
            if set(read) & set(own):
                assert read == own, f"slot ({group}, {row}) mixes modality {index} with other columns"
                slots.append((group, row))
    assert len(slots) == 1, f"modality {index} is read by {len(slots)} encoder slots"
    return slots[0]


def unimodal_reference(model: VSAE, x: torch.Tensor, index: int) -> torch.Tensor:
    """Modality ``index``'s own encoder applied to its own columns only, one layer at a time.

    The modality's slot of the stacked weights is used with as many input rows as the modality has
    columns: the zero padding of narrower modalities must contribute nothing.
    """
    group, row = encoder_slot(model, index)
    h = x[:, model.schema.columns_of(index)]
    for layer in model.unimodal[group]:
        if isinstance(layer, GroupedLinear):
            h = h @ layer.weight[row, : h.shape[1]] + layer.bias[row]
        elif isinstance(layer, GroupedBatchNorm):
            norm, width = layer.norm, h.shape[1]
            part = slice(row * width, (row + 1) * width)
            scale = norm.weight[part] / torch.sqrt(norm.running_var[part] + norm.eps)
            h = (h - norm.running_mean[part]) * scale + norm.bias[part]
        elif isinstance(layer, nn.LeakyReLU):
            h = F.leaky_relu(h, layer.negative_slope)
        else:
            raise AssertionError(f"unexpected layer {layer!r} in a unimodal encoder")
    return h


# ---------------------------------------------------------------------------------------- encoders


@pytest.fixture
def eval_model() -> VSAE:
    """A small randomly initialised VSAE on :func:`mixed_width_schema`, in eval mode."""
    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = VSAE(mixed_width_schema(), VSAEConfig(latent_dim=4, encoder_hidden=16, decoder_hidden=16))
    randomise_batch_norm(model, generator)
    return model.eval()


def test_width_grouping_is_exercised(eval_model: VSAE) -> None:
    # One padded group for the narrow modalities, one group per wide width (81 and 100); every
    # modality has exactly one slot.
    assert len(eval_model.unimodal) == 3
    slots = [encoder_slot(eval_model, index) for index in range(len(eval_model.schema))]
    assert len(set(slots)) == len(slots)
    assert {group for group, _ in slots} == {0, 1, 2}


def test_grouped_unimodal_encoders_equal_one_network_per_modality(eval_model: VSAE) -> None:
    generator = torch.Generator().manual_seed(1)
    schema = eval_model.schema
    x = random_encoded(schema, 32, generator)
    observed = torch.ones(32, len(schema), dtype=torch.bool)
    with torch.no_grad():
        posterior = eval_model.encode(x, observed, noise=False)
        for index in range(len(schema)):
            mean, logvar = unimodal_reference(eval_model, x, index).chunk(2, dim=-1)
            torch.testing.assert_close(posterior.mean[:, index], mean, rtol=1e-5, atol=1e-5)
            torch.testing.assert_close(
                posterior.logvar[:, index], logvar.clamp(-LOGVAR_LIMIT, LOGVAR_LIMIT), rtol=1e-5, atol=1e-5
            )


def test_selective_proposal_is_unimodal_exactly_where_observed(eval_model: VSAE) -> None:
    generator = torch.Generator().manual_seed(2)
    schema = eval_model.schema
    n, n_modalities = 64, len(schema)
    x = random_encoded(schema, n, generator)
    observed = torch.rand(n, n_modalities, generator=generator) < 0.5
    observed[0], observed[1] = True, False  # a complete row and a row with nothing observed
    column_observed = observed[:, schema.column_modality()]
    with torch.no_grad():
        posterior = eval_model.encode(x, observed, noise=False)
        # The multimodal encoder sees x with unobserved cells zeroed (noise disabled) and the mask.
        x_tilde = torch.where(column_observed, x, torch.zeros_like(x))
        multimodal = eval_model.multimodal(torch.cat([x_tilde, observed.float()], dim=1))
        multimodal = multimodal.view(n, n_modalities, -1)
        for index in range(n_modalities):
            unimodal = unimodal_reference(eval_model, x, index)
            expected = torch.where(observed[:, index, None], unimodal, multimodal[:, index])
            mean, logvar = expected.chunk(2, dim=-1)
            torch.testing.assert_close(posterior.mean[:, index], mean, rtol=1e-5, atol=1e-5)
            torch.testing.assert_close(
                posterior.logvar[:, index], logvar.clamp(-LOGVAR_LIMIT, LOGVAR_LIMIT), rtol=1e-5, atol=1e-5
            )
        # The unimodal and multimodal answers differ, so the comparison above can tell them apart.
        unimodal_all = torch.stack([unimodal_reference(eval_model, x, i) for i in range(n_modalities)], 1)
        assert (unimodal_all - multimodal).abs().amin() > 0

        # Noise in unobserved cells reaches the multimodal blocks only.
        torch.manual_seed(3)
        noisy = eval_model.encode(x, observed, noise=True)
        blocks = observed.unsqueeze(-1).expand_as(noisy.mean)
        assert torch.equal(noisy.mean[blocks], posterior.mean[blocks])
        assert not torch.equal(noisy.mean[~blocks], posterior.mean[~blocks])


def test_fill_unobserved_noise_for_tabular_zeros_for_images(eval_model: VSAE) -> None:
    generator = torch.Generator().manual_seed(4)
    schema = eval_model.schema
    x = random_encoded(schema, 16, generator)
    observed = torch.rand(16, len(schema), generator=generator) < 0.5
    column_observed = observed[:, schema.column_modality()]
    image = torch.tensor([m.kind == "image" for m in schema])[schema.column_modality()].expand_as(x)
    torch.manual_seed(5)
    filled = eval_model.fill_unobserved(x, observed, noise=True)
    assert torch.equal(filled[column_observed], x[column_observed])
    assert (filled[~column_observed & image] == 0).all()
    tabular_fill = filled[~column_observed & ~image]
    assert tabular_fill.numel() > 100 and (tabular_fill != 0).all()
    assert abs(float(tabular_fill.mean())) < 0.3 and 0.7 < float(tabular_fill.std()) < 1.3
    assert (eval_model.fill_unobserved(x, observed, noise=False)[~column_observed] == 0).all()


# ---------------------------------------------------------------------------------------------- KL


@pytest.mark.parametrize("prior_weight", [0.0, 0.01, 1.0])
def test_importance_weighted_mean_is_the_self_normalised_estimate(
    eval_model: VSAE, prior_weight: float
) -> None:
    """The draw-by-draw (log-sum-exp) accumulation equals the textbook estimate computed at once from
    the same draws: softmax over draws of ``log p(x_o | z) + w · (log N(z; 0, I) − log q(z))``, the
    2π terms included, weighting the expected values."""
    generator = torch.Generator().manual_seed(3)
    x = random_encoded(eval_model.schema, 12, generator)
    observed = torch.rand(12, len(eval_model.schema), generator=generator) < 0.6
    noise = torch.randn(7, len(eval_model.schema), eval_model.config.latent_dim, generator=generator)
    got = eval_model.importance_weighted_mean(x, observed, noise, prior_weight)

    posterior = eval_model.encode(x, observed, noise=False)
    normal = torch.distributions.Normal(posterior.mean, torch.exp(0.5 * posterior.logvar))
    standard = torch.distributions.Normal(torch.zeros_like(posterior.mean), 1.0)
    log_weights, means = [], []
    with torch.no_grad():
        for draw in noise:
            z = posterior.mean + draw * normal.stddev
            raw = eval_model.decode(z, observed).data
            nll = eval_model.likelihoods.negative_log_likelihood(raw, x)
            log_ratio = (standard.log_prob(z) - normal.log_prob(z)).sum((1, 2))
            log_weights.append(-(nll * observed).sum(1) + prior_weight * log_ratio)
            means.append(eval_model.likelihoods.mean(raw))
    weights = torch.softmax(torch.stack(log_weights), dim=0)
    expected = (weights[:, :, None] * torch.stack(means)).sum(0)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    # the weights matter at this tolerance: the unweighted average of the draws is told apart
    assert not torch.allclose(got, torch.stack(means).mean(0), rtol=1e-5, atol=1e-6)


def test_analytic_kl_of_each_block_matches_monte_carlo() -> None:
    generator = torch.Generator().manual_seed(0)
    shape = (3, 4, 5)  # rows, blocks, latent dimensions
    mean = 1.5 * torch.randn(shape, generator=generator, dtype=torch.float64)
    logvar = -2.0 + 3.5 * torch.rand(shape, generator=generator, dtype=torch.float64)
    analytic = Posterior(mean, logvar).kl_to_standard_normal()
    assert analytic.shape == shape[:2]

    samples = 200_000
    with torch.random.fork_rng():
        torch.manual_seed(0)
        z = Posterior(mean.expand(samples, *shape), logvar.expand(samples, *shape)).rsample()
    # log q(z) - log p(z) of a diagonal Gaussian against N(0, I), summed over a block's dimensions.
    log_ratio = 0.5 * (z.square() - (z - mean).square() / logvar.exp() - logvar).sum(-1)
    estimate = log_ratio.mean(0)
    standard_error = log_ratio.std(0) / math.sqrt(samples)
    # The estimate is a mean of 200k i.i.d. terms: it lies within 4 standard errors of the truth with
    # probability 0.99994 per block, and the standard error is under 1% of every KL, so a wrong
    # formula (e.g. a missing factor 1/2 or a dropped term) cannot pass.
    assert (standard_error < 0.01 * analytic).all()
    assert ((analytic - estimate).abs() < 4 * standard_error).all(), (analytic, estimate, standard_error)


# --------------------------------------------------------------------------------------- likelihoods


def likelihood_schema() -> Schema:
    return Schema(
        (
            Modality("num", "numerical", 1),
            Modality("cat2", "categorical", 2, categories=(0, 1)),
            Modality("cat5", "categorical", 5, categories=tuple("abcde")),
            Modality("vec", "numerical", 3),
            Modality("bit", "binary", 1),
            Modality("cat3", "categorical", 3, categories=("p", "q", "r")),
            Modality("img", "image", 4, shape=(2, 2)),
        )
    )


@pytest.mark.parametrize("binary_loss", ["mse", "bce"])
def test_negative_log_likelihood_per_modality(binary_loss: Any) -> None:
    schema = likelihood_schema()
    generator = torch.Generator().manual_seed(0)
    raw = 3.0 * torch.randn(50, schema.total_width, generator=generator)
    target = random_encoded(schema, 50, generator)
    variance = 0.3
    nll = Likelihoods(schema, variance, binary_loss).negative_log_likelihood(raw, target)
    assert nll.shape == (50, len(schema))
    for index, modality in enumerate(schema):
        columns = schema.columns_of(index)
        out, wanted = raw[:, columns], target[:, columns]
        if modality.kind == "numerical":
            expected = 0.5 * ((out - wanted).square() / variance + math.log(variance)).sum(1)
        elif modality.kind == "categorical":
            # Cross-entropy of the block's own softmax: padding to the widest block changes nothing.
            expected = F.cross_entropy(out, wanted.argmax(1), reduction="none")
        elif binary_loss == "bce":
            expected = F.binary_cross_entropy_with_logits(out, wanted, reduction="none").sum(1)
        else:
            expected = (torch.sigmoid(out) - wanted).square().sum(1)
        torch.testing.assert_close(nll[:, index], expected, msg=modality.name)


def test_mean_and_mode_decode_each_block() -> None:
    schema = likelihood_schema()
    likelihoods = Likelihoods(schema)
    raw = 3.0 * torch.randn(40, schema.total_width, generator=torch.Generator().manual_seed(1))
    mean, mode = likelihoods.mean(raw), likelihoods.mode(raw)
    for index, modality in enumerate(schema):
        columns = schema.columns_of(index)
        block = raw[:, columns]
        if modality.kind == "numerical":
            assert torch.equal(mean[:, columns], block) and torch.equal(mode[:, columns], block)
        elif modality.kind == "categorical":
            torch.testing.assert_close(mean[:, columns], torch.softmax(block, dim=1))
            assert torch.equal(mode[:, columns], F.one_hot(block.argmax(1), modality.width).float())
        else:
            torch.testing.assert_close(mean[:, columns], torch.sigmoid(block))
            expected = (torch.sigmoid(block) > 0.5).float() if modality.kind == "binary" else mean[:, columns]
            assert torch.equal(mode[:, columns], expected)


def test_sample_draws_valid_one_hot_blocks_with_the_predicted_frequencies() -> None:
    schema = likelihood_schema()
    likelihoods = Likelihoods(schema)
    row = torch.randn(1, schema.total_width, generator=torch.Generator().manual_seed(2))
    draws = 20_000
    torch.manual_seed(0)
    sample = likelihoods.sample(row.expand(draws, -1))
    probabilities = likelihoods.mean(row)[0]
    for index, modality in enumerate(schema):
        columns = schema.columns_of(index)
        block = sample[:, columns]
        if modality.kind == "numerical":
            assert torch.equal(block, row[:, columns].expand_as(block))
            continue
        if modality.kind == "image":
            torch.testing.assert_close(block, probabilities[columns].expand_as(block))
            continue
        if modality.kind == "categorical":
            assert ((block == 0) | (block == 1)).all() and (block.sum(1) == 1).all(), modality.name
        else:
            assert ((block == 0) | (block == 1)).all(), modality.name
        p = probabilities[columns]
        standard_error = torch.sqrt(p * (1 - p) / draws)
        assert ((block.mean(0) - p).abs() < 4 * standard_error + 1e-6).all(), modality.name


def test_imputation_error_by_hand() -> None:
    schema = Schema(
        (
            Modality("num", "numerical", 1),
            Modality("vec", "numerical", 3),
            Modality("cat", "categorical", 3, categories=("x", "y", "z")),
            Modality("bit", "binary", 1),
            Modality("img", "image", 2, shape=(2,)),
        )
    )
    #                          num  vec            cat          bit  img
    prediction = torch.tensor([[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.5, 0.5],
                               [2.0, 1.0, 2.0, 3.0, 0.0, 1.0, 0.0, 0.0, 0.2, 0.4]])  # fmt: skip
    target = torch.tensor([[3.0, 1.0, 2.0, 3.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0],
                           [2.0, 1.0, 2.0, 3.0, 0.0, 1.0, 0.0, 0.0, 0.2, 0.4]])  # fmt: skip
    error = Likelihoods(schema).imputation_error(prediction, target)
    expected = torch.tensor([[4.0, 14.0 / 3.0, 1.0, 1.0, 0.25], [0.0, 0.0, 0.0, 0.0, 0.0]])
    torch.testing.assert_close(error, expected)


# ------------------------------------------------------------------------------------------ objective


# The terms of the objective, the warm-up and the KL weight are tested against independent
# computations in tests/test_objective.py.


def test_history_shows_the_unobserved_term_from_the_end_of_warmup(data_root: Path) -> None:
    # Zoo is all categorical: the unobserved term is a cross-entropy, strictly positive when present.
    zoo = load_uci("zoo", data_root).frame
    masked = apply_mask(zoo, mcar_mask(zoo.shape, 0.5, 0))
    warmup, epochs = 2, 5
    imputer = VSAEImputer(
        epochs=epochs, warmup_epochs=warmup, patience=epochs, unobserved_term=True, device="cpu"
    )
    history = imputer.fit(masked).history_.epochs
    assert [record["epoch"] for record in history] == list(range(1, epochs + 1))
    for record in history:
        if record["epoch"] <= warmup:
            assert record["unobserved_nll"] == 0.0, record
        else:
            assert record["unobserved_nll"] > 0.0, record
    expected_terms = {"loss", "observed_nll", "unobserved_nll", "mask_nll", "kl", "validation_score"}
    assert expected_terms <= set(history[0])
