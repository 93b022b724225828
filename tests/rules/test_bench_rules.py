"""bench/rules.py runs, with a count small enough for every test run: its hand-written twin of
the default program must give the interpreter's very answers, or the script fails."""

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "rules.py"


def test_the_rules_benchmark_runs_and_its_twin_agrees_with_the_program():
    done = subprocess.run([sys.executable, str(BENCH), "--iterations", "20", "--repeat", "1"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "evaluations/s" in done.stdout and "ratio" in done.stdout
