"""Money made by hand needs a second person: a large credit, or one past the person's day,
waits until another supervisor approves (applied once, then) or rejects it; it lapses after 72 h."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from bonus_service import program
from bonus_service.clock import utcnow
from bonus_service.models import AuditEntry, LedgerEntry
from bonus_service.services import adjustments
from bonus_service.settings import SettingsError, from_environment
from scheduler.jobs import lapse_adjustments
from tests.support.http import bearer, problem_fields


def ask(shop, phone: str, amount: str, person: str = "clerk", reason: str = "компенсация"):
    body = {"amount": amount, "reason": reason, "operator": person}
    return shop.client.post(f"/v1/guests/{phone}/adjustments", json=body,
                            headers=bearer(shop.operator))  # fmt: skip


def decide(shop, adjustment_id: int, verb: str, person: str, key: str | None = None, **body):
    """Approve or reject through the supervisors' desk, an API client of its own (the one
    that asked may not decide), or through `key`."""
    return shop.client.post(f"/v1/adjustments/{adjustment_id}/{verb}",
                            json={"operator": person, **body},
                            headers=bearer(key or shop.desk))  # fmt: skip


@pytest.fixture
def people(shop, make_key):
    """clerk (operator), sveta and boris (supervisors), mila (marketing); the call center
    asks with `shop.operator`, the supervisors decide with `shop.desk`."""
    shop.person("clerk")
    shop.person("sveta", "supervisor")
    shop.person("boris", "supervisor")
    shop.person("mila", "marketing")
    shop.desk = make_key("operator", name="supervisors-desk")
    return shop


def audit_actions(db) -> list[str]:
    with db.unit_of_work(write=False) as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def adjustment_entries(db) -> int:
    with db.unit_of_work(write=False) as session:
        return session.scalar(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == "adjustment")
        )


def test_an_api_adjustment_without_the_person_is_422_naming_operator(shop):
    phone, _ = shop.guest()
    missing = shop.client.post(f"/v1/guests/{phone}/adjustments",
                               json={"amount": "5", "reason": "компенсация"},
                               headers=bearer(shop.operator))  # fmt: skip
    assert missing.status_code == 422
    assert set(problem_fields(missing)) == {"operator"}


def test_an_operator_field_naming_nobody_or_a_disabled_account_is_422(app, runner, people):
    phone, token = people.guest()
    assert set(problem_fields(ask(people, phone, "5", "nobody"))) == {"operator"}
    runner.invoke(args=["bonus", "disable-operator", "clerk"])
    refused = ask(people, phone, "5", "clerk")
    assert refused.status_code == 422 and "operator" in problem_fields(refused)
    assert people.me(token)["balance"] == "0.00"


def test_a_credit_up_to_the_review_line_is_applied_and_one_over_it_waits(db, people):
    phone, token = people.guest()
    applied = ask(people, phone, "1000", "Clerk")  # any case names the account
    assert applied.status_code == 201
    assert (applied.get_json()["status"], applied.get_json()["requested_by"]) == (
        "applied", "clerk")  # fmt: skip
    held = ask(people, phone, "1001")
    assert held.status_code == 202
    body = held.get_json()
    assert (body["status"], body["held_because"], body["amount"]) == (
        "pending", ["review_over"], "1001.00")  # fmt: skip
    assert isinstance(body["id"], int) and "entry" not in body
    assert people.me(token)["balance"] == "1000.00"
    assert adjustment_entries(db) == 1


def test_a_debit_is_never_held_however_large(people):
    phone, token = people.guest()
    people.adjust(phone, "900")
    people.adjust(phone, "900")
    assert ask(people, phone, "-1800").status_code == 201
    assert people.me(token)["balance"] == "0.00"


def test_credits_past_a_persons_day_wait_and_the_next_local_day_starts_again(db, people):
    """5,000 a day by default, counted per person over the local (Moscow) day."""
    with freeze_time("2026-03-10 20:30:00"):  # 23:30 in Moscow
        phone, token = people.guest()
        for _ in range(5):
            assert ask(people, phone, "1000").status_code == 201
        held = ask(people, phone, "1")
        assert held.status_code == 202 and held.get_json()["held_because"] == ["daily_limit"]
        assert ask(people, phone, "-10").status_code == 201  # debits neither wait nor count
        assert ask(people, phone, "1", "sveta").status_code == 201  # another person's day
    with freeze_time("2026-03-10 21:00:00"):  # midnight in Moscow, the same UTC day
        assert ask(people, phone, "1000").status_code == 201
        assert people.me(token)["balance"] == "5991.00"


def test_a_rejected_credit_no_longer_counts_against_the_day(people):
    phone, _ = people.guest()
    held = ask(people, phone, "5001").get_json()
    assert held["held_because"] == ["review_over", "daily_limit"]
    assert ask(people, phone, "1000").status_code == 202  # the pending one counts
    assert decide(people, held["id"], "reject", "sveta", reason="слишком много").status_code == 200
    assert ask(people, phone, "1000").status_code == 201


def test_another_supervisor_approves_and_the_credit_is_applied_once(db, people):
    phone, token = people.guest()
    held = ask(people, phone, "10000000", reason="перевод с карты гостя").get_json()
    approved = decide(people, held["id"], "approve", "sveta")
    assert approved.status_code == 200, approved.get_json()
    body = approved.get_json()
    assert (body["status"], body["requested_by"], body["decided_by"], body["balance"]) == (
        "applied", "clerk", "sveta", "10000000.00")  # fmt: skip
    assert "перевод с карты гостя" in body["entry"]["reason"]
    again = decide(people, held["id"], "approve", "boris")
    assert again.status_code == 409 and again.get_json()["adjustment_status"] == "applied"
    assert people.me(token)["balance"] == "10000000.00"
    assert adjustment_entries(db) == 1
    assert audit_actions(db)[-2:] == ["adjustment.request", "adjustment.approve"]
    with db.unit_of_work(write=False) as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "adjustment.approve"))
    assert (entry.details["requested_by"], entry.details["operator"]) == ("clerk", "sveta")


def test_nobody_approves_their_own_and_an_operator_approves_nothing(people):
    phone, token = people.guest()
    own = ask(people, phone, "2000", "sveta").get_json()
    refused = decide(people, own["id"], "approve", "SVETA")
    assert refused.status_code == 403 and set(problem_fields(refused)) == {"operator"}
    assert decide(people, own["id"], "reject", "sveta", reason="передумала").status_code == 403
    held = ask(people, phone, "2000").get_json()
    assert decide(people, held["id"], "approve", "clerk").status_code == 403
    assert decide(people, held["id"], "approve", "mila").status_code == 403
    assert people.me(token)["balance"] == "0.00"
    assert decide(people, own["id"], "approve", "boris").status_code == 200


def test_the_api_client_that_asked_cannot_approve_whoever_it_names(people):
    """One operator key asked as clerk and approved as sveta: the key names its people
    itself, so four eyes were one (a review of issue 17). The client that asked never decides;
    the console, where each person signs in, or another client does."""
    phone, token = people.guest()
    held = ask(people, phone, "50000").get_json()
    for verb, body in (("approve", {}), ("reject", {"reason": "сам себе"})):
        refused = decide(people, held["id"], verb, "sveta", key=people.operator, **body)
        assert refused.status_code == 403, refused.get_json()
        assert "call-center asked for this adjustment" in refused.get_json()["detail"]
    assert people.me(token)["balance"] == "0.00"
    assert decide(people, held["id"], "approve", "sveta").status_code == 200
    assert people.me(token)["balance"] == "50000.00"


def test_a_rejected_credit_cannot_be_approved(db, people):
    phone, token = people.guest()
    held = ask(people, phone, "3000").get_json()
    rejected = decide(people, held["id"], "reject", "sveta", reason="не подтверждено чеком")
    assert rejected.status_code == 200
    assert (rejected.get_json()["status"], rejected.get_json()["decision_reason"]) == (
        "rejected", "не подтверждено чеком")  # fmt: skip
    late = decide(people, held["id"], "approve", "boris")
    assert late.status_code == 409 and late.get_json()["adjustment_status"] == "rejected"
    assert people.me(token)["balance"] == "0.00"
    assert "adjustment.reject" in audit_actions(db)


def test_a_rejection_says_why(people):
    phone, _ = people.guest()
    held = ask(people, phone, "3000").get_json()
    blank = decide(people, held["id"], "reject", "sveta", reason="   ")
    assert blank.status_code == 422 and set(problem_fields(blank)) == {"reason"}


def test_a_pending_credit_lapses_after_72_hours(db, people):
    with freeze_time("2026-03-10 09:00:00"):
        phone, token = people.guest()
        held = ask(people, phone, "3000").get_json()
    with freeze_time("2026-03-13 08:59:59"):
        listed = people.client.get("/v1/adjustments", headers=bearer(people.operator, None))
        assert [a["id"] for a in listed.get_json()["adjustments"]] == [held["id"]]
    with freeze_time("2026-03-13 09:00:00"):
        late = decide(people, held["id"], "approve", "sveta")
        assert late.status_code == 409 and late.get_json()["adjustment_status"] == "lapsed"
        shown = people.client.get(f"/v1/adjustments/{held['id']}",
                                  headers=bearer(people.operator, None))  # fmt: skip
        assert shown.get_json()["status"] == "lapsed"
        pending = people.client.get("/v1/adjustments?status=pending",
                                    headers=bearer(people.operator, None))  # fmt: skip
        assert pending.get_json()["adjustments"] == []
        assert lapse_adjustments(db, utcnow()) == 1
        assert lapse_adjustments(db, utcnow()) == 0
        assert people.me(token)["balance"] == "0.00"
    assert audit_actions(db)[-1] == "adjustment.lapse"


def test_two_supervisors_approving_at_once_apply_it_once(app, db, people):
    phone, token = people.guest()
    held = ask(people, phone, "4000").get_json()
    with app.app_context():
        step = program.in_force(utcnow()).quantum
    start, results = threading.Barrier(2), []

    def approve(person: str) -> None:
        start.wait()
        with db.unit_of_work() as session:
            try:
                adjustments.approve(session, held["id"], utcnow(), person=person,
                                    via=f"operator:{person}", step=step)  # fmt: skip
            except adjustments.NotDecidable as refused:
                results.append(refused.status)
                return
            session.commit()
            results.append("approved")

    threads = [threading.Thread(target=approve, args=(p,)) for p in ("sveta", "boris")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == ["applied", "approved"]
    assert people.me(token)["balance"] == "4000.00"
    assert adjustment_entries(db) == 1


def test_a_marketing_person_cannot_adjust_over_the_api(people):
    phone, token = people.guest()
    refused = ask(people, phone, "5", "mila")
    assert refused.status_code == 403 and set(problem_fields(refused)) == {"operator"}
    assert people.me(token)["balance"] == "0.00"


def test_deciding_an_unknown_adjustment_is_404(people):
    assert decide(people, 999, "approve", "sveta").status_code == 404


def test_the_list_filters_by_status_and_pages(people):
    phone, _ = people.guest()
    first = ask(people, phone, "1500").get_json()["id"]
    second = ask(people, phone, "1600").get_json()["id"]
    decide(people, first, "reject", "sveta", reason="дубль")
    key = bearer(people.operator, None)
    pending = people.client.get("/v1/adjustments", headers=key).get_json()
    assert [a["id"] for a in pending["adjustments"]] == [second]
    rejected = people.client.get("/v1/adjustments?status=rejected", headers=key).get_json()
    assert [a["id"] for a in rejected["adjustments"]] == [first]
    page = people.client.get("/v1/adjustments?status=any&limit=1", headers=key).get_json()
    assert [a["id"] for a in page["adjustments"]] == [second] and page["next_before"] == second
    bad = people.client.get("/v1/adjustments?status=maybe", headers=key)
    assert bad.status_code == 422 and "query.status" in problem_fields(bad)


@pytest.mark.parametrize("variable", ["BONUS_ADJUSTMENT_REVIEW_OVER",
                                      "BONUS_ADJUSTMENT_DAILY_LIMIT"])  # fmt: skip
@pytest.mark.parametrize("value", ["1000.5", "-1", "many", "1000001"])
def test_a_bad_review_setting_stops_start_up_naming_it(variable, value):
    with pytest.raises(SettingsError, match=variable):
        from_environment({variable: value})


def test_the_review_settings_default_to_the_contracts_figures():
    settings = from_environment({})
    assert (settings.adjustment_review_over, settings.adjustment_daily_limit) == (1000, 5000)
    assert from_environment({"BONUS_ADJUSTMENT_REVIEW_OVER": "0"}).adjustment_review_over == 0


@pytest.mark.parametrize(
    "settings_overrides", [{"adjustment_review_over": 100, "adjustment_daily_limit": 150}]
)
def test_the_settings_move_the_lines(people):
    phone, _ = people.guest()
    assert ask(people, phone, "100").status_code == 201
    assert ask(people, phone, "50").status_code == 201
    assert ask(people, phone, "1").get_json()["held_because"] == ["daily_limit"]
    assert ask(people, phone, "101", "sveta").get_json()["held_because"] == ["review_over"]



def test_two_credits_of_one_person_at_once_count_the_day_in_turn(app, db, people):
    """3,000 twice at once: were the day read before either wrote, both would pass the 5,000."""
    phones = [people.guest()[0] for _ in range(2)]
    with app.app_context():
        step = program.in_force(utcnow()).quantum
    settings = app.extensions["bonus_settings"].with_overrides({"adjustment_review_over": 10_000})
    start, statuses = threading.Barrier(2), []

    def credit(phone: str) -> None:
        start.wait()
        with db.unit_of_work() as session:
            outcome = adjustments.adjust(session, phone, Decimal("3000"), "компенсация", utcnow(),
                                         person="clerk", via="test", step=step,
                                         settings=settings)  # fmt: skip
            session.commit()
            statuses.append(outcome.record.status)

    threads = [threading.Thread(target=credit, args=(phone,)) for phone in phones]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(statuses) == ["applied", "pending"]
