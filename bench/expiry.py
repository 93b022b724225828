"""The nightly expiry against one hand-written set-based statement pair, on the same data.

Run: .venv/bin/python bench/expiry.py [--guests 1000000] [--idle 100000]
         [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_expiry]
Builds N guests of whom M are idle (generate_series, one ledger entry each) in a database of its
own (created if missing; never the test database), runs the job in a subprocess (its peak memory
is the job's alone) and, on identically rebuilt data, the statement pair (INSERT the expiry
entries, then zero the available balances), and checks both wrote the same entries. It does the
same for 100,000 and 300,000 guests (linear growth) and for 100,000 guests on SQLite.
Targets: job within 2x of the statement pair, peak memory < 200 MB, time linear in size.
"""

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

# Run as a script, this file's folder comes first on sys.path and its name shadows the package.
ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

from sqlalchemy import create_engine, text  # noqa: E402

import rules  # noqa: E402
from bonus_service.db import Database  # noqa: E402
from bonus_service.migrate import upgrade  # noqa: E402
from scheduler.expiry import ACTOR, reason_sql  # noqa: E402
from scheduler.jobs import expire_balances  # noqa: E402

MOSCOW = ZoneInfo("Europe/Moscow")
AS_OF = datetime(2025, 6, 1, 3, 0, tzinfo=MOSCOW)
REGISTERED = "2023-01-01 09:00:00.000000"
IDLE_SINCE = "2024-01-15 12:00:00.000000"  # 16 months before AS_OF: burns
ACTIVE_SINCE = "2025-05-01 12:00:00.000000"  # a month before AS_OF: kept
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_expiry"

# Every `step`-th guest is idle; every 50th holds 1.00 for an open order; balances vary.
GUESTS_SQL = """
INSERT INTO guests (id, phone, registered_at, registered_by, last_order_at, balance, held)
SELECT g, '+7900' || {pad}, {registered},
       NULL, CASE WHEN g % :step = 0 THEN {idle} ELSE {active} END,
       1000 + (CAST(g AS BIGINT) * 7919) % 50000, CASE WHEN g % 50 = 0 THEN 100 ELSE 0 END
FROM {series}
"""
LEDGER_SQL = """
INSERT INTO ledger_entries (guest_id, kind, amount, held_delta, balance_after, actor, reason,
                            created_at)
SELECT id, 'adjustment', balance, 0, balance, 'bench', 'bench balance', registered_at
FROM guests ORDER BY id
"""
HOLDS_SQL = """
INSERT INTO ledger_entries (guest_id, kind, amount, held_delta, balance_after, actor, reason,
                            created_at)
SELECT id, 'hold', 0, held, balance, 'bench', 'bench hold', registered_at
FROM guests WHERE held > 0 ORDER BY id
"""
IDLE = "COALESCE(last_order_at, registered_at) < :cutoff AND balance > held"
# S608: these statements are assembled from this file's own constants, never from input.
PAIR = [
    f"""INSERT INTO ledger_entries (guest_id, kind, amount, held_delta, balance_after,
                                   rules_version, actor, reason, created_at)
        SELECT id, 'expiry', -(balance - held), 0, held, :version, :actor, {{reason}}, :now
        FROM guests WHERE {IDLE} ORDER BY id""",  # noqa: S608
    f"UPDATE guests SET balance = held WHERE {IDLE}",  # noqa: S608
]
FINGERPRINT = """
SELECT count(*), coalesce(-sum(amount), 0),
       md5(coalesce(string_agg(guest_id || ':' || amount || ':' || balance_after || ':' || reason
                               || ':' || coalesce(rules_version, ''), ',' ORDER BY guest_id), ''))
FROM ledger_entries WHERE kind = 'expiry'
"""
SQLITE_FINGERPRINT = """
SELECT count(*), coalesce(-sum(amount), 0),
       coalesce(sum((guest_id * 31 + amount * 17 + balance_after) % 1000003), 0)
       || '/' || coalesce(sum(length(reason)), 0)
FROM ledger_entries WHERE kind = 'expiry'
"""


def ensure_database(url: str) -> None:
    """CREATE DATABASE for the bench if it is missing (it is never the test database)."""
    name = url.rpartition("/")[2]
    admin = create_engine(url.rpartition("/")[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).scalar()
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def build_postgresql(url: str, guests: int, idle: int) -> None:
    """A fresh schema and the same N guests (M idle) every time, analysed."""
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    upgrade(Database(url))
    engine = create_engine(url)
    values = {
        "step": guests // idle,
        "pad": "lpad(g::text, 7, '0')",
        "registered": f"TIMESTAMPTZ '{REGISTERED}+00'",
        "idle": f"TIMESTAMPTZ '{IDLE_SINCE}+00'",
        "active": f"TIMESTAMPTZ '{ACTIVE_SINCE}+00'",
        "series": f"generate_series(1, {int(guests)}) AS g",
    }
    with engine.begin() as connection:
        connection.execute(text(GUESTS_SQL.format(**values)), {"step": values["step"]})
        connection.execute(text(LEDGER_SQL))
        connection.execute(text(HOLDS_SQL))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
        connection.execute(text("CHECKPOINT"))
    engine.dispose()


def build_sqlite(path: Path, guests: int, idle: int) -> None:
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    values = {
        "step": guests // idle,
        "pad": "substr('0000000' || g, -7)",
        "registered": f"'{REGISTERED}'",
        "idle": f"'{IDLE_SINCE}'",
        "active": f"'{ACTIVE_SINCE}'",
        "series": "seq",
    }
    series = "WITH RECURSIVE seq(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM seq WHERE g < :n)"
    sql = series + GUESTS_SQL.format(**values)
    with db.engine.begin() as connection:
        connection.execute(text(sql), {"step": values["step"], "n": guests})
        connection.execute(text(LEDGER_SQL))
        connection.execute(text(HOLDS_SQL))
    db.dispose()


def run_pair(url: str) -> float:
    """The hand-written baseline: the two statements in one transaction, timed."""
    program = rules.load_book().in_force(AS_OF)
    fragment, reason_params = reason_sql("(balance - held)", program.idle_months)
    cutoff = rules.idle_cutoff(program, AS_OF)
    db = Database(url)
    params = {
        "cutoff": cutoff if not db.is_sqlite else cutoff.astimezone(ZoneInfo("UTC")).strftime(
            "%Y-%m-%d %H:%M:%S.%f"),
        "now": AS_OF if not db.is_sqlite else AS_OF.astimezone(ZoneInfo("UTC")).strftime(
            "%Y-%m-%d %H:%M:%S.%f"),
        "version": program.version,
        "actor": ACTOR,
        **reason_params,
    }  # fmt: skip
    with db.engine.connect() as connection:
        started = time.perf_counter()
        with connection.begin():
            for statement in PAIR:
                connection.execute(text(statement.format(reason=fragment)), params)
        elapsed = time.perf_counter() - started
    db.dispose()
    return elapsed


def run_job(url: str, batch_size: int) -> dict:
    """The job in a process of its own; its time and peak memory as it reports them."""
    output = subprocess.run(
        [sys.executable, __file__, "--child", "--database-url", url, "--batch-size",
         str(batch_size)],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return json.loads(output.strip().splitlines()[-1])


def child(url: str, batch_size: int) -> None:
    db = Database(url)
    book = rules.load_book()
    started = time.perf_counter()
    report = expire_balances(db, book, AS_OF, batch_size=batch_size)
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    print(json.dumps({"seconds": elapsed, "guests": report.guests, "kopecks": report.kopecks,
                      "peak_mb": peak_mb}))  # fmt: skip


def fingerprint(url: str) -> tuple:
    db = Database(url)
    with db.engine.connect() as connection:
        row = connection.execute(text(SQLITE_FINGERPRINT if db.is_sqlite else FINGERPRINT)).one()
    db.dispose()
    return tuple(str(value) for value in row)


def compare(label: str, build, url: str, batch_size: int, repeat: int) -> dict:
    """Build, run the pair; rebuild, run the job; the best of `repeat` rounds of each.

    Checks every time that the job wrote the same entries as the pair.
    """
    pair_seconds, jobs = [], []
    for _ in range(repeat):
        build()
        pair_seconds.append(run_pair(url))
        pair_print = fingerprint(url)
        build()
        jobs.append(run_job(url, batch_size))
        job_print = fingerprint(url)
        assert job_print == pair_print, f"{label}: job {job_print} != pair {pair_print}"
    job = min(jobs, key=lambda j: j["seconds"])
    pair = min(pair_seconds)
    ratio = job["seconds"] / pair
    print(f"{label:>36}: job {job['seconds']:6.2f} s  pair {pair:6.2f} s  ratio {ratio:4.2f}  "
          f"peak {max(j['peak_mb'] for j in jobs):5.1f} MB  burned {job['guests']:,} balances, "
          f"{job['kopecks'] / 100:,.2f} bonuses",
          flush=True)  # fmt: skip
    return {**job, "pair": pair, "ratio": ratio}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guests", type=int, default=1_000_000)
    parser.add_argument("--idle", type=int, default=100_000)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--sqlite-guests", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=2, help="rounds; the best one counts")
    parser.add_argument("--no-growth", action="store_true", help="skip the 100k/300k runs")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.database_url, args.batch_size)
        return
    url = args.database_url
    if "/test" == url[url.rindex("/") :]:
        sys.exit("refusing to run on the test database; give the bench a database of its own")
    ensure_database(url)
    share = args.idle / args.guests
    sizes = [] if args.no_growth else [n for n in (100_000, 300_000) if n < args.guests]
    results = {}
    for guests in [*sizes, args.guests]:
        idle = max(1, round(guests * share))
        label = f"PostgreSQL {guests:,} ({idle:,} idle)"
        results[guests] = compare(label, lambda g=guests, i=idle: build_postgresql(url, g, i),
                                  url, args.batch_size, args.repeat)  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        built = Path(folder) / "built.db"
        working = Path(folder) / "bonus.db"
        guests = args.sqlite_guests
        idle = max(1, round(guests * share))
        build_sqlite(built, guests, idle)

        def fresh_copy() -> None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{working}{suffix}").unlink(missing_ok=True)
            shutil.copy(built, working)

        sqlite = compare(f"SQLite {guests:,} ({idle:,} idle)", fresh_copy,
                         f"sqlite:///{working}", args.batch_size, args.repeat)  # fmt: skip
    main_run = results[args.guests]
    print()
    print(
        f"job vs statement pair: {main_run['ratio']:.2f}x (target <= 2; SQLite "
        f"{sqlite['ratio']:.2f}x)"
    )
    print(
        f"job peak memory: {max(r['peak_mb'] for r in [*results.values(), sqlite]):.1f} MB "
        f"(target < 200)"
    )
    if len(results) > 1:
        smallest = min(results)
        job_rate = {n: r["seconds"] / n * 1e6 for n, r in results.items()}
        pair_rate = {n: r["pair"] / n * 1e6 for n, r in results.items()}
        print(
            "growth, µs per guest (job / pair): "
            + ", ".join(f"{n:,} {job_rate[n]:.2f} / {pair_rate[n]:.2f}" for n in sorted(results))
        )
        print(
            f"from {smallest:,} to {args.guests:,} guests the time per guest changes "
            f"x{job_rate[args.guests] / job_rate[smallest]:.2f} for the job, "
            f"x{pair_rate[args.guests] / pair_rate[smallest]:.2f} for the pair (linear: 1)"
        )


if __name__ == "__main__":
    main()
