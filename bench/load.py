"""A mixed checkout load at a fixed rate (open loop) against gunicorn on PostgreSQL.

Run: .venv/bin/python bench/load.py --rate 50 [--duration 60]
     .venv/bin/python bench/load.py --search [--duration 15] [--start 25] [--max-rate 1000]
     [--workers 2] [--worker-class gthread] [--threads 8] [--clients 64]
     [--database-url postgresql+psycopg://...]

The mix, by operation (not by request):
  quote  70%  POST /v1/quote: one of 64 registered guests, a 5-item pickup order
  place  20%  POST /v1/orders (Idempotency-Key, X-Guest-Token, redeem 10.00), then
              POST /v1/orders/{id}/complete: one operation, measured end to end (two requests)
  me     10%  GET /v1/me with the guest's token
Open loop: a scheduler thread releases operation i at t0 + i/rate into a queue served by --clients
threads, each with its own keep-alive connection; the latency of an operation runs from its intended
send time, so time spent waiting for a free client or for the server is counted (no coordinated
omission). "send lag" is how late a client started sending after the intended time; a p99 send lag
over --max-lag ms means the generator could not keep the schedule, and the rate fails.
A rate passes with every operation's p99 under --p99-ms (50), zero errors, and the schedule kept.
The database setup, guests, keys and gunicorn come from bench/checkout.py (database
`bench_checkout`, never the test database). Only 127.0.0.1; every loop ends by itself.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import random
import secrets
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.checkout import (  # noqa: E402
    DEFAULT_URL,
    ORDER,
    Config,
    busy_share,
    call,
    gunicorn,
    new_guests,
    new_key,
    prepare_database,
    service_environment,
)
from bonus_service.db import Database  # noqa: E402

MIX = (("quote", 0.70), ("place", 0.20), ("me", 0.10))
SEARCH_RATES = [25, 50, 75, 100, 150, 200, 300, 400, 600, 800, 1000, 1500, 2000]
TIMEOUT = 10.0  # seconds per request
GRACE = 15.0  # after the schedule ends, how long the clients may take to finish
IDLE = 1.5  # seconds: reopen a connection idle longer (gunicorn's --keep-alive is 2 s)


@dataclass
class Result:
    """What happened at one rate."""

    rate: float
    duration: float
    latencies: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k, _ in MIX})
    errors: dict[str, int] = field(default_factory=lambda: {k: 0 for k, _ in MIX})
    lags: list[float] = field(default_factory=list)
    unsent: int = 0  # scheduled but never started before the grace period ran out
    reconnects: int = 0
    last_done: float = 0.0  # seconds after t0 when the last operation finished
    samples: list[str] = field(default_factory=list)  # the first few error messages

    @property
    def completed(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    @property
    def error_count(self) -> int:
        return sum(self.errors.values()) + self.unsent

    @property
    def achieved(self) -> float:
        """Operations answered without error per second of the run."""
        return self.completed / max(self.duration, self.last_done)

    def verdict(self, p99_limit: float, lag_limit: float) -> list[str]:
        reasons = []
        if self.error_count:
            reasons.append(f"{self.error_count} errors")
        for name, values in self.latencies.items():
            if values and percentile(values, 99) >= p99_limit:
                reasons.append(f"{name} p99 {percentile(values, 99):.0f} ms")
        if self.lags and percentile(self.lags, 99) > lag_limit:
            reasons.append(f"send lag p99 {percentile(self.lags, 99):.0f} ms")
        if self.achieved < 0.95 * self.rate:
            reasons.append(f"achieved {self.achieved:.0f}/s")
        return reasons


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


class Client:
    """One keep-alive HTTP connection to 127.0.0.1, reopened once when the server closed it."""

    def __init__(self, port: int, result: Result, lock: threading.Lock):
        self.port, self.result, self.lock = port, result, lock
        self.connection: http.client.HTTPConnection | None = None
        self.used = 0.0  # when the connection last answered

    def request(
        self, method: str, path: str, body: dict | None, headers: dict
    ) -> tuple[int, bytes]:
        payload = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        if payload is not None:
            headers = {**headers, "Content-Type": "application/json"}
        for attempt in (1, 2):
            if self.connection is not None and time.perf_counter() - self.used > IDLE:
                self.close()  # the server has closed it, or is about to: don't send into it
            fresh = self.connection is None
            if fresh:
                self.connection = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=TIMEOUT
                )
            try:
                self.connection.request(method, path, body=payload, headers=headers)
                response = self.connection.getresponse()
                answer = response.status, response.read()
                self.used = time.perf_counter()
                return answer
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # a kept-alive connection the server had closed (gthread's keep-alive is 2 s):
                # retry once on a new one; every mutating call carries an Idempotency-Key
                self.close()
                if fresh or attempt == 2:
                    raise
                with self.lock:
                    self.result.reconnects += 1
            except BaseException:
                self.close()
                raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


class Load:
    """The service under test, its key and guests; runs the mix at one rate at a time."""

    def __init__(self, port: int, key: str, guests: list[tuple[str, str]], clients: int):
        self.port, self.key, self.guests, self.clients = port, key, guests, clients
        self.nonce = secrets.token_hex(4)
        self.serial = 0
        self.serial_lock = threading.Lock()

    def operation(self, name: str, client: Client, rng: random.Random) -> str | None:
        """One operation; None when it succeeded, else what went wrong."""
        phone, token = rng.choice(self.guests)
        auth = {"Authorization": f"Bearer {self.key}"}
        if name == "quote":
            status, body = client.request(
                "POST", "/v1/quote", {"phone": phone, "order": ORDER}, auth
            )
            return None if status == 200 else f"quote {status} {body[:200]!r}"
        if name == "me":
            status, body = client.request(
                "GET", "/v1/me", None, {"Authorization": f"Bearer {token}"}
            )
            return None if status == 200 else f"me {status} {body[:200]!r}"
        with self.serial_lock:
            self.serial += 1
            order_id = f"load-{self.nonce}-{self.serial}"
        place = {"id": order_id, "phone": phone, "order": ORDER, "redeem": "10.00"}
        headers = {**auth, "Idempotency-Key": f"p-{order_id}", "X-Guest-Token": token}
        status, body = client.request("POST", "/v1/orders", place, headers)
        if status != 201:
            return f"place {status} {body[:200]!r}"
        headers = {**auth, "Idempotency-Key": f"c-{order_id}"}
        status, body = client.request("POST", f"/v1/orders/{order_id}/complete", None, headers)
        return None if status == 200 else f"complete {status} {body[:200]!r}"

    def run(self, rate: float, duration: float, seed: int = 1) -> Result:
        result = Result(rate, duration)
        lock = threading.Lock()
        work: queue.Queue = queue.Queue()
        total = int(rate * duration)
        mix = random.Random(seed)
        names = mix.choices([n for n, _ in MIX], [w for _, w in MIX], k=total)
        t0 = time.perf_counter() + 0.2
        deadline = t0 + duration + GRACE

        def schedule() -> None:
            for i, name in enumerate(names):
                intended = t0 + i / rate
                pause = intended - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                work.put((name, intended))
            for _ in range(self.clients):
                work.put(None)

        def serve(index: int) -> None:
            client = Client(self.port, result, lock)
            rng = random.Random(seed * 1000 + index)
            try:
                while True:
                    item = work.get()
                    if item is None:
                        return
                    name, intended = item
                    started = time.perf_counter()
                    if started > deadline:
                        with lock:
                            result.unsent += 1
                        continue
                    try:
                        problem = self.operation(name, client, rng)
                    except Exception as error:  # a timeout or a socket error
                        problem = f"{name} {type(error).__name__}: {error}"
                    done = time.perf_counter()
                    with lock:
                        result.lags.append(1000 * (started - intended))
                        result.last_done = max(result.last_done, done - t0)
                        if problem is None:
                            result.latencies[name].append(1000 * (done - intended))
                        else:
                            result.errors[name] += 1
                            if len(result.samples) < 3:
                                result.samples.append(problem)
            finally:
                client.close()

        threads = [threading.Thread(target=schedule, daemon=True)]
        threads += [
            threading.Thread(target=serve, args=(i,), daemon=True) for i in range(self.clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:  # each client ends on its None, or skips what is past the deadline
            thread.join(timeout=max(0.0, deadline - time.perf_counter()) + TIMEOUT * 2 + 5)
        return result


HEADER = (
    f"{'target/s':>8} {'achieved/s':>10} "
    + " ".join(f"{n + ' n/p50/p99/err':>26}" for n, _ in MIX)
    + f" {'lag p99':>8}  verdict"
)


def row(result: Result, p99_limit: float, lag_limit: float) -> str:
    cells = []
    for name, _ in MIX:
        values = result.latencies[name]
        p50 = percentile(values, 50) if values else float("nan")
        p99 = percentile(values, 99) if values else float("nan")
        cells.append(f"{len(values):>7} {p50:>6.1f} {p99:>7.1f} {result.errors[name]:>3}")
    lag = percentile(result.lags, 99) if result.lags else float("nan")
    reasons = result.verdict(p99_limit, lag_limit)
    verdict = "pass" if not reasons else "FAIL: " + "; ".join(reasons)
    return (
        f"{result.rate:>8.0f} {result.achieved:>10.1f} "
        + " ".join(f"{c:>26}" for c in cells)
        + f" {lag:>8.1f}  {verdict}"
    )


def search_rates(args: argparse.Namespace, load: Load) -> float | None:
    """Step upward until a rate fails, then bisect between the last pass and the first fail."""
    best: float | None = None
    failed: float | None = None
    for rate in [r for r in SEARCH_RATES if args.start <= r <= args.max_rate]:
        if measure(args, load, rate):
            best = rate
        else:
            failed = rate
            break
    low = best if best is not None else 0.0
    for _ in range(args.bisect):
        if failed is None or failed - low <= max(5.0, 0.1 * failed):
            break
        middle = round((low + failed) / 2)
        if measure(args, load, middle):
            best = low = middle
        else:
            failed = middle
    return best


def measure(args: argparse.Namespace, load: Load, rate: float) -> bool:
    busy = busy_share(0.5)
    result = load.run(rate, args.duration)
    print(row(result, args.p99_ms, args.max_lag))
    if busy > 0.10:
        print(f"{'':>8} (the machine was {busy:.0%} busy before this run)")
    for sample in result.samples:
        print(f"{'':>8} error: {sample}")
    if result.reconnects:
        print(f"{'':>8} ({result.reconnects} resent: the server had closed the connection)")
    time.sleep(2)  # let the server settle before the next rate
    return not result.verdict(args.p99_ms, args.max_lag)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--rate", type=float, help="one run at this many operations/s")
    what.add_argument("--search", action="store_true", help="the highest passing rate")
    parser.add_argument("--duration", type=float, default=60, help="seconds per rate")
    parser.add_argument("--start", type=float, default=25, help="the search's first rate")
    parser.add_argument("--max-rate", type=float, default=2000, help="the search's last step")
    parser.add_argument("--bisect", type=int, default=3, help="bisection steps after a fail")
    parser.add_argument("--clients", type=int, default=64, help="client threads/connections")
    parser.add_argument("--p99-ms", type=float, default=50.0, help="pass: every p99 under this")
    parser.add_argument("--max-lag", type=float, default=10.0, help="pass: send lag p99, ms")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="gthread", choices=("sync", "gthread"))
    parser.add_argument("--threads", type=int, default=8, help="per worker (gthread)")
    parser.add_argument("--database-url", default=DEFAULT_URL)
    args = parser.parse_args()
    if (args.rate is not None and args.rate <= 0) or args.duration <= 0 or args.clients < 1:
        parser.error("--rate, --duration and --clients must be positive")
    sys.stdout.reconfigure(line_buffering=True)
    prepare_database(args.database_url)
    config = Config(args.worker_class, args.workers, args.threads)
    db = Database(args.database_url)
    environ = service_environment(args.database_url)
    print(
        f"gunicorn {config.name}; {args.clients} client threads; {args.duration:g} s per rate; "
        f"mix {', '.join(f'{n} {w:.0%}' for n, w in MIX)}; {os.cpu_count()} CPUs shared by "
        "client, server and PostgreSQL"
    )
    print("latency in ms from the intended send time; place = place + complete (two requests)")
    with tempfile.TemporaryDirectory(prefix="bench-load-") as folder:
        with gunicorn("wsgi:app", config, environ, Path(folder) / "service.log") as (base, _pid):
            nonce = secrets.token_hex(4)
            key = new_key(db, nonce)
            guests = new_guests(base, db, key, f"bench-{nonce}")
            call(base, "/v1/quote", {"phone": guests[0][0], "order": ORDER}, key, expect=(200,))
            load = Load(int(base.rpartition(":")[2]), key, guests, args.clients)
            load.run(20, 2, seed=0)  # warm-up: every worker's connections, caches and imports
            print(HEADER)
            if args.search:
                best = search_rates(args, load)
            else:
                best = args.rate if measure(args, load, args.rate) else None
    db.dispose()
    limit = f"p99 < {args.p99_ms:g} ms and zero errors"
    if best is None:
        print(f"highest passing rate: none ({limit})")
        return 1
    print(f"highest passing rate: {best:g} operations/s ({limit})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
