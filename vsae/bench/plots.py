"""PNG plots of the reproduction (image grids, Figure 2), drawn with matplotlib's Agg backend.

matplotlib is an optional dependency (``pip install vsae[bench]``); it is imported when a figure is
drawn, so the rest of the benchmark runs without it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vsae.errors import VSAEError

#: One line of Figure 2: a method's (ratio, mean, std) points.
Series = Sequence[tuple[float, float, float]]


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as error:
        raise VSAEError("drawing figures needs matplotlib: pip install 'vsae[bench]'") from error
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _as_image(values: np.ndarray) -> np.ndarray:
    """A square grey image from a flattened one (784 values → 28 × 28); 2-D arrays unchanged."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 2:
        return array
    side = round(float(np.sqrt(array.size)))
    if side * side != array.size:
        raise VSAEError(f"cannot show {array.size} values as a square image")
    return array.reshape(side, side)


def save_image_grid(
    path: Path, grid: Sequence[Sequence[np.ndarray]], row_labels: Sequence[str], title: str
) -> None:
    """Draw ``grid[row][column]`` (grey images in [0, 1]) with a label left of every row."""
    if not grid or not grid[0]:
        raise VSAEError(f"no image to draw in {path}")
    plt = _pyplot()
    n_rows, n_columns = len(grid), max(len(row) for row in grid)
    first = _as_image(grid[0][0])
    aspect = first.shape[1] / first.shape[0]
    figure, axes = plt.subplots(
        n_rows, n_columns, figsize=(1.1 * aspect * n_columns + 1.2, 1.1 * n_rows + 0.5), squeeze=False
    )
    for r, row in enumerate(grid):
        for c in range(n_columns):
            axis = axes[r][c]
            axis.set_xticks([])
            axis.set_yticks([])
            if c < len(row):
                axis.imshow(_as_image(row[c]), cmap="gray", vmin=0.0, vmax=1.0)
            else:
                axis.axis("off")
        axes[r][0].set_ylabel(row_labels[r], rotation=0, ha="right", va="center", fontsize=8)
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)


def save_ratio_plot(path: Path, panels: Mapping[str, tuple[str, Mapping[str, Series]]]) -> None:
    """Figure 2: one panel per dataset, ``panels[dataset] = (metric name, {method label: series})``,
    the error against the missing ratio with ± one standard deviation over seeds as error bars."""
    if not panels:
        raise VSAEError(f"no data to plot in {path}")
    plt = _pyplot()
    n_columns = 3
    n_rows = -(-len(panels) // n_columns)
    figure, axes = plt.subplots(n_rows, n_columns, figsize=(4.2 * n_columns, 3.2 * n_rows), squeeze=False)
    for axis in axes.flat[len(panels) :]:
        axis.axis("off")
    # One colour per method across all panels.
    labels = list(dict.fromkeys(label for _, lines in panels.values() for label in lines))
    for axis, (dataset, (metric, lines)) in zip(axes.flat, panels.items(), strict=False):
        for label, series in lines.items():
            ratios, means, stds = (np.array(v, dtype=float) for v in zip(*series, strict=True))
            colour = f"C{labels.index(label) % 10}"
            axis.errorbar(ratios, means, yerr=stds, marker="o", capsize=3, label=label, color=colour)
        axis.set_title(dataset, fontsize=10)
        axis.set_xlabel("missing ratio")
        axis.set_ylabel(metric)
        axis.legend(fontsize=7)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
