"""Manual corrections by a person: signed, with a reason, audited, and large credits reviewed.

Four eyes (the contract's "Money made by hand"): a credit of more than the review line, or one
taking its person past the daily total of credits, is not applied but kept pending until
another person with the `supervisor` role approves it (then it is applied, through the ledger,
at that moment) or rejects it; a pending one lapses after `LAPSE_AFTER`. Debits are never held:
they take nothing out of the company. Every step writes an audit entry in its own transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bonus_service import ledger
from bonus_service.dbutil import MAX_INTEGER_ID, older_than
from bonus_service.errors import Conflict, Invalid, NotFound, NotPermitted, invalid
from bonus_service.models import Adjustment, Guest, LedgerEntry, Operator
from bonus_service.services import audit, guests, operators
from bonus_service.services.reasons import adjustment
from bonus_service.settings import Settings
from rules.money import kopecks, money

LAPSE_AFTER = timedelta(hours=72)
STATUSES = ("pending", "applied", "rejected", "lapsed")
LAPSE_ACTOR = "review-timer"  # the audit's actor of a lapse (web.wording.SYSTEM_ACTORS)


class PersonRefused(NotPermitted):
    """The person named may not do this: their role, or their own adjustment (naming the
    `operator` field)."""

    def __init__(self, reason: str):
        super().__init__(f"operator: {reason}", errors={"operator": reason})


class NotDecidable(Conflict):
    """The adjustment is no longer pending: decided by someone else meanwhile, or lapsed."""

    def __init__(self, status: str):
        super().__init__(f"This adjustment is {status}, not pending: it cannot be decided.",
                         facts={"adjustment_status": status})  # fmt: skip
        self.status = status


class UnknownAdjustment(NotFound):
    def __init__(self):
        super().__init__("No adjustment has this id.")


class UnknownGuest(NotFound):
    def __init__(self):
        super().__init__("No guest is registered with this phone.")


class OffStep(Invalid):
    """An amount that would leave the balance off the program's steps (`step` bonuses)."""

    def __init__(self, step: Decimal):
        reason = (f"must be a multiple of {step} bonuses: the rules in force spend bonuses in "
                  "such steps")  # fmt: skip
        self.step = money(kopecks(step))
        super().__init__(f"amount: {reason}", errors={"amount": reason}, facts={"step": self.step})


class OffTheLedger(Conflict):
    """The guest's balance disagrees with its ledger: no adjustment can mend that."""


@dataclass(frozen=True)
class Outcome:
    """An adjustment as recorded, and the ledger movement if it was applied now."""

    record: Adjustment
    movement: ledger.Movement | None = None


def status_at(record: Adjustment, now: datetime) -> str:
    """The status at `now`: a pending one past its time is lapsed, marked so yet or not."""
    if record.status == "pending" and record.lapses_at is not None and record.lapses_at <= now:
        return "lapsed"
    return record.status


def adjust(
    session: Session, phone: str, amount: Decimal, why: str, now: datetime, *,
    person: str, via: str, step: Decimal, settings: Settings,
) -> Outcome:  # fmt: skip
    """Credit or debit a guest's balance by hand, signed by `person` (an account's name) and
    sent through `via` (the actor: `operator:<name>` or an API client); a debit never takes
    held or absent bonuses. A credit past the review line or the person's daily total is kept
    pending instead (the Outcome has no movement).

    `step` is the program's rounding quantum (whole bonuses under the published rules).
    """
    if amount == 0:
        raise invalid("amount", "must not be zero")
    if not why.strip():
        raise invalid("reason", "must say why, not be blank")
    signer = _person(session, person)
    if signer.role not in operators.GUEST_ROLES:
        raise PersonRefused(f"{signer.name} has the {signer.role} role, which cannot adjust "
                            "a guest's balance")  # fmt: skip
    guest = guests.find(session, phone)
    if guest is None:
        raise UnknownGuest()
    _check_step(guest, amount, step)
    # the guest's row, then the person's (the console's stale-form check locks the guest's
    # first: one order everywhere, no deadlock); two credits of one person count their day in turn
    session.execute(select(Guest.id).where(Guest.id == guest.id).with_for_update())
    _person(session, signer.name, lock=True)
    record = Adjustment(
        guest_id=guest.id, phone=phone, amount=kopecks(amount), reason=why,
        requested_by=signer.name, requested_via=via, requested_at=now,
    )  # fmt: skip
    held = _held_because(session, signer.name, record.amount, now, settings)
    if held:
        record.status, record.held_because = "pending", " ".join(held)
        record.lapses_at = now + LAPSE_AFTER
        session.add(record)
        session.flush()
        audit.record(session, via, "adjustment.request", phone, now, adjustment_id=record.id,
                     amount=f"{amount:.2f}", reason=why, operator=signer.name,
                     held_because=record.held_because)  # fmt: skip
        return Outcome(record)
    moved = _move(session, guest, record, actor=via, now=now)
    record.status, record.entry_id = "applied", moved.entry_id
    session.add(record)
    session.flush()
    audit.record(session, via, "guest.adjust", phone, now, amount=f"{amount:.2f}", reason=why,
                 entry_id=moved.entry_id, operator=signer.name,
                 adjustment_id=record.id)  # fmt: skip
    return Outcome(record, moved)


def approve(
    session: Session, adjustment_id: int, now: datetime, *, person: str, via: str, step: Decimal
) -> Outcome:
    """Apply a pending adjustment through the ledger now, with its original reason; `person`
    must be a supervisor other than the one who asked. Approved twice (a double submit, two
    supervisors at once), it is applied once: the second finds it decided (NotDecidable)."""
    decider, record = _decision(session, adjustment_id, person, via, now)
    guest = session.get(Guest, record.guest_id)
    _check_step(guest, money(record.amount), step)
    moved = _move(session, guest, record, actor=via, now=now)
    _decide(record, "applied", decider, via, now)
    record.entry_id = moved.entry_id
    audit.record(session, via, "adjustment.approve", record.phone, now,
                 adjustment_id=record.id, amount=f"{money(record.amount):.2f}",
                 reason=record.reason, requested_by=record.requested_by, operator=decider.name,
                 entry_id=moved.entry_id)  # fmt: skip
    return Outcome(record, moved)


def reject(
    session: Session, adjustment_id: int, why: str, now: datetime, *, person: str, via: str
) -> Adjustment:
    """Refuse a pending adjustment for good, saying why; `person` must be a supervisor other
    than the one who asked. Nothing moves."""
    if not why.strip():
        raise invalid("reason", "must say why, not be blank")
    decider, record = _decision(session, adjustment_id, person, via, now)
    _decide(record, "rejected", decider, via, now)
    record.decision_reason = why
    audit.record(session, via, "adjustment.reject", record.phone, now,
                 adjustment_id=record.id, amount=f"{money(record.amount):.2f}",
                 reason=why, requested_by=record.requested_by,
                 operator=decider.name)  # fmt: skip
    return record


def lapse_overdue(session: Session, now: datetime) -> int:
    """Mark pending adjustments past their time as lapsed, each with an audit entry; → how many.

    A conditional UPDATE per row: one a supervisor decided meanwhile is left as decided."""
    overdue = session.scalars(
        select(Adjustment).where(Adjustment.status == "pending", Adjustment.lapses_at <= now)
    ).all()
    lapsed = 0
    for record in overdue:
        changed = session.execute(
            update(Adjustment)
            .where(Adjustment.id == record.id, Adjustment.status == "pending")
            .values(status="lapsed", decided_at=record.lapses_at)
            .execution_options(synchronize_session=False)
        )
        if changed.rowcount == 1:
            lapsed += 1
            audit.record(session, LAPSE_ACTOR, "adjustment.lapse", record.phone, now,
                         adjustment_id=record.id, amount=f"{money(record.amount):.2f}",
                         requested_by=record.requested_by)  # fmt: skip
    return lapsed


def listed(
    session: Session, now: datetime, *, status: str | None = "pending", before: int | None = None,
    limit: int = 50,
) -> tuple[list[Adjustment], int | None]:  # fmt: skip
    """A page of adjustments in `status` as it stands at `now` (None: any), newest first; →
    (rows, the `before` of the next page or None)."""
    query = select(Adjustment)
    lapsed = (Adjustment.status == "pending") & (Adjustment.lapses_at <= now)
    if status == "pending":
        query = query.where(Adjustment.status == "pending", Adjustment.lapses_at > now)
    elif status == "lapsed":
        query = query.where((Adjustment.status == "lapsed") | lapsed)
    elif status is not None:
        query = query.where(Adjustment.status == status)
    if (older := older_than(Adjustment.id, before, MAX_INTEGER_ID)) is not None:
        query = query.where(older)
    rows = list(session.scalars(query.order_by(Adjustment.id.desc()).limit(limit + 1)))
    return rows[:limit], (rows[limit - 1].id if len(rows) > limit else None)


def find(session: Session, adjustment_id: int) -> Adjustment:
    record = session.get(Adjustment, adjustment_id) if 0 < adjustment_id <= MAX_INTEGER_ID else None
    if record is None:
        raise UnknownAdjustment()
    return record


def credited_today(session: Session, person: str, now: datetime, settings: Settings) -> int:
    """Kopecks `person` has credited by hand since local midnight (BONUS_TIMEZONE): applied
    credits and those still pending (one approved later must not push the day past the limit
    unseen); rejected and lapsed ones do not count."""
    local = now.astimezone(settings.tz)
    midnight = datetime.combine(local.date(), time(0), tzinfo=settings.tz)
    total = session.scalar(
        select(func.coalesce(func.sum(Adjustment.amount), 0)).where(
            Adjustment.requested_by == person,
            Adjustment.requested_at >= midnight,
            Adjustment.amount > 0,
            Adjustment.status.in_(("applied", "pending")),
        )
    )
    return int(total)


def _held_because(
    session: Session, person: str, amount: int, now: datetime, settings: Settings
) -> list[str]:
    """Why a credit of `amount` kopecks needs a second person; empty for none (every debit)."""
    if amount <= 0:
        return []
    held = []
    if amount > settings.adjustment_review_over * 100:
        held.append("review_over")
    if credited_today(session, person, now, settings) + amount > (
        settings.adjustment_daily_limit * 100
    ):
        held.append("daily_limit")
    return held


def _person(session: Session, name: str, *, lock: bool = False) -> Operator:
    found = operators.person(session, name, lock=lock)
    if found is None:
        raise invalid("operator", "must name an enabled console operator (their login name)")
    return found


def _decision(
    session: Session, adjustment_id: int, person: str, via: str, now: datetime
) -> tuple[Operator, Adjustment]:
    """The deciding supervisor and the pending adjustment, locked; or the refusal. The
    channel that asked never decides: an API client names its people itself, so one key could
    ask as one person and approve as another; the console signs each person in."""
    decider = _person(session, person)
    if decider.role != operators.SUPERVISOR:
        raise PersonRefused(f"{decider.name} has the {decider.role} role: only a supervisor "
                            "approves or rejects adjustments")  # fmt: skip
    if not 0 < adjustment_id <= MAX_INTEGER_ID:
        raise UnknownAdjustment()
    record = session.scalar(
        select(Adjustment).where(Adjustment.id == adjustment_id).with_for_update()
    )
    if record is None:
        raise UnknownAdjustment()
    if record.requested_by == decider.name:
        raise PersonRefused("nobody approves or rejects their own adjustment: another "
                            "supervisor decides it")  # fmt: skip
    if record.requested_via == via:
        raise PersonRefused(f"{via} asked for this adjustment, so it cannot decide it: a "
                            "supervisor decides it in the console or through another API "
                            "client")  # fmt: skip
    if (status := status_at(record, now)) != "pending":
        raise NotDecidable(status)
    return decider, record


def _decide(record: Adjustment, status: str, decider: Operator, via: str, now: datetime) -> None:
    record.status, record.decided_by, record.decided_via, record.decided_at = (
        status, decider.name, via, now)  # fmt: skip


def _check_step(guest: Guest, amount: Decimal, step: Decimal) -> None:
    # a balance of 25.50 leaves half a bonus nothing can ever spend; an amount that brings a
    # balance of before the rule back to whole steps is what mends it
    if amount % step and (money(guest.balance) + amount) % step:
        raise OffStep(step)


def _move(
    session: Session, guest: Guest, record: Adjustment, *, actor: str, now: datetime
) -> ledger.Movement:
    _refuse_over_a_difference(session, guest.id)
    amount = money(record.amount)
    moved = ledger.move(session, guest.id, "adjustment", record.amount, actor=actor, now=now,
                        reason=adjustment(amount, record.reason))  # fmt: skip
    if moved is None:
        session.refresh(guest)
        raise invalid(
            "amount", f"the guest has only {money(guest.balance - guest.held)} available to debit"
        )
    return moved


def _refuse_over_a_difference(session: Session, guest_id: int) -> None:
    """An adjustment moves the balance and the ledger alike, so over a balance that disagrees
    with its ledger (found by `bonus reconcile`) it cannot mend anything: it writes a wrong
    `balance_after` into the append-only ledger, which reconcile then reports for good. The
    guest's row is locked first, so no movement can commit between the two reads."""
    balance = session.scalar(select(Guest.balance).where(Guest.id == guest_id).with_for_update())
    ledger_sum = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
            LedgerEntry.guest_id == guest_id
        )
    )
    if int(ledger_sum) != balance:
        raise OffTheLedger(
            f"This guest's balance ({money(balance)}) disagrees with the ledger "
            f"({money(int(ledger_sum))}): set the guests row to the ledger first "
            "(docs/operations.md, reconcile); an adjustment here would not mend it.",
        )
