"""What the reproduction runs: methods, datasets, settings, presets, seeds and budgets.

A *cell* (:mod:`vsae.bench.cells`) is one (dataset, setting, method, seed) fit-and-score; a *preset*
is the set of cells behind one or more of the paper's tables or figures (:data:`PRESETS`). Presets
share cells: the VSAE fit on yeast at ratio 0.5, seed 0, serves Table 5, Figure 2 and §4.3 alike, and
is computed once. A :class:`Budget` says how much data and training every cell gets. The paper's own
numbers, printed beside ours, are in :mod:`vsae.bench.paper`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from vsae.data import SKLEARN_DATASETS, UCI_DATASETS

Kind = Literal["tabular", "image", "figures"]

#: Classical peers (vsae.baselines.CLASSICAL_IMPUTERS), cheapest first; MissForest is by far the slowest.
CLASSICAL = ("mean", "knn", "mice", "missforest")
#: The peer of VSAE's predictive intervals: scikit-learn's IterativeImputer with sample_posterior=True.
UNCERTAINTY_PEER = "mice_posterior"
#: Neural baselines trained on the masked training data (vsae.baselines.NEURAL_IMPUTERS).
NEURAL_PARTIAL = ("ae", "vae", "cvae_mask", "mvae", "miwae")
#: Neural references trained on the COMPLETE training data (vsae.baselines.REFERENCE_METHODS).
NEURAL_REFERENCES = ("cvae_data", "vaeac")
#: Image references computed from training means: the global mean image of the modality, and the mean
#: image of the true class of the missing content (an oracle: it reads the test sample's label).
IMAGE_REFERENCES = ("global_mean", "class_mean")

#: Methods that read something a partially observed learner cannot: kept apart from the comparison.
REFERENCES = frozenset(NEURAL_REFERENCES) | {"class_mean"}

METHOD_LABELS: dict[str, str] = {
    "vsae": "VSAE",
    "mean": "mean / mode",
    "knn": "KNN (k = 5)",
    "mice": "MICE",
    "missforest": "MissForest",
    UNCERTAINTY_PEER: "MICE, posterior draws",
    "ae": "AE",
    "vae": "VAE",
    "cvae_mask": "CVAE w/ mask",
    "mvae": "MVAE",
    "miwae": "MIWAE",
    "cvae_data": "CVAE w/ data (ref.: fully observed training data)",
    "vaeac": "VAEAC (ref.: fully observed training data)",
    "global_mean": "global mean image / mode",
    "class_mean": "class-mean image (ref.: reads the test label)",
}

#: Order of every table of the UCI presets: cheap methods first so that a partial run fills most of
#: the table early; MissForest (minutes per dataset) last.
TABULAR_METHODS: tuple[str, ...] = (
    "vsae",
    "mean",
    "knn",
    "mice",
    "ae",
    "vae",
    "cvae_mask",
    "mvae",
    "cvae_data",
    "vaeac",
    "miwae",
    "missforest",
)
#: Image presets: the paper's Tables 2/6/10 methods (MIWAE is a tabular baseline there, Table 3 only).
IMAGE_METHODS: tuple[str, ...] = (
    "vsae",
    "global_mean",
    "class_mean",
    "ae",
    "vae",
    "cvae_mask",
    "mvae",
    "cvae_data",
    "vaeac",
)
#: Figure 2's methods: VSAE and the classical peers.
RATIO_METHODS: tuple[str, ...] = ("vsae", *CLASSICAL)

NUMERICAL_UCI = ("yeast", "white_wine", "glass")
CATEGORICAL_UCI = ("zoo", "mushroom", "phishing")
#: Bimodal image datasets: MNIST+MNIST and image + one-hot label for MNIST and Fashion-MNIST.
MNIST_PAIRS = "mnist_mnist"
IMAGE_TEXT = {"mnist_text": "mnist", "fashion_mnist_text": "fashion_mnist"}
DATASET_LABELS: dict[str, str] = {
    **{name: name for name in (*UCI_DATASETS, *SKLEARN_DATASETS)},
    MNIST_PAIRS: "MNIST+MNIST",
    "mnist_text": "MNIST image + label",
    "fashion_mnist_text": "Fashion-MNIST image + label",
}


@dataclass(frozen=True)
class Setting:
    """A missingness setting: a mechanism and, for MCAR, its missing rate."""

    mechanism: Literal["mcar", "mar", "nmar"]
    ratio: float | None = None

    @property
    def key(self) -> str:
        """File-name form: ``mcar-0.5``, ``mar``, ``nmar``."""
        return f"{self.mechanism}-{self.ratio:g}" if self.mechanism == "mcar" else self.mechanism

    @property
    def label(self) -> str:
        return f"MCAR {self.ratio:g}" if self.mechanism == "mcar" else self.mechanism.upper()


def mcar(*ratios: float) -> tuple[Setting, ...]:
    return tuple(Setting("mcar", ratio) for ratio in ratios)


RATIOS = (0.3, 0.5, 0.7)
#: The settings the defaults are judged on.
DEFAULT_SETTINGS = mcar(0.3, 0.5)
#: Default seeds of every preset but ``figures`` (one model is enough to draw from).
DEFAULT_SEEDS = (0, 1, 2)
FIGURE_SEEDS = (0,)


@dataclass(frozen=True)
class Preset:
    """The cells behind some of the paper's tables or figures.

    Attributes
    ----------
    name : str
        The ``vsae bench`` argument.
    title : str
        What it reproduces.
    kind : {"tabular", "image", "figures"}
        Which runner computes its cells.
    datasets, methods, settings : tuple
        Every combination of them (times the seeds) is one cell.
    """

    name: str
    title: str
    kind: Kind
    datasets: tuple[str, ...]
    methods: tuple[str, ...]
    settings: tuple[Setting, ...]


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            "uci",
            "Tables 1/4/5: UCI tables at MCAR ratio 0.5, all methods",
            "tabular",
            UCI_DATASETS,
            TABULAR_METHODS,
            mcar(0.5),
        ),
        Preset(
            "ratios",
            "Figure 2: UCI tables at MCAR ratios 0.3 / 0.5 / 0.7, VSAE and the classical peers",
            "tabular",
            UCI_DATASETS,
            RATIO_METHODS,
            mcar(*RATIOS),
        ),
        Preset(
            "mnist_pairs",
            "Tables 2/6: MNIST+MNIST at modality-MCAR ratios 0.3 / 0.5 / 0.7",
            "image",
            (MNIST_PAIRS,),
            IMAGE_METHODS,
            mcar(*RATIOS),
        ),
        Preset(
            "image_text",
            "Table 10: image + one-hot label, MNIST and Fashion-MNIST, modality-MCAR ratio 0.5",
            "image",
            tuple(IMAGE_TEXT),
            IMAGE_METHODS,
            mcar(0.5),
        ),
        Preset(
            "mechanisms",
            "Tables 3/9: yeast under MCAR (0.5), MAR and NMAR, VSAE vs MIWAE (and the classical peers)",
            "tabular",
            ("yeast",),
            ("vsae", "miwae", *CLASSICAL),
            (*mcar(0.5), Setting("mar"), Setting("nmar")),
        ),
        Preset(
            "mask_generation",
            "§4.3: missing proportion of masks generated by VSAE trained at MCAR 0.3 / 0.5 / 0.7",
            "tabular",
            UCI_DATASETS,
            ("vsae",),
            mcar(*RATIOS),
        ),
        Preset(
            "defaults",
            "The default against the classical peers: UCI and scikit-learn tables at MCAR 0.3 / 0.5",
            "tabular",
            (*UCI_DATASETS, *SKLEARN_DATASETS),
            RATIO_METHODS,
            DEFAULT_SETTINGS,
        ),
        Preset(
            "uncertainty",
            "The uncertainty peer (IterativeImputer, sample_posterior=True) on the numerical tables",
            "tabular",
            (*NUMERICAL_UCI, *SKLEARN_DATASETS),
            (UNCERTAINTY_PEER,),
            DEFAULT_SETTINGS,
        ),
        Preset(
            "figures",
            "Figures 3/4/7: imputation grid, unconditional generation, eight draws (MNIST+MNIST, 0.5)",
            "figures",
            (MNIST_PAIRS,),
            ("vsae",),
            mcar(0.5),
        ),
    )
}


@dataclass(frozen=True)
class Budget:
    """How much data and training a cell gets. ``full`` is the reproduction; ``quick`` the CI version.

    Attributes
    ----------
    name : {"full", "quick"}
    tabular_rows : int or None
        Rows kept of each UCI table (a seeded random subset) before the protocol split; None: all.
    tabular_training : dict
        Overrides of VSAEImputer / NeuralBaselineImputer settings (empty: the library defaults).
    classical : dict
        Per classical method, overrides of its constructor.
    miwae : dict
        Overrides of MIWAE's importance-sample counts.
    image_rows : tuple of (int or None)
        Rows kept of the (train, validation, test) image splits; None: all.
    image_training : dict
        TrainConfig settings of every image fit (VSAE and baselines alike).
    generated_rows : int
        Rows drawn from the prior to measure the generated missing proportion (§4.3).
    """

    name: str
    tabular_rows: int | None
    tabular_training: dict[str, int] = field(default_factory=dict)
    classical: dict[str, dict[str, int]] = field(default_factory=dict)
    miwae: dict[str, int] = field(default_factory=dict)
    image_rows: tuple[int | None, int | None, int | None] = (None, None, None)
    image_training: dict[str, int] = field(default_factory=dict)
    generated_rows: int = 1000


BUDGETS: dict[str, Budget] = {
    # Tabular fits use the library defaults (at most 200 epochs, early stopping with patience 20).
    # Image fits get a fixed modest budget: about 5 s per epoch for VSAE on 23k MNIST pairs on 2 CPU
    # cores makes the paper's "up to 1000 epochs" impossible here; the warm-up is shortened to match.
    "full": Budget(
        name="full",
        tabular_rows=None,
        image_training={"epochs": 30, "warmup_epochs": 10, "patience": 10},
    ),
    "quick": Budget(
        name="quick",
        tabular_rows=150,
        tabular_training={"epochs": 2, "warmup_epochs": 1},
        classical={"mice": {"max_iter": 2}, "missforest": {"n_estimators": 5, "max_iter": 2}},
        miwae={"n_samples": 4, "imputation_samples": 4},
        image_rows=(160, 40, 60),
        image_training={"epochs": 2, "warmup_epochs": 1, "patience": 10},
        generated_rows=100,
    ),
}
