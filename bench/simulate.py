"""The replay of past orders under a candidate program beside the evaluator's own speed on them.

Run: .venv/bin/python bench/simulate.py [--orders 1000000] [--batch-size 5000]
         [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_simulate]
Seeds N completed orders over 24 months (delivery in three zones, pickup, cafe with and without
a business lunch, some with a promo code, a third of the registered guests' orders spending
bonuses; about 10% from unregistered phones) into a database of its own, written with COPY, or
reuses it when its marker says it holds the same N. Then, in the same run:
  pure    the orders read back and parsed beforehand (untimed), then evaluated in memory as the
          replay does: under the version each was placed on (nothing spent: the cap) and under
          the candidate (what was really spent: its cap and accrual) — the evaluator's own speed;
  replay  services.simulate.simulate end to end from the database, in a process of its own
          (its peak memory is the replay's alone), checked to give the pure run's figures;
  floor   in that process after the replay: the same query's rows read through the same
          server-side cursor with nothing done to them, and read and parsed (rules.parse_order).
Targets: replay <= 2x pure, replay < 60 s for 1,000,000 orders, peak memory < 300 MB.
"""

import argparse
import gc
import json
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name shadows the package.
ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

import psycopg  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

import rules  # noqa: E402
from bonus_service.db import Database  # noqa: E402
from bonus_service.migrate import schema, upgrade  # noqa: E402
from bonus_service.services import simulate as replay  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_simulate"
SEED_VERSION = 1  # bump when the data below changes: a database seeded otherwise is rebuilt
START = datetime(2024, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=730)
SINCE, UNTIL = START, START + SPAN
ZONES = {"north": "500.00", "south": "0.00", "east": "700.00"}
MENU = [  # (sku, name, category, price)
    ("B-101", "Борщ", "soup", "290.00"), ("P-7", "Пельмени", "main", "450.00"),
    ("S-2", "Салат", "salad", "320.50"), ("D-4", "Морс", "drinks", "120.00"),
    ("X-1", "Хлеб", "bread", "40.00"), ("R-9", "Ролл", "Роллы", "390.00"),
    ("PZ-3", "Пицца", "pizza", "640.00"), ("DS-1", "Десерт", "dessert", "260.00"),
]  # fmt: skip
LUNCH = ("BL-1", "Бизнес-ланч №1", "Бизнес-ланч", "350.00")
RICH = rules.GuestState(registered=True, available=Decimal("10000000.00"))


def candidate_program() -> rules.Program:
    """The shipped program with a 10% redemption cap and 7% on pickups over 500."""
    data = json.loads((rules.book.PROGRAMS / "2024-01-01-default.json").read_text("utf-8"))
    data["version"] = "bench-candidate"
    data["effective_from"] = "2026-01-01T00:00:00+03:00"
    data["redemption"]["max_percent"] = "10"
    for rule in data["accrual"]:
        if rule["id"] == "pickup_over_500":
            rule["percent"] = "7"
            rule.pop("example", None)
    return rules.load_program(data)


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


def marker(orders: int) -> str:
    return f"orders={orders} seed={SEED_VERSION}"


def seeded(url: str, orders: int) -> bool:
    """The database holds N orders seeded by this seed, on the schema this release migrates
    to (a database seeded before a migration is seeded again, not read with old columns)."""
    engine = create_engine(url)
    with engine.connect() as connection:
        found = connection.execute(text("SELECT to_regclass('bench_marker')")).scalar()
        same = found and connection.execute(text("SELECT seed FROM bench_marker")).scalar()
    engine.dispose()
    current = schema(Database(url))
    return same == marker(orders) and current.revision == current.head


def payload(rng: random.Random) -> dict:
    """One order as checkout stores it (services.checkout.order_payload: amounts as strings)."""
    draw = rng.random()
    channel = "delivery" if draw < 0.4 else "pickup" if draw < 0.75 else "cafe"
    picks = rng.sample(MENU, rng.randint(1, 4))
    if channel == "cafe" and rng.random() < 0.3:
        picks.append(LUNCH)
    items = [{"sku": s, "name": n, "category": c, "qty": rng.randint(1, 3), "price": p}
             for s, n, c, p in picks]  # fmt: skip
    promo = ["AUTUMN"] if rng.random() < 0.05 else []
    source = {"delivery": "website", "pickup": "app", "cafe": "cafe_pos"}[channel]
    zone = rng.choice(list(ZONES)) if channel == "delivery" else None
    discount = "50.00" if promo else "0.00"
    return {"channel": channel, "source": source, "zone": zone, "items": items,
            "promo_codes": promo, "discount": discount}  # fmt: skip


def seed(url: str, orders: int) -> None:
    """A fresh schema, the zones, N/10 guests and N completed orders, analysed; then the marker."""
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    upgrade(Database(url))
    program = rules.load_book().in_force(START)
    zone_min = {code: Decimal(m) for code, m in ZONES.items()}
    guests = max(orders // 10, 1)
    rng = random.Random(orders)
    started = time.perf_counter()
    with psycopg.connect(url.replace("+psycopg", "")) as connection:
        connection.execute(
            "INSERT INTO zones (code, name, min_order, updated_at) "
            "SELECT * FROM unnest(%s::text[], %s::text[], %s::bigint[], %s::timestamptz[])",
            (list(ZONES), list(ZONES), [int(Decimal(m) * 100) for m in ZONES.values()],
             [START] * len(ZONES)),
        )  # fmt: skip
        connection.execute(
            "INSERT INTO guests (id, phone, registered_at, balance, held) "
            "SELECT g, '+7900' || lpad(g::text, 7, '0'), %s, 0, 0 "
            "FROM generate_series(1, %s) AS g",
            (START - timedelta(days=30), guests),
        )
        client = connection.execute(  # the orders' owner: an order is (client, id)
            "INSERT INTO api_clients (name, scopes, created_at) VALUES ('bench', 'checkout', %s) "
            "RETURNING id", (START,),
        ).fetchone()[0]  # fmt: skip
        columns = (
            "client_id, id, guest_id, phone, channel, source, payload, total, redeemed, "
            "accrual, rules_version, explanation, status, placed_by, placed_at, completed_at"
        )
        with connection.cursor().copy(f"COPY orders ({columns}) FROM STDIN") as copy:
            for i in range(orders):
                body = payload(rng)
                order = rules.parse_order(body)
                guest = rng.randint(1, guests) if rng.random() < 0.9 else None
                placed_at = START + SPAN * i / orders
                wanted = Decimal(rng.randint(1, 200)) if guest and rng.random() < 0.33 else 0
                decision = rules.evaluate(
                    program, order, RICH if guest else rules.GuestState(False, Decimal(0)),
                    redeem=Decimal(wanted), zone_min_order=zone_min.get(order.zone),
                    now=placed_at,
                )  # fmt: skip
                redeemed = min(Decimal(wanted), decision.redeem_max)
                phone = f"+7900{guest:07d}" if guest else f"+7901{i % 10_000_000:07d}"
                copy.write_row((
                    client, f"B-{i:08d}", guest, phone, order.channel, order.source,
                    json.dumps(body),
                    int(order.total * 100), int(redeemed * 100), int(decision.accrual * 100),
                    program.version, "[]", "completed", "bench", placed_at,
                    placed_at + timedelta(minutes=40),
                ))  # fmt: skip
        connection.execute("CREATE TABLE bench_marker (seed text)")
        connection.execute("INSERT INTO bench_marker VALUES (%s)", (marker(orders),))
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
        connection.execute("CHECKPOINT")
    print(f"seeded {orders:,} orders, {guests:,} guests in {time.perf_counter() - started:.1f} s",
          flush=True)  # fmt: skip


def in_memory(url: str) -> list[tuple]:
    """The stored orders as the replay sees them, parsed: (order, registered, redeemed, version,
    placed_at), read and parsed untimed."""
    rows = []
    with psycopg.connect(url.replace("+psycopg", "")) as connection:
        cursor = connection.cursor(name="bench")
        cursor.itersize = 10_000
        cursor.execute(
            "SELECT payload, guest_id IS NOT NULL, redeemed, rules_version, placed_at "
            "FROM orders WHERE status = 'completed' AND placed_at >= %s AND placed_at < %s "
            "ORDER BY placed_at, id",
            (SINCE, UNTIL),
        )
        for body, registered, redeemed, version, placed_at in cursor:
            order = rules.parse_order(body)
            rows.append((order, registered, (Decimal(redeemed) / 100).quantize(Decimal("0.01")),
                         version, placed_at))  # fmt: skip
    return rows


def pure(rows: list[tuple], candidate: rules.Program) -> tuple[float, dict]:
    """The two evaluations the replay makes per order, on orders already in memory."""
    book = rules.load_book()
    zone_min = {code: Decimal(m) for code, m in ZONES.items()}
    unlimited = replay.UNLIMITED
    registered_guest = rules.GuestState(registered=True, available=unlimited)
    anonymous = rules.GuestState(registered=False, available=unlimited)
    nothing = Decimal(0)
    evaluate = rules.evaluate
    sums = {"cap": 0, "new_cap": 0, "new_accrued": 0, "refused": 0}
    started = time.perf_counter()
    for order, registered, asked, version, placed_at in rows:
        guest = registered_guest if registered else anonymous
        zone = zone_min.get(order.zone) if order.zone else None
        try:
            new = evaluate(candidate, order, guest, redeem=asked, zone_min_order=zone,
                           now=placed_at)  # fmt: skip
            old = evaluate(book.get(version), order, guest, redeem=nothing, zone_min_order=zone,
                           now=placed_at)  # fmt: skip
        except (rules.OrderError, ValueError):
            sums["refused"] += 1
            continue
        sums["cap"] += int(old.redeem_max * 100)
        sums["new_cap"] += int(new.redeem_max * 100)
        sums["new_accrued"] += int(new.accrual * 100)
    return time.perf_counter() - started, sums


def run_child(url: str, batch_size: int) -> dict:
    """The replay and its floors in a process of their own; their figures as it prints them."""
    output = subprocess.run(
        [sys.executable, __file__, "--child", "--database-url", url, "--batch-size",
         str(batch_size)],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return json.loads(output.strip().splitlines()[-1])


def child(url: str, batch_size: int) -> None:
    db = Database(url)
    book, candidate = rules.load_book(), candidate_program()
    started = time.perf_counter()
    with db.unit_of_work(write=False) as session:
        report = replay.simulate(session, book, candidate, SINCE, UNTIL, batch_size=batch_size)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    floors = {}
    for name, work in (("read", None), ("read_parse", rules.parse_order)):
        with db.unit_of_work(write=False) as session:
            replay.snapshot(session)
            began = time.perf_counter()
            for batch in replay._completed_orders(session, SINCE, UNTIL, batch_size):
                if work is not None:
                    for row in batch:
                        work(json.loads(row.payload))
            floors[name] = time.perf_counter() - began
    print(json.dumps({
        "seconds": seconds, "peak_mb": peak_mb, "orders": report.orders,
        "refused": report.refused, "months": len(report.months),
        "cap": report.actual.redeemable, "new_cap": report.candidate.redeemable,
        "new_accrued": report.candidate.accrued, **floors,
    }))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.database_url, args.batch_size)
        return
    url = args.database_url
    if "/test" == url[url.rindex("/") :]:
        sys.exit("refusing to run on the test database; give the bench a database of its own")
    ensure_database(url)
    if seeded(url, args.orders):
        print(f"reusing {args.orders:,} orders in {url.rpartition('/')[2]}", flush=True)
    else:
        seed(url, args.orders)
    # the replay's process first: a child forked from a parent already holding the parsed
    # orders would inherit its RSS high-water mark (Linux keeps ru_maxrss across exec)
    result = run_child(url, args.batch_size)
    rows = in_memory(url)
    gc.freeze()  # the orders held for the baseline are not the collector's work to rescan
    pure_seconds, sums = pure(rows, candidate_program())
    print(f"{'pure evaluation':>16}: {pure_seconds:6.2f} s  (2 evaluations an order, "
          f"{2 * (args.orders - sums['refused']) / pure_seconds:,.0f} evaluations/s)",
          flush=True)  # fmt: skip
    assert result["orders"] == args.orders - sums["refused"], (result, sums)
    for key in ("cap", "new_cap", "new_accrued"):
        assert result[key] == sums[key], (key, result[key], sums[key])
    ratio = result["seconds"] / pure_seconds
    print(f"{'replay':>16}: {result['seconds']:6.2f} s  {result['orders']:,} orders replayed, "
          f"{result['refused']:,} refused by the candidate, {result['months']} months")
    print(f"{'floor: read':>16}: {result['read']:6.2f} s  (the replay's query, rows untouched)")
    print(f"{'floor: + parse':>16}: {result['read_parse']:6.2f} s  (and json.loads, "
          "rules.parse_order)")
    print()
    print(f"replay vs pure evaluation: {ratio:.2f}x (target <= 2)")
    print(f"replay time: {result['seconds']:.1f} s for {args.orders:,} orders (target < 60 s "
          f"for 1,000,000)")
    print(f"replay peak memory: {result['peak_mb']:.1f} MB (target < 300)")


if __name__ == "__main__":
    main()
