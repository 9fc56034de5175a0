"""Computing one figures cell: Figures 3, 4 and 7 drawn from a fitted MNIST+MNIST VSAE.

The figures are drawn from the model of the image cell :func:`source_cell` names (same dataset,
setting and seed); the runner computes that cell first when needed and passes its model folder in.
The cell's record holds the digit pairing rates of unconditional samples (measured with a
nearest-class-mean classifier fitted on the training images) and the names of the PNG files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from vsae.bench.cells import Cell
from vsae.bench.image_cells import image_data
from vsae.bench.plots import save_image_grid
from vsae.bench.presets import Budget
from vsae.data import MNIST_DIGIT_PAIRS
from vsae.multimodal import MultimodalVSAE

#: File names of the figures a figures cell draws (``{seed}`` is filled in).
FIGURE_FILES = {
    "imputation": "figure3_imputation_seed{seed}.png",
    "generation": "figure4_generation_seed{seed}.png",
    "draws": "figure7_eight_draws_seed{seed}.png",
}
#: Unconditional samples classified to measure how often generation keeps the digit pairing (the
#: first 20 are drawn in Figure 4).
PAIRING_SAMPLES = 1000


def source_cell(cell: Cell) -> Cell:
    """The image cell whose fitted VSAE the figures of ``cell`` are drawn from."""
    return Cell("image", cell.dataset, cell.setting, "vsae", cell.seed)


def _nearest_class_mean(images: np.ndarray, means: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """The class of the nearest class-mean image (squared Euclidean distance)."""
    distances = (images**2).sum(1)[:, None] - 2 * images @ means.T + (means**2).sum(1)[None, :]
    return classes[distances.argmin(axis=1)]


def figures_cell(cell: Cell, budget: Budget, model_dir: Path, figures_dir: Path) -> dict[str, Any]:
    """Draw Figures 3, 4 and 7 into ``figures_dir`` from the VSAE saved in ``model_dir`` (that of
    :func:`source_cell`); the body of the cell's record."""
    source = source_cell(cell)
    model = MultimodalVSAE.load(model_dir)
    data = image_data(cell.dataset, cell.setting, cell.seed, budget)
    test, observed = data.test, data.test_observed
    digit, partner = test.modalities["digit"], test.modalities["partner"]
    imputed = model.impute(test.modalities, observed)
    figures_dir.mkdir(parents=True, exist_ok=True)
    paths = {key: figures_dir / name.format(seed=cell.seed) for key, name in FIGURE_FILES.items()}

    # Figure 3: one column per digit pair and direction; observed, true unobserved, imputed.
    columns = []
    for missing, shown in ((1, 0), (0, 1)):
        for first, _ in MNIST_DIGIT_PAIRS:
            label = test.labels["digit"]
            rows = np.flatnonzero(~observed[:, missing] & observed[:, shown] & (label == first))
            if rows.size:
                columns.append((rows[0], missing, shown))
    names = ("digit", "partner")
    grid = [
        [test.modalities[names[shown]][r] for r, _, shown in columns],
        [test.modalities[names[missing]][r] for r, missing, _ in columns],
        [imputed[names[missing]][r] for r, missing, _ in columns],
    ]
    save_image_grid(
        paths["imputation"],
        grid,
        ["observed", "unobserved (truth)", "VSAE imputation"],
        "Imputation on MNIST+MNIST (one column per sample)",
    )

    # Figure 4: unconditional samples, each pair shown side by side; pairing measured on many more.
    generated, _ = model.generate(PAIRING_SAMPLES, random_state=cell.seed)
    pairs = [
        np.concatenate([generated["digit"][k].reshape(28, 28), generated["partner"][k].reshape(28, 28)], 1)
        for k in range(20)
    ]
    save_image_grid(
        paths["generation"],
        [pairs[k : k + 5] for k in range(0, 20, 5)],
        ["", "", "", ""],
        "Unconditional generation (digit | partner); pairs {0,9} {1,8} {2,7} {3,6} {4,5}",
    )
    train_digit, train_partner = data.train.modalities["digit"], data.train.modalities["partner"]
    labels_digit, labels_partner = data.train.labels["digit"], data.train.labels["partner"]
    digit_classes = np.array([a for a, _ in MNIST_DIGIT_PAIRS])
    partner_classes = np.array([b for _, b in MNIST_DIGIT_PAIRS])
    digit_means = np.stack([train_digit[labels_digit == c].mean(0) for c in digit_classes])
    partner_means = np.stack([train_partner[labels_partner == c].mean(0) for c in partner_classes])
    partner_of = dict(MNIST_DIGIT_PAIRS)

    def pairing_rate(first: np.ndarray, second: np.ndarray) -> float:
        a = _nearest_class_mean(first.reshape(len(first), -1), digit_means, digit_classes)
        b = _nearest_class_mean(second.reshape(len(second), -1), partner_means, partner_classes)
        return float(np.mean([partner_of[int(x)] == int(y) for x, y in zip(a, b, strict=True)]))

    # Figure 7: eight draws of the missing partner for a few samples whose partner is missing.
    rows = np.flatnonzero(~observed[:, 1] & observed[:, 0])[:6]
    draws = model.sample_imputations(test.modalities, observed, n=8, random_state=cell.seed)
    save_image_grid(
        paths["draws"],
        [[digit[r]] + [draw["partner"][r] for draw in draws] for r in rows],
        ["" for _ in rows],
        "Observed digit (left) and eight independent imputations of its partner",
    )
    return {
        "metrics": {
            "generated_pairing_rate": pairing_rate(generated["digit"], generated["partner"]),
            "real_test_pairing_rate": pairing_rate(digit, partner),
            "chance_pairing_rate": 1 / len(MNIST_DIGIT_PAIRS),
        },
        "generated_rows": len(generated["digit"]),
        "figures": {key: path.name for key, path in paths.items()},
        "source_cell": str(source.relative_path),
        "fit_seconds": 0.0,
        "impute_seconds": 0.0,
    }
