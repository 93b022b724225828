"""Orders move bonuses only through the ledger: place, complete, cancel, hold expiry, consent."""

import threading
from datetime import timedelta
from urllib.parse import quote

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select, update

from bonus_service import ledger
from bonus_service.app_db import get_db
from bonus_service.clock import utcnow
from bonus_service.models import ApiClient, Guest, LedgerEntry
from bonus_service.services.checkout import cancel, release_stale_holds
from tests.support.databases import PG_URL
from tests.support.http import bearer, login, problem_fields
from tests.support.ledger_checks import assert_ledger_reconciles
from tests.support.phones import new_phone
from tests.support.shop import cafe, pickup


def test_place_holds_then_complete_spends_and_credits(app, shop):
    phone, token = shop.guest("100")
    placed = shop.place(phone, pickup("400.00"), redeem="80", token=token).get_json()
    assert (placed["status"], placed["redeemed"], placed["balance"], placed["available"]) == (
        "placed",
        "80.00",
        "100.00",
        "20.00",
    )
    assert placed["accrual"] == "12.00"  # 3% of the order's 400
    done = shop.complete(placed["id"]).get_json()
    assert (done["status"], done["accrued"], done["balance"]) == ("completed", "12.00", "32.00")
    me = shop.me(token)
    assert me["last_order_at"] is not None
    kinds = [e["kind"] for e in shop.history(token)]
    assert kinds == ["accrual", "spend", "hold", "adjustment"]
    assert shop.history(token)[1]["reason"] == f"Списано 80 бонусов в оплату заказа {placed['id']}"
    assert_ledger_reconciles(get_db(app))


def test_cancel_before_completion_releases_the_hold(app, shop):
    phone, token = shop.guest("100")
    placed = shop.place(phone, pickup("400.00"), redeem="80", token=token).get_json()
    cancelled = shop.cancel(placed["id"])
    assert cancelled.status_code == 200
    body = cancelled.get_json()
    assert (body["status"], body["released"], body["available"]) == ("cancelled", "80.00", "100.00")
    released = shop.history(token)[0]["reason"]
    assert released == f"Снят резерв 80 бонусов: заказ {placed['id']} отменён"
    assert shop.complete(placed["id"]).status_code == 409
    assert_ledger_reconciles(get_db(app))


def test_cancel_after_completion_refunds_the_spend_and_takes_back_the_accrual(app, shop):
    phone, token = shop.guest("100")
    placed = shop.place(phone, pickup("600.00"), redeem="100", token=token).get_json()
    shop.complete(placed["id"])
    assert shop.me(token)["balance"] == "60.00"  # 100 − 100 + 10% of 600
    body = shop.cancel(placed["id"]).get_json()
    assert (body["refunded"], body["reversed"], body["written_off"]) == ("100.00", "60.00", "0.00")
    assert shop.me(token)["balance"] == "100.00"
    assert_ledger_reconciles(get_db(app))


def test_a_spent_accrual_cannot_be_taken_back_below_zero(app, shop):
    phone, token = shop.guest()
    first = shop.place(phone, pickup("1000.00")).get_json()
    shop.complete(first["id"])  # earns 100
    second = shop.place(phone, pickup("500.00"), redeem="100", token=token).get_json()
    shop.complete(second["id"])  # spends 100, earns 15
    body = shop.cancel(first["id"]).get_json()
    assert (body["reversed"], body["written_off"], body["balance"]) == ("15.00", "85.00", "0.00")
    reversal = shop.history(token)[0]
    assert reversal["kind"] == "reversal"
    assert reversal["reason"] == (
        f"Списано 15 бонусов из 100 начисленных за отменённый заказ {first['id']}, "
        "а 85 бонусов уже израсходованы")
    assert_ledger_reconciles(get_db(app))


def test_cancelling_an_order_whose_accrual_paid_another_then_that_one_mints_nothing(app, shop):
    """A earns 100, B spends them: cancel A (21 of its 100 already spent: written off), then
    B, whose refund brings those bonuses back. The guest must end where they began, 19."""
    phone, token = shop.guest("19")
    a = shop.place(phone, pickup("1000.00")).get_json()["id"]
    shop.complete(a)  # +100: 119
    b = shop.place(phone, pickup("600.00"), redeem="100", token=token).get_json()["id"]
    shop.complete(b)  # −100 +60: 79
    first = shop.cancel(a).get_json()
    assert (first["reversed"], first["written_off"], first["balance"]) == ("79.00", "21.00", "0.00")
    second = shop.cancel(b).get_json()
    assert (second["refunded"], second["reversed"], second["recovered"]) == (
        "100.00", "60.00", "21.00")
    assert second["balance"] == "19.00" == shop.me(token)["balance"]
    assert shop.history(token)[0]["reason"] == (
        f"Списан 21 бонус, начисленный за отменённый заказ {a}: он вернулся на счёт с отменой "
        f"заказа {b}")
    assert_ledger_reconciles(get_db(app))


def burn(app, phone: str) -> None:
    """What the nightly expiry does to an idle guest: everything available burns."""
    with get_db(app).unit_of_work() as session:
        guest = session.scalar(select(Guest).where(Guest.phone == phone))
        ledger.move(session, guest.id, "expiry", guest.balance - guest.held,
                    actor="expiry-job", reason="test", now=utcnow())  # fmt: skip
        session.commit()


def earned_then_burned(app, shop, clock, phone: str) -> str:
    """An order that earned 100, then 400 idle days and the burn that empties the account."""
    order = shop.place(phone, pickup("1000.00")).get_json()["id"]
    shop.complete(order)
    clock.tick(timedelta(days=400))
    burn(app, phone)
    return order


def test_an_order_completed_before_a_burn_is_cancelled_moving_nothing(app, shop):
    """A's 100 burned; the 30 C earned since are the guest's. A's cancel took them (reversed
    30, «уже израсходованы» 70) though nothing was spent (a money audit)."""
    phone, token = shop.guest()
    with freeze_time(utcnow()) as clock:
        a = earned_then_burned(app, shop, clock, phone)
        c = shop.place(phone, pickup("300.00")).get_json()["id"]
        shop.complete(c)  # +9
        cancelled = shop.cancel(a).get_json()
    assert (cancelled["refunded"], cancelled["reversed"], cancelled["written_off"]) == (
        "0.00", "0.00", "100.00")
    assert cancelled["balance"] == "9.00" == shop.me(token)["balance"]
    assert shop.history(token)[0]["reason"] == (
        f"Заказ {a} отменён после того, как бонусы на счёте сгорели: по нему ничего не "
        "возвращается и не списывается")
    assert_ledger_reconciles(get_db(app))


@pytest.mark.parametrize("sequence", ["A1 A2 B", "A2 B A1", "B A1 A2", "B A2 A1"])
def test_a_burn_is_not_counted_against_several_cancels(app, shop, sequence):
    """A1 and A2 earn 100 each, B spends the 200 and earns 80, the 80 burn: without the three
    orders the guest would own nothing, whatever the sequence of cancels. Counting the burn
    against each write-off left 80 bonuses from nowhere after «A1 A2 B» (a money audit)."""
    phone, token = shop.guest()
    with freeze_time(utcnow()) as clock:
        ids = {"A1": shop.place(phone, pickup("1000.00")).get_json()["id"],
               "A2": shop.place(phone, pickup("1000.00")).get_json()["id"]}  # fmt: skip
        shop.complete(ids["A1"]), shop.complete(ids["A2"])
        ids["B"] = shop.place(phone, pickup("1000.00"), redeem="200", token=token).get_json()["id"]
        shop.complete(ids["B"])  # −200 +80
        clock.tick(timedelta(days=400))
        burn(app, phone)
        clock.tick(timedelta(days=1))
        answers = [shop.cancel(ids[name]) for name in sequence.split()]
    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert shop.me(token)["balance"] == "0.00"
    assert_ledger_reconciles(get_db(app))


def test_a_burn_that_left_bonuses_held_settles_nothing(app, shop):
    """B held 100 of A's bonuses through the burn and spent them after it; settling A across
    that burn left 100 bonuses from nowhere once A and B were cancelled (a review). Only a
    burn that empties the account settles what came before it."""
    phone, _ = shop.guest("50")
    with freeze_time(utcnow()) as clock:
        a = shop.place(phone, pickup("1000.00")).get_json()["id"]
        shop.complete(a)  # +100: 150
        clock.tick(timedelta(days=400))
        token = login(shop.client, shop.fake, phone)
        b = shop.place(phone, pickup("1000.00"), redeem="100", token=token).get_json()["id"]
        burn(app, phone)  # 50 burn, the 100 held stay
        shop.complete(b)  # −100 +100: 100
        cancelled = [shop.cancel(a).get_json(), shop.cancel(b).get_json()]
        assert cancelled[0]["reversed"] == "100.00"
        assert shop.me(token)["balance"] == "0.00"  # without A and B the 50 burned all the same
    assert_ledger_reconciles(get_db(app))


def test_a_refund_after_an_emptying_burn_recovers_no_write_off_from_before_it(app, shop):
    """A (completed before the burn) is settled by it; the 15 R spent were earned by D after
    the burn, so R's refund gives them back to the guest and recovers nothing for A."""
    phone, _ = shop.guest()
    with freeze_time(utcnow()) as clock:
        a = earned_then_burned(app, shop, clock, phone)
        d = shop.place(phone, pickup("500.00")).get_json()["id"]
        shop.complete(d)  # +15
        token = login(shop.client, shop.fake, phone)
        r = shop.place(phone, cafe("75.00"), redeem="15", token=token).get_json()["id"]
        shop.complete(r)  # −15 +2: 2
        assert shop.cancel(a).get_json()["reversed"] == "0.00"
        second = shop.cancel(r).get_json()
    assert (second["refunded"], second["recovered"], second["balance"]) == (
        "15.00", "0.00", "15.00")
    assert_ledger_reconciles(get_db(app))


def test_a_write_off_before_a_burn_is_not_recovered_after_it(app, shop):
    """A's 100 were spent on B and A was cancelled (written off 40); then everything burned.
    B, completed before the burn, is cancelled moving nothing; R, after it, spends the 15 D
    earned since, and its refund recovers nothing of A's write-off from before the burn."""
    phone, token = shop.guest()
    with freeze_time(utcnow()) as clock:
        a = shop.place(phone, pickup("1000.00")).get_json()["id"]
        shop.complete(a)  # +100
        b = shop.place(phone, pickup("600.00"), redeem="100", token=token).get_json()["id"]
        shop.complete(b)  # −100 +60: 60
        assert shop.cancel(a).get_json()["written_off"] == "40.00"
        clock.tick(timedelta(days=400))
        burn(app, phone)
        d = shop.place(phone, pickup("500.00")).get_json()["id"]
        shop.complete(d)  # +15
        second = shop.cancel(b).get_json()
        assert (second["refunded"], second["recovered"], second["balance"]) == (
            "0.00", "0.00", "15.00")
        token = login(shop.client, shop.fake, phone)
        r = shop.place(phone, cafe("75.00"), redeem="15", token=token).get_json()["id"]
        shop.complete(r)  # −15 +2
        third = shop.cancel(r).get_json()
    assert (third["refunded"], third["recovered"], third["balance"]) == ("15.00", "0.00", "15.00")
    assert_ledger_reconciles(get_db(app))


def test_a_stale_hold_is_released_by_the_timer(app, shop):
    phone, token = shop.guest("100")
    with freeze_time(utcnow()) as clock:
        placed = shop.place(phone, pickup("400.00"), redeem="50", token=token).get_json()
        clock.tick(timedelta(hours=23, minutes=59))
        with get_db(app).unit_of_work() as session:
            assert release_stale_holds(session, utcnow()) == 0
        clock.tick(timedelta(minutes=1))
        with get_db(app).unit_of_work() as session:
            assert release_stale_holds(session, utcnow()) == 1
            session.commit()
    assert shop.me(token)["available"] == "100.00"
    assert shop.history(token)[0]["reason"] == (
        f"Снят резерв 50 бонусов: заказ {placed['id']} не был оплачен вовремя")
    order = shop.client.get(f"/v1/orders/{placed['id']}", headers=bearer(shop.checkout, None))
    assert order.get_json()["status"] == "expired"
    # the shop may still complete it while the bonuses are there
    assert shop.complete(placed["id"]).status_code == 200
    assert shop.me(token)["balance"] == "62.00"  # 100 − 50 + 3% of 400
    assert_ledger_reconciles(get_db(app))


def test_redeeming_without_consent_is_403(shop):
    phone, token = shop.guest("100")
    response = shop.place(phone, pickup("400.00"), redeem="10")
    assert response.status_code == 403
    assert shop.me(token)["available"] == "100.00"


def test_another_guests_token_is_not_consent(shop):
    phone, _ = shop.guest("100")
    _, other_token = shop.guest("100")
    assert shop.place(phone, pickup("400.00"), redeem="10", token=other_token).status_code == 403


def test_a_spending_code_is_consent_once(shop):
    phone, token = shop.guest("100")
    with freeze_time(utcnow() + timedelta(minutes=2)):  # past the login code's resend wait
        code = shop.spending_code(phone, "10")
        first = shop.place(phone, pickup("400.00"), redeem="10", confirmation_code=code)
        assert first.status_code == 201
        again = shop.place(phone, pickup("400.00"), redeem="10", confirmation_code=code)
        assert again.status_code == 403  # no consent; 401 is the API key's
        assert problem_fields(again) == {"confirmation_code": "expired or not requested"}
    assert shop.me(token)["available"] == "90.00"


def test_the_code_of_an_operators_registration_is_no_consent_to_spend(shop):
    """It logs the guest in; only a spending code (or the token of a login the guest made)
    agrees to spending: the operator who registered the guest must not be able to ask for
    that code and spend with it."""
    phone = new_phone()
    registered = shop.client.post("/v1/guests", json={"phone": phone},
                                  headers=bearer(shop.operator))  # fmt: skip
    assert registered.status_code == 201
    code = shop.fake.last_code(phone)
    shop.adjust(phone, "100")
    spend = shop.place(phone, pickup("400.00"), redeem="10", confirmation_code=code)
    assert spend.status_code == 403, spend.get_json()
    assert problem_fields(spend) == {"confirmation_code": "expired or not requested"}
    verified = shop.client.post("/v1/auth/verify", json={"phone": phone, "code": code})
    assert verified.status_code == 200  # the refusal spent none of its tries: it logs in
    token = verified.get_json()["token"]
    assert shop.me(token)["balance"] == "100.00"
    # nor is the token it logged in with: it consented for 30 days (a security audit)
    spend = shop.place(phone, pickup("400.00"), redeem="10", token=token)
    assert spend.status_code == 403, spend.get_json()
    assert problem_fields(spend) == {"X-Guest-Token": "a registration code's login is no consent"}
    with freeze_time(utcnow() + timedelta(minutes=2)):
        asked = shop.spending_code(phone, "10")
        spend = shop.place(phone, pickup("400.00"), redeem="10", confirmation_code=asked)
        assert spend.status_code == 201
    with freeze_time(utcnow() + timedelta(minutes=4)):  # a token the guest's own code bought
        spend = shop.place(phone, pickup("400.00"), redeem="10",
                           token=login(shop.client, shop.fake, phone))  # fmt: skip
        assert spend.status_code == 201


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


def test_a_wrong_confirmation_code_is_403_counted_once_and_its_key_answered(shop):
    """The wrong try is kept with the refusal: the key replays it, another key goes on counting,
    and the right code still works (a wrong code once left the key claimed but unanswered:
    every retry said 409 "still being processed")."""
    phone, token = shop.guest("100")
    with freeze_time(utcnow() + timedelta(minutes=2)):
        code = shop.spending_code(phone, "10")
        body = dict(redeem="10", confirmation_code=wrong(code), oid="CONSENT-1")
        first = shop.place(phone, pickup("400.00"), key="consent-1", **body)
        assert first.status_code == 403, first.get_json()
        assert first.get_json()["attempts_left"] == 4
        assert problem_fields(first) == {"confirmation_code": "wrong code"}
        replay = shop.place(phone, pickup("400.00"), key="consent-1", **body)
        assert (replay.status_code, replay.data) == (403, first.data)
        assert replay.headers["Idempotent-Replayed"] == "true"
        other_body = shop.place(phone, pickup("500.00"), key="consent-1", **body)
        assert other_body.status_code == 422  # the key is answered, not stuck
        again = shop.place(phone, pickup("400.00"), key="consent-2", **body)
        assert again.get_json()["attempts_left"] == 3  # the replays counted nothing
        right = dict(body, confirmation_code=code)
        assert shop.place(phone, pickup("400.00"), key="consent-3", **right).status_code == 201
    assert shop.me(token)["available"] == "90.00"


def test_the_last_wrong_confirmation_code_is_429_and_leaves_its_key_free(shop):
    phone, _ = shop.guest("100")
    with freeze_time(utcnow() + timedelta(minutes=2)):
        code = shop.spending_code(phone, "10")
        body = dict(redeem="10", confirmation_code=wrong(code))
        for left in (4, 3, 2, 1):
            answer = shop.place(phone, pickup("400.00"), **body)
            assert (answer.status_code, answer.get_json()["attempts_left"]) == (403, left)
        last = shop.place(phone, pickup("400.00"), key="consent-last", **body)
        assert last.status_code == 429 and last.headers["Retry-After"]
        # not kept for the key (429 says "try again"), and the count stands: still 429
        retry = shop.place(phone, pickup("400.00"), key="consent-last", **body)
        assert retry.status_code == 429 and "Idempotent-Replayed" not in retry.headers
        right = dict(body, confirmation_code=code)
        assert shop.place(phone, pickup("400.00"), **right).status_code == 429


def test_accrual_needs_no_consent(shop):
    phone, _ = shop.guest()
    assert shop.place(phone, pickup("400.00")).status_code == 201


def test_redeem_over_the_cap_is_422_naming_redeem_max(shop):
    phone, token = shop.guest("1000")
    response = shop.place(phone, pickup("400.00"), redeem="81", token=token)
    assert response.status_code == 422
    body = response.get_json()
    assert body["redeem_max"] == "80.00"
    assert "redeem" in {e["field"] for e in body["errors"]}


def test_redeem_with_kopecks_is_422_naming_redeem_and_holds_nothing(shop):
    phone, token = shop.guest("100")
    response = shop.place(phone, pickup("400.00"), redeem="10.50", token=token)
    assert response.status_code == 422
    assert "not a multiple of 1" in problem_fields(response)["redeem"]
    assert response.get_json()["explanation"][-1]["rule"] == "redeem.not_whole"
    assert shop.me(token)["available"] == "100.00"
    assert [e["kind"] for e in shop.history(token)] == ["adjustment"]


def test_an_order_id_used_twice_is_409(shop):
    phone, _ = shop.guest()
    assert shop.place(phone, pickup("100.00"), oid="SAME-1").status_code == 201
    assert shop.place(phone, pickup("200.00"), oid="SAME-1").status_code == 409


def test_the_order_view_shows_its_movements(shop, make_key):
    phone, token = shop.guest("100")
    placed = shop.place(phone, pickup("400.00"), redeem="50", token=token).get_json()
    shop.complete(placed["id"])
    view = shop.client.get(
        f"/v1/orders/{placed['id']}", headers=bearer(make_key("operator"), None)
    ).get_json()
    assert view["status"] == "completed"
    assert [m["kind"] for m in view["movements"]] == ["hold", "spend", "accrual"]
    assert view["order"]["items"][0]["price"] == "400.00"


def test_an_unknown_order_is_404(shop):
    assert shop.complete("nope").status_code == 404
    assert (
        shop.client.get("/v1/orders/nope", headers=bearer(shop.checkout, None)).status_code == 404
    )


def test_an_adjustment_over_a_balance_that_disagrees_with_the_ledger_is_refused(app, shop):
    """It would move the balance and the ledger alike, mending nothing, and write a wrong
    balance_after into the append-only ledger, which reconcile then reports for good."""
    phone, _ = shop.guest("100")
    with get_db(app).unit_of_work() as session:  # a bug, or a hand, changed the row
        session.execute(update(Guest).where(Guest.phone == phone).values(balance=15_000))
        session.commit()
    refused = shop.client.post(f"/v1/guests/{phone}/adjustments",
                               json={"amount": "-50.00", "reason": "сверка",
                                     "operator": shop.person()},
                               headers=bearer(shop.operator))  # fmt: skip
    assert refused.status_code == 409
    assert "disagrees with the ledger (100.00)" in refused.get_json()["detail"]
    with get_db(app).unit_of_work(write=False) as session:
        guest = session.scalar(select(Guest).where(Guest.phone == phone))
        entries = session.scalar(select(func.count()).where(LedgerEntry.guest_id == guest.id))
    assert (guest.balance, entries) == (15_000, 1)  # nothing written


def test_an_adjustment_needs_a_reason_that_is_not_blank(shop):
    phone, _ = shop.guest()
    blank = shop.client.post(f"/v1/guests/{phone}/adjustments",
                             json={"amount": "5.00", "reason": "   ", "operator": shop.person()},
                             headers=bearer(shop.operator))  # fmt: skip
    assert blank.status_code == 422 and "reason" in problem_fields(blank)


def test_an_operator_adjustment_is_signed_reasoned_and_cannot_overdraw(app, shop):
    phone, token = shop.guest("100")
    debit = shop.client.post(
        f"/v1/guests/{phone}/adjustments",
        json={"amount": "-30", "reason": "ошибка начисления", "operator": shop.person()},
        headers=bearer(shop.operator),
    )
    assert debit.status_code == 201
    assert debit.get_json()["balance"] == "70.00"
    entry = debit.get_json()["entry"]
    assert (entry["actor"], entry["amount"]) == ("call-center", "-30.00")
    assert "ошибка начисления" in entry["reason"]
    over = shop.client.post(
        f"/v1/guests/{phone}/adjustments",
        json={"amount": "-71", "reason": "слишком много", "operator": shop.person()},
        headers=bearer(shop.operator),
    )
    assert over.status_code == 422
    assert shop.me(token)["balance"] == "70.00"
    assert_ledger_reconciles(get_db(app))


@pytest.mark.parametrize("amount", ["25.50", "-0.01"])
def test_an_adjustment_keeps_the_balance_in_whole_bonuses(app, shop, amount):
    """25.50 was credited, and its half bonus could never be spent (redeem takes whole
    bonuses): it only waited to burn (a contract audit)."""
    phone, token = shop.guest("100")
    refused = shop.client.post(f"/v1/guests/{phone}/adjustments",
                               json={"amount": amount, "reason": "компенсация",
                                     "operator": shop.person()},
                               headers=bearer(shop.operator))  # fmt: skip
    assert refused.status_code == 422
    assert set(problem_fields(refused)) == {"amount"}
    assert refused.get_json()["step"] == "1.00"
    assert shop.me(token)["balance"] == "100.00"
    assert_ledger_reconciles(get_db(app))


def test_a_balance_left_with_a_part_of_a_bonus_can_be_mended(app, shop):
    """25.50 credited before adjustments were whole: the 0.50 that makes it whole again is
    accepted (a review); any other part of a bonus is not."""
    phone, token = shop.guest("25")
    with get_db(app).unit_of_work() as session:
        guest_id = session.scalar(select(Guest.id).where(Guest.phone == phone))
        ledger.move(session, guest_id, "adjustment", 50, actor="old release", reason="до правила",
                    now=utcnow())  # fmt: skip
        session.commit()
    def adjust(amount: str):
        return shop.client.post(f"/v1/guests/{phone}/adjustments", headers=bearer(shop.operator),
                                json={"amount": amount, "reason": "округление",
                                      "operator": shop.person()})  # fmt: skip

    assert adjust("-0.25").status_code == 422
    assert adjust("-0.50").status_code == 201
    assert shop.me(token)["balance"] == "25.00"


def test_adjusting_an_unknown_guest_is_404(shop):
    response = shop.client.post(
        f"/v1/guests/{new_phone()}/adjustments",
        json={"amount": "5", "reason": "проверка", "operator": shop.person()},
        headers=bearer(shop.operator),
    )
    assert response.status_code == 404


@pytest.mark.parametrize("oid", ["a/b", "2026/11/26-1", ".", "..", "A-1\n", "A\x7f"])
def test_an_order_id_that_cannot_be_a_url_segment_is_refused(shop, oid):
    """An id with '/' was placed (201) but its complete, cancel and view were all 404."""
    phone, _ = shop.guest()
    response = shop.place(phone, pickup("100.00"), oid=oid)
    assert response.status_code == 422, response.get_json()
    assert set(problem_fields(response)) == {"id"}


def test_an_order_id_with_dots_spaces_and_cyrillic_is_reachable(shop):
    phone, _ = shop.guest()
    oid = "Заказ 1.2_x"
    assert shop.place(phone, pickup("100.00"), oid=oid).status_code == 201
    assert shop.complete(quote(oid, safe="")).status_code == 200


def test_a_cancelled_order_stops_counting_as_the_last_order(app, shop):
    """The published program's expiry.cancelled_orders is "ignore": cancelling a completed
    order takes the idle count back to the completed order before it, or to registration."""
    phone, _ = shop.guest()
    first, second = completed(shop, phone, "2027-03-01 09:00:00", "2027-05-01 09:00:00")
    with freeze_time("2027-05-01 09:00:00"):
        assert looked_up(shop, phone)["last_order_at"].startswith("2027-05-01")
        assert shop.cancel(second).status_code == 200
        me = looked_up(shop, phone)
        assert me["last_order_at"].startswith("2027-03-01")
        assert me["burns_at"] == "2028-03-02T00:00:00+03:00"  # the night after 1 March 2028
        shop.cancel(first)
        assert looked_up(shop, phone)["last_order_at"] is None  # counted from registration again


def test_cancelling_an_older_order_leaves_the_last_order_time(app, shop):
    phone, _ = shop.guest()
    first, _ = completed(shop, phone, "2027-03-01 09:00:00", "2027-05-01 09:00:00")
    with freeze_time("2027-05-01 09:00:00"):
        shop.cancel(first)
        assert looked_up(shop, phone)["last_order_at"].startswith("2027-05-01")


def completed(shop, phone: str, *moments: str) -> list[str]:
    """An order placed and completed at each moment; their ids."""
    ids = []
    for moment in moments:
        with freeze_time(moment):
            ids.append(shop.place(phone, pickup("100.00")).get_json()["id"])
            shop.complete(ids[-1])
    return ids


def test_a_program_may_count_cancelled_orders(app, shop):
    from bonus_service.services import checkout

    phone, _ = shop.guest()
    with freeze_time("2027-05-01 09:00:00"):
        placed = shop.place(phone, pickup("100.00")).get_json()
        shop.complete(placed["id"])
        with get_db(app).unit_of_work() as session:
            site = session.scalar(select(ApiClient.id).where(ApiClient.name == "site"))
            checkout.cancel(session, site, placed["id"], "test", utcnow(),
                            cancelled_orders="count")  # fmt: skip
            session.commit()
        assert looked_up(shop, phone)["last_order_at"].startswith("2027-05-01")


def looked_up(shop, phone: str) -> dict:
    """The operator's view of the guest (a guest token would have expired by these dates)."""
    answer = shop.client.get(f"/v1/guests/{phone}", headers=bearer(shop.operator, None))
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def test_an_accrual_held_by_another_order_is_not_written_off(app, shop):
    """A completed order's accrual held by another open order was written off on cancel;
    cancelling that other order then gave the guest the bonuses back to keep (minted). The
    cancel now waits (409) until the holds are resolved, and then takes back what it can."""
    phone, token = shop.guest()
    first = shop.place(phone, pickup("1000.00")).get_json()
    assert shop.complete(first["id"]).get_json()["accrued"] == "100.00"
    second = shop.place(phone, pickup("500.00"), redeem="100", token=token).get_json()
    refused = shop.cancel(first["id"])
    assert refused.status_code == 409, refused.get_json()
    assert refused.get_json()["held"] == "100.00"
    assert shop.me(token)["balance"] == "100.00"  # nothing moved
    assert shop.cancel(second["id"]).get_json()["released"] == "100.00"
    body = shop.cancel(first["id"]).get_json()
    assert (body["reversed"], body["written_off"], body["balance"]) == ("100.00", "0.00", "0.00")
    assert_ledger_reconciles(get_db(app))


def test_an_accrual_spent_by_the_order_that_held_it_is_written_off(app, shop):
    phone, token = shop.guest()
    first = shop.place(phone, pickup("1000.00")).get_json()
    shop.complete(first["id"])  # earns 100
    second = shop.place(phone, pickup("500.00"), redeem="100", token=token).get_json()
    assert shop.cancel(first["id"]).status_code == 409
    shop.complete(second["id"])  # spends the 100, earns 3% of 500 = 15
    body = shop.cancel(first["id"]).get_json()
    assert (body["reversed"], body["written_off"], body["balance"]) == ("15.00", "85.00", "0.00")
    assert_ledger_reconciles(get_db(app))


def cancel_beside_another(db, first: str, second: str) -> tuple[dict, dict]:
    """Cancel `first` and, before its transaction commits, start cancelling `second` in a
    thread of its own; give it half a second to get as far as it can, then commit `first`.
    Returns what each cancel moved, in kopecks."""
    moved = {}
    with db.unit_of_work(write=False) as session:
        site = session.scalar(select(ApiClient.id).where(ApiClient.name == "site"))

    def cancel_second():
        with db.unit_of_work() as session:
            moved[second] = cancel(session, site, second, "test", utcnow())[1]
            session.commit()

    with db.unit_of_work() as session:
        moved[first] = cancel(session, site, first, "test", utcnow())[1]
        other = threading.Thread(target=cancel_second)
        other.start()
        other.join(0.5)  # the second waits on the guest's row, or runs ahead of the first
        session.commit()
    other.join(10)
    return moved[first], moved[second]


@pytest.mark.skipif(not PG_URL, reason="SQLite runs one writer at a time: no two cancels at once")
def test_two_cancels_at_once_recover_a_write_off_once(app, shop):
    """A's cancel wrote off 20 of its 100, spent on B and C. Cancelling B and C at the same
    time, each would count the 20 as still owed unless the second waits for the first: it
    does, on the guest's row, which the refund writes before the write-offs are counted."""
    phone, token = shop.guest("65")
    a = shop.place(phone, pickup("1000.00")).get_json()["id"]
    shop.complete(a)  # +100: 165
    b = shop.place(phone, pickup("300.00"), redeem="60", token=token).get_json()["id"]
    shop.complete(b)  # −60 +9: 114
    c = shop.place(phone, pickup("200.00"), redeem="40", token=token).get_json()["id"]
    shop.complete(c)  # −40 +6: 80
    assert shop.cancel(a).get_json()["written_off"] == "20.00"
    moved_b, moved_c = cancel_beside_another(get_db(app), b, c)
    assert (moved_b["recovered"], moved_c["recovered"]) == (2_000, 0)
    assert shop.me(token)["balance"] == "65.00"
    assert_ledger_reconciles(get_db(app))


@pytest.mark.skipif(not PG_URL, reason="SQLite runs one writer at a time: no two cancels at once")
def test_a_cancel_that_only_earned_waits_for_a_refund_in_flight(app, shop):
    """B spends A's 100. While B's cancel (refund 100) is uncommitted, A's cancel read the
    balance before the refund, wrote off what it could have taken, and B's recovery had already
    looked while A was completed: bonuses minted (race audit). A's cancel now locks the
    guest's row first, waits for B, and takes back all it earned."""
    phone, token = shop.guest()
    a = shop.place(phone, pickup("1000.00")).get_json()["id"]
    shop.complete(a)  # +100
    b = shop.place(phone, pickup("500.00"), redeem="100", token=token).get_json()["id"]
    shop.complete(b)  # −100 +15: 15
    _, moved_a = cancel_beside_another(get_db(app), b, a)  # unlocked, A read 15, wrote off 85
    assert (moved_a["reversed"], moved_a["written_off"]) == (10_000, 0)
    assert shop.me(token)["balance"] == "0.00"
    assert_ledger_reconciles(get_db(app))
