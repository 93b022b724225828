"""The schedule: when each job fires, that missed runs coalesce into one, and the
scheduler processes that run them."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select

from bonus_service.clock import utcnow
from bonus_service.models import JobRun
from scheduler.schedule import latest_due, periodic_jobs, register
from tests.support.guests import fetch
from tests.support.ledger_checks import assert_ledger_reconciles, expiry_entries

ROOT = Path(__file__).resolve().parents[2]
DAY = 24 * 3600


def registered(app, clock=utcnow) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC")
    register(scheduler, app, clock=clock)
    return scheduler


def test_every_job_is_coalesced_with_a_generous_misfire_grace(app):
    jobs = {job.id: job for job in registered(app).get_jobs()}
    assert set(jobs) == {
        "expiry", "burn-warnings", "hold-release", "idempotency-purge", "login-failures-purge",
        "sms-sends-purge", "adjustments-lapse",
    }  # fmt: skip
    for job in jobs.values():
        assert job.coalesce is True
        assert job.max_instances == 1
    assert jobs["expiry"].misfire_grace_time == DAY
    assert jobs["burn-warnings"].misfire_grace_time == DAY
    assert jobs["hold-release"].misfire_grace_time == 300


def fields_of(trigger: CronTrigger) -> dict[str, str]:
    return {f.name: str(f) for f in trigger.fields if not f.is_default}


def test_the_expiry_fires_at_three_and_the_warnings_at_noon_in_moscow_by_default(app):
    triggers = {job.id: job.trigger for job in periodic_jobs(app)}
    assert fields_of(triggers["expiry"]) == {"hour": "3", "minute": "0"}
    assert fields_of(triggers["burn-warnings"]) == {"hour": "12", "minute": "0"}
    assert str(triggers["expiry"].timezone) == "Europe/Moscow"
    after = datetime(2025, 3, 15, 12, 0, tzinfo=UTC)
    assert triggers["expiry"].get_next_fire_time(None, after) == datetime(
        2025, 3, 16, 0, 0, tzinfo=UTC)  # fmt: skip
    assert triggers["hold-release"].interval == timedelta(minutes=5)


@pytest.fixture
def settings_overrides(request) -> dict:
    return getattr(request, "param", {})


@pytest.mark.parametrize("settings_overrides", [{"timezone": "Asia/Vladivostok"}], indirect=True)
def test_bonus_timezone_moves_the_nightly_run_to_that_zones_three_oclock(app):
    expiry = {job.id: job for job in periodic_jobs(app)}["expiry"]
    after = datetime(2025, 3, 15, 12, 0, tzinfo=UTC)
    assert expiry.trigger.get_next_fire_time(None, after) == datetime(
        2025, 3, 15, 17, 0, tzinfo=UTC)  # fmt: skip


def test_a_daily_job_starts_from_its_latest_due_time(app):
    expiry = {job.id: job for job in periodic_jobs(app)}["expiry"]
    noon = datetime(2025, 3, 16, 9, 0, tzinfo=UTC)  # 12:00 in Moscow
    assert latest_due(expiry.trigger, noon) == datetime(2025, 3, 16, 0, 0, tzinfo=UTC)
    at_two = datetime(2025, 3, 15, 23, 0, tzinfo=UTC)  # 02:00 in Moscow: yesterday's run
    assert latest_due(expiry.trigger, at_two) == datetime(2025, 3, 15, 0, 0, tzinfo=UTC)


class Events:
    """Scheduler events per job id, and a way to wait for them."""

    def __init__(self, scheduler):
        self.seen: list[tuple[str, int]] = []
        self.changed = threading.Condition()
        scheduler.add_listener(self._on, EVENT_JOB_EXECUTED | EVENT_JOB_MISSED | EVENT_JOB_ERROR)

    def _on(self, event) -> None:
        with self.changed:
            self.seen.append((event.job_id, event.code))
            self.changed.notify_all()

    def wait_for(self, job_id: str, within: float = 20) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: any(j == job_id for j, _ in self.seen), within)

    def of(self, job_id: str) -> list[int]:
        return [code for j, code in self.seen if j == job_id]


def test_nights_missed_while_the_service_was_down_run_once_when_it_comes_back(app, db, make_guest):
    idle = make_guest(utcnow() - timedelta(days=800), balance=5_000)
    three_days_ago = utcnow() - timedelta(days=3)
    # registered as if the scheduler had stopped three days ago: three 03:00 runs are overdue
    scheduler = registered(app, clock=lambda: three_days_ago)
    expiry = scheduler.get_job("expiry")
    overdue = expiry._get_run_times(utcnow())
    assert len(overdue) >= 3
    events = Events(scheduler)
    scheduler.start()
    try:
        events.wait_for("expiry")
        events.wait_for("burn-warnings")
        time.sleep(0.5)  # would a second, uncoalesced run follow?
    finally:
        scheduler.shutdown()
    assert events.of("expiry") == [EVENT_JOB_EXECUTED]
    assert fetch(db, idle.id).balance == 0
    assert len(expiry_entries(db, idle.id)) == 1
    assert_ledger_reconciles(db)


def test_a_job_whose_next_fire_time_passed_long_ago_runs_once_not_once_per_miss(app):
    calls = []
    scheduler = BackgroundScheduler(timezone="UTC")
    events = Events(scheduler)
    scheduler.add_job(
        lambda: calls.append(utcnow()), CronTrigger(hour=3, timezone="Europe/Moscow"),
        id="nightly", coalesce=True, misfire_grace_time=DAY,
        next_run_time=latest_due(CronTrigger(hour=3, timezone="Europe/Moscow"),
                                 utcnow() - timedelta(days=5)),
    )  # fmt: skip
    scheduler.start()
    try:
        events.wait_for("nightly")
        time.sleep(0.3)
    finally:
        scheduler.shutdown()
    assert len(calls) == 1
    assert events.of("nightly") == [EVENT_JOB_EXECUTED]


def scheduler_environment(database_url: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("BONUS_")}
    environ.update(BONUS_DATABASE_URL=database_url, BONUS_SECRET_KEY="test-secret-0123456789",
                   BONUS_SMS_BACKEND="console", PYTHONUNBUFFERED="1")  # fmt: skip
    return environ


@pytest.mark.slow
def test_the_standalone_scheduler_process_catches_up_and_stops_on_sigterm(app, db, make_guest):
    idle = make_guest(utcnow() - timedelta(days=800), balance=5_000)
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "flask"), "--app", "wsgi", "bonus", "scheduler"],
        cwd=ROOT, env=scheduler_environment(db.url),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "expiry" not in finished_runs(db):
            assert process.poll() is None, process.communicate()[0].decode()
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0].decode()
    assert "expiry" in finished_runs(db), output
    assert process.returncode == 0, output
    assert fetch(db, idle.id).balance == 0


def finished_runs(db) -> set[str]:
    with db.unit_of_work(write=False) as session:
        return set(session.scalars(select(JobRun.name).where(JobRun.finished_at.is_not(None))))


def daily(app, name: str, at: datetime):
    """The registered DailyRun of job `name`, with its clock stopped at `at`."""
    return {job.id: job for job in periodic_jobs(app, clock=lambda: at)}[name].run


def run_keys(db, name: str) -> list[str]:
    with db.unit_of_work(write=False) as session:
        return sorted(session.scalars(select(JobRun.run_key).where(JobRun.name == name)))


def test_a_catch_up_after_a_restart_at_night_is_yesterdays_run_and_todays_still_runs(app, db):
    """A restart at 02:00 Moscow runs the 03:00 expiry it missed yesterday under yesterday's
    key; today's 03:00 run is then still to do (it was skipped as "done" when the key was the
    day the catch-up happened to run on)."""
    at_two = datetime(2025, 3, 15, 23, 0, tzinfo=UTC)  # 16 March, 02:00 in Moscow
    assert daily(app, "expiry", at_two)() is not None
    assert run_keys(db, "expiry") == ["2025-03-15"]
    at_three = datetime(2025, 3, 16, 0, 0, tzinfo=UTC)  # 16 March, 03:00 in Moscow
    assert daily(app, "expiry", at_three)() is not None
    assert run_keys(db, "expiry") == ["2025-03-15", "2025-03-16"]
    assert daily(app, "expiry", at_three + timedelta(hours=1))() is None  # done for the day


def test_burn_warnings_are_not_texted_at_night_even_to_catch_up(app, db, make_guest, caplog):
    """The warnings' catch-up after a restart at 01:49 waited for nothing and texted guests
    at night; now the run is left to noon, which warns the same guests (once each)."""
    make_guest(datetime(2024, 3, 18, 12, 0, tzinfo=UTC), balance=5_000)  # burns on 19 March
    night = datetime(2025, 3, 15, 22, 49, tzinfo=UTC)  # 16 March, 01:49 in Moscow
    with caplog.at_level(logging.INFO, logger="scheduler"):
        assert daily(app, "burn-warnings", night)() is None
    assert run_keys(db, "burn-warnings") == []
    assert "outside 09:00-21:00" in caplog.text
    noon = datetime(2025, 3, 16, 9, 0, tzinfo=UTC)  # 16 March, 12:00 in Moscow
    assert daily(app, "burn-warnings", noon)() == {"sent": 1, "failed": 0, "stopped_early": False,
                                                   "postponed": False}
    assert run_keys(db, "burn-warnings") == ["2025-03-16"]


def test_the_scheduler_process_refuses_a_database_it_cannot_run_on(tmp_path):
    """It said «scheduler running» and logged a traceback per job: against a database that
    does not answer, or one not migrated, it now stops at once saying why (runbook audit)."""
    from bonus_service.app import create_app

    def started(url):
        app = create_app({"database_url": url, "secret_key": "s" * 16, "scheduler_enabled": False})
        return app.test_cli_runner().invoke(args=["bonus", "scheduler"])

    unmigrated = started(f"sqlite:///{tmp_path}/empty.db")
    assert unmigrated.exit_code == 1
    assert "no revision, behind this release's" in unmigrated.output
    unreachable = started(f"sqlite:///{tmp_path}/no/such/dir/x.db")
    assert unreachable.exit_code == 3 and "the database failed" in unreachable.output
