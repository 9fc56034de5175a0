"""The timed training step: the trainer's own :meth:`vsae.train.Trainer.train_step`.

:func:`make_step` is the one place where the benchmark defines the step it times: every part that
times training (``train``, ``batching``, ``compile``) builds its steps here, and each is a call of
:meth:`vsae.train.Trainer.train_step` (loss, backward, gradient clipping, Adam), with the trainer's
Adam (:func:`vsae.train.adam_optimiser`), clipping and learning rate (the defaults of
:class:`vsae.train.TrainConfig`). The benchmark therefore times the code that trains, and cannot
drift from it.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from vsae.model import VSAE, SelectiveELBO
from vsae.model.objective import LossTerms
from vsae.train import TrainConfig, Trainer

Step = Callable[[torch.Tensor, torch.Tensor], None]


class _LossOnly:
    """An objective made of a ``(x, observed) -> loss`` function (the reference networks' losses are
    plain tensors). :meth:`vsae.train.Trainer.train_step` reads only ``total``; the other terms
    repeat it rather than allocate tensors inside the timed step."""

    warmup_is_burn_in = False

    def __init__(self, loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
        self.loss = loss

    def __call__(
        self, model: nn.Module, x: torch.Tensor, observed: torch.Tensor, past_warmup: bool
    ) -> LossTerms:
        total = self.loss(x, observed)
        return LossTerms(total, total, total, total, total, total)


def make_step(
    model: nn.Module,
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    optimiser: torch.optim.Optimizer | None = None,
    sync: bool = False,
) -> Step:
    """One optimiser step as the trainer takes it: :meth:`vsae.train.Trainer.train_step` of a
    trainer with the default :class:`vsae.train.TrainConfig` (its Adam unless ``optimiser`` is
    given), on the loss ``loss(x, observed)``.

    ``sync`` reads the loss on the host after every step (what a per-step log line costs).
    """
    trainer = Trainer(model, _LossOnly(loss), TrainConfig(), optimiser=optimiser)

    def step(x: torch.Tensor, observed: torch.Tensor) -> None:
        terms = trainer.train_step(x, observed, past_warmup=True)
        if sync:
            float(terms.total.detach())

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
