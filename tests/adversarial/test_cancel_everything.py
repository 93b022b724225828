"""Orders that pay for each other, all cancelled in any order: the guest ends where they began.

A chain of pickup orders, each spending some of what the earlier ones earned, all completed and
then all cancelled in a random order, with no expiry in between: nothing stands, so nothing may
be minted or lost. A cancel takes back only what the guest still has and writes off the rest;
the later cancel that refunds the spend takes it back (checkout._recover_written_off). Found
when cancelling A, whose accrual paid for B, then B, left 31 bonuses from nowhere.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

import rules
from bonus_service.models import Guest
from bonus_service.services import checkout, guests
from bonus_service.settings import Settings
from rules.money import money
from tests.support.checkout import checkout_client, make_order
from tests.support.databases import fresh_database
from tests.support.guests import make_guest
from tests.support.ledger_checks import assert_ledger_invariants

START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
PROGRAM = rules.load_book().in_force(START)
PHONE = "+79120000777"


def _run(db, chain: list[tuple[int, int]], start: int, cancel_order: list[int]) -> int:
    """Place and complete each (total kopecks, percent of redeem_max to spend), then cancel
    them in `cancel_order`; the guest's final balance."""
    now = START
    guest = make_guest(db, now, balance=start, phone=PHONE)
    with db.unit_of_work() as session:
        client_id = checkout_client(session)
        # the guest's own token: consent to spend on every order of the chain
        token = guests.issue_token(session, guest, now, timedelta(days=1), code_purpose="login")
        session.commit()
    ids = []
    for n, (total, share) in enumerate(chain):
        now += timedelta(minutes=1)
        order = make_order("pickup", total, False)
        with db.unit_of_work() as session:
            quoted = checkout.quote(session, PROGRAM, PHONE, order, money(0), now)
            redeem = money(int(quoted.decision.redeem_max * share // 100) * 100)  # whole
            row, _ = checkout.place(
                session, PROGRAM, client_id=client_id, order_id=f"C-{n:03d}", phone=PHONE,
                order=order, redeem=redeem, actor="test", now=now, hold_ttl=timedelta(hours=24),
                consent=checkout.Consent(token=token), settings=Settings(), secret=b"test",
            )  # fmt: skip
            checkout.complete(session, client_id, row.id, "test", now)
            session.commit()
        ids.append(row.id)
    for index in cancel_order:
        now += timedelta(minutes=1)
        with db.unit_of_work() as session:
            checkout.cancel(session, client_id, ids[index], "test", now)
            session.commit()
    with db.unit_of_work(write=False) as session:
        guest = session.scalar(select(Guest).where(Guest.phone == PHONE))
        assert guest.held == 0
        return guest.balance


chains = st.lists(
    st.tuples(st.integers(10_000, 300_000), st.sampled_from([0, 50, 100])), min_size=2, max_size=5
)


@pytest.mark.slow
@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(chain=chains, start=st.sampled_from([0, 1_900, 50_000]), data=st.data())
def test_cancelling_every_order_in_any_order_returns_the_guest_to_the_start(
    database_template, tmp_path, chain, start, data
):
    order = data.draw(st.permutations(list(range(len(chain)))))
    db = fresh_database(database_template, tmp_path)
    try:
        assert _run(db, chain, start, order) == start
        assert_ledger_invariants(db)  # reconcile finds nothing, and more
    finally:
        db.dispose()
