"""The benchmark runner end to end, CI-sized: every preset with ``--quick`` (small row subsets, two
epochs, one seed) on the shared data, into a temporary folder; then the report from those cells.

One module-scoped run computes every preset once (about a minute on two busy cores); the tests read
its cells, its report and its figures.
"""

from __future__ import annotations

import io
import json
import math
from argparse import Namespace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vsae.bench import report as report_module
from vsae.bench.cells import Cell, preset_cells, read_cell
from vsae.bench.comparison import Stat, format_stat, verdict
from vsae.bench.figure_cells import FIGURE_FILES
from vsae.bench.paper import PAPER_TABLE_5
from vsae.bench.presets import BUDGETS, PRESETS, REFERENCES
from vsae.bench.report import write_report
from vsae.bench.runner import main, run_bench
from vsae.cli import main as cli_main
from vsae.data import load_uci, masked_split, missing_ratio, modality_mcar_mask
from vsae.errors import VSAEError

#: The restriction of each preset that the CI run computes (keyword arguments of
#: :func:`preset_cells`): every method of every preset appears somewhere.
QUICK_RUNS: dict[str, dict[str, list[Any]]] = {
    "uci": {"datasets": ["yeast", "zoo"]},
    "ratios": {"datasets": ["glass"], "methods": ["vsae", "mean"]},
    "mechanisms": {"methods": ["vsae", "miwae", "mean"]},
    "mask_generation": {"datasets": ["zoo"]},
    "mnist_pairs": {"ratios": [0.5]},
    "image_text": {"methods": ["vsae", "class_mean", "vaeac"]},
    "figures": {},
}


def write_full_cell(cells: Path, dataset: str, setting: str, name: str, **fields: Any) -> None:
    """A full-budget cell ``cells/dataset/setting/name.json`` holding ``fields`` (metrics and the
    like) beside the provenance every cell carries."""
    folder = cells / dataset / setting
    folder.mkdir(parents=True, exist_ok=True)
    record = {"budget": "full", "command": "c", "versions": {}, **fields}
    (folder / f"{name}.json").write_text(json.dumps(record), encoding="utf-8")


def _arguments(preset: str) -> list[str]:
    """The command-line options of ``QUICK_RUNS[preset]``."""
    return [text for key, values in QUICK_RUNS[preset].items() for text in (f"--{key}", *map(str, values))]


def _cells(preset: str) -> list[Cell]:
    return preset_cells(PRESETS[preset], [0], **QUICK_RUNS[preset])


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> dict[str, Path]:
    """Every preset run once with ``--quick``; the ``vsae bench`` command for one, the module for the rest."""
    root = tmp_path_factory.mktemp("bench")
    out, figures, report = root / "cells", root / "figures", root / "docs" / "results.md"
    common = ["--quick", "--seeds", "0", "--out", str(out), "--figures-dir", str(figures), "--no-progress"]
    assert cli_main(["bench", "uci", *_arguments("uci"), *common]) == 0
    for preset in QUICK_RUNS:
        if preset != "uci":
            assert main([preset, *_arguments(preset), *common]) == 0, preset
    write_report(out, report, figures, seeds=[0, 1, 2])
    return {"out": out, "figures": figures, "report": report}


def _protocol_missing_ratios(cell: Cell, record: dict[str, Any]) -> dict[str, float]:
    """Training and test missing ratios of ``cell``'s masks, rebuilt from the protocol: for a UCI table
    the quick budget's seeded 150-row subset and :func:`masked_split`; for image data modality-level
    MCAR over the pooled training + validation samples (seed 2·seed + 1) and the test samples (2·seed
    + 2), two modalities each."""
    budget = BUDGETS["quick"]
    ratio = cell.setting.ratio if cell.setting.ratio is not None else 0.5
    if cell.kind == "tabular":
        frame = load_uci(cell.dataset).frame
        if len(frame) > budget.tabular_rows:
            rows = np.sort(np.random.default_rng(0).choice(len(frame), budget.tabular_rows, replace=False))
            frame = frame.iloc[rows].reset_index(drop=True)
        split = masked_split(frame, cell.seed, ratio, cell.setting.mechanism)
        assert record["rows"] == {"train": len(split.train), "test": len(split.test)}
        return {"train": float(split.train_masked.isna().to_numpy().mean()), "test": split.missing_ratio}
    train_rows, validation_rows, test_rows = budget.image_rows
    return {
        "train": missing_ratio(modality_mcar_mask(train_rows + validation_rows, 2, ratio, 2 * cell.seed + 1)),
        "test": missing_ratio(modality_mcar_mask(test_rows, 2, ratio, 2 * cell.seed + 2)),
    }


@pytest.mark.parametrize("preset", list(QUICK_RUNS))
def test_every_preset_writes_one_complete_cell_per_combination(bench: dict[str, Path], preset: str) -> None:
    cells = _cells(preset)
    assert cells
    for cell in cells:
        record = read_cell(bench["out"] / cell.relative_path)
        assert "error" not in record, record.get("traceback")
        assert record["budget"] == "quick"
        assert record["command"].startswith("vsae bench ")
        assert {"torch", "numpy", "scikit-learn", "vsae"} <= set(record["versions"])
        assert record["metrics"] and all(math.isfinite(v) for v in record["metrics"].values())
        assert record["fit_seconds"] >= 0 and record["impute_seconds"] >= 0
        if cell.kind != "figures":
            # The recorded ratios are those of the protocol's masks for this cell, recomputed here.
            expected = _protocol_missing_ratios(cell, record)
            assert record["missing_ratio"]["train"] == pytest.approx(expected["train"], abs=1e-12)
            assert record["missing_ratio"]["test"] == pytest.approx(expected["test"], abs=1e-12)
        if cell.method in ("vsae", "ae", "vae", "cvae_mask", "mvae", "miwae", "cvae_data", "vaeac"):
            assert cell.kind == "figures" or record["n_parameters"] > 0


def test_tabular_cells_score_the_right_metrics(bench: dict[str, Path]) -> None:
    yeast = read_cell(bench["out"] / "yeast/mcar-0.5/vsae-seed0.json")
    zoo = read_cell(bench["out"] / "zoo/mcar-0.5/vsae-seed0.json")
    assert set(yeast["metrics"]) == {"nrmse", "nrmse_pooled"}
    assert set(zoo["metrics"]) == {"pfc"}
    # The generated missing share is counted over every cell of the generated rows (8 columns each).
    cells = yeast["generated_rows"] * 8
    assert yeast["generated_rows"] == BUDGETS["quick"].generated_rows
    assert 0 < yeast["generated_missing_ratio"] < 1
    assert yeast["generated_missing_ratio"] * cells == pytest.approx(
        round(yeast["generated_missing_ratio"] * cells)
    )
    # Baselines are widened to at least the parameter count of one of VSAE's networks on the table.
    assert yeast["ensemble_members"] == 3  # 150 rows of a numerical table (vsae.budget)
    for method in ("ae", "vae", "cvae_mask", "mvae", "miwae", "cvae_data", "vaeac"):
        record = read_cell(bench["out"] / f"yeast/mcar-0.5/{method}-seed0.json")
        assert record["n_parameters"] >= record["vsae_parameters"]
        assert record["vsae_parameters"] * yeast["ensemble_members"] == yeast["n_parameters"]
    nmar = read_cell(bench["out"] / "yeast/nmar/vsae-seed0.json")
    assert nmar["setting"] == {"mechanism": "nmar", "ratio": None, "key": "nmar"}


def test_image_cells_score_each_modality(bench: dict[str, Path]) -> None:
    pairs = read_cell(bench["out"] / "mnist_mnist/mcar-0.5/global_mean-seed0.json")["metrics"]
    assert set(pairs) == {"digit_mse", "partner_mse", "combined"}
    assert pairs["combined"] == pytest.approx(pairs["digit_mse"] + pairs["partner_mse"])
    oracle = read_cell(bench["out"] / "mnist_mnist/mcar-0.5/class_mean-seed0.json")["metrics"]
    assert oracle["combined"] < pairs["combined"]  # knowing the class helps: the pipeline is wired right
    text = read_cell(bench["out"] / "fashion_mnist_text/mcar-0.5/class_mean-seed0.json")["metrics"]
    assert set(text) == {"image_mse", "image_mse_per_image", "text_pfc"}
    assert text["image_mse_per_image"] == pytest.approx(784 * text["image_mse"])


def test_figures_are_drawn(bench: dict[str, Path]) -> None:
    for name in FIGURE_FILES.values():
        path = bench["figures"] / name.format(seed=0)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    record = read_cell(bench["out"] / "mnist_mnist/mcar-0.5/vsae-figures-seed0.json")
    assert 0 <= record["metrics"]["generated_pairing_rate"] <= 1
    assert record["metrics"]["chance_pairing_rate"] == pytest.approx(0.2)


def test_rerun_skips_computed_cells(bench: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    path = bench["out"] / _cells("ratios")[0].relative_path
    before = path.read_bytes()
    capsys.readouterr()
    assert main(["ratios", *_arguments("ratios"), "--quick", "--seeds", "0", "--out", str(bench["out"])]) == 0
    assert f"0 cells computed, {len(_cells('ratios'))} already done, 0 failed" in capsys.readouterr().out
    assert path.read_bytes() == before


def test_quick_cells_are_never_mixed_with_full_ones(bench: dict[str, Path]) -> None:
    with pytest.raises(VSAEError, match="quick"):
        args = Namespace(
            preset="mask_generation",
            seeds=[0],
            quick=False,
            out=bench["out"],
            datasets=["zoo"],
            methods=None,
            ratios=[0.5],
            figures_dir=bench["figures"],
            report=None,
            threads=1,
            no_progress=True,
        )
        run_bench(args, io.StringIO())


def test_a_failed_cell_is_recorded_then_retried(tmp_path: Path, data_root: Path) -> None:
    """A cell that raises is stored with its error, the others still run, and a rerun retries it."""
    empty = tmp_path / "no-data"
    empty.mkdir()
    arguments = ["mask_generation", "--quick", "--seeds", "0", "--datasets", "zoo", "--ratios", "0.3"]
    arguments += ["--out", str(tmp_path / "cells"), "--no-progress"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VSAE_DATA", str(empty))
        assert main(arguments) == 2
    path = tmp_path / "cells" / "zoo" / "mcar-0.3" / "vsae-seed0.json"
    assert "manifest.json" in read_cell(path)["error"]
    assert main(arguments) == 0
    assert "error" not in read_cell(path)


def test_unknown_names_are_rejected_with_the_valid_ones() -> None:
    with pytest.raises(VSAEError, match="no dataset iris; choose among: yeast"):
        preset_cells(PRESETS["uci"], [0], datasets=["iris"])
    with pytest.raises(VSAEError, match=r"MCAR ratio 0\.4"):
        preset_cells(PRESETS["ratios"], [0], ratios=[0.4])


def test_report_holds_every_table_ours_beside_the_paper(bench: dict[str, Path]) -> None:
    text = bench["report"].read_text(encoding="utf-8")
    for heading in (
        "## Status",
        "## Metric definitions",
        "## Where VSAE wins and where it loses",
        "## Tables 1/4/5",
        "## Figure 2",
        "## Tables 3/9",
        "## §4.3",
        "## Tables 2/6",
        "## Table 10",
        "## Figures 3/4/7",
        "## Commands and versions",
    ):
        assert heading in text
    vsae_yeast = read_cell(bench["out"] / "yeast/mcar-0.5/vsae-seed0.json")["metrics"]["nrmse"]
    assert f"| VSAE | {vsae_yeast:.3f} (1/3 seeds) | 0.455 ± 0.003 |" in text
    assert "not run" in text  # white_wine was not computed, nor seeds 1 and 2
    assert "SVHN" in text
    assert "- **yeast** (NRMSE, MCAR 0.5): VSAE" in text
    assert (bench["figures"] / report_module.FIGURE_2).is_file()
    assert "vsae bench uci --seeds 0 --quick --datasets yeast zoo" in text
    assert PAPER_TABLE_5.values["vsae"]["glass"] == (1.312, 0.021)


def test_report_shows_failed_and_missing_cells_honestly(tmp_path: Path) -> None:
    cells = tmp_path / "cells"
    write_full_cell(cells, "glass", "mcar-0.5", "vsae-seed0", error="RuntimeError: boom")
    out = tmp_path / "results.md"
    write_report(cells, out, tmp_path / "figures")
    text = out.read_text(encoding="utf-8")
    assert "| VSAE | not run | 0.455 ± 0.003 | not run | 0.371 ± 0.0002 | failed | 1.312 ± 0.021 |" in text
    assert "| `uci` | Tables 1/4/5: UCI tables at MCAR ratio 0.5, all methods | 0 / 216 | 1 |" in text


def test_verdicts_separate_wins_ties_losses_and_references() -> None:
    stats = {
        "vsae": Stat((0.50, 0.52, 0.51), 3, 0),
        "mean": Stat((0.60, 0.61, 0.59), 3, 0),  # clearly worse: a win
        "mice": Stat((0.505, 0.515, 0.52), 3, 0),  # within the noise: a tie
        "missforest": Stat((0.40, 0.41, 0.39), 3, 0),  # clearly better: a loss
        "vaeac": Stat((0.30, 0.30, 0.30), 3, 0),  # a reference, never ranked against
        "knn": Stat((), 3, 0),  # not run: not mentioned
    }
    assert "vaeac" in REFERENCES
    line = verdict("**t**", stats, 3)
    assert line is not None
    assert "ranks 2 of 4" in line
    assert "wins against mean / mode (0.600)" in line
    assert "ties (within one standard deviation over seeds) with MICE (0.513)" in line
    assert "**loses to** MissForest (0.400)" in line
    assert "Against the references: loses to VAEAC" in line
    assert "KNN" not in line
    assert verdict("**t**", {"mean": stats["mean"]}, 3) is None


def test_report_tallies_vsae_against_each_classical_peer(tmp_path: Path) -> None:
    def write(dataset: str, setting: str, method: str, metric: str, values: tuple[float, ...]) -> None:
        for seed, value in enumerate(values):
            write_full_cell(
                tmp_path / "cells", dataset, setting, f"{method}-seed{seed}", metrics={metric: value}
            )

    write("yeast", "mcar-0.5", "vsae", "nrmse", (0.90, 0.91, 0.92))
    write("yeast", "mcar-0.5", "mice", "nrmse", (1.10, 1.11, 1.12))  # a win
    write("yeast", "mcar-0.5", "missforest", "nrmse", (0.905, 0.915, 0.925))  # a tie
    write("zoo", "mcar-0.7", "vsae", "pfc", (0.33, 0.34, 0.35))
    write("zoo", "mcar-0.7", "mice", "pfc", (0.28, 0.28, 0.29))  # a loss
    out = tmp_path / "results.md"
    write_report(tmp_path / "cells", out, tmp_path / "figures")
    text = out.read_text(encoding="utf-8")
    settings = len(PRESETS["ratios"].datasets) * len(PRESETS["ratios"].settings) + 2  # + yeast MAR, NMAR
    assert (
        f"- against MICE: compared in 2 of {settings} settings; VSAE wins 1, ties 0, loses 1 (zoo MCAR 0.7)."
    ) in text
    assert (
        f"- against MissForest: compared in 1 of {settings} settings; VSAE wins 0, ties 1, loses 0."
    ) in text
    assert f"- against KNN (k = 5): compared in 0 of {settings} settings" in text
    # the defaults table: a win against the best peer (MissForest, 0.915 ± 0.01) needs a mean below
    # 0.915 - 0.01 = 0.905, 0.5% under VSAE's 0.91
    row = next(line for line in text.splitlines() if line.startswith("| yeast | MCAR 0.5 | NRMSE |"))
    assert row.endswith("| tie vs MissForest | 0.905 (-0.5%) |")
    assert "in the 1 ties a win needs a mean error 0.5% to 0.5% lower than VSAE's (median 0.5%)" in text


def test_report_shows_the_ece_beside_a_calibrated_predictors(tmp_path: Path) -> None:
    """The categorical calibration table puts each cell's ECE beside the ECE a perfectly calibrated
    predictor with the same confidences would score (``ece_if_calibrated``), mean ± std over seeds."""
    for seed, (ece, reference) in enumerate([(0.06, 0.05), (0.07, 0.07), (0.08, 0.06)]):
        uncertainty = {"ece": ece, "ece_if_calibrated": reference}
        write_full_cell(
            tmp_path / "cells",
            "zoo",
            "mcar-0.3",
            f"vsae-seed{seed}",
            metrics={"pfc": 0.2},
            uncertainty=uncertainty,
        )
    out = tmp_path / "results.md"
    write_report(tmp_path / "cells", out, tmp_path / "figures")
    text = out.read_text(encoding="utf-8")
    assert "| zoo | MCAR 0.3 | 0.070 ± 0.010 | 0.060 ± 0.010 |" in text


def test_report_says_how_many_cells_measure_each_coverage(tmp_path: Path) -> None:
    """The coverage table adds up the scored cells over seeds and gives the binomial standard error
    of a 0.95 coverage measured on that many, so a miss of the 0.93 floor can be told from chance."""
    for seed, (coverage, cells) in enumerate([(0.92, 100), (0.93, 150), (0.94, 50)]):
        write_full_cell(
            tmp_path / "cells",
            "glass",
            "mcar-0.3",
            f"vsae-seed{seed}",
            metrics={"nrmse": 0.7},
            missing_ratio={"scored_cells": cells},
            uncertainty={"coverage_sd": coverage, "coverage_draws": coverage - 0.01},
        )
    out = tmp_path / "results.md"
    write_report(tmp_path / "cells", out, tmp_path / "figures")
    row = next(
        line
        for line in out.read_text(encoding="utf-8").splitlines()
        if line.startswith("| glass | MCAR 0.3 | 0.930")
    )
    assert row.endswith("| not run | not run | 300 (±0.013) |")  # sqrt(0.95 * 0.05 / 300) = 0.0126


def readme_statement(tmp_path: Path) -> str:
    """The README the report writes from the cells under ``tmp_path / "cells"``."""
    readme = tmp_path / "README.md"
    readme.write_text("intro\n" + "\n".join(report_module.README_MARKERS) + "\nrest\n", encoding="utf-8")
    write_report(tmp_path / "cells", tmp_path / "results.md", tmp_path / "figures", readme=readme)
    return readme.read_text(encoding="utf-8")


def test_readme_statement_puts_image_label_vsae_beside_the_best_learner(tmp_path: Path) -> None:
    """The README's generated statement gives VSAE's label PFC and image error on image + label data
    against the best other method that learns from partial data: a reference (here VAEAC, trained on
    complete data, with the lowest label error) is never the one compared with."""
    per_method = {
        "vsae": ((0.05, 0.05, 0.05), (42.0, 42.1, 42.2)),
        "ae": ((0.03, 0.03, 0.03), (67.0, 67.1, 67.2)),  # best learner on the label: a loss
        "vae": ((0.06, 0.06, 0.06), (52.0, 52.5, 53.0)),  # best learner on the image: a win
        "vaeac": ((0.01, 0.01, 0.01), (30.0, 30.0, 30.0)),  # a reference
    }
    for method, (pfcs, errors) in per_method.items():
        for seed, (label_pfc, image_error) in enumerate(zip(pfcs, errors, strict=True)):
            metrics = {"text_pfc": label_pfc, "image_mse_per_image": image_error}
            write_full_cell(
                tmp_path / "cells", "mnist_text", "mcar-0.5", f"{method}-seed{seed}", metrics=metrics
            )
    assert (
        "On image + label data (Table 10, seeds 0, 1, 2; against the best other method that learns from "
        "partial data; image error per image), MNIST image + label: label PFC 0.050 against AE's 0.030 "
        "(loss), image error 42.10 against VAE's 52.50 (win)."
    ) in readme_statement(tmp_path)


def test_readme_statement_gives_the_seed_mean_coverage_of_each_setting(tmp_path: Path) -> None:
    """The README's coverage range runs over each setting's mean over seeds, the quantity the
    0.93-0.97 target is stated for, not over single seeds (here 0.90 and 1.00 on one setting)."""
    coverages = {("glass", "mcar-0.3"): (0.90, 0.95, 1.00), ("wine", "mcar-0.5"): (0.92, 0.93, 0.94)}
    for (dataset, setting), per_seed in coverages.items():
        for seed, coverage in enumerate(per_seed):
            write_full_cell(
                tmp_path / "cells",
                dataset,
                setting,
                f"vsae-seed{seed}",
                metrics={"nrmse": 0.7},
                uncertainty={"coverage_sd": coverage, "coverage_draws": coverage - 0.01},
            )
    assert (
        "Its ±1.96 × uncertainty intervals cover 0.93–0.95 of the true missing numerical values in each "
        "setting, averaged over seeds (median 0.94, nominal 0.95)."
    ) in readme_statement(tmp_path)


def test_format_stat_counts_seeds() -> None:
    assert format_stat(Stat((), 3, 0), 3) == "not run"
    assert format_stat(Stat((), 3, 2), 3) == "failed"
    assert format_stat(Stat((0.5,), 3, 0), 3) == "0.500 (1/3 seeds)"
    assert format_stat(Stat((0.5,), 3, 1), 3) == "0.500 (1/3 seeds, 1 failed)"
    assert format_stat(Stat((0.5, 0.7), 2, 0), 2) == f"0.60 ± {np.std([0.5, 0.7], ddof=1):.2f}"


def test_perf_summarises_the_uci_cells_against_missforest(
    bench: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python -m vsae.bench.performance --uci-cells DIR`` reads the runner's cells, measures nothing."""
    from vsae.bench.performance import cli

    out = tmp_path / "perf.json"
    assert cli.main(["--uci-cells", str(bench["out"]), "--datasets", "yeast", "zoo", "--out", str(out)]) == 0
    runs = json.loads(out.read_text())["uci_cells"]["runs"]
    assert set(runs) == {f"{d}/{m}" for d in ("yeast", "zoo") for m in ("vsae", "mice", "missforest")}
    for run in runs.values():
        assert run["seeds"] == [0] and run["total_seconds"][0] > 0 and 0 <= run["errors"][0] < 5
    printed = capsys.readouterr().out
    assert "| yeast | vsae | 1 |" in printed and "time ÷ MissForest" in printed
