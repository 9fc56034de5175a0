"""The timed training step: loss, backward, gradient clipping, Adam.

:func:`make_step` is the one place where the benchmark defines the step it times: every part that
times training (``train``, ``batching``, ``compile``) builds its steps here. Until the trainer exposes
its own step as a function (a ``train_step`` in :mod:`vsae.train`), this repeats it: the same Adam
(:func:`vsae.train.adam_optimiser`), the same clipping and learning rate (the defaults of
:class:`vsae.train.TrainConfig`). Once it does, ``make_step`` should call that function instead, so
that the benchmark times the code it claims to time.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from vsae.model import VSAE, SelectiveELBO
from vsae.train import TrainConfig, adam_optimiser

Step = Callable[[torch.Tensor, torch.Tensor], None]


def make_step(
    model: nn.Module,
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    optimiser: torch.optim.Optimizer | None = None,
    sync: bool = False,
) -> Step:
    """One optimiser step as the trainer takes it: loss, backward, gradient clipping, Adam.

    ``sync`` reads the loss on the host after every step (what a per-step log line costs).
    """
    defaults = TrainConfig()
    optimiser = optimiser or adam_optimiser(list(model.parameters()), defaults.learning_rate)
    parameters = list(model.parameters())

    def step(x: torch.Tensor, observed: torch.Tensor) -> None:
        total = loss(x, observed)
        optimiser.zero_grad(set_to_none=True)
        total.backward()
        if defaults.clip_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(parameters, defaults.clip_grad_norm)
        optimiser.step()
        if sync:
            float(total.detach())

    return step


def repeated(step: Step, batches: list[tuple[torch.Tensor, torch.Tensor]], steps: int) -> Callable[[], None]:
    """``steps`` optimiser steps cycling through ``batches``."""

    def run() -> None:
        for i in range(steps):
            step(*batches[i % len(batches)])

    return run


def vsae_loss(
    model: VSAE, unobserved_term: bool = True
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The Eq. 8 loss past the warm-up (two passes when ``unobserved_term``)."""
    objective = SelectiveELBO(unobserved_term=unobserved_term)
    return lambda x, observed: objective(model, x, observed, True).total
