"""Answered Idempotency-Keys are forgotten after their retention, never before 24 hours; quiet
console login failure counts after a day; the record of SMS sent after its retention, never
before the day the SMS limits read back."""

from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from bonus_service.app_db import get_db
from bonus_service.clock import utcnow
from bonus_service.models import IdempotencyRecord, LoginThrottle, SmsSend
from bonus_service.services import sms_budget
from scheduler.jobs import forget_login_failures, forget_sms_sends, purge_idempotency_keys
from scheduler.schedule import periodic_jobs
from tests.support.shop import pickup


@pytest.fixture
def settings_overrides(request) -> dict:
    return getattr(request, "param", {})


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


def _sends(app) -> list[str]:
    with get_db(app).unit_of_work(write=False) as session:
        return sorted(session.scalars(select(SmsSend.phone)))


def test_the_record_of_sms_sent_is_forgotten_after_its_retention(app):
    start = utcnow()
    with get_db(app).unit_of_work() as session:
        for phone, age in [("+79990000001", timedelta(days=31)),
                           ("+79990000002", timedelta(days=29)),
                           ("+79990000003", timedelta(hours=1))]:  # fmt: skip
            sms_budget.record(session, phone, "203.0.113.7", "login", start - age)
        session.commit()
    assert forget_sms_sends(get_db(app), start, keep=timedelta(days=30)) == 1
    assert _sends(app) == ["+79990000002", "+79990000003"]


@pytest.mark.parametrize("settings_overrides", [{"sms_sends_keep_days": 2}], indirect=True)
def test_the_hourly_job_keeps_the_configured_days(app):
    start = utcnow()
    with get_db(app).unit_of_work() as session:
        for phone, age in [("+79990000004", timedelta(days=3)),
                           ("+79990000005", timedelta(days=1))]:  # fmt: skip
            sms_budget.record(session, phone, "203.0.113.7", "login", start - age)
        session.commit()
    job = {job.id: job for job in periodic_jobs(app, clock=lambda: start)}["sms-sends-purge"]
    assert job.run() == 1
    assert _sends(app) == ["+79990000005"]


def test_a_retention_shorter_than_the_limits_window_is_refused(app):
    with pytest.raises(ValueError, match="at least 1 day"):
        forget_sms_sends(get_db(app), utcnow(), keep=timedelta(hours=23))
