"""Generate ``docs/results.md`` from the benchmark's JSON cells.

Every number in the report is read from a cell (:mod:`vsae.bench.cells`) or from the paper's constants
in :mod:`vsae.bench.paper`; a cell that has not been computed is printed as "not run", a failed one as
"failed". Statements of where VSAE wins and loses are generated from the numbers by the rule of
:mod:`vsae.bench.comparison`. :class:`Report` has one method per section of the page.

Usage::

    python -m vsae.bench.report --cells runs/bench --out docs/results.md
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from vsae import budget
from vsae.bench.cells import DEFAULT_FIGURES, Cell, load_cells, preset_cells
from vsae.bench.comparison import (
    FAILED,
    NOT_RUN,
    StoredCells,
    best_computed,
    format_stat,
    method_label,
    outcome,
    tabular_metric,
    verdict,
    winning_mean,
)
from vsae.bench.paper import (
    PAPER_MASK_GENERATION,
    PAPER_TABLE_2,
    PAPER_TABLE_4,
    PAPER_TABLE_5,
    PAPER_TABLE_6,
    PAPER_TABLE_9,
    PAPER_TABLE_10,
    Figure,
    PaperTable,
)
from vsae.bench.plots import save_ratio_plot
from vsae.bench.presets import (
    BUDGETS,
    CATEGORICAL_UCI,
    CLASSICAL,
    DATASET_LABELS,
    DEFAULT_SEEDS,
    FIGURE_SEEDS,
    MNIST_PAIRS,
    NUMERICAL_UCI,
    PRESETS,
    REFERENCES,
    Preset,
)
from vsae.errors import VSAEError
from vsae.model.vsae import IMAGE_LABEL_DECODER_HIDDEN, IMAGE_LABEL_ENCODER_HIDDEN

FIGURE_2 = "figure2_ratios.png"


def format_paper(figure: Figure | None, digits: int) -> str:
    """The paper's ``mean ± std`` (``∆`` where it only bounds the deviation); "–" where it has none."""
    if figure is None:
        return "–"
    mean, std = figure
    return f"{mean:.{digits}f} ± " + ("∆" if std is None else f"{std:g}")


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


@dataclass
class Report:
    cells: StoredCells
    figures_dir: Path
    report_path: Path
    cells_dir: Path

    def link(self, path: Path) -> str:
        return Path(os.path.relpath(path, self.report_path.parent)).as_posix()

    def expected(self, preset: Preset) -> list[Cell]:
        seeds = FIGURE_SEEDS if preset.kind == "figures" else self.cells.seeds
        return preset_cells(preset, seeds)

    def status(self) -> str:
        rows = []
        for preset in PRESETS.values():
            cells = self.expected(preset)
            records = [self.cells.record(c) for c in cells]
            done = sum(1 for r in records if r is not None and "error" not in r)
            failed = sum(1 for r in records if r is not None and "error" in r)
            seeds = FIGURE_SEEDS if preset.kind == "figures" else self.cells.seeds
            command = f"vsae bench {preset.name} --seeds {' '.join(map(str, seeds))} --out {self.cells_dir}"
            rows.append(
                (f"`{preset.name}`", preset.title, f"{done} / {len(cells)}", str(failed), f"`{command}`")
            )
        return table(("preset", "reproduces", "cells done", "failed", "command (resumes)"), rows)

    def commands_and_versions(self) -> str:
        commands = sorted({r["command"] for r in self.cells.records.values()})
        versions = sorted({tuple(sorted(r["versions"].items())) for r in self.cells.records.values()})
        budgets = sorted({r["budget"] for r in self.cells.records.values()})
        lines = [
            f"Budget of the cells: {', '.join(budgets) or 'none'}.",
            "",
            "Commands that computed the cells (each cell stores its own):",
            "",
        ]
        lines += [f"- `{command}`" for command in commands] or ["- none yet"]
        lines += ["", "Library versions recorded in the cells:", ""]
        for entry in versions:
            lines.append("- " + ", ".join(f"{k} {v}" for k, v in entry))
        return "\n".join(lines)

    def uci_table(self, datasets: Sequence[str], metric: str, paper: PaperTable | None, digits: int) -> str:
        preset = PRESETS["uci"]
        setting = preset.settings[0]
        header = ["method"]
        for dataset in datasets:
            header += [dataset] + ([f"{dataset} (paper)"] if paper else [])
        rows = []
        for method in preset.methods:
            row = [method_label(method)]
            for dataset in datasets:
                row.append(format_stat(self.cells.metric(dataset, setting, method, metric), digits))
                if paper:
                    row.append(format_paper(paper.values.get(method, {}).get(dataset), digits))
            rows.append(row)
        return table(header, rows)

    def uci_costs(self) -> str:
        preset = PRESETS["uci"]
        setting = preset.settings[0]
        rows = []
        for method in preset.methods:
            row = [method_label(method)]
            for dataset in preset.datasets:
                fit = self.cells.stat(dataset, setting, method, lambda r: r.get("fit_seconds"))
                impute = self.cells.stat(dataset, setting, method, lambda r: r.get("impute_seconds"))
                if not fit.values:
                    row.append(format_stat(fit, 1))
                    continue
                row.append(f"{fit.mean:.1f} ({impute.mean:.2f})")
            rows.append(row)
        return table(["method", *preset.datasets], rows)

    def parameter_table(self, preset: Preset, kind: str) -> str:
        setting = next(s for s in preset.settings if s.key == "mcar-0.5")
        rows = []
        for method in preset.methods:
            row = [method_label(method)]
            for dataset in preset.datasets:
                stat = self.cells.stat(dataset, setting, method, lambda r: r.get("n_parameters"), kind)
                row.append(f"{int(max(stat.values)):,}" if stat.values else "–")
            if any(cell != "–" for cell in row[1:]):
                rows.append(row)
        return table(["method", *(DATASET_LABELS[d] for d in preset.datasets)], rows)

    def uci_verdicts(self) -> list[str]:
        preset = PRESETS["uci"]
        setting = preset.settings[0]
        lines = []
        for dataset in preset.datasets:
            metric = tabular_metric(dataset)
            stats = {m: self.cells.metric(dataset, setting, m, metric) for m in preset.methods}
            line = verdict(f"**{dataset}** ({metric.upper()}, MCAR 0.5)", stats, 3)
            if line:
                lines.append(line)
        return lines

    def classical_tally(self) -> str:
        """VSAE against each classical peer over every tabular setting (UCI tables at every MCAR ratio,
        yeast under MAR and NMAR): in how many it wins, ties and loses, naming the losses."""
        ratios, mechanisms = PRESETS["ratios"], PRESETS["mechanisms"]
        settings = [(d, s) for d in ratios.datasets for s in ratios.settings]
        settings += [
            (d, s) for d in mechanisms.datasets for s in mechanisms.settings if (d, s) not in settings
        ]
        lines = []
        for peer in CLASSICAL:
            results: dict[str, list[str]] = {"win": [], "tie": [], "loss": []}
            for dataset, setting in settings:
                metric = tabular_metric(dataset)
                ours = self.cells.metric(dataset, setting, "vsae", metric)
                theirs = self.cells.metric(dataset, setting, peer, metric)
                if ours.values and theirs.values:
                    results[outcome(ours, theirs)].append(f"{dataset} {setting.label}")
            compared = sum(len(names) for names in results.values())
            line = (
                f"- against {method_label(peer)}: compared in {compared} of {len(settings)} settings; VSAE "
                f"wins {len(results['win'])}, ties {len(results['tie'])}, loses {len(results['loss'])}"
            )
            if results["loss"]:
                line += " (" + ", ".join(results["loss"]) + ")"
            lines.append(line + ".")
        return "\n".join(lines)

    def defaults_comparison(self) -> tuple[list[tuple[str, str, str]], int]:
        """Per table and setting of the ``defaults`` preset: VSAE's verdict against the best classical
        peer (the one with the lowest mean), as ``(dataset, setting label, outcome)``; and how many
        (dataset, setting) pairs are expected."""
        preset = PRESETS["defaults"]
        outcomes, expected = [], 0
        for dataset in preset.datasets:
            metric = tabular_metric(dataset)
            for setting in preset.settings:
                expected += 1
                ours = self.cells.metric(dataset, setting, "vsae", metric)
                peers = {m: self.cells.metric(dataset, setting, m, metric) for m in CLASSICAL}
                best = best_computed(peers)
                if ours.values and best is not None:
                    outcomes.append((dataset, setting.label, outcome(ours, peers[best])))
        return outcomes, expected

    def defaults_summary(self) -> str:
        """One paragraph: the default against the best classical peer on every table and setting."""
        outcomes, expected = self.defaults_comparison()
        if not outcomes:
            return "The default has not been compared with the classical peers yet."
        counts = {kind: [f"{d} {s}" for d, s, o in outcomes if o == kind] for kind in ("win", "tie", "loss")}
        text = (
            f"Against the best of mean/mode, KNN, MICE and MissForest on each of {len(outcomes)} "
            f"table-settings (of {expected}: the six UCI tables and scikit-learn's diabetes, breast_cancer, "
            f"wine and iris at MCAR 0.3 and 0.5, seeds {', '.join(map(str, self.cells.seeds))}), the default "
            f"VSAE is better on {len(counts['win'])}, tied on {len(counts['tie'])} and worse on "
            f"{len(counts['loss'])}"
        )
        if counts["loss"]:
            text += " (" + ", ".join(counts["loss"]) + ")"
        return text + "."

    def where_it_stands(self) -> str:
        """The README's short statement: accuracy against the peers and the calibration of the
        uncertainty, over the ``defaults`` preset's cells."""
        preset = PRESETS["defaults"]
        peer = PRESETS["uncertainty"].methods[0]

        def setting_means(method: str, key: str) -> list[float]:
            """The seed mean of ``key`` in each setting that has it: a single seed's coverage
            on a small table's few dozen cells swings by several points, the seed mean is what the
            target is stated for."""
            found = []
            for dataset in preset.datasets:
                for setting in preset.settings:
                    stat = self.cells.stat(
                        dataset, setting, method, lambda r: r.get("uncertainty", {}).get(key)
                    )
                    if stat.values:
                        found.append(stat.mean)
            return found

        text = self.defaults_summary()
        ours, theirs = setting_means("vsae", "coverage_sd"), setting_means(peer, "coverage_sd")
        ece = setting_means("vsae", "ece")
        if ours:
            text += (
                f" Its ±1.96 × uncertainty intervals cover {min(ours):.2f}–{max(ours):.2f} of the true "
                f"missing numerical values in each setting, averaged over seeds "
                f"(median {np.median(ours):.2f}, nominal 0.95)"
            )
            if theirs:
                text += (
                    f"; IterativeImputer's posterior draws cover {min(theirs):.2f}–{max(theirs):.2f} "
                    f"(median {np.median(theirs):.2f})"
                )
            text += "."
        if ece:
            text += f" The expected calibration error of its class probabilities is {min(ece):.3f}–"
            text += f"{max(ece):.3f}."
        return " ".join(part for part in (text, self.image_label_summary()) if part)

    def image_label_summary(self) -> str:
        """One sentence: VSAE's label PFC and image error on image + label data, each against the best
        other method that learns from partially observed data (references excluded), by the tallies'
        rule; empty while VSAE's cells are missing."""
        preset = PRESETS["image_text"]
        setting = preset.settings[0]
        others = [m for m in preset.methods if m != "vsae" and m not in REFERENCES]
        measures = (("text_pfc", "label PFC", 3), ("image_mse_per_image", "image error", 2))
        parts = []
        for dataset in preset.datasets:
            found = []
            for metric, name, digits in measures:
                ours = self.cells.metric(dataset, setting, "vsae", metric, "image")
                stats = {m: self.cells.metric(dataset, setting, m, metric, "image") for m in others}
                best = best_computed(stats)
                if ours.values and best is not None:
                    found.append(
                        f"{name} {ours.mean:.{digits}f} against {method_label(best)}'s "
                        f"{stats[best].mean:.{digits}f} ({outcome(ours, stats[best])})"
                    )
            if found:
                parts.append(f"{DATASET_LABELS[dataset]}: " + ", ".join(found))
        if not parts:
            return ""
        seeds = ", ".join(map(str, self.cells.seeds))
        return (
            f"On image + label data (Table 10, seeds {seeds}; against the best other method that learns "
            f"from partial data; image error per image), {'; '.join(parts)}."
        )

    def defaults_section(self) -> str:
        """The default against every classical peer, and its intervals against the uncertainty peer."""
        preset = PRESETS["defaults"]
        rows, tie_changes = [], []
        for dataset in preset.datasets:
            metric = tabular_metric(dataset)
            for setting in preset.settings:
                stats = {m: self.cells.metric(dataset, setting, m, metric) for m in preset.methods}
                peers = {m: s for m, s in stats.items() if m != "vsae"}
                best = best_computed(peers)
                verdict_text = needed_text = "–"
                if best is not None and stats["vsae"].values:
                    result = outcome(stats["vsae"], peers[best])
                    verdict_text = f"{result} vs {method_label(best)}"
                    needed = winning_mean(stats["vsae"], peers[best])
                    change = needed / stats["vsae"].mean - 1
                    needed_text = f"{needed:.3f} ({change:+.1%})"
                    if result == "tie":
                        tie_changes.append(change)
                rows.append(
                    [dataset, setting.label, metric.upper()]
                    + [format_stat(stats[m], 3) for m in preset.methods]
                    + [verdict_text, needed_text]
                )
        header = [
            "table",
            "setting",
            "metric",
            *(method_label(m) for m in preset.methods),
            "VSAE vs best peer",
            "VSAE mean that would win (change)",
        ]
        accuracy = table(header, rows)
        if tie_changes:
            accuracy += (
                "\n\nThe last column applies the rule of the tallies (a difference counts when it exceeds "
                "the larger standard deviation over seeds) with today's standard deviations: in the "
                f"{len(tie_changes)} ties a win needs a mean error {-max(tie_changes):.1%} to "
                f"{-min(tie_changes):.1%} lower than VSAE's (median {-float(np.median(tie_changes)):.1%})."
            )

        def uncertainty(dataset: str, setting: Any, method: str, key: str) -> str:
            stat = self.cells.stat(dataset, setting, method, lambda r: r.get("uncertainty", {}).get(key))
            return format_stat(stat, 3)

        def scored_cells(dataset: str, setting: Any) -> str:
            """The scored cells behind a coverage, summed over seeds, with the binomial standard
            error of a true 0.95 coverage measured on that many cells."""
            stat = self.cells.stat(
                dataset, setting, "vsae", lambda r: r.get("missing_ratio", {}).get("scored_cells")
            )
            if not stat.values:
                return "–"
            cells = int(sum(stat.values))
            return f"{cells} (±{math.sqrt(0.95 * 0.05 / cells):.3f})"

        peer = PRESETS["uncertainty"].methods[0]
        coverage_rows, ece_rows = [], []
        for dataset in preset.datasets:
            for setting in preset.settings:
                if tabular_metric(dataset) == "nrmse":
                    coverage_rows.append(
                        [dataset, setting.label]
                        + [
                            uncertainty(dataset, setting, "vsae", k)
                            for k in ("coverage_sd", "coverage_draws")
                        ]
                        + [uncertainty(dataset, setting, peer, k) for k in ("coverage_sd", "coverage_draws")]
                        + [scored_cells(dataset, setting)]
                    )
                else:
                    ece_rows.append(
                        [dataset, setting.label]
                        + [uncertainty(dataset, setting, "vsae", k) for k in ("ece", "ece_if_calibrated")]
                    )
        coverage = table(
            [
                "table",
                "setting",
                "VSAE ±1.96 × uncertainty",
                "VSAE 95% range of 50 draws",
                f"{method_label(peer)} ±1.96 × std",
                f"{method_label(peer)} 95% range of 50 draws",
                "scored cells, all seeds (s.e. of a 0.95 coverage)",
            ],
            coverage_rows,
        )
        ece = table(
            [
                "table",
                "setting",
                "VSAE expected calibration error",
                "a perfectly calibrated predictor's, same confidences",
            ],
            ece_rows,
        )
        return "\n\n".join(
            [
                self.defaults_summary(),
                accuracy,
                "Coverage of the true values of the scored (missing) numerical test cells by the nominal "
                "95% intervals (target 0.93–0.97 for ±1.96 × uncertainty; a perfectly calibrated sampler's "
                "95% range of 50 draws covers 0.915 of new values, see docs/model.md; the last column "
                "says how precisely the test cells measure a coverage):",
                coverage,
                "Expected calibration error (10 equal-width bins) of the class probabilities of the scored "
                "categorical test cells (target ≤ 0.05), beside the ECE a perfectly calibrated predictor "
                "with the same confidences scores in expectation (each cell right with probability its "
                "confidence, 200 draws; `vsae.metrics.calibrated_expected_calibration_error`): on few "
                "cells the ECE is biased upwards, and a measured ECE near that reference cannot be told "
                "from chance:",
                ece,
            ]
        )

    def scale_note(self) -> str:
        """Which NRMSE definition puts the paper's Table 5 on our scale, decided from the numbers."""
        setting = PRESETS["uci"].settings[0]
        rows, sentences = [], []
        for dataset in NUMERICAL_UCI:
            paper_values = [v[dataset][0] for v in PAPER_TABLE_5.values.values() if dataset in v]
            paper_vsae = PAPER_TABLE_5.values["vsae"][dataset][0]
            ours = {
                form: {m: self.cells.metric(dataset, setting, m, form) for m in ("mean", "vsae")}
                for form in ("nrmse", "nrmse_pooled")
            }
            row = [dataset, f"{min(paper_values):.3f} – {max(paper_values):.3f}", f"{paper_vsae:.3f}"]
            for form in ("nrmse", "nrmse_pooled"):
                row += [format_stat(ours[form]["mean"], 3), format_stat(ours[form]["vsae"], 3)]
            rows.append(row)
            reference = (
                "vsae" if ours["nrmse"]["vsae"].values and ours["nrmse_pooled"]["vsae"].values else "mean"
            )
            if not (ours["nrmse"][reference].values and ours["nrmse_pooled"][reference].values):
                sentences.append(f"- {dataset}: not run yet.")
                continue
            distance = {
                form: abs(math.log(ours[form][reference].mean / paper_vsae))
                for form in ("nrmse", "nrmse_pooled")
            }
            closer = min(distance, key=distance.__getitem__)
            name = {"nrmse": "per-column", "nrmse_pooled": "pooled"}
            text = (
                f"- {dataset}: the paper's VSAE reports {paper_vsae:.3f}; our {method_label(reference)} "
                f"scores {ours['nrmse'][reference].mean:.3f} per-column and "
                f"{ours['nrmse_pooled'][reference].mean:.3f} pooled, so the {name[closer]} form is closer "
                f"(factor {math.exp(distance[closer]):.2f} from the paper's figure)."
            )
            mean_values = [ours[form]["mean"].mean for form in ours if ours[form]["mean"].values]
            if mean_values and min(paper_values) > max(mean_values):
                text += (
                    f" Every method of the paper's table ({min(paper_values):.3f} and above) is worse than "
                    f"mean imputation under both of our definitions (at most {max(mean_values):.3f}): no "
                    "definition we know puts this column on our scale."
                )
            sentences.append(text)
        header = [
            "dataset",
            "paper, all methods",
            "paper VSAE",
            "ours per-column: mean imp.",
            "ours per-column: VSAE",
            "ours pooled: mean imp.",
            "ours pooled: VSAE",
        ]
        return table(header, rows) + "\n\n" + "\n".join(sentences)

    def ratios_section(self) -> tuple[str, list[str]]:
        preset = PRESETS["ratios"]
        panels: dict[str, tuple[str, dict[str, list[tuple[float, float, float]]]]] = {}
        rows, lines = [], []
        for dataset in preset.datasets:
            metric = tabular_metric(dataset)
            lines_of: dict[str, list[tuple[float, float, float]]] = {}
            for method in preset.methods:
                row = [dataset, method_label(method)]
                for setting in preset.settings:
                    stat = self.cells.metric(dataset, setting, method, metric)
                    row.append(format_stat(stat, 3))
                    if stat.values and setting.ratio is not None:
                        lines_of.setdefault(method_label(method), []).append(
                            (setting.ratio, stat.mean, stat.std or 0.0)
                        )
                rows.append(row)
            if lines_of:
                panels[dataset] = (metric.upper(), lines_of)
            for setting in preset.settings:
                if setting in PRESETS["uci"].settings:  # the same cells lead the Tables 4/5 statements
                    continue
                stats = {m: self.cells.metric(dataset, setting, m, metric) for m in preset.methods}
                line = verdict(f"**{dataset}** ({metric.upper()}, {setting.label})", stats, 3)
                if line:
                    lines.append(line)
        header = ["dataset", "method", *(s.label for s in preset.settings)]
        parts = []
        if panels:
            path = self.figures_dir / FIGURE_2
            save_ratio_plot(path, panels)
            parts.append(f"![Figure 2: error against missing ratio]({self.link(path)})")
        parts.append(table(header, rows))
        return "\n\n".join(parts), lines

    def mechanisms_section(self) -> tuple[str, list[str]]:
        preset = PRESETS["mechanisms"]
        dataset = preset.datasets[0]
        header = ["method"]
        for setting in preset.settings:
            header += [f"{setting.label} NRMSE", f"{setting.label} (paper)", f"{setting.label} pooled"]
        rows = []
        for method in preset.methods:
            row = [method_label(method)]
            for setting in preset.settings:
                row.append(format_stat(self.cells.metric(dataset, setting, method, "nrmse"), 3))
                row.append(format_paper(PAPER_TABLE_9.values.get(method, {}).get(setting.key), 3))
                row.append(format_stat(self.cells.metric(dataset, setting, method, "nrmse_pooled"), 3))
            rows.append(row)
        realised = []
        for setting in preset.settings:
            stats = [
                self.cells.stat(
                    dataset, setting, "vsae", lambda r, part=part: r.get("missing_ratio", {}).get(part)
                )
                for part in ("train", "test")
            ]
            realised.append(
                f"{setting.label}: train {format_stat(stats[0], 3)}, test {format_stat(stats[1], 3)}"
            )
        lines = [
            verdict(
                f"**{dataset}, {setting.label}** (NRMSE)",
                {m: self.cells.metric(dataset, setting, m, "nrmse") for m in preset.methods},
                3,
            )
            for setting in preset.settings
        ]
        text = (
            table(header, rows)
            + "\n\nRealised missing ratio (share of cells missing after masking, VSAE's cells): "
            + "; ".join(realised)
            + "."
        )
        return text, [line for line in lines if line]

    def mask_generation_section(self) -> str:
        preset = PRESETS["mask_generation"]
        rows = []
        per_setting: dict[str, list[float]] = {s.key: [] for s in preset.settings}
        for dataset in preset.datasets:
            row = [dataset]
            for setting in preset.settings:
                generated = self.cells.stat(
                    dataset, setting, "vsae", lambda r: r.get("generated_missing_ratio")
                )
                trained = self.cells.stat(
                    dataset, setting, "vsae", lambda r: r.get("missing_ratio", {}).get("train")
                )
                row.append(f"{format_stat(generated, 3)} (train {format_stat(trained, 3)})")
                if generated.values:
                    per_setting[setting.key].append(generated.mean)
            rows.append(row)
        average = ["mean over datasets"]
        paper = ["paper (§4.3, mean over datasets)"]
        for setting in preset.settings:
            values = per_setting[setting.key]
            average.append(
                f"{np.mean(values):.3f} ± {np.std(values, ddof=1):.3f} ({len(values)} datasets)"
                if len(values) > 1
                else NOT_RUN
                if not values
                else f"{values[0]:.3f} (1 dataset)"
            )
            paper.append(format_paper(PAPER_MASK_GENERATION.get(setting.key), 4))
        rows += [average, paper]
        rows_generated = BUDGETS["full"].generated_rows
        return (
            table(["dataset", *(s.label for s in preset.settings)], rows)
            + f"\n\nEach cell: share of unobserved entries in the masks of {rows_generated} rows generated "
            "from the prior (z ~ N(0, I), mask drawn from p(m | z)), mean ± std over seeds; in brackets the "
            "realised missing ratio of the training table the model learned from."
        )

    def mnist_pairs_section(self) -> tuple[str, list[str]]:
        preset = PRESETS["mnist_pairs"]
        half = next(s for s in preset.settings if s.key == "mcar-0.5")
        header = ["method", "digit MSE", "(paper)", "partner MSE", "(paper)", "combined", "(paper)"]
        rows = []
        for method in preset.methods:
            row = [method_label(method)]
            for metric, column in (
                ("digit_mse", "digit"),
                ("partner_mse", "partner"),
                ("combined", "combined"),
            ):
                row.append(format_stat(self.cells.metric(MNIST_PAIRS, half, method, metric, "image"), 4))
                row.append(format_paper(PAPER_TABLE_2.values.get(method, {}).get(column), 4))
            rows.append(row)
        ratio_header = ["method"]
        for setting in preset.settings:
            ratio_header += [f"{setting.label} combined", "(paper)"]
        ratio_rows = []
        for method in preset.methods:
            row = [method_label(method)]
            for setting in preset.settings:
                row.append(
                    format_stat(self.cells.metric(MNIST_PAIRS, setting, method, "combined", "image"), 4)
                )
                row.append(format_paper(PAPER_TABLE_6.values.get(method, {}).get(setting.key), 4))
            ratio_rows.append(row)
        realised = []
        for setting in preset.settings:
            stat = self.cells.stat(
                MNIST_PAIRS, setting, "global_mean", lambda r: r.get("missing_ratio", {}).get("test"), "image"
            )
            realised.append(f"{setting.label}: {format_stat(stat, 3)}")
        lines = [
            verdict(
                f"**MNIST+MNIST, {setting.label}** (combined MSE per pixel)",
                {m: self.cells.metric(MNIST_PAIRS, setting, m, "combined", "image") for m in preset.methods},
                4,
            )
            for setting in preset.settings
        ]
        text = "\n\n".join(
            [
                "Ratio 0.5 (Table 2), MSE per pixel of the missing modality, over the test pairs where it is "
                "missing:",
                table(header, rows),
                "All ratios (Table 6), combined error:",
                table(ratio_header, ratio_rows),
                "Realised share of missing modalities in the test masks (at least one modality is kept per "
                "pair): " + "; ".join(realised) + ".",
                "Wall time per fit in seconds (imputation of the test set in brackets), ratio 0.5:",
                self.image_costs(preset),
                "Parameters:",
                self.parameter_table(preset, "image"),
            ]
        )
        return text, [line for line in lines if line]

    def image_costs(self, preset: Preset) -> str:
        half = next(s for s in preset.settings if s.key == "mcar-0.5")
        rows = []
        for method in preset.methods:
            row = [method_label(method)]
            for dataset in preset.datasets:
                fit = self.cells.stat(dataset, half, method, lambda r: r.get("fit_seconds"), "image")
                impute = self.cells.stat(dataset, half, method, lambda r: r.get("impute_seconds"), "image")
                epochs = self.cells.stat(dataset, half, method, lambda r: r.get("epochs_run"), "image")
                text = format_stat(fit, 1) if not fit.values else f"{fit.mean:.1f} ({impute.mean:.1f})"
                if epochs.values:
                    text += f", {np.mean(epochs.values):.0f} epochs"
                row.append(text)
            rows.append(row)
        return table(["method", *(DATASET_LABELS[d] for d in preset.datasets)], rows)

    def image_text_section(self) -> tuple[str, list[str]]:
        preset = PRESETS["image_text"]
        setting = preset.settings[0]
        header = ["method"]
        for dataset in preset.datasets:
            label = DATASET_LABELS[dataset]
            header += [f"{label}: image MSE per image", "(paper)", f"{label}: label PFC", "(paper)"]
        rows = []
        for method in preset.methods:
            row = [method_label(method)]
            for dataset in preset.datasets:
                for metric, column, digits in (("image_mse_per_image", "image", 2), ("text_pfc", "text", 3)):
                    row.append(
                        format_stat(self.cells.metric(dataset, setting, method, metric, "image"), digits)
                    )
                    paper = PAPER_TABLE_10.values.get(method, {}).get(f"{dataset}/{column}")
                    row.append(format_paper(paper, digits))
            rows.append(row)
        lines = [
            verdict(
                f"**{DATASET_LABELS[dataset]}** ({name})",
                {m: self.cells.metric(dataset, setting, m, metric, "image") for m in preset.methods},
                digits,
            )
            for dataset in preset.datasets
            for metric, name, digits in (
                ("image_mse_per_image", "image MSE per image", 2),
                ("text_pfc", "label PFC", 3),
            )
        ]
        text = "\n\n".join(
            [
                table(header, rows),
                "Wall time per fit in seconds (imputation of the test set in brackets):",
                self.image_costs(preset),
            ]
        )
        return text, [line for line in lines if line]

    def figures_section(self) -> str:
        preset = PRESETS["figures"]
        parts = []
        for cell in self.expected(preset):
            record = self.cells.record(cell)
            if record is None or "error" in record:
                parts.append(f"Figures of seed {cell.seed}: {FAILED if record else NOT_RUN}.")
                continue
            titles = {
                "imputation": "Figure 3: observed modality, unobserved truth, VSAE imputation",
                "generation": "Figure 4: unconditional generation (digit | partner)",
                "draws": "Figure 7: observed digit and eight draws of its partner",
            }
            for key, name in sorted(record["figures"].items(), key=lambda item: list(titles).index(item[0])):
                parts.append(f"![{titles[key]}]({self.link(self.figures_dir / name)})")
            metrics = record["metrics"]
            parts.append(
                f"Digit pairing of unconditional samples (seed {cell.seed}, "
                f"{record['generated_rows']} samples): {metrics['generated_pairing_rate']:.3f} of generated "
                "pairs are classified as a valid pair by a nearest-class-mean classifier fitted on the "
                "training images; the same classifier finds "
                f"{metrics['real_test_pairing_rate']:.3f} on real test pairs, and chance is "
                f"{metrics['chance_pairing_rate']:.2f}."
            )
        return "\n\n".join(parts)


def _budget_text() -> str:
    full = BUDGETS["full"]
    image_training = ", ".join(f"{k}={v}" for k, v in full.image_training.items())
    return (
        "Tabular cells use the library defaults (`VSAEImputer()`, `NeuralBaselineImputer(method)`: at most "
        "200 epochs, early stopping with patience 20 on hidden observed validation cells, VSAE's first 20 "
        "epochs never kept; for tables VSAE trains without the Eq. 8 unobserved term, chosen by the "
        "ablation of docs/model.md; classical peers with their defaults, MissForest 100 trees × 10 "
        "rounds, √p columns per split). VSAE cells computed before that default record "
        "`unobserved_term: true` under `params`. On numerical tables of up to "
        f"{budget.ENSEMBLE_ROWS // 2:,} rows and tables with a categorical column of up to "
        f"{budget.CATEGORICAL_ENSEMBLE_ROWS // 2:,} rows the default VSAE is an ensemble of networks "
        "averaged (`ensemble_size='auto'`: 3 on every such table here; cells record `ensemble_members`); its "
        "parameter count is the ensemble's, and the neural baselines are "
        "widened to one network's. On tables where one mask of hidden validation cells would score fewer "
        "than 2,000 cells (every table here but mushroom at MCAR 0.3 and 0.5 and phishing) VSAE scores "
        "every observed held-out cell, under five complementary masks to which each row's observed cells "
        "are dealt in turn (`validation_masks='auto'`, `deal_validation_cells=True`, docs/model.md); "
        "those others score one mask, the selection their cells were computed with. "
        "Image cells train "
        f"every neural method with `TrainConfig({image_training})` and VSAE's "
        "image sizes (`VSAEConfig.for_modalities`: `for_images()`, with a "
        f"{IMAGE_LABEL_DECODER_HIDDEN}-wide data decoder and {IMAGE_LABEL_ENCODER_HIDDEN}-wide encoders for "
        "image + label data; baselines widened to at "
        "least VSAE's parameter count) on "
        "the full data: the paper trains up to 1000 epochs, which 2 CPU cores cannot afford (about 5 s per "
        "VSAE epoch on the 23257 MNIST+MNIST pairs), so the image numbers are those of a modest budget. "
        "VSAE's image cells were recomputed with the current defaults (modality dropout 0.3 and the "
        f"{IMAGE_LABEL_DECODER_HIDDEN}-wide data decoder and {IMAGE_LABEL_ENCODER_HIDDEN}-wide encoders for "
        "image + label data, docs/model.md), except "
        "the one behind the figures, "
        "and so were the baselines' image + label cells, at the new parameter count; the baselines' "
        "MNIST+MNIST cells come from earlier runs (their `params` have no `select_after_warmup`: the "
        "warm-up burn-in of VSAE's selection never applied to them). "
        "Every other setting is the library default, the same for every dataset of a data type (nothing "
        "is tuned per dataset); each cell records its settings under `params`."
    )


def render(cells_dir: Path, report_path: Path, figures_dir: Path, seeds: Sequence[int]) -> str:
    """The report's Markdown (writes Figure 2 into ``figures_dir`` as a side effect)."""
    report = Report(StoredCells(load_cells(cells_dir), seeds), figures_dir, report_path, cells_dir)
    uci_numeric = report.uci_table(NUMERICAL_UCI, "nrmse", PAPER_TABLE_5, 3)
    uci_pooled = report.uci_table(NUMERICAL_UCI, "nrmse_pooled", PAPER_TABLE_5, 3)
    uci_categorical = report.uci_table(CATEGORICAL_UCI, "pfc", PAPER_TABLE_4, 3)
    ratios, ratio_verdicts = report.ratios_section()
    mechanisms, mechanism_verdicts = report.mechanisms_section()
    mnist, mnist_verdicts = report.mnist_pairs_section()
    image_text, image_text_verdicts = report.image_text_section()
    verdicts = {
        "Tables 4/5, UCI at MCAR 0.5": report.uci_verdicts(),
        "Figure 2, UCI at MCAR 0.3 / 0.5 / 0.7": ratio_verdicts,
        "Tables 3/9, yeast under MCAR / MAR / NMAR": mechanism_verdicts,
        "Tables 2/6, MNIST+MNIST": mnist_verdicts,
        "Table 10, image + label": image_text_verdicts,
    }
    summary = []
    for title, lines in verdicts.items():
        summary += [f"**{title}**", "", *(lines or ["- not run yet."]), ""]
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    sections = [
        "# Reproduction of the paper's experiments",
        f"Generated by `python -m vsae.bench.report --cells {cells_dir} --out {report_path}` on {generated} "
        "from the JSON cells of `vsae bench` (one file per dataset, setting, method and seed). Do not edit "
        f"by hand. Numbers are mean ± sample standard deviation over seeds {', '.join(map(str, seeds))}; a "
        'cell not computed yet reads "not run". Lower is better everywhere. The paper\'s own figures '
        "(Gong et al., Tables 2/4/5/6/9/10, §4.3) are printed beside ours; ∆ marks a deviation the paper "
        "only bounds.",
        "## Status",
        report.status(),
        "MNIST+SVHN (paper Tables 2, 7 and 8) could not be run: SVHN's `train_32x32.mat` / `test_32x32.mat` "
        "are not available here. The loader exists (`vsae.data.load_mnist_svhn_pairs`) and is tested on a "
        "synthetic file of the same layout.",
        "## Protocol and budget",
        "docs/protocol.md: seeded 80/20 split, 20% of the training rows held out by each method for model "
        "selection on hidden *observed* cells, masks on train and test alike, fit on the masked training "
        'split, score the masked test cells on the original scale. Methods marked "ref." are references '
        "and not competitors: CVAE w/ data and VAEAC are trained on the complete training data (as in the "
        "paper's last two rows); the class-mean image reads the test sample's label. Multimodal data: "
        "each modality missing with the stated probability, at least one modality kept per sample.\n\n"
        + _budget_text(),
        "## Metric definitions",
        "- **NRMSE (per-column, docs/protocol.md)**: mean over numerical columns of RMSE over the missing "
        "test cells divided by the standard deviation of the true test column (`vsae.metrics.nrmse`). "
        "Column mean imputation scores about 1.\n"
        "- **NRMSE (pooled, missForest)**: square root of the mean squared error over all missing test "
        "cells divided by the variance of their true values, after min-max scaling each column by the "
        "true test table (`vsae.metrics.nrmse_pooled`).\n"
        "- **PFC**: mean over categorical columns of the error rate on missing test cells.\n"
        "- **Images**: MSE per pixel (pixels in [0, 1]) of a modality over the test samples where it is "
        "missing; *combined* is the sum over the two modalities; Table 10's image error is per image "
        "(per-pixel MSE × 784).\n\n"
        "Which NRMSE definition puts the paper's Table 5 on our scale (MCAR 0.5, our cells):\n\n"
        + report.scale_note(),
        "## Where VSAE wins and where it loses",
        "Generated from the tables below. A difference counts as a win or a loss when it exceeds the "
        "larger standard deviation over seeds of the two methods, else as a tie; the rank is among the "
        "methods that learn from partially observed data (references excluded).\n\n"
        "**Against the classical peers, every tabular setting** (UCI tables at MCAR 0.3 / 0.5 / 0.7, yeast "
        "under MAR and NMAR; metric and rule as below)\n\n"
        + report.classical_tally()
        + "\n\n"
        + "\n".join(summary),
        "## The default against the classical peers (MCAR 0.3 / 0.5)",
        report.defaults_section(),
        "## Tables 1/4/5: UCI tables at MCAR 0.5",
        "Numerical tables, NRMSE (per-column, the protocol's):",
        uci_numeric,
        "Numerical tables, NRMSE (pooled, missForest's form; paper column repeated for comparison):",
        uci_pooled,
        "Categorical tables, PFC:",
        uci_categorical,
        "Wall time per fit in seconds, mean over seeds (imputation of the test split in brackets):",
        report.uci_costs(),
        "Parameters (neural methods; baselines are widened to at least the count of one VSAE network, "
        "VSAE's figure is its ensemble's where it has several):",
        report.parameter_table(PRESETS["uci"], "tabular"),
        "## Figure 2: UCI tables at MCAR 0.3 / 0.5 / 0.7",
        ratios,
        "## Tables 3/9: yeast under MCAR, MAR and NMAR",
        mechanisms,
        "## §4.3: missing proportion of generated masks",
        report.mask_generation_section(),
        "## Tables 2/6: MNIST+MNIST",
        mnist,
        "## Table 10: image + label (MNIST, Fashion-MNIST), MCAR 0.5",
        image_text,
        "## Figures 3/4/7: MNIST+MNIST, MCAR 0.5",
        report.figures_section(),
        "## Commands and versions",
        report.commands_and_versions(),
    ]
    return "\n\n".join(sections) + "\n"


#: The README's generated statement sits between these two lines.
README_MARKERS = ("<!-- where-it-stands: generated by python -m vsae.bench.report -->", "<!-- end -->")


def _replace_file(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.tmp")
    staging.write_text(text, encoding="utf-8")
    os.replace(staging, path)


def write_report(
    cells_dir: Path,
    report_path: Path,
    figures_dir: Path = DEFAULT_FIGURES,
    seeds: Sequence[int] = DEFAULT_SEEDS,
    readme: Path | None = None,
) -> None:
    """Write the Markdown report of the cells in ``cells_dir`` to ``report_path`` (and Figure 2); with
    ``readme``, also replace the statement between that file's :data:`README_MARKERS`."""
    _replace_file(report_path, render(cells_dir, report_path, figures_dir, seeds))
    if readme is None:
        return
    report = Report(StoredCells(load_cells(cells_dir), seeds), figures_dir, report_path, cells_dir)
    text = readme.read_text(encoding="utf-8")
    start, end = README_MARKERS
    if start not in text or end not in text.split(start, 1)[1]:
        raise VSAEError(f"{str(readme)!r} has no {start!r} … {end!r} block to replace")
    before, rest = text.split(start, 1)
    after = rest.split(end, 1)[1]
    _replace_file(readme, f"{before}{start}\n{report.where_it_stands()}\n{end}{after}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vsae.bench.report", description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=Path, default=Path("runs/bench"), help="folder of the JSON cells")
    parser.add_argument("--out", type=Path, default=Path("docs/results.md"), help="Markdown file to write")
    parser.add_argument("--figures-dir", type=Path, default=DEFAULT_FIGURES, help="folder of the PNG figures")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(DEFAULT_SEEDS), help="seeds expected")
    parser.add_argument("--readme", type=Path, help="also update the generated statement of this README")
    args = parser.parse_args(argv)
    try:
        write_report(args.cells, args.out, args.figures_dir, args.seeds, args.readme)
    except VSAEError as error:
        print(f"vsae bench report: error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
