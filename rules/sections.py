"""The sections of a program file, each read strictly and compiled where it holds conditions."""

from decimal import Decimal

from rules import schema
from rules.conditions import compile_condition
from rules.decision import Explanation
from rules.errors import ProgramError
from rules.money import ROUNDING_MODES
from rules.order import CHANNELS, SOURCES, ZONED_CHANNELS
from rules.program import AccrualRule, Exclusion

HUNDRED = Decimal(100)


def version(value: object) -> str:
    version = schema.text(value, "version")
    if not all(c.isascii() and (c.isalnum() or c in "._-") for c in version):
        raise ProgramError("version", "may hold only latin letters, digits, '.', '_' and '-'")
    return version


class _Compiled:
    """A rule with the variables its condition reads."""

    def __init__(self, rule, variables):
        self.rule, self.variables = rule, variables


def accrual(value: object) -> list[_Compiled]:
    rules = schema.listing(value, "accrual")
    compiled = [_accrual_rule(rule, f"accrual[{i}]") for i, rule in enumerate(rules)]
    _unique_ids([c.rule.id for c in compiled], "accrual")
    return compiled


def _accrual_rule(value: object, path: str) -> _Compiled:
    rule = schema.section(value, path, {"id", "when", "percent", "message"}, {"example"})
    condition = compile_condition(rule["when"], schema.at(path, "when"))
    percent = schema.percent(rule["percent"], schema.at(path, "percent"))
    example = _example(rule.get("example"), schema.at(path, "example"), set())
    return _Compiled(AccrualRule(
        id=schema.text(rule["id"], schema.at(path, "id")), test=condition.test,
        percent=percent, share=percent / HUNDRED,
        message=schema.text(rule["message"], schema.at(path, "message")),
        when=rule["when"], example=example), condition.variables)


def _unique_ids(ids: list[str], path: str) -> None:
    for i, rule_id in enumerate(ids):
        if rule_id in ids[:i]:
            raise ProgramError(f"{path}[{i}].id", f"repeats the id {rule_id!r}")


def redemption(value: object) -> dict:
    path = "redemption"
    section = schema.section(value, path, {"max_percent"},
                             {"zone_minimum_channels", "exclusions", "examples", "example"})
    channels = schema.listing(section.get("zone_minimum_channels", []),
                              schema.at(path, "zone_minimum_channels"), empty=True)
    exclusions = schema.listing(section.get("exclusions", []), schema.at(path, "exclusions"),
                                empty=True)
    compiled = [_exclusion(e, f"{path}.exclusions[{i}]") for i, e in enumerate(exclusions)]
    _unique_ids([c.rule.id for c in compiled], f"{path}.exclusions")
    return {
        "max_percent": schema.percent(section["max_percent"], schema.at(path, "max_percent")),
        # only a delivery order names a zone, so only delivery has a zone's minimum to keep
        "zone_minimum_channels": frozenset(
            schema.choice(c, f"{path}.zone_minimum_channels[{i}]", ZONED_CHANNELS)
            for i, c in enumerate(channels)),
        "exclusions": compiled,
        "examples": _cap_examples(section, path),
    }


def _cap_examples(section: dict, path: str) -> tuple[dict, ...]:
    """`examples`, a list of cap examples; `example`, one, as earlier files wrote it."""
    if "example" in section and "examples" in section:
        raise ProgramError(schema.at(path, "example"), "give either example or examples")
    if "example" in section:
        return (_example(section["example"], schema.at(path, "example"), {"zone_min_order"}),)
    listed = schema.listing(section.get("examples", []), schema.at(path, "examples"), empty=True)
    return tuple(_example(e, f"{path}.examples[{i}]", {"zone_min_order"})
                 for i, e in enumerate(listed))


def _exclusion(value: object, path: str) -> _Compiled:
    rule = schema.section(value, path, {"id", "when", "message"}, set())
    condition = compile_condition(rule["when"], schema.at(path, "when"))
    rule_id = schema.text(rule["id"], schema.at(path, "id"))
    message = schema.text(rule["message"], schema.at(path, "message"))
    return _Compiled(Exclusion(rule_id, condition.test, rule["when"],
                               Explanation(rule_id, message)), condition.variables)


def _example(value: object, path: str, extra: set[str]) -> dict | None:
    if value is None:
        return None
    example = schema.section(value, path, {"channel", "total"},
                             {"categories", "source", "at", *extra})
    schema.choice(example["channel"], schema.at(path, "channel"), CHANNELS)
    if "source" in example:
        schema.choice(example["source"], schema.at(path, "source"), SOURCES)
    if "at" in example:
        schema.local_moment(example["at"], schema.at(path, "at"))
    for key in ("total", *extra):
        if key in example:
            schema.quantum(example[key], schema.at(path, key))
    for i, category in enumerate(schema.listing(example.get("categories", []),
                                                schema.at(path, "categories"), empty=True)):
        schema.text(category, f"{path}.categories[{i}]")
    return example


def rounding(value: object) -> tuple[Decimal, str]:
    section = schema.section(value, "rounding", {"mode", "quantum"}, set())
    mode = schema.choice(section["mode"], "rounding.mode", tuple(ROUNDING_MODES))
    return schema.quantum(section["quantum"], "rounding.quantum"), mode


def expiry(value: object) -> tuple[int, str, str, str, int]:
    section = schema.section(value, "expiry", set(), {"idle_months", "month_end",
                             "cancelled_orders", "open_orders", "open_order_hours"})
    idle_months = schema.whole(section.get("idle_months", 12), "expiry.idle_months", 1, 120)
    month_end = schema.choice(section.get("month_end", "clamp"), "expiry.month_end",
                              ("clamp", "roll"))
    # a completed order cancelled later: "ignore" (default) takes it back as the guest's last
    # order, "count" keeps it (the rules say "no orders made"; a refunded order was not made)
    cancelled = schema.choice(section.get("cancelled_orders", "ignore"),
                              "expiry.cancelled_orders", ("ignore", "count"))
    # an order placed and not yet completed: "wait" (default) keeps the balance from burning
    # for open_order_hours after its placing (the guest "made an order" in time, and the
    # warning SMS asks for just that); "burn" counts completed orders only
    open_orders = schema.choice(section.get("open_orders", "wait"), "expiry.open_orders",
                                ("wait", "burn"))
    open_hours = schema.whole(section.get("open_order_hours", 24), "expiry.open_order_hours",
                              1, 720)
    return idle_months, month_end, cancelled, open_orders, open_hours



