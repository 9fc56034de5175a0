"""The timing harness: round-robin repeats, their spread and per-repeat ratios, the load average."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path


def spread(values: Sequence[float]) -> dict[str, float]:
    """Min, median and max of repeated measurements."""
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def round_robin(runs: dict[str, Callable[[], None]], warmup: int, repeats: int) -> dict[str, list[float]]:
    """Seconds of every run per repeat; within a repeat the runs take turns (order rotated each repeat)."""
    for run in runs.values():
        for _ in range(warmup):
            run()
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for repeat in range(repeats):
        for name in names[repeat % len(names) :] + names[: repeat % len(names)]:
            start = time.perf_counter()
            runs[name]()
            seconds[name].append(time.perf_counter() - start)
    return seconds


def ratios(seconds: dict[str, list[float]], slower: str, faster: str) -> dict[str, float]:
    """Per-repeat time ratio ``slower / faster`` (same repeat, same load), summarised."""
    return spread([a / b for a, b in zip(seconds[slower], seconds[faster], strict=True)])


def loadavg() -> list[float]:
    try:
        return [float(v) for v in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return list(os.getloadavg())
