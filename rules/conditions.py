"""A json-logic style condition compiled once, at load time, into a Python closure."""

import operator
from typing import NamedTuple

from rules.errors import ProgramError
from rules.facts import COUNT, MONEY, SET, TEXT, VARIABLES
from rules.money import amount_or_reason
from rules.order import CHANNELS, SOURCES

ORDERING = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
EQUALITY = {"==": operator.eq, "!=": operator.ne}
MIRRORED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
KNOWN_VALUES = {"channel": CHANNELS, "source": SOURCES}  # a typo here would never match


class Condition(NamedTuple):
    """A compiled condition: `test(order, local_now) -> bool` and the variables it reads."""

    test: object
    variables: frozenset[str]


class _Var(NamedTuple):
    name: str
    kind: str
    get: object


def category_named(node: object) -> str | None:
    """The category of `{"in": ["name", {"var": "categories"}]}`, else None: the one shape in
    which a condition names an item category (the loader checks it, the text tells it)."""
    if not isinstance(node, dict) or set(node) != {"in"}:
        return None
    args = node["in"]
    if isinstance(args, list) and len(args) == 2 and isinstance(args[0], str) \
            and args[1] == {"var": "categories"}:
        return args[0]
    return None


def compile_condition(node: object, path: str) -> Condition:
    """Compile a condition, or raise ProgramError naming the bad operator, variable or value."""
    if node is True or node is False:
        return Condition(lambda order, local: node, frozenset())
    if not isinstance(node, dict) or len(node) != 1:
        raise ProgramError(path, "must be true, false or an object with one operator")
    op, args = next(iter(node.items()))
    compiler = OPERATORS.get(op)
    if compiler is None:
        raise ProgramError(path, f"unknown operator {op!r} (known: {', '.join(OPERATORS)})")
    return compiler(op, args, f"{path}.{op}")


def _all_of(op, args, path) -> Condition:
    parts = _conditions(args, path)
    tests = tuple(part.test for part in parts)
    test = _every(tests) if op == "and" else _any(tests)
    return Condition(test, frozenset().union(*(part.variables for part in parts)))


def _every(tests):
    def test(order, local):
        for one in tests:  # a plain loop: all() over a generator costs twice as much
            if not one(order, local):
                return False
        return True

    return test


def _any(tests):
    def test(order, local):
        for one in tests:
            if one(order, local):
                return True
        return False

    return test


def _conditions(args, path) -> list[Condition]:
    if not isinstance(args, list) or not args:
        raise ProgramError(path, "must be a non-empty list of conditions")
    return [compile_condition(arg, f"{path}[{i}]") for i, arg in enumerate(args)]


def _negation(op, args, path) -> Condition:
    if isinstance(args, list):
        if len(args) != 1:
            raise ProgramError(path, "takes exactly one condition")
        args = args[0]
    inner = compile_condition(args, f"{path}[0]")
    test = inner.test
    return Condition(lambda order, local: not test(order, local), inner.variables)


def _comparison(op, args, path) -> Condition:
    left, right = _pair(args, path)
    if isinstance(left, _Var) and isinstance(right, _Var):
        return _between_vars(op, left, right, path)
    constant_at = f"{path}[1]"
    if not isinstance(left, _Var):
        if not isinstance(right, _Var):
            raise ProgramError(path, "compares two constants; one side must be a variable")
        left, right, op, constant_at = right, left, MIRRORED[op], f"{path}[0]"
    value = _constant(left, right, op, constant_at)
    compare, get = {**ORDERING, **EQUALITY}[op], left.get
    return Condition(lambda order, local: compare(get(order, local), value),
                     frozenset({left.name}))


def _between_vars(op, left, right, path) -> Condition:
    if left.kind != right.kind or left.kind == SET:
        raise ProgramError(path, f"cannot compare {left.name!r} with {right.name!r}")
    if op in ORDERING and left.kind == TEXT:
        raise ProgramError(path, f"{op!r} needs numbers or amounts")
    compare, get_left, get_right = {**ORDERING, **EQUALITY}[op], left.get, right.get
    return Condition(lambda order, local: compare(get_left(order, local), get_right(order, local)),
                     frozenset({left.name, right.name}))


def _pair(args, path) -> tuple:
    if not isinstance(args, list) or len(args) != 2:
        raise ProgramError(path, "takes exactly 2 arguments")
    return tuple(_operand(arg, f"{path}[{i}]") for i, arg in enumerate(args))


def _operand(node, path):
    if not isinstance(node, dict):
        return node
    if set(node) != {"var"}:
        raise ProgramError(path, 'an argument must be a constant or {"var": name}')
    name = node["var"]
    if not isinstance(name, str) or name not in VARIABLES:
        raise ProgramError(path, f"unknown variable {name!r} (known: {', '.join(VARIABLES)})")
    kind, get = VARIABLES[name]
    return _Var(name, kind, get)


def _constant(var: _Var, value, op, path):
    """The constant turned into the variable's kind, refused when it cannot be one."""
    if var.kind == SET:
        raise ProgramError(path, f"{var.name!r} is a set: use 'in'")
    if op in ORDERING and var.kind == TEXT:
        raise ProgramError(path, f"{op!r} needs numbers or amounts, {var.name!r} is text")
    return _as_kind(var, value, path, op)


def _as_kind(var: _Var, value, path, op: str | None = None):
    if var.kind == MONEY:
        amount, reason = amount_or_reason(value)
        if reason:
            raise ProgramError(path, f"{value!r} for {var.name!r} {reason}")
        return amount
    if var.kind == COUNT:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ProgramError(path, f"{var.name!r} is compared with whole numbers")
        _check_range(var.name, op, value, path)
        return value
    if not isinstance(value, str):
        raise ProgramError(path, f"{var.name!r} is compared with strings")
    known = KNOWN_VALUES.get(var.name)
    if known is not None and value not in known:
        raise ProgramError(path, f"unknown {var.name} {value!r} (known: {', '.join(known)})")
    return value


def _membership(op, args, path) -> Condition:
    needle, haystack = _pair(args, path)
    if isinstance(haystack, _Var) and haystack.kind == SET and not isinstance(needle, _Var):
        if not isinstance(needle, str):
            raise ProgramError(path, f"{haystack.name!r} holds strings")
        get = haystack.get
        return Condition(lambda order, local: needle in get(order, local),
                         frozenset({haystack.name}))
    if isinstance(needle, _Var) and needle.kind != SET and isinstance(haystack, list):
        if not haystack:
            raise ProgramError(f"{path}[1]", "an empty list never holds: name the values")
        values = frozenset(_as_kind(needle, v, f"{path}[1][{i}]") for i, v in enumerate(haystack))
        get = needle.get
        return Condition(lambda order, local: get(order, local) in values,
                         frozenset({needle.name}))
    raise ProgramError(path, 'expects ["value", {"var": set}] or [{"var": name}, [values]]')


def _check_range(name: str, op: str | None, value: int, path: str) -> None:
    """`weekday == 0` meant as Sunday, `hour == 24`, `weekday > 7`: a rule that can never
    match is a mistake. An equality (or `in`, op None) needs a value the variable takes; an
    ordering needs one value that passes (`hour < 24`, «until midnight», is fine)."""
    if name not in RANGES:
        return
    low, high = RANGES[name]
    if op in (None, "==", "!="):
        if not low <= value <= high:
            raise ProgramError(path, f"{name!r} is {low}..{high}{RANGE_NOTES[name]}, "
                               f"not {value}")
        return
    if not any(ORDERING[op](taken, value) for taken in range(low, high + 1)):
        raise ProgramError(path, f"{name!r} {op} {value} never holds: {name!r} is "
                           f"{low}..{high}{RANGE_NOTES[name]}")


# what a whole-number variable can be: a constant outside it can never match
RANGES = {"weekday": (1, 7), "hour": (0, 23)}
RANGE_NOTES = {"weekday": " (1 is Monday, 7 Sunday)", "hour": " (the local hour, 0 after midnight)"}

OPERATORS = {
    "and": _all_of, "or": _all_of, "not": _negation,
    "==": _comparison, "!=": _comparison,
    "<": _comparison, "<=": _comparison, ">": _comparison, ">=": _comparison,
    "in": _membership,
}
