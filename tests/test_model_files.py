"""Model folders under attack: damaged, tampered and hostile files, and interrupted writes.

A model folder is ``config.json`` plus ``model.safetensors`` (:mod:`vsae.persistence`). Loading one
must either give back the saved imputer or raise one :class:`VSAEError` naming the folder or file,
and must never unpickle anything (a pickle can run arbitrary code). Saving must be atomic: a crash
half-way leaves the previous folder as it was and no temporary file behind; the same holds for
tables written by :func:`vsae.io.write_table`.

The model is fitted once on the first 120 rows of the shared white_wine data (four numerical
columns) plus a text column, with a tiny network: no test here is about accuracy.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file, save_file
from tiny_network import TINY_NETWORK

import vsae.persistence
from vsae.cli import main
from vsae.data import apply_mask, load_uci, mcar_mask
from vsae.errors import VSAEError
from vsae.imputer import VSAEImputer
from vsae.io import read_table, write_table

FILES = ["config.json", "model.safetensors"]


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    frame = load_uci("white_wine").frame.iloc[:120, :4].reset_index(drop=True)
    frame["grade"] = np.where(frame["fixed_acidity"] > 7, "high", "low").astype(object)
    return apply_mask(frame, mcar_mask(frame.shape, 0.2, 0))


@pytest.fixture(scope="module")
def fitted(table: pd.DataFrame) -> VSAEImputer:
    return VSAEImputer(**TINY_NETWORK).fit(table)


@pytest.fixture(scope="module")
def saved(fitted: VSAEImputer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("saved") / "model"
    fitted.save(folder)
    return folder


@pytest.fixture
def copy(saved: Path, tmp_path: Path) -> Path:
    """A fresh copy of the saved folder, free to damage."""
    return Path(shutil.copytree(saved, tmp_path / "model"))


def edit_config(folder: Path, change: Callable[[dict[str, Any]], Any]) -> None:
    config = json.loads((folder / "config.json").read_text())
    change(config)
    (folder / "config.json").write_text(json.dumps(config))


def edit_weights(folder: Path, change: Callable[[dict[str, torch.Tensor]], Any]) -> None:
    path = folder / "model.safetensors"
    tensors = load_file(path)
    change(tensors)
    save_file(tensors, path)


def load_fails(folder: Path, match: str) -> str:
    """Load ``folder``, expecting a one-line VSAEError that names it and matches ``match``."""
    with pytest.raises(VSAEError, match=match) as raised:
        VSAEImputer.load(folder)
    message = str(raised.value)
    assert "\n" not in message
    assert str(folder) in message
    return message


# -- no pickle, ever ------------------------------------------------------------------------------------
def test_save_and_load_never_use_pickle(
    fitted: VSAEImputer, table: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a model file must never be pickled or unpickled")

    for module, name in [
        (pickle, "load"),
        (pickle, "loads"),
        (pickle, "dump"),
        (pickle, "dumps"),
        (pickle, "Pickler"),
        (pickle, "Unpickler"),
        (torch, "load"),
        (torch, "save"),
    ]:
        monkeypatch.setattr(module, name, forbidden)
    folder = tmp_path / "model"
    fitted.save(folder)
    loaded = VSAEImputer.load(folder)
    pd.testing.assert_frame_equal(loaded.transform(table), fitted.transform(table))
    assert sorted(os.listdir(folder)) == FILES
    # The weights are a plain safetensors file: an 8-byte header length, a JSON header, raw numbers.
    raw = (folder / "model.safetensors").read_bytes()
    header = json.loads(raw[8 : 8 + int.from_bytes(raw[:8], "little")])
    assert set(header) - {"__metadata__"} == set(fitted.model_.state_dict())


class _Payload:
    """Unpickling this object writes a file: the arbitrary code execution a pickle allows."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.write_text, (self.marker, "code ran"))


def test_a_pickle_in_place_of_the_weights_is_refused_unopened(copy: Path, tmp_path: Path) -> None:
    marker = tmp_path / "owned"
    exploit = pickle.dumps({"weights": _Payload(marker)})
    (copy / "model.safetensors").write_bytes(exploit)
    load_fails(copy, "model.safetensors' is damaged")
    assert not marker.exists()
    # The file is a live exploit: unpickling it does run the code.
    pickle.loads(exploit)
    assert marker.read_text() == "code ran"


def test_a_pickle_in_place_of_the_config_is_refused_unopened(copy: Path, tmp_path: Path) -> None:
    marker = tmp_path / "owned"
    (copy / "config.json").write_bytes(pickle.dumps(_Payload(marker)))
    load_fails(copy, "config.json' is damaged")
    assert not marker.exists()


def test_a_folder_with_a_pickle_instead_of_safetensors(copy: Path, tmp_path: Path) -> None:
    marker = tmp_path / "owned"
    (copy / "model.safetensors").unlink()
    torch.save({"weights": _Payload(marker)}, copy / "model.pt")
    load_fails(copy, "is not a vsae model folder: model.safetensors is missing")
    assert not marker.exists()


# -- damaged files ------------------------------------------------------------------------------------
@pytest.mark.parametrize("missing", FILES)
def test_a_missing_file(missing: str, copy: Path) -> None:
    (copy / missing).unlink()
    load_fails(copy, f"is not a vsae model folder: {missing} is missing")


def test_no_folder_at_all(tmp_path: Path) -> None:
    load_fails(tmp_path / "nowhere", "is not a vsae model folder: config.json is missing")


@pytest.mark.parametrize(
    "keep", [0, 7, 100, 0.5, -1], ids=["empty", "7_bytes", "100_bytes", "half", "all_but_one"]
)
def test_truncated_weights(keep: float, copy: Path) -> None:
    path = copy / "model.safetensors"
    content = path.read_bytes()
    cut = int(len(content) * keep) if isinstance(keep, float) else keep % len(content)
    path.write_bytes(content[:cut])
    load_fails(copy, "model.safetensors' is damaged")


def test_truncated_config(copy: Path) -> None:
    path = copy / "config.json"
    path.write_text(path.read_text()[:200])
    load_fails(copy, "config.json' is damaged")


def test_config_not_an_object(copy: Path) -> None:
    (copy / "config.json").write_text('["vsae-model", 1]')
    load_fails(copy, "config.json' is not a vsae model description")


def test_config_in_another_encoding(copy: Path) -> None:
    (copy / "config.json").write_bytes(b'{"format": "vsae-model", "name": "caf\xe9"}')
    load_fails(copy, "config.json' is damaged")


# -- tampered config.json ---------------------------------------------------------------------------------
def set_key(*path: Any) -> Callable[[dict[str, Any]], None]:
    """A config edit that sets the value at the key path ``path[:-1]`` to ``path[-1]``."""

    def change(config: dict[str, Any]) -> None:
        *keys, last, value = path
        node = config
        for key in keys:
            node = node[key]
        node[last] = value

    return change


def numerical(index: int, **fields: Any) -> Callable[[dict[str, Any]], None]:
    return lambda config: config["schema"]["modalities"][index].update(fields)


TAMPERED_CONFIG = {
    # format and version
    "newer_version": (set_key("format_version", 2), "has model format version 2; this vsae reads version 1"),
    "version_as_text": (set_key("format_version", "1"), "has model format version '1'"),
    "no_version": (lambda c: c.pop("format_version"), "has model format version None"),
    "another_format": (set_key("format", "onnx"), "is not a vsae model description"),
    "another_estimator": (set_key("estimator", "MultimodalVSAE"), "holds a 'MultimodalVSAE', not a VSAE"),
    # settings of the wrong type or out of range
    "params_a_list": (set_key("params", []), "incomplete or inconsistent: TypeError"),
    "unknown_param": (set_key("params", "colour", "red"), "unexpected keyword argument 'colour'"),
    "latent_dim_text": (set_key("params", "latent_dim", "twenty"), "invalid literal for int"),
    "latent_dim_zero": (set_key("params", "latent_dim", 0), "latent_dim must be a positive integer"),
    "aggregator": (set_key("params", "aggregator", "sum"), "aggregator must be 'concat', 'mean' or 'max'"),
    "variance": (set_key("params", "numerical_variance", -1.0), "numerical_variance must be positive"),
    # schema
    "no_schema": (lambda c: c.pop("schema"), "incomplete or inconsistent: KeyError\\('schema'\\)"),
    "schema_a_list": (set_key("schema", []), "incomplete or inconsistent"),
    "modalities_text": (set_key("schema", "modalities", "abc"), "incomplete or inconsistent"),
    "unknown_kind": (numerical(0, kind="text"), "modality 'fixed_acidity': unknown kind 'text'"),
    "width_text": (numerical(0, width="wide"), "invalid literal for int"),
    "labels_for_width": (
        lambda c: c["schema"]["modalities"][4]["categories"].append("mid"),
        "modality 'grade': a categorical modality needs one label per class",
    ),
    "label_a_list": (numerical(4, categories=[["high"], ["low"]]), "class labels must be text, numbers"),
    "repeated_name": (numerical(1, name="fixed_acidity"), "duplicate modality/column names: fixed_acidity"),
    "a_column_less": (lambda c: c["schema"]["modalities"].pop(), "incomplete or inconsistent"),
    # preprocessing statistics
    "infinite_scale": (set_key("codec", "stds", 0, float("inf")), "column 'fixed_acidity': .* scale inf"),
    "negative_scale": (set_key("codec", "stds", 1, -2.0), "column 'volatile_acidity': mean .* scale -2.0"),
    "nan_mean": (set_key("codec", "means", 2, float("nan")), "column 'citric_acid': mean nan"),
    "mean_missing": (set_key("codec", "means", 0, None), "incomplete or inconsistent: TypeError"),
    "mean_text": (set_key("codec", "means", 0, "x"), "could not convert string to float"),
    # the rest
    "dtypes_short": (lambda c: c["dtypes"].pop(), "4 column dtypes for 5 columns"),
    "dtypes_a_number": (set_key("dtypes", 5), "incomplete or inconsistent: TypeError"),
    "history_keys": (set_key("history", {"loss": 1}), "unexpected keyword argument 'loss'"),
}


@pytest.mark.parametrize("case", TAMPERED_CONFIG, ids=list(TAMPERED_CONFIG))
def test_tampered_config(case: str, copy: Path) -> None:
    change, match = TAMPERED_CONFIG[case]
    edit_config(copy, change)
    load_fails(copy, match)


# -- config.json and weights that disagree ------------------------------------------------------------------
SCHEMA_VS_WEIGHTS = {
    # Consistent JSON describing another network than the weights hold (the fitted model is an
    # ensemble of three, the table having a categorical column: its tensors are "members.<j>.…").
    "a_category_more": (
        numerical(4, categories=["high", "low", "mid"], width=3),
        "size mismatch for members.0.unimodal",
    ),
    "numerical_made_categorical": (
        numerical(0, kind="categorical", categories=[1.0]),
        "size mismatch for members.0.likelihoods.numerical_logvar",
    ),
    "latent_dim": (set_key("params", "latent_dim", 3), "size mismatch for members.0.unimodal"),
    "no_batch_norm": (set_key("params", "batch_norm", False), "Missing key"),
}


@pytest.mark.parametrize("case", SCHEMA_VS_WEIGHTS, ids=list(SCHEMA_VS_WEIGHTS))
def test_schema_inconsistent_with_weights(case: str, copy: Path) -> None:
    change, match = SCHEMA_VS_WEIGHTS[case]
    edit_config(copy, change)
    load_fails(copy, f"do not match its config.json: .*{match}")


def first_key(tensors: dict[str, torch.Tensor], ndim: int = 2) -> str:
    return next(k for k, v in tensors.items() if v.is_floating_point() and v.ndim >= ndim)


TAMPERED_WEIGHTS = {
    "wrong_shape": (
        lambda t: t.update({(k := first_key(t)): t[k].flatten()[:-1].clone()}),
        "do not match its config.json: size mismatch for",
    ),
    "missing_tensor": (lambda t: t.pop(first_key(t)), "do not match its config.json: Missing key"),
    "extra_tensor": (lambda t: t.update(backdoor=torch.zeros(3)), "do not match .*Unexpected key.*backdoor"),
    "nan_weight": (
        lambda t: t[first_key(t)].view(-1).__setitem__(0, float("nan")),
        "is damaged: tensor .* holds NaN or infinite values",
    ),
}


@pytest.mark.parametrize("case", TAMPERED_WEIGHTS, ids=list(TAMPERED_WEIGHTS))
def test_tampered_weights(case: str, copy: Path) -> None:
    change, match = TAMPERED_WEIGHTS[case]
    edit_weights(copy, change)
    load_fails(copy, match)


def test_cli_reports_a_damaged_model_in_one_line(
    copy: Path, table: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source, out = tmp_path / "in.csv", tmp_path / "out.csv"
    table.to_csv(source, index=False)
    edit_weights(copy, lambda t: t.pop(first_key(t)))
    assert main(["transform", str(copy), str(source), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vsae: error: the weights in") and err.count("\n") == 1
    assert not out.exists()


# -- atomic writes ----------------------------------------------------------------------------------------
def listing(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden temporaries included) with its content."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def previous(saved: Path, tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    """A model folder saved earlier, alone in its parent folder, and the parent's content."""
    shutil.copytree(saved, tmp_path / "model")
    return tmp_path / "model", listing(tmp_path)


def test_save_crashing_while_writing_weights_keeps_the_previous_model(
    previous: tuple[Path, dict[str, bytes]],
    fitted: VSAEImputer,
    table: pd.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder, before = previous

    def crash(tensors: dict[str, torch.Tensor], filename: str, *args: Any, **kwargs: Any) -> None:
        Path(filename).write_bytes(b"half a mod")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(vsae.persistence, "save_file", crash)
    changed = VSAEImputer(**{**TINY_NETWORK, "random_state": 1}).fit(table)
    with pytest.raises(OSError, match="No space left"):
        changed.save(folder)
    assert listing(folder.parent) == before
    assert VSAEImputer.load(folder).transform(table).equals(fitted.transform(table))


@pytest.mark.parametrize("interruption", [KeyboardInterrupt, OSError])
def test_save_failing_at_the_final_rename_keeps_the_previous_model(
    interruption: type[BaseException],
    previous: tuple[Path, dict[str, bytes]],
    fitted: VSAEImputer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder, before = previous
    replace = os.replace

    def failing_replace(source: Any, destination: Any) -> None:
        if Path(source).name.endswith(".tmp"):  # the new folder moving into place
            raise interruption()
        replace(source, destination)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(interruption):
        fitted.save(folder)
    assert listing(folder.parent) == before


def test_saved_files_get_the_usual_permissions(fitted: VSAEImputer, tmp_path: Path) -> None:
    fitted.save(tmp_path / "model")
    reference = tmp_path / "reference"
    reference.mkdir()
    (reference / "file").write_text("")
    folder_mode = stat.S_IMODE((tmp_path / "model").stat().st_mode)
    assert folder_mode == stat.S_IMODE(reference.stat().st_mode)
    for name in FILES:
        mode = stat.S_IMODE((tmp_path / "model" / name).stat().st_mode)
        assert mode == stat.S_IMODE((reference / "file").stat().st_mode), name


def test_save_refuses_a_file_or_a_missing_folder(fitted: VSAEImputer, tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("keep me")
    with pytest.raises(VSAEError, match="a file of that name exists"):
        fitted.save(tmp_path / "taken")
    assert (tmp_path / "taken").read_text() == "keep me"
    with pytest.raises(VSAEError, match=r"folder '.*/absent' does not exist"):
        fitted.save(tmp_path / "absent" / "model")
    assert sorted(os.listdir(tmp_path)) == ["taken"]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("interruption", [OSError, KeyboardInterrupt])
def test_write_table_crashing_mid_write_keeps_the_existing_file(
    suffix: str,
    interruption: type[BaseException],
    table: pd.DataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = tmp_path / f"out{suffix}"
    write_table(table, target)
    before = listing(tmp_path)
    writer = "to_csv" if suffix == ".csv" else "to_parquet"

    def crash(frame: pd.DataFrame, path: Any, *args: Any, **kwargs: Any) -> None:
        Path(path).write_text("fixed_acidity,volat")  # half a table, then the crash
        raise interruption(28, "No space left on device") if interruption is OSError else interruption()

    monkeypatch.setattr(pd.DataFrame, writer, crash)
    expected = VSAEError if interruption is OSError else interruption
    with pytest.raises(expected):
        write_table(table.iloc[:3], target)
    assert listing(tmp_path) == before
    assert len(read_table(target)) == len(table)


def test_an_ensemble_checkpoint_folder_refuses_a_file_or_a_missing_parent(tmp_path: Path) -> None:
    """The ensemble's checkpoint folder is checked like a model folder, with its own verb."""
    from vsae.checkpoint import make_ensemble_folder

    (tmp_path / "taken").write_text("keep me")
    with pytest.raises(VSAEError, match=r"cannot checkpoint to .*a file of that name exists"):
        make_ensemble_folder(tmp_path / "taken")
    assert (tmp_path / "taken").read_text() == "keep me"
    with pytest.raises(VSAEError, match=r"cannot checkpoint to .*folder '.*/absent' does not exist"):
        make_ensemble_folder(tmp_path / "absent" / "run")
    make_ensemble_folder(tmp_path / "run")
    assert sorted(os.listdir(tmp_path)) == ["run", "taken"]
