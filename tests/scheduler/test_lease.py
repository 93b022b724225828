"""The job_runs lease: one instance runs a given day's job; a dead holder's run is taken over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bonus_service.models import JobRun
from scheduler.lease import LeaseLost, claim, held_until
from scheduler.schedule import DailyRun, nightly_expiry
from tests.support.concurrency import run_in_threads
from tests.support.ledger_checks import assert_ledger_reconciles, expiry_entries
from tests.support.moments import MOSCOW

T0 = datetime(2025, 3, 16, 0, 0, tzinfo=UTC)
TTL = timedelta(minutes=10)


def runs(db) -> list[JobRun]:
    with db.unit_of_work(write=False) as session:
        return list(session.scalars(select(JobRun).order_by(JobRun.id)))


def test_a_run_held_by_one_instance_is_refused_to_another(db):
    assert claim(db, "expiry", "2025-03-16", T0, owner="a") is not None
    assert claim(db, "expiry", "2025-03-16", T0 + timedelta(minutes=5), owner="b") is None
    assert held_until(db, "expiry", "2025-03-16") == T0 + TTL


def test_another_day_is_another_run(db):
    assert claim(db, "expiry", "2025-03-16", T0, owner="a") is not None
    assert claim(db, "expiry", "2025-03-17", T0, owner="b") is not None


def test_a_finished_run_is_never_claimed_again(db):
    lease = claim(db, "expiry", "2025-03-16", T0, owner="a")
    lease.finish(T0 + timedelta(minutes=1), {"guests": 3})
    assert claim(db, "expiry", "2025-03-16", T0 + timedelta(days=1), owner="b") is None
    assert held_until(db, "expiry", "2025-03-16") is None
    [run] = runs(db)
    assert (run.owner, run.figures) == ("a", {"guests": 3})
    assert run.finished_at == T0 + timedelta(minutes=1)


def test_a_lapsed_lease_is_taken_over_and_its_old_holder_stops(db):
    old = claim(db, "expiry", "2025-03-16", T0, owner="a")
    new = claim(db, "expiry", "2025-03-16", T0 + TTL + timedelta(seconds=1), owner="b")
    assert new is not None
    with pytest.raises(LeaseLost):
        old.renew(T0 + TTL + timedelta(seconds=2))
    with pytest.raises(LeaseLost):
        old.finish(T0 + TTL + timedelta(seconds=2), {})
    new.finish(T0 + TTL + timedelta(minutes=1), {"guests": 1})
    [run] = runs(db)
    assert (run.owner, run.attempts) == ("b", 2)


def test_renewing_keeps_the_run_from_being_taken_over(db):
    lease = claim(db, "expiry", "2025-03-16", T0, owner="a")
    lease.renew(T0 + timedelta(minutes=9))
    assert claim(db, "expiry", "2025-03-16", T0 + timedelta(minutes=12), owner="b") is None


def test_a_released_run_may_be_taken_over_at_once(db):
    claim(db, "expiry", "2025-03-16", T0, owner="a").release(T0 + timedelta(minutes=1))
    assert claim(db, "expiry", "2025-03-16", T0 + timedelta(minutes=2), owner="b") is not None


def test_of_eight_instances_claiming_at_once_exactly_one_wins(db):
    leases = run_in_threads(8, lambda: claim(db, "expiry", "2025-03-16", T0))
    assert sum(lease is not None for lease in leases) == 1
    assert len(runs(db)) == 1


def nightly(app, at: datetime) -> DailyRun:
    return DailyRun(app, "expiry", nightly_expiry, clock=lambda: at)


def test_two_instances_running_the_nightly_expiry_burn_each_balance_once(app, db, make_guest):
    guests = [make_guest(datetime(2023, 1, 10, tzinfo=MOSCOW), balance=12_000) for _ in range(5)]
    night = datetime(2025, 3, 16, 3, 0, tzinfo=MOSCOW)
    figures = run_in_threads(2, lambda: nightly(app, night)())
    assert sorted(figures, key=bool)[0] is None
    assert sorted(figures, key=bool)[1]["guests"] == 5
    assert sorted(e.guest_id for e in expiry_entries(db)) == [g.id for g in guests]
    assert nightly(app, night + timedelta(hours=9))() is None  # that day is done
    [run] = runs(db)
    assert (run.run_key, run.figures["kopecks"]) == ("2025-03-16", 5 * 12_000)


def test_a_nightly_run_that_failed_is_finished_by_the_next_attempt(app, db, make_guest):
    guests = [make_guest(datetime(2023, 1, 10, tzinfo=MOSCOW), balance=12_000) for _ in range(5)]
    night = datetime(2025, 3, 16, 3, 0, tzinfo=MOSCOW)
    calls = []

    def failing(app, now, lease, clock):
        from scheduler.jobs import expire_balances

        def crash(_batch):
            calls.append(_batch)
            raise RuntimeError("database went away")

        expire_balances(app.extensions["bonus_db"], app.extensions["bonus_rules"], now,
                        batch_size=2, on_batch=crash)  # fmt: skip

    with pytest.raises(RuntimeError):
        DailyRun(app, "expiry", failing, clock=lambda: night)()
    assert len(expiry_entries(db)) == 2
    figures = nightly(app, night + timedelta(minutes=1))()
    assert figures["guests"] == 3
    assert sorted(e.guest_id for e in expiry_entries(db)) == [g.id for g in guests]
    assert_ledger_reconciles(db)


def test_a_failed_nightly_run_is_retried_a_quarter_of_an_hour_later(app):
    from apscheduler.schedulers.background import BackgroundScheduler

    def failing(app, now, lease, clock):
        raise RuntimeError("database went away")

    scheduler = BackgroundScheduler(timezone="UTC")
    run = DailyRun(app, "expiry", failing, clock=lambda: T0, scheduler=scheduler)
    with pytest.raises(RuntimeError):
        run()
    retry = scheduler.get_job("expiry-retry")
    assert retry.trigger.run_date == T0 + timedelta(minutes=15)


def test_a_run_held_by_another_instance_is_retried_when_its_lease_lapses(app, db):
    from apscheduler.schedulers.background import BackgroundScheduler

    night = datetime(2025, 3, 16, 3, 0, tzinfo=MOSCOW)
    claim(db, "expiry", "2025-03-16", night, owner="another instance")
    scheduler = BackgroundScheduler(timezone="UTC")
    assert DailyRun(app, "expiry", nightly_expiry, lambda: night, scheduler)() is None
    retry = scheduler.get_job("expiry-retry")
    assert retry.trigger.run_date == night + TTL + timedelta(seconds=1)
