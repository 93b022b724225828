"""Where a checkout request's CPU goes, in process: no gunicorn, no wrk, no sockets.

Run: .venv/bin/python bench/profile_checkout.py [--rounds 5] [--requests 400] [--profile quote]
     [--database-url postgresql+psycopg://...]

Calls the WSGI apps directly with a prepared environ (a fresh body stream per call) on the
PostgreSQL database of bench/checkout.py, so the figures are the app's own cost per request:
  bare   bench/bare_app.py's POST /bare (the framework's floor, measured the same way)
  quote  POST /v1/quote, a registered phone and a 5-item pickup order
  pair   POST /v1/orders (redeem 10.00, X-Guest-Token) then its /complete
With --only SCENARIO --calls N it just makes N calls, for a deterministic count of instructions
under valgrind (the difference of two N, divided, is one call's cost, PostgreSQL excluded):
  valgrind --tool=callgrind --callgrind-out-file=/dev/null .venv/bin/python
      bench/profile_checkout.py --only quote --calls 220      (and again with --calls 20)
--drop-hooks bonus_service.logs (or .metrics, .http) removes that module's before/after-request
hooks, to weigh them. Otherwise it prints the best round's wall and CPU microseconds per request
(per pair; CPU is this process's own, so PostgreSQL's share is left out) and their ratio to
bare; with --profile it runs cProfile (CPU time) over one scenario and prints the time by
package and the top calls. Wall time includes waiting for PostgreSQL on the same machine; CPU
time is the figure to compare changes by.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import secrets
import sys
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]
sys.path.append(str(ROOT / "bench"))

import bare_app  # noqa: E402  (before checkout, which takes bench/ off sys.path)
import checkout as bench  # noqa: E402  (bench/checkout.py: database, key, order)
from werkzeug.test import EnvironBuilder  # noqa: E402


def environ(path: str, body: dict | None, headers: dict[str, str]):
    """A prepared WSGI environ and its body; each call gets a fresh copy and stream."""
    data = json.dumps(body).encode() if body is not None else b""
    built = EnvironBuilder(path=path, method="POST", data=data, headers=headers,
                           content_type="application/json" if body is not None else None)
    base = built.get_environ()
    base.pop("wsgi.input")
    return base, data


def call(app, prepared) -> tuple[int, bytes]:
    base, data = prepared
    env = dict(base)
    env["wsgi.input"] = io.BytesIO(data)
    status = []
    chunks = app(env, lambda s, h, exc_info=None: status.append(s))
    body = b"".join(chunks)
    if hasattr(chunks, "close"):
        chunks.close()
    return int(status[0].split()[0]), body


def setup(url: str):
    for key, value in bench.service_environment(url).items():
        os.environ[key] = value
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    bench.prepare_database(url)
    from bonus_service.app import create_app
    from bonus_service.app_db import get_db

    app = create_app()
    with app.app_context():
        db = get_db(app)
        nonce = secrets.token_hex(4)
        key = bench.new_key(db, nonce)
    auth = {"Authorization": f"Bearer {key}"}
    guests = []
    with app.app_context():
        from bonus_service.clock import utcnow
        from bonus_service.models import Guest
        from bonus_service.services.guests import issue_token

        for _ in range(8):
            phone = f"+7912{secrets.randbelow(10**7):07d}"
            for path, body in (
                ("/v1/guests", {"phone": phone}),
                (f"/v1/guests/{phone}/adjustments",
                 {"amount": "100000.00", "reason": "bench: a balance to spend",
                  "operator": f"bench-{nonce}"}),
            ):
                status, answer = call(app, environ(
                    path, body, {**auth, "Idempotency-Key": secrets.token_hex(16)}))
                assert status in (201, 409), answer
            with db.unit_of_work() as session:
                guest = session.query(Guest).filter_by(phone=phone).one()
                token = issue_token(session, guest, utcnow(), timedelta(days=1),
                                    code_purpose="login")
                session.commit()
            guests.append((phone, token))
    return app, auth, guests


def scenarios(app, auth, guests):
    bare = bare_app.app
    bare_env = environ("/bare", {"a": 1, "b": [1, 2, 3]}, {})
    quote_env = environ("/v1/quote", {"phone": guests[0][0], "order": bench.ORDER}, auth)
    nonce = secrets.token_hex(4)
    counter = iter(range(10**9))

    def bare_once():
        status, _ = call(bare, bare_env)
        assert status == 200

    def quote_once():
        status, body = call(app, quote_env)
        assert status == 200, body

    def pair_once():
        n = next(counter)
        phone, token = guests[n % len(guests)]
        oid = f"{nonce}-{n}"
        status, body = call(app, environ(
            "/v1/orders",
            {"id": oid, "phone": phone, "order": bench.ORDER, "redeem": "10.00"},
            {**auth, "Idempotency-Key": f"p-{oid}", "X-Guest-Token": token},
        ))
        assert status == 201, body
        status, body = call(app, environ(
            f"/v1/orders/{oid}/complete", None, {**auth, "Idempotency-Key": f"c-{oid}"}))
        assert status == 200, body

    return {"bare": bare_once, "quote": quote_once, "pair": pair_once}


def best_us(fn, requests: int, rounds: int) -> tuple[float, float]:
    """The best round's wall time and this process's CPU time per call, in µs."""
    for _ in range(20):
        fn()
    wall = cpu = float("inf")
    for _ in range(rounds):
        start, start_cpu = time.perf_counter(), time.process_time()
        for _ in range(requests):
            fn()
        wall = min(wall, (time.perf_counter() - start) / requests * 1e6)
        cpu = min(cpu, (time.process_time() - start_cpu) / requests * 1e6)
    return wall, cpu


def package_of(filename: str) -> str:
    path = filename.replace("\\", "/")
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if str(ROOT) in path:
        return path.removeprefix(str(ROOT) + "/").split("/", 1)[0]
    if path.startswith("<") or path == "~":
        return "builtins"
    return "stdlib"


def profile(fn, requests: int) -> None:
    for _ in range(20):
        fn()
    profiler = cProfile.Profile(time.process_time)  # CPU: waiting on PostgreSQL is not ours
    profiler.enable()
    for _ in range(requests):
        fn()
    profiler.disable()
    stats = pstats.Stats(profiler)
    by_package: dict[str, float] = defaultdict(float)
    total = 0.0
    for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():
        by_package[package_of(filename)] += tottime
        total += tottime
    print(f"\nself time by package, µs per request ({requests} requests):")
    for name, seconds in sorted(by_package.items(), key=lambda kv: -kv[1])[:15]:
        print(f"  {name:<22} {seconds / requests * 1e6:8.1f}  {seconds / total:5.1%}")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
    print(out.getvalue())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--profile", choices=("bare", "quote", "pair"))
    parser.add_argument("--database-url", default=bench.DEFAULT_URL)
    parser.add_argument("--only", choices=("bare", "quote", "pair"), help="with --calls")
    parser.add_argument("--calls", type=int, default=0, help="make this many calls, untimed")
    parser.add_argument("--drop-hooks", action="append", default=[], metavar="MODULE")
    args = parser.parse_args()
    app, auth, guests = setup(args.database_url)
    for hooks in (app.before_request_funcs[None], app.after_request_funcs[None]):
        hooks[:] = [f for f in hooks if f.__module__ not in args.drop_hooks]
    runs = scenarios(app, auth, guests)
    if args.only:
        for _ in range(args.calls):
            runs[args.only]()
        return 0
    if args.profile:
        profile(runs[args.profile], args.requests)
        return 0
    figures = {name: best_us(fn, args.requests if name != "pair" else args.requests // 4,
                             args.rounds) for name, fn in runs.items()}
    bare_wall, bare_cpu = figures["bare"]
    print(f"{'':<6} {'wall µs':>9} {'to bare':>8} {'CPU µs':>9} {'to bare':>8}  (per call)")
    for name, (wall, cpu) in figures.items():
        print(f"{name:<6} {wall:9.1f} {wall / bare_wall:7.1f}× {cpu:9.1f} {cpu / bare_cpu:7.1f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
