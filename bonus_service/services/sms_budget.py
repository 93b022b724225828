"""Every SMS the service sends, counted in the database: the hourly budget against SMS pumping.

SMS pumping is someone asking for codes to numbers whose carrier pays them per SMS received;
each code costs the chain money. The per-phone, per-address and per-network limits bound what
one phone or one network can ask for; `BONUS_SMS_PER_HOUR` bounds the bill whatever the
spread: past it, new codes are 503 with Retry-After, a WARNING line says so and
`bonus_sms_budget_exhausted_total` counts it. Burn warnings count too, and take at most half
the hour's budget, so a day's warnings never leave the guests without login codes.

The count is rows of `sms_sends` read under a lock on one `sms_throttles` row (`sms:budget`),
so it holds across any number of workers and machines: each send's check-and-count is one
short transaction, serialised with every other send's.
"""

from __future__ import annotations

import ipaddress
import logging
import math
from datetime import datetime, timedelta

from prometheus_client import CollectorRegistry, Counter
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bonus_service.dbutil import insert_ignore
from bonus_service.errors import Unavailable
from bonus_service.models import SmsSend, SmsThrottle

HOUR = timedelta(hours=1)
BUDGET = "sms:budget"  # the subject whose row lock serialises every send's check and count
BURN_WARNING = "burn_warning"
SCHEDULER = "scheduler"  # the `address` of a send no client asked for

# Counted in the process that refused (prometheus_client's multiprocess files when
# PROMETHEUS_MULTIPROC_DIR is set); /metrics adds this registry to the requests'.
REGISTRY = CollectorRegistry()
EXHAUSTED = Counter(
    "bonus_sms_budget_exhausted",
    "SMS not sent because the hourly budget (BONUS_SMS_PER_HOUR) was spent: codes refused "
    "with 503, burn warnings postponed to the next run; by purpose.",
    ["purpose"],
    registry=REGISTRY,
)

log = logging.getLogger("bonus.sms")


def network_of(address: str | None) -> str | None:
    """The wider network an address (as `http.client_address` counts it: an IPv4 address or an
    IPv6 /64) belongs to: its IPv4 /24 or IPv6 /48. None when it is no IP address."""
    try:
        network = ipaddress.ip_network(address or "", strict=False)
    except ValueError:
        return None
    prefix = 24 if network.version == 4 else 48
    if network.prefixlen < prefix:
        return None
    return str(network.supernet(new_prefix=prefix))


def lock(session: Session, subject: str, now: datetime) -> None:
    """Serialise concurrent sends for one subject (a row lock; SQLite locks the file). Take
    them in one order everywhere: phone, address, network, then the budget."""
    insert_ignore(session, SmsThrottle.__table__, {"subject": subject, "touched_at": now})
    session.execute(select(SmsThrottle).where(SmsThrottle.subject == subject).with_for_update())


def full_until(
    session: Session, limit: int, now: datetime, purpose: str | None = None
) -> datetime | None:
    """When the last hour's SMS (of one purpose, or of all) drop below `limit` again; None when
    they are below it now. Call it holding `lock(BUDGET)`."""
    query = select(SmsSend.sent_at).where(SmsSend.sent_at > now - HOUR)
    if purpose is not None:
        query = query.where(SmsSend.purpose == purpose)
    oldest_that_counts = session.scalar(
        query.order_by(SmsSend.sent_at.desc()).offset(limit - 1).limit(1)
    )
    return None if oldest_that_counts is None else oldest_that_counts + HOUR


def check(session: Session, per_hour: int, purpose: str, now: datetime) -> None:
    """Take the budget's lock and refuse a code (BudgetSpent, logged, counted) if the hour's
    SMS have reached `per_hour`; the caller then records its send in the same transaction."""
    lock(session, BUDGET, now)
    until = full_until(session, per_hour, now)
    if until is None:
        return
    wait = max(1, math.ceil((until - now).total_seconds()))
    note_spent(purpose, per_hour, until)
    raise BudgetSpent(wait)


class BudgetSpent(Unavailable):
    """The hour's SMS budget is spent: no code until `retry_after` seconds have passed."""

    def __init__(self, retry_after: int):
        super().__init__(
            "The service has sent all the SMS it may send this hour; try again later.",
            facts={"retry_after": retry_after, "limit": "sms_budget"},
            retry_after=retry_after,
        )


def note_spent(purpose: str, per_hour: int, until: datetime) -> None:
    """The log line and the metric of an SMS not sent for the budget."""
    EXHAUSTED.labels(purpose).inc()
    log.warning(
        "SMS budget spent: %d SMS in the last hour (BONUS_SMS_PER_HOUR); a %s SMS is not "
        "sent; room again at %s",
        per_hour, purpose, until.isoformat(timespec="seconds"),
    )  # fmt: skip


def record(session: Session, phone: str, address: str, purpose: str, now: datetime) -> int:
    """Count one SMS (before it is sent: `take_back` if the provider refuses it)."""
    send = SmsSend(
        phone=phone, address=address, network=network_of(address), purpose=purpose, sent_at=now
    )
    session.add(send)
    session.flush()
    return send.id


def take_back(session: Session, send_id: int) -> None:
    """An SMS that did not go counts against nothing."""
    session.execute(delete(SmsSend).where(SmsSend.id == send_id))


def forget_sends(session: Session, before: datetime) -> int:
    """Delete the record of SMS sent before `before` (the limits read one day back at most)."""
    return session.execute(delete(SmsSend).where(SmsSend.sent_at < before)).rowcount


def sent_last_hour(session: Session, now: datetime) -> int:
    """Every SMS of the last hour (the figure /metrics shows beside the budget)."""
    return session.scalar(select(func.count()).where(SmsSend.sent_at > now - HOUR))
