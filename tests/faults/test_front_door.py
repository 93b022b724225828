"""The front door: deploy/nginx as shipped, in front of two gunicorn instances on PostgreSQL.

nginx runs on a free unprivileged port with its own prefix under the test's tmp dir. Its
configuration is a minimal main file of the test's own (pid, logs, temp dirs, one `listen`) that
includes deploy/nginx/bonus-proxy.conf unchanged and deploy/nginx/bonus-upstream.conf with its
`server` lines pointed at the test's instances. Traffic stays on 127.0.0.0/8; a client that must
look like another guest binds its socket to another loopback address (127.0.1.2, 127.0.2.3).
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select, text

from bonus_service.db import Database
from bonus_service.models import LedgerEntry, Order, SmsSend
from tests.support.databases import PG_URL, waiting_on_guests
from tests.support.guests import seed
from tests.support.ledger_checks import assert_ledger_invariants
from tests.support.servers import ROOT, Gunicorn, free_port, server_environment, wait_until

DEPLOY = ROOT / "deploy" / "nginx"
SERVER_LINE = re.compile(r"^(\s*server\s+)(\S+)(.*)$", re.MULTILINE)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not PG_URL,
        reason="the front door is tested on PostgreSQL only (two instances, one killed under "
        "load); it runs on CI's PostgreSQL pass",
    ),
]


def nginx_binary() -> str:
    """Debian's nginx; a failure where BONUS_TEST_REQUIRE_NGINX is set (CI), else a skip."""
    found = shutil.which("nginx", path=f"{os.environ.get('PATH', '')}:/usr/sbin")
    if found:
        return found
    reason = "nginx is missing: apt-get install nginx"
    if os.environ.get("BONUS_TEST_REQUIRE_NGINX"):
        pytest.fail(f"the front-door tests are required here, but {reason}")
    pytest.skip(reason)


def upstream_for(instances: list[str]) -> str:
    """The shipped upstream file with its `server` lines pointed at `instances` (host:port)."""
    addresses = iter(instances)

    def point(line: re.Match) -> str:
        address = next(addresses, None)
        return f"{line[1]}{address}{line[3]}" if address else ""

    upstream = SERVER_LINE.sub(point, (DEPLOY / "bonus-upstream.conf").read_text())
    assert next(addresses, None) is None, "the shipped upstream lists fewer instances"
    return upstream


class Nginx:
    """An nginx of this test's own: `-p prefix`, in the foreground of its own process."""

    def __init__(self, binary: str, prefix: Path, instances: list[str]):
        self.binary, self.prefix, self.port = binary, prefix, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        for folder in ("logs", "temp"):
            (prefix / folder).mkdir(parents=True, exist_ok=True)
        (prefix / "bonus-upstream.conf").write_text(upstream_for(instances))
        temp = prefix / "temp"
        # as root the workers run as `user`: root here, so they can use the private tmp dir
        user = "user root;\n" if os.geteuid() == 0 else ""
        (prefix / "nginx.conf").write_text(
            f"{user}worker_processes 1;\npid {prefix}/nginx.pid;\n"
            f"error_log {prefix}/logs/error.log info;\n"
            "events { worker_connections 1024; }\n"
            "http {\n"
            f"  access_log {prefix}/logs/access.log;\n"
            + "".join(f"  {kind}_temp_path {temp}/{kind};\n"
                      for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
            + f"  include {prefix}/bonus-upstream.conf;\n"
            f"  server {{\n    listen 127.0.0.1:{self.port};\n"
            f"    include {DEPLOY / 'bonus-proxy.conf'};\n  }}\n"
            "}\n"
        )  # fmt: skip
        self.process: subprocess.Popen | None = None
        self.command = [binary, "-p", str(prefix), "-e", str(prefix / "logs" / "error.log"),
                        "-c", str(prefix / "nginx.conf")]  # fmt: skip

    def start(self) -> None:
        checked = subprocess.run([*self.command, "-t"], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        self.process = subprocess.Popen(
            [*self.command, "-g", "daemon off;"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        if not wait_until(self._answers, 10):
            pytest.fail(f"nginx did not answer within 10 s:\n{self.log()}")

    def _answers(self) -> bool:
        try:
            return requests.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def log(self) -> str:
        return (self.prefix / "logs" / "error.log").read_text(errors="replace")

    def access_log(self) -> str:
        return (self.prefix / "logs" / "access.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()  # SIGTERM: nginx's fast shutdown
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


@dataclass
class FrontDoor:
    nginx: Nginx
    instances: list[Gunicorn]

    @property
    def url(self) -> str:
        return self.nginx.url


@pytest.fixture
def front_door(request, database_url, fake_twilio, tmp_path) -> Iterator[FrontDoor]:
    """Two instances as production runs them (BONUS_PROXY_HOPS=1), nginx in front."""
    binary = nginx_binary()
    environ = {**server_environment(database_url, fake_twilio), "BONUS_PROXY_HOPS": "1",
               **getattr(request, "param", {})}  # fmt: skip
    # both boot side by side; each stops (with its workers) whatever the test did
    instances = [Gunicorn(environ, tmp_path / f"gunicorn-{n}.log", workers=2) for n in (1, 2)]
    nginx = None
    try:
        for instance in instances:
            instance.wait_ready()
        nginx = Nginx(
            binary, tmp_path / "nginx", [i.url.removeprefix("http://") for i in instances]
        )
        nginx.start()
        yield FrontDoor(nginx, instances)
    finally:
        if nginx is not None:
            nginx.stop()
            print(f"---- nginx error log ----\n{nginx.log()}")
        for instance in instances:
            instance.stop()
            # pytest shows a test's captured output only when it fails
            print(f"---- {instance.log_path.name} ----\n{instance.log()}")


# ---- a slow or stalled client cannot hold a worker -------------------------------------------


class SlowBodies:
    """`count` requests whose body (a login-code request) arrives a byte a second."""

    HEAD = (
        "POST /v1/auth/sms-code HTTP/1.1\r\nHost: bonus.test\r\n"
        "Content-Type: application/json\r\nContent-Length: 200\r\n\r\n"
    )

    def __init__(self, url: str, count: int, trickle: bool = True):
        host, port = url.removeprefix("http://").split(":")
        self.sockets = [
            socket.create_connection((host, int(port)), timeout=5) for _ in range(count)
        ]
        for connection in self.sockets:
            connection.sendall(self.HEAD.encode())
        self.started, self.stopped = time.monotonic(), threading.Event()
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        if trickle:
            self.thread.start()

    def _trickle(self) -> None:
        while not self.stopped.wait(1.0):
            for connection in self.sockets:
                try:
                    connection.sendall(b" ")
                except OSError:  # dropped by the server: fine, it is not held then
                    pass

    def dropped_within(self, seconds: float) -> bool:
        """Every socket was closed by the server, without an answer, `seconds` after start."""
        for connection in self.sockets:
            connection.settimeout(max(0.1, self.started + seconds - time.monotonic()))
            try:
                if connection.recv(1024):
                    return False
            except ConnectionResetError:  # reset_timedout_connection
                pass
            except TimeoutError:
                return False
        return True

    def close(self) -> None:
        self.stopped.set()
        if self.thread.is_alive():
            self.thread.join(5)
        for connection in self.sockets:
            connection.close()


def healthz_seconds(url: str) -> float:
    started = time.monotonic()
    assert requests.get(f"{url}/healthz", timeout=5).status_code == 200
    return time.monotonic() - started


def test_fifty_slow_bodies_do_not_delay_healthz_behind_nginx(front_door):
    stalled = SlowBodies(front_door.url, 1, trickle=False)  # sends half a body, then nothing
    slow = SlowBodies(front_door.url, 50)
    try:
        time.sleep(2)  # every body has started to arrive, a byte a second
        took = [healthz_seconds(front_door.url) for _ in range(10)]
        assert max(took) < 1.0, took
        assert slow.thread.is_alive()  # the bodies were still trickling in throughout
    finally:
        slow.close()
    # the stalled one is dropped by nginx after client_body_timeout (10 s), unanswered
    assert stalled.dropped_within(15)
    assert '"POST /v1/auth/sms-code HTTP/1.1" 408' in front_door.nginx.access_log()
    # the same trickle straight at one instance holds both its workers: the control that
    # shows the sockets above are slow enough to freeze gunicorn without the front door
    instance = front_door.instances[0]
    slow = SlowBodies(instance.url, 4)
    try:
        time.sleep(1)
        with pytest.raises(requests.Timeout):
            requests.get(f"{instance.url}/healthz", timeout=1)
    finally:
        slow.close()


# ---- the SMS limits see the guest, not nginx -------------------------------------------------


def ask_code(url: str, source: str, phone: str, forwarded_for: str | None = None) -> int:
    """POST /v1/auth/sms-code from the loopback address `source`; the answer's status."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10,
                                            source_address=(source, 0))  # fmt: skip
    headers = {"Content-Type": "application/json"}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    try:
        connection.request("POST", "/v1/auth/sms-code", f'{{"phone": "{phone}"}}', headers)
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.mark.parametrize("front_door", [{"BONUS_SMS_PER_ADDRESS_HOUR": "2"}], indirect=True)
def test_the_sms_limits_count_the_guests_address_not_nginxs(front_door, database_url):
    url = front_door.url
    first, second = "127.0.1.2", "127.0.2.3"  # other /24s than nginx's 127.0.0.1
    assert [ask_code(url, first, f"+7916000000{n}") for n in (1, 2)] == [202, 202]
    # a third from the same guest is refused, whatever X-Forwarded-For it writes itself
    assert ask_code(url, first, "+79160000003", forwarded_for="203.0.113.9") == 429
    assert ask_code(url, first, "+79160000004", forwarded_for="127.0.9.9, 198.51.100.1") == 429
    # another guest through the same nginx has a limit of its own
    assert ask_code(url, second, "+79160000005", forwarded_for=first) == 202
    db = Database(database_url)
    with db.unit_of_work(write=False) as session:
        counted = session.execute(
            select(SmsSend.address, func.count()).group_by(SmsSend.address)
        ).all()
    db.dispose()
    assert dict(counted) == {first: 2, second: 1}


def test_metrics_and_oversized_requests_end_at_the_front_door(front_door):
    for path in ("/metrics", "//metrics", "/%6Detrics", "/metrics?name=x", "/./metrics"):
        answer = requests.get(f"{front_door.url}{path}", timeout=5)
        assert answer.status_code in (403, 404), (path, answer.status_code)
        assert "bonus_http_requests_total" not in answer.text
    for instance in front_door.instances:  # Prometheus scrapes each instance's own port
        answer = requests.get(f"{instance.url}/metrics", timeout=5)
        assert answer.status_code == 200 and "bonus_http_requests_total" in answer.text
    # oversized requests: nginx answers them itself (its HTML page, not the service's problem)
    body = requests.post(f"{front_door.url}/v1/auth/sms-code", data=b"x" * (65 * 1024),
                         headers={"Content-Type": "application/json"}, timeout=5)  # fmt: skip
    assert body.status_code == 413 and "nginx" in body.text
    header = requests.get(f"{front_door.url}/healthz", headers={"X-Big": "y" * 9000}, timeout=5)
    assert header.status_code == 400 and "nginx" in header.text
    line = requests.get(f"{front_door.url}/healthz?{'q' * 9000}", timeout=5)
    assert line.status_code == 414 and "nginx" in line.text


def test_the_shipped_site_configuration_passes_nginx_t(tmp_path):
    """bonus-site.conf as an operator installs it: its paths moved under tmp_path only."""
    binary = nginx_binary()
    key, certificate = tmp_path / "site.key", tmp_path / "site.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=bonus.example.com", "-keyout", str(key),
                    "-out", str(certificate)], check=True, capture_output=True)  # fmt: skip
    site = (DEPLOY / "bonus-site.conf").read_text()
    site = site.replace("/etc/nginx/bonus/", f"{DEPLOY}/")
    site = site.replace("/etc/ssl/certs/bonus.example.com.pem", str(certificate))
    site = site.replace("/etc/ssl/private/bonus.example.com.key", str(key))
    site = re.sub(r"listen (\[::\]:)?(80|443)", lambda m: f"listen 127.0.0.1:{free_port()}", site)
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nevents {{}}\nhttp {{ include {tmp_path}/site.conf; }}\n"
    )
    checked = subprocess.run(
        [binary, "-t", "-p", str(tmp_path), "-e", str(tmp_path / "error.log"),
         "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr


# ---- one instance killed under a stream of orders --------------------------------------------

ORDERS_PER_GUEST = 8
REDEEM = "10.00"


def place_until_answered(url: str, body: dict, headers: dict, seen: list) -> None:
    """A checkout client: retry with the same Idempotency-Key after 502/503/504, a dropped
    connection, or 409 with Retry-After (the key's first attempt still holds it), ≤ 30 s."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            answer = requests.post(url, json=body, headers=headers, timeout=15)
        except requests.ConnectionError:
            seen.append("connection")
            time.sleep(0.2)
            continue
        seen.append(answer.status_code)
        if answer.status_code in (502, 503, 504):
            time.sleep(0.2)
        elif answer.status_code == 409 and "Retry-After" in answer.headers:
            time.sleep(float(answer.headers["Retry-After"]))
        else:
            return
    seen.append("gave up")


def stream_orders(url: str, key: str, phone: str, token: str, n: int, seen_by_order: dict) -> None:
    """One client's orders, one after another; what it saw for each, in `seen_by_order`."""
    for k in range(ORDERS_PER_GUEST):
        order_id = f"FD-{n}-{k}"
        order = {"channel": "pickup", "items": [{"sku": "K", "qty": 1, "price": "900.00"}]}
        body = {"id": order_id, "phone": phone, "redeem": REDEEM, "order": order}
        headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": f"key-{order_id}",
                   "X-Guest-Token": token}  # fmt: skip
        seen_by_order[order_id] = seen = []
        place_until_answered(f"{url}/v1/orders", body, headers, seen)


def test_one_instance_killed_under_orders_leaves_one_effect_per_order(front_door, database_url):
    db = Database(database_url)
    seeded = seed(db, guest_count=4)
    outcomes: list[dict[str, list]] = [{} for _ in seeded.phones]
    clients = [
        threading.Thread(target=stream_orders, args=(front_door.url, seeded.key, phone,
                                                     seeded.tokens[phone], n, outcomes[n]))
        for n, phone in enumerate(seeded.phones)
    ]  # fmt: skip
    # The guests' rows are locked while each client's first order is in flight, so the kill
    # lands with requests inside both instances (least_conn splits the four 2 + 2), stopped
    # at the ledger's UPDATE after their Idempotency-Key was claimed in the same transaction.
    with db.engine.connect() as locker:
        locker.execute(text("SELECT id FROM guests FOR NO KEY UPDATE"))
        for client in clients:
            client.start()
        assert wait_until(lambda: waiting_on_guests(db) == 4, 15), "the orders never arrived"
        victim = front_door.instances[0]
        os.killpg(victim.process.pid, signal.SIGKILL)  # the master and its workers at once
        victim.process.wait(10)
        locker.rollback()
    for client in clients:
        client.join(60)
        assert not client.is_alive()

    statuses = {order: seen for outcome in outcomes for order, seen in outcome.items()}
    assert len(statuses) == 4 * ORDERS_PER_GUEST
    assert all(seen[-1] == 201 for seen in statuses.values()), statuses
    retried = [order for order, seen in statuses.items() if 502 in seen]
    assert retried, f"the kill hit no order in flight: {statuses}"
    db.dispose()
    with db.unit_of_work(write=False) as session:
        orders = session.execute(select(Order.id, func.count()).group_by(Order.id)).all()
        entries = session.execute(
            select(LedgerEntry.order_id, LedgerEntry.kind, LedgerEntry.held_delta)
        ).all()
    assert dict(orders) == dict.fromkeys(statuses, 1)
    holds = [(order, kind) for order, kind, _ in entries if order is not None]
    assert sorted(holds) == sorted((order, "hold") for order in statuses)
    assert all(held == 1000 for order, _, held in entries if order is not None)
    assert_ledger_invariants(db)  # reconcile finds nothing, and more
    db.dispose()
