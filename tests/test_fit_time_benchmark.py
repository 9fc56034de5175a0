"""The fit-time benchmark (benchmarks/fit_time.py) on iris: one real cell, then its summary.

It must time the library default against the settings of the default it replaced (one network, the
Eq. 8 term on, selection from the first epoch), not against another copy of the current default.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def fit_time(data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.syspath_prepend(str(SCRIPTS))
    spec = importlib.util.spec_from_file_location("fit_time_benchmark", SCRIPTS / "fit_time.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "CELLS", tmp_path / "fit_time")
    return module


def test_a_cell_times_the_default_against_the_previous_default(fit_time, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert fit_time.main(["run", "--tables", "iris", "--ratios", "0.5", "--seeds", "0"]) == 0
    record = json.loads(fit_time.cell_path("iris", 0.5, 0).read_text())
    assert record["default"]["params"] == {}  # the library default, nothing pinned
    previous = record[fit_time.PREVIOUS]["params"]
    assert previous["ensemble_size"] == 1 and previous["unobserved_term"] is True
    assert previous["select_after_warmup"] is False and previous["importance_samples"] == 0
    assert previous["classical_weight"] == 0.0  # measured with the network alone, before the companions
    assert record["default"]["networks"] == 3 and record[fit_time.PREVIOUS]["networks"] == 1
    for config in ("default", fit_time.PREVIOUS):
        assert record[config]["fit_seconds"] > 0 and record[config]["transform_seconds"] > 0
    ratio = record["default"]["fit_seconds"] / record[fit_time.PREVIOUS]["fit_seconds"]
    row = next(line for line in fit_time.summary().splitlines() if line.startswith("| iris |"))
    assert row.startswith(f"| iris | 1 | {record['default']['fit_seconds']:.1f} |")
    assert f"| {ratio:.2f}–{ratio:.2f} | 3 | {ratio / 3:.2f}–{ratio / 3:.2f} |" in row

    # ``summary --into`` replaces only the block between the script's markers
    doc = tmp_path / "model.md"
    start, end = fit_time.MARKERS
    doc.write_text(f"before\n{start}\nstale table\n{end}\nafter\n", encoding="utf-8")
    assert fit_time.main(["summary", "--into", str(doc)]) == 0
    assert doc.read_text(encoding="utf-8") == f"before\n{start}\n{fit_time.summary()}\n{end}\nafter\n"
