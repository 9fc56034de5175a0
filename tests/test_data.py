"""Tests of the data loaders (vsae.data): UCI tables, image datasets, multimodal pairs, paths."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.io import savemat

from vsae.data import (
    UCI_DATASETS,
    data_dir,
    load_image_dataset,
    load_image_text,
    load_manifest,
    load_mnist_pairs,
    load_mnist_svhn_pairs,
    load_svhn,
    load_uci,
    require_file,
    train_test_split_indices,
)
from vsae.errors import VSAEError

# ----------------------------------------------------------------------------------------------- UCI


@pytest.mark.parametrize("name", UCI_DATASETS)
def test_uci_table_matches_manifest(data_root: Path, name: str) -> None:
    manifest = load_manifest(data_root)[name]
    table = load_uci(name, data_root)
    frame = table.frame
    expected_columns = [c for c in manifest["columns"] if c != manifest["target"]]
    assert len(frame) == manifest["rows"]
    assert list(frame.columns) == expected_columns
    assert table.target == manifest["target"] and table.target not in frame.columns
    assert table.numerical == [c for c in expected_columns if manifest["columns"][c] == "numerical"]
    assert table.categorical == [c for c in expected_columns if manifest["columns"][c] == "categorical"]
    for column in table.numerical:
        assert frame[column].dtype == np.float64, column
    for column in table.categorical:
        assert isinstance(frame[column].dtype, pd.CategoricalDtype), column
    assert int(frame.isna().sum().sum()) == manifest.get("missing_cells", 0)


def test_uci_uses_env_var_by_default(data_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VSAE_DATA", str(data_root))
    assert load_uci("glass").frame.shape == (214, 9)


def test_mushroom_real_missing_cells_are_nan(data_root: Path) -> None:
    frame = load_uci("mushroom", data_root).frame
    assert int(frame["stalk_root"].isna().sum()) == 2480
    assert list(frame["stalk_root"].cat.categories) == ["b", "c", "e", "r"]
    assert frame.drop(columns="stalk_root").notna().all().all()


def test_categorical_columns_keep_the_file_values(data_root: Path) -> None:
    zoo = load_uci("zoo", data_root).frame
    assert list(zoo["hair"].cat.categories) == [0, 1]
    assert list(zoo["legs"].cat.categories) == [0, 2, 4, 5, 6, 8]
    assert zoo["legs"].cat.categories.dtype == np.int64
    phishing = load_uci("phishing", data_root).frame
    assert list(phishing["URL_Length"].cat.categories) == [-1, 0, 1]
    mushroom = load_uci("mushroom", data_root).frame
    assert mushroom["cap_shape"].iloc[0] == "x"  # the file's letters, not codes


def test_drop_target_false_keeps_target_with_its_type(data_root: Path) -> None:
    wine = load_uci("white_wine", data_root, drop_target=False)
    assert "quality" in wine.frame.columns and "quality" in wine.numerical
    assert wine.frame["quality"].dtype == np.float64
    zoo = load_uci("zoo", data_root, drop_target=False)
    assert "type" in zoo.categorical and "mammal" in list(zoo.frame["type"].cat.categories)


def test_unknown_uci_name_lists_valid_names(data_root: Path) -> None:
    with pytest.raises(VSAEError, match=r"yeast.*white_wine.*phishing"):
        load_uci("iris", data_root)


def test_question_marks_and_empty_cells_are_missing(tmp_path: Path) -> None:
    # "yeast" is used as the key because load_uci only accepts the benchmark's names.
    manifest = {
        "yeast": {
            "file": "uci/yeast.csv",
            "rows": 3,
            "columns": {"a": "numerical", "b": "categorical", "c": "categorical", "y": "categorical"},
            "target": "y",
        }
    }
    (tmp_path / "uci").mkdir()
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "uci" / "yeast.csv").write_text("a,b,c,y\n1.5,1,n,p\n?,,?,e\n2,-1,NA,p\n")
    frame = load_uci("yeast", tmp_path).frame
    assert frame["a"].isna().tolist() == [False, True, False]
    assert list(frame["b"].cat.categories) == [-1, 1]  # integers, even with a missing cell
    assert frame["b"].isna().tolist() == [False, True, False]
    assert list(frame["c"].cat.categories) == ["NA", "n"]  # only "" and "?" mean missing


def test_wrong_row_count_is_reported(data_root: Path, tmp_path: Path) -> None:
    manifest = {"glass": dict(load_manifest(data_root)["glass"], rows=999)}
    (tmp_path / "uci").mkdir()
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    shutil.copy(data_root / "uci" / "glass.csv", tmp_path / "uci" / "glass.csv")
    with pytest.raises(VSAEError, match=r"214 rows.*999"):
        load_uci("glass", tmp_path)


def test_train_test_split_indices() -> None:
    train, test = train_test_split_indices(1484, seed=0)
    assert len(test) == 297 and len(train) == 1187
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(1484))
    again_train, again_test = train_test_split_indices(1484, seed=0)
    assert np.array_equal(train, again_train) and np.array_equal(test, again_test)
    _, other_test = train_test_split_indices(1484, seed=1)
    assert not np.array_equal(test, other_test)
    with pytest.raises(VSAEError):
        train_test_split_indices(10, seed=0, test_fraction=1.5)


# --------------------------------------------------------------------------------------------- paths


def test_data_dir_requires_an_existing_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("VSAE_DATA", raising=False)
    with pytest.raises(VSAEError, match="VSAE_DATA"):
        data_dir()
    with pytest.raises(VSAEError, match="does not exist"):
        data_dir(tmp_path / "nowhere")
    monkeypatch.setenv("VSAE_DATA", str(tmp_path))
    assert data_dir() == tmp_path


def test_missing_files_are_named_with_their_source(data_root: Path, tmp_path: Path) -> None:
    with pytest.raises(VSAEError, match=r"missing data file .*manifest\.json"):
        load_uci("yeast", tmp_path)
    shutil.copy(data_root / "manifest.json", tmp_path / "manifest.json")
    with pytest.raises(VSAEError, match=r"yeast\.csv.*archive\.ics\.uci\.edu"):
        load_uci("yeast", tmp_path)
    with pytest.raises(VSAEError, match=r"mnist\.npz"):
        load_image_dataset("mnist", tmp_path)
    with pytest.raises(VSAEError, match=r"train_32x32\.mat.*ufldl\.stanford\.edu/housenumbers"):
        load_svhn(tmp_path)
    with pytest.raises(VSAEError, match=r"custom\.bin.*my hint"):
        require_file(tmp_path / "custom.bin", source="my hint")
    assert require_file(tmp_path / "manifest.json") == tmp_path / "manifest.json"


# -------------------------------------------------------------------------------------------- images


@pytest.fixture(scope="module")
def mnist_pairs(data_root: Path):
    return load_mnist_pairs(data_root, seed=0)


def test_image_dataset_layout(data_root: Path) -> None:
    with pytest.raises(VSAEError, match="mnist"):
        load_image_dataset("cifar10", data_root)
    mnist = load_image_dataset("mnist", data_root)
    assert mnist.x_train.shape == (60000, 784) and mnist.x_test.shape == (10000, 784)
    assert mnist.x_train.dtype == np.float32 and mnist.y_train.dtype == np.int64
    assert mnist.x_train.min() == 0.0 and mnist.x_train.max() == 1.0
    assert sorted(np.unique(mnist.y_test).tolist()) == list(range(10))
    assert mnist.image_shape == (28, 28)


def test_mnist_pairs_reproduce_the_paper_sizes(mnist_pairs) -> None:
    assert (len(mnist_pairs.train), len(mnist_pairs.val), len(mnist_pairs.test)) == (23257, 5814, 4832)
    for split in (mnist_pairs.train, mnist_pairs.val, mnist_pairs.test):
        assert split.names == ["digit", "partner"]
        for image in split.modalities.values():
            assert image.dtype == np.float32 and image.shape[1] == 784
            assert 0.0 <= image.min() and image.max() <= 1.0
        digit, partner = split.labels["digit"], split.labels["partner"]
        assert set(np.unique(digit).tolist()) == {0, 1, 2, 3, 4}
        assert np.array_equal(partner, 9 - digit)


def test_mnist_pairs_use_each_image_once(data_root: Path, mnist_pairs) -> None:
    mnist = load_image_dataset("mnist", data_root)
    digit = np.concatenate([mnist_pairs.train.labels["digit"], mnist_pairs.val.labels["digit"]])
    counts = np.bincount(mnist.y_train, minlength=10)
    for low in range(5):
        # each class pair yields min(count(low), count(9 - low)) pairs: images are never reused
        assert int(np.sum(digit == low)) == min(counts[low], counts[9 - low])
    # the "partner" image of a pair really is an image of the partner digit (same pixels as in MNIST)
    row = mnist_pairs.test.modalities["partner"][0]
    matches = np.flatnonzero((mnist.x_test == row).all(axis=1))
    assert matches.size >= 1 and mnist.y_test[matches[0]] == mnist_pairs.test.labels["partner"][0]


def test_mnist_pairs_are_seeded(data_root: Path, mnist_pairs) -> None:
    again = load_mnist_pairs(data_root, seed=0)
    assert np.array_equal(again.val.modalities["digit"], mnist_pairs.val.modalities["digit"])
    assert np.array_equal(again.test.labels["partner"], mnist_pairs.test.labels["partner"])


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_image_text(data_root: Path, name: str) -> None:
    splits = load_image_text(name, data_root, seed=0)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (48000, 12000, 10000)
    for split in (splits.train, splits.val, splits.test):
        text = split.modalities["text"]
        assert text.shape == (len(split), 10) and text.dtype == np.float32
        assert np.array_equal(text.sum(axis=1), np.ones(len(split), dtype=np.float32))
        assert np.array_equal(text.argmax(axis=1), split.labels["image"])
        assert split.modalities["image"].shape == (len(split), 784)


# ---------------------------------------------------------------------------------------------- SVHN


def _write_svhn(folder: Path, n_train: int, n_test: int, seed: int = 0) -> dict[str, tuple]:
    rng = np.random.default_rng(seed)
    written = {}
    for file_name, n in (("train_32x32.mat", n_train), ("test_32x32.mat", n_test)):
        x = rng.integers(0, 256, size=(32, 32, 3, n), dtype=np.uint8)
        y = rng.integers(1, 11, size=(n, 1)).astype(np.uint8)  # SVHN labels: 1..10, 10 is the digit 0
        y[0, 0] = 10
        savemat(folder / file_name, {"X": x, "y": y})
        written[file_name] = (x, y)
    return written


def test_svhn_loader_on_a_synthetic_file(tmp_path: Path) -> None:
    written = _write_svhn(tmp_path, n_train=30, n_test=12)
    svhn = load_svhn(tmp_path)
    x, y = written["train_32x32.mat"]
    assert svhn.x_train.shape == (30, 3072) and svhn.x_test.shape == (12, 3072)
    assert svhn.x_train.dtype == np.float32 and svhn.image_shape == (3, 32, 32)
    expected_labels = y.reshape(-1).astype(np.int64) % 10
    assert np.array_equal(svhn.y_train, expected_labels)
    assert svhn.y_train[0] == 0 and svhn.y_train.max() <= 9  # label 10 became 0
    images = svhn.x_train.reshape(-1, 3, 32, 32)
    assert images[4, 2, 7, 5] == np.float32(x[7, 5, 2, 4]) / np.float32(255.0)  # channels first


def test_svhn_files_in_a_svhn_subfolder(tmp_path: Path) -> None:
    (tmp_path / "svhn").mkdir()
    _write_svhn(tmp_path / "svhn", n_train=5, n_test=3)
    assert len(load_svhn(tmp_path).y_test) == 3


def test_svhn_bad_file_is_a_vsae_error(tmp_path: Path) -> None:
    savemat(tmp_path / "train_32x32.mat", {"X": np.zeros((28, 28, 3, 2), np.uint8), "y": np.ones((2, 1))})
    savemat(tmp_path / "test_32x32.mat", {"X": np.zeros((32, 32, 3, 2), np.uint8), "y": np.ones((2, 1))})
    with pytest.raises(VSAEError, match=r"\[32, 32, 3, N\]"):
        load_svhn(tmp_path)


def test_mnist_svhn_pairs_match_digits_one_to_one(data_root: Path, tmp_path: Path) -> None:
    _write_svhn(tmp_path, n_train=400, n_test=150, seed=1)
    svhn = load_svhn(tmp_path)
    mnist = load_image_dataset("mnist", data_root)
    splits = load_mnist_svhn_pairs(data_root, seed=0, svhn_dir=tmp_path)
    expected_train = sum(min(np.sum(mnist.y_train == d), np.sum(svhn.y_train == d)) for d in range(10))
    expected_test = sum(min(np.sum(mnist.y_test == d), np.sum(svhn.y_test == d)) for d in range(10))
    assert len(splits.train) + len(splits.val) == expected_train
    assert len(splits.val) == int(np.floor(0.2 * expected_train + 0.5))
    assert len(splits.test) == expected_test
    for split in (splits.train, splits.val, splits.test):
        assert np.array_equal(split.labels["mnist"], split.labels["svhn"])
        assert split.modalities["mnist"].shape[1] == 784 and split.modalities["svhn"].shape[1] == 3072
    # every SVHN image is used at most once
    all_svhn = np.concatenate([splits.train.modalities["svhn"], splits.val.modalities["svhn"]])
    assert len(np.unique(all_svhn, axis=0)) == len(all_svhn)
