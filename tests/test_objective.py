"""Tests of the Eq. 8 objective (vsae.model.objective.SelectiveELBO), each against an independent
reference: hand-written per-type likelihoods, autograd, and decoders whose output is pinned."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from vsae.model.likelihoods import Likelihoods
from vsae.model.objective import SelectiveELBO
from vsae.model.vsae import VSAE, VSAEConfig
from vsae.schema import Modality, Schema

SMALL = VSAEConfig(latent_dim=3, encoder_hidden=12, mask_decoder_hidden=8, decoder_hidden=12, depth=1)


def schema() -> Schema:
    """Numerical, categorical (3 and 2 classes), binary: every tabular likelihood once."""
    return Schema(
        (
            Modality("num", "numerical", 1),
            Modality("cat3", "categorical", 3, categories=("a", "b", "c")),
            Modality("vec", "numerical", 2),
            Modality("bit", "binary", 1),
            Modality("cat2", "categorical", 2, categories=(0, 1)),
        )
    )


def encoded(s: Schema, n: int, generator: torch.Generator) -> torch.Tensor:
    blocks = []
    for m in s:
        if m.kind == "numerical":
            blocks.append(torch.randn(n, m.width, generator=generator))
        elif m.kind == "categorical":
            blocks.append(F.one_hot(torch.randint(m.width, (n,), generator=generator), m.width).float())
        else:
            blocks.append(torch.randint(2, (n, m.width), generator=generator).float())
    return torch.cat(blocks, 1)


def setup(n: int = 64, seed: int = 0, **config: Any) -> tuple[VSAE, torch.Tensor, torch.Tensor]:
    s = schema()
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = VSAE(s, VSAEConfig(**{**SMALL.to_dict(), **config})).train()
    x = encoded(s, n, generator)
    observed = torch.rand(n, len(s), generator=generator) < 0.6
    observed[:, 0] |= ~observed.any(1)
    return model, x, observed


@contextmanager
def spy_nll(model: VSAE) -> Iterator[list[tuple[torch.Tensor, torch.Tensor]]]:
    """Record every ``(raw, target)`` the objective scores, and let the real computation run."""
    calls: list[tuple[torch.Tensor, torch.Tensor]] = []
    real = model.likelihoods.negative_log_likelihood

    def recording(raw: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        calls.append((raw, target))
        return real(raw, target)

    model.likelihoods.negative_log_likelihood = recording  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        del model.likelihoods.negative_log_likelihood


@contextmanager
def spy_encode(model: VSAE) -> Iterator[list[torch.Tensor]]:
    """Record the mask every ``encode`` call is given (what the encoders are told is observed)."""
    seen: list[torch.Tensor] = []
    real = model.encode

    def recording(x: torch.Tensor, observed: torch.Tensor, noise: bool = True) -> Any:
        seen.append(observed.clone())
        return real(x, observed, noise)

    model.encode = recording  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        del model.encode


def hand_nll(s: Schema, raw: torch.Tensor, target: torch.Tensor, variance: float = 0.5) -> torch.Tensor:
    """Per-modality negative log-likelihood written out per type, ``[N, M]`` (squared error for bits)."""
    out = []
    for index, m in enumerate(s):
        r, t = raw[:, s.columns_of(index)], target[:, s.columns_of(index)]
        if m.kind == "numerical":
            out.append((0.5 * ((r - t) ** 2 / variance + math.log(variance))).sum(1))
        elif m.kind == "categorical":
            out.append(-(t * torch.log_softmax(r, 1)).sum(1))
        else:
            out.append(((torch.sigmoid(r) - t) ** 2).sum(1))
    return torch.stack(out, 1)


# ------------------------------------------------------------------------------ the terms, by hand


@pytest.mark.parametrize("kl_weight", [0.0, 0.1, 1.0, 2.5])
def test_every_term_matches_an_independent_computation(kl_weight: float) -> None:
    """Protects Eq. 8: observed NLL over observed modalities, unobserved NLL over the others (against
    their pseudo-targets), the mask's Bernoulli NLL, and the KL scaled by ``kl_weight``."""
    model, x, observed = setup()
    s = model.schema
    decoded: list[Any] = []
    real_decode = model.decode

    def recording_decode(z: torch.Tensor, mask: torch.Tensor | None = None) -> Any:
        out = real_decode(z, mask)
        decoded.append(out)
        return out

    model.decode = recording_decode  # type: ignore[method-assign]
    with spy_nll(model) as calls:
        terms = SelectiveELBO(kl_weight=kl_weight)(model, x, observed, past_warmup=True)
    del model.decode
    (raw, target), second = calls[-1], decoded[-1]
    column_observed = observed[:, s.column_modality()]
    # Observed cells are scored against the data itself; unobserved ones against something else.
    assert torch.equal(target[column_observed], x[column_observed])
    nll = hand_nll(s, raw, target)
    weight = observed.float()
    torch.testing.assert_close(terms.observed_nll, (nll * weight).sum(1).mean())
    torch.testing.assert_close(terms.unobserved_nll, (nll * (1 - weight)).sum(1).mean())
    p = torch.sigmoid(second.mask_logits)
    mask_nll = -(weight * torch.log(p) + (1 - weight) * torch.log(1 - p)).sum(1).mean()
    torch.testing.assert_close(terms.mask_nll, mask_nll, rtol=1e-4, atol=1e-5)
    assert terms.unobserved_nll > 0 and terms.mask_nll > 0 and terms.kl > 0
    expected = terms.observed_nll + terms.unobserved_nll + terms.mask_nll + kl_weight * terms.kl
    torch.testing.assert_close(terms.total, expected)
    assert terms.kl_per_modality.shape == (len(s),)
    torch.testing.assert_close(terms.kl_per_modality.sum(), terms.kl)


def test_the_default_objective_is_the_papers_elbo() -> None:
    """Unweighted KL, the unobserved term on, no modality dropout: Eq. 8 as the paper writes it."""
    model, x, observed = setup(seed=9)
    with spy_encode(model) as seen:
        terms = SelectiveELBO()(model, x, observed, past_warmup=True)
    assert all(torch.equal(mask, observed) for mask in seen)
    assert terms.unobserved_nll > 0
    torch.testing.assert_close(
        terms.total, terms.observed_nll + terms.unobserved_nll + terms.mask_nll + terms.kl
    )


def test_kl_weight_scales_the_gradient_of_the_kl_term_only() -> None:
    """Protects ``kl_weight``: d total/dθ = d(reconstruction)/dθ + w · d KL/dθ for the same draw."""
    grads = {}
    for weight in (0.0, 1.0, 3.0):
        model, x, observed = setup(seed=1)
        torch.manual_seed(7)
        terms = SelectiveELBO(kl_weight=weight)(model, x, observed, past_warmup=False)
        parameters = [p for p in model.parameters() if p.requires_grad]
        grads[weight] = torch.cat(
            [g.flatten() for g in torch.autograd.grad(terms.total, parameters, allow_unused=False)]
        )
    kl_gradient = grads[1.0] - grads[0.0]
    assert kl_gradient.abs().max() > 1e-3
    torch.testing.assert_close(grads[3.0], grads[0.0] + 3.0 * kl_gradient, rtol=1e-4, atol=1e-5)


def test_the_unobserved_term_only_past_warmup_and_only_when_enabled() -> None:
    """Protects the warm-up: before it, unobserved cells are not scored at all (zero term, and their
    targets are not read); after it they are, unless the term is switched off."""
    model, x, observed = setup(seed=2)
    before = SelectiveELBO()(model, x, observed, past_warmup=False)
    assert before.unobserved_nll.item() == 0.0
    after = SelectiveELBO()(model, x, observed, past_warmup=True)
    assert after.unobserved_nll.item() > 0.0
    off = SelectiveELBO(unobserved_term=False)(model, x, observed, past_warmup=True)
    assert off.unobserved_nll.item() == 0.0
    with pytest.raises(ValueError, match="modality_dropout"):
        SelectiveELBO(modality_dropout=1.0)
    with pytest.raises(ValueError, match="modality_dropout"):
        SelectiveELBO(modality_dropout=-0.1)


def test_unobserved_values_are_never_read() -> None:
    """Protects the central promise: whatever an unobserved cell holds, every term is the same."""
    model, x, observed = setup(seed=3)
    column_observed = observed[:, model.schema.column_modality()]
    garbage = torch.where(column_observed, x, torch.full_like(x, 1e4))
    results = []
    for data in (x, garbage):
        torch.manual_seed(11)
        results.append(SelectiveELBO(modality_dropout=0.3)(model, data, observed, past_warmup=True))
    for name in ("total", "observed_nll", "unobserved_nll", "mask_nll", "kl"):
        torch.testing.assert_close(getattr(results[0], name), getattr(results[1], name), msg=name)


# ------------------------------------------------------------------------------- pseudo-targets


def test_pseudo_targets_carry_no_gradient() -> None:
    """Protects the detached pseudo-target (paper Eq. 8: the expectation over x_u is taken under the
    model, not differentiated through): the gradient of the unobserved term equals the gradient of the
    same loss with its targets explicitly detached."""
    model, x, observed = setup(seed=4)
    with spy_nll(model) as calls:
        terms = SelectiveELBO()(model, x, observed, past_warmup=True)
    raw, target = calls[-1]
    assert not target.requires_grad
    parameters = [p for p in model.parameters() if p.requires_grad]
    weight = 1 - observed.float()
    got = torch.autograd.grad(terms.unobserved_nll, parameters, retain_graph=True, allow_unused=True)
    reference = (model.likelihoods.negative_log_likelihood(raw, target.detach()) * weight).sum(1).mean()
    want = torch.autograd.grad(reference, parameters, allow_unused=True)
    assert any(g is not None and g.abs().max() > 0 for g in want)
    for g, w in zip(got, want, strict=True):
        if w is None:
            assert g is None or g.abs().max() == 0
        else:
            torch.testing.assert_close(g, w)


def pinned_decoder(model: VSAE, logits: dict[str, list[float]], numbers: float = 0.7) -> None:
    """Make the data decoder ignore its input: its last layer outputs fixed logits / values."""
    last = [m for m in model.data_decoder.modules() if isinstance(m, nn.Linear)][-1]
    bias = torch.full((model.schema.total_width,), numbers)
    for index, m in enumerate(model.schema):
        if m.name in logits:
            bias[model.schema.columns_of(index)] = torch.tensor(logits[m.name])
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(bias)


def test_pseudo_targets_are_draws_from_the_model() -> None:
    """Protects the Monte Carlo estimate of E[log p(x_u | ·)]: unobserved categorical cells are
    scored against one-hot classes drawn from the decoder's probabilities (not its argmax, not the
    soft probabilities); unobserved numerical cells against the decoder's mean."""
    model, _, _ = setup(seed=5)
    probabilities = torch.tensor([0.5, 0.3, 0.2])
    pinned_decoder(model, {"cat3": probabilities.log().tolist(), "cat2": [0.0, 0.0], "bit": [0.0]})
    n = 4000
    s = model.schema
    x = encoded(s, n, torch.Generator().manual_seed(5))
    observed = torch.ones(n, len(s), dtype=torch.bool)
    observed[:, s.names.index("cat3")] = False
    observed[:, s.names.index("num")] = False
    torch.manual_seed(0)
    with spy_nll(model) as calls:
        SelectiveELBO()(model, x, observed, past_warmup=True)
    target = calls[-1][1]
    block = target[:, s.columns_of(s.names.index("cat3"))]
    assert ((block == 0) | (block == 1)).all() and (block.sum(1) == 1).all()
    frequencies = block.mean(0)
    # Binomial standard error with 4000 draws is at most 0.008; 4 of them bound a correct sampler's
    # deviation with probability > 0.9999, while an argmax gives (1, 0, 0).
    standard_error = torch.sqrt(probabilities * (1 - probabilities) / n)
    assert ((frequencies - probabilities).abs() < 4 * standard_error).all(), frequencies
    numbers = target[:, s.columns_of(s.names.index("num"))]
    torch.testing.assert_close(numbers, torch.full_like(numbers, 0.7))


def test_expected_pseudo_targets_are_the_class_probabilities() -> None:
    """Protects ``pseudo_targets="expected"``: unobserved categorical cells are scored against the
    decoder's class probabilities, so their term is the expected cross-entropy; unobserved numerical
    cells against the decoder's mean, as with drawn targets; observed cells against the data."""
    model, _, _ = setup(seed=5)
    probabilities = torch.tensor([0.5, 0.3, 0.2])
    pinned_decoder(model, {"cat3": probabilities.log().tolist(), "cat2": [0.0, 0.0], "bit": [0.0]})
    s = model.schema
    x = encoded(s, 50, torch.Generator().manual_seed(5))
    observed = torch.ones(50, len(s), dtype=torch.bool)
    observed[:, s.names.index("cat3")] = False
    observed[:, s.names.index("num")] = False
    with spy_nll(model) as calls:
        terms = SelectiveELBO(pseudo_targets="expected")(model, x, observed, past_warmup=True)
    target = calls[-1][1]
    block = target[:, s.columns_of(s.names.index("cat3"))]
    torch.testing.assert_close(block, probabilities.expand_as(block))
    numbers = target[:, s.columns_of(s.names.index("num"))]
    torch.testing.assert_close(numbers, torch.full_like(numbers, 0.7))
    seen = observed[:, s.column_modality()]
    assert torch.equal(target[seen], x[seen])
    entropy = -(probabilities * probabilities.log()).sum()
    # The pinned decoder's numerical mean is its pseudo-target: each such column adds 0.5 · log 0.5.
    torch.testing.assert_close(terms.unobserved_nll, entropy + numbers.shape[1] * 0.5 * math.log(0.5))
    with pytest.raises(ValueError, match="pseudo_targets"):
        SelectiveELBO(pseudo_targets="argmax")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- modality dropout


def test_modality_dropout_hides_observed_modalities_from_the_encoders_only() -> None:
    """Protects modality dropout: with rate r the encoders see about a share r of the observed
    modalities as unobserved (never an unobserved one as observed), while every observed modality
    stays a real target of the observed term; at rate 0 they see the true mask."""
    n = 1000
    model, x, observed = setup(n=n, seed=6)
    column_observed = observed[:, model.schema.column_modality()]
    for rate in (0.0, 0.5):
        with spy_encode(model) as seen, spy_nll(model) as calls:
            terms = SelectiveELBO(modality_dropout=rate)(model, x, observed, past_warmup=True)
        assert len(seen) == 2  # the pseudo-target pass and the scored pass see the same mask
        assert torch.equal(seen[0], seen[1])
        assert not (seen[0] & ~observed).any()
        dropped = float((observed & ~seen[0]).sum() / observed.sum())
        if rate == 0:
            assert torch.equal(seen[0], observed)
        else:
            # ~3000 observed cells: the binomial standard error of the dropped share is 0.009.
            assert abs(dropped - rate) < 0.05, dropped
        raw, target = calls[-1]
        assert torch.equal(target[column_observed], x[column_observed])
        nll = model.likelihoods.negative_log_likelihood(raw, target)
        torch.testing.assert_close(terms.observed_nll, (nll * observed.float()).sum(1).mean())


# ----------------------------------------------------------------- learned variance, binary loss


def test_learned_numerical_variance_is_a_parameter_that_fits_the_residuals() -> None:
    """Protects ``learn_numerical_variance``: the log-variance is a trained parameter, per column,
    and maximising the likelihood drives it to the residuals' variance (fixed otherwise)."""
    s = schema()
    fixed = Likelihoods(s, numerical_variance=0.5)
    assert "numerical_logvar" not in dict(fixed.named_parameters())
    learned = Likelihoods(s, numerical_variance=0.5, learn_numerical_variance=True)
    logvar = dict(learned.named_parameters())["numerical_logvar"]
    assert logvar.shape == (3,)  # one per numerical column (num and the two of vec)
    torch.testing.assert_close(logvar.detach(), torch.full((3,), math.log(0.5)))
    generator = torch.Generator().manual_seed(0)
    n = 4000
    target = encoded(s, n, generator)
    raw = target.clone()
    numeric = learned.numerical_columns
    scales = torch.tensor([0.3, 1.0, 2.0])
    raw[:, numeric] += scales * torch.randn(n, 3, generator=generator)
    optimiser = torch.optim.Adam(learned.parameters(), lr=0.05)
    for _ in range(400):
        optimiser.zero_grad()
        learned.negative_log_likelihood(raw, target).sum(1).mean().backward()
        optimiser.step()
    residual_variance = (raw[:, numeric] - target[:, numeric]).var(0)
    torch.testing.assert_close(logvar.detach().exp(), residual_variance, rtol=0.03, atol=0)
    # The clamp keeps a constant column's variance from collapsing without bound.
    with torch.no_grad():
        logvar.fill_(-50.0)
    nll = learned.negative_log_likelihood(target, target)[:, s.names.index("num")]
    torch.testing.assert_close(nll, torch.full_like(nll, -5.0))


def test_binary_loss_bce_and_mse() -> None:
    """Protects ``binary_loss``: "bce" is the Bernoulli negative log-likelihood of the bit, "mse" the
    squared error of its probability; anything else is refused."""
    s = Schema((Modality("bit", "binary", 1), Modality("img", "image", 2, shape=(2,))))
    raw = torch.tensor([[2.0, -1.0, 0.0], [-3.0, 0.5, 4.0]])
    target = torch.tensor([[1.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    p = torch.sigmoid(raw)
    bce = -(target * p.log() + (1 - target) * (1 - p).log())
    mse = (p - target) ** 2
    got_bce = Likelihoods(s, binary_loss="bce").negative_log_likelihood(raw, target)
    got_mse = Likelihoods(s, binary_loss="mse").negative_log_likelihood(raw, target)
    torch.testing.assert_close(got_bce, torch.stack([bce[:, 0], bce[:, 1:].sum(1)], 1))
    torch.testing.assert_close(got_mse, torch.stack([mse[:, 0], mse[:, 1:].sum(1)], 1))
    assert VSAE(s, VSAEConfig(binary_loss="bce")).likelihoods.binary_loss == "bce"
    with pytest.raises(ValueError, match="binary_loss"):
        Likelihoods(s, binary_loss="hinge")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="numerical_variance"):
        Likelihoods(s, numerical_variance=0.0)


def test_a_decoder_conditioned_on_the_true_mask_sees_what_the_encoders_see() -> None:
    """With ``mask_input="true"`` the data decoder is conditioned on the mask, in both passes: the
    mask the encoders were shown (after modality dropout), never the full one."""
    model, x, observed = setup(seed=8, mask_input="true")
    masks: list[torch.Tensor | None] = []
    real = model.decode

    def recording(z: torch.Tensor, mask: torch.Tensor | None = None) -> Any:
        masks.append(None if mask is None else mask.clone())
        return real(z, mask)

    model.decode = recording  # type: ignore[method-assign]
    with spy_encode(model) as seen:
        terms = SelectiveELBO(modality_dropout=0.5)(model, x, observed, past_warmup=True)
    del model.decode
    assert torch.isfinite(terms.total)
    assert len(masks) == 2 and all(mask is not None for mask in masks)
    for mask in masks:
        assert torch.equal(mask, seen[0])
    assert not torch.equal(seen[0], observed)


def test_default_likelihood_is_the_papers_squared_error_and_index_buffers_are_not_saved() -> None:
    """The default numerical likelihood has variance 0.5, which makes its NLL the squared error plus a
    constant (the paper's MSE loss); the index tables are rebuilt from the schema, so they are not
    part of a saved model (a model file holds weights and calibration only)."""
    s = schema()
    likelihoods = Likelihoods(s)
    raw = torch.randn(10, s.total_width, generator=torch.Generator().manual_seed(0))
    target = encoded(s, 10, torch.Generator().manual_seed(1))
    nll = likelihoods.negative_log_likelihood(raw, target)[:, s.names.index("num")]
    column = s.columns_of(s.names.index("num"))
    squared = (raw[:, column] - target[:, column]).square().sum(1)
    torch.testing.assert_close(nll, squared + 0.5 * math.log(0.5))
    index_tables = {
        "numerical_columns", "numerical_modality", "sigmoid_columns", "sigmoid_modality", "binary_columns",
        "column_modality", "error_normalizer", "categorical_gather", "categorical_valid",
        "categorical_modality",
    }  # fmt: skip
    assert index_tables <= {name for name, _ in likelihoods.named_buffers()}
    assert not index_tables & set(likelihoods.state_dict())
    assert not index_tables & set(VSAE(s, SMALL).state_dict())


def test_learned_variance_is_bounded_above_too() -> None:
    """The log-variance clamp works both ways: a variance that grew without bound counts as e^10."""
    s = schema()
    learned = Likelihoods(s, learn_numerical_variance=True)
    with torch.no_grad():
        learned.numerical_logvar.fill_(50.0)
    raw = torch.zeros(3, s.total_width)
    target = raw.clone()
    target[:, learned.numerical_columns] = 2.0
    nll = learned.negative_log_likelihood(raw, target)[:, s.names.index("num")]
    torch.testing.assert_close(nll, torch.full((3,), 0.5 * (4.0 * math.exp(-10.0) + 10.0)))
