"""Time-to-accuracy curves of VSAE on flights: validation error against wall time.

For one subsample of flights (a further 30% of observed cells hidden, as in ``benchmarks/flights.py``)
and one batch size / learning rate / epoch budget, VSAE is fitted with the library's trainer; the wall
time at the end of every epoch and that epoch's validation score (the trainer's own, on held-out
observed cells) are recorded, then the kept model's NRMSE/PFC on the hidden cells. One JSON file per
setting in ``docs/data/flights/budget/``.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/flights_budget.py 100000 --batch-size 1024 --epochs 30
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import flights
import torch

from vsae import train
from vsae.imputer import VSAEImputer

OUT = flights.CELLS / "budget"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--warmup-epochs", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    meta = flights.environment()
    truth = flights.load(args.rows)
    masked, hidden = flights.hide(truth)

    start = time.perf_counter()
    stamps: list[float] = []
    score = train.validation_score

    def timed_score(model, validation):  # type: ignore[no-untyped-def]
        value = score(model, validation)
        stamps.append(time.perf_counter() - start)
        return value

    train.validation_score = timed_score
    imputer = VSAEImputer(
        random_state=flights.SEED,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        epochs=args.epochs,
        warmup_epochs=args.warmup_epochs,
    )
    imputer.fit(masked)
    fit_seconds = time.perf_counter() - start
    imputed = imputer.transform(masked)
    seconds = time.perf_counter() - start
    epochs = imputer.history_.epochs
    result = {
        "rows": args.rows,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "epochs_budget": args.epochs,
        "warmup_epochs": args.warmup_epochs,
        "epochs_run": len(epochs),
        "best_epoch": imputer.history_.best_epoch,
        "fit_seconds": round(fit_seconds, 2),
        "seconds": round(seconds, 2),
        "curve": [
            {"epoch": e["epoch"], "seconds": round(t, 2), "validation_score": e.get("validation_score")}
            for e, t in zip(epochs, stamps, strict=False)
        ],
        **flights.score(truth, imputed, hidden),
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        **meta,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    name = (
        f"n{args.rows}_b{args.batch_size}_lr{args.learning_rate:g}_e{args.epochs}_w{args.warmup_epochs}.json"
    )
    (OUT / name).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "curve"}, indent=2))


if __name__ == "__main__":
    main()
