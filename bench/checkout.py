"""Checkout over HTTP under gunicorn on PostgreSQL, beside a bare Flask JSON endpoint (the ceiling).

Run: .venv/bin/python bench/checkout.py [--duration 12] [--connections 32] [--matrix]
     [--workers 2] [--worker-class sync] [--threads 1] [--database-url postgresql+psycopg://...]

Needs wrk (apt-get install wrk) and a PostgreSQL server. It creates the database when missing
(default `bench_checkout`, never the test database), runs `flask --app wsgi bonus init-db`, serves
the service and bench/bare_app.py with the same gunicorn options one after the other, and
drives each with wrk (2 threads, --latency) from Lua scripts written to a temporary folder:
  bare   POST /bare with a small JSON body, before and after the service (the mean is the ceiling)
  floors POST /bare-read: the same view plus one indexed SELECT (a quote's floor), and
         POST /bare-sql: plus one redemption's SQL, UPDATE + INSERT + COMMIT (a write's floor)
  quote  POST /v1/quote: a registered phone, a 5-item pickup order
  pairs  POST /v1/orders (Idempotency-Key, X-Guest-Token, redeem 10.00), then
         POST /v1/orders/{id}/complete once the place answered; pairs/s = completes/s
wrk shares the machine's cores with the server, for every scenario alike.
Targets: quote >= 50% of bare req/s; pairs/s >= 15% of bare req/s; quote p99 < 20 ms.
The last line of each configuration's table gives the quote's and the pairs' shares of bare.

A/B of a hand-written mechanism against the library's own way (docs/performance.md):
     .venv/bin/python bench/checkout.py --ab db [--rounds 4] [--duration 6]
serves bench/ab_app.py twice per round, kept way and library way (ABBA...), measures quote
and pairs on each, and prints the medians, their spread and the kept way's gain. `--ab all`
runs every mechanism bench/library_ways.py knows.
To bench another checkout (e.g. before/after on a merged tree), run that checkout's own
bench/checkout.py: it serves the tree it lies in (ROOT), with any venv that has the deps.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

import psycopg  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bonus_service.clock import utcnow  # noqa: E402
from bonus_service.credentials import create_client  # noqa: E402
from bonus_service.db import Database  # noqa: E402
from bonus_service.models import Guest  # noqa: E402
from bonus_service.services import operators  # noqa: E402
from bonus_service.services.guests import issue_token  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_checkout"
SECRET_KEY = secrets.token_hex(16)
GUESTS = 64  # spread over many balances: the bench measures the service, not one hot row
BALANCE = "10000.00"  # per guest; GUESTS of these stay under one operator's daily limit
ORDER = {
    "channel": "pickup",
    "source": "website",
    "items": [
        {"sku": "B-101", "name": "Борщ", "category": "soup", "qty": 2, "price": "290.00"},
        {"sku": "P-7", "name": "Пельмени", "category": "main", "qty": 1, "price": "450.00"},
        {"sku": "S-2", "name": "Салат", "category": "salad", "qty": 1, "price": "320.50"},
        {"sku": "D-4", "name": "Морс", "category": "drinks", "qty": 3, "price": "120.00"},
        {"sku": "X-1", "name": "Хлеб", "category": "bread", "qty": 1, "price": "40.00"},
    ],
}
MATRIX = [("sync", 2, 1), ("sync", 4, 1), ("gthread", 2, 4), ("gthread", 4, 4), ("gthread", 2, 8)]
TARGETS = {"quote_share": 0.50, "pairs_share": 0.15, "quote_p99_ms": 20.0}


@dataclass(frozen=True)
class Config:
    worker_class: str
    workers: int
    threads: int

    @property
    def name(self) -> str:
        if self.worker_class == "sync":
            return f"sync w{self.workers}"
        return f"{self.worker_class} w{self.workers}x{self.threads}"

    def options(self) -> list[str]:
        return ["-w", str(self.workers), "-k", self.worker_class, "--threads", str(self.threads)]


@dataclass(frozen=True)
class Figure:
    scenario: str
    per_second: float  # requests/s, or pairs/s for the pairs
    p50_ms: float
    p99_ms: float
    errors: int
    app_cpu_ms: float  # CPU time of gunicorn's workers per request (per pair for the pairs)
    app_sys_ms: float  # the part of it spent in the kernel (sockets, the log's writes)
    db_cpu_ms: float  # CPU time of the PostgreSQL backends serving this database, likewise


# -- the database and the data the scenarios need ---------------------------------------------


def prepare_database(url: str) -> None:
    """Create the database when missing and bring its schema to the current version."""
    plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
    base, _, name = plain.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [str(Path(sys.executable).with_name("flask")), "--app", "wsgi", "bonus", "init-db"],
        cwd=ROOT,
        env=service_environment(url),
        check=True,
        capture_output=True,
    )


def prepare_floor(url: str) -> str:
    """The tables of bare_app's /bare-sql in the bench database; → its psycopg conninfo."""
    plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(
            "CREATE TABLE IF NOT EXISTS bench_floor_accounts (id integer PRIMARY KEY, "
            "balance bigint NOT NULL, held bigint NOT NULL, CHECK (balance >= held))"
        )
        connection.execute(
            "CREATE TABLE IF NOT EXISTS bench_floor_entries (id bigserial PRIMARY KEY, "
            "account_id integer NOT NULL REFERENCES bench_floor_accounts, amount bigint NOT NULL, "
            "balance_after bigint NOT NULL, created_at timestamptz NOT NULL)"
        )
        connection.execute("TRUNCATE bench_floor_entries")
        connection.execute(
            "INSERT INTO bench_floor_accounts SELECT g, 1000000000, 0 "
            "FROM generate_series(0, 63) g ON CONFLICT (id) DO UPDATE SET balance = 1000000000"
        )
    return plain


def service_environment(url: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("BONUS_")}
    environ.update(
        BONUS_DATABASE_URL=url,
        BONUS_SECRET_KEY=SECRET_KEY,  # one key for every worker
        BONUS_SCHEDULER="false",
        BONUS_SMS_BACKEND="console",
        BONUS_SMS_PER_ADDRESS_HOUR="100000",
        BONUS_SMS_PER_NETWORK_HOUR="100000",
        BONUS_SMS_PER_HOUR="1000000",
        # the guests' opening credits (GUESTS × BALANCE) are neither reviewed nor over a limit
        BONUS_ADJUSTMENT_REVIEW_OVER="1000000",
        BONUS_ADJUSTMENT_DAILY_LIMIT="1000000",
    )
    return environ


def new_key(db: Database, nonce: str) -> str:
    """An API key for checkout and adjustments, and an operator `bench-<nonce>` to sign the
    guests' credits (a fresh one per run: its credits of the day have a limit)."""
    with db.unit_of_work() as session:
        key = create_client(session, f"bench-{nonce}", ["checkout", "operator"], utcnow())
        operators.create(session, f"bench-{nonce}", secrets.token_hex(16), utcnow())
        session.commit()
    return key


def new_guests(base: str, db: Database, key: str, operator: str) -> list[tuple[str, str]]:
    """GUESTS registered guests with BALANCE bonuses each, over HTTP: [(phone, guest token)];
    `operator` (new_key's `bench-<nonce>`) signs the credits."""
    phones = [f"+7912{secrets.randbelow(10**7):07d}" for _ in range(GUESTS)]
    for phone in phones:
        call(base, "/v1/guests", {"phone": phone}, key, expect=(201, 409))
        call(
            base,
            f"/v1/guests/{phone}/adjustments",
            {"amount": BALANCE, "reason": "bench: a balance to spend", "operator": operator},
            key,
            expect=(201,),
        )
    with db.unit_of_work() as session:  # tokens as a login would issue them, minus the SMS
        guests = session.scalars(select(Guest).where(Guest.phone.in_(phones))).all()
        tokens = {g.phone: issue_token(session, g, utcnow(), timedelta(days=1),
                                       code_purpose="login") for g in guests}  # fmt: skip
        session.commit()
    return [(phone, tokens[phone]) for phone in phones]


def call(base: str, path: str, body: dict, key: str, expect: tuple[int, ...]) -> dict:
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        headers={
            "Authorization": f"Bearer {key}",
            "Idempotency-Key": secrets.token_hex(16),
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, answer = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, answer = error.code, error.read()
    if status not in expect:
        raise SystemExit(f"{path}: {status} {answer[:500]!r}")
    return json.loads(answer)


# -- gunicorn ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def gunicorn(app: str, config: Config, environ: dict[str, str], log: Path, chdir: Path = ROOT):
    """Serve `app` with `config`; yield the base URL and the master's pid; stop every worker."""
    port = free_port()
    command = [
        sys.executable, "-m", "gunicorn", *config.options(), "-b", f"127.0.0.1:{port}",
        "--chdir", str(chdir), "--graceful-timeout", "5", "--error-logfile", "-", app,
    ]  # fmt: skip
    with log.open("ab") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=environ, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, process, log)
        yield base, process.pid
    finally:
        for signum in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(process.pid, signum)
                process.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass


def wait_ready(base: str, process: subprocess.Popen, log: Path, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"gunicorn was not ready in {within} s:\n{log.read_text(errors='replace')}")


# -- wrk --------------------------------------------------------------------------------------


def lua_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid Lua string literal


def static_post(path: str, body: dict, key: str | None) -> str:
    """A wrk script sending the same POST every time (no Lua per request)."""
    lines = [
        'wrk.method = "POST"',
        f"wrk.path = {lua_string(path)}",
        f"wrk.body = {lua_string(json.dumps(body, ensure_ascii=False))}",
        'wrk.headers["Content-Type"] = "application/json"',
    ]
    if key:
        lines.append(f'wrk.headers["Authorization"] = {lua_string("Bearer " + key)}')
    return "\n".join(lines) + "\n"


PAIRS_LUA = """
-- place an order, and once its 201 is back, complete it on the same connection
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end
pending, counter, completed, failed = {}, 0, 0, 0
function request()
  local id = table.remove(pending)
  if id then
    return wrk.format("POST", "/v1/orders/" .. id .. "/complete",
      {["Authorization"] = AUTH, ["Idempotency-Key"] = "c-" .. id})
  end
  counter = counter + 1
  local oid = NONCE .. "-" .. tid .. "-" .. counter
  local guest = GUESTS[(counter + tid) % #GUESTS + 1]
  return wrk.format("POST", "/v1/orders",
    {["Authorization"] = AUTH, ["Content-Type"] = "application/json",
     ["Idempotency-Key"] = "p-" .. oid, ["X-Guest-Token"] = guest[2]},
    string.format(BODY, oid, guest[1]))
end
function response(status, headers, body)
  if status == 201 then
    table.insert(pending, body:match('"id": *"([^"]+)"'))
  elseif status == 200 then
    completed = completed + 1
  else
    failed = failed + 1
    if failed <= 3 then io.stderr:write(status .. " " .. body:sub(1, 300) .. "\\n") end
  end
end
function done(summary, latency, requests)
  local c, f = 0, 0
  for _, t in ipairs(threads) do c = c + t:get("completed"); f = f + t:get("failed") end
  io.write(string.format("PAIRS %d\\nFAILED %d\\n", c, f))
end
"""


def pairs_script(key: str, nonce: str, guests: list[tuple[str, str]]) -> str:
    body = json.dumps(
        {"id": "%s", "phone": "%s", "order": ORDER, "redeem": "10.00"}, ensure_ascii=False
    )
    table = ", ".join(f"{{{lua_string(p)}, {lua_string(t)}}}" for p, t in guests)
    return (
        f"AUTH = {lua_string('Bearer ' + key)}\nNONCE = {lua_string(nonce)}\n"
        f"GUESTS = {{{table}}}\nBODY = {lua_string(body)}\n{PAIRS_LUA}"
    )


UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def run_wrk(url: str, script: Path, args: argparse.Namespace, server: int, db: str = "") -> dict:
    """One wrk run; → requests/s, p50/p99 in ms, errors, custom lines, CPU seconds used by the
    server's process group and by the PostgreSQL backends connected to database `db`."""
    command = [
        "wrk", "-t", "2", "-c", str(args.connections), "-d", f"{args.duration}s", "--latency",
        "--timeout", "10s", "-s", str(script), url,
    ]  # fmt: skip
    before = cpu_seconds(server, db)
    out = subprocess.run(command, capture_output=True, text=True, check=True)
    after = cpu_seconds(server, db)
    text = out.stdout
    percent = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", text, re.M))
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", text))
    errors += int((re.search(r"Non-2xx or 3xx responses: (\d+)", text) or [0, 0])[1])
    seconds = float(re.search(r"requests in ([\d.]+)(\w+),", text)[1]) * (
        60 if re.search(r"requests in [\d.]+m,", text) else 1
    )
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text)[1]),
        "p50": to_ms(percent["50"]),
        "p99": to_ms(percent["99"]),
        "errors": errors,
        "seconds": seconds,
        "extra": dict(re.findall(r"^([A-Z]+) (\d+)$", text, re.M)),
        "stderr": out.stderr.strip(),
        "requests": int(re.search(r"(\d+) requests in", text)[1]),
        "app_cpu": after[0] - before[0],
        "app_sys": after[1] - before[1],
        "db_cpu": after[2] - before[2],
    }


def cpu_seconds(group: int, database: str) -> tuple[float, float, float]:
    """User+system CPU seconds so far of process group `group`, its system part, and the
    user+system seconds of `database`'s backends."""
    tick = os.sysconf("SC_CLK_TCK")
    app = app_system = db = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            title = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # the process ended meanwhile
        fields = text.rpartition(")")[2].split()
        used = (int(fields[11]) + int(fields[12])) / tick
        if int(fields[2]) == group:
            app += used
            app_system += int(fields[12]) / tick
        elif database and title.startswith("postgres:") and f" {database} " in title:
            db += used
    return app, app_system, db


def to_ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * UNITS_MS[unit]


# -- the scenarios ----------------------------------------------------------------------------


def measure(config: Config, args: argparse.Namespace, work: Path) -> list[Figure]:
    """Bare (before and after), quote and pairs under one gunicorn configuration."""
    bare_lua = work / "bare.lua"
    bare_lua.write_text(static_post("/bare", {"phone": "+79120000000", "order": "A-1"}, None))
    figures = [measure_bare("bare (before)", config, args, work, bare_lua)]
    figures.extend(measure_floors(config, args, work))
    db = Database(args.database_url)
    db_name = args.database_url.rpartition("/")[2]
    environ = service_environment(args.database_url)
    with gunicorn("wsgi:app", config, environ, work / "service.log") as (base, pid):
        if args.profile_hint:
            print(f"  service master pid {pid}")
        nonce = secrets.token_hex(4)
        key = new_key(db, nonce)
        guests = new_guests(base, db, key, f"bench-{nonce}")
        quote_lua = work / "quote.lua"
        quote_lua.write_text(static_post("/v1/quote", {"phone": guests[0][0], "order": ORDER}, key))
        call(base, "/v1/quote", {"phone": guests[0][0], "order": ORDER}, key, expect=(200,))
        result = run_wrk(base + "/v1/quote", quote_lua, args, pid, db_name)
        figures.append(figure("quote", result))
        pairs_lua = work / "pairs.lua"
        pairs_lua.write_text(pairs_script(key, nonce, guests))
        result = run_wrk(base, pairs_lua, args, pid, db_name)
        if result["stderr"]:
            print(f"  pairs ({config.name}): {result['stderr']}", file=sys.stderr)
        figures.append(figure("place+complete", result, pairs=int(result["extra"]["PAIRS"])))
    db.dispose()
    figures.append(measure_bare("bare (after)", config, args, work, bare_lua))
    return figures


def measure_floors(config: Config, args, work: Path) -> list[Figure]:
    """bare_app's /bare-read and /bare-sql: the framework plus one read, or one write, only."""
    environ = {**os.environ, "BENCH_FLOOR_DATABASE": prepare_floor(args.database_url)}
    db_name = args.database_url.rpartition("/")[2]
    figures = []
    with gunicorn("bare_app:app", config, environ, work / "floor.log", ROOT / "bench") as (
        base,
        pid,
    ):
        for scenario, path in (("read floor", "/bare-read"), ("sql floor", "/bare-sql")):
            script = work / f"{path.strip('/')}.lua"
            script.write_text(static_post(path, {"phone": "+79120000000", "order": "A-1"}, None))
            figures.append(figure(scenario, run_wrk(base + path, script, args, pid, db_name)))
    return figures


def measure_bare(name: str, config: Config, args, work: Path, script: Path) -> Figure:
    with gunicorn("bare_app:app", config, dict(os.environ), work / "bare.log", ROOT / "bench") as (
        base,
        pid,
    ):
        return figure(name, run_wrk(base + "/bare", script, args, pid))


def figure(scenario: str, result: dict, pairs: int | None = None) -> Figure:
    done = result["requests"] if pairs is None else pairs
    rate = result["rps"] if pairs is None else pairs / result["seconds"]
    return Figure(
        scenario,
        rate,
        result["p50"],
        result["p99"],
        result["errors"],
        1000 * result["app_cpu"] / max(1, done),
        1000 * result["app_sys"] / max(1, done),
        1000 * result["db_cpu"] / max(1, done),
    )


def ceiling(figures: list[Figure]) -> float:
    """The bare endpoint's req/s: the mean of the runs before and after the service's."""
    bare = [f.per_second for f in figures if f.scenario.startswith("bare (")]
    return sum(bare) / len(bare)


def print_table(config: Config, figures: list[Figure]) -> None:
    bare = ceiling(figures)
    print(f"\n{config.name}")
    print(
        f"{'scenario':<15} {'per s':>8} {'p50 ms':>8} {'p99 ms':>8} {'to bare':>7} "
        f"{'errors':>6} {'app CPU ms':>10} {'of it sys':>9} {'db CPU ms':>9}"
    )
    for f in figures:
        print(
            f"{f.scenario:<15} {f.per_second:>8,.0f} {f.p50_ms:>8.2f} {f.p99_ms:>8.2f} "
            f"{f.per_second / bare:>7.0%} {f.errors:>6} {f.app_cpu_ms:>10.2f} "
            f"{f.app_sys_ms:>9.2f} {f.db_cpu_ms:>9.2f}"
        )
    print("(place+complete: pairs/s, and CPU per pair; the others: requests/s and CPU per request)")
    read = next(f.per_second for f in figures if f.scenario == "read floor")
    print(
        f"read floor: a bare Flask view running only one indexed SELECT; no quote, which reads "
        f"the guest's balance, can beat {read:,.0f}/s ({read / bare:.0%})"
    )
    floor = next(f.per_second for f in figures if f.scenario == "sql floor")
    print(
        f"sql floor: a bare Flask view running only one redemption's UPDATE + INSERT + COMMIT; "
        f"a pair is two writes, so no pair can beat {floor / 2:,.0f}/s ({floor / 2 / bare:.0%})"
    )
    quote, pairs = (f.per_second for f in figures if f.scenario in ("quote", "place+complete"))
    print(
        f"shares of bare: quote {quote / bare:.1%}, pairs {pairs / bare:.1%} "
        f"(bare {bare:,.0f} req/s, quote {quote:,.0f} req/s, pairs {pairs:,.0f}/s; {config.name})"
    )
    before, after = (f.per_second for f in figures if f.scenario.startswith("bare ("))
    if abs(before - after) > 0.1 * max(before, after):
        print(f"warning: the bare figure drifted {before:,.0f} -> {after:,.0f}: a noisy machine")


def verdict(figures: list[Figure]) -> list[str]:
    """The targets this configuration misses (empty when it meets them all)."""
    bare = ceiling(figures)
    quote, pairs = (f for f in figures if f.scenario in ("quote", "place+complete"))
    missed = []
    if quote.per_second < TARGETS["quote_share"] * bare:
        missed.append(f"quote {quote.per_second / bare:.0%} of bare (target 50%)")
    if pairs.per_second < TARGETS["pairs_share"] * bare:
        missed.append(f"pairs {pairs.per_second / bare:.0%} of bare (target 15%)")
    if quote.p99_ms >= TARGETS["quote_p99_ms"]:
        missed.append(f"quote p99 {quote.p99_ms:.1f} ms (target < 20 ms)")
    return missed


def busy_share(seconds: float = 1.0) -> float:
    """How busy the machine's CPUs are before a run (others' work skews every figure)."""

    def times() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        return sum(fields), fields[3] + fields[4]  # total, idle + iowait

    try:
        total, idle = times()
        time.sleep(seconds)
        total2, idle2 = times()
    except OSError:
        return 0.0
    return 1 - (idle2 - idle) / max(1, total2 - total)


# -- A/B: a hand-written mechanism against the library's own way -------------------------------

AB_SIDES = ("kept", "library")


def ab_names(requested: str) -> list[str]:
    """The mechanisms to A/B: a comma-separated list of bench/library_ways.py's names, or `all`."""
    from bench.library_ways import LIBRARY_WAYS

    names = list(LIBRARY_WAYS) if requested == "all" else requested.split(",")
    unknown = [n for n in names if n not in LIBRARY_WAYS]
    if unknown:
        raise SystemExit(f"--ab: unknown {', '.join(unknown)}; known: {', '.join(LIBRARY_WAYS)}")
    return names


def measure_ab(name: str, config: Config, args: argparse.Namespace, work: Path) -> dict:
    """Rounds of (kept, library): each side a fresh gunicorn serving bench.ab_app, its quote
    and pairs measured; → {side: [(quote/s, quote app CPU ms, pairs/s, pair app CPU ms)]}."""
    db = Database(args.database_url)
    db_name = args.database_url.rpartition("/")[2]
    runs: dict[str, list[tuple[float, float, float, float]]] = {side: [] for side in AB_SIDES}
    key = guests = None
    for round_ in range(1, args.rounds + 1):
        # ABBA...: the side that goes first alternates, so a load that rises or falls
        # through the run weighs on both sides alike
        for side in AB_SIDES if round_ % 2 else AB_SIDES[::-1]:
            environ = {
                **service_environment(args.database_url),
                "BENCH_LIBRARY_WAY": name if side == "library" else "",
            }
            with gunicorn("bench.ab_app:app", config, environ, work / "ab.log") as (base, pid):
                if key is None:
                    nonce = secrets.token_hex(4)
                    key = new_key(db, nonce)
                    guests = new_guests(base, db, key, f"bench-{nonce}")
                quote_body = {"phone": guests[0][0], "order": ORDER}
                quote_lua = work / "quote.lua"
                quote_lua.write_text(static_post("/v1/quote", quote_body, key))
                for _ in range(20):  # the workers' first requests load what they lazily load
                    call(base, "/v1/quote", quote_body, key, expect=(200,))
                quote = figure("quote", run_wrk(base + "/v1/quote", quote_lua, args, pid, db_name))
                pairs_lua = work / "pairs.lua"
                pairs_lua.write_text(pairs_script(key, secrets.token_hex(4), guests))
                result = run_wrk(base, pairs_lua, args, pid, db_name)
                if result["stderr"]:
                    print(f"  pairs ({side}): {result['stderr']}", file=sys.stderr)
                pairs = figure("place+complete", result, pairs=int(result["extra"]["PAIRS"]))
            if quote.errors or pairs.errors:
                print(f"  warning: errors: quote {quote.errors}, pairs {pairs.errors}")
            runs[side].append((quote.per_second, quote.app_cpu_ms, pairs.per_second,
                               pairs.app_cpu_ms))  # fmt: skip
            print(
                f"  {name} round {round_} {side:<7}: quote {quote.per_second:>7,.0f}/s "
                f"({quote.app_cpu_ms:.3f} ms CPU), pairs {pairs.per_second:>5,.0f}/s "
                f"({pairs.app_cpu_ms:.2f} ms CPU)"
            )
    db.dispose()
    return runs


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def print_ab(name: str, runs: dict) -> None:
    """Medians and spreads of both sides, and the kept way's gain over the library's way:
    on the medians, and per round (kept against the library run right after it)."""
    print(f"\nA/B {name}: kept (hand-written) against library way, {len(runs['kept'])} rounds")
    for index, label, higher_is_better in (
        (0, "quote req/s", True), (1, "quote app CPU ms", False),
        (2, "pairs/s", True), (3, "pair app CPU ms", False),
    ):  # fmt: skip
        kept = [run[index] for run in runs["kept"]]
        library = [run[index] for run in runs["library"]]
        gain = median(kept) / median(library) - 1 if higher_is_better else (
            median(library) / median(kept) - 1)  # fmt: skip
        rounds = [
            (k / b - 1) if higher_is_better else (b / k - 1)
            for k, b in zip(kept, library, strict=True)
        ]
        print(
            f"  {label:<17} kept {median(kept):>9,.3f} ({min(kept):,.3f}-{max(kept):,.3f})  "
            f"library {median(library):>9,.3f} ({min(library):,.3f}-{max(library):,.3f})  "
            f"gain {gain:+.1%} (rounds {min(rounds):+.1%} to {max(rounds):+.1%})"
        )
    quote_gain = median([r[0] for r in runs["kept"]]) / median([r[0] for r in runs["library"]]) - 1
    pairs_gain = median([r[2] for r in runs["kept"]]) / median([r[2] for r in runs["library"]]) - 1
    keep = quote_gain >= 0.03 or pairs_gain >= 0.03
    print(
        f"AB {name}: quote {quote_gain:+.1%}, pairs {pairs_gain:+.1%} -> "
        + ("keep (>= 3% on one)" if keep else "library way (< 3% on both)")
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=12, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="sync", choices=("sync", "gthread"))
    parser.add_argument("--threads", type=int, default=1, help="per worker (gthread)")
    parser.add_argument("--matrix", action="store_true", help="every configuration in MATRIX")
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--profile-hint", action="store_true", help="print the master's pid")
    parser.add_argument(
        "--ab", metavar="NAMES", help="A/B mechanisms of bench/library_ways.py (a,b,...), or all"
    )
    parser.add_argument("--rounds", type=int, default=4, help="A/B rounds (kept, library)")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # each table as soon as it is measured
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    prepare_database(args.database_url)
    configs = (
        [Config(*c) for c in MATRIX]
        if args.matrix
        else [Config(args.worker_class, args.workers, args.threads)]
    )
    print(f"wrk -t2 -c{args.connections} -d{args.duration}s; {os.cpu_count()} CPUs")
    if args.ab:
        names = ab_names(args.ab)
        with tempfile.TemporaryDirectory(prefix="bench-checkout-") as folder:
            for name in names:
                busy = busy_share()
                if busy > 0.10:
                    print(f"warning: the machine was {busy:.0%} busy before this A/B")
                print_ab(name, measure_ab(name, configs[0], args, Path(folder)))
        return 0
    missed_any = False
    with tempfile.TemporaryDirectory(prefix="bench-checkout-") as folder:
        for config in configs:
            busy = busy_share()
            if busy > 0.10:
                print(f"warning: the machine was {busy:.0%} busy before this run")
            figures = measure(config, args, Path(folder))
            print_table(config, figures)
            missed = verdict(figures)
            print("targets: " + ("met" if not missed else "MISSED: " + "; ".join(missed)))
            missed_any |= bool(missed)
    return 1 if missed_any else 0


if __name__ == "__main__":
    sys.exit(main())
