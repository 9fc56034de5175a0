"""The training budget of large tables: batch size and epochs chosen from the number of rows alone.

Small tables keep the settings they are given (the defaults were chosen on them, docs/model.md).
From :data:`LARGE_TABLE_ROWS` training rows on, a table gets

* a larger batch, about ``rows / STEPS_PER_EPOCH`` rows (between the requested size and
  :data:`MAX_BATCH_SIZE`): on a CPU the cost of a training step is proportional to its rows above
  ~256 rows, so a larger batch costs no time per epoch and, on flights, reached a lower validation
  error (time-to-accuracy curves in docs/performance.md, "Large tables");
* at most ``ROW_VISITS / rows`` epochs (never fewer than :data:`MIN_EPOCHS`): an epoch's time grows
  with the rows, and on flights the best validation epoch came within the first few thousand
  optimiser steps, so a bounded number of row visits bounds the fit's time without losing accuracy;
* a warm-up that lasts the whole (capped) budget: the unobserved-modality term of the objective
  makes a step about 1.5x as costly and, on flights, raised the validation error from the epoch it
  was switched on (docs/performance.md, "Large tables"), so large tables train without it.

Small tables, at the other end, leave time unused: below :data:`ENSEMBLE_ROWS` rows a numerical
table (:data:`CATEGORICAL_ENSEMBLE_ROWS` rows a table with a categorical column) is fitted by an
ensemble of networks (at most :data:`MAX_ENSEMBLE_SIZE`) whose members together visit about as many
rows per epoch as one network on a table of that many rows (docs/model.md, "Ensembles").

Each rule is one function of the number of training rows (and of the requested setting).
"""

from __future__ import annotations

import math

#: Training rows from which the large-table budget applies.
LARGE_TABLE_ROWS = 32_768
#: Optimiser steps per epoch aimed at on large tables (the batch grows with the rows).
STEPS_PER_EPOCH = 160
#: Largest batch the large-table rule chooses.
MAX_BATCH_SIZE = 1_024
#: Training rows visited by a large-table fit (epochs x rows): about 12 epochs of flights' 269,421.
ROW_VISITS = 3_200_000
#: Fewest epochs a large-table fit is given.
MIN_EPOCHS = 5


def batch_size_for_rows(rows: int, requested: int, min_batches_per_epoch: int = 8) -> int:
    """Rows per optimiser step for a table of ``rows`` training rows.

    Small tables: ``requested``, shrunk (never below 2) so that an epoch has at least
    ``min_batches_per_epoch`` steps. Large tables: at least ``rows / STEPS_PER_EPOCH`` rows, up to
    :data:`MAX_BATCH_SIZE`; a larger ``requested`` size is kept.
    """
    small = max(2, min(requested, math.ceil(rows / min_batches_per_epoch)))
    if rows < LARGE_TABLE_ROWS:
        return small
    return max(small, min(MAX_BATCH_SIZE, math.ceil(rows / STEPS_PER_EPOCH)))


def epochs_for_rows(rows: int, requested: int) -> int:
    """Most epochs for a table of ``rows`` training rows: ``requested`` on small tables, else at most
    ``ROW_VISITS / rows`` (and at least :data:`MIN_EPOCHS`, or ``requested`` if fewer)."""
    if rows < LARGE_TABLE_ROWS:
        return requested
    return min(requested, max(MIN_EPOCHS, math.ceil(ROW_VISITS / rows)))


def warmup_for_rows(rows: int, requested_warmup: int, requested_epochs: int) -> int:
    """Warm-up epochs for a table of ``rows`` training rows: the requested warm-up on small tables;
    on large ones at least the whole epoch budget of :func:`epochs_for_rows` (the unobserved-modality
    term is never switched on)."""
    if rows < LARGE_TABLE_ROWS:
        return requested_warmup
    return max(requested_warmup, epochs_for_rows(rows, requested_epochs))


#: Rows up to which extra ensemble members are trained: the members of a default ensemble together
#: see at most this many rows per epoch.
ENSEMBLE_ROWS = 5_000
#: The same bound for tables with a categorical column: three networks lowered the validation PFC
#: on 16 of 18 cells of zoo, mushroom and phishing (6,499 and 8,844 training rows), so the bound
#: admits three members up to 10,000 rows (docs/model.md, "Ensembles").
CATEGORICAL_ENSEMBLE_ROWS = 30_000
#: Members of the default ensemble of the smallest tables: 3 networks scored as well as 5 on the
#: small numerical tables of the ablation (validation error 0.986 and 0.988 of one network's) at 3/5
#: of the time (docs/model.md, "Ensembles").
MAX_ENSEMBLE_SIZE = 3


def ensemble_size_for_rows(rows: int, member_rows: int = ENSEMBLE_ROWS) -> int:
    """Networks a table of ``rows`` rows affords when the members together may visit
    ``member_rows`` rows an epoch: ``member_rows // rows``, between 1 and :data:`MAX_ENSEMBLE_SIZE`
    (:func:`vsae.train.default_ensemble_size` passes the bound of the data type)."""
    return max(1, min(MAX_ENSEMBLE_SIZE, member_rows // max(rows, 1)))
