"""Where shared test code lives: in tests/support, and nowhere else.

A test module or a conftest file imports helpers only from tests.support; tests.support imports
nothing of a test module or a conftest file; a conftest file holds fixtures and pytest hooks
only. Read from the source (ast), so a rule broken in a skipped test still fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent


def python_files() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts)


def imported_modules(path: Path, root: Path) -> list[tuple[int, set[str]]]:
    """(line, absolute module names) of every import in the file under `root` (the folder
    holding tests/), nested ones included; `from tests.x import y` names both tests.x and
    tests.x.y, since y may be a module."""
    package = ".".join(path.relative_to(root).parent.parts)
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.append((node.lineno, {alias.name for alias in node.names}))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against the file's package
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((node.lineno, {base} | {f"{base}.{a.name}" for a in node.names}))
    return found


def forbidden(module: str, inside_support: bool) -> str | None:
    """Why a test file may not import `module`, or None when it may."""
    last = module.rpartition(".")[2]
    if last == "conftest":
        return "a conftest file"
    if last.startswith("test_"):
        return "a test module"
    if module.startswith("tests.") and not module.startswith("tests.support."):
        return "not the support package" if not inside_support else "outside the support package"
    return None


def wrong_imports(path: Path, root: Path) -> list[str]:
    """One line per import of this file that the rules forbid."""
    inside_support = "support" in path.relative_to(root).parts[1:2]
    wrong = []
    for line, modules in imported_modules(path, root):
        reasons = sorted({r for m in modules if (r := forbidden(m, inside_support))})
        if reasons:
            where = f"{path.relative_to(root)}:{line}"
            wrong.append(f"{where} imports {' '.join(sorted(modules))}: {', '.join(reasons)}")
    return wrong


def test_test_files_import_shared_helpers_only_from_the_support_package():
    """A test module or conftest imports no conftest and no test module, and of tests/ only
    tests.support; tests.support imports nothing of tests/ but itself."""
    wrong = [w for path in python_files() for w in wrong_imports(path, TESTS.parent)]
    assert wrong == []


def test_a_conftest_file_holds_fixtures_and_hooks_only():
    """A helper written in a conftest file is out of reach of the tests (they may not import
    it) and of the other tiers: it belongs in tests/support."""
    wrong = []
    for path in TESTS.rglob("conftest.py"):
        for node in ast.parse(path.read_text(), str(path)).body:
            if isinstance(node, ast.ClassDef):
                wrong.append(f"{path.relative_to(TESTS.parent)}: class {node.name}")
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                hook = node.name.startswith("pytest_")
                if not hook and not any(_is_fixture(d) for d in node.decorator_list):
                    wrong.append(f"{path.relative_to(TESTS.parent)}: def {node.name}")
    assert wrong == []


def _is_fixture(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return isinstance(target, ast.Attribute) and target.attr == "fixture"


@pytest.mark.parametrize(
    ("folder", "source", "reason"),
    [
        ("web", "from tests.support.http import bearer", None),
        ("web", "import tests.support.phones", None),
        ("web", "from tests.service.test_order_lifecycle import helper", "a test module"),
        ("web", "from tests.scheduler.conftest import make_guest", "a conftest file"),
        ("web", "from .conftest import RICH", "a conftest file"),
        ("web", "from . import conftest", "a conftest file"),
        ("web", "import conftest", "a conftest file"),
        ("web", "from .test_pages import text", "a test module"),
        ("web", "from tests.web.pages import text", "not the support package"),
        ("web", "def f():\n    from tests.e2e.conftest import Gunicorn", "a conftest file"),
        ("support", "from tests.support.phones import new_phone", None),
        ("support", "from tests.web.test_cabinet import login", "a test module"),
        ("support", "from tests.e2e.servers import Gunicorn", "outside the support package"),
    ],
)
def test_the_rule_sees_every_way_of_importing_a_helper(tmp_path, folder, source, reason):
    """The checker itself: each forbidden spelling is caught, the allowed ones are not."""
    path = tmp_path / "tests" / folder / "example.py"
    path.parent.mkdir(parents=True)
    path.write_text(source + "\n")
    found = wrong_imports(path, tmp_path)
    if reason is None:
        assert found == []
    else:
        assert len(found) == 1 and reason in found[0], found
