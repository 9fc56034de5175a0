"""How the report compares methods: a metric over seeds, its formatting, and win / tie / loss.

A difference between two methods is a win or a loss when it exceeds the larger of their standard
deviations over seeds, a tie otherwise (with one seed, any difference counts and the statement says
so). Lower is better for every metric of the benchmark.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from vsae.bench.cells import Cell
from vsae.bench.presets import CATEGORICAL_UCI, METHOD_LABELS, REFERENCES, Setting

NOT_RUN = "not run"
FAILED = "failed"


@dataclass(frozen=True)
class Stat:
    """A metric over the seeds of one (dataset, setting, method)."""

    values: tuple[float, ...]
    expected: int
    failed: int

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def std(self) -> float | None:
        """Sample standard deviation (ddof = 1); None with fewer than two seeds."""
        return float(np.std(self.values, ddof=1)) if len(self.values) > 1 else None


class StoredCells:
    """Look-ups of metrics in the stored cells for the seeds the report expects."""

    def __init__(self, records: dict[str, dict[str, Any]], seeds: Sequence[int]) -> None:
        self.records = records
        self.seeds = tuple(seeds)

    def record(self, cell: Cell) -> dict[str, Any] | None:
        return self.records.get(cell.relative_path.as_posix())

    def stat(
        self,
        dataset: str,
        setting: Setting,
        method: str,
        value: Callable[[dict[str, Any]], float | None],
        kind: str = "tabular",
        seeds: Sequence[int] | None = None,
    ) -> Stat:
        """``value(record)`` over the seeds of a (dataset, setting, method)."""
        values, failed = [], 0
        seeds = self.seeds if seeds is None else seeds
        for seed in seeds:
            record = self.record(Cell(kind, dataset, setting, method, seed))
            if record is None:
                continue
            if "error" in record:
                failed += 1
                continue
            number = value(record)
            if number is not None:
                values.append(float(number))
        return Stat(tuple(values), len(seeds), failed)

    def metric(self, dataset: str, setting: Setting, method: str, name: str, kind: str = "tabular") -> Stat:
        return self.stat(dataset, setting, method, lambda r: r.get("metrics", {}).get(name), kind)


def _number(value: float, digits: int) -> str:
    return f"{value:.{digits}f}"


def format_stat(stat: Stat, digits: int) -> str:
    """``mean ± std``, with the number of seeds (and of failed ones) when some are missing; "not run"
    when no seed was computed, "failed" when every computed seed failed."""
    if not stat.values:
        return FAILED if stat.failed else NOT_RUN
    text = _number(stat.mean, digits)
    if stat.std is not None:
        text += f" ± {_number(stat.std, digits)}"
    if len(stat.values) < stat.expected:
        failed = f", {stat.failed} failed" if stat.failed else ""
        text += f" ({len(stat.values)}/{stat.expected} seeds{failed})"
    return text


def method_label(method: str) -> str:
    return METHOD_LABELS.get(method, method)


def tabular_metric(dataset: str) -> str:
    """The metric a benchmark table is scored by: PFC for the categorical UCI tables, NRMSE for the
    numerical ones (the UCI tables and scikit-learn's)."""
    return "pfc" if dataset in CATEGORICAL_UCI else "nrmse"


def best_computed(stats: Mapping[str, Stat]) -> str | None:
    """The method with the lowest mean among those computed (with values); None when none is."""
    computed = {method: stat for method, stat in stats.items() if stat.values}
    return min(computed, key=lambda method: computed[method].mean) if computed else None


def _noise(ours: Stat, other: Stat) -> float:
    """The larger standard deviation over seeds of the two: a smaller difference is a tie."""
    return max(ours.std or 0.0, other.std or 0.0)


def outcome(ours: Stat, other: Stat) -> str:
    """The "win", "tie" or "loss" of ``ours`` against ``other`` (lower is better): a difference counts
    only when it exceeds the larger standard deviation over seeds of the two."""
    difference = ours.mean - other.mean
    return "tie" if abs(difference) <= _noise(ours, other) else ("win" if difference < 0 else "loss")


def winning_mean(ours: Stat, other: Stat) -> float:
    """The mean below which ``ours`` would count as a win against ``other`` by :func:`outcome`, with
    the standard deviations over seeds both have now."""
    return other.mean - _noise(ours, other)


def verdict(title: str, stats: dict[str, Stat], digits: int) -> str | None:
    """One sentence: VSAE's rank and every method it beats, ties with or loses to (lower is better).

    Methods in :data:`REFERENCES` (trained on complete data, or reading test labels) are compared in a
    separate clause. None when VSAE has no value.
    """
    if "vsae" not in stats or not stats["vsae"].values:
        return None
    ours = stats["vsae"]
    wins, ties, losses, reference_text = [], [], [], []
    one_seed = ours.std is None
    for method, stat in stats.items():
        if method == "vsae" or not stat.values:
            continue
        described = f"{method_label(method)} ({_number(stat.mean, digits)})"
        result = outcome(ours, stat)
        if method in REFERENCES:
            word = {"win": "beats", "tie": "ties with", "loss": "loses to"}[result]
            reference_text.append(f"{word} {described}")
        else:
            {"win": wins, "tie": ties, "loss": losses}[result].append(described)
    competitors = [m for m, s in stats.items() if m not in REFERENCES and s.values]
    if len(competitors) == 1 and not reference_text:
        return f"- {title}: VSAE {format_stat(ours, digits)}; no other method computed yet."
    rank = 1 + sum(1 for m in competitors if stats[m].mean < ours.mean)
    parts = [f"VSAE {format_stat(ours, digits)} ranks {rank} of {len(competitors)}"]
    if wins:
        parts.append("wins against " + ", ".join(wins))
    if ties:
        parts.append("ties (within one standard deviation over seeds) with " + ", ".join(ties))
    if losses:
        parts.append("**loses to** " + ", ".join(losses))
    sentence = f"- {title}: " + "; ".join(parts) + "."
    if reference_text:
        sentence += " Against the references: " + "; ".join(reference_text) + "."
    if one_seed:
        sentence += " (One seed: no noise estimate.)"
    return sentence
