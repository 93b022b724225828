"""When the jobs run: the one place that registers them with APScheduler.

    expiry          daily 03:00 BONUS_TIMEZONE   once per local day among all instances (lease)
    burn-warnings   daily 12:00 BONUS_TIMEZONE   once per local day among all instances (lease)
    hold-release    every 5 minutes              any instance (rows are claimed SKIP LOCKED)
    idempotency-purge  hourly                    any instance (a plain DELETE of old keys)
    login-failures-purge  hourly                 any instance (a plain DELETE of quiet counts)
    adjustments-lapse     hourly                 any instance (a conditional UPDATE per row)

Jobs coalesce (runs piled up while the process was stalled become one) and have a generous
misfire grace. The job store is in memory, so a restart forgets what it missed; registration
therefore sets each daily job's first run to its latest due time, and APScheduler runs it once
at start-up; the lease makes that a no-op when some instance already did that day's run. A run
is keyed by the local day of that due time, not of the moment it runs (a restart at 02:00
catches up yesterday's run and leaves today's to its hour), and the warnings, which text
guests, start only between 09:00 and 21:00 local: a night-time catch-up is left to noon.
"""

from __future__ import annotations

import atexit
import logging
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

import rules
import sms
from bonus_service.clock import utcnow
from bonus_service.db import Database
from bonus_service.settings import Settings
from scheduler import jobs
from scheduler.lease import Lease, LeaseLost, claim, held_until

Clock = Callable[[], datetime]

DAY_SECONDS = 24 * 3600
HOLDS_EVERY = timedelta(minutes=5)
RETRY_AFTER = timedelta(minutes=15)  # a failed daily run, or one held by a vanished instance
SMS_HOURS = (9, 21)  # local hours in which the burn warnings may be sent

logger = logging.getLogger("scheduler")


class App(Protocol):
    """What the schedule takes the jobs' parts from: the app's registry of them (`extensions`:
    the database, the settings, the program shelf, the SMS sender), which the composition root
    fills. Read as plain data, so the jobs import nothing of the web."""

    extensions: dict


def _settings(app: App) -> Settings:
    return app.extensions["bonus_settings"]


def _db(app: App) -> Database:
    return app.extensions["bonus_db"]


def _book(app: App) -> rules.ProgramBook:
    """The program book as published now (the shelf re-reads the database when stale)."""
    return app.extensions["bonus_programs"].book()


def _sender(app: App) -> sms.SmsSender:
    return app.extensions["bonus_sms"]


@dataclass
class DailyRun:
    """A job done once per local day: claims the day's lease, runs, and closes the lease."""

    app: App
    name: str
    work: Callable[[App, datetime, Lease, Clock], dict]
    clock: Clock
    scheduler: BaseScheduler | None = field(default=None, repr=False)
    # the local day of the trigger's latest fire time keys the run: a catch-up after a restart
    # at 02:00 is yesterday's run, not today's (which then still runs at its own time)
    trigger: BaseTrigger | None = None
    # local hours [from, to) a run may start in; outside them it is left to the next run
    hours: tuple[int, int] | None = None

    def __call__(self) -> dict | None:
        try:
            return self._run()
        except Exception:  # the database was away, or the job failed: try again later
            self._retry(self.clock() + RETRY_AFTER)
            raise

    def _run(self) -> dict | None:
        now = self.clock()
        tz = _settings(self.app).tz
        if self.hours and not self.hours[0] <= now.astimezone(tz).hour < self.hours[1]:
            logger.info("%s: not run at %s, outside %02d:00-%02d:00; the next run covers it",
                        self.name, now.astimezone(tz).strftime("%H:%M"), *self.hours)  # fmt: skip
            return None
        due = latest_due(self.trigger, now) if self.trigger is not None else now
        run_key = due.astimezone(tz).date().isoformat()
        db = _db(self.app)
        lease = claim(db, self.name, run_key, now)
        if lease is None:
            until = held_until(db, self.name, run_key)
            logger.info("%s %s: %s", self.name, run_key, "held elsewhere" if until else "done")
            if until is not None:
                self._retry(max(until, now) + timedelta(seconds=1))
            return None
        try:
            figures = self.work(self.app, now, lease, self.clock)
        except LeaseLost:
            logger.warning("%s %s: lease taken over by another instance", self.name, run_key)
            return None
        except Exception:
            self._give_up(lease)
            raise
        lease.finish(self.clock(), figures)
        logger.info("%s %s: %s", self.name, run_key, figures)
        return figures

    def _give_up(self, lease: Lease) -> None:
        """Release the lease so the retry need not wait for it to lapse (if we can reach it)."""
        try:
            lease.release(self.clock())
        except Exception:
            logger.exception("%s: could not release the lease; it will lapse", self.name)

    def _retry(self, when: datetime) -> None:
        if self.scheduler is not None:
            self.scheduler.add_job(
                self, "date", run_date=when, id=f"{self.name}-retry", replace_existing=True,
                coalesce=True, misfire_grace_time=DAY_SECONDS,
            )  # fmt: skip


@dataclass(frozen=True)
class PeriodicJob:
    id: str
    trigger: BaseTrigger
    run: Callable[[], object]
    grace_seconds: int
    catch_up: bool  # run at start-up if its latest due time passed while we were down


def periodic_jobs(app: App, clock: Clock = utcnow) -> list[PeriodicJob]:
    """Every periodic job of the service with its schedule."""
    tz = _settings(app).tz

    def hourly(job_id: str, run: Callable[[], object]) -> PeriodicJob:
        """A housekeeping job: any instance, every hour, no catch-up (the next hour does it)."""
        return PeriodicJob(job_id, IntervalTrigger(hours=1, timezone=tz), run, 3600,
                           catch_up=False)  # fmt: skip

    nightly = CronTrigger(hour=3, minute=0, timezone=tz)
    noon = CronTrigger(hour=12, minute=0, timezone=tz)
    return [
        PeriodicJob(
            "expiry",
            nightly,
            DailyRun(app, "expiry", nightly_expiry, clock, trigger=nightly),
            DAY_SECONDS,
            catch_up=True,
        ),
        PeriodicJob(
            "burn-warnings",
            noon,
            # texts go out in the day only: a catch-up after a night-time restart waits for
            # the next noon (a guest is warned once per burn date, so nobody is texted twice)
            DailyRun(app, "burn-warnings", daily_burn_warnings, clock, trigger=noon,
                     hours=SMS_HOURS),
            DAY_SECONDS,
            catch_up=True,
        ),
        PeriodicJob(
            "hold-release",
            IntervalTrigger(seconds=int(HOLDS_EVERY.total_seconds()), timezone=tz),
            lambda: jobs.release_holds(_db(app), clock()),
            int(HOLDS_EVERY.total_seconds()),
            catch_up=False,
        ),
        hourly("idempotency-purge", lambda: jobs.purge_idempotency_keys(
            _db(app), clock(), keep=timedelta(hours=_settings(app).idempotency_ttl_hours))),
        hourly("login-failures-purge", lambda: jobs.forget_login_failures(_db(app), clock())),
        hourly("sms-sends-purge", lambda: jobs.forget_sms_sends(
            _db(app), clock(), keep=timedelta(days=_settings(app).sms_sends_keep_days))),
        hourly("adjustments-lapse", lambda: jobs.lapse_adjustments(_db(app), clock())),
    ]


def register(scheduler: BaseScheduler, app: App, *, clock: Clock = utcnow) -> None:
    """Add every periodic job to `scheduler` (coalesced, with its misfire grace)."""
    now = clock()
    for job in periodic_jobs(app, clock):
        if isinstance(job.run, DailyRun):
            job.run.scheduler = scheduler
        first = {"next_run_time": latest_due(job.trigger, now)} if job.catch_up else {}
        scheduler.add_job(
            job.run,
            job.trigger,
            id=job.id,
            name=job.id,
            coalesce=True,
            misfire_grace_time=job.grace_seconds,
            max_instances=1,
            replace_existing=True,
            **first,
        )


def latest_due(trigger: BaseTrigger, now: datetime) -> datetime:
    """The trigger's last fire time in the day up to `now`, `now` included (or its next one if
    none): at 03:00 sharp that is today's 03:00, not yesterday's."""
    return trigger.get_next_fire_time(None, now - timedelta(days=1) + timedelta(microseconds=1))


def start_background(app: App) -> BackgroundScheduler:
    """The in-process scheduler of a web worker (BONUS_SCHEDULER=true)."""
    scheduler = BackgroundScheduler(timezone=_settings(app).tz)
    register(scheduler, app)
    scheduler.start()
    atexit.register(lambda: scheduler.running and scheduler.shutdown(wait=False))
    return scheduler


def run_blocking(app: App) -> None:
    """A scheduler process of its own (`flask --app wsgi bonus scheduler`); returns on a signal."""
    scheduler = BlockingScheduler(timezone=_settings(app).tz)
    register(scheduler, app)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop like Ctrl-C does
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        if scheduler.running:
            scheduler.shutdown(wait=True)


def nightly_expiry(app: App, now: datetime, lease: Lease, clock: Clock) -> dict:
    report = jobs.expire_balances(
        _db(app), _book(app), now, on_batch=lambda _batch: lease.renew(clock())
    )
    return {
        "guests": report.guests,
        "kopecks": report.kopecks,
        "cutoff": report.cutoff.isoformat(),
        "rules_version": report.rules_version,
    }


def daily_burn_warnings(app: App, now: datetime, lease: Lease, clock: Clock) -> dict:
    settings = _settings(app)
    report = jobs.send_burn_warnings(_db(app), _book(app), _sender(app), now,
                                     days_before=settings.burn_warning_days,
                                     sms_per_hour=settings.sms_per_hour)  # fmt: skip
    return {"sent": report.sent, "failed": report.failed, "stopped_early": report.stopped_early,
            "postponed": report.postponed}  # fmt: skip
