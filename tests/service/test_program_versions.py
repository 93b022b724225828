"""Program versions as data (issue 19): drafts, changes, publication, every instance deciding by
a published version from its effective_from, and orders keeping the version they were placed
under."""

from __future__ import annotations

import copy
import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

import rules
from bonus_service.app import create_app
from bonus_service.app_db import get_db
from bonus_service.clock import utcnow
from bonus_service.models import AuditEntry, Guest, ProgramVersion
from bonus_service.services import programs
from tests.support.databases import PG_URL
from tests.support.http import bearer, problem_fields
from tests.support.shop import order_id, pickup

SHIPPED = "2024-01-01-default"


def a_program(version: str = "pickup-twenty", pickup_percent: str = "20", **changes) -> dict:
    """The shipped program as JSON (as GET /v1/rules serves it), renamed and changed."""
    shipped = rules.load_book().get(SHIPPED).data
    data = json.loads(json.dumps(copy.deepcopy(shipped), default=str))
    data.update({"version": version, "effective_from": "2099-01-01T00:00:00+03:00", **changes})
    [over_500] = [rule for rule in data["accrual"] if rule["id"] == "pickup_over_500"]
    over_500["percent"] = pickup_percent
    return data


def draft(shop, program: dict):
    return shop.client.post("/v1/programs", json={"program": program}, headers=bearer(shop.admin))


def publish(shop, version: str, effective_from: datetime):
    return shop.client.post(f"/v1/programs/{version}/publish",
                            json={"effective_from": effective_from.isoformat()},
                            headers=bearer(shop.admin))  # fmt: skip


def audit_trail(app, target: str) -> list[tuple[str, str]]:
    with get_db(app).unit_of_work(write=False) as session:
        query = select(AuditEntry.actor, AuditEntry.action).where(AuditEntry.target == target)
        return [tuple(row) for row in session.execute(query.order_by(AuditEntry.id))]


def test_a_draft_is_stored_listed_and_audited_with_its_author(shop, app):
    response = draft(shop, a_program())
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["version"], body["status"], body["created_by"]) == ("pickup-twenty", "draft",
                                                                     "admin")  # fmt: skip
    assert body["program"]["accrual"][2]["percent"] == "20"
    listed = shop.client.get("/v1/programs", headers=bearer(shop.admin, None)).get_json()
    assert [(v["version"], v["status"]) for v in listed["versions"]] == [
        ("pickup-twenty", "draft"), (SHIPPED, "published"),
    ]  # fmt: skip
    one = shop.client.get("/v1/programs/pickup-twenty", headers=bearer(shop.admin, None))
    assert one.get_json()["program"] == body["program"]
    assert audit_trail(app, "pickup-twenty") == [("admin", "program.draft")]
    # a draft decides nothing
    assert shop.client.get("/v1/rules").get_json()["upcoming"] == []


def test_an_invalid_draft_is_refused_naming_the_field_in_the_programs_terms(shop, app):
    program = a_program()
    program["accrual"][1]["percent"] = "150"
    response = draft(shop, program)
    assert response.status_code == 422
    assert list(problem_fields(response)) == ["program.accrual.1.percent"]
    assert "between 0 and 100" in problem_fields(response)["program.accrual.1.percent"]
    exponent = a_program()
    body = json.dumps({"program": exponent}).replace('"percent": "20"', '"percent": 2e1')
    response = shop.client.post("/v1/programs", data=body, content_type="application/json",
                                headers=bearer(shop.admin))  # fmt: skip
    assert response.status_code == 422
    assert list(problem_fields(response)) == ["program.accrual.2.percent"]
    with get_db(app).unit_of_work(write=False) as session:
        assert session.scalars(select(ProgramVersion.version)).all() == []


def test_a_version_id_taken_is_refused(shop):
    assert draft(shop, a_program()).status_code == 201
    assert draft(shop, a_program()).status_code == 409
    shipped = draft(shop, a_program(version=SHIPPED, effective_from="2024-01-01T00:00:00+03:00"))
    assert shipped.status_code == 409


def test_a_draft_changes_until_it_is_published_then_never(shop, app):
    assert draft(shop, a_program()).status_code == 201
    changed = shop.client.put("/v1/programs/pickup-twenty", headers=bearer(shop.admin),
                              json={"program": a_program(pickup_percent="15")})  # fmt: skip
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["program"]["accrual"][2]["percent"] == "15"
    renamed = shop.client.put("/v1/programs/pickup-twenty", headers=bearer(shop.admin),
                              json={"program": a_program(version="other")})  # fmt: skip
    assert list(problem_fields(renamed)) == ["program.version"]
    published = publish(shop, "pickup-twenty", utcnow() + timedelta(days=30))
    assert published.status_code == 200, published.get_json()
    assert published.get_json()["status"] == "published"
    again = shop.client.put("/v1/programs/pickup-twenty", headers=bearer(shop.admin),
                            json={"program": a_program(pickup_percent="30")})  # fmt: skip
    assert again.status_code == 409
    assert publish(shop, "pickup-twenty", utcnow() + timedelta(days=60)).status_code == 409
    stored = shop.client.get("/v1/programs/pickup-twenty", headers=bearer(shop.admin, None))
    assert stored.get_json()["program"]["accrual"][2]["percent"] == "15"
    assert audit_trail(app, "pickup-twenty") == [
        ("admin", "program.draft"), ("admin", "program.change"), ("admin", "program.publish"),
    ]  # fmt: skip


def test_publishing_in_the_past_is_refused(shop):
    assert draft(shop, a_program()).status_code == 201
    response = publish(shop, "pickup-twenty", utcnow() - timedelta(minutes=1))
    assert response.status_code == 422
    assert list(problem_fields(response)) == ["effective_from"]
    naive = shop.client.post("/v1/programs/pickup-twenty/publish", headers=bearer(shop.admin),
                             json={"effective_from": "2099-01-01T00:00:00"})  # fmt: skip
    assert list(problem_fields(naive)) == ["effective_from"]
    assert publish(shop, "no-such-version", utcnow() + timedelta(days=1)).status_code == 404


def test_two_versions_cannot_take_effect_at_one_instant(shop):
    at = (utcnow() + timedelta(days=10)).replace(microsecond=0)
    assert draft(shop, a_program()).status_code == 201
    assert draft(shop, a_program(version="pickup-thirty", pickup_percent="30")).status_code == 201
    assert publish(shop, "pickup-twenty", at).status_code == 200
    assert publish(shop, "pickup-thirty", at).status_code == 409


@pytest.mark.skipif(not PG_URL, reason="SQLite runs one writer at a time: no race to lose")
def test_two_publications_racing_for_one_instant_leave_one(db, book):
    """The second publication checks before the first commits, so only the database can see
    the clash: it waits on the first, then is refused."""
    now, at = utcnow(), utcnow() + timedelta(days=3)
    with db.unit_of_work() as session:
        programs.create_draft(session, a_program(), book, "a", now)
        programs.create_draft(session, a_program("pickup-thirty", "30"), book, "b", now)
        session.commit()
    outcome = []

    def second():
        with db.unit_of_work() as session:
            try:
                programs.publish(session, "pickup-thirty", at, book, "b", now)
                session.commit()
                outcome.append("published")
            except programs.VersionConflict:
                outcome.append("refused")

    with db.unit_of_work() as session:
        programs.publish(session, "pickup-twenty", at, book, "a", now)
        other = threading.Thread(target=second)
        other.start()
        other.join(0.5)  # it waits on the first's row in the index
        session.commit()
    other.join(10)
    assert outcome == ["refused"]


def test_a_published_version_is_announced_on_rules_and_in_v1_rules(shop):
    assert draft(shop, a_program()).status_code == 201
    at = datetime(2099, 2, 1, tzinfo=UTC) - timedelta(hours=3)  # 01.02.2099 in Moscow
    assert publish(shop, "pickup-twenty", at).status_code == 200
    body = shop.client.get("/v1/rules").get_json()
    assert body["version"] == SHIPPED
    assert body["upcoming"] == [{"version": "pickup-twenty",
                                 "effective_from": "2099-02-01T00:00:00+03:00"}]  # fmt: skip
    page = shop.client.get("/rules").get_data(as_text=True)
    assert "С 01.02.2099 действуют новые правила" in page
    assert "<small>Версия правил: pickup-twenty</small>" in page


def test_program_versions_need_an_admin_key(shop):
    assert shop.client.get("/v1/programs", headers=bearer(shop.checkout, None)).status_code == 403
    response = shop.client.post("/v1/programs", json={"program": a_program()},
                                headers=bearer(shop.checkout))  # fmt: skip
    assert response.status_code == 403
    assert shop.client.get("/v1/programs").status_code == 401


def test_a_publication_reaches_another_instance_within_ten_seconds(shop, database_url):
    """Two instances on one database: B decides by a version published through A, from its
    effective_from, with no restart."""
    other = create_app({"database_url": database_url, "secret_key": "test-secret-of-16+chars",
                        "scheduler_enabled": False})  # fmt: skip
    try:
        b = other.test_client()
        assert b.get("/v1/rules").get_json()["upcoming"] == []  # B has read the book
        assert draft(shop, a_program()).status_code == 201
        starts = utcnow() + timedelta(seconds=6)
        published = time.monotonic()
        assert publish(shop, "pickup-twenty", starts).status_code == 200
        while not b.get("/v1/rules").get_json()["upcoming"]:
            assert time.monotonic() - published < 10, "B never heard of the publication"
            time.sleep(0.2)
        quote = lambda: b.post("/v1/quote", json={"order": pickup("1000.00")},  # noqa: E731
                               headers=bearer(shop.checkout, None)).get_json()  # fmt: skip
        assert (quote()["rules_version"], quote()["accrual"]) == (SHIPPED, "100.00")
        time.sleep(max((starts - utcnow()).total_seconds(), 0) + 0.05)
        assert (quote()["rules_version"], quote()["accrual"]) == ("pickup-twenty", "200.00")
        assert b.get("/v1/rules").get_json()["version"] == "pickup-twenty"
    finally:
        get_db(other).dispose()


def test_an_order_keeps_the_version_it_was_placed_under(shop, app):
    """Placed under the shipped version, it completes with the accrual of that version and its
    cancellation follows that version's `cancelled_orders` ("ignore": the guest's idle count
    goes back), although the version in force by then counts cancelled orders."""
    phone, _ = shop.guest()
    oid = order_id()
    assert shop.place(phone, pickup("1000.00"), oid=oid).status_code == 201
    assert draft(shop, a_program(expiry={"idle_months": 12, "cancelled_orders": "count"})
                 ).status_code == 201  # fmt: skip
    starts = utcnow() + timedelta(seconds=1)
    assert publish(shop, "pickup-twenty", starts).status_code == 200
    time.sleep(max((starts - utcnow()).total_seconds(), 0) + 0.05)
    assert shop.quote(pickup("1000.00")).get_json()["rules_version"] == "pickup-twenty"
    completed = shop.complete(oid)
    assert completed.status_code == 200, completed.get_json()
    assert completed.get_json()["accrued"] == "100.00"
    cancelled = shop.cancel(oid)
    assert cancelled.status_code == 200, cancelled.get_json()
    with get_db(app).unit_of_work(write=False) as session:
        guest = session.scalar(select(Guest).where(Guest.phone == phone))
        assert guest.last_order_at is None


def test_a_draft_is_replayed_over_past_orders_in_the_background(shop):
    phone, _ = shop.guest()
    oid = order_id()
    assert shop.place(phone, pickup("1000.00"), oid=oid).status_code == 201
    assert shop.complete(oid).status_code == 200
    assert draft(shop, a_program()).status_code == 201
    period = {"since": (utcnow() - timedelta(days=1)).isoformat(),
              "until": (utcnow() + timedelta(minutes=1)).isoformat()}  # fmt: skip
    started = shop.client.post("/v1/programs/pickup-twenty/simulate", json=period,
                               headers=bearer(shop.admin))  # fmt: skip
    assert started.status_code == 202, started.get_json()
    location = started.headers["Location"]
    assert location == f"/v1/programs/pickup-twenty/simulate/{started.get_json()['id']}"
    deadline = time.monotonic() + 10
    while (job := shop.client.get(location, headers=bearer(shop.admin, None)).get_json())[
        "status"
    ] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert job["status"] == "done", job
    [month] = job["result"]["months"]
    assert (month["actual"]["accrued"], month["candidate"]["accrued"]) == (10000, 20000)
    [guest] = job["result"]["guests"]
    assert (guest["orders"], guest["accrued_change"]) == (1, 10000)
    # no side effects: the guest's balance is what the real order gave
    assert shop.client.get(f"/v1/guests/{phone}", headers=bearer(shop.operator, None)
                           ).get_json()["balance"] == "100.00"  # fmt: skip


def test_a_replay_needs_a_version_and_a_period(shop):
    period = {"since": "2026-01-01T00:00:00+03:00", "until": "2025-01-01T00:00:00+03:00"}
    response = shop.client.post("/v1/programs/nope/simulate", json=period,
                                headers=bearer(shop.admin))  # fmt: skip
    assert response.status_code in (404, 422)
    assert draft(shop, a_program()).status_code == 201
    response = shop.client.post("/v1/programs/pickup-twenty/simulate", json=period,
                                headers=bearer(shop.admin))  # fmt: skip
    assert list(problem_fields(response)) == ["until"]
    period["until"] = "2027-01-01T00:00:00+03:00"
    response = shop.client.post("/v1/programs/nope/simulate", json=period,
                                headers=bearer(shop.admin))  # fmt: skip
    assert response.status_code == 404
    missing = shop.client.get("/v1/programs/pickup-twenty/simulate/0123",
                              headers=bearer(shop.admin, None))  # fmt: skip
    assert missing.status_code == 404


@pytest.mark.parametrize("stored_before", [False, True])
def test_init_db_stores_the_shipped_program_once(app, runner, stored_before):
    if stored_before:
        assert runner.invoke(args=["bonus", "init-db"]).exit_code == 0
    result = runner.invoke(args=["bonus", "init-db"])
    assert result.exit_code == 0, result.output
    assert (f"program version {SHIPPED} stored" in result.output) is not stored_before
    with get_db(app).unit_of_work(write=False) as session:
        rows = session.execute(select(ProgramVersion.version, ProgramVersion.status)).all()
    assert [tuple(r) for r in rows] == [(SHIPPED, "published")]
    assert audit_trail(app, SHIPPED) == [("bonus init-db", "program.seed")]
