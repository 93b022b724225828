"""Answered Idempotency-Keys are forgotten after their retention, never before 24 hours; quiet
console login failure counts after a day."""

from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from bonus_service.app_db import get_db
from bonus_service.clock import utcnow
from bonus_service.models import IdempotencyRecord, LoginThrottle
from scheduler.jobs import forget_login_failures, purge_idempotency_keys
from tests.support.shop import pickup


def _keys(app) -> int:
    with get_db(app).unit_of_work(write=False) as session:
        return session.scalar(select(func.count()).select_from(IdempotencyRecord))


def test_keys_older_than_the_retention_are_purged_and_younger_kept(app, shop):
    phone, _ = shop.guest()
    start = utcnow()
    with freeze_time(start):
        shop.place(phone, pickup("100.00"), key="old")
    with freeze_time(start + timedelta(hours=47)):
        shop.place(phone, pickup("100.00"), key="young")
    before = _keys(app)  # the zones set up by `shop`, "old" and "young"
    purged = purge_idempotency_keys(
        get_db(app), start + timedelta(hours=48, seconds=1), keep=timedelta(hours=48)
    )
    assert purged == before - 1
    with get_db(app).unit_of_work(write=False) as session:
        assert session.scalars(select(IdempotencyRecord.key)).all() == ["young"]


def test_a_retention_under_a_day_is_refused(app):
    with pytest.raises(ValueError, match="24 hours"):
        purge_idempotency_keys(get_db(app), utcnow(), keep=timedelta(hours=23))


def test_quiet_login_failure_counts_are_forgotten_and_running_locks_kept(app):
    start = utcnow()
    with get_db(app).unit_of_work() as session:
        session.add_all([
            LoginThrottle(key="quiet", failures=3, last_failure_at=start - timedelta(days=2)),
            LoginThrottle(key="recent", failures=3, last_failure_at=start - timedelta(hours=20)),
            LoginThrottle(key="locked", failures=20, last_failure_at=start - timedelta(days=2),
                          locked_until=start + timedelta(minutes=5)),
            LoginThrottle(key="lock over", failures=5, last_failure_at=start - timedelta(days=2),
                          locked_until=start - timedelta(days=2) + timedelta(minutes=15)),
        ])  # fmt: skip
        session.commit()
    assert forget_login_failures(get_db(app), start) == 2
    with get_db(app).unit_of_work(write=False) as session:
        assert sorted(session.scalars(select(LoginThrottle.key))) == ["locked", "recent"]
