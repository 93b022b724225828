"""Prometheus metrics: requests and latency per route, and the ledger's figures at scrape time.

Request counts and latencies are counted in the process that served the request. Under gunicorn
with several workers a scrape reaches one worker, so set PROMETHEUS_MULTIPROC_DIR (an empty
directory, wiped at each start) and every worker writes its counts there and any worker's
/metrics adds them all up (prometheus_client's multiprocess mode). Without it each worker
reports only its own requests.

The bonus figures (accrued, spent, burned, outstanding) are not counted where the ledger moves:
a counter in a web worker would miss the scheduler process's burns and count movements whose
transaction later rolled back. They are read from the database when scraped, so every worker
and every scrape agrees with the ledger. That is an aggregate over the whole ledger per scrape
(bounded by a 5 s statement timeout on PostgreSQL); `bonus_database_up` is 0 when it fails.
"""

from __future__ import annotations

import logging
import os
import time
from decimal import Decimal

from flask import Flask, Response, current_app, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from bonus_service.app_db import get_db
from bonus_service.clock import utcnow
from bonus_service.db import Database
from bonus_service.models import Guest, JobRun, LedgerEntry
from bonus_service.services import sms_budget
from bonus_service.services.reconcile import snapshot
from bonus_service.settings import SettingsError
from rules.money import money

TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED = "unmatched"  # the route of a 404: never the raw path, which anyone can vary
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# ledger kind → (metric, help); the balance change of these kinds is always ≤ 0 or ≥ 0
LEDGER_COUNTERS = {
    "accrual": ("bonus_accrued_bonuses", "Bonuses credited for completed orders."),
    "spend": ("bonus_spent_bonuses", "Bonuses spent on orders."),
    "expiry": ("bonus_burned_bonuses", "Bonuses burned by the expiry of idle balances."),
}

log = logging.getLogger(__name__)


class RequestMetrics:
    """The request counter and latency histogram of one app."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "bonus_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "bonus_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template.",
            ["route"],
            registry=self.registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request and its latency."""
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def collected(self):
        """What /metrics shows of requests: this process's, or all workers' in multiprocess mode."""
        if not os.environ.get(MULTIPROCESS_DIR):
            return self.registry
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return registry


class LedgerFigures:
    """A collector reading the bonus figures from the database on each scrape."""

    def __init__(self, db: Database):
        self.db = db

    def collect(self):
        try:
            moved, guests, balance, held, finished = self._read()
        except SQLAlchemyError as error:
            log.warning("metrics: the database did not answer: %s", type(error).__name__)
            yield GaugeMetricFamily("bonus_database_up", "The figures query succeeded.", value=0)
            return
        yield GaugeMetricFamily("bonus_database_up", "The figures query succeeded.", value=1)
        for kind, (name, documentation) in LEDGER_COUNTERS.items():
            yield CounterMetricFamily(name, documentation, value=_bonuses(abs(moved.get(kind, 0))))
        yield GaugeMetricFamily(
            "bonus_outstanding_bonuses", "Bonuses owned by guests.", value=_bonuses(balance)
        )
        yield GaugeMetricFamily(
            "bonus_held_bonuses", "Bonuses held by open orders.", value=_bonuses(held)
        )
        yield GaugeMetricFamily("bonus_guests_with_bonuses", "Guests owning bonuses.", value=guests)
        # a scheduler that stopped working only logs; alert on the age of its last runs
        last_run = GaugeMetricFamily(
            "bonus_job_last_finished_timestamp_seconds",
            "When each daily job (expiry, burn-warnings) last finished a run, Unix time.",
            labels=["job"],
        )
        for job, at in sorted(finished.items()):
            last_run.add_metric([job], at.timestamp())
        yield last_run

    def _read(self) -> tuple[dict[str, int], int, int, int, dict]:
        with self.db.unit_of_work(write=False) as session:
            if not self.db.is_sqlite:  # LOCAL needs the transaction that snapshot() opens
                snapshot(session).execute(text("SET LOCAL statement_timeout = '5s'"))
            moved = session.execute(
                select(LedgerEntry.kind, func.sum(LedgerEntry.amount))
                .where(LedgerEntry.kind.in_(LEDGER_COUNTERS))
                .group_by(LedgerEntry.kind)
            ).all()
            guests, balance, held = session.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(Guest.balance), 0),
                    func.coalesce(func.sum(Guest.held), 0),
                ).where(Guest.balance > 0)
            ).one()
            finished = dict(session.execute(
                select(JobRun.name, func.max(JobRun.finished_at)).group_by(JobRun.name)
                .having(func.max(JobRun.finished_at).is_not(None))
            ).all())  # fmt: skip
        moved_by_kind = {kind: int(total) for kind, total in moved}
        return moved_by_kind, guests, int(balance), int(held), finished


class SmsBudgetFigures:
    """A collector reading the SMS of the last hour beside the hourly budget on each scrape: the
    figure every worker and the scheduler share (their counters are per process)."""

    def __init__(self, db: Database, per_hour: int):
        self.db, self.per_hour = db, per_hour

    def collect(self):
        try:
            with self.db.unit_of_work(write=False) as session:
                sent = sms_budget.sent_last_hour(session, utcnow())
        except SQLAlchemyError:  # bonus_database_up already says so
            return
        yield GaugeMetricFamily(
            "bonus_sms_sent_last_hour", "SMS sent in the last hour, codes and burn warnings.",
            value=sent,
        )  # fmt: skip
        yield GaugeMetricFamily(
            "bonus_sms_hourly_budget", "BONUS_SMS_PER_HOUR: the SMS the service may send in an "
            "hour; new codes are refused (503) at it.", value=self.per_hour,
        )  # fmt: skip


def _bonuses(kopecks: int) -> Decimal:
    # exact until here; the text format itself writes every sample as a float
    return money(kopecks)


def scrape(app: Flask) -> bytes:
    """The whole /metrics page in the Prometheus text format."""
    requests = app.extensions["bonus_metrics"].collected()
    # in multiprocess mode `requests` holds every process's counters, the SMS budget's too
    counted = b"" if os.environ.get(MULTIPROCESS_DIR) else generate_latest(sms_budget.REGISTRY)
    per_hour = app.extensions["bonus_settings"].sms_per_hour
    return (
        generate_latest(requests)
        + counted
        + generate_latest(LedgerFigures(get_db(app)))
        + generate_latest(SmsBudgetFigures(get_db(app), per_hour))
    )


def _start_clock() -> None:
    # kept on the request itself: the after-request hook then needs one context lookup
    req = request._get_current_object()
    req.metrics = current_app.extensions["bonus_metrics"]
    req.metrics_started = time.perf_counter()


def _observe(response: Response) -> Response:
    req = request._get_current_object()  # one context lookup, not one per attribute
    metrics: RequestMetrics = req.metrics
    rule, method = req.url_rule, req.method
    metrics.observe(
        method if method in METHODS else "OTHER",
        rule.rule if rule is not None else UNMATCHED,
        response.status_code,
        time.perf_counter() - req.metrics_started,
    )
    return response


def check_multiprocess_dir(environ=os.environ) -> None:
    """prometheus_client writes each worker's figures to files in PROMETHEUS_MULTIPROC_DIR:
    a directory that is missing (a tmpfs not mounted, `rm -rf dir` for `rm -rf dir/*`) made
    every request a 500 after its effect had committed. Refused at start-up instead."""
    directory = environ.get(MULTIPROCESS_DIR)
    if directory is None:
        return
    if not directory or not os.path.isdir(directory) or not os.access(directory, os.W_OK):
        raise SettingsError(f"{MULTIPROCESS_DIR} must name a writable directory, got "
                            f"{directory!r} (docs/operations.md, Metrics)")


def init_app(app: Flask) -> None:
    check_multiprocess_dir()
    app.extensions["bonus_metrics"] = RequestMetrics()
    app.before_request(_start_clock)
    app.after_request(_observe)
