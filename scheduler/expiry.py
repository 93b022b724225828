"""The nightly expiry: an idle guest's available balance burns, one batch per transaction.

Idle means no completed order for `idle_months` calendar months, counted from the last one (or
from registration): exactly the guests with last activity before rules.idle_cutoff(program, now),
which is the arithmetic /v1/me shows as burns_at. Only `balance - held` burns: bonuses held by an
open order stay with it (spent at completion, or released by the hold timer and burned by a
later run if the guest is still idle). Under the program's `expiry.open_orders: "wait"` (the
default) a guest with an order still `placed`, placed within `expiry.open_order_hours` (24),
is not burned at all: the order may complete after the run, and the warning SMS asked for
nothing more than an order; an order left open longer protects nothing.

This module decides who is idle and drives the batches, one transaction each; the ledger
writes them (`bonus_service.ledger.burn`: set-based, conditional on the guest still being idle
with something to burn, so a run racing an order, another run, or a crash burns each balance
once, and each burn is one `expiry` entry whose amount is exactly the balance change).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial

import rules
from bonus_service.db import Database
from bonus_service.ledger import burn
from bonus_service.ledger.burn import Batch
from bonus_service.services.reasons import bonuses, reason
from rules.money import money

ACTOR = "expiry-job"
DEFAULT_BATCH_SIZE = 5000


@dataclass(frozen=True)
class ExpiryReport:
    """What a run burned (or, dry, would burn): balances and kopecks."""

    guests: int
    kopecks: int
    cutoff: datetime | None = None
    rules_version: str | None = None
    dry_run: bool = False

    @property
    def bonuses(self) -> Decimal:
        return money(self.kopecks)


def expire_balances(
    db: Database,
    book: rules.ProgramBook,
    now: datetime,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    dry_run: bool = False,
    on_batch: Callable[[Batch], None] | None = None,
    written_at: datetime | None = None,
) -> ExpiryReport:
    """Burn every idle available balance as of `now` under the program then in force.

    `on_batch` is called after each committed batch (the lease's heartbeat); if it raises, the
    run stops there with every earlier batch kept, and a rerun finishes the rest. `written_at`
    dates the entries when it differs from `now` (`bonus expire --as-of` a past moment: the
    burn is written today, and an entry dated back would sit before credits it burned).
    """
    program = book.in_force(now)
    open_since = (now - timedelta(hours=program.open_order_hours)
                  if program.open_orders == "wait" else None)  # fmt: skip
    terms = burn.Terms(
        cutoff=rules.idle_cutoff(program, now),
        open_since=open_since,
        written_at=written_at or now,
        rules_version=program.version,
        actor=ACTOR,
        reason=partial(reason_sql, months=program.idle_months),
    )
    if dry_run:
        with db.unit_of_work(write=False) as session:
            guests, kopecks = burn.burnable(session, terms)
        return ExpiryReport(guests, kopecks, terms.cutoff, terms.rules_version, dry_run=True)
    after, guests, kopecks = 0, 0, 0
    while True:
        with db.unit_of_work() as session:
            batch = burn.burn_batch(session, terms, after, batch_size)
            session.commit()
        if batch is None:
            return ExpiryReport(guests, kopecks, terms.cutoff, terms.rules_version)
        after, guests, kopecks = batch.last_id, guests + batch.guests, kopecks + batch.kopecks
        if on_batch is not None:
            on_batch(batch)


def reason_sql(kopecks: str, months: int) -> tuple[str, dict]:
    """services.reasons.reason("expiry", ...) as an SQL expression of a kopecks column.

    The words come from the Python text itself, so the two cannot drift apart silently; a test
    compares them over many amounts on both databases.
    """
    probe, one = Decimal(5), Decimal(1)  # the verb agrees: «Сгорело 5 бонусов», «Сгорел 1 бонус»
    prefix, found, suffix = reason("expiry", None, probe, months=months).partition(bonuses(probe))
    prefix_1, found_1, _ = reason("expiry", None, one, months=months).partition(bonuses(one))
    assert found and found_1, "the expiry reason no longer shows the amount as bonuses()"
    words = {f"w_{n}": bonuses(Decimal(n)).partition(" ")[2] for n in (1, 2, 5)}
    whole = f"CAST({kopecks} / 100 AS TEXT)"
    n = f"({kopecks} / 100)"
    fraction = (
        f"{whole} || ',' || CASE WHEN {kopecks} % 100 < 10 THEN '0' ELSE '' END "
        f"|| CAST({kopecks} % 100 AS TEXT) || ' ' || CAST(:w_2 AS TEXT)"
    )
    expression = (
        f"CASE"
        f" WHEN {kopecks} % 100 <> 0 THEN CAST(:r_prefix AS TEXT) || {fraction}"
        f" WHEN {n} % 10 = 1 AND {n} % 100 <> 11"
        f" THEN CAST(:r_prefix_1 AS TEXT) || {whole} || ' ' || CAST(:w_1 AS TEXT)"
        f" WHEN {n} % 10 BETWEEN 2 AND 4 AND {n} % 100 NOT BETWEEN 12 AND 14"
        f" THEN CAST(:r_prefix AS TEXT) || {whole} || ' ' || CAST(:w_2 AS TEXT)"
        f" ELSE CAST(:r_prefix AS TEXT) || {whole} || ' ' || CAST(:w_5 AS TEXT)"
        f" END || CAST(:r_suffix AS TEXT)"
    )
    return expression, {"r_prefix": prefix, "r_prefix_1": prefix_1, "r_suffix": suffix, **words}
