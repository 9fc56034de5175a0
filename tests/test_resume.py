"""Interrupted training: checkpoints, and resuming to the model an uninterrupted run gives.

The headline test kills a ``vsae fit`` process with SIGKILL once its first checkpoint exists, resumes
it with ``--resume`` and checks that the final weights are bit-identical to those of an uninterrupted
run with the same seed (CPU, one thread). The other tests use the library directly, with a tiny
network: resuming after an exception, refusing a checkpoint of another run, damaged checkpoints, and
the command line's checks of its checkpoint options.

Tables are the first rows of the shared white_wine data with cells missing completely at random.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file
from tiny_network import TINY_NETWORK

import vsae.train
from vsae.cli import main
from vsae.data import apply_mask, load_uci, mcar_mask
from vsae.errors import VSAEError
from vsae.imputer import VSAEImputer

ROOT = Path(__file__).resolve().parents[1]
#: Long enough to kill the run between its first checkpoint (epoch 2) and its end.
CLI_EPOCHS = 24
#: One network: these tests read its checkpoint folder (an ensemble's members each have one, in a
#: subfolder: test_an_interrupted_ensemble_resumes_to_the_uninterrupted_one).
TINY = {**TINY_NETWORK, "epochs": 8, "warmup_epochs": 2, "patience": 100, "ensemble_size": 1}


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    frame = load_uci("white_wine").frame.iloc[:200].reset_index(drop=True)
    return apply_mask(frame, mcar_mask(frame.shape, 0.3, 0))


def assert_same_model(a: VSAEImputer, b: VSAEImputer) -> None:
    state_a, state_b = a.model_.state_dict(), b.model_.state_dict()
    assert state_a.keys() == state_b.keys()
    for name in state_a:
        assert torch.equal(state_a[name], state_b[name]), name
    assert a.history_ == b.history_


def folder_content(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# -- a training process killed mid-run -------------------------------------------------------------------
def vsae_fit(csv: Path, model: Path, *options: str) -> list[str]:
    epochs = ["--epochs", str(CLI_EPOCHS), "--seed", "0", "--ensemble-size", "1"]
    return [sys.executable, "-m", "vsae", "fit", str(csv), "--model", str(model), *epochs, *options]


def test_killed_fit_resumes_to_the_uninterrupted_model(table: pd.DataFrame, tmp_path: Path) -> None:
    csv, checkpoints = tmp_path / "wine.csv", tmp_path / "checkpoints"
    table.to_csv(csv, index=False)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    every = ["--checkpoint-dir", str(checkpoints), "--checkpoint-every", "2"]

    def start(*argv: str) -> subprocess.Popen[str]:
        return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    reference = start(*vsae_fit(csv, tmp_path / "reference"))  # no checkpoints at all
    victim = start(*vsae_fit(csv, tmp_path / "model", *every))
    try:
        deadline = time.monotonic() + 120
        while not (checkpoints / "config.json").exists():
            assert victim.poll() is None, victim.communicate()
            assert time.monotonic() < deadline, "no checkpoint after 120 s"
            time.sleep(0.01)
        victim.send_signal(signal.SIGKILL)
        victim.communicate()
        assert victim.returncode == -signal.SIGKILL
        assert not (tmp_path / "model").exists()
        state = json.loads((checkpoints / "config.json").read_text())
        assert not state["finished"]
        assert 2 <= len(state["history"]["epochs"]) < CLI_EPOCHS

        resumed = subprocess.run(
            vsae_fit(csv, tmp_path / "model", *every, "--resume"), env=env, capture_output=True, text=True
        )
        assert resumed.returncode == 0, resumed.stderr
        assert resumed.stderr == ""
        out, err = reference.communicate(timeout=120)
        assert reference.returncode == 0, err
    finally:
        for process in (victim, reference):
            if process.poll() is None:
                process.kill()
                process.communicate()
    # "trained N epochs (kept epoch K) in T s": the same N and K.
    assert resumed.stdout.split(" in ")[0] == out.split(" in ")[0]

    weights = load_file(tmp_path / "model" / "model.safetensors")
    expected = load_file(tmp_path / "reference" / "model.safetensors")
    assert weights.keys() == expected.keys()
    for name in expected:
        assert torch.equal(weights[name], expected[name]), name
    history = json.loads((tmp_path / "model" / "config.json").read_text())["history"]
    assert history == json.loads((tmp_path / "reference" / "config.json").read_text())["history"]


# -- the library ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def uninterrupted(table: pd.DataFrame) -> VSAEImputer:
    return VSAEImputer(**TINY).fit(table)


class Interrupted(Exception):
    """Stands for a crash right after a checkpoint was written."""


@pytest.fixture
def interrupted_run(table: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The checkpoint folder of a fit stopped by an exception after its second checkpoint (epoch 4)."""
    folder = tmp_path / "checkpoints"
    save = vsae.train.Checkpoint.save
    calls = []

    def save_then_crash(self: vsae.train.Checkpoint, *args: Any) -> None:
        save(self, *args)
        calls.append(1)
        if len(calls) == 2:
            raise Interrupted

    with monkeypatch.context() as patch:
        patch.setattr(vsae.train.Checkpoint, "save", save_then_crash)
        with pytest.raises(Interrupted):
            VSAEImputer(checkpoint_dir=str(folder), checkpoint_every=2, **TINY).fit(table)
    assert len(json.loads((folder / "config.json").read_text())["history"]["epochs"]) == 4
    return folder


def test_resume_after_a_crash_gives_the_uninterrupted_model(
    interrupted_run: Path, table: pd.DataFrame, uninterrupted: VSAEImputer
) -> None:
    resumed = VSAEImputer(checkpoint_dir=str(interrupted_run), checkpoint_every=2, **TINY)
    resumed.fit(table, resume=True)
    assert_same_model(resumed, uninterrupted)
    pd.testing.assert_frame_equal(resumed.transform(table), uninterrupted.transform(table))
    # The run is finished: resuming again trains nothing and gives the same model.
    again = VSAEImputer(checkpoint_dir=str(interrupted_run), checkpoint_every=2, **TINY)
    assert_same_model(again.fit(table, resume=True), uninterrupted)


def test_an_interrupted_ensemble_resumes_to_the_uninterrupted_one(
    table: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two members, stopped right after the second one's first checkpoint: resuming reuses the first
    member's finished run, continues the second's and ends with the uninterrupted ensemble."""
    settings = {**TINY, "ensemble_size": 2, "checkpoint_every": 2}
    whole = VSAEImputer(**settings).fit(table)
    folder = tmp_path / "checkpoints"
    save, saved = vsae.train.Checkpoint.save, []

    def save_then_crash(self: vsae.train.Checkpoint, *args: Any) -> None:
        save(self, *args)
        saved.append(self.directory.name)
        if saved.count("member-1") == 1:
            raise Interrupted

    with monkeypatch.context() as patch:
        patch.setattr(vsae.train.Checkpoint, "save", save_then_crash)
        with pytest.raises(Interrupted):
            VSAEImputer(checkpoint_dir=str(folder), **settings).fit(table)
    assert sorted(os.listdir(folder)) == ["member-0", "member-1"]
    assert json.loads((folder / "member-0" / "config.json").read_text())["finished"]
    resumed = VSAEImputer(checkpoint_dir=str(folder), **settings).fit(table, resume=True)
    assert_same_model(resumed, whole)


def test_checkpointing_does_not_change_the_model(
    table: pd.DataFrame, uninterrupted: VSAEImputer, tmp_path: Path
) -> None:
    checkpointed = VSAEImputer(checkpoint_dir=str(tmp_path / "c"), checkpoint_every=3, **TINY).fit(table)
    assert_same_model(checkpointed, uninterrupted)
    assert json.loads((tmp_path / "c" / "config.json").read_text())["finished"]


def test_resume_without_a_checkpoint_yet_trains_from_the_start(
    table: pd.DataFrame, uninterrupted: VSAEImputer, tmp_path: Path
) -> None:
    fresh = VSAEImputer(checkpoint_dir=str(tmp_path / "none_yet"), **TINY).fit(table, resume=True)
    assert_same_model(fresh, uninterrupted)


def test_resume_needs_a_checkpoint_folder(table: pd.DataFrame) -> None:
    with pytest.raises(VSAEError, match=r"resume needs a checkpoint folder \(checkpoint_dir\)"):
        VSAEImputer(**TINY).fit(table, resume=True)


@pytest.mark.parametrize(
    "change",
    [
        lambda t, s: (t.assign(pH=t["pH"].where(t.index != 3, 3.5)), s),
        lambda t, s: (t.iloc[:-1], s),
        lambda t, s: (t.where(t.notna().to_numpy() & (np.arange(len(t)) != 5)[:, None]), s),
        lambda t, s: (t, {**s, "learning_rate": 2e-3}),
        lambda t, s: (t, {**s, "latent_dim": 3}),
        lambda t, s: (t, {**s, "epochs": 9}),
        lambda t, s: (t, {**s, "random_state": 1}),
    ],
    ids=["another_value", "a_row_less", "other_missing_cells", "learning_rate", "network", "epochs", "seed"],
)
def test_resume_refuses_another_run(change: Any, interrupted_run: Path, table: pd.DataFrame) -> None:
    before = folder_content(interrupted_run)
    other_table, settings = change(table, TINY)
    imputer = VSAEImputer(checkpoint_dir=str(interrupted_run), checkpoint_every=2, **settings)
    with pytest.raises(VSAEError, match="belongs to a run with other data or settings; remove it") as raised:
        imputer.fit(other_table, resume=True)
    assert str(interrupted_run) in str(raised.value) and "\n" not in str(raised.value)
    assert folder_content(interrupted_run) == before


def test_resume_accepts_a_table_with_the_same_encoding(interrupted_run: Path, table: pd.DataFrame) -> None:
    # Training sees standardised columns only: shifting a column as a whole changes nothing it sees,
    # so the run may continue, and it ends where an uninterrupted fit on the shifted table ends.
    shifted = table.assign(pH=table["pH"] + 1.0)
    resumed = VSAEImputer(checkpoint_dir=str(interrupted_run), checkpoint_every=2, **TINY)
    assert_same_model(resumed.fit(shifted, resume=True), VSAEImputer(**TINY).fit(shifted))


def test_resume_from_a_damaged_checkpoint(interrupted_run: Path, table: pd.DataFrame) -> None:
    weights = interrupted_run / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(VSAEError, match=r"model\.safetensors' is damaged"):
        VSAEImputer(checkpoint_dir=str(interrupted_run), **TINY).fit(table, resume=True)


def test_resume_from_a_model_folder_is_refused(
    uninterrupted: VSAEImputer, table: pd.DataFrame, tmp_path: Path
) -> None:
    uninterrupted.save(tmp_path / "model")
    with pytest.raises(VSAEError, match=r"'.*model' is not a training checkpoint"):
        VSAEImputer(checkpoint_dir=str(tmp_path / "model"), **TINY).fit(table, resume=True)


# -- the command line's checkpoint options ------------------------------------------------------------------
@pytest.fixture
def csv(table: pd.DataFrame, tmp_path: Path) -> Path:
    path = tmp_path / "wine.csv"
    table.iloc[:40].to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    "options, message",
    [
        (["--resume"], "--resume needs --checkpoint-dir, the folder of the run to continue"),
        (["--checkpoint-dir", "{tmp}/no/such"], "cannot keep checkpoints in '{tmp}/no/such': folder"),
        (["--checkpoint-dir", "{csv}"], "cannot keep checkpoints in '{csv}': it is a file"),
        (["--checkpoint-dir", "{tmp}/model"], "must differ from the model folder"),
        (["--checkpoint-every", "0"], "argument --checkpoint-every: expected a positive integer, got '0'"),
    ],
    ids=["resume_alone", "missing_parent", "a_file", "the_model_folder", "every_zero"],
)
def test_cli_checkpoint_options_are_checked_first(
    options: list[str], message: str, csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listing = sorted(os.listdir(tmp_path))
    fill = {"tmp": tmp_path, "csv": csv}
    argv = ["fit", str(csv), "--model", str(tmp_path / "model"), *(o.format(**fill) for o in options)]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith("vsae: error: ") and message.format(**fill) in captured.err
    assert sorted(os.listdir(tmp_path)) == listing


def test_cli_impute_resumes_and_reports_a_missing_checkpoint(
    csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, checkpoints = tmp_path / "out.csv", tmp_path / "checkpoints"
    argv = ["impute", str(csv), "-o", str(out), "--epochs", "3", "--checkpoint-dir", str(checkpoints)]
    argv += ["--ensemble-size", "1"]
    assert main([*argv, "--resume"]) == 0
    err = capsys.readouterr().err
    assert err == f"vsae: no checkpoint in {str(checkpoints)!r} yet; training from the first epoch\n"
    first = out.read_bytes()
    assert json.loads((checkpoints / "config.json").read_text())["finished"]
    # Resuming the finished run trains nothing and writes the same imputed table.
    out.unlink()
    assert main([*argv, "--resume"]) == 0
    assert capsys.readouterr().err == ""
    assert out.read_bytes() == first
    # A different setting is another run: refused, the checkpoint kept.
    kept = folder_content(checkpoints)
    assert main([*argv, "--resume", "--learning-rate", "0.01"]) == 2
    assert "belongs to a run with other data or settings" in capsys.readouterr().err
    assert folder_content(checkpoints) == kept


def test_damaged_checkpoint_tensors_are_a_clear_error(tmp_path) -> None:
    """A checkpoint whose tensors were altered is refused with one readable error, not a raw one."""
    from safetensors.torch import load_file, save_file

    from vsae import VSAEError, VSAEImputer
    from vsae.data import load_uci, masked_split

    folder = os.environ.get("VSAE_DATA")
    assert folder, "set VSAE_DATA to the shared data folder"
    split = masked_split(load_uci("white_wine", folder).frame.iloc[:300], 0)
    checkpoint = tmp_path / "ck"
    settings = {"epochs": 4, "warmup_epochs": 1, "checkpoint_dir": str(checkpoint), "checkpoint_every": 2}
    settings["ensemble_size"] = 1
    VSAEImputer(**settings).fit(split.train_masked)
    weights = load_file(checkpoint / "model.safetensors")
    weights.pop("rng")
    save_file(weights, checkpoint / "model.safetensors")
    with pytest.raises(VSAEError, match=r"checkpoint .* is damaged"):
        VSAEImputer(**settings).fit(split.train_masked, resume=True)
