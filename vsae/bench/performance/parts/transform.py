"""Parts ``transform`` and ``chunks``: ``VSAEImputer.transform`` of a large table, time and peak memory.

Each measurement runs in a fresh Python process (:func:`transform_worker`), so that its memory
figures are its own.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import torch

import vsae
from vsae import inference
from vsae.bench.performance.harness import spread
from vsae.bench.performance.sizes import Sizes
from vsae.bench.performance.synthetic import MISSING_RATE, synthetic_table
from vsae.imputer import VSAEImputer


def _process_memory() -> dict[str, int]:
    """Current and peak resident memory of this process in bytes (Linux ``/proc/self/status``)."""
    values: dict[str, int] = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) * 1024
    return values


def _reset_peak_memory() -> bool:
    """Reset the kernel's peak-RSS mark to the current RSS; False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def transform_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Fit briefly on a subset, then time ``transform`` of a large table and measure its peak memory.

    Runs in a fresh process (see :func:`_run_worker`). Peak memory is that of the *first* transform:
    the kernel's peak-RSS mark is reset right before it and read right after, minus the RSS before
    (input, model and interpreter already resident). Later repeats are timed only: memory freed by
    the first stays in the allocator's heap, so their RSS figures would understate the peak.
    ``tracemalloc`` adds the peak of NumPy/pandas allocations (torch's own allocations are not traced).
    """
    if spec["threads"]:
        torch.set_num_threads(spec["threads"])
    if spec["chunk_rows"] is not None:
        inference.CHUNK_ROWS = spec["chunk_rows"]
    frame = synthetic_table(spec["rows"], spec["columns"], MISSING_RATE, seed=3)
    imputer = VSAEImputer(epochs=spec["fit_epochs"], random_state=0, device="cpu")
    imputer.fit(frame.iloc[: spec["fit_rows"]])
    input_bytes = int(frame.memory_usage(deep=True).sum())
    seconds, user, system = [], [], []
    peak = 0
    exact = True
    for repeat in range(spec["repeats"]):
        gc.collect()
        if repeat == 0:
            exact = _reset_peak_memory()
            before = _process_memory()["VmRSS"]
        usage = resource.getrusage(resource.RUSAGE_SELF)
        start = time.perf_counter()
        out = imputer.transform(frame)
        seconds.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_SELF)
        user.append(after.ru_utime - usage.ru_utime)
        system.append(after.ru_stime - usage.ru_stime)
        if repeat == 0:
            high = _process_memory()["VmHWM"] if exact else after.ru_maxrss * 1024
            peak = high - before
        if out.isna().to_numpy().any():
            raise RuntimeError("transform left a missing cell")
        del out
    gc.collect()
    tracemalloc.start()
    imputer.transform(frame)
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "rows": spec["rows"],
        "columns": spec["columns"],
        "missing_rate": MISSING_RATE,
        "input_bytes": input_bytes,
        "fit_rows": spec["fit_rows"],
        "fit_epochs": spec["fit_epochs"],
        "threads": torch.get_num_threads(),
        "chunk_rows": inference.CHUNK_ROWS,
        "seconds": spread(seconds),
        "raw_seconds": seconds,
        "rows_per_s": spread([spec["rows"] / s for s in seconds]),
        # CPU seconds are less sensitive to other processes than wall time; system time is mostly
        # page faults of freshly mapped memory.
        "cpu_user_seconds": spread(user),
        "cpu_system_seconds": spread(system),
        "peak_bytes_above_baseline": peak,
        "peak_over_input": peak / input_bytes,
        "peak_method": "VmHWM reset" if exact else "ru_maxrss (lifetime peak, an upper bound)",
        "tracemalloc_peak_bytes": traced_peak,
        "tracemalloc_peak_over_input": traced_peak / input_bytes,
    }


def _run_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """:func:`transform_worker` in a fresh Python process, so that its memory figures are its own."""
    package_root = str(Path(vsae.__file__).resolve().parents[1])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])),
    }
    with tempfile.TemporaryDirectory() as folder:
        result_path = Path(folder) / "result.json"
        code = (
            "import json, sys; from vsae.bench.performance.parts.transform import transform_worker; "
            "json.dump(transform_worker(json.loads(sys.argv[1])), open(sys.argv[2], 'w'))"
        )
        completed = subprocess.run(
            [sys.executable, "-c", code, json.dumps(spec), str(result_path)],
            env=env,
            capture_output=True,
            text=True,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"the transform worker failed:\n{completed.stderr[-4000:]}")
        return json.loads(result_path.read_text())


def bench_transform(sizes: Sizes, threads: int | None) -> dict[str, Any]:
    """``transform`` of ``transform_rows`` × ``transform_columns`` at the library's chunk size."""
    return {
        "runs": [
            _run_worker(
                {
                    "rows": sizes.transform_rows,
                    "columns": sizes.transform_columns,
                    "fit_rows": sizes.fit_rows,
                    "fit_epochs": sizes.fit_epochs,
                    "repeats": sizes.transform_repeats,
                    "chunk_rows": None,
                    "threads": threads,
                }
            )
        ]
    }


def bench_chunks(sizes: Sizes, threads: int | None) -> dict[str, Any]:
    """``transform`` time and peak memory for several chunk sizes (one fresh process each)."""
    return {
        "runs": [
            _run_worker(
                {
                    "rows": sizes.chunk_table_rows,
                    "columns": sizes.transform_columns,
                    "fit_rows": min(sizes.fit_rows, sizes.chunk_table_rows),
                    "fit_epochs": sizes.fit_epochs,
                    "repeats": sizes.transform_repeats,
                    "chunk_rows": chunk,
                    "threads": threads,
                }
            )
            for chunk in sizes.chunk_rows
        ]
    }
