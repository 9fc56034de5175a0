"""MNIST+MNIST imputation with and without modality dropout (the measurement behind docs/model.md).

    VSAE_DATA=../shared/data python benchmarks/mnist_dropout.py N_TRAIN EPOCHS LR BINARY_LOSS DROPOUT WARMUP
    # as run: ... 23257 40 1e-3 bce 0.5 5   and   ... 23257 40 1e-3 bce 0.0 20

Trains on the first N_TRAIN training pairs (50% modality MCAR, seed 0) and prints the per-pixel MSE of
each imputed modality on the first 2000 test pairs, next to the global mean image of the observed
training images of that modality.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch

from vsae.data import load_mnist_pairs, modality_mcar_mask
from vsae.metrics import modality_mse
from vsae.model.vsae import VSAEConfig
from vsae.multimodal import MultimodalVSAE
from vsae.train import TrainConfig

TEST_PAIRS = 2000


def main(
    n_train: int, epochs: int, learning_rate: float, binary_loss: str, dropout: float, warmup: int
) -> None:
    torch.set_num_threads(1)
    splits = load_mnist_pairs(seed=0)
    train = {k: v[:n_train] for k, v in splits.train.modalities.items()}
    test = {k: v[:TEST_PAIRS] for k, v in splits.test.modalities.items()}
    train_observed = modality_mcar_mask(n_train, 2, 0.5, 0)
    test_observed = modality_mcar_mask(TEST_PAIRS, 2, 0.5, 1)
    start = time.perf_counter()
    model = MultimodalVSAE(
        kinds={"digit": "image", "partner": "image"},
        model_config=VSAEConfig.for_images(binary_loss=binary_loss),
        train_config=TrainConfig(
            epochs=epochs,
            learning_rate=learning_rate,
            patience=10,
            modality_dropout=dropout,
            warmup_epochs=warmup,
        ),
    ).fit(train, train_observed)
    history = model.history_
    print(
        f"fit {time.perf_counter() - start:.0f} s, best epoch {history.best_epoch} of {len(history.epochs)}"
    )
    print("best validation score", min(e["validation_score"] for e in history.epochs))
    imputed = model.impute(test, test_observed)
    for index, name in enumerate(["digit", "partner"]):
        missing = ~test_observed[:, index]
        global_mean = np.broadcast_to(train[name][train_observed[:, index]].mean(0), test[name].shape)
        print(
            name,
            "vsae",
            modality_mse(test[name], imputed[name], missing),
            "global mean",
            modality_mse(test[name], global_mean, missing),
        )


if __name__ == "__main__":
    n, e, lr, loss, d, w = sys.argv[1:7]
    main(int(n), int(e), float(lr), loss, float(d), int(w))
