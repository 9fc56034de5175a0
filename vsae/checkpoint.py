"""Training checkpoints: the state of a run written to a folder, and read back to continue it exactly.

A checkpoint (:class:`Checkpoint`) is a folder, ``config.json`` + ``model.safetensors``, written
atomically (:func:`vsae.persistence.save_folder`) by rank 0 alone. It holds everything that decides
the rest of a run (:func:`training_state`): the network's weights, the best epoch's weights, Adam's
moments and settings, the history, the selection's best score and patience count, whether the run
has finished, and the random state of every process. :func:`restore_training_state` puts it back, so
that a resumed run ends with the same model as an uninterrupted one (exactly, on the CPU).

A checkpoint is tied to one run by :func:`run_fingerprint` (data, observation mask, settings,
network, number of processes): resuming can never continue a different run.

The trainer (:class:`vsae.train.Trainer`) writes checkpoints through its
:class:`vsae.train.Checkpointing` callback.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import torch
from torch import nn

from vsae import distributed
from vsae.errors import VSAEError
from vsae.persistence import check_target_folder, load_folder, save_folder

if TYPE_CHECKING:
    from vsae.train import History, Selection, TrainConfig


class Checkpoint:
    """A training-state folder (``config.json`` + ``model.safetensors``, written atomically).

    It is tied to one run by a fingerprint of the data, the settings and the network, so that
    resuming can never continue a different run. In data-parallel training rank 0 alone writes it.
    """

    KIND = "training-checkpoint"

    def __init__(self, directory: str | os.PathLike[str], every: int, resume: bool, fingerprint: str) -> None:
        self.directory = Path(directory)
        self.every = every
        self.resume = resume
        self.fingerprint = fingerprint

    def save(self, meta: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
        if not distributed.is_main_process():
            return
        save_folder(
            self.directory, {"estimator": self.KIND, "fingerprint": self.fingerprint, **meta}, tensors
        )

    def load(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]] | None:
        """The saved state, or None when there is no checkpoint yet."""
        if not self.directory.exists():
            return None
        meta, tensors = load_folder(self.directory)
        if meta.get("estimator") != self.KIND:
            raise VSAEError(f"{str(self.directory)!r} is not a training checkpoint")
        if meta.get("fingerprint") != self.fingerprint:
            raise VSAEError(
                f"the checkpoint in {str(self.directory)!r} belongs to a run with other data or settings; "
                "remove it or fit without resume"
            )
        return meta, tensors

    def save_run(self, run: Resumable) -> None:
        """Write the state of ``run`` (:func:`training_state`)."""
        self.save(*training_state(run))

    def restore_run(self, run: Resumable) -> bool:
        """Put the saved state back into ``run``; False when there is no checkpoint yet.

        Rank 0 reads the folder and every process receives its content. A checkpoint that does not
        fit the run (missing or misshapen tensors, a broken file) raises :class:`VSAEError`.
        """
        restored = distributed.computed_on_main(self.load)
        if restored is None:
            return False
        try:
            restore_training_state(run, *restored)
        except (KeyError, ValueError, TypeError, RuntimeError) as error:
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise VSAEError(
                f"the checkpoint in {str(self.directory)!r} is damaged ({first}); "
                "remove it or fit without resume"
            ) from error
        return True


def make_ensemble_folder(folder: str | os.PathLike[str]) -> None:
    """The folder holding an ensemble's checkpoints, one :class:`Checkpoint` subfolder per member (its
    parent must exist, as for a model folder)."""
    check_target_folder(folder, "checkpoint to").mkdir(exist_ok=True)


def run_fingerprint(x: np.ndarray, observed: np.ndarray, config: TrainConfig, model: nn.Module) -> str:
    """Hash of what determines a training run: data, observation mask, settings, network and, when
    training data-parallel, the number of processes."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(observed).tobytes())
    digest.update(np.ascontiguousarray(x).tobytes())
    digest.update(json.dumps(config.fingerprint_fields(), sort_keys=True, default=str).encode())
    digest.update(repr(getattr(model, "config", None)).encode())
    digest.update(repr([(k, tuple(v.shape)) for k, v in model.state_dict().items()]).encode())
    if distributed.is_distributed():
        digest.update(f"world size {distributed.world_size()}".encode())
    return digest.hexdigest()


class Resumable(Protocol):
    """What a checkpoint holds of a run (:class:`vsae.train.Trainer` is one)."""

    model: nn.Module
    optimiser: torch.optim.Optimizer
    history: History
    selection: Selection
    finished: bool


def training_state(run: Resumable) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The state of ``run`` as checkpoint metadata (JSON) and tensors.

    Tensors: ``model.*`` (current weights), ``best.*`` (the selected epoch's weights, when there is
    one), ``optimiser.<parameter>.<name>`` (Adam's state) and ``rng`` (``rng.<rank>`` per process
    when data-parallel). Metadata: the history, the selection's best score and epochs since it,
    whether a best state exists, whether the run has finished, and Adam's parameter groups.
    """
    selection = run.selection
    tensors = {f"model.{k}": v for k, v in run.model.state_dict().items()}
    if selection.best_state is not None:
        tensors.update({f"best.{k}": v for k, v in selection.best_state.items()})
    optimiser = run.optimiser.state_dict()
    for index, state in optimiser["state"].items():
        tensors.update({f"optimiser.{index}.{k}": torch.as_tensor(v) for k, v in state.items()})
    for index, rng_state in enumerate(distributed.all_gather_objects(torch.get_rng_state())):
        tensors[_rng_key(index)] = rng_state
    meta = {
        "history": run.history.to_dict(),
        "best_score": selection.best_score if math.isfinite(selection.best_score) else None,
        "since_best": selection.since_best,
        "has_best": selection.best_state is not None,
        "finished": run.finished,
        "param_groups": optimiser["param_groups"],
    }
    return meta, tensors


def restore_training_state(run: Resumable, meta: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
    """Put a state written by :func:`training_state` back into ``run`` (this process's random state
    included)."""

    def part(prefix: str) -> dict[str, torch.Tensor]:
        return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}

    selection = run.selection
    run.model.load_state_dict(part("model."))
    device = next(run.model.parameters()).device
    selection.best_state = {k: v.to(device) for k, v in part("best.").items()} if meta["has_best"] else None
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in part("optimiser.").items():
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value.to(device) if name != "step" else value
    run.optimiser.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    torch.set_rng_state(tensors[_rng_key(distributed.rank())])
    run.history = type(run.history).from_dict(meta["history"])
    selection.best_score = math.inf if meta["best_score"] is None else meta["best_score"]
    selection.since_best = meta["since_best"]
    run.finished = meta["finished"]


def _rng_key(rank: int) -> str:
    """Checkpoint key of a process's random state (each process has its own noise stream)."""
    return f"rng.{rank}" if distributed.is_distributed() else "rng"
