"""The layers hold: no module of the services or the jobs loads the web stack, and the import
contracts (setup.cfg [importlinter]) are kept."""

from __future__ import annotations

import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import bonus_service.services
import scheduler

ROOT = Path(__file__).resolve().parents[1]
WEB = ("flask", "werkzeug", "marshmallow", "webargs", "flask_smorest", "jinja2")
BELOW_THE_WEB = sorted(
    [package.__name__]
    + [m.name for m in pkgutil.walk_packages(package.__path__, f"{package.__name__}.")]
    for package in (bonus_service.services, scheduler)
)
BELOW_THE_WEB = sorted(name for names in BELOW_THE_WEB for name in names)

# a fresh interpreter per module: one imported before it (here, by pytest) proves nothing
PROBE = """
import importlib, sys
importlib.import_module(sys.argv[1])
print(" ".join(n for n in sys.argv[2:] if n in sys.modules))
"""


@pytest.mark.parametrize("module", BELOW_THE_WEB)
def test_a_service_or_job_module_loads_nothing_of_the_web(module):
    loaded = subprocess.run(
        [sys.executable, "-c", PROBE, module, *WEB],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    ).stdout.split()  # fmt: skip
    assert not loaded, f"importing {module} loads {', '.join(loaded)}"


def test_the_walk_finds_the_services_and_the_jobs():
    assert {"bonus_service.services.checkout", "scheduler.jobs"} <= set(BELOW_THE_WEB)


def test_the_import_contracts_are_kept():
    """lint-imports checks setup.cfg's contracts: the layers and no package cycle."""
    linter = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert linter, "import-linter is not installed: pip install -e '.[test]'"
    checked = subprocess.run(
        [linter, "--config", str(ROOT / "setup.cfg")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
