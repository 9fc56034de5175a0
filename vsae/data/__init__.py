"""Datasets, splits and missingness mechanisms of the benchmark.

Loaders read local files only (``data_dir`` argument or the ``VSAE_DATA`` environment variable) and
never download anything. Masks are boolean arrays with True = observed.
"""

from vsae.data.images import (
    IMAGE_DATASETS,
    MNIST_DIGIT_PAIRS,
    ImageDataset,
    MultimodalSplit,
    Splits,
    load_image_dataset,
    load_image_text,
    load_mnist_pairs,
    load_mnist_svhn_pairs,
    load_svhn,
)
from vsae.data.masking import (
    always_observed_count,
    apply_mask,
    as_rng,
    expected_modality_missing_rate,
    mar_mask,
    mcar_mask,
    minmax_scale_observed,
    missing_ratio,
    modality_mcar_mask,
    nmar_mask,
)
from vsae.data.paths import DATA_ENV_VAR, data_dir, require_file
from vsae.data.protocol import MaskedSplit, masked_split
from vsae.data.sklearn_tables import SKLEARN_DATASETS, load_sklearn_table
from vsae.data.uci import UCI_DATASETS, UCITable, load_manifest, load_uci, train_test_split_indices

__all__ = [
    "DATA_ENV_VAR",
    "IMAGE_DATASETS",
    "MNIST_DIGIT_PAIRS",
    "SKLEARN_DATASETS",
    "UCI_DATASETS",
    "ImageDataset",
    "MaskedSplit",
    "MultimodalSplit",
    "Splits",
    "UCITable",
    "always_observed_count",
    "apply_mask",
    "as_rng",
    "data_dir",
    "expected_modality_missing_rate",
    "load_image_dataset",
    "load_image_text",
    "load_manifest",
    "load_mnist_pairs",
    "load_mnist_svhn_pairs",
    "load_sklearn_table",
    "load_svhn",
    "load_uci",
    "mar_mask",
    "masked_split",
    "mcar_mask",
    "minmax_scale_observed",
    "missing_ratio",
    "modality_mcar_mask",
    "nmar_mask",
    "require_file",
    "train_test_split_indices",
]
