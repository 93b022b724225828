"""Fault fixtures: a private PostgreSQL cluster this test may stop and start (never the shared
server) and real gunicorns serving the app, from tests.support."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.private_postgres import PrivateCluster, postgres_bin_dir
from tests.support.servers import Gunicorn, server_environment

IN_CI = os.environ.get("CI", "").lower() == "true"


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
