"""The large-table training budget (vsae.budget): functions of the number of rows alone."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from vsae import budget
from vsae.imputer import VSAEImputer


@pytest.mark.parametrize("rows", [2, 10, 150, 1_000, 5_000, budget.LARGE_TABLE_ROWS - 1])
def test_small_tables_keep_the_requested_settings(rows: int) -> None:
    assert budget.batch_size_for_rows(rows, 128) == max(2, min(128, -(-rows // 8)))
    assert budget.epochs_for_rows(rows, 200) == 200
    assert budget.warmup_for_rows(rows, 20, 200) == 20


def test_flights_sized_tables_get_a_larger_batch_and_a_bounded_number_of_row_visits() -> None:
    rows = 269_421  # flights' training rows (80% of 336,776)
    assert budget.batch_size_for_rows(rows, 128) == budget.MAX_BATCH_SIZE
    assert budget.batch_size_for_rows(80_000, 128) == 500
    assert budget.batch_size_for_rows(rows, 4_096) == 4_096  # a larger request is kept
    epochs = budget.epochs_for_rows(rows, 200)
    assert epochs == 12 and epochs * rows <= budget.ROW_VISITS + rows
    assert budget.epochs_for_rows(rows, 3) == 3  # fewer epochs than the cap: kept
    assert budget.epochs_for_rows(10_000_000, 200) == budget.MIN_EPOCHS
    # Large tables train without the unobserved-modality term: the warm-up spans the budget.
    assert budget.warmup_for_rows(rows, 20, 200) == 20
    assert budget.warmup_for_rows(rows, 5, 200) == 12
    assert budget.warmup_for_rows(80_000, 20, 200) == 40


def test_rules_are_monotone_in_the_rows() -> None:
    rows = np.unique(np.geomspace(2, 5e6, 200).astype(int))
    batches = [budget.batch_size_for_rows(int(n), 128) for n in rows]
    visits = [budget.epochs_for_rows(int(n), 200) * int(n) for n in rows if n >= budget.LARGE_TABLE_ROWS]
    assert all(a <= b for a, b in itertools.pairwise(batches))
    assert max(visits) <= max(budget.ROW_VISITS, budget.MIN_EPOCHS * rows[-1]) + rows[-1]


def test_the_trainer_takes_its_batch_size_from_the_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, int]] = []
    rule = budget.batch_size_for_rows

    def recorded(rows: int, requested: int, min_batches_per_epoch: int = 8) -> int:
        calls.append((rows, requested))
        return rule(rows, requested, min_batches_per_epoch)

    monkeypatch.setattr(budget, "batch_size_for_rows", recorded)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    VSAEImputer(epochs=1, warmup_epochs=0, device="cpu", random_state=0).fit(frame)
    assert calls and calls[0] == (48, 128)  # 80% of the rows train; the rest select the epoch


@pytest.mark.parametrize(
    ("rows", "members"),
    [(2, 3), (120, 3), (1_666, 3), (1_667, 2), (2_500, 2), (2_501, 1), (300_000, 1)],
)
def test_the_default_ensemble_fills_a_bounded_number_of_rows(rows: int, members: int) -> None:
    assert budget.ensemble_size_for_rows(rows) == members
    assert members * rows <= max(budget.ENSEMBLE_ROWS, rows)


@pytest.mark.parametrize(
    ("rows", "members"),
    [(101, 3), (8_844, 3), (10_000, 3), (10_001, 2), (15_000, 2), (15_001, 1), (300_000, 1)],
)
def test_tables_with_a_categorical_column_have_a_larger_row_bound(rows: int, members: int) -> None:
    """8,844: phishing's training rows, where three networks were measured (docs/model.md)."""
    assert budget.ensemble_size_for_rows(rows, budget.CATEGORICAL_ENSEMBLE_ROWS) == members


def test_each_table_type_gets_the_ensemble_of_its_rule() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(2_000, 2)), columns=["a", "b"])
    frame = frame.mask(rng.random(frame.shape) < 0.2)

    def networks(table: pd.DataFrame, **settings: object) -> int:
        imputer = VSAEImputer(epochs=1, warmup_epochs=0, device="cpu", random_state=0, **settings)
        return len(imputer.fit(table).history_.members) + 1

    assert networks(frame) == 2  # 5,000 // 2,000 rows
    assert networks(frame, refit=True) == 1  # refit trains one network on every row
    assert networks(frame, ensemble_size=3) == 3
    labelled = frame.assign(c=np.where(rng.random(len(frame)) < 0.5, "x", "y"))
    assert networks(labelled) == 3  # a categorical column: 30,000 // 2,000 rows, at most 3
    assert networks(labelled, ensemble_size=2) == 2
    assert networks(pd.concat([labelled] * 6, ignore_index=True)) == 2  # 30,000 // 12,000 rows
