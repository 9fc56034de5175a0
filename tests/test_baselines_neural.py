"""The paper's neural baselines: fitting and imputing real tables, leakage, MIWAE's importance weights,
MVAE's product of experts, and parameter counts against VSAE's.

Tables: 300 seeded rows of white_wine (numerical) and zoo (categorical), half of their cells hidden
MCAR with the project's own mechanism (docs/protocol.md). Budgets are tiny: these tests check mechanics, the
benchmark measures quality.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone

from vsae import inference
from vsae.baselines import NEURAL_IMPUTERS, REFERENCE_METHODS, NeuralBaselineImputer, make_neural_imputer
from vsae.baselines.networks import MIWAE, BaselineConfig, count_parameters, product_of_experts
from vsae.baselines.networks.common import raw_from_mean
from vsae.baselines.networks.miwae import IMPUTATION_SEED
from vsae.baselines.neural import (
    METHODS,
    baseline_config,
    make_objective,
    train_baseline,
    vsae_parameter_count,
)
from vsae.data import apply_mask, load_uci, mcar_mask
from vsae.errors import VSAEError
from vsae.imputer import VSAEImputer
from vsae.model.likelihoods import Likelihoods
from vsae.model.vsae import Posterior, VSAEConfig
from vsae.schema import Modality, Schema, infer_table_schema
from vsae.tabular import TableCodec
from vsae.train import TrainConfig

NAMES = ["ae", "vae", "cvae_mask", "mvae", "miwae", "cvae_data", "vaeac"]
BUDGET = {"epochs": 5, "warmup_epochs": 2, "device": "cpu", "imputation_samples": 20}
WINE_ROWS = 300


@pytest.fixture(scope="module")
def tables(data_root: Path) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """Dataset name -> (complete table, the same with half of its cells missing)."""
    wine = load_uci("white_wine", data_root).frame
    rows = np.sort(np.random.default_rng(0).choice(len(wine), WINE_ROWS, replace=False))
    out = {}
    for seed, (name, frame) in enumerate(
        [("white_wine", wine.iloc[rows].reset_index(drop=True)), ("zoo", load_uci("zoo", data_root).frame)]
    ):
        out[name] = (frame, apply_mask(frame, mcar_mask(frame.shape, 0.5, seed)))
    return out


def encoded(masked: pd.DataFrame) -> tuple[Schema, np.ndarray, np.ndarray]:
    schema = infer_table_schema(masked)
    x, observed = TableCodec.fit(masked, schema).encode(masked)
    return schema, x, observed


def with_garbage(x: np.ndarray, observed: np.ndarray, schema: Schema) -> np.ndarray:
    """``x`` whose unobserved cells hold huge values and NaN instead of zeros."""
    unobserved = ~np.repeat(observed, [m.width for m in schema], axis=1)
    garbage = x.copy()
    values = np.random.default_rng(1).normal(0, 1e6, size=x.shape).astype(np.float32)
    values[::3] = np.nan
    garbage[unobserved] = values[unobserved]
    return garbage


def test_registry_names_and_references() -> None:
    assert list(NEURAL_IMPUTERS) == NAMES == list(METHODS)
    assert REFERENCE_METHODS == {"cvae_data", "vaeac"}
    imputer = NEURAL_IMPUTERS["miwae"](random_state=3, epochs=7)
    assert (imputer.method, imputer.random_state, imputer.epochs) == ("miwae", 3, 7)
    assert clone(imputer).get_params() == imputer.get_params()
    with pytest.raises(VSAEError, match="unknown neural baseline 'gan'"):
        make_neural_imputer("gan")
    with pytest.raises(VSAEError, match="unknown neural baseline 'gan'"):
        NeuralBaselineImputer("gan").fit(pd.DataFrame({"a": [1.0, 2.0]}))


@pytest.mark.parametrize(
    ("method", "setting", "message"),
    [
        ("miwae", {"n_samples": 0}, "n_samples"),
        ("miwae", {"imputation_samples": 0}, "imputation_samples"),
        ("vaeac", {"train_missing_rate": 1.5}, "missing_rate"),
        ("vae", {"latent_dim": 0}, "latent_dim"),
    ],
)
def test_invalid_settings_are_reported_before_training(
    tables, method: str, setting: dict, message: str
) -> None:
    _, masked = tables["zoo"]
    with pytest.raises(VSAEError, match=message):
        make_neural_imputer(method, **{**BUDGET, **setting}).fit(masked)


@pytest.mark.parametrize("dataset", ["white_wine", "zoo"])
@pytest.mark.parametrize("method", NAMES)
def test_fit_and_impute_fills_only_missing_cells(tables, dataset: str, method: str) -> None:
    complete, masked = tables[dataset]
    imputer = make_neural_imputer(method, **BUDGET)
    imputer.fit(complete if method in REFERENCE_METHODS else masked)
    out = imputer.transform(masked)

    assert not out.isna().any().any()
    assert list(out.columns) == list(masked.columns) and out.index.equals(masked.index)
    assert list(out.dtypes) == list(masked.dtypes)
    observed = masked.notna().to_numpy()
    for j, column in enumerate(masked.columns):
        kept = observed[:, j]
        assert (out[column].to_numpy()[kept] == masked[column].to_numpy()[kept]).all(), column
    assert imputer.n_parameters_ >= imputer.vsae_parameters_
    assert 1 <= imputer.history_.best_epoch <= BUDGET["epochs"]


def test_unset_settings_follow_vsae_defaults(tables) -> None:
    _, masked = tables["white_wine"]
    imputer = make_neural_imputer("vae", **BUDGET).fit(masked)
    defaults = VSAEImputer().get_params()
    logvar = imputer.model_.likelihoods.numerical_logvar
    assert torch.allclose(logvar, torch.full_like(logvar, math.log(defaults["numerical_variance"])))
    assert imputer.network_config_.numerical_variance == defaults["numerical_variance"]
    with pytest.raises(VSAEError, match="columns differ from those seen at fit"):
        imputer.transform(masked.to_numpy())  # an array has no column names: they cannot match


@pytest.mark.parametrize("dataset", ["white_wine", "zoo"])
@pytest.mark.parametrize("method", NAMES)
def test_loss_and_imputation_never_read_unobserved_cells(tables, dataset: str, method: str) -> None:
    schema, x, observed = encoded(tables[dataset][1])
    garbage = with_garbage(x, observed, schema)
    torch.manual_seed(0)
    model = METHODS[method](schema, baseline_config(method, schema, match_parameters=False))
    objective = make_objective(method)
    results = []
    for data in (x, garbage):
        torch.manual_seed(1)
        terms = objective(model, torch.as_tensor(data), torch.as_tensor(observed), True)
        terms.total.backward()
        gradients = [p.grad.clone() for p in model.parameters() if p.grad is not None]
        model.zero_grad()
        results.append((terms.total.detach(), gradients))
    (loss_a, grads_a), (loss_b, grads_b) = results
    assert torch.isfinite(loss_a) and torch.equal(loss_a, loss_b)
    assert len(grads_a) == len(grads_b) > 0
    assert all(torch.equal(a, b) for a, b in zip(grads_a, grads_b, strict=True))
    model.eval()
    assert np.array_equal(inference.impute(model, x, observed), inference.impute(model, garbage, observed))


@pytest.mark.parametrize("method", NAMES)
def test_training_is_seeded_and_blind_to_unobserved_cells(tables, method: str) -> None:
    schema, x, observed = encoded(tables["zoo"][1])
    config = TrainConfig(epochs=2, warmup_epochs=1, device="cpu", seed=0)
    clean, _ = train_baseline(method, schema, x, observed, config=config)
    dirty, _ = train_baseline(method, schema, with_garbage(x, observed, schema), observed, config=config)
    for (name, a), b in zip(clean.state_dict().items(), dirty.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_miwae_weights_normalise_and_imputation_is_their_weighted_mean(tables) -> None:
    schema, x, observed = encoded(tables["white_wine"][1])
    observed[0] = False  # a row with nothing observed: weights are prior / proposal alone
    torch.manual_seed(0)
    model = MIWAE(schema, BaselineConfig(imputation_samples=50)).eval()
    xt, ot = torch.as_tensor(x), torch.as_tensor(observed)
    with torch.no_grad():
        generator = torch.Generator().manual_seed(IMPUTATION_SEED)
        samples = model.importance_samples(xt, ot, 50, noise=False, generator=generator)
        imputed = model.impute(xt, ot)
        assert torch.equal(model.impute(xt, ot), imputed)  # deterministic
    weights = samples.normalised_weights()
    assert weights.shape == (50, len(x))
    assert (weights >= 0).all()
    assert torch.allclose(weights.sum(0), torch.ones(len(x)), atol=1e-5)
    # Self-normalised: proportional to exp(log w) within each row.
    ratio = weights / weights[:1]
    assert torch.allclose(ratio, torch.exp(samples.log_weights - samples.log_weights[:1]), rtol=1e-3)
    assert torch.equal(samples.log_likelihood[:, 0], torch.zeros(50))
    # Numerical heads are their own means: the imputation is the weighted mean of the 50 draws.
    expected = (weights.unsqueeze(-1) * samples.raw).sum(0)
    assert torch.allclose(imputed, expected, atol=1e-5)
    assert (imputed <= samples.raw.amax(0) + 1e-5).all() and (imputed >= samples.raw.amin(0) - 1e-5).all()


def test_raw_from_mean_inverts_the_likelihood_mean() -> None:
    schema = Schema(
        (
            Modality("n", "numerical", 1),
            Modality("c", "categorical", 3, categories=("a", "b", "c")),
            Modality("b", "binary", 2),
            Modality("i", "image", 4, shape=(2, 2)),
        )
    )
    likelihoods = Likelihoods(schema)
    torch.manual_seed(0)
    mean = likelihoods.mean(torch.randn(6, schema.total_width))
    assert torch.allclose(likelihoods.mean(raw_from_mean(likelihoods, mean)), mean, atol=1e-5)


def test_product_of_experts_is_the_analytic_product_of_gaussians() -> None:
    # Two experts on a 2-d latent plus the prior N(0, I); the second row lacks expert 2.
    means = torch.tensor([[[1.0, -2.0], [3.0, 0.5]]]).repeat(2, 1, 1)
    variances = torch.tensor([[[1.0, 4.0], [0.5, 2.0]]]).repeat(2, 1, 1)
    present = torch.tensor([[True, True], [True, False]])
    joint = product_of_experts(Posterior(means, variances.log()), present)
    # Row 0: precisions 1 + 1/1 + 1/0.5 = 4 and 1 + 1/4 + 1/2 = 1.75.
    expected_variance = torch.tensor([[1 / 4, 1 / 1.75], [1 / 2, 1 / 1.25]])
    expected_mean = torch.tensor(
        [[(1 / 1 * 1 + 3 / 0.5) / 4, (-2 / 4 + 0.5 / 2) / 1.75], [(1 / 1) / 2, (-2 / 4) / 1.25]]
    )
    assert torch.allclose(joint.logvar.exp(), expected_variance)
    assert torch.allclose(joint.mean, expected_mean)


def image_schema() -> Schema:
    return Schema.from_arrays({"left": np.zeros((1, 28, 28)), "right": np.zeros((1, 28, 28))})


@pytest.mark.parametrize("dataset", ["white_wine", "mushroom", "images"])
def test_every_baseline_has_at_least_vsae_parameter_count_and_is_minimally_widened(
    data_root: Path, dataset: str
) -> None:
    if dataset == "images":
        schema, vsae_config = image_schema(), VSAEConfig.for_images()
    else:
        schema, vsae_config = infer_table_schema(load_uci(dataset, data_root).frame), VSAEConfig()
    target = vsae_parameter_count(schema, vsae_config)

    def size(method: str, config: BaselineConfig) -> int:
        with torch.device("meta"):
            return count_parameters(METHODS[method](schema, config))

    for method in NAMES:
        config = baseline_config(method, schema, vsae_config)
        assert size(method, config) >= target, method
        assert (config.latent_dim, config.depth) == (vsae_config.latent_dim, vsae_config.depth)
        if config.encoder_hidden > vsae_config.encoder_hidden:
            narrower = config.encoder_hidden - 1
            decoder = math.ceil(vsae_config.decoder_hidden * narrower / vsae_config.encoder_hidden)
            assert size(method, replace(config, encoder_hidden=narrower, decoder_hidden=decoder)) < target


@pytest.mark.parametrize("method", NAMES)
def test_baselines_train_and_impute_image_modalities(method: str) -> None:
    """Multimodal data: two 8×8 image modalities, each missing in about half of the samples."""
    rng = np.random.default_rng(0)
    arrays = {"left": rng.random((64, 8, 8)), "right": rng.random((64, 8, 8))}
    schema = Schema.from_arrays(arrays)
    x = np.concatenate([a.reshape(64, -1) for a in arrays.values()], axis=1).astype(np.float32)
    observed = rng.random((64, 2)) < 0.5
    observed[~observed.any(1), 0] = True
    sizes = VSAEConfig(latent_dim=4, encoder_hidden=16, mask_decoder_hidden=4, decoder_hidden=16)
    config = TrainConfig(epochs=2, warmup_epochs=1, device="cpu", seed=0)
    model, _ = train_baseline(method, schema, x, observed, sizes, config, imputation_samples=8)
    assert count_parameters(model) >= vsae_parameter_count(schema, sizes)
    imputed = inference.impute(model, x, observed)
    assert imputed.shape == x.shape and np.isfinite(imputed).all()
    assert (imputed >= 0).all() and (imputed <= 1).all()


@pytest.mark.parametrize("method", NAMES)
def test_a_saved_baseline_loads_and_imputes_alike(tables, tmp_path: Path, method: str) -> None:
    complete, masked = tables["zoo"]
    imputer = make_neural_imputer(method, **BUDGET).fit(complete if method in REFERENCE_METHODS else masked)
    imputer.save(tmp_path / "model")
    loaded = NeuralBaselineImputer.load(tmp_path / "model")
    pd.testing.assert_frame_equal(loaded.transform(masked), imputer.transform(masked), check_exact=True)
    assert loaded.get_params() == {**imputer.get_params(), "device": "cpu"}
    assert loaded.network_config_ == imputer.network_config_
    assert (loaded.n_parameters_, loaded.vsae_parameters_) == (
        imputer.n_parameters_,
        imputer.vsae_parameters_,
    )
    assert loaded.history_.best_epoch == imputer.history_.best_epoch
