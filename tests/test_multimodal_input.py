"""What :class:`MultimodalVSAE` accepts: class codes and 1-D labels, checked shapes, keyword settings.

The data are the first rows of the shared MNIST file (images in [0, 1]) with their labels, as class
codes, with a third of the images and of the labels missing. Training budgets are one or two epochs:
these tests are about input handling, not accuracy.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import vsae
from vsae import MultimodalVSAE, VSAEError

ROOT = Path(__file__).resolve().parents[1]
FAST = {"epochs": 2, "warmup_epochs": 1, "device": "cpu", "latent_dim": 8, "encoder_hidden": 16}
ROWS = 240


@pytest.fixture(scope="module")
def mnist(data_root: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Images ``[n, 28, 28]``, labels ``[n]`` (codes 0-9) and a mask with a third of each missing."""
    images, labels = _first_rows(data_root)
    rng = np.random.default_rng(0)
    observed = rng.random((ROWS, 2)) > 1 / 3
    observed[observed.sum(axis=1) == 0, 0] = True
    return images, labels, observed


def _first_rows(data_root: Path) -> tuple[np.ndarray, np.ndarray]:
    data = np.load(data_root / "images" / "mnist.npz")
    images = data["x_train"][:ROWS].astype(np.float32) / 255.0
    return images, data["y_train"][:ROWS].astype(np.int64)


def test_one_dimensional_class_codes_are_labels(mnist) -> None:
    images, labels, observed = mnist
    data = {"image": images, "label": labels}
    model = MultimodalVSAE(kinds={"label": "categorical"}, random_state=0, **FAST).fit(data, observed)
    assert model.schema_.modalities[1].width == 10  # ten classes, not one
    completed = model.impute(data, observed)
    assert completed["label"].shape == (ROWS,) and completed["label"].dtype == np.int64
    kept = observed[:, 1]
    assert (completed["label"][kept] == labels[kept]).all()
    assert set(np.unique(completed["label"][~kept])) <= set(range(10))
    assert len(np.unique(completed["label"][~kept])) >= 1
    generated, _ = model.generate(5)
    assert generated["label"].shape == (5,) and set(generated["label"]) <= set(range(10))


def test_column_of_class_codes_is_not_one_class(mnist, tmp_path: Path) -> None:
    images, labels, observed = mnist
    data = {"image": images, "label": labels[:, None]}
    model = MultimodalVSAE(kinds={"label": "categorical"}, **FAST).fit(data, observed)
    assert model.schema_.modalities[1].width == 10  # ten classes, not a one-hot column of one
    completed = model.impute(data, observed)
    assert completed["label"].shape == (ROWS, 1)
    kept = observed[:, 1]
    assert (completed["label"][kept] == labels[kept, None]).all()
    # the predictions are class codes; with two epochs they may all be the most frequent class
    assert set(np.unique(completed["label"][~kept])) <= set(range(10))
    model.save(tmp_path / "m")
    again = MultimodalVSAE.load(tmp_path / "m").impute(data, observed)
    assert np.array_equal(again["label"], completed["label"])


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d, o: (d, o[:, :1]), r"observed must have shape \(n_samples, 2\)"),
        (lambda d, o: (d, o[:100]), r"modality 'image' has 240 samples .* observed has 100 rows"),
        (lambda d, o: ({**d, "label": d["label"][:10]}, o), r"modality 'label' has 10 samples"),
        (lambda d, o: (d, np.where(o, "y", "n")), "observed must be a boolean array"),
        (lambda d, o: ({**d, "label": d["label"] + 0.5}, o), "class codes must be integers"),
        (lambda d, o: ({**d, "label": -d["label"] - 1}, o), "class codes must be integers"),
    ],
    ids=["mask_columns", "mask_rows", "label_rows", "mask_text", "fractional_codes", "negative_codes"],
)
def test_shapes_are_checked_with_a_clear_error(change, message: str, mnist) -> None:
    images, labels, observed = mnist
    data, mask = change({"image": images, "label": labels}, observed)
    with pytest.raises(VSAEError, match=message):
        MultimodalVSAE(kinds={"label": "categorical"}, **FAST).fit(data, mask)


def test_shapes_are_checked_at_imputation(mnist) -> None:
    images, labels, observed = mnist
    data = {"image": images, "label": labels}
    model = MultimodalVSAE(kinds={"label": "categorical"}, **FAST).fit(data, observed)
    with pytest.raises(VSAEError, match=r"observed must have shape \(n_samples, 2\)"):
        model.impute(data, np.ones((ROWS, 3), dtype=bool))
    with pytest.raises(VSAEError, match="class code 12 was not seen at fit"):
        model.impute({"image": images, "label": np.full(ROWS, 12)}, observed)


def test_training_settings_are_keyword_arguments() -> None:
    model = MultimodalVSAE(epochs=3, learning_rate=0.01, latent_dim=4, random_state=np.random.default_rng(5))
    assert model.train_config.epochs == 3 and model.train_config.learning_rate == 0.01
    assert isinstance(model.train_config.seed, int)
    with pytest.raises(TypeError, match=r"unknown settings \['epoch'\]; known settings: .*epochs"):
        MultimodalVSAE(epoch=3)


def test_readme_example_runs(mnist, monkeypatch) -> None:
    """The README's MultimodalVSAE snippet, run as written (with a tiny training budget)."""
    readme = (ROOT / "README.md").read_text()
    snippet = next(
        block for block in re.findall(r"```python\n(.*?)```", readme, re.S) if "MultimodalVSAE" in block
    )
    images, labels, observed = mnist

    class Tiny(MultimodalVSAE):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **{**FAST, **kwargs})

    monkeypatch.setattr(vsae, "MultimodalVSAE", Tiny)
    namespace = {"data": {"image": images, "label": labels}, "observed": observed}
    exec(compile(snippet, "README.md", "exec"), namespace)
    completed = namespace["completed"]
    assert completed["image"].shape == images.shape and completed["label"].shape == (ROWS,)
    assert (completed["label"][observed[:, 1]] == labels[observed[:, 1]]).all()
