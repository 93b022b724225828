"""The two quick-start commands: `python3 dev.py start` and `python3 dev.py test`.

Both create `.venv/` on first use (and refresh it when setup.cfg changes), so a fresh machine
needs nothing but Python 3.11+.
"""

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed-from"


def _requirements_digest() -> str:
    """What the installed environment was built from; a change means reinstall."""
    digest = hashlib.sha256()
    for name in ("setup.cfg", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def ensure_venv() -> None:
    """Create the virtual environment and install the project with its test extras."""
    if not (BIN / "python").exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = _requirements_digest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    print("installing the project into .venv ...", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "-e", ".[test,dev]"], cwd=ROOT, check=True)
    STAMP.write_text(wanted)


def run(*argv: str) -> int:
    """Run a command from the venv in the project root and return its exit code."""
    return subprocess.call([str(BIN / argv[0]), *argv[1:]], cwd=ROOT)


def start(args: list[str]) -> int:
    """Bring the schema up to date, then serve on the embedded default."""
    code = run("flask", "--app", "wsgi", "bonus", "init-db")
    if code:
        return code
    return run("flask", "--app", "wsgi", "bonus", "serve", *args)


def test(args: list[str]) -> int:
    """Run the whole test suite (pass pytest arguments after `test`)."""
    return run("python", "-m", "pytest", *args)


COMMANDS = {"start": start, "test": test}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(f"usage: python3 {Path(__file__).name} {{{'|'.join(COMMANDS)}}} [args...]")
    ensure_venv()
    sys.exit(COMMANDS[sys.argv[1]](sys.argv[2:]))
