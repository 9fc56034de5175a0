"""The results of a performance run as Markdown tables (min / median / max where repeated)."""

from __future__ import annotations

import statistics
from typing import Any

import numpy as np

from vsae.bench.performance.harness import spread


def _fmt(summary: dict[str, float], scale: float = 1.0, digits: int = 0) -> str:
    return " / ".join(f"{summary[k] * scale:,.{digits}f}" for k in ("min", "median", "max"))


def markdown_summary(results: dict[str, Any]) -> str:
    """The figures of ``results`` as Markdown tables (min / median / max where repeated)."""
    lines: list[str] = []
    if "train" in results:
        lines += [
            "### Training step, samples/s (min / median / max); time ratio to batched VSAE (median)",
            "",
            "| setting | variant | samples/s | time ÷ vsae |",
            "|---|---|---|---|",
        ]
        for setting, data in results["train"].items():
            for variant, figures in data["variants"].items():
                ratio = data["ratios"].get(f"{variant}_over_vsae", {"median": 1.0})["median"]
                lines.append(f"| {setting} | {variant} | {_fmt(figures['samples_per_s'])} | {ratio:.2f} |")
        lines.append("")
    if "encoders" in results:
        lines += [
            "### Unimodal encoders alone, forward + backward, ms (min / median / max)",
            "",
            "| setting | implementation | ms | time ÷ grouped bmm (median) |",
            "|---|---|---|---|",
        ]
        for setting, data in results["encoders"].items():
            for name, figures in data["step_seconds"].items():
                ratio = data["ratios"].get(f"{name}_over_grouped_bmm", {"median": 1.0})["median"]
                lines.append(f"| {setting} | {name} | {_fmt(figures, 1e3, 2)} | {ratio:.2f} |")
        lines.append("")
    if "batching" in results:
        data = results["batching"]
        lines += [
            "### Batching, seconds per epoch (min / median / max)",
            "",
            "| loop | seconds |",
            "|---|---|",
        ]
        lines += [f"| {k} | {_fmt(v, digits=4)} |" for k, v in data["seconds"].items()]
        lines.append("")
    if "compile" in results:
        lines += [
            "### torch.compile, ms per step (min / median / max)",
            "",
            "| setting | mode | first step s | ms/step |",
            "|---|---|---|---|",
        ]
        for setting, data in results["compile"].items():
            for mode, figures in data["step_seconds"].items():
                lines.append(
                    f"| {setting} | {mode} | {data['first_step_seconds'][mode]:.1f} "
                    f"| {_fmt(figures, 1e3, 1)} |"
                )
        lines.append("")
    if "batch_size" in results:
        data = results["batch_size"]
        lines += [
            f"### Batch size on {data['dataset']} (seed {data['seed']}, ratio {data['ratio']})",
            "",
            "| batch | fit s | epochs | best epoch | s to within 1% of best | test error |",
            "|---|---|---|---|---|---|",
        ]
        for batch, run in data["runs"].items():
            error = run.get("nrmse", run.get("pfc"))
            lines.append(
                f"| {batch} | {run['fit_seconds']:.1f} | {run['epochs_run']} | {run['best_epoch']} "
                f"| {run['seconds_to_within_1pct_of_best']:.1f} | {error:.4f} |"
            )
        lines.append("")
    for part in ("chunks", "transform"):
        if part not in results:
            continue
        lines += [
            f"### {part}: VSAEImputer.transform, seconds (min / median / max), memory of the first call",
            "",
            "| rows × columns | input MiB | chunk rows | seconds | rows/s (median) | CPU user / system s "
            "(median) | peak RSS ÷ input | traced ÷ input |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for run in results[part]["runs"]:
            lines.append(
                f"| {run['rows']:,} × {run['columns']} | {run['input_bytes'] / 2**20:,.0f} "
                f"| {run['chunk_rows']:,} | {_fmt(run['seconds'], digits=2)} "
                f"| {run['rows_per_s']['median']:,.0f} | {run['cpu_user_seconds']['median']:.1f} / "
                f"{run['cpu_system_seconds']['median']:.1f} | {run['peak_over_input']:.2f} "
                f"| {run['tracemalloc_peak_over_input']:.2f} |"
            )
        lines.append("")
    if results.get("uci"):
        lines += [
            "### UCI fit + impute (seed 0, 50% MCAR): seconds and test error (NRMSE or PFC)",
            "",
            "| dataset | method | fit + impute s | error | time ÷ MissForest |",
            "|---|---|---|---|---|",
        ]
        for run in results["uci"].values():
            forest = results["uci"].get(f"{run['dataset']}/missforest")
            share = f"{run['total_seconds'] / forest['total_seconds']:.3f}" if forest else "–"
            error = run.get("nrmse", run.get("pfc"))
            lines.append(
                f"| {run['dataset']} | {run['method']} | {run['total_seconds']:.1f} | {error:.4f} | {share} |"
            )
        lines.append("")
    if results.get("uci_cells"):
        lines += [
            f"### UCI fit + impute from the cells in {results['uci_cells']['cells']} (50% MCAR): seconds "
            "(min / median / max over seeds) and test error (NRMSE or PFC, mean ± std)",
            "",
            "| dataset | method | seeds | fit + impute s | error | time ÷ MissForest (per seed, median) |",
            "|---|---|---|---|---|---|",
        ]
        runs = results["uci_cells"]["runs"]
        for run in runs.values():
            forest = runs.get(f"{run['dataset']}/missforest")
            share = "–"
            if forest:
                forest_seconds = dict(zip(forest["seeds"], forest["total_seconds"], strict=True))
                shares = [
                    t / forest_seconds[seed]
                    for seed, t in zip(run["seeds"], run["total_seconds"], strict=True)
                    if seed in forest_seconds
                ]
                share = f"{statistics.median(shares):.3f}" if shares else "–"
            errors = np.asarray(run["errors"])
            std = f" ± {errors.std(ddof=1):.3f}" if errors.size > 1 else ""
            lines.append(
                f"| {run['dataset']} | {run['method']} | {len(run['seeds'])} "
                f"| {_fmt(spread(run['total_seconds']), digits=1)} | {errors.mean():.3f}{std} | {share} |"
            )
        lines.append("")
    return "\n".join(lines)
