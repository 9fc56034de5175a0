"""The import rules of docs/architecture.md, checked by parsing every module of the package.

Imports are read with :mod:`ast` (no module is executed), so a rule is broken by an import written
anywhere in a module: at the top, inside a function, or under ``if TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "vsae"

#: The layers of docs/architecture.md, by module name (a package name covers its submodules).
MODEL = ("vsae.model",)
TRAINING = ("vsae.train", "vsae.inference", "vsae.distributed")
ESTIMATORS = (
    "vsae.estimator",
    "vsae.imputer",
    "vsae.multimodal",
    "vsae.baselines",
    "vsae.classical",
    "vsae.companions",
)
TABLES_AND_FILES = (
    "pandas",
    "pyarrow",
    "vsae.tabular",
    "vsae.columns",
    "vsae.io",
    "vsae.streaming",
    "vsae.data",
)
CLI = ("vsae.cli",)
BENCH = ("vsae.bench",)


@dataclass(frozen=True)
class Import:
    """One imported module name, where it is imported, and whether at module level."""

    module: str
    importer: str
    line: int
    function: str | None  # the enclosing function, None at module level

    def __str__(self) -> str:
        where = f" in {self.function}()" if self.function else " at module level"
        return f"{self.importer}:{self.line} imports {self.module}{where}"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    """The absolute module of a ``from … import``, relative ones included."""
    if node.level == 0:
        return node.module or ""
    base = importer.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports_of(path: Path, source: str | None = None) -> list[Import]:
    """Every module ``path`` (or ``source`` as if it were at ``path``) imports; ``from a import b``
    counts as importing ``a`` and ``a.b`` (``b`` may be a module)."""
    importer = _module_name(path)
    text = path.read_text(encoding="utf-8") if source is None else source
    tree = ast.parse(text, filename=str(path))
    found: list[Import] = []

    def visit(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            inner = function
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                inner = child.name if function is None else f"{function}.{child.name}"
            if isinstance(child, ast.Import):
                found.extend(Import(a.name, importer, child.lineno, function) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                module = _resolve(child, importer, path.name == "__init__.py")
                found.append(Import(module, importer, child.lineno, function))
                found.extend(
                    Import(f"{module}.{a.name}", importer, child.lineno, function) for a in child.names
                )
            visit(child, inner)

    visit(tree, None)
    return found


def _within(module: str, names: tuple[str, ...]) -> bool:
    return any(module == name or module.startswith(f"{name}.") for name in names)


MODULES = sorted(PACKAGE.rglob("*.py"))
IMPORTS = {path: imports_of(path) for path in MODULES}


def _violations(importers: Callable[[str], bool], forbidden: tuple[str, ...]) -> list[str]:
    """Every import of a ``forbidden`` module by a module whose name ``importers`` accepts."""
    return [
        str(found)
        for path, found_here in IMPORTS.items()
        if importers(_module_name(path))
        for found in found_here
        if _within(found.module, forbidden)
    ]


def _in(*layers: tuple[str, ...]) -> Callable[[str], bool]:
    names = tuple(name for layer in layers for name in layer)
    return lambda module: _within(module, names)


def test_the_whole_package_is_scanned() -> None:
    assert len(MODULES) > 30
    assert any(i.module == "vsae.model.vsae" for i in IMPORTS[PACKAGE / "model" / "__init__.py"])


def test_the_network_knows_no_tables_files_or_upper_layers() -> None:
    forbidden = TABLES_AND_FILES + TRAINING + ESTIMATORS + CLI + BENCH
    assert _violations(_in(MODEL), forbidden) == []


def test_training_knows_no_estimators_tables_or_files() -> None:
    forbidden = (*ESTIMATORS, "vsae.tabular", "vsae.io", "vsae.streaming", *CLI, *BENCH)
    assert _violations(_in(TRAINING), forbidden) == []


def test_metrics_are_pure_functions() -> None:
    path = PACKAGE / "metrics.py"
    allowed = ("__future__", "collections", "math", "numbers", "typing", "numpy", "pandas", "vsae.errors")
    assert [str(i) for i in IMPORTS[path] if not _within(i.module, allowed)] == []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for statement in tree.body:
        docstring = isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
        constant = isinstance(statement, (ast.Assign, ast.AnnAssign)) and all(
            isinstance(target, ast.Name) and target.id.isupper()
            for target in (statement.targets if isinstance(statement, ast.Assign) else [statement.target])
        )
        definition = isinstance(statement, (ast.FunctionDef, ast.Import, ast.ImportFrom))
        assert docstring or constant or definition, (
            f"vsae/metrics.py:{statement.lineno} is neither a function, an import nor a constant"
        )


def test_the_library_never_imports_its_benchmark() -> None:
    """Only the command line may import the benchmark, and only inside its ``bench`` handler."""
    outside = _in(BENCH, CLI)
    assert _violations(lambda module: not outside(module), BENCH) == []


def test_the_cli_imports_the_benchmark_only_inside_its_bench_handler() -> None:
    """``vsae impute`` must not load the benchmark (and, through it, every baseline): no module-level
    import of ``vsae.bench`` in vsae/cli.py, and each function-level one in a function handling
    ``bench``."""
    found = [i for i in IMPORTS[PACKAGE / "cli.py"] if _within(i.module, BENCH)]
    at_module_level = [str(i) for i in found if i.function is None]
    assert at_module_level == []
    elsewhere = [str(i) for i in found if "bench" not in (i.function or "").lower()]
    assert elsewhere == []


def test_within_the_benchmark_cells_import_no_user_of_cells() -> None:
    """``vsae.bench.cells`` is shared by the runner, the report and the performance benchmark and
    imports none of them; the runner imports the report, never the reverse (no cycle)."""
    users = ("vsae.bench.runner", "vsae.bench.report", "vsae.bench.performance")
    assert _violations(_in(("vsae.bench.cells", "vsae.bench.presets")), users) == []
    assert _violations(_in(("vsae.bench.report", "vsae.bench.performance")), ("vsae.bench.runner",)) == []


def test_every_page_the_code_cites_exists() -> None:
    """A docstring or comment naming ``docs/<page>.md`` names a page of the repository."""
    root = PACKAGE.parent
    cited = {
        (path.relative_to(root).as_posix(), page)
        for path in [*MODULES, *sorted((root / "tests").glob("*.py"))]
        for page in re.findall(r"docs/[\w/.-]+?\.md", path.read_text(encoding="utf-8"))
    }
    assert cited
    assert [f"{source} cites {page}" for source, page in sorted(cited) if not (root / page).is_file()] == []


def test_nothing_imports_the_command_line() -> None:
    assert _violations(lambda module: module not in ("vsae.__main__", "vsae.cli"), CLI) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from . import layers\n", {"vsae.model", "vsae.model.layers"}),
        ("from ..schema import Schema\n", {"vsae.schema", "vsae.schema.Schema"}),
        ("def f():\n    import vsae.bench.runner\n", {"vsae.bench.runner"}),
    ],
)
def test_relative_and_nested_imports_are_resolved(source: str, expected: set[str]) -> None:
    found = imports_of(PACKAGE / "model" / "probe.py", source)
    assert {i.module for i in found} == expected
    assert all(i.function == ("f" if "def f" in source else None) for i in found)
