"""Process-group helpers for data-parallel training with ``torch.distributed``.

vsae trains on several processes (CPU cores, GPUs or machines) with PyTorch's own engine: the
processes are started by ``torchrun``, which sets ``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``,
``MASTER_ADDR`` and ``MASTER_PORT``; :func:`process_group` joins them (gloo on the CPU, NCCL on CUDA).
Every process holds the whole table; the trainer (:mod:`vsae.train`) splits the training rows among
them with a ``DistributedSampler`` (:func:`sampled_batches`), averages gradients with
``DistributedDataParallel`` (:func:`loss_function`) and adds up each epoch's loss sums over the
processes (:func:`summed_over_processes`).

Outside ``torchrun`` (no ``WORLD_SIZE`` above 1, no process group) every helper here is the identity
of the single-process case: rank 0 of a world of one.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler

from vsae.errors import VSAEError
from vsae.model.objective import LossTerms

if dist.is_available():
    # Imported before any process group exists, on purpose: its functions take ``group=group.WORLD``
    # as a default argument, evaluated at import, and DistributedDataParallel imports it on first
    # use. Imported while a group exists, it keeps that group (and gloo's threads) alive after
    # destroy_process_group until the interpreter exits, where their teardown sometimes aborts.
    import torch.distributed.nn

T = TypeVar("T")
#: ``(network, x, observed, past_warmup) -> LossTerms``: a training objective (:class:`vsae.train.Objective`).
ObjectiveFunction = Callable[[nn.Module, torch.Tensor, torch.Tensor, bool], LossTerms]


def launched_world_size() -> int:
    """Number of processes ``torchrun`` started (``WORLD_SIZE``), 1 outside ``torchrun``."""
    value = os.environ.get("WORLD_SIZE", "1")
    try:
        return int(value)
    except ValueError as error:
        raise VSAEError(f"the environment variable WORLD_SIZE must be an integer, got {value!r}") from error


def is_distributed() -> bool:
    """Whether this process is one of several in an initialised process group."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def world_size() -> int:
    """Processes in the process group (1 when there is none)."""
    return dist.get_world_size() if is_distributed() else 1


def rank() -> int:
    """This process's rank: from the process group, else from ``torchrun``'s ``RANK`` (default 0).

    The environment fallback keeps rank-0-only work (saving a model) on one process after the group
    is torn down, e.g. ``imputer.save(...)`` after a distributed ``fit`` in a ``torchrun`` script.
    """
    if is_distributed():
        return dist.get_rank()
    return int(os.environ.get("RANK", "0"))


def is_main_process() -> bool:
    """Whether this process does the rank-0-only work: progress bar, messages, checkpoints, saving."""
    return rank() == 0


def _local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def process_device(device: torch.device) -> torch.device:
    """The device of this process: ``cuda`` without an index becomes ``cuda:LOCAL_RANK`` when distributed,
    so that each process of a node drives its own GPU."""
    if is_distributed() and device.type == "cuda" and device.index is None:
        return torch.device("cuda", _local_rank())
    return device


@contextmanager
def process_group(device: torch.device) -> Iterator[None]:
    """Join the processes started by ``torchrun`` for the duration of the block.

    Does nothing outside ``torchrun`` (``WORLD_SIZE`` unset or 1) or when a process group already
    exists (the caller's, which is left as it is). Otherwise initialises the default group from the
    environment (``env://``) with NCCL for a CUDA ``device`` and gloo for the CPU, and destroys it
    when the block ends.
    """
    if launched_world_size() <= 1 or (dist.is_available() and dist.is_initialized()):
        yield
        return
    if not dist.is_available():
        raise VSAEError("this PyTorch build has no torch.distributed: train with a single process")
    if device.type == "cuda":
        torch.cuda.set_device(_local_rank() if device.index is None else device.index)
        backend = "nccl"
    else:
        backend = "gloo"
    dist.init_process_group(backend=backend)
    try:
        yield
        dist.barrier()  # no process tears down while a peer still receives (skipped on an error)
    finally:
        dist.destroy_process_group()


def broadcast_object(value: T) -> T:
    """Rank 0's ``value`` on every rank (pickled; for small objects such as scores and statistics)."""
    if not is_distributed():
        return value
    payload: list[Any] = [value]
    dist.broadcast_object_list(payload, src=0)
    return payload[0]


def computed_on_main(compute: Callable[[], T]) -> T:
    """Call ``compute`` on rank 0 only and return its result on every rank.

    An exception raised by ``compute`` is raised on every rank, so that no process is left waiting
    for a collective operation its peers will never reach.
    """
    if not is_distributed():
        return compute()
    outcome: tuple[bool, Any] | None = None
    if rank() == 0:
        try:
            outcome = (True, compute())
        except Exception as error:  # re-raised below on every rank, rank 0 included
            outcome = (False, error)
    ok, value = broadcast_object(outcome)  # type: ignore[misc]
    if not ok:
        raise value
    return value


def all_gather_objects(value: T) -> list[T]:
    """Every rank's ``value``, in rank order, on every rank (``[value]`` when not distributed)."""
    if not is_distributed():
        return [value]
    values: list[Any] = [None] * world_size()
    dist.all_gather_object(values, value)
    return values


def same_on_all_ranks(value: object) -> bool:
    """Whether every rank passed an equal ``value`` (the same answer on every rank)."""
    values = all_gather_objects(value)
    return all(v == values[0] for v in values)


def broadcast_tensors_(tensors: Iterable[torch.Tensor]) -> None:
    """Overwrite ``tensors`` in place with rank 0's values (no-op when not distributed)."""
    if is_distributed():
        for tensor in tensors:
            dist.broadcast(tensor, src=0)


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` summed over all ranks, in place (unchanged when not distributed)."""
    if is_distributed():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


class LossModule(nn.Module):
    """A network and its objective as one module whose ``forward`` returns the loss terms.

    Objectives call ``network.encode``/``network.decode`` rather than ``network(...)``, which would
    bypass the hooks by which ``DistributedDataParallel`` synchronises gradients; wrapping the pair
    routes every training computation through this ``forward``.
    """

    def __init__(self, network: nn.Module, objective: ObjectiveFunction) -> None:
        super().__init__()
        self.network = network
        self.objective = objective

    def forward(self, x: torch.Tensor, observed: torch.Tensor, past_warmup: bool) -> LossTerms:
        return self.objective(self.network, x, observed, past_warmup)


def loss_function(model: nn.Module, objective: ObjectiveFunction) -> Callable[..., LossTerms]:
    """``(x, observed, past_warmup) -> LossTerms``: the objective itself on one process, its
    ``DistributedDataParallel`` wrapper when training data-parallel."""
    if not is_distributed():
        return functools.partial(objective, model)
    device = next(model.parameters()).device
    return DistributedDataParallel(
        LossModule(model, objective), device_ids=[device.index] if device.type == "cuda" else None
    )


def sampled_batches(
    n: int, batch_size: int, epoch: int, seed: int, device: torch.device
) -> list[torch.Tensor]:
    """Row indices of this process's mini-batches of an epoch in data-parallel training.

    This process's share of the ``n`` rows from a ``DistributedSampler`` (seeded, reshuffled every
    epoch, padded by a few repeated rows so that every process takes the same number of steps), in
    steps of ``batch_size / world`` rows (at least 2), so that ``batch_size`` stays the number of
    rows per optimiser step over all processes. (The single-process trainer shuffles with
    ``torch.randperm`` instead, from its own random stream.)
    """
    sampler = DistributedSampler(
        range(n),  # type: ignore[arg-type]
        num_replicas=world_size(),
        rank=dist.get_rank() if is_distributed() else 0,
        shuffle=True,
        seed=seed,
    )
    sampler.set_epoch(epoch)
    per_process = max(2, math.ceil(batch_size / world_size()))
    return list(torch.as_tensor(list(sampler), device=device).split(per_process))


def summed_over_processes(
    sums: dict[str, torch.Tensor], kl_blocks: torch.Tensor, batches: int
) -> tuple[dict[str, torch.Tensor], torch.Tensor, int]:
    """An epoch's loss sums, KL sums and batch count added up over all processes (one all-reduce)."""
    keys = sorted(sums)
    packed = torch.cat([torch.stack([sums[k] for k in keys]), kl_blocks, kl_blocks.new_tensor([batches])])
    all_reduce_sum(packed)
    totals = dict(zip(keys, packed[: len(keys)], strict=True))
    return totals, packed[len(keys) : -1], int(packed[-1])
