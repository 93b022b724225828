"""Real servers for the tests whose point is the server: the app under gunicorn (its workers in
a process group of their own), on a free port, and a way to wait for something to happen.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 4
READY_WITHIN = 30.0
SECRET_KEY = "e2e-secret-0123456789"


@contextmanager
def threaded_server(app, poll_interval: float = 0.5) -> Iterator[str]:
    """The app behind a real threaded werkzeug server on 127.0.0.1; yields its base URL.
    Stopping waits up to `poll_interval` for the serving loop to notice."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(poll_interval,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_environment(database_url: str, fake_twilio) -> dict[str, str]:
    """The parent's environment without its BONUS_* settings, plus the server's own."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("BONUS_")}
    environ.update(
        BONUS_DATABASE_URL=database_url,
        BONUS_SECRET_KEY=SECRET_KEY,  # shared by all workers: tokens verify in any of them
        BONUS_SCHEDULER="false",
        BONUS_SMS_BACKEND="twilio",
        BONUS_SMS_PER_ADDRESS_HOUR="10000",  # every test guest logs in from 127.0.0.1
        BONUS_SMS_PER_NETWORK_HOUR="10000",
        BONUS_SMS_PER_HOUR="100000",
        BONUS_SMS_PER_PHONE_HOUR="100",
        TWILIO_ACCOUNT_SID=fake_twilio.account_sid,
        TWILIO_AUTH_TOKEN=fake_twilio.auth_token,
        TWILIO_FROM_NUMBER=fake_twilio.from_number,
        TWILIO_API_BASE=fake_twilio.base_url,
        PYTHONUNBUFFERED="1",
    )
    return environ


class Gunicorn:
    """One gunicorn master and its workers in a process group of their own."""

    def __init__(
        self,
        environ: dict[str, str],
        log_path: Path,
        workers: int = WORKERS,
        options: Sequence[str] = (),
    ):
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log_path = log_path
        command = [
            sys.executable, "-m", "gunicorn", "-w", str(workers),
            "-b", self.url.removeprefix("http://"),
            "--graceful-timeout", "5", "--error-logfile", "-", *options, "wsgi:app",
        ]  # fmt: skip
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=environ,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: one signal reaches every worker
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, within: float = READY_WITHIN) -> None:
        """Return once /readyz answers 200; fail with the server's log if it never does."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"gunicorn exited with {self.process.returncode}:\n{self.log()}")
            try:
                if requests.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:  # workers still booting
                pass
            time.sleep(0.1)
        pytest.fail(f"gunicorn was not ready within {within} s:\n{self.log()}")

    def stop(self) -> None:
        """SIGTERM the group (graceful), SIGKILL whatever is left after a few seconds."""
        group = self.process.pid  # start_new_session made the master its group leader
        _signal_group(group, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _signal_group(group, signal.SIGKILL)
            self.process.wait(timeout=10)
        _signal_group(group, signal.SIGKILL)  # a worker orphaned by a dead master


def _signal_group(group: int, signum: int) -> None:
    try:
        os.killpg(group, signum)
    except ProcessLookupError:
        pass


def wait_until(condition, within: float, step: float = 0.05) -> bool:
    """Poll `condition` until it is true or `within` seconds pass."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return False
