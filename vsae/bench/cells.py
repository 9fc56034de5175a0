"""Benchmark cells: what a cell is, where it is stored, and what it records about its machine.

A cell is one (dataset, missingness setting, method, seed) of a preset: one fit-and-score, or for
kind ``figures`` one set of drawn figures. Its record is a JSON file at
``OUT/<dataset>/<setting>/<method>-seed<N>.json`` (``…-figures-seed<N>.json`` for figures), shared by
every preset that needs it. Every record holds a ``budget`` field (the name of the
:class:`~vsae.bench.presets.Budget` it was computed with), the command that computed it and the
library versions (:func:`library_versions`).

This module is what the runner (which writes cells), the report (which reads them) and the
performance benchmark (which summarises the UCI cells) share; it imports none of them.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sklearn
import torch

import vsae
from vsae.bench.presets import Preset, Setting
from vsae.errors import VSAEError

#: Where cells go unless ``--out`` says otherwise; quick (CI) cells never mix with full ones.
DEFAULT_OUT = {"full": Path("runs/bench"), "quick": Path("runs/bench-quick")}
#: Where the figures the cells draw (and the report's Figure 2) go unless told otherwise.
DEFAULT_FIGURES = Path("docs/figures")
#: Sub-folder of a cells folder with the fitted image models (not cells: the report skips it).
MODELS_FOLDER = "models"


@dataclass(frozen=True)
class Cell:
    """One fit-and-score (or, for kind ``figures``, one set of drawn figures)."""

    kind: str
    dataset: str
    setting: Setting
    method: str
    seed: int

    @property
    def relative_path(self) -> Path:
        suffix = "-figures" if self.kind == "figures" else ""
        return Path(self.dataset) / self.setting.key / f"{self.method}{suffix}-seed{self.seed}.json"

    @property
    def label(self) -> str:
        return f"{self.dataset} {self.setting.key} {self.method} seed {self.seed}"


def _checked(values: Sequence[Any] | None, allowed: Sequence[Any], what: str, preset: Preset) -> list[Any]:
    """``values`` if every one is among ``allowed`` (all of ``allowed`` when None)."""
    if values is None:
        return list(allowed)
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise VSAEError(
            f"preset {preset.name!r} has no {what} {', '.join(map(str, unknown))}; "
            f"choose among: {', '.join(map(str, allowed))}"
        )
    return [v for v in allowed if v in values]


def preset_cells(
    preset: Preset,
    seeds: Sequence[int],
    datasets: Sequence[str] | None = None,
    methods: Sequence[str] | None = None,
    ratios: Sequence[float] | None = None,
) -> list[Cell]:
    """The cells of ``preset``, optionally restricted, in the order they are run.

    Method-major in the preset's method order (the cheap methods first, MissForest last), then
    setting, dataset and seed. ``ratios`` filters MCAR settings; MAR and NMAR are kept.
    """
    chosen_datasets = _checked(datasets, preset.datasets, "dataset", preset)
    chosen_methods = _checked(methods, preset.methods, "method", preset)
    mcar_ratios = [s.ratio for s in preset.settings if s.mechanism == "mcar"]
    chosen_ratios = _checked(ratios, mcar_ratios, "MCAR ratio", preset)
    settings = [s for s in preset.settings if s.mechanism != "mcar" or s.ratio in chosen_ratios]
    if any(seed < 0 for seed in seeds):
        raise VSAEError(f"seeds must be non-negative integers, got {list(seeds)}")
    return [
        Cell(preset.kind, dataset, setting, method, seed)
        for method in chosen_methods
        for setting in settings
        for dataset in chosen_datasets
        for seed in dict.fromkeys(seeds)
    ]


def write_cell(path: Path, record: dict[str, Any]) -> None:
    """Write a cell's record atomically: a killed run never leaves a half-written cell behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.tmp")
    staging.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(staging, path)


def read_cell(path: Path) -> dict[str, Any]:
    """A cell's record; VSAEError naming the file when it is not one."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise VSAEError(f"cannot read the benchmark cell {str(path)!r}: {error}") from error
    if not isinstance(record, dict) or "budget" not in record:
        raise VSAEError(f"{str(path)!r} is not a benchmark cell (no 'budget' field)")
    return record


def load_cells(folder: Path) -> dict[str, dict[str, Any]]:
    """Every cell under ``folder``, keyed by its path relative to ``folder`` (fitted models skipped)."""
    if not folder.is_dir():
        raise VSAEError(f"no benchmark cells: folder {str(folder)!r} does not exist")
    cells = {}
    for path in sorted(folder.rglob("*.json")):
        relative = path.relative_to(folder)
        if relative.parts[0] == MODELS_FOLDER:
            continue
        cells[relative.as_posix()] = read_cell(path)
    return cells


def library_versions() -> dict[str, str]:
    """Versions of what a cell's numbers depend on (stored in every cell as ``versions``)."""
    return {
        "vsae": vsae.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scikit-learn": sklearn.__version__,
        "platform": platform.platform(),
        "torch_threads": str(torch.get_num_threads()),
    }


def machine() -> dict[str, Any]:
    """What performance figures were measured on: the CPU model, its logical CPUs and the versions."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read_lines("/proc/cpuinfo")
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu": model,
        "logical_cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scikit_learn": sklearn.__version__,
    }


def _read_lines(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []
