"""The evaluator: a program, an order, a guest and `now` in; accrual, redeem cap and reasons out."""

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from rules.decision import Decision, Explanation, GuestState
from rules.money import CENT, ZERO
from rules.order import Order
from rules.order_parser import check_promo_codes
from rules.program import Program, example_moment, example_order
from rules.russian import bonuses, bonuses_genitive, rub, spent_in

ANONYMOUS = Explanation("guest.anonymous", "Укажите номер телефона: копить и тратить бонусы "
                        "могут только зарегистрированные гости")
# an order's phone may be any valid number (a landline, abroad), not one that may register:
# the text says what registration takes rather than promising it
UNREGISTERED = Explanation("guest.unregistered", "Гость не зарегистрирован в бонусной программе: "
                           "бонусы не начисляются и не списываются. Зарегистрироваться по номеру "
                           "мобильного телефона можно на сайте vilkinet.ru или у оператора "
                           "колл-центра")
NO_RULE = Explanation("accrual.none", "Ни одно правило начисления не подходит к заказу: "
                      "бонусы не начисляются")
ON_REQUEST = Explanation("redeem.on_request", "Бонусы списываются только по запросу гостя")


# the guest of a worked example: a balance that limits nothing, so the rules alone decide
RICH_GUEST = GuestState(registered=True, available=Decimal("10000000.00"))


def evaluate_example(program: Program, example: Mapping) -> Decision:
    """A worked example of the rules ({"channel", "total", "categories"?, "source"?, "at"?,
    "zone_min_order"?}) as the published text tells it; the loader checks the same."""
    return evaluate(program, example_order(example), RICH_GUEST,
                    zone_min_order=Decimal(example.get("zone_min_order", "0")),
                    now=example_moment(program, example))  # fmt: skip


def evaluate(program: Program, order: Order, guest: GuestState | None, *,
             redeem: Decimal = ZERO, zone_min_order: Decimal | None = None,
             now: datetime) -> Decision:
    """Decide what the order earns and may spend under `program`, and say why; writes nothing."""
    local = _local(program, now)
    order = program.recognise(order)
    redeem = _requested(redeem)
    zone_min = _zone_minimum(program, order, zone_min_order)
    check_promo_codes(len(order.promo_codes), program.max_promo_codes)
    total = order.total.quantize(CENT)
    if guest is not None and not guest.registered:
        return Decision(program.version, total, ZERO, ZERO, redeem, (UNREGISTERED,),
                        program.quantum)
    if guest is None:
        accrual, accrued = _accrual(program, order, ZERO, local)  # nothing can be spent
        return Decision(program.version, total, accrual, ZERO, redeem, (accrued, ANONYMOUS),
                        program.quantum)
    redeem_max, reasons = _redemption(program, order, guest.available, zone_min, local)
    # the accrual of what can be spent of the request: a quote asking for more than the cap
    # (or for bonuses an excluded order cannot take, or for a part of a bonus) told a figure
    # no order would earn
    spendable = program.round_cap(min(redeem, redeem_max))
    accrual, accrued = _accrual(program, order, spendable, local)
    explanation = (accrued, *reasons, _request(program, redeem, redeem_max))
    return Decision(program.version, total, accrual, redeem_max, redeem, explanation,
                    program.quantum)


def _local(program: Program, now: datetime) -> datetime | None:
    """`now` in the program's zone, computed only when a condition reads the time."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    return now.astimezone(program.timezone) if program.uses_time else None


def _requested(redeem: Decimal) -> Decimal:
    if not isinstance(redeem, Decimal) or not redeem.is_finite() or redeem < 0:
        raise ValueError(f"redeem must be a non-negative Decimal (got {redeem!r})")
    return redeem.quantize(CENT)


def _zone_minimum(program: Program, order: Order, zone_min_order: Decimal | None):
    """The zone's minimum order where the program limits by it; refusing to guess a missing one."""
    if order.channel not in program.zone_minimum_channels:
        return None
    if not isinstance(zone_min_order, Decimal) or zone_min_order < 0:
        raise ValueError(f"zone_min_order is required for {order.channel} orders "
                         f"(got {zone_min_order!r})")
    return zone_min_order


def _accrual(program: Program, order: Order, redeem: Decimal, local) -> tuple[Decimal, Explanation]:
    rule = program.accrual_rule(order, local)
    if rule is None:
        return ZERO, NO_RULE
    base = order.total - redeem if program.accrual_base == "paid" else order.total
    base = max(base, ZERO)
    accrual = program.round_accrual(base * rule.share)
    return accrual, Explanation(
        rule.id, f"{rule.message}: {rub(rule.percent)}% от {rub(base)} ₽ — {bonuses(accrual)}")


def _redemption(program: Program, order: Order, available: Decimal, zone_min, local):
    """The redeem cap and the reasons that set it: an exclusion, or the tightest limit."""
    refusals = tuple(e.explanation for e in program.exclusions if e.test(order, local))
    if refusals:
        return ZERO, refusals
    total = order.total
    cap, limit = total * program.cap_share, "redeem.percent_cap"
    if available < cap:
        cap, limit = available, "redeem.balance"
    if zone_min is not None and total - zone_min < cap:
        cap, limit = total - zone_min, "redeem.zone_minimum"
    redeem_max = program.round_cap(max(cap, ZERO))
    return redeem_max, (_limit(program, limit, redeem_max, zone_min),)


def _limit(program: Program, limit: str, redeem_max: Decimal, zone_min) -> Explanation:
    most = f"можно списать не более {bonuses_genitive(redeem_max)}"
    if limit == "redeem.percent_cap":
        return Explanation(limit, f"Бонусами можно оплатить до {rub(program.max_percent)}% "
                                  f"суммы заказа: {most}")
    if limit == "redeem.balance":
        return Explanation(limit, f"Списание ограничено доступным балансом: {most}")
    return Explanation(limit, "Сумма к оплате не может быть меньше минимальной суммы заказа "
                              f"в зоне доставки ({rub(zone_min)} ₽): {most}")


def _request(program: Program, redeem: Decimal, redeem_max: Decimal) -> Explanation:
    if not redeem:
        return ON_REQUEST
    if redeem % program.quantum:
        return Explanation("redeem.not_whole", f"Бонусы списываются {spent_in(program.quantum)}: "
                                               f"запрошено к списанию {bonuses(redeem)}")
    if redeem <= redeem_max:
        return Explanation("redeem.requested", f"К списанию: {bonuses(redeem)}")
    return Explanation("redeem.over_max", f"Запрошено к списанию {bonuses(redeem)}, "
                                          f"а можно не более {bonuses_genitive(redeem_max)}")
