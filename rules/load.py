"""Reading a program file: every field checked, conditions compiled, or ProgramError."""

import copy
import json
import re
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

from rules import categories, schema, sections
from rules.conditions import category_named
from rules.errors import ProgramError
from rules.evaluate import evaluate_example
from rules.facts import TIME_VARIABLES
from rules.money import rounder
from rules.nesting import MAX_DEPTH, nested_deeper_than
from rules.program import Program, example_moment, example_order

TOP_REQUIRED = {"version", "effective_from", "accrual", "redemption"}
TOP_OPTIONAL = {"title", "timezone", "rounding", "accrual_base", "categories",
                "max_promo_codes", "expiry"}
DEFAULTS = {"timezone": "Europe/Moscow", "title": "Бонусная программа ВилкиНет",
            "rounding": {"mode": "down", "quantum": "1"}, "accrual_base": "total",
            "max_promo_codes": 1, "expiry": {}, "categories": {}}


def load_program(source: str | Path | Mapping) -> Program:
    """A Program from a file path or an already-parsed mapping; ProgramError if anything is off."""
    if isinstance(source, Mapping):
        return build_program(source)
    path = Path(source)
    try:
        return build_program(read_json(path))
    except ProgramError as error:
        raise error.in_file(path.name) from None


def read_json(path: Path) -> object:
    """The file's JSON with numbers as Decimal; NaN, Infinity and repeated keys refused."""
    try:
        text = path.read_text(encoding="utf-8")
        if nested_deeper_than(text):
            raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
        return json.loads(text, parse_float=Decimal, parse_constant=_no_constant,
                          object_pairs_hook=_no_repeats)
    except (OSError, ValueError) as error:
        raise ProgramError("", f"cannot be read as JSON: {error}", path.name) from None


def _no_constant(name: str):
    raise ValueError(f"{name} is not allowed")


def _no_repeats(pairs: list) -> dict:
    keys = [key for key, _ in pairs]
    repeated = {key for key in keys if keys.count(key) > 1}
    if repeated:
        raise ValueError(f"repeated key {sorted(repeated)[0]!r}")
    return dict(pairs)


def build_program(data: Mapping) -> Program:
    """Check a program mapping field by field and compile its rules."""
    data = dict(data) if isinstance(data, Mapping) else data
    data = copy.deepcopy(schema.section(data, "", TOP_REQUIRED, TOP_OPTIONAL))
    setting = {**DEFAULTS, **data}
    accrual = sections.accrual(data["accrual"])
    redemption = sections.redemption(data["redemption"])
    quantum, mode = sections.rounding(setting["rounding"])
    idle_months, month_end, cancelled_orders, open_orders, open_order_hours = sections.expiry(
        setting["expiry"]
    )
    menu = categories.read(setting["categories"])
    reads = {name for rule in (*accrual, *redemption["exclusions"]) for name in rule.variables}
    program = Program(
        version=sections.version(data["version"]),
        effective_from=schema.moment(data["effective_from"], "effective_from"),
        data=data, timezone=schema.zone(setting["timezone"], "timezone"),
        title=schema.text(setting["title"], "title"),
        accrual=tuple(rule.rule for rule in accrual),
        accrual_base=schema.choice(setting["accrual_base"], "accrual_base", ("paid", "total")),
        max_percent=redemption["max_percent"],
        cap_share=redemption["max_percent"] / sections.HUNDRED,
        zone_minimum_channels=redemption["zone_minimum_channels"],
        exclusions=tuple(rule.rule for rule in redemption["exclusions"]),
        redemption_examples=redemption["examples"],
        max_promo_codes=schema.whole(setting["max_promo_codes"], "max_promo_codes", 0, 10),
        quantum=quantum, rounding_mode=mode, round_accrual=rounder(quantum, mode),
        round_cap=rounder(quantum, "down"),  # a cap rounded up would break its own limit
        idle_months=idle_months, month_end=month_end, cancelled_orders=cancelled_orders,
        open_orders=open_orders, open_order_hours=open_order_hours,
        categories=menu.labels, category_codes=menu.codes,
        uses_time=bool(reads & TIME_VARIABLES))
    _check_version_date(program)
    _check_examples(program)
    _check_categories(program)
    return program


def _check_version_date(program: Program) -> None:
    """A version named by a date ("2025-06-01-summer") starts that day: a file copied and
    re-dated in one place but not the other would publish one date and apply another."""
    named = re.match(r"(\d{4})-(\d{2})-(\d{2})(?!\d)", program.version)
    if named is None:
        return
    # the date as written, in its own offset, or in the program's zone (a start written in
    # UTC, 2023-12-31T21:00:00Z, is Moscow's 2024-01-01)
    written = program.effective_from
    dates = {f"{written:%Y-%m-%d}", f"{written.astimezone(program.timezone):%Y-%m-%d}"}
    if named.group(0) not in dates:
        raise ProgramError("version", f"is named for {named.group(0)} but effective_from "
                           f"starts it on {min(dates)}")


def _check_categories(program: Program) -> None:
    """A category a condition names must be one of `categories`: a typo ("bizlunch") would
    never match, and the exclusion it guards (no bonuses spent on a business lunch) would
    silently stop applying."""
    rules = [(f"accrual[{i}].when", r.when) for i, r in enumerate(program.accrual)]
    rules += [(f"redemption.exclusions[{i}].when", e.when)
              for i, e in enumerate(program.exclusions)]  # fmt: skip
    for path, condition in rules:
        for at, category in _categories_named(condition, path):
            if category not in program.categories:
                known = ", ".join(program.categories) or "none"
                raise ProgramError(at, f"unknown category {category!r}: name it in "
                                   f"categories (known: {known})")


def _categories_named(node: object, path: str):
    """(path, name) of each `["name", {"var": "categories"}]` membership in a condition."""
    if (category := category_named(node)) is not None:
        yield f"{path}.in[0]", category
        return
    if not isinstance(node, dict) or len(node) != 1:
        return
    op, args = next(iter(node.items()))
    if not isinstance(args, list):
        args = [args]
    for i, arg in enumerate(args):
        yield from _categories_named(arg, f"{path}.{op}[{i}]")


def _check_examples(program: Program) -> None:
    """A worked example must be an example of its own rule, or the published text would lie."""
    _check_reachable(program)  # first: an unreachable rule's example is its symptom
    for i, rule in enumerate(program.accrual):
        if rule.example is not None:
            moment = example_moment(program, rule.example).astimezone(program.timezone)
            order = program.recognise(example_order(rule.example))
            chosen = program.accrual_rule(order, moment)
            if chosen is not rule:
                picked = chosen.id if chosen else "no rule"
                when = ""
                if program.uses_time:  # the moment may be why: say it, and how to choose one
                    when = (f" at {moment:%Y-%m-%d %H:%M} ({moment:%A}): if that is why, give "
                            'the example an "at" when its own rule decides')
                raise ProgramError(f"accrual[{i}].example", f"is decided by {picked!r}, not by "
                                   f"{rule.id!r}{when}")
    for i, example in enumerate(program.redemption_examples):
        # the text shows them under "for a delivery order, keep the zone's minimum": each must
        # be such an order, and show a cap (an excluded order's 0 would contradict the sentence)
        path = f"redemption.examples[{i}]"
        if example["channel"] not in program.zone_minimum_channels:
            raise ProgramError(f"{path}.channel", "must be a channel of "
                               "zone_minimum_channels: the example shows the zone minimum")
        if evaluate_example(program, example).redeem_max <= 0:
            raise ProgramError(path, "allows no redemption at all: an example of the cap must "
                               "show one")


def _check_reachable(program: Program) -> None:
    """An accrual rule after one that always holds, or with the very condition of an earlier
    one, can never decide an order: a mistake, not a rule."""
    for i, rule in enumerate(program.accrual):
        for j, earlier in enumerate(program.accrual[:i]):
            if earlier.when is True or earlier.when == rule.when:
                why = "always holds" if earlier.when is True else "has the same condition"
                raise ProgramError(f"accrual[{i}]", f"is never reached: accrual[{j}] "
                                   f"({earlier.id!r}) comes first and {why}")
