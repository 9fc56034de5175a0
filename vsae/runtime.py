"""Threads and seeds: how many CPU threads torch uses, and the integer seed of a ``random_state``.

Threads. torch's default is one thread per physical core, which on a machine whose cores are busy with
other work oversubscribes them: a small fit measured 11.7 s with one thread and 3 min 25 s with
torch's default on two loaded cores. The networks of a table are small (a few hundred units per
layer, batches of 128 rows), so one thread is about as fast as several even on an idle machine. Hence
``n_jobs=None`` means one thread; ``n_jobs=k`` uses ``k``; ``n_jobs=-1`` every core this process may
run on. The setting is applied inside ``fit``, ``transform`` and the other methods, and torch's
previous setting is restored afterwards.

Seeds. A ``random_state`` is ``None``, an ``int``, a :class:`numpy.random.RandomState` or a
:class:`numpy.random.Generator`, as in scikit-learn; :func:`as_seed` turns it into the integer seed
that training and sampling use.
"""

from __future__ import annotations

import functools
import numbers
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from sklearn.utils import check_random_state

from vsae.errors import VSAEError

#: Seeds drawn from a random state lie in [0, SEED_BOUND).
SEED_BOUND = 2**31 - 1


def available_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def resolve_threads(n_jobs: int | None) -> int:
    """The number of torch threads for ``n_jobs`` (``None``: 1; ``-1``: every available core)."""
    if n_jobs is None:
        return 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0 or n_jobs < -1:
        raise VSAEError(f"n_jobs must be None, -1 or a positive integer, got {n_jobs!r}")
    return available_cores() if n_jobs == -1 else int(n_jobs)


@contextmanager
def torch_threads(n_jobs: int | None) -> Iterator[int]:
    """Run the block with :func:`resolve_threads` torch threads; restore torch's setting afterwards."""
    threads = resolve_threads(n_jobs)
    previous = torch.get_num_threads()
    if threads != previous:
        torch.set_num_threads(threads)
    try:
        yield threads
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)


def as_seed(random_state: Any) -> int:
    """The integer seed of a scikit-learn style ``random_state``.

    An ``int`` is its own seed; ``None`` draws one from numpy's global random state (so that
    ``np.random.seed`` makes it reproducible, as in scikit-learn); a ``RandomState`` or ``Generator``
    gives one draw (advancing it, so that two fits with the same object differ, as in scikit-learn).
    """
    if random_state is None:
        return int(check_random_state(None).randint(SEED_BOUND))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(SEED_BOUND))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(SEED_BOUND))
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise VSAEError(f"random_state must be non-negative, got {random_state}")
        return int(random_state)
    raise VSAEError(
        "random_state must be None, an int, a numpy RandomState or a numpy Generator, "
        f"got {type(random_state).__name__} {random_state!r}"
    )


def threaded(method: Callable[..., Any]) -> Callable[..., Any]:
    """Run an estimator method under :func:`torch_threads` of the estimator's ``n_jobs``."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        with torch_threads(getattr(self, "n_jobs", None)):
            return method(self, *args, **kwargs)

    return wrapper
