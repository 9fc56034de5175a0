"""What the "other" class does to accuracy on flights' tailnum (4,044 levels).

On a subsample of flights (a further 30% of observed cells hidden, as in ``benchmarks/flights.py``),
VSAE is fitted with categorical columns cut to ``--max-levels`` classes (``none`` keeps every level,
the behaviour before the cut-off) and scored on the hidden cells; also recorded: the encoded width,
fit + impute wall time and peak resident memory of the process. One JSON file per setting in
``docs/data/flights/levels/``.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/flights_levels.py 30000 --max-levels none --epochs 30
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import flights
import torch

from vsae import imputer as imputer_module
from vsae.imputer import VSAEImputer
from vsae.schema import infer_table_schema

OUT = flights.CELLS / "levels"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int)
    parser.add_argument("--max-levels", default="100")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()
    max_levels = None if args.max_levels == "none" else int(args.max_levels)
    torch.set_num_threads(1)
    meta = flights.environment()
    truth = flights.load(args.rows)
    masked, hidden = flights.hide(truth)
    imputer_module.infer_table_schema = functools.partial(infer_table_schema, max_levels=max_levels)
    start = time.perf_counter()
    imputer = VSAEImputer(random_state=flights.SEED, epochs=args.epochs, batch_size=args.batch_size)
    imputed = imputer.fit_transform(masked)
    seconds = time.perf_counter() - start
    tail = imputer.schema_.modalities[list(masked.columns).index("tailnum")]
    result = {
        "rows": args.rows,
        "max_levels": max_levels,
        "epochs_budget": args.epochs,
        "batch_size": args.batch_size,
        "epochs_run": len(imputer.history_.epochs),
        "best_epoch": imputer.history_.best_epoch,
        "tailnum_classes": tail.width,
        "tailnum_levels_observed": int(masked["tailnum"].nunique()),
        "encoded_width": imputer.schema_.total_width,
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        **flights.score(truth, imputed, hidden),
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        **meta,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    name = f"n{args.rows}_k{args.max_levels}_e{args.epochs}_b{args.batch_size}.json"
    (OUT / name).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
