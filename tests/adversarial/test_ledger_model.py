"""The ledger under random sequences of every verb, against the real service layer and database.

A hypothesis state machine registers guests, quotes, places, completes and cancels orders,
adjusts balances, lets the hold timer and the nightly expiry run and moves the clock, all through
bonus_service.services and scheduler.jobs on a real SQLite file or PostgreSQL. After every step
the database must agree with tests.support.ledger_model and keep the ledger's invariants.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

import rules
from bonus_service.db import Database
from bonus_service.errors import DomainError
from bonus_service.models import Guest, Zone
from bonus_service.problems import status_of
from bonus_service.services import adjustments, checkout, guests, operators
from bonus_service.settings import Settings
from rules.money import money
from scheduler.jobs import expire_balances
from tests.support.books import a_book
from tests.support.checkout import checkout_client, make_order
from tests.support.databases import fresh_database
from tests.support.guests import make_guest
from tests.support.ledger_checks import assert_ledger_invariants, figures
from tests.support.ledger_model import ZONE_MIN as NORTH_MIN
from tests.support.ledger_model import ShopModel
from tests.support.phones import new_phone

HOLD_TTL = timedelta(hours=24)
START = datetime(2025, 1, 15, 9, 0, tzinfo=UTC)
ACTOR = "model"
# the model is of the ledger: four-eyes review (tests/service/test_four_eyes.py) stays out of it
NO_REVIEW = Settings(adjustment_review_over=1_000_000, adjustment_daily_limit=1_000_000)
BOOK = rules.load_book()
SETTINGS = settings(
    max_examples=50,
    stateful_step_count=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
_orders = itertools.count(1)

# kopecks, up to 2 500.00: mostly whole bonuses, sometimes a part of one (refused)
amounts = st.integers(1, 2_500).map(lambda roubles: roubles * 100) | st.integers(1, 250_000)
# kopecks; 500.00 and 500.01 sit on both sides of the pickup threshold
totals = st.sampled_from([50_000, 50_001, 120_000, 3_000]) | st.integers(100, 200_000)
redeem_choices = st.sampled_from(["max", "some", "max", "none", "over"])


class LedgerMachine(RuleBasedStateMachine):
    """One shop on a fresh database; the model says what every answer and figure must be."""

    template: str = ""
    folder = None
    book: rules.ProgramBook = BOOK

    phones = Bundle("phones")  # registered guests
    strangers = Bundle("strangers")  # phones that were not registered (at first)
    orders = Bundle("orders")

    customers = st.one_of(phones, phones, phones, strangers)

    def __init__(self):
        super().__init__()
        self.db: Database = fresh_database(self.template, self.folder)
        self.model = ShopModel()
        self.now = START
        north_zone(self.db, self.now)
        with self.db.unit_of_work() as session:
            self.client_id = checkout_client(session, ACTOR)
            operators.create(session, ACTOR, "the model's password", self.now)  # signs adjustments
            session.commit()

    def teardown(self):
        self.db.dispose()

    def expect(self, status: int, verb) -> object:
        """Run `verb(session)` in a unit of work: commit on success, roll back on a refusal."""
        with self.db.unit_of_work() as session:
            try:
                result = verb(session)
            except DomainError as refusal:
                assert status_of(refusal) == status, f"{status_of(refusal)} {refusal.detail}"
                return None
            session.commit()
        assert status < 400, f"expected {status}, the service did it"
        return result

    @initialize(target=phones)
    def first_guest(self):
        return self.register_guest(credit=100_000)

    @initialize(target=strangers)
    def a_stranger(self):
        """A phone nobody registered: its orders are served with zero bonuses."""
        return new_phone()

    @rule(target=phones, credit=st.sampled_from([0, 30_000, 100_000]))
    def register_guest(self, credit):
        """A new guest, often credited at once (as an operator's welcome bonus would)."""
        phone = make_guest(self.db, self.now, by=ACTOR).phone
        assert self.model.register(phone, self.now) == 201, phone  # a fresh phone registers
        if credit:
            self.adjust(phone, credit, debit=False)
        return phone

    @rule(phone=phones | strangers)
    def register_again(self, phone):
        """409 for a guest; a stranger who registers after ordering earns nothing for it."""
        status = self.model.register(phone, self.now)
        self.expect(status, lambda s: guests.register(s, phone, self.now, by=ACTOR))

    @rule(phone=phones, amount=amounts, debit=st.booleans())
    def adjust(self, phone, amount, debit):
        amount = -amount if debit else amount
        status = self.model.adjust(phone, amount)
        why = "корректировка модели"
        self.expect(
            status,
            lambda s: adjustments.adjust(s, phone, money(amount), why, self.now, person=ACTOR,
                                         via=ACTOR, step=self.program.quantum,
                                         settings=NO_REVIEW),
        )

    @rule(phone=customers, channel=st.sampled_from(["pickup", "cafe", "delivery"]), total=totals)
    def quote(self, phone, channel, total):
        order = make_order(channel, total, lunch=False)
        with self.db.unit_of_work(write=False) as session:
            quoted = checkout.quote(session, self.program, phone, order, Decimal(0), self.now)
        expected = self.model.redeem_max(phone, channel, total, lunch=False)
        assert quoted.decision.redeem_max == money(expected)
        assert quoted.decision.accrual == money(self.model.accrual(phone, channel, total, 0))

    @rule(
        target=orders,
        phone=customers,
        channel=st.sampled_from(["pickup", "cafe", "delivery"]),
        total=totals,
        lunch=st.booleans(),
        choice=redeem_choices,
    )
    def place(self, phone, channel, total, lunch, choice):
        order_id, lunch = f"M-{next(_orders):06d}", lunch and channel == "cafe"
        redeem = pick_redeem(self.model.redeem_max(phone, channel, total, lunch), choice)
        status = self.model.place(
            order_id, phone, channel, total, lunch, redeem, self.now + HOLD_TTL, self.now
        )
        self.expect(
            status, lambda s: self._place(s, order_id, phone, channel, total, lunch, redeem)
        )
        return order_id

    @rule(
        target=orders,
        phone=phones,
        channel=st.sampled_from(["pickup", "cafe", "delivery"]),
        total=totals,
        choice=st.sampled_from(["max", "some"]),
    )
    def place_spending_bonuses(self, phone, channel, total, choice):
        """The common case worth hitting often: a guest pays part of the order with bonuses."""
        return self.place(phone, channel, total, lunch=False, choice=choice)

    @rule(target=orders, phone=phones, total=totals)
    def no_show(self, phone, total):
        """A pickup order paid partly with bonuses is never collected; the night passes."""
        order_id = self.place(phone, "pickup", total, lunch=False, choice="max")
        self.nights_pass(days=1)
        return order_id

    def _place(self, session, order_id, phone, channel, total, lunch, redeem):
        return checkout.place(
            session, self.program, client_id=self.client_id, order_id=order_id, phone=phone,
            order=make_order(channel, total, lunch), redeem=money(redeem), actor=ACTOR,
            now=self.now, hold_ttl=HOLD_TTL, consent=self._consent(session, phone),
            settings=NO_REVIEW, secret=b"the model's secret",
        )  # fmt: skip

    def _consent(self, session, phone) -> checkout.Consent:
        """The guest's own token, as the website sends it (none for an unknown phone)."""
        guest = guests.find(session, phone)
        if guest is None:
            return checkout.Consent()
        token = guests.issue_token(session, guest, self.now, HOLD_TTL, code_purpose="login")
        session.flush()
        return checkout.Consent(token=token)

    @rule(order_id=orders, phone=customers)
    def place_again(self, order_id, phone):
        """An id already used is 409 and moves nothing; a refused order's id is still free."""
        status = self.model.place(order_id, phone, "pickup", 10_000, False, 0, None, self.now)
        self.expect(status, lambda s: self._place(s, order_id, phone, "pickup", 10_000, False, 0))

    @rule(order_id=orders)
    def complete(self, order_id):
        status = self.model.complete(order_id, self.now)
        self.expect(
            status, lambda s: checkout.complete(s, self.client_id, order_id, ACTOR, self.now)
        )

    @rule(order_id=orders)
    def cancel(self, order_id):
        status = self.model.cancel(order_id, self.now)
        self.expect(status, lambda s: checkout.cancel(s, self.client_id, order_id, ACTOR, self.now))

    @rule()
    def hold_timer(self):
        self.model.release_stale(self.now)
        self.expect(200, lambda s: checkout.release_stale_holds(s, self.now))

    @rule()
    def nightly_expiry(self):
        wait = timedelta(hours=self.program.open_order_hours)
        self.model.expire(rules.idle_cutoff(self.program, self.now), self.now,
                          self.now - wait if self.program.open_orders == "wait" else None)
        expire_balances(self.db, self.book, self.now)

    @rule(hours=st.sampled_from([1, 6, 25]))
    def later(self, hours):
        self.now += timedelta(hours=hours)

    @rule(days=st.sampled_from([1, 2, 100, 370]))
    def nights_pass(self, days):
        """Days go by, and the scheduler's jobs run as they would each night."""
        self.now += timedelta(days=days)
        self.hold_timer()
        self.nightly_expiry()

    @property
    def program(self) -> rules.Program:
        return self.book.in_force(self.now)

    @invariant()
    def ledger_agrees_with_the_model(self):
        assert_ledger_invariants(self.db)
        balances = figures(self.db)
        for phone, guest in self.model.guests.items():
            assert balances[phone] == (guest.balance, guest.held), phone

    @invariant()
    def idle_since_agrees_with_the_model(self):
        """What the nightly expiry counts from: the last completed, not cancelled, order."""
        with self.db.unit_of_work(write=False) as session:
            stored = {g.phone: g.last_order_at or g.registered_at
                      for g in session.scalars(select(Guest))}  # fmt: skip
        for phone, guest in self.model.guests.items():
            assert stored[phone] == guest.last_activity, phone


def pick_redeem(redeem_max: int, choice: str) -> int:
    """Kopecks to ask for: nothing, part, all that is allowed, or a rouble too many."""
    return {
        "none": 0,
        "some": redeem_max // 200 * 100,
        "max": redeem_max,
        "over": redeem_max + 100,
    }[choice]


def north_zone(db: Database, now: datetime) -> None:
    """The delivery zone the machine's delivery orders go to (minimum order 500.00)."""
    with db.unit_of_work() as session:
        session.add(Zone(code="north", name="Север", min_order=NORTH_MIN, updated_at=now))
        session.commit()


@pytest.mark.slow
@pytest.mark.parametrize(
    "book", [BOOK, a_book(BOOK.in_force(START), open_orders="burn")], ids=["wait", "burn"]
)
def test_any_sequence_of_verbs_keeps_the_ledger_true_to_the_model(database_template, tmp_path,
                                                                   book):
    LedgerMachine.template, LedgerMachine.folder, LedgerMachine.book = (
        database_template, tmp_path, book)
    run_state_machine_as_test(LedgerMachine, settings=SETTINGS)
