"""Evaluations per second: the rules interpreter against the same default rules written by hand.

Run: .venv/bin/python bench/rules.py [--iterations N] [--repeat R]
Targets: interpreter >= 50,000 evaluations/s and >= 1/3 of the hand-written speed.
Before timing, both must give the same Decision on a set of orders that reaches every rule
(CI runs it with a small count, so a twin that drifts from the program fails the build).
"""

import argparse
import sys
import timeit
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name shadows the package.
ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

from rules import (  # noqa: E402
    Decision,
    Explanation,
    GuestState,
    evaluate,
    load_book,
    parse_order,
)
from rules.categories import normalise  # noqa: E402
from rules.evaluate import ON_REQUEST, UNREGISTERED  # noqa: E402
from rules.russian import bonuses, rub  # noqa: E402

NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
ORDER = parse_order({
    "channel": "delivery", "source": "website", "zone": "north",
    "items": [{"sku": "B-101", "name": "Борщ", "category": "soup", "qty": 2, "price": "290.00"},
              {"sku": "P-7", "name": "Пельмени", "category": "main", "qty": 1, "price": "450.00"},
              {"sku": "S-2", "name": "Салат", "category": "salad", "qty": 1, "price": "320.50"},
              {"sku": "D-4", "name": "Морс", "category": "drinks", "qty": 3, "price": "120.00"},
              {"sku": "X-1", "name": "Хлеб", "category": "bread", "qty": 1, "price": "40.00"}],
})
GUEST = GuestState(registered=True, available=Decimal("250.00"))
ZONE_MIN = Decimal("500.00")
ONE, CENT, ZERO = Decimal(1), Decimal("0.01"), Decimal("0.00")
STEP = Decimal("1.00")  # the program's rounding quantum: whole bonuses
LUNCH_LABELS = {"business_lunch", "бизнес_ланч", "бизнес_ланчи", "бизнес_ланч_меню"}
PERCENT_3, PERCENT_10, PERCENT_20 = Decimal("0.03"), Decimal("0.10"), Decimal("0.20")
THRESHOLD = Decimal("500.00")
STANDARD = "Доставка или заказ в кафе на любую сумму, самовывоз на сумму до 500 ₽ включительно"
PICKUP = "Самовывоз на сумму более 500 ₽"
LUNCH = "Заказ в кафе с бизнес-ланчем"
PROMO = Explanation("promo_code", "Оплата бонусами недоступна: в заказе есть промокод")
LUNCH_REFUSED = Explanation("cafe_business_lunch",
                            "Оплата бонусами недоступна: в заказе в кафе есть бизнес-ланч")
LIMITS = {
    "redeem.percent_cap": "Бонусами можно оплатить до 20% суммы заказа: можно списать не более "
                          "{most}",
    "redeem.balance": "Списание ограничено доступным балансом: можно списать не более {most}",
    "redeem.zone_minimum": "Сумма к оплате не может быть меньше минимальной суммы заказа в зоне "
                           "доставки ({zone_min} ₽): можно списать не более {most}",
}


def by_hand(order, guest, *, redeem=ZERO, zone_min_order=None, now=NOW) -> Decision:
    """The default program for a registered guest, in plain Python, producing the same Decision."""
    total = order.total
    if not guest.registered:
        return Decision("2024-01-01-default", total, ZERO, ZERO, redeem, (UNREGISTERED,), STEP)
    lunch = order.channel == "cafe" and any(normalise(c) in LUNCH_LABELS
                                            for c in order.categories)
    pickup_over = order.channel == "pickup" and total > THRESHOLD
    share = PERCENT_10 if pickup_over and not lunch else PERCENT_3
    base = total  # the default program earns on the order amount, whatever is spent
    accrual = (base * share).quantize(ONE, ROUND_DOWN).quantize(CENT)
    rule, message, percent = ("pickup_over_500", PICKUP, "10") if share is PERCENT_10 else (
        ("cafe_business_lunch", LUNCH, "3") if lunch else ("standard", STANDARD, "3"))
    accrued = Explanation(rule, f"{message}: {percent}% от {rub(base)} ₽ — {bonuses(accrual)}")
    if order.promo_codes or lunch:
        refusals = ((LUNCH_REFUSED,) if lunch else ()) + ((PROMO,) if order.promo_codes else ())
        return Decision("2024-01-01-default", total, accrual, ZERO, redeem,
                        (accrued, *refusals, ON_REQUEST), STEP)
    cap, limit = total * PERCENT_20, "redeem.percent_cap"
    if guest.available < cap:
        cap, limit = guest.available, "redeem.balance"
    if order.channel == "delivery" and total - zone_min_order < cap:
        cap, limit = total - zone_min_order, "redeem.zone_minimum"
    redeem_max = max(cap, ZERO).quantize(ONE, ROUND_DOWN).quantize(CENT)
    capped = Explanation(limit, LIMITS[limit].format(most=bonuses(redeem_max),
                                                     zone_min=rub(zone_min_order or ZERO)))
    return Decision("2024-01-01-default", total, accrual, redeem_max, redeem,
                    (accrued, capped, ON_REQUEST), STEP)


def _order(channel: str, price: str, category: str | None = None, **more) -> object:
    item = {"sku": "X-1", "qty": 1, "price": price, **({"category": category} if category else {})}
    zone = {"zone": "north"} if channel == "delivery" else {}
    return parse_order({"channel": channel, "items": [item], **zone, **more})


RICH = GuestState(registered=True, available=Decimal("10000.00"))
SAMPLES = [  # (order, guest, zone minimum): every rule, exclusion and limit of the program
    (ORDER, GUEST, ZONE_MIN),
    (_order("delivery", "800.00"), RICH, ZONE_MIN),
    (_order("delivery", "600.00"), RICH, ZONE_MIN),
    (_order("pickup", "500.00"), RICH, None),
    (_order("pickup", "1000.00", "business_lunch"), RICH, None),
    (_order("cafe", "700.00", "Бизнес-ланч"), RICH, None),
    (_order("cafe", "700.00", "Business_Lunch "), RICH, None),
    (_order("cafe", "700.00", promo_codes=["AUTUMN"]), RICH, None),
    (_order("cafe", "700.00"), GuestState(registered=False, available=ZERO), None),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    program = load_book().in_force(NOW)

    def interpreted():
        return evaluate(program, ORDER, GUEST, zone_min_order=ZONE_MIN, now=NOW)

    def written():
        return by_hand(ORDER, GUEST, zone_min_order=ZONE_MIN, now=NOW)

    for order, guest, zone_min in SAMPLES:  # same answers, or no contest
        same = evaluate(program, order, guest, zone_min_order=zone_min, now=NOW)
        assert same == by_hand(order, guest, zone_min_order=zone_min), (order, same)
    rates = {}
    for name, run in (("interpreter", interpreted), ("hand-written", written)):
        best = min(timeit.repeat(run, number=args.iterations, repeat=args.repeat))
        rates[name] = args.iterations / best
        print(f"{name:>12}: {rates[name]:>10,.0f} evaluations/s "
              f"(best of {args.repeat} x {args.iterations:,})")
    ratio = rates["interpreter"] / rates["hand-written"]
    print(f"{'ratio':>12}: {ratio:.2f} of hand-written (target >= 0.33; "
          f"interpreter target >= 50,000/s)")


if __name__ == "__main__":
    main()
