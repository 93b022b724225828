"""bench/simulate.py runs on PostgreSQL with a count small enough for every test run: the replay
must give the figures of the pure evaluation of the same orders, or the script fails."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.databases import PG_URL, create_run_database, drop_run_database

BENCH = Path(__file__).resolve().parents[2] / "bench" / "simulate.py"


@pytest.mark.skipif(not PG_URL, reason="the bench seeds PostgreSQL (COPY) in a database of its own")
def test_the_replay_benchmark_runs_and_agrees_with_the_pure_evaluation():
    url = create_run_database(PG_URL)
    try:
        done = subprocess.run(
            [sys.executable, str(BENCH), "--orders", "300", "--batch-size", "40",
             "--database-url", url],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
    finally:
        drop_run_database(PG_URL, url)
    assert done.returncode == 0, done.stderr
    assert "replay vs pure evaluation" in done.stdout
    assert "300 orders replayed" in done.stdout
