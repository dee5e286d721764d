"""training/ is layered by stage: imports point only down the pipeline, none hide in functions.

Stages, lowest first (training/__init__.py says what each owns): the shared modules at the
top of training/ (errors, paths, progress, lammps_env), then data, scoring, fit, then
sampling and evaluation (side by side, neither imports the other), then cli. A module may
import its own subpackage and lower stages only. Imports of package modules inside
functions are allowed in cli/ (they keep `areanet --help` fast) and where the line says
why (`# lazy: ...`, e.g. matplotlib only when figures are drawn); everywhere else they sit
at the top of the module, so a circle fails at import time instead of hiding.
"""
import ast
from pathlib import Path

TRAINING = Path(__file__).resolve().parents[1] / "training"
BASE = {"errors", "paths", "progress", "lammps_env"}
RANK = {"data": 1, "scoring": 2, "fit": 3, "sampling": 4, "evaluation": 4, "cli": 5}


def stage(parts: list[str]) -> str:
    """The stage of a module given as its path under areanet.training, e.g. ['fit', 'train']."""
    return "base" if parts[0] in BASE else parts[0]


def rank(name: str) -> int:
    return 0 if name == "base" else RANK[name]


def modules():
    for path in sorted(TRAINING.rglob("*.py")):
        parts = list(path.relative_to(TRAINING).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts:
            yield path, parts


def package_imports(path: Path, parts: list[str]):
    """(line, target parts under areanet.training, inside a function?) for each import of it."""
    is_package = path.name == "__init__.py"
    here = parts if is_package else parts[:-1]
    tree = ast.parse(path.read_text())
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inside.update(id(n) for n in ast.walk(node) if n is not node)
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)]
                module = base + (node.module.split(".") if node.module else [])
                targets = [module] if node.module else [module + [a.name] for a in node.names]
            elif (node.module or "").startswith("areanet.training"):
                targets = [node.module.split(".")[2:]]
        elif isinstance(node, ast.Import):
            targets = [a.name.split(".")[2:] for a in node.names if a.name.startswith("areanet.training")]
        for target in targets:
            if target:
                yield node.lineno, target, id(node) in inside


def test_every_stage_is_a_documented_subpackage():
    found = {p.name for p in TRAINING.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    assert found == set(RANK), found
    for name in RANK:
        doc = ast.get_docstring(ast.parse((TRAINING / name / "__init__.py").read_text()))
        assert doc and "import" in doc, f"training/{name}/__init__.py: say what it owns and may import"


def test_imports_point_down_the_pipeline_only():
    wrong = []
    for path, parts in modules():
        mine = stage(parts)
        for line, target, _ in package_imports(path, parts):
            theirs = stage(target)
            if theirs != mine and rank(theirs) >= rank(mine):
                wrong.append(f"{path.relative_to(TRAINING)}:{line} imports {'.'.join(target)}")
    assert not wrong, "\n".join(wrong)


def test_no_package_imports_inside_functions_outside_cli():
    hidden = [f"{path.relative_to(TRAINING)}:{line} imports {'.'.join(target)}"
              for path, parts in modules() if parts[0] != "cli"
              for line, target, in_function in package_imports(path, parts)
              if in_function and "# lazy:" not in path.read_text().splitlines()[line - 1]]
    assert not hidden, "\n".join(hidden)


def test_cli_modules_import_no_stage_at_the_top_but_light_constants():
    """`areanet --help` imports every cli module: at their top level only the shared modules
    and the torch-free constants of scoring.metrics/evaluate and bench.common."""
    light = {("scoring", "evaluate"), ("scoring", "metrics"), ("evaluation", "bench", "common")}
    heavy = [f"{path.relative_to(TRAINING)}:{line} imports {'.'.join(target)}"
             for path, parts in modules() if parts[0] == "cli"
             for line, target, in_function in package_imports(path, parts)
             if not in_function and stage(target) not in ("base", "cli") and tuple(target) not in light]
    assert not heavy, "\n".join(heavy)


def test_no_module_is_long():
    long = [f"{p.relative_to(TRAINING)}: {n} lines" for p in TRAINING.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 520]
    assert not long, long


def test_pyproject_lists_every_subpackage():
    """setuptools installs only the packages named in pyproject.toml: a new folder must be there."""
    import tomllib

    listed = set(tomllib.loads((TRAINING.parent / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {"areanet.training." + ".".join(p.parent.relative_to(TRAINING).parts)
               for p in TRAINING.rglob("__init__.py") if p.parent != TRAINING}
    assert folders <= listed, folders - listed
