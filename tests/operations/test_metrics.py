"""/metrics: requests and latency per route, and the ledger's bonus figures, for Prometheus."""

from __future__ import annotations

import concurrent.futures

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from bonus_service import ledger
from bonus_service.app import create_app
from bonus_service.app_db import get_db
from bonus_service.clock import utcnow
from bonus_service.metrics import check_multiprocess_dir
from bonus_service.models import Guest
from bonus_service.settings import SettingsError
from tests.support.http import bearer
from tests.support.servers import Gunicorn, server_environment
from tests.support.shop import delivery


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """(sample name, labels) → value, as Prometheus itself would parse the page."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def scrape(client) -> dict[tuple[str, frozenset], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type == "text/plain; version=0.0.4; charset=utf-8"
    return samples(response.get_data(as_text=True))


def requests_total(method: str, route: str, status: str) -> tuple[str, frozenset]:
    labels = {"method": method, "route": route, "status": status}
    return "bonus_http_requests_total", frozenset(labels.items())


def test_requests_are_counted_by_method_route_template_and_status(client, make_key):
    key = make_key("checkout")
    client.get("/v1/rules")
    client.get("/v1/rules")
    client.get("/v1/orders/T-404", headers=bearer(key, None))
    client.get("/v1/orders/T-405", headers=bearer(key, None))
    client.get("/no/such/path/42")

    figures = scrape(client)

    assert figures[requests_total("GET", "/v1/rules", "200")] == 2
    # the order read's rule leaves out /v1/orders/confirmation-code (api.checkout.OrderIdConverter)
    assert figures[requests_total("GET", "/v1/orders/<order_id:order_id>", "404")] == 2
    assert figures[requests_total("GET", "unmatched", "404")] == 1


def test_latency_is_a_histogram_per_route_template(client):
    for _ in range(3):
        client.get("/healthz")

    figures = scrape(client)

    route = frozenset({("route", "/healthz")})
    assert figures[("bonus_http_request_duration_seconds_count", route)] == 3
    assert figures[("bonus_http_request_duration_seconds_bucket", route | {("le", "+Inf")})] == 3
    assert figures[("bonus_http_request_duration_seconds_sum", route)] >= 0


def test_bonuses_accrued_spent_and_burned_are_read_from_the_ledger(shop, app, client):
    phone, token = shop.guest("100.00")
    placed = shop.place(phone, delivery("1000.00"), "50.00", token)
    assert shop.complete(placed.get_json()["id"]).status_code == 200  # accrues 3% of 1000 → 30
    other, other_token = shop.guest("10.00")
    assert shop.place(other, delivery("600.00"), "4.00", other_token).status_code == 201
    with get_db(app).unit_of_work() as session:  # the expiry job's entry for one idle balance
        guest_id = session.scalar(select(Guest.id).where(Guest.phone == phone))
        ledger.move(session, guest_id, "expiry", 8_000, actor="expiry-job", reason="test",
                    now=utcnow())  # fmt: skip
        session.commit()

    figures = scrape(client)

    plain = frozenset()
    assert figures[("bonus_database_up", plain)] == 1
    assert figures[("bonus_accrued_bonuses_total", plain)] == 30
    assert figures[("bonus_spent_bonuses_total", plain)] == 50
    assert figures[("bonus_burned_bonuses_total", plain)] == 80
    assert figures[("bonus_outstanding_bonuses", plain)] == 10  # 100 − 50 + 30 − 80, and 10
    assert figures[("bonus_held_bonuses", plain)] == 4
    assert figures[("bonus_guests_with_bonuses", plain)] == 1


def test_an_unreachable_database_shows_as_database_down_and_requests_are_still_counted(tmp_path):
    app = create_app({"database_url": "postgresql+psycopg://nobody@127.0.0.1:1/nowhere",
                      "secret_key": "test", "scheduler_enabled": False})  # fmt: skip
    client = app.test_client()
    client.get("/healthz")

    figures = scrape(client)

    assert figures[("bonus_database_up", frozenset())] == 0
    assert ("bonus_accrued_bonuses_total", frozenset()) not in figures
    assert figures[requests_total("GET", "/healthz", "200")] == 1
    get_db(app).dispose()


def test_metrics_answer_this_machine_and_private_networks_without_a_token(client):
    for address in ("127.0.0.1", "10.1.2.3", "192.168.0.7", "::1", "fd00::5"):
        answer = client.get("/metrics", environ_base={"REMOTE_ADDR": address})
        assert answer.status_code == 200, address
    for address in ("8.8.8.8", "2a00:1450:4010::1", "::ffff:8.8.8.8"):
        refused = client.get("/metrics", environ_base={"REMOTE_ADDR": address})
        assert refused.status_code == 403, address
        assert refused.mimetype == "application/problem+json"
    assert "/metrics" in client.get("/openapi.json").get_json()["paths"]


def test_with_a_token_only_its_bearer_reads_the_metrics_from_anywhere(tmp_path):
    token = "m" * 24
    app = create_app({"database_url": f"sqlite:///{tmp_path}/x.db", "secret_key": "s" * 16,
                      "scheduler_enabled": False, "metrics_token": token})  # fmt: skip
    client = app.test_client()
    outside = {"REMOTE_ADDR": "8.8.8.8"}
    assert client.get("/metrics", environ_base=outside,
                      headers={"Authorization": f"Bearer {token}"}).status_code == 200
    for header in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": token}):
        assert client.get("/metrics", headers=header).status_code == 403  # even from here


@pytest.mark.slow
def test_under_gunicorn_any_worker_reports_the_requests_of_every_worker_past_and_present(
    database_url, fake_twilio, tmp_path
):
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    environ = {**server_environment(database_url, fake_twilio),
               "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}  # fmt: skip
    # a worker is replaced after 10 requests, so 15 requests pass through at least 2 processes
    # (preloaded, a replacement is a quick fork)
    server = Gunicorn(environ, tmp_path / "gunicorn.log", workers=2,
                      options=["--max-requests", "10", "--preload"])  # fmt: skip
    try:
        server.wait_ready()
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: requests.get(f"{server.url}/healthz", timeout=10),
                                    range(15)))  # fmt: skip
        assert {a.status_code for a in answers} == {200}
        counts = [
            samples(requests.get(f"{server.url}/metrics", timeout=10).text)[
                requests_total("GET", "/healthz", "200")
            ]
            for _ in range(4)
        ]
    finally:
        server.stop()

    assert counts == [15] * 4, server.log()
    assert len(list(metrics_dir.glob("counter_*.db"))) >= 2


def test_a_missing_multiprocess_directory_stops_start_up(tmp_path, monkeypatch):
    """Every request was a 500 after its effect committed (an order placed, the answer lost)."""
    check_multiprocess_dir({})
    check_multiprocess_dir({"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)})
    for bad in (str(tmp_path / "not-mounted"), ""):
        with pytest.raises(SettingsError, match="PROMETHEUS_MULTIPROC_DIR"):
            check_multiprocess_dir({"PROMETHEUS_MULTIPROC_DIR": bad})
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "not-mounted"))
    with pytest.raises(SettingsError, match="PROMETHEUS_MULTIPROC_DIR"):  # the app checks it
        create_app({"database_url": f"sqlite:///{tmp_path}/x.db", "secret_key": "s" * 16,
                    "scheduler_enabled": False})  # fmt: skip


def test_the_daily_jobs_last_finished_runs_are_shown_for_alerting(app, client):
    """A scheduler that stopped working only logs; the age of its last runs is the alert."""
    from datetime import UTC, datetime

    from bonus_service.models import JobRun

    finished = datetime(2026, 11, 27, 0, 0, 5, tzinfo=UTC)
    with get_db(app).unit_of_work() as session:
        for key, done in (("2026-11-26", finished), ("2026-11-27", None)):  # one still running
            session.add(JobRun(name="expiry", run_key=key, owner="test", started_at=finished,
                               lease_until=finished, finished_at=done))  # fmt: skip
        session.commit()
    figures = scrape(client)
    shown = figures[("bonus_job_last_finished_timestamp_seconds", frozenset({("job", "expiry")}))]
    assert shown == finished.timestamp()
