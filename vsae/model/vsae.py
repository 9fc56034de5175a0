"""The Variational Selective Autoencoder network (docs/design.md).

Shapes: ``x`` is the encoded data ``[N, D]`` (see :class:`vsae.schema.Schema`), ``observed`` the mask
``[N, M]`` (True = observed), latent codes are ``[N, M, L]``: one block of ``L`` dimensions per modality.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

import torch
from torch import nn

from vsae.errors import VSAEError
from vsae.model.encoders import UnimodalEncoders, UnobservedFill
from vsae.model.layers import mlp
from vsae.model.likelihoods import LOGVAR_LIMIT, BinaryLoss, Likelihoods
from vsae.schema import ModalityKind, Schema

# Data decoder and encoder widths of image + label data (VSAEConfig.for_modalities).
IMAGE_LABEL_DECODER_HIDDEN = 512
IMAGE_LABEL_ENCODER_HIDDEN = 256

Aggregator = Literal["concat", "mean", "max"]
MaskInput = Literal["reconstructed", "true", "none"]


@dataclass
class VSAEConfig:
    """Network sizes and modelling choices. Defaults are the paper's tabular sizes (Appendix B).

    Attributes
    ----------
    latent_dim : int
        Latent dimensions per modality (paper: 20 tabular, 256 image).
    encoder_hidden : int
        Width of the unimodal encoders and of the multimodal encoder.
    mask_decoder_hidden, decoder_hidden : int
        Widths of the mask decoder and of the data decoder.
    depth : int
        Hidden layers of every MLP.
    aggregator : {"concat", "mean", "max"}
        How the per-modality latent blocks are combined before decoding (paper: concat).
    mask_input : {"reconstructed", "true", "none"}
        What the data decoder is conditioned on besides ``F(z)``: the mask decoder's probabilities
        (detached, so that the mask decoder learns ``p(m | z)`` only), the true mask, or nothing.
    batch_norm : bool
        Batch normalisation after the first layer of every MLP, as in the paper.
    numerical_variance : float
        Variance of the Gaussian likelihood of standardised numerical values (its initial value when
        learned); 0.5 makes the loss the plain squared error used by the paper.
    learn_numerical_variance : bool
        Learn one observation variance per numerical column instead of fixing it.
    binary_loss : {"mse", "bce"}
        Loss of binary and image columns: squared error (paper) or binary cross-entropy.
    feedback_rounds : int
        Not in the paper (0, off, by default): rounds in which the network's own imputation is fed
        back through the encoders. Each round decodes the current posterior mean, fills the
        unobserved cells with those expected values (class probabilities at the trained
        temperature) and encodes the unobserved modalities again with a second multimodal encoder,
        the refinement encoder, which always reads filled-in rather than noise-filled cells. The
        rounds are part of the network: training back-propagates through them, and imputation,
        sampling and importance weighting all encode this way.
    """

    latent_dim: int = 20
    encoder_hidden: int = 64
    mask_decoder_hidden: int = 64
    decoder_hidden: int = 128
    depth: int = 3
    aggregator: Aggregator = "concat"
    mask_input: MaskInput = "reconstructed"
    batch_norm: bool = True
    numerical_variance: float = 0.5
    learn_numerical_variance: bool = False
    binary_loss: BinaryLoss = "mse"
    feedback_rounds: int = 0

    def __post_init__(self) -> None:
        if self.aggregator not in ("concat", "mean", "max"):
            raise VSAEError(f"aggregator must be 'concat', 'mean' or 'max', got {self.aggregator!r}")
        if self.mask_input not in ("reconstructed", "true", "none"):
            raise VSAEError(f"mask_input must be 'reconstructed', 'true' or 'none', got {self.mask_input!r}")
        for name in ("latent_dim", "encoder_hidden", "mask_decoder_hidden", "decoder_hidden", "depth"):
            if int(getattr(self, name)) < 1:
                raise VSAEError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        rounds = self.feedback_rounds
        if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 0:
            raise VSAEError(f"feedback_rounds must be an integer ≥ 0, got {rounds!r}")

    @classmethod
    def for_images(cls, **overrides: Any) -> VSAEConfig:
        """The paper's MNIST+MNIST sizes: latent 256 per modality, 128-wide networks, 16-wide mask decoder."""
        sizes = {"latent_dim": 256, "encoder_hidden": 128, "mask_decoder_hidden": 16, "decoder_hidden": 128}
        return cls(**{**sizes, **overrides})

    @classmethod
    def for_modalities(cls, kinds: Iterable[ModalityKind]) -> VSAEConfig:
        """The default sizes for data made of modalities of these kinds.

        Tabular sizes without an image, the paper's image sizes with one; beside an image, a
        categorical modality (a label) gets a 512-wide data decoder and 256-wide encoders: the
        128-wide decoder shared by the 784 pixels and the label's logits was the label's bottleneck,
        and a missing label is inferred from the image through the encoders (docs/model.md,
        "Image + label").
        """
        kinds = set(kinds)
        if "image" not in kinds:
            return cls()
        if "categorical" in kinds:
            return cls.for_images(
                decoder_hidden=IMAGE_LABEL_DECODER_HIDDEN, encoder_hidden=IMAGE_LABEL_ENCODER_HIDDEN
            )
        return cls.for_images()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VSAEConfig:
        """The configuration saved as ``data``; keys written by other versions are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class Posterior:
    """Diagonal Gaussian over the latent blocks, ``[N, M, L]`` each."""

    mean: torch.Tensor
    logvar: torch.Tensor

    def rsample(self) -> torch.Tensor:
        """Reparameterised draw."""
        return self.mean + torch.randn_like(self.mean) * torch.exp(0.5 * self.logvar)

    def kl_to_standard_normal(self) -> torch.Tensor:
        """Analytic ``KL(q(z_i) ‖ N(0, I))`` of every block, ``[N, M]``."""
        return 0.5 * (self.mean.square() + self.logvar.exp() - self.logvar - 1.0).sum(-1)


@dataclass
class Decoded:
    """Decoder outputs: mask logits ``[N, M]`` and the raw data head ``[N, D]``."""

    mask_logits: torch.Tensor
    data: torch.Tensor


class VSAE(nn.Module):
    """Unimodal encoders, multimodal encoder, selective proposal, aggregator, mask and data decoders."""

    def __init__(self, schema: Schema, config: VSAEConfig | None = None) -> None:
        super().__init__()
        self.schema = schema
        self.config = config = config or VSAEConfig()
        n_modalities, width, latent = len(schema), schema.total_width, config.latent_dim
        self.likelihoods = Likelihoods(
            schema, config.numerical_variance, config.binary_loss, config.learn_numerical_variance
        )

        self.register_buffer("column_modality", torch.as_tensor(schema.column_modality()), persistent=False)
        self.filler = UnobservedFill(schema)
        self.unimodal = UnimodalEncoders(
            schema, config.encoder_hidden, 2 * latent, config.depth, config.batch_norm
        )

        def multimodal_encoder() -> nn.Module:
            inputs, outputs = width + n_modalities, 2 * latent * n_modalities
            return mlp(inputs, config.encoder_hidden, outputs, config.depth, config.batch_norm)

        self.multimodal = multimodal_encoder()
        self.feedback_rounds = config.feedback_rounds
        # Its own network (and batch-norm statistics): its input holds imputations, not noise.
        self.refinement = multimodal_encoder() if self.feedback_rounds else None
        aggregated = latent * n_modalities if config.aggregator == "concat" else latent
        condition = 0 if config.mask_input == "none" else n_modalities
        self.mask_decoder = mlp(
            aggregated, config.mask_decoder_hidden, n_modalities, config.depth, config.batch_norm
        )
        self.data_decoder = mlp(
            aggregated + condition, config.decoder_hidden, width, config.depth, config.batch_norm
        )

    # -- encoding -------------------------------------------------------------------------------
    def fill_unobserved(self, x: torch.Tensor, observed: torch.Tensor, noise: bool) -> torch.Tensor:
        """``x̃``: unobserved tabular columns get standard normal noise (or 0, its mean, when
        ``noise`` is false, for deterministic imputation); unobserved image columns get zeros."""
        return self.filler(x, observed, noise)

    def encode(self, x: torch.Tensor, observed: torch.Tensor, noise: bool = True) -> Posterior:
        """The selective proposal: unimodal posterior where a modality is observed, multimodal elsewhere."""
        n, n_modalities = observed.shape
        x_tilde = self.fill_unobserved(x, observed, noise)
        unimodal = self.unimodal(x_tilde)
        mask = observed.to(x.dtype)
        multimodal = self.multimodal(torch.cat([x_tilde, mask], dim=1))
        stats = torch.where(observed.unsqueeze(-1), unimodal, multimodal.view(n, n_modalities, -1))
        if self.refinement is not None:
            column_observed = observed[:, self.column_modality]
            for _ in range(self.feedback_rounds):
                mean = stats.chunk(2, dim=-1)[0]
                imputed = self.likelihoods.mean(self.decode(mean, observed).data, calibrated=False)
                refined = self.refinement(torch.cat([torch.where(column_observed, x, imputed), mask], dim=1))
                stats = torch.where(observed.unsqueeze(-1), unimodal, refined.view(n, n_modalities, -1))
        mean, logvar = stats.chunk(2, dim=-1)
        return Posterior(mean, logvar.clamp(-LOGVAR_LIMIT, LOGVAR_LIMIT))

    # -- decoding -------------------------------------------------------------------------------
    def aggregate(self, z: torch.Tensor) -> torch.Tensor:
        """``F(z)``: concatenation of the blocks (paper), or their mean or max."""
        if self.config.aggregator == "concat":
            return z.flatten(1)
        if self.config.aggregator == "mean":
            return z.mean(1)
        return z.amax(1)

    def decode(self, z: torch.Tensor, mask: torch.Tensor | None = None) -> Decoded:
        """Mask logits and data head from latent codes.

        ``mask`` is what the data decoder is conditioned on when ``mask_input == "true"``: the observed
        mask during training and imputation, a generated one during generation.
        """
        h = self.aggregate(z)
        mask_logits = self.mask_decoder(h)
        mode = self.config.mask_input
        if mode == "none":
            return Decoded(mask_logits, self.data_decoder(h))
        if mode == "reconstructed":
            condition = torch.sigmoid(mask_logits).detach()
        elif mask is None:
            raise VSAEError("mask_input='true' needs the mask to condition the data decoder on")
        else:
            condition = mask.to(h.dtype)
        return Decoded(mask_logits, self.data_decoder(torch.cat([h, condition], dim=1)))

    @torch.no_grad()
    def generate(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``z ~ N(0, I)``, a mask drawn from ``p(m | z)``, and the data head decoded given both.

        Returns the raw data head ``[n, D]`` and the generated mask ``[n, M]`` (True = observed).
        """
        z = torch.randn(n, len(self.schema), self.config.latent_dim, device=self.column_modality.device)
        mask = torch.bernoulli(torch.sigmoid(self.mask_decoder(self.aggregate(z))))
        return self.decode(z, mask).data, mask.bool()

    @torch.no_grad()
    def impute(self, x: torch.Tensor, observed: torch.Tensor, stochastic: bool = False) -> torch.Tensor:
        """Raw data head for imputation: posterior means (and zero fill) by default, one draw otherwise."""
        posterior = self.encode(x, observed, noise=stochastic)
        z = posterior.rsample() if stochastic else posterior.mean
        return self.decode(z, observed).data

    @torch.no_grad()
    def importance_weighted_mean(
        self, x: torch.Tensor, observed: torch.Tensor, noise: torch.Tensor, prior_weight: float
    ) -> torch.Tensor:
        """Expected values ``[N, D]`` (:meth:`Likelihoods.mean`) averaged over latent draws from the
        selective proposal, each weighted by how well it explains the row's observed cells.

        The self-normalised weight of a draw ``z_k ~ q(z | x̃, m)`` is
        ``p(x_o | z_k) · (p(z_k) / q(z_k | x̃, m))^prior_weight``: MIWAE's importance-weighted
        imputation (Mattei & Frellsen 2019) with the prior-over-proposal ratio raised to the KL weight
        the network was trained with, the posterior that weighted objective targets (``prior_weight=1``
        is MIWAE's). ``noise`` holds the standard-normal draws ``[K, modalities, latent_dim]``
        (``z_k = μ + σ · noise_k``), the same for every row, so that a row's imputation does not depend
        on the rows it is imputed with (a file imputed in chunks is the file imputed at once). Weights
        are accumulated draw by draw (log-sum-exp), so memory stays that of one.
        """
        posterior = self.encode(x, observed, noise=False)
        std = torch.exp(0.5 * posterior.logvar)
        weight = observed.to(x.dtype)
        best = torch.full((x.shape[0], 1), float("-inf"), device=x.device, dtype=x.dtype)
        total = torch.zeros(x.shape[0], 1, device=x.device, dtype=x.dtype)
        weighted = torch.zeros_like(x)
        for draw in noise:
            z = posterior.mean + draw * std
            raw = self.decode(z, observed).data
            log_likelihood = -(self.likelihoods.negative_log_likelihood(raw, x) * weight).sum(1)
            # log N(z; 0, I) − log N(z; μ, σ²), the 2π terms cancelling.
            log_ratio = (0.5 * (draw.square() - z.square()) + 0.5 * posterior.logvar).sum((1, 2))
            log_weight = (log_likelihood + prior_weight * log_ratio).unsqueeze(1)
            new_best = torch.maximum(best, log_weight)
            rescale = torch.exp(best - new_best)
            share = torch.exp(log_weight - new_best)
            total = total * rescale + share
            weighted = weighted * rescale + share * self.likelihoods.mean(raw)
            best = new_best
        return weighted / total
