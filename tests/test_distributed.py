"""Data-parallel training: two CPU processes (gloo) launched by ``torchrun``, as a user launches them.

The tolerance: a 2-process run differs from a 1-process run with the same settings in its batch order
and its noise draws, the same kind of change as a change of seed. On this table and budget (1000
white-wine rows, 50% MCAR, 30 epochs, the imputer's defaults when this test was written) the test
NRMSE of single-process runs over seeds 0-4 was 0.909, 0.916, 0.897, 0.904, 0.920 (standard deviation
0.009), and 2-process runs with seeds 0-2 gave 0.913, 0.923, 0.906. The difference of two such runs
has a standard deviation of about 0.009 · √2 ≈ 0.013; the tolerance, 0.05, is almost four of those,
so that the test fails on a broken distributed path, not on an unlucky seed. Both runs must also beat
mean imputation (NRMSE 1.022 here) by 5%, so that two runs that learned nothing cannot pass by
agreeing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vsae.baselines import MeanModeImputer
from vsae.cli import main
from vsae.data import load_uci, masked_split
from vsae.imputer import VSAEImputer
from vsae.metrics import nrmse

ROWS = 1000
EPOCHS = 30
TOLERANCE = 0.05
#: A hung collective operation fails the test instead of blocking it (runs take seconds when idle).
LAUNCH_TIMEOUT_S = 300
REPOSITORY = Path(__file__).resolve().parents[1]


def _torchrun(arguments: list[str], folder: Path) -> subprocess.CompletedProcess[str]:
    """``torchrun --standalone --nproc-per-node 2 ARGUMENTS`` (CPU, one thread per process) in ``folder``."""
    path = os.pathsep.join(p for p in (str(REPOSITORY), os.environ.get("PYTHONPATH", "")) if p)
    return subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", *arguments],
        cwd=folder,
        env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": path, "CUDA_VISIBLE_DEVICES": ""},
        capture_output=True,
        text=True,
        timeout=LAUNCH_TIMEOUT_S,
        check=False,
    )


def test_two_processes_fit_one_model_as_good_as_one_process(
    data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = load_uci("white_wine", data_root)
    split = masked_split(table.frame.iloc[:ROWS], seed=0)
    split.train_masked.to_csv(tmp_path / "train.csv", index=False)
    fit = ["fit", "train.csv", "--epochs", str(EPOCHS), "--seed", "0", "--device", "cpu"]
    (tmp_path / "distributed").mkdir()

    launched = _torchrun(["-m", "vsae", *fit, "--model", "distributed/model"], tmp_path)
    assert launched.returncode == 0, launched.stderr[-3000:]
    assert os.listdir(tmp_path / "distributed") == ["model"]  # one model, no leftover staging folder
    assert launched.stdout.count("saved the model to distributed/model") == 1  # rank 0 speaks alone

    monkeypatch.chdir(tmp_path)  # the same command line, one process
    assert main([*fit, "--model", "single"]) == 0

    def error(folder: str) -> float:
        imputed = VSAEImputer.load(tmp_path / folder).transform(split.test_masked)
        return nrmse(split.test, imputed, split.scored, table.numerical)

    distributed, single = error("distributed/model"), error("single")
    mean = nrmse(
        split.test,
        MeanModeImputer().fit(split.train_masked).transform(split.test_masked),
        split.scored,
        table.numerical,
    )
    assert abs(distributed - single) <= TOLERANCE, f"2 processes {distributed:.4f}, 1 process {single:.4f}"
    assert max(distributed, single) < 0.95 * mean, f"{distributed:.4f}, {single:.4f} vs mean {mean:.4f}"


MECHANICS = """
import numpy as np
import pandas as pd
import torch
import torch.distributed as dist

import vsae.train
from vsae import distributed
from vsae.errors import VSAEError
from vsae.imputer import VSAEImputer

dist.init_process_group("gloo")  # the script's own group: vsae uses it and leaves it open
rank = dist.get_rank()
report = open(f"rank{rank}.txt", "w")  # one file per process: lines of two processes never interleave
rng = np.random.default_rng(0)
values = rng.normal(size=(64, 3))
values[rng.random(values.shape) < 0.3] = np.nan
frame = pd.DataFrame(values, columns=["a", "b", "c"])

# Without the final broadcast of rank 0's weights, equal weights on both ranks can only come from
# gradients averaged at every step (each rank trained on its own half of every batch).
broadcast = distributed.broadcast_tensors_
distributed.broadcast_tensors_ = lambda tensors: None
imputer = VSAEImputer(epochs=3, warmup_epochs=1, device="cpu").fit(frame)
distributed.broadcast_tensors_ = broadcast
weights = [p.detach() for p in imputer.model_.parameters()]
losses = [epoch["loss"] for epoch in imputer.history_.epochs]
everyone = [None, None]
dist.all_gather_object(everyone, (weights, losses))
(weights_0, losses_0), (weights_1, losses_1) = everyone
print(f"same weights {all(map(torch.equal, weights_0, weights_1))}", file=report)
print(f"same losses {losses_0 == losses_1}", file=report)

# A run interrupted after its second checkpoint (on every rank), then resumed, ends as an
# uninterrupted run: rank 0 wrote the checkpoint, with the random state of every rank.
# No validation split: the last epoch is kept, so every step after the interruption counts.
settings = {
    "epochs": 6,
    "warmup_epochs": 2,
    "validation_fraction": 0.0,
    "checkpoint_every": 2,
    "device": "cpu",
}
whole = VSAEImputer(checkpoint_dir="uninterrupted", **settings).fit(frame).model_.state_dict()
save, saves = vsae.train.Checkpoint.save, []


def save_then_stop(self, *args):
    save(self, *args)
    saves.append(1)
    if len(saves) == 2:
        raise KeyboardInterrupt


vsae.train.Checkpoint.save = save_then_stop
try:
    VSAEImputer(checkpoint_dir="interrupted", **settings).fit(frame)
except KeyboardInterrupt:
    vsae.train.Checkpoint.save = save
resumed = VSAEImputer(checkpoint_dir="interrupted", **settings).fit(frame, resume=True).model_.state_dict()
print(f"resumed same {all(torch.equal(whole[k], resumed[k]) for k in whole)}", file=report)

try:
    VSAEImputer(epochs=2, device="cpu").fit(frame + rank)  # rank 1 holds other values
except VSAEError as error:
    print(error, file=report)
report.close()
dist.destroy_process_group()
"""


def test_processes_average_gradients_resume_and_stop_together(tmp_path: Path) -> None:
    """Weights stay equal across processes step after step, epoch losses are totals over both, an
    interrupted run resumes to the uninterrupted model, and processes given different tables all stop
    with the same error instead of waiting for each other."""
    script = tmp_path / "mechanics.py"
    script.write_text(MECHANICS)
    launched = _torchrun([str(script)], tmp_path)
    assert launched.returncode == 0, launched.stderr[-3000:]
    for rank in (0, 1):
        lines = (tmp_path / f"rank{rank}.txt").read_text().splitlines()
        assert lines[:3] == ["same weights True", "same losses True", "resumed same True"], (rank, lines)
        assert "different tables or settings" in lines[3], (rank, lines)
        assert len(lines) == 4, (rank, lines)
