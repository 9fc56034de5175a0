"""``vsae.MultimodalVSAE`` directly: shapes and kinds of what it returns, that observed modalities
come back untouched, that the content of an unobserved modality is never read, persistence, and that
it learns a modality from the others."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from vsae.data import modality_mcar_mask
from vsae.errors import VSAEError
from vsae.model.vsae import VSAEConfig
from vsae.multimodal import MultimodalVSAE
from vsae.train import TrainConfig

KINDS = {"vec": "numerical", "img": "image", "label": "categorical", "bits": "binary"}
SMALL = VSAEConfig(latent_dim=4, encoder_hidden=16, mask_decoder_hidden=8, decoder_hidden=16, depth=1)
N = 240


def make_data(n: int = N, seed: int = 0) -> dict[str, np.ndarray]:
    """Four modalities driven by one shared factor ``t``: a vector, a 2×3 'image' in [0, 1], a
    three-class label (one-hot) and two bits, so each can be predicted from the others."""
    rng = np.random.default_rng(seed)
    t = rng.normal(size=n)
    vec = np.stack([t, -t, 0.5 * t], 1) + 0.1 * rng.normal(size=(n, 3))
    img = 1 / (1 + np.exp(-np.outer(t, np.linspace(-2, 2, 6)))).reshape(n, 2, 3)
    label = np.eye(3)[np.digitize(t, [-0.43, 0.43])]
    bits = np.stack([t > 0, t > 1], 1).astype(np.float64)
    return {"vec": vec, "img": img, "label": label, "bits": bits}


def train_config(epochs: int = 3, seed: int = 0) -> TrainConfig:
    return TrainConfig(
        epochs=epochs, warmup_epochs=1, patience=epochs, device="cpu", seed=seed, modality_dropout=0.0
    )


@pytest.fixture(scope="module")
def data() -> dict[str, np.ndarray]:
    return make_data()


@pytest.fixture(scope="module")
def observed() -> np.ndarray:
    return modality_mcar_mask(N, len(KINDS), 0.4, 0)


@pytest.fixture(scope="module")
def fitted(data: dict[str, np.ndarray], observed: np.ndarray) -> MultimodalVSAE:
    return MultimodalVSAE(KINDS, SMALL, train_config()).fit(data, observed)


@pytest.mark.parametrize(
    ("modalities", "decoder_hidden", "encoder_hidden"),
    [(("img", "label"), 512, 256), (("img", "vec"), 128, 128)],
)
def test_unset_sizes_are_the_defaults_of_the_modality_kinds(
    data: dict[str, np.ndarray], modalities: tuple[str, str], decoder_hidden: int, encoder_hidden: int
) -> None:
    """Without ``model_config`` the network gets :meth:`VSAEConfig.for_modalities`' sizes."""
    kinds = {name: KINDS[name] for name in modalities}
    model = MultimodalVSAE(kinds, train_config=train_config(epochs=1))
    model.fit({name: data[name] for name in modalities}, np.ones((N, 2), dtype=bool))
    assert model.model_.config == VSAEConfig.for_images(
        decoder_hidden=decoder_hidden, encoder_hidden=encoder_hidden
    )


def with_garbage(data: dict[str, np.ndarray], observed: np.ndarray) -> dict[str, np.ndarray]:
    """The same data with every unobserved modality replaced by NaN or huge values."""
    out = {}
    for index, (name, array) in enumerate(data.items()):
        rows = ~observed[:, index]
        junk = array.copy()
        junk[rows] = np.nan if index % 2 else 1e6
        out[name] = junk
    return out


def test_impute_returns_every_modality_in_its_shape_and_keeps_observed_ones(
    fitted: MultimodalVSAE, data: dict[str, np.ndarray], observed: np.ndarray
) -> None:
    """Observed modalities come back exactly as given; unobserved ones are filled with values of
    their kind: finite numbers, pixels and bits in [0, 1], one-hot labels."""
    completed = fitted.impute(data, observed)
    assert list(completed) == list(KINDS)
    for index, name in enumerate(KINDS):
        assert completed[name].shape == data[name].shape, name
        rows = observed[:, index]
        np.testing.assert_array_equal(completed[name][rows], data[name][rows].astype(np.float32))
        filled = completed[name][~rows]
        assert filled.size and np.isfinite(filled).all(), name
    label = completed["label"][~observed[:, 2]]
    assert set(np.unique(label)) <= {0.0, 1.0} and (label.sum(1) == 1).all()
    assert set(np.unique(completed["bits"][~observed[:, 3]])) <= {0.0, 1.0}
    image = completed["img"][~observed[:, 1]]
    assert (image >= 0).all() and (image <= 1).all()


def test_draws_and_generation_have_the_data_shapes(
    fitted: MultimodalVSAE, data: dict[str, np.ndarray], observed: np.ndarray
) -> None:
    draws = fitted.sample_imputations(data, observed, n=3, random_state=1)
    assert len(draws) == 3
    for draw in draws:
        for index, name in enumerate(KINDS):
            assert draw[name].shape == data[name].shape
            rows = observed[:, index]
            np.testing.assert_array_equal(draw[name][rows], data[name][rows].astype(np.float32))
    assert not np.array_equal(draws[0]["vec"], draws[1]["vec"])
    generated, mask = fitted.generate(7, random_state=2)
    assert mask.shape == (7, len(KINDS)) and mask.dtype == np.bool_
    assert {name: array.shape for name, array in generated.items()} == {
        name: (7, *array.shape[1:]) for name, array in data.items()
    }


def test_unobserved_content_is_never_read(
    fitted: MultimodalVSAE, data: dict[str, np.ndarray], observed: np.ndarray
) -> None:
    """Garbage (NaN, 1e6) in unobserved modalities changes nothing: not the imputations of a fitted
    model, not the model a fit produces (weights compared exactly, same seed)."""
    garbage = with_garbage(data, observed)
    clean, dirty = fitted.impute(data, observed), fitted.impute(garbage, observed)
    for index, name in enumerate(KINDS):
        rows = ~observed[:, index]
        np.testing.assert_array_equal(clean[name][rows], dirty[name][rows])
    refit = MultimodalVSAE(KINDS, SMALL, train_config()).fit(garbage, observed)
    for key, value in fitted.model_.state_dict().items():
        torch.testing.assert_close(refit.model_.state_dict()[key], value, rtol=0, atol=0, msg=key)
    for first, second in zip(fitted.means_, refit.means_, strict=True):
        np.testing.assert_array_equal(first, second)


def test_save_and_load_give_the_same_model(
    fitted: MultimodalVSAE, data: dict[str, np.ndarray], observed: np.ndarray, tmp_path: Path
) -> None:
    fitted.save(tmp_path / "model")
    loaded = MultimodalVSAE.load(tmp_path / "model")
    assert loaded.schema_ == fitted.schema_
    assert loaded.history_.best_epoch == fitted.history_.best_epoch
    before, after = fitted.impute(data, observed), loaded.impute(data, observed)
    for name in KINDS:
        np.testing.assert_array_equal(before[name], after[name])
    np.testing.assert_array_equal(fitted.generate(5, 0)[1], loaded.generate(5, 0)[1])


def test_refusals(fitted: MultimodalVSAE, data: dict[str, np.ndarray], observed: np.ndarray) -> None:
    with pytest.raises(VSAEError, match="not fitted"):
        MultimodalVSAE(KINDS).impute(data, observed)
    with pytest.raises(VSAEError, match="missing \\['bits'\\]"):
        fitted.impute({k: v for k, v in data.items() if k != "bits"}, observed)
    with pytest.raises(VSAEError, match="shape"):
        fitted.impute(data, observed[:, :3])
    bad = dict(data, vec=data["vec"].copy())
    bad["vec"][np.flatnonzero(observed[:, 0])[0]] = np.nan
    with pytest.raises(VSAEError, match="marked observed in row"):
        fitted.impute(bad, observed)
    with pytest.raises(VSAEError, match="values must lie in \\[0, 1\\]"):
        fitted.impute(dict(data, img=data["img"] * 3), np.ones_like(observed))
    never = observed.copy()
    never[:, 0] = False
    never[:, 1] = True
    with pytest.raises(VSAEError, match="never observed"):
        MultimodalVSAE(KINDS, SMALL, train_config()).fit(data, never)


#: After 40 epochs on 240 samples, measured with data and model seeds 0-4: the imputed vector's mean
#: squared error relative to predicting its training mean was 0.37-0.65 (mean imputation: about 1),
#: the imputed label's accuracy 0.67-0.88 (one class of three by chance: about 0.33). The bounds
#: leave a margin to the worst seed measured and stay far from what a model that ignores the
#: observed modalities would score.
LEARNED_RELATIVE_ERROR, LEARNED_ACCURACY = 0.8, 0.5


def test_it_learns_a_missing_modality_from_the_others() -> None:
    data = make_data(seed=0)
    observed = modality_mcar_mask(N, len(KINDS), 0.4, 1)
    model = MultimodalVSAE(KINDS, SMALL, train_config(epochs=40)).fit(data, observed)
    test = make_data(seed=100)
    without_vec = np.ones((N, len(KINDS)), dtype=bool)
    without_vec[:, 0] = False
    imputed = model.impute(test, without_vec)["vec"]
    relative = np.mean((imputed - test["vec"]) ** 2) / np.mean((test["vec"] - data["vec"].mean(0)) ** 2)
    assert relative < LEARNED_RELATIVE_ERROR, relative
    without_label = np.ones((N, len(KINDS)), dtype=bool)
    without_label[:, 2] = False
    label = model.impute(test, without_label)["label"]
    accuracy = float((label.argmax(1) == test["label"].argmax(1)).mean())
    assert accuracy > LEARNED_ACCURACY, accuracy
