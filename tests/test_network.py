"""The VSAE network's options (vsae.model.vsae): configuration checks, how each architectural choice
shapes the networks, the aggregators, what the data decoder is conditioned on, the reparameterised
draw, the posterior clamp, and the no-gradient entry points ``impute`` and ``generate``."""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn

from vsae.model.likelihoods import LOGVAR_LIMIT
from vsae.model.vsae import VSAE, Posterior, VSAEConfig
from vsae.schema import Modality, Schema

SCHEMA = Schema(
    (
        Modality("a", "numerical", 1),
        Modality("b", "categorical", 3, categories=("x", "y", "z")),
        Modality("c", "numerical", 2),
    )
)
SMALL = {"latent_dim": 3, "encoder_hidden": 8, "mask_decoder_hidden": 5, "decoder_hidden": 7, "depth": 2}


def model(**config: object) -> VSAE:
    torch.manual_seed(0)
    return VSAE(SCHEMA, VSAEConfig(**{**SMALL, **config})).eval()  # type: ignore[arg-type]


def data(n: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(n, SCHEMA.total_width, generator=generator)
    observed = torch.rand(n, len(SCHEMA), generator=generator) < 0.5
    return x, observed


def linear_widths(network: nn.Module) -> list[tuple[int, int]]:
    return [(m.in_features, m.out_features) for m in network.modules() if isinstance(m, nn.Linear)]


# ------------------------------------------------------------------------------------ configuration


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"aggregator": "sum"}, "aggregator must be 'concat', 'mean' or 'max', got 'sum'"),
        ({"mask_input": "both"}, "mask_input must be 'reconstructed', 'true' or 'none', got 'both'"),
        ({"depth": 0}, "depth must be a positive integer, got 0"),
        ({"latent_dim": -2}, "latent_dim must be a positive integer, got -2"),
        ({"feedback_rounds": -1}, "feedback_rounds must be an integer ≥ 0, got -1"),
        ({"feedback_rounds": True}, "feedback_rounds must be an integer ≥ 0, got True"),
    ],
)
def test_configuration_refusals_name_the_setting(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        VSAEConfig(**settings)  # type: ignore[arg-type]


def test_every_documented_option_is_accepted_and_round_trips() -> None:
    for aggregator in ("concat", "mean", "max"):
        for mask_input in ("reconstructed", "true", "none"):
            config = VSAEConfig(aggregator=aggregator, mask_input=mask_input)  # type: ignore[arg-type]
            assert VSAEConfig.from_dict(config.to_dict()) == config
    # Keys written by other versions are ignored, the known ones kept.
    restored = VSAEConfig.from_dict({"latent_dim": 7, "from_the_future": 1})
    assert restored == VSAEConfig(latent_dim=7)


def test_image_sizes_are_the_papers() -> None:
    config = VSAEConfig.for_images()
    assert (config.latent_dim, config.encoder_hidden, config.mask_decoder_hidden, config.decoder_hidden) == (
        256,
        128,
        16,
        128,
    )
    assert VSAEConfig.for_images(latent_dim=8).latent_dim == 8


def test_default_sizes_follow_the_modality_kinds() -> None:
    """Tabular sizes without an image, the paper's image sizes with one, and a 512-wide data
    decoder with 256-wide encoders when a label sits beside the image (docs/model.md, "Image + label")."""
    assert VSAEConfig.for_modalities(["numerical", "categorical", "binary"]) == VSAEConfig()
    assert VSAEConfig.for_modalities(["image", "image"]) == VSAEConfig.for_images()
    assert VSAEConfig.for_modalities(["image", "numerical"]) == VSAEConfig.for_images()
    assert VSAEConfig.for_modalities(["categorical", "image"]) == VSAEConfig.for_images(
        decoder_hidden=512, encoder_hidden=256
    )


# ------------------------------------------------------------------------------------ architecture


def test_sizes_depth_and_batch_norm_shape_every_network() -> None:
    """``depth`` hidden layers everywhere, batch norm only when asked, the mask decoder and data
    decoder fed the aggregated code (plus the mask, unless ``mask_input="none"``)."""
    m, width, latent = len(SCHEMA), SCHEMA.total_width, SMALL["latent_dim"]
    net = model()
    assert linear_widths(net.multimodal) == [(width + m, 8), (8, 8), (8, 2 * latent * m)]
    assert linear_widths(net.mask_decoder) == [(latent * m, 5), (5, 5), (5, m)]
    assert linear_widths(net.data_decoder) == [(latent * m + m, 7), (7, 7), (7, width)]
    for part in (net.multimodal, net.mask_decoder, net.data_decoder):  # after the first layer only
        assert [type(x) for x in part][:2] == [nn.Linear, nn.BatchNorm1d]
        assert sum(isinstance(x, nn.BatchNorm1d) for x in part.modules()) == 1
    assert sum(type(x).__name__ == "GroupedBatchNorm" for x in net.unimodal.modules()) == len(net.unimodal)
    plain = model(batch_norm=False, depth=1)
    assert not any(isinstance(x, nn.BatchNorm1d) for x in plain.modules())
    assert not any("norm" in type(x).__name__.lower() for x in plain.unimodal.modules())
    assert linear_widths(plain.data_decoder) == [(latent * m + m, 7), (7, width)]
    for aggregator in ("mean", "max"):
        pooled = model(aggregator=aggregator)
        assert linear_widths(pooled.mask_decoder)[0] == (latent, 5)
        assert linear_widths(pooled.data_decoder)[0] == (latent + m, 7)
    assert linear_widths(model(mask_input="none").data_decoder)[0] == (latent * m, 7)

    def grouped_layers(net: VSAE) -> int:
        return sum(type(x).__name__ == "GroupedLinear" for x in net.unimodal.modules())

    assert grouped_layers(model(depth=3)) == grouped_layers(model(depth=1)) + 2
    learned = model(learn_numerical_variance=True)
    assert "likelihoods.numerical_logvar" in dict(learned.named_parameters())
    assert "likelihoods.numerical_logvar" not in dict(net.named_parameters())
    assert "column_modality" not in net.state_dict()


def test_aggregators() -> None:
    z = torch.arange(24.0).reshape(2, 3, 4)
    assert torch.equal(model().aggregate(z), z.flatten(1))
    assert torch.equal(model(aggregator="mean").aggregate(z), z.mean(1))
    assert torch.equal(model(aggregator="max").aggregate(z), z.amax(1))


def test_what_the_data_decoder_is_conditioned_on() -> None:
    """ "none": the code alone; "true": the code and the given mask (required); "reconstructed": the
    code and the mask decoder's probabilities, detached, so the data loss does not train the mask
    decoder."""
    z = torch.randn(4, len(SCHEMA), SMALL["latent_dim"], generator=torch.Generator().manual_seed(2))
    mask = torch.tensor([[1, 0, 1], [0, 0, 1], [1, 1, 1], [0, 1, 0]], dtype=torch.bool)
    h = z.flatten(1)

    none = model(mask_input="none")
    out = none.decode(z, mask)
    torch.testing.assert_close(out.data, none.data_decoder(h))
    torch.testing.assert_close(out.mask_logits, none.mask_decoder(h))

    true = model(mask_input="true")
    out = true.decode(z, mask)
    torch.testing.assert_close(out.data, true.data_decoder(torch.cat([h, mask.float()], 1)))
    torch.testing.assert_close(out.mask_logits, true.mask_decoder(h))
    other = true.decode(z, ~mask)
    assert not torch.allclose(other.data, out.data)
    message = "mask_input='true' needs the mask to condition the data decoder on"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        true.decode(z)

    reconstructed = model()
    out = reconstructed.decode(z, ~mask)  # the given mask is not used
    probabilities = torch.sigmoid(reconstructed.mask_decoder(h))
    torch.testing.assert_close(out.data, reconstructed.data_decoder(torch.cat([h, probabilities], 1)))
    torch.testing.assert_close(out.mask_logits, reconstructed.mask_decoder(h))
    out.data.sum().backward()
    assert all(p.grad is None or p.grad.abs().max() == 0 for p in reconstructed.mask_decoder.parameters())


# ------------------------------------------------------------------------------- posterior and draws


def test_reparameterised_draw_is_mean_plus_scaled_noise() -> None:
    mean = torch.tensor([[[1.0, -2.0]]])
    logvar = torch.tensor([[[0.0, 2.0 * torch.log(torch.tensor(3.0)).item()]]])
    torch.manual_seed(5)
    noise = torch.randn_like(mean)
    torch.manual_seed(5)
    draw = Posterior(mean, logvar).rsample()
    torch.testing.assert_close(draw, mean + noise * torch.tensor([1.0, 3.0]))


def test_posterior_log_variance_is_clamped_both_ways() -> None:
    net = model()
    x, observed = data()
    observed[:] = False  # every block from the multimodal encoder
    last = [m for m in net.multimodal.modules() if isinstance(m, nn.Linear)][-1]
    latent = SMALL["latent_dim"]
    with torch.no_grad():
        last.weight.zero_()
        bias = torch.zeros(len(SCHEMA), 2 * latent)
        bias[0, latent:] = 1e3
        bias[1, latent:] = -1e3
        last.bias.copy_(bias.flatten())
    logvar = net.encode(x, observed, noise=False).logvar
    assert (logvar[:, 0] == LOGVAR_LIMIT).all() and (logvar[:, 1] == -LOGVAR_LIMIT).all()
    assert (logvar[:, 2] == 0).all()


def test_encoding_draws_noise_into_unobserved_cells_by_default() -> None:
    net = model()
    x, observed = data(32)
    observed[:, 0] = False
    torch.manual_seed(0)
    first = net.encode(x, observed).mean
    torch.manual_seed(1)
    second = net.encode(x, observed).mean
    assert not torch.allclose(first, second)
    torch.testing.assert_close(net.encode(x, observed, noise=False).mean, net.encode(x, observed, False).mean)


def test_impute_is_the_decoded_posterior_mean_and_draws_when_stochastic() -> None:
    net = model(mask_input="true")
    x, observed = data(16)
    with torch.no_grad():
        expected = net.decode(net.encode(x, observed, noise=False).mean, observed).data
    torch.testing.assert_close(net.impute(x, observed), expected)
    torch.manual_seed(0)
    first = net.impute(x, observed, stochastic=True)
    torch.manual_seed(1)
    assert not torch.allclose(first, net.impute(x, observed, stochastic=True))
    assert not net.impute(x, observed).requires_grad


def test_feedback_rounds_encode_unobserved_modalities_from_the_fed_back_imputation() -> None:
    """Each round fills the unobserved cells with the decoded posterior mean's expected values (at
    the trained temperature, whatever the calibration) and encodes them with the refinement encoder;
    observed modalities keep their unimodal posterior, and without rounds there is no refinement."""
    assert model().refinement is None
    net = model(feedback_rounds=2)
    assert net.refinement is not None
    assert linear_widths(net.refinement) == linear_widths(net.multimodal)
    x, observed = data(32)
    inputs: list[torch.Tensor] = []
    hook = net.refinement.register_forward_hook(lambda module, args, output: inputs.append(args[0]))
    posterior = net.encode(x, observed, noise=False)
    hook.remove()
    assert len(inputs) == 2

    n, m, width = x.shape[0], len(SCHEMA), SCHEMA.total_width
    column_observed = observed[:, net.column_modality]
    with torch.no_grad():
        x_tilde = torch.where(column_observed, x, torch.zeros_like(x))
        unimodal = net.unimodal(x_tilde)
        stats = torch.where(
            observed.unsqueeze(-1),
            unimodal,
            net.multimodal(torch.cat([x_tilde, observed.float()], 1)).view(n, m, -1),
        )
        for fed in inputs:
            imputed = net.likelihoods.mean(net.decode(stats.chunk(2, -1)[0], observed).data)
            torch.testing.assert_close(fed[:, :width], torch.where(column_observed, x, imputed))
            torch.testing.assert_close(fed[:, width:], observed.float())
            stats = torch.where(observed.unsqueeze(-1), unimodal, net.refinement(fed).view(n, m, -1))
    torch.testing.assert_close(posterior.mean, stats.chunk(2, -1)[0])
    torch.testing.assert_close(posterior.mean[observed], unimodal.chunk(2, -1)[0][observed])
    # The calibrated temperature changes the reported probabilities, not what the network reads back.
    net.likelihoods.categorical_temperature.fill_(3.0)
    torch.testing.assert_close(net.encode(x, observed, noise=False).mean, posterior.mean)


def test_training_back_propagates_through_the_feedback_rounds() -> None:
    """The first multimodal encoder is trained through the refinement's output: with every code of
    an unobserved modality taken after the rounds, it still gets a gradient."""
    net = model(feedback_rounds=1).train()
    x, observed = data(32)
    net.encode(x, observed).mean[~observed].square().sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.multimodal.parameters())
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.refinement.parameters())


def test_generate_draws_masks_from_the_mask_decoder() -> None:
    """Generated masks are Bernoulli draws of the mask decoder's probabilities; data are decoded
    given the drawn mask."""
    net = model(mask_input="true")
    last = [m for m in net.mask_decoder.modules() if isinstance(m, nn.Linear)][-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(torch.logit(torch.tensor([0.9, 0.5, 0.1])))
    torch.manual_seed(0)
    raw, mask = net.generate(4000)
    assert raw.shape == (4000, SCHEMA.total_width) and mask.dtype == torch.bool
    # Binomial standard error of a share of 4000 draws is at most 0.008; 0.04 is five of them.
    torch.testing.assert_close(mask.float().mean(0), torch.tensor([0.9, 0.5, 0.1]), atol=0.04, rtol=0)
    torch.manual_seed(0)
    z = torch.randn(4000, len(SCHEMA), SMALL["latent_dim"])
    torch.testing.assert_close(raw, net.decode(z, mask).data)
