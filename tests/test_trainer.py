"""The trainer's named steps and callbacks (vsae.train.Trainer), tested on a tiny network and table.

- ``train_step`` is one optimiser step (loss, backward, clipping, Adam), the same as written by hand;
- ``train_epoch`` takes one ``train_step`` per mini-batch of the budget's batch size and returns the
  epoch's record;
- ``Selection`` keeps the best eligible epoch, counts the patience and decides to stop;
- ``fit`` calls its callbacks in order, and the progress bar and checkpoints change nothing;
- the performance benchmark's step is the trainer's ``train_step``;
- ``vsae.checkpoint`` obeys the training layer's import rule (docs/architecture.md).

Synthetic data (no shared table): every test here takes well under a second.
"""

from __future__ import annotations

import ast
import copy
import functools
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from vsae import budget
from vsae.bench.performance import steps
from vsae.checkpoint import Checkpoint, restore_training_state, training_state
from vsae.model.objective import SelectiveELBO
from vsae.model.vsae import VSAE, VSAEConfig
from vsae.schema import Modality, Schema
from vsae.train import (
    MIN_BATCHES_PER_EPOCH,
    Callback,
    Checkpointing,
    History,
    Selection,
    TrainConfig,
    Trainer,
    adam_optimiser,
    train_network,
)

SMALL = VSAEConfig(latent_dim=2, encoder_hidden=8, mask_decoder_hidden=8, decoder_hidden=8, depth=1)
SCHEMA = Schema(tuple(Modality(name, "numerical", 1) for name in "abcd"))
ROWS = 64


@pytest.fixture
def data() -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((ROWS, len(SCHEMA))).astype(np.float32)
    observed = rng.random(x.shape) > 0.3
    x[~observed] = 0.0
    return torch.as_tensor(x), torch.as_tensor(observed)


def network(seed: int = 0) -> VSAE:
    torch.manual_seed(seed)
    return VSAE(SCHEMA, SMALL).train()


def config(**overrides: Any) -> TrainConfig:
    settings = {"epochs": 4, "warmup_epochs": 1, "device": "cpu", "seed": 0, **overrides}
    return TrainConfig(**settings)


def assert_same_state(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


# -- train_step ------------------------------------------------------------------------------------------
def test_train_step_is_loss_backward_clip_and_adam(data: tuple[torch.Tensor, torch.Tensor]) -> None:
    x, observed = data
    settings = config(clip_grad_norm=0.5)
    objective = SelectiveELBO(0.1, True, 0.0)
    model, by_hand = network(), network()
    trainer = Trainer(model, objective, settings)
    optimiser = adam_optimiser(list(by_hand.parameters()), settings.learning_rate)
    for _ in range(3):
        torch.manual_seed(1)
        terms = trainer.train_step(x, observed, past_warmup=True)
        torch.manual_seed(1)
        expected = objective(by_hand, x, observed, True)
        optimiser.zero_grad(set_to_none=True)
        expected.total.backward()
        torch.nn.utils.clip_grad_norm_(by_hand.parameters(), 0.5)
        optimiser.step()
        assert torch.equal(terms.total, expected.total)
    assert_same_state(model.state_dict(), by_hand.state_dict())
    assert trainer.epochs_done == 0 and trainer.history == History()  # a step records nothing


# -- train_epoch -----------------------------------------------------------------------------------------
class CountingTrainer(Trainer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.batches: list[tuple[int, bool]] = []

    def train_step(self, x: torch.Tensor, observed: torch.Tensor, past_warmup: bool) -> Any:
        self.batches.append((x.shape[0], past_warmup))
        return super().train_step(x, observed, past_warmup)


def test_train_epoch_steps_once_per_batch_and_returns_the_record(
    data: tuple[torch.Tensor, torch.Tensor],
) -> None:
    x, observed = data
    trainer = CountingTrainer(network(), SelectiveELBO(), config(warmup_epochs=1))
    size = budget.batch_size_for_rows(ROWS, trainer.config.batch_size, MIN_BATCHES_PER_EPOCH)
    assert trainer.batch_size(ROWS) == size
    first = trainer.train_epoch(x, observed, 0)
    expected = [len(batch) for batch in torch.arange(ROWS).split(size) if len(batch) >= 2]
    assert (
        sorted(n for n, _ in trainer.batches) == sorted(expected) and len(expected) >= MIN_BATCHES_PER_EPOCH
    )
    assert {past for _, past in trainer.batches} == {False}  # epoch 0 is in the warm-up
    assert set(first) == {"loss", "observed_nll", "unobserved_nll", "mask_nll", "kl", "epoch"}
    assert first["epoch"] == 1 and np.isfinite(first["loss"])
    assert len(trainer.history.kl_per_modality) == len(SCHEMA)
    trainer.batches.clear()
    assert trainer.train_epoch(x, observed, 1)["epoch"] == 2
    assert {past for _, past in trainer.batches} == {True}
    assert trainer.history.epochs == []  # fit, not train_epoch, keeps the records


# -- selection and early stopping ------------------------------------------------------------------------
def test_selection_keeps_the_best_eligible_epoch_and_counts_patience() -> None:
    model = network()
    selection = Selection(held_out=True, start=2, min_epochs=2, patience=2)
    kept = [selection.update(epoch, score, model) for epoch, score in enumerate([0.1, 0.2, 0.9, 0.5], 1)]
    # Epochs 1-2 are not eligible, however good; 3 is the first kept, 4 improves on it.
    assert kept == [False, False, True, True]
    assert selection.best_score == 0.5 and selection.since_best == 0 and selection.best_state is not None
    assert not selection.update(5, 0.5, model)  # a tie is no improvement
    assert not selection.should_stop(5)
    assert not selection.update(6, float("nan"), model)
    assert selection.since_best == 2 and selection.should_stop(6)


def test_selection_never_stops_before_min_epochs_and_without_held_out_keeps_every_epoch() -> None:
    model = network()
    early = Selection(held_out=True, start=0, min_epochs=3, patience=1)
    early.update(1, 1.0, model)
    early.update(2, 2.0, model)
    assert early.since_best == 1 and not early.should_stop(2) and not early.should_stop(3)
    assert early.should_stop(4)
    blind = Selection(held_out=False, start=0, min_epochs=0, patience=0)
    assert all(blind.update(epoch, 1.0, model) for epoch in range(1, 5))
    assert blind.best_state is None and not blind.should_stop(4)


@pytest.mark.parametrize("unobserved_term", [True, False])
@pytest.mark.parametrize(("after_warmup", "start"), [(True, 3), (False, 0)])
def test_vsae_selection_starts_after_the_warmup_when_asked(
    after_warmup: bool, start: int, unobserved_term: bool
) -> None:
    objective = SelectiveELBO(unobserved_term=unobserved_term)
    selection = Selection.for_run(config(warmup_epochs=3, select_after_warmup=after_warmup), objective, True)
    assert (selection.start, selection.min_epochs) == (start, 3)


def test_an_objective_without_burn_in_is_selected_from_the_first_epoch() -> None:
    """Baseline objectives declare no burn-in: their selection is unchanged by the setting."""

    def objective(model: Any, x: torch.Tensor, observed: torch.Tensor, past_warmup: bool) -> Any:
        raise AssertionError("not called")

    selection = Selection.for_run(config(warmup_epochs=3, select_after_warmup=True), objective, True)
    assert (selection.start, selection.min_epochs) == (0, 3)


# -- fit and callbacks -----------------------------------------------------------------------------------
class Recorder(Callback):
    def __init__(self, name: str, log: list[tuple[Any, ...]]) -> None:
        self.name, self.log = name, log

    def on_train_begin(self, trainer: Trainer) -> None:
        self.log.append((self.name, "begin", trainer.epochs_done))

    def on_epoch_end(self, trainer: Trainer, record: dict[str, float]) -> None:
        assert trainer.history.epochs[-1] is record
        self.log.append((self.name, "epoch", record["epoch"], trainer.stop_training))

    def on_train_end(self, trainer: Trainer) -> None:
        self.log.append((self.name, "end", trainer.finished, trainer.epochs_done))


def test_fit_calls_callbacks_in_order_and_marks_the_stopping_epoch(
    data: tuple[torch.Tensor, torch.Tensor],
) -> None:
    x, observed = data
    log: list[tuple[Any, ...]] = []
    # Without held-out cells there is no early stop: every epoch, then the end.
    trainer = Trainer(
        network(), SelectiveELBO(), config(epochs=3), callbacks=[Recorder("a", log), Recorder("b", log)]
    )
    history = trainer.fit(x, observed)
    assert log == [
        ("a", "begin", 0),
        ("b", "begin", 0),
        *[(name, "epoch", epoch, False) for epoch in (1, 2, 3) for name in "ab"],
        ("a", "end", True, 3),
        ("b", "end", True, 3),
    ]
    assert history.best_epoch == 3 and not history.stopped_early
    assert [r["epoch"] for r in history.epochs] == [1, 2, 3]
    assert all("selection_score" in r for r in history.epochs)


class StopAt(Selection):
    """A selection that keeps epoch 1 and stops after epoch ``last``."""

    last = 2

    def update(self, epoch: int, score: float, model: torch.nn.Module) -> bool:
        if epoch == 1:
            self.best_score, self.best_state = score, copy.deepcopy(model.state_dict())
        return epoch == 1

    def should_stop(self, epoch: int) -> bool:
        return epoch >= self.last


def test_an_early_stop_keeps_the_selected_weights_and_is_checkpointed_once_as_finished(
    data: tuple[torch.Tensor, torch.Tensor], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    x, observed = data
    saved: list[bool] = []
    save = Checkpoint.save

    def recording(self: Checkpoint, meta: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
        saved.append(meta["finished"])
        save(self, meta, tensors)

    monkeypatch.setattr(Checkpoint, "save", recording)
    log: list[tuple[Any, ...]] = []
    checkpoint = Checkpoint(tmp_path / "run", every=1, resume=False, fingerprint="f")
    trainer = Trainer(
        network(),
        SelectiveELBO(),
        config(epochs=5),
        callbacks=[Checkpointing(checkpoint), Recorder("r", log)],
    )
    trainer.selection = StopAt(held_out=True)
    history = trainer.fit(x, observed)
    assert history.stopped_early and history.best_epoch == 1 and trainer.epochs_done == 2
    assert log[-2:] == [("r", "epoch", 2, True), ("r", "end", True, 2)]
    assert saved == [False, True]  # epoch 1, then the stopping epoch once, finished
    assert_same_state(trainer.model.state_dict(), trainer.selection.best_state or {})


def test_a_checkpoint_restores_the_whole_training_state(data: tuple[torch.Tensor, torch.Tensor]) -> None:
    x, observed = data
    trainer = Trainer(network(), SelectiveELBO(), config(epochs=2))
    trainer.selection = Selection(held_out=True, patience=10)
    trainer.fit(x, observed)
    meta, tensors = training_state(trainer)
    fresh = Trainer(network(seed=5), SelectiveELBO(), config(epochs=2))
    restore_training_state(fresh, meta, tensors)
    assert_same_state(fresh.model.state_dict(), trainer.model.state_dict())
    assert_same_state(fresh.selection.best_state or {}, trainer.selection.best_state or {})
    assert fresh.history == trainer.history and fresh.finished
    assert (fresh.selection.best_score, fresh.selection.since_best) == (
        trainer.selection.best_score,
        trainer.selection.since_best,
    )
    assert fresh.optimiser.state_dict()["param_groups"] == trainer.optimiser.state_dict()["param_groups"]


def test_the_progress_bar_changes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((ROWS, len(SCHEMA)))
    observed = rng.random(x.shape) > 0.3
    build = functools.partial(VSAE, SCHEMA, SMALL)
    fits = {}
    for verbose in (0, 1):
        settings = config(epochs=3, validation_fraction=0.25, verbose=verbose)
        fits[verbose] = train_network(build, SelectiveELBO(), SCHEMA, x, observed, settings)
        assert ("vsae fit" in capsys.readouterr().err) == bool(verbose)
    assert_same_state(fits[0][0].state_dict(), fits[1][0].state_dict())
    assert fits[0][1] == fits[1][1]


# -- the benchmark's step --------------------------------------------------------------------------------
def test_the_benchmark_times_the_trainers_own_step(
    data: tuple[torch.Tensor, torch.Tensor], monkeypatch: pytest.MonkeyPatch
) -> None:
    x, observed = data
    calls: list[bool] = []
    real = Trainer.train_step

    def spy(self: Trainer, *args: Any, **kwargs: Any) -> Any:
        calls.append(True)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Trainer, "train_step", spy)
    timed, trained = network(), network()
    step = steps.make_step(timed, steps.vsae_loss(timed), sync=True)
    trainer = Trainer(trained, SelectiveELBO(), TrainConfig())
    for _ in range(2):
        torch.manual_seed(3)
        step(x, observed)
        torch.manual_seed(3)
        trainer.train_step(x, observed, past_warmup=True)
    assert len(calls) == 4
    assert_same_state(timed.state_dict(), trained.state_dict())


# -- layering --------------------------------------------------------------------------------------------
def test_the_checkpoint_module_obeys_the_training_layer_rule() -> None:
    """Like vsae.train (docs/architecture.md, rule 2): no estimator, table codec, file reader,
    command line or benchmark."""
    path = Path(__file__).resolve().parents[1] / "vsae" / "checkpoint.py"
    forbidden = ("vsae.imputer", "vsae.multimodal", "vsae.baselines", "vsae.tabular", "vsae.io")
    forbidden += ("vsae.streaming", "vsae.cli", "vsae.bench", "pandas")
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names.append(node.module or "")
    assert names
    assert [n for n in names if any(n == f or n.startswith(f"{f}.") for f in forbidden)] == []
