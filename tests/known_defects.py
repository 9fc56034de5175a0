"""Re-apply, one at a time, the defects that once passed every test, and run the tests meant to catch
each (docs/testing.md, "Known defects"). Not a test module: run it by hand after changing the
training loop, the objective or the benchmark runner::

    VSAE_DATA=../shared/data OMP_NUM_THREADS=1 .venv/bin/python tests/known_defects.py [NAME ...]

Each defect is a one-line source edit applied to a copy of the package in a temporary folder; the
line it edits is matched exactly, so a defect whose line was rewritten is reported as such (update its
pattern) rather than silently skipped. Exit status 1 if any defect survives or no longer applies.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: name, file, exact text, replacement, tests that must fail.
DEFECTS = [
    ("selection leak: hidden validation cells shown to the model", "vsae/train.py",
     "observed[validation_rows][None] & ~hidden", "observed[validation_rows][None] & (hidden | ~hidden)",
     ["tests/test_selection.py"]),
    ("selection on the training loss", "vsae/train.py",
     "return distributed.computed_on_main(functools.partial(validation_score, self.model, self.validation))",
     'return record["loss"]', ["tests/test_selection.py"]),
    ("pseudo-targets not detached", "vsae/model/objective.py",
     "with torch.no_grad():", "if True:", ["tests/test_objective.py"]),
    ("modality dropout forced to 0 by the trainer", "vsae/train.py",
     "objective = SelectiveELBO(kl_weight, unobserved, dropout, config.pseudo_targets)",
     "objective = SelectiveELBO(kl_weight, unobserved, 0.0, config.pseudo_targets)",
     ["tests/test_selection.py"]),
    ("modality dropout ignored by the objective", "vsae/model/objective.py",
     "if self.modality_dropout > 0:", "if False:", ["tests/test_objective.py"]),
    ("kl_weight not passed by the trainer", "vsae/train.py",
     "objective = SelectiveELBO(kl_weight,", "objective = SelectiveELBO(1.0,",
     ["tests/test_selection.py"]),
    ("kl_weight ignored by the objective", "vsae/model/objective.py",
     "self.kl_weight * kl", "kl", ["tests/test_objective.py"]),
    ("pseudo-targets: argmax at the posterior mean", "vsae/model/objective.py",
     "pseudo = model.likelihoods.mean(raw) if expected else model.likelihoods.sample(raw)",
     "pseudo = model.likelihoods.mean(raw) if expected else model.likelihoods.mode(raw)",
     ["tests/test_objective.py"]),
    ("pseudo_targets not passed by the trainer", "vsae/train.py",
     "objective = SelectiveELBO(kl_weight, unobserved, dropout, config.pseudo_targets)",
     "objective = SelectiveELBO(kl_weight, unobserved, dropout)", ["tests/test_selection.py"]),
    ("expected pseudo-targets drawn anyway", "vsae/model/objective.py",
     'expected = self.pseudo_targets == "expected"', "expected = False", ["tests/test_objective.py"]),
    ("benchmark fits the complete training split", "vsae/bench/tabular_cells.py",
     "training = split.train if cell.method in NEURAL_REFERENCES else split.train_masked",
     "training = split.train", ["tests/test_runner_protocol.py"]),
]  # fmt: skip


def main(names: list[str]) -> int:
    bad = 0
    for name, path, old, new, tests in DEFECTS:
        if names and not any(n in name for n in names):
            continue
        with tempfile.TemporaryDirectory() as work:
            for part in ("vsae", "tests"):
                shutil.copytree(ROOT / part, Path(work) / part, ignore=shutil.ignore_patterns("__pycache__"))
            shutil.copy(ROOT / "pyproject.toml", work)
            source = Path(work) / path
            text = source.read_text()
            if text.count(old) != 1:
                print(f"NO LONGER APPLIES ({text.count(old)} matches in {path}): {name}")
                bad += 1
                continue
            source.write_text(text.replace(old, new))
            env = {**os.environ, "PYTHONPATH": work, "OMP_NUM_THREADS": "1"}
            run = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
                cwd=work, env=env, capture_output=True, text=True,
            )  # fmt: skip
            failed = [line.split("::")[-1] for line in run.stdout.splitlines() if line.startswith("FAILED")]
            print(f"{'killed' if run.returncode else 'SURVIVED'}: {name} {failed}")
            bad += run.returncode == 0
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
