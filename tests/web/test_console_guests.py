"""The console finds, registers and adjusts guests through the API's own service verbs."""

import re

from freezegun import freeze_time
from sqlalchemy import select

from bonus_service.app_db import get_db
from bonus_service.clock import utcnow
from bonus_service.models import AuditEntry, Guest
from bonus_service.services import audit
from tests.support.fake_twilio import CODE
from tests.support.pages import cabinet_login, console_login, csrf_token, make_operator, text
from tests.support.phones import new_phone

SEEN = re.compile(r'name="seen" value="(\d+)"')


def operator_client(app, client, role: str = "operator"):
    make_operator(app, role=role)
    console_login(client)
    return client


def audit_of(app, action: str) -> list[AuditEntry]:
    with get_db(app).unit_of_work(write=False) as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def adjust(client, phone: str, seen: str, **form):
    data = {"phone": phone, "seen": seen, "csrf_token": csrf_token(client, "/console"), **form}
    return client.post("/console/adjust", data=data)


def test_a_guest_is_found_by_a_phone_typed_any_common_way(app, client, shop):
    phone, _ = shop.guest("120.00")
    operator_client(app, client)
    typed = f"8 ({phone[2:5]}) {phone[5:8]}-{phone[8:10]}-{phone[10:]}"
    page = client.get("/console/guest", query_string={"phone": typed})
    assert page.status_code == 200
    assert 'data-testid="balance">120 бонусов' in text(page)
    [lookup] = audit_of(app, "guest.lookup")
    assert (lookup.actor, lookup.target, lookup.details) == (
        "operator:anna",
        phone,
        {"found": True},
    )


def test_an_unknown_phone_is_said_so_and_offered_for_registration(app, client):
    operator_client(app, client)
    page = client.get("/console/guest", query_string={"phone": "+7 912 555 00 11"})
    assert page.status_code == 404
    assert "Гость с номером +7 912 555-00-11 не зарегистрирован." in text(page)
    assert 'id="register-phone" name="phone" type="tel" value="+7 912 555-00-11"' in text(page)


def test_registering_from_the_console_texts_the_guest_and_is_audited(app, client, fake_twilio):
    operator_client(app, client)
    phone = new_phone()
    form = {"phone": phone, "csrf_token": csrf_token(client, "/console")}
    registered = client.post("/console/guests", data=form)
    assert registered.status_code == 303
    assert "ВилкиНет" in fake_twilio.messages_to(phone)[-1]["body"]
    with get_db(app).unit_of_work(write=False) as session:
        assert session.scalar(select(Guest.registered_by).where(Guest.phone == phone)) == (
            "operator:anna"
        )
    assert [a.actor for a in audit_of(app, "guest.register")] == ["operator:anna"]


def test_when_the_sms_fails_nobody_is_left_half_registered(app, client, fake_twilio):
    operator_client(app, client)
    phone = new_phone()
    fake_twilio.fail_next("server_error")
    form = {"phone": phone, "csrf_token": csrf_token(client, "/console")}
    refused = client.post("/console/guests", data=form)
    assert refused.status_code == 503
    assert "СМС сейчас не отправляются, гость не зарегистрирован." in text(refused)
    with get_db(app).unit_of_work(write=False) as session:
        assert session.scalar(select(Guest).where(Guest.phone == phone)) is None
    assert audit_of(app, "guest.register") == []
    assert client.post("/console/guests", data=form).status_code == 303


def test_an_adjustment_names_every_missing_field_at_once(app, client, shop):
    phone, _ = shop.guest()
    operator_client(app, client)
    refused = adjust(client, phone, "0", amount="-5", reason="   ")
    page = text(refused)
    assert refused.status_code == 422
    assert "Выберите: начислить или списать." in page
    assert "Без знака: начислить или списать — выберите выше." in page
    assert "Укажите причину: без неё корректировку не провести." in page
    assert audit_of(app, "guest.adjust") == []


def test_a_card_shown_again_beside_a_refused_form_is_an_audited_lookup(app, client, shop):
    """The refused form showed the card of whatever phone it was posted with, unaudited: a
    way to read any guest's balance and history without a trace (a security audit)."""
    phone, _ = shop.guest("120.00")
    operator_client(app, client)
    refused = adjust(client, phone, "0", amount="", reason="")
    assert refused.status_code == 422
    assert 'data-testid="balance">120 бонусов' in text(refused)
    stale = adjust(client, phone, "0", direction="credit", amount="5", reason="компенсация")
    assert stale.status_code == 409
    assert [(a.actor, a.target) for a in audit_of(app, "guest.lookup")] == [
        ("operator:anna", phone), ("operator:anna", phone)]


def test_a_debit_over_what_is_available_is_refused_beside_the_amount(app, client, shop):
    phone, _ = shop.guest("40.00")
    operator_client(app, client)
    seen = SEEN.search(text(client.get("/console/guest", query_string={"phone": phone}))).group(1)
    refused = adjust(client, phone, seen, direction="debit", amount="41", reason="ошибка")
    assert refused.status_code == 422
    assert 'id="amount-error">Столько списать нельзя' in text(refused)
    part = adjust(client, phone, seen, direction="debit", amount="0,50", reason="ошибка")
    assert part.status_code == 422
    assert 'id="amount-error">Бонусы начисляются и списываются только целыми.' in text(part)
    done = adjust(client, phone, seen, direction="debit", amount="40", reason="ошибка кассира")
    assert done.status_code == 303
    page = text(client.get(done.location))
    assert 'data-testid="balance">0 бонусов' in page
    assert "Списано оператором 40 бонусов: ошибка кассира" in page


def test_the_same_form_sent_twice_adjusts_once(app, client, shop):
    phone, _ = shop.guest("10.00")
    operator_client(app, client)
    seen = SEEN.search(text(client.get("/console/guest", query_string={"phone": phone}))).group(1)
    form = {"direction": "credit", "amount": "25", "reason": "компенсация"}
    assert adjust(client, phone, seen, **form).status_code == 303
    twice = adjust(client, phone, seen, **form)
    assert twice.status_code == 409
    assert "Пока форма была открыта, баланс изменился." in text(twice)
    assert [a.details["amount"] for a in audit_of(app, "guest.adjust")] == ["10.00", "25.00"]


def test_the_audit_view_shows_the_newest_first_a_page_at_a_time(app, client):
    operator_client(app, client, "supervisor")  # its login is the oldest entry
    with get_db(app).unit_of_work() as session:
        for n in range(55):
            audit.record(session, "operator:boris", "guest.lookup", f"+7912000{n:04d}", utcnow())
        session.commit()
    first = text(client.get("/console/audit"))  # its own opening is the newest entry
    assert first.index("Просмотр журнала") < first.index("+7 912 000-00-54")
    assert first.index("+7 912 000-00-54") < first.index("+7 912 000-00-53")
    assert "+7 912 000-00-06" in first and "+7 912 000-00-05" not in first
    older = re.search(r'href="(/console/audit\?before=\d+)"', first).group(1)
    second = text(client.get(older))
    assert "+7 912 000-00-05" in second and "Вход в консоль" in second
    assert "?before=" not in second
    assert "оператор boris" in first and "operator:" not in first


def test_the_audit_view_says_who_and_how_much_in_russian(app, client):
    operator_client(app, client, "supervisor")
    with get_db(app).unit_of_work() as session:
        for actor in ("cli", "shop"):
            audit.record(session, actor, "guest.adjust", "+79120000001", utcnow(),
                         amount="-5.00", reason="ошибка")  # fmt: skip
        session.commit()
    page = text(client.get("/console/audit"))
    assert "командная строка" in page and "ключ API «shop»" in page
    assert "сумма: −5 бонусов" in page and "-5.00" not in page


def test_a_double_submit_texts_one_sms_whose_code_works(app, client, fake_twilio, monkeypatch):
    """The SMS goes before the registration's transaction; a second click that lands while
    the first is texting is told a code went a moment ago (429) and texts nothing, and the
    first click's registration stands with the one code sent."""
    from bonus_service.services import registrations

    operator_client(app, client)
    phone = new_phone()
    form = {"phone": phone, "csrf_token": csrf_token(client, "/console")}
    texting = registrations.text_code

    def the_second_click_lands_meanwhile(*args, **kwargs):
        texting(*args, **kwargs)
        monkeypatch.setattr(registrations, "text_code", texting)
        assert client.post("/console/guests", data=form).status_code == 429

    monkeypatch.setattr(registrations, "text_code", the_second_click_lands_meanwhile)
    assert client.post("/console/guests", data=form).status_code == 303
    (message,) = fake_twilio.messages_to(phone)
    verified = client.post(
        "/v1/auth/verify", json={"phone": phone, "code": CODE.search(message["body"]).group()}
    )
    assert verified.status_code == 200, verified.get_json()


def test_the_card_says_what_the_burn_date_counts_from_beside_a_cancelled_last_order(
    app, client, shop
):
    """«Последний заказ» shows the latest order, cancelled or not; the idle count goes from
    the last completed one, which the card now names (journey audit)."""
    from tests.support.shop import pickup

    operator_client(app, client)
    phone, _ = shop.guest()
    kept = shop.place(phone, pickup("400.00")).get_json()["id"]
    shop.complete(kept)
    dropped = shop.place(phone, pickup("300.00")).get_json()["id"]
    shop.cancel(dropped)
    page = text(client.get("/console/guest", query_string={"phone": phone}))
    assert f"{dropped} от " in page and "— отменён" in page
    assert "Срок сгорания идёт от</dt>" in page and "последнего оплаченного заказа, " in page


def test_a_burn_date_that_has_passed_is_said_as_the_next_night(app, client, shop):
    """An operator's credit to a guest idle for over a year burns at the next nightly run;
    the card said «в ночь на» a day long gone (an expiry audit). Both pages say it now."""
    with freeze_time("2024-01-10 09:00:00"):
        phone, _ = shop.guest()
    shop.adjust(phone, "300", "компенсация")
    operator_client(app, client)
    page = text(client.get("/console/guest", query_string={"phone": phone}))
    said = 'data-testid="burns-at">при ближайшем ночном сгорании: срок без заказов уже прошёл'
    assert said in page
    guest_client = app.test_client()
    cabinet_login(guest_client, shop.fake, phone)
    assert "Бонусы сгорят <strong>этой ночью</strong>" in text(guest_client.get("/cabinet"))
