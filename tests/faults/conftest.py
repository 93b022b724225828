"""Fault fixtures: a private PostgreSQL cluster this test may stop and start (never the shared
server), a real gunicorn from the end-to-end tier, and a database seeded through the service
layer with a key of every scope and guests holding bonuses."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from bonus_service import ledger
from bonus_service.clock import utcnow
from bonus_service.credentials import create_client
from bonus_service.db import Database
from bonus_service.services import guests
from tests.e2e.conftest import Gunicorn, free_port, server_environment

IN_CI = os.environ.get("CI", "").lower() == "true"


@dataclass
class Seeded:
    """What the service was given before the fault: a key with every scope, and guests."""

    key: str
    phones: list[str]
    tokens: dict[str, str]


def seed(db: Database, guest_count: int = 4, kopecks: int = 100_000) -> Seeded:
    """A key holding every scope and guests with `kopecks` each and a live token."""
    now, phones, tokens = utcnow(), [], {}
    with db.unit_of_work() as session:
        key = create_client(session, "faults", ["checkout", "operator", "admin"], now)
        for n in range(guest_count):
            phone = f"+7919{n + 1:07d}"
            guest = guests.register(session, phone, now, by="faults")
            session.flush()
            ledger.move(session, guest.id, "adjustment", kopecks, actor="faults",
                        reason="стартовый баланс", now=now)  # fmt: skip
            tokens[phone] = guests.issue_token(session, guest, now, timedelta(days=1),
                                               code_purpose="login")  # fmt: skip
            phones.append(phone)
        session.commit()
    return Seeded(key, phones, tokens)


class PrivateCluster:
    """A PostgreSQL cluster of this test's own, on a free port, from the Debian binaries."""

    def __init__(self, bin_dir: Path, folder: Path):
        self.bin_dir, self.folder, self.port = bin_dir, folder, free_port()
        self.data, self.log = folder / "data", folder / "postgres.log"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        # initdb and postgres refuse to run as root: then they run as the postgres user
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        self._run(str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "-A", "trust", "-E", "UTF8", "--no-sync")  # fmt: skip

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c full_page_writes=off")  # fmt: skip
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                  "-o", options, "-w", "start")  # fmt: skip

    def stop(self, mode: str = "immediate") -> None:
        """`immediate`: the server dies as in a crash, without a checkpoint."""
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


def postgres_bin_dir() -> Path | None:
    """The newest Debian PostgreSQL server binaries, if installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    return Path(found[-1]).parent if found else None


def _version(path: str) -> float:
    return float(Path(path).parts[-3])


@pytest.fixture
def private_cluster() -> Iterator[PrivateCluster]:
    """A running private cluster; stopped and removed afterwards, whatever the test did."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        if IN_CI:
            pytest.fail("the PostgreSQL server binaries are missing; CI must run this test")
        pytest.skip("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
    as_root = os.geteuid() == 0
    # under /tmp, which the postgres user can reach (pytest's own tmp_path is root's alone);
    # mkdtemp makes it unique and private (0700) before it is handed to postgres
    shared_tmp = "/tmp" if as_root else None  # noqa: S108
    folder = Path(tempfile.mkdtemp(prefix="bonus-faults-pg-", dir=shared_tmp))
    if as_root:
        shutil.chown(folder, "postgres")
    cluster = PrivateCluster(bin_dir, folder)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        if cluster.running():
            cluster.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def serve(tmp_path, fake_twilio):
    """serve(database_url, workers=2, **environment) → a ready gunicorn; stopped afterwards."""
    servers: list[Gunicorn] = []

    def start(database_url: str, workers: int = 2, **environment: str) -> Gunicorn:
        environ = {**server_environment(database_url, fake_twilio), **environment}
        server = Gunicorn(environ, tmp_path / f"gunicorn-{len(servers)}.log", workers)
        servers.append(server)
        server.wait_ready()
        return server

    yield start
    for server in servers:
        server.stop()


def wait_until(condition, within: float, step: float = 0.05) -> bool:
    """Poll `condition` until it is true or `within` seconds pass."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return False
