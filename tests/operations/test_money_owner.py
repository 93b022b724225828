"""Only the ledger writes money: no module outside bonus_service/ledger/ writes a balance or an
entry.

The check reads the source, not a run: it covers every path, including those no test takes.
It parses each module of the application (bonus_service, scheduler, rules, sms; migrations are
the schema's history and exempt) and reports every way this code base writes those tables:
- SQL text (any string constant, f-strings' literal parts included) that inserts, updates or
  deletes `ledger_entries`, updates `guests` setting `balance` or `held`, or inserts a guest
  with them;
- SQLAlchemy statements: insert/update/delete of the entries' table, by its class, its
  `__table__`, or any name bound to either in the module (`ENTRIES = LedgerEntry.__table__`,
  tuples included); any `.values(...)` that sets `balance` or `held` (dict.values() takes no
  argument, so nothing else is caught); bulk ORM writes of either class;
- ORM objects: assigning `.balance`/`.held` (or setattr of them), building a `LedgerEntry`
  (adding it would insert it), or a `Guest` with a balance (a new guest starts at the columns'
  default, 0).
The detector is held to finding each of these forms in snippets, and the ledger's own writes.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPLICATION = ("bonus_service", "scheduler", "rules", "sms")
LEDGER = ROOT / "bonus_service" / "ledger"
EXEMPT = (LEDGER, ROOT / "bonus_service" / "migrations")

MONEY = {"balance", "held"}
ENTRY_CLASS, GUEST_CLASS = "LedgerEntry", "Guest"
WRITES = {"insert", "update", "delete"}
SQL = [
    re.compile(r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+ledger_entries\b", re.I),
    re.compile(
        r"\bUPDATE\s+guests\b(?:(?!\bWHERE\b|;).)*?\bSET\b(?:(?!\bWHERE\b|;).)*?"
        r"\b(?:\w+\.)?(?:balance|held)\s*=",
        re.I | re.S,
    ),
    re.compile(r"\bINSERT\s+INTO\s+guests\s*\([^)]*\b(?:balance|held)\b", re.I),
]


def _strings(node: ast.AST):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.JoinedStr):  # the literal parts, joined: `{x}` reads as one space
        yield " ".join(v.value for v in node.values if isinstance(v, ast.Constant))


def _dotted(node: ast.AST) -> str:
    """`models.LedgerEntry.__table__` → "models.LedgerEntry.__table__"; "" if not a name."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else ""
    return ""


def _table_of(node: ast.AST, aliases: dict[str, str]) -> str | None:
    """The table the expression names, by the table or its class: "entries", "guests" or None."""
    name = _dotted(node)
    if name.endswith(".c"):  # `GUESTS.c` is no table, but `GUESTS` is
        return None
    name = aliases.get(name, name).removesuffix(".__table__").rpartition(".")[2]
    return {ENTRY_CLASS: "entries", GUEST_CLASS: "guests"}.get(name)


def _aliases(tree: ast.AST) -> dict[str, str]:
    """Names bound in the module to one of the two classes or their tables."""
    found = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            pairs = [(target, node.value)]
            if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                pairs = list(zip(target.elts, node.value.elts, strict=False))
            for name, value in pairs:
                if isinstance(name, ast.Name) and _table_of(value, {}):
                    found[name.id] = _dotted(value)
    return found


def _sets_money(call: ast.Call) -> bool:
    keys = [k.arg for k in call.keywords]
    for arg in call.args:
        if isinstance(arg, ast.Dict):
            # "balance": …, or Guest.balance: …, GUESTS.c.held: …
            keys += [
                k.value if isinstance(k, ast.Constant) else getattr(k, "attr", None)
                for k in arg.keys
            ]
    return bool(MONEY & set(keys))


def _call_writes(call: ast.Call, aliases: dict[str, str]) -> str | None:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    if name in WRITES and call.args and _table_of(call.args[0], aliases) == "entries":
        return f"{name} of ledger_entries"  # insert(LedgerEntry), postgresql.insert(ENTRIES)
    if name in WRITES and isinstance(func, ast.Attribute):
        if _table_of(func.value, aliases) == "entries":  # ENTRIES.insert()
            return f"ledger_entries.{name}()"
    if name == "values" and _sets_money(call):
        return ".values() setting balance/held"
    if name.startswith("bulk_") and call.args and _table_of(call.args[0], aliases):
        return f"{name} of {_dotted(call.args[0])}"
    if name == ENTRY_CLASS:
        return f"{name}(...)"
    if name == "setattr" and any(
        isinstance(arg, ast.Constant) and arg.value in MONEY for arg in call.args
    ):
        return "setattr of balance/held"
    if name == GUEST_CLASS and MONEY & {k.arg for k in call.keywords}:
        return "Guest(...) with a balance"
    if name == "update" and isinstance(func, ast.Attribute) and _sets_money(call):
        base = func.value  # session.query(Guest).filter_by(id=1).update({...})
        while isinstance(base, ast.Call) and isinstance(base.func, ast.Attribute):
            if any(_table_of(a, aliases) for a in base.args):
                return "query(...).update() setting balance/held"
            base = base.func.value
    return None


def money_writes(source: str) -> list[tuple[int, str]]:
    """(line, what) for every write of a balance or a ledger entry in this module's source."""
    tree = ast.parse(source)
    aliases = _aliases(tree)
    found = []
    for node in ast.walk(tree):
        for text in _strings(node):
            found += [(node.lineno, f"SQL: {p.search(text)[0]!r}") for p in SQL if p.search(text)]
        if isinstance(node, ast.Call) and (what := _call_writes(node, aliases)):
            found.append((node.lineno, what))
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        else:
            targets = []
        for target in targets:
            if isinstance(target, ast.Attribute) and target.attr in MONEY:
                found.append((node.lineno, f".{target.attr} assigned"))
    return sorted(set(found))


def _modules():
    for package in APPLICATION:
        for path in sorted((ROOT / package).rglob("*.py")):
            if not any(path.is_relative_to(exempt) for exempt in EXEMPT):
                yield path


def test_no_module_outside_the_ledger_writes_a_balance_or_an_entry():
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {what}"
        for path in _modules()
        for line, what in money_writes(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], "money is written outside bonus_service/ledger/:\n" + "\n".join(
        offenders
    )


def test_the_scan_reads_every_module_of_the_application():
    scanned = {path.relative_to(ROOT).as_posix() for path in _modules()}
    assert {"scheduler/expiry.py", "bonus_service/services/checkout.py",
            "bonus_service/services/adjustments.py", "bonus_service/cli.py"} <= scanned  # fmt: skip
    assert not any(name.startswith("bonus_service/ledger/") for name in scanned)


def test_the_ledger_itself_is_seen_writing_both_tables():
    """The detector knows the forms the ledger really uses: its moves and its burn."""
    writes = {
        path.name: [what for _, what in money_writes(path.read_text(encoding="utf-8"))]
        for path in LEDGER.glob("*.py")
    }
    moves, burn = writes["__init__.py"], writes["burn.py"]
    assert "insert of ledger_entries" in moves  # insert(ENTRIES), ENTRIES = LedgerEntry.__table__
    assert any("INSERT INTO ledger_entries" in w for w in moves)  # PostgreSQL's one statement
    assert any("UPDATE guests" in w for w in moves)
    assert ".values() setting balance/held" in burn  # SQLite: update(GUESTS).values(balance=…)
    assert any("UPDATE guests AS g SET balance" in w for w in burn)
    assert any("INSERT INTO ledger_entries" in w for w in burn)


@pytest.mark.parametrize(
    "source",
    [
        'session.execute(text("INSERT INTO ledger_entries (guest_id) VALUES (1)"))',
        'SQL = """\nupdate guests\n   set last_order_at = :now, balance = balance - 1\n"""',
        'SQL = "UPDATE guests AS g SET g.held = 0 WHERE g.id = 1"',
        'SQL = f"DELETE FROM ledger_entries WHERE id = {entry_id}"',
        'SQL = "INSERT INTO guests (phone, balance) VALUES (:p, 100)"',
        "session.execute(insert(LedgerEntry).values(guest_id=1))",
        "ENTRIES = models.LedgerEntry.__table__\nsession.execute(insert(ENTRIES), rows)",
        "GUESTS, ENTRIES = Guest.__table__, LedgerEntry.__table__\nENTRIES.delete()",
        "session.execute(postgresql.insert(LedgerEntry.__table__))",
        "session.execute(update(GUESTS).where(GUESTS.c.id == 1).values(balance=0))",
        "session.execute(update(Guest).values({Guest.held: 0}))",
        'session.execute(update(Guest).values({"balance": 5}))',
        'session.query(Guest).filter_by(id=1).update({"balance": 5})',
        "session.bulk_insert_mappings(LedgerEntry, rows)",
        "guest.balance += 100",
        "guest.held = 0",
        'setattr(guest, "balance", 5)',
        "session.add(LedgerEntry(guest_id=1, kind='adjustment', amount=5))",
        "session.add(Guest(phone=phone, balance=100))",
    ],
)
def test_each_form_of_a_money_write_is_caught(source):
    assert money_writes(source), source


@pytest.mark.parametrize(
    "source",
    [
        'SQL = "UPDATE guests SET last_order_at = :now WHERE balance = held"',
        "session.execute(update(GUESTS).values(last_order_at=now).returning(GUESTS.c.balance))",
        "session.execute(update(Guest).where(Guest.balance > Guest.held).values(warned_for=day))",
        "session.add(Guest(phone=phone, registered_at=now))",
        "select(LedgerEntry).where(LedgerEntry.kind == 'expiry')",
        "view.update(entry=moved.entry, balance=moved.balance)",
        "total = sum(guests.values())",
        'SQL = "SELECT balance, held FROM guests"',
    ],
)
def test_reading_money_or_writing_other_columns_is_no_write(source):
    assert money_writes(source) == [], source
