"""End-to-end time of ``vsae impute`` on a 150-row, 5-column CSV, and the CLI's import time.

The table is the first 150 rows of UCI yeast (4 numerical columns and the categorical localization)
with 20% of its cells removed completely at random (seed 0). Each repetition is a fresh process, as
a user's command is: ``vsae impute small.csv -o out.csv`` (import, read, fit, impute, write), timed
from outside. The import time is ``python -X importtime -c "import vsae.cli"`` (cumulative time of
the ``vsae.cli`` import) and the wall time of ``python -c "import vsae.cli"``.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/small_table.py --repeats 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "data" / "flights" / "small_table.json"


def make_table(path: Path) -> None:
    base = Path(os.environ.get("VSAE_DATA", ROOT.parent / "shared" / "data"))
    frame = pd.read_csv(base / "uci" / "yeast.csv")[["mcg", "gvh", "alm", "mit", "localization"]].head(150)
    observed = np.random.default_rng(0).random(frame.shape) >= 0.2
    frame.mask(~observed).to_csv(path, index=False)


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def import_microseconds() -> int:
    """Cumulative import time of vsae.cli reported by ``-X importtime``."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import vsae.cli"],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = [line for line in done.stderr.splitlines() if line.rstrip().endswith("| vsae.cli")]
    return int(lines[-1].split("|")[1])


def summary(values: list[float]) -> dict[str, float]:
    return {
        "min": round(min(values), 3),
        "median": round(statistics.median(values), 3),
        "max": round(max(values), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    vsae = str(Path(sys.executable).with_name("vsae"))
    with tempfile.TemporaryDirectory() as folder:
        table = Path(folder) / "small.csv"
        make_table(table)
        impute = [vsae, "impute", str(table), "-o", str(Path(folder) / "out.csv")]
        end_to_end = [timed(impute) for _ in range(args.repeats)]
    import_wall = [timed([sys.executable, "-c", "import vsae.cli"]) for _ in range(args.repeats)]
    import_self = [import_microseconds() / 1e6 for _ in range(args.repeats)]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    result = {
        "table": "yeast, first 150 rows, columns mcg/gvh/alm/mit/localization, 20% MCAR",
        "command": "vsae impute small.csv -o out.csv",
        "repeats": args.repeats,
        "end_to_end_seconds": summary(end_to_end),
        "import_vsae_cli_wall_seconds": summary(import_wall),
        "import_vsae_cli_importtime_seconds": summary(import_self),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        "commit": commit.stdout.strip(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
