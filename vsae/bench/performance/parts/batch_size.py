"""Part ``batch_size``: fit time and accuracy of ``VSAEImputer`` per batch size (time to accuracy)."""

from __future__ import annotations

import time
from typing import Any

from vsae.bench.performance.parts.uci import accuracy
from vsae.bench.performance.sizes import UCI_RATIO, UCI_SEED, Sizes
from vsae.data import load_uci, masked_split
from vsae.imputer import VSAEImputer


def bench_batch_size(sizes: Sizes) -> dict[str, Any]:
    """Fit time and accuracy of ``VSAEImputer`` per batch size on one table (time to accuracy)."""
    table = load_uci(sizes.batch_size_dataset)
    split = masked_split(table.frame, seed=UCI_SEED, missing_rate=UCI_RATIO)
    results: dict[str, Any] = {"dataset": table.name, "seed": UCI_SEED, "ratio": UCI_RATIO, "runs": {}}
    for batch_size in sizes.batch_sizes:
        params: dict[str, Any] = {"batch_size": batch_size, "random_state": UCI_SEED, "device": "cpu"}
        if sizes.batch_size_epochs is not None:
            params["epochs"] = sizes.batch_size_epochs
        start = time.perf_counter()
        imputer = VSAEImputer(**params).fit(split.train_masked)
        fit_seconds = time.perf_counter() - start
        scores = [e.get("validation_score", e.get("selection_score")) for e in imputer.history_.epochs]
        epochs = len(scores)
        best = min(scores)
        # Estimated wall time at the first epoch within 1% of the best validation score.
        reached = next(i for i, s in enumerate(scores) if s <= best * 1.01 + 1e-12)
        results["runs"][str(batch_size)] = {
            "fit_seconds": fit_seconds,
            "epochs_run": epochs,
            "best_epoch": imputer.history_.best_epoch,
            "seconds_per_epoch": fit_seconds / epochs,
            "seconds_to_within_1pct_of_best": fit_seconds * (reached + 1) / epochs,
            "validation_scores": scores,
            **accuracy(table, split, imputer.transform(split.test_masked)),
        }
    return results
