"""The guest cabinet answers every mistake in Russian next to the field, and logs out for good."""

from datetime import UTC, datetime, timedelta

from freezegun import freeze_time
from sqlalchemy import select

from bonus_service.app_db import get_db
from bonus_service.clock import utcnow
from bonus_service.models import GuestToken
from tests.support.http import bearer, login
from tests.support.pages import cabinet_login, csrf_token, text
from tests.support.phones import new_phone
from tests.support.shop import pickup


def ask_code(client, phone: str):
    return client.post("/cabinet/code", data={"phone": phone, "csrf_token": csrf_token(client)})


def test_a_phone_that_cannot_be_read_is_answered_beside_the_phone_field(client, fake_twilio):
    answer = ask_code(client, "12-34")
    page = text(answer)
    assert answer.status_code == 422
    assert 'aria-describedby="phone-hint phone-error"' in page
    assert 'id="phone-error">Не получается прочитать номер. Например: 8 912 345-67-89' in page
    assert 'value="12-34"' in page  # what was typed stays, to be corrected
    assert fake_twilio.messages == []


def test_a_landline_is_refused_because_no_sms_would_reach_it(client):
    answer = ask_code(client, "8 (495) 123-45-67")
    assert answer.status_code == 422
    assert "Это не мобильный номер: на него не придёт СМС." in text(answer)


def test_asking_for_another_code_too_soon_says_how_long_to_wait(client, fake_twilio):
    phone = new_phone()
    assert ask_code(client, phone).status_code == 303
    again = ask_code(client, phone)
    assert again.status_code == 429
    assert 50 <= int(again.headers["Retry-After"]) <= 60
    assert "Код на этот номер уже отправлен — введите его. Новый код можно запросить через" in (
        text(again))
    assert len(fake_twilio.messages_to(phone)) == 1


def test_the_daily_code_limit_says_when_in_hours_and_asks_for_no_code(client, fake_twilio):
    """The 24-hour limit took the guest to the code step («Код … уже отправлен — введите
    его»), though the last code was hours old and long expired (a review)."""
    phone = new_phone()
    with freeze_time(datetime(2026, 3, 2, 6, 0, tzinfo=UTC)) as clock:
        for _ in range(10):
            assert ask_code(client, phone).status_code == 303
            client.post("/cabinet/phone", data={"csrf_token": csrf_token(client)})  # back
            clock.tick(13 * 60)
        refused = ask_code(client, phone)
    page = text(refused)
    assert refused.status_code == 429
    assert "Слишком часто. Новый код можно запросить через 22\u00a0часа." in page
    assert 'name="code"' not in page


def test_a_guest_the_call_center_registered_can_type_the_code_from_the_sms(
    client, fake_twilio, make_key
):
    """The registration texted a code; asking the cabinet for one within the resend wait was
    a 429 on the phone step, with nowhere to type the code the guest held (journey audit)."""
    phone = new_phone()
    registered = client.post("/v1/guests", json={"phone": phone},
                             headers=bearer(make_key("operator")))  # fmt: skip
    assert registered.status_code == 201
    code = fake_twilio.last_code(phone)
    asked = ask_code(client, phone)
    assert asked.status_code == 429 and 'name="code"' in text(asked)
    verified = client.post("/cabinet/verify", data={"code": code, "csrf_token": csrf_token(client)})
    assert verified.status_code == 303 and "Мои бонусы" in text(client.get("/cabinet"))


def test_a_wrong_code_says_how_many_tries_are_left_and_the_sixth_is_refused(client, fake_twilio):
    phone = new_phone()
    ask_code(client, phone)
    wrong = f"{(int(fake_twilio.last_code(phone)) + 1) % 1_000_000:06d}"
    answers = [
        client.post("/cabinet/verify", data={"code": wrong, "csrf_token": csrf_token(client)})
        for _ in range(5)
    ]
    assert "Неверный код. Осталось попыток: 4." in text(answers[0])
    assert [a.status_code for a in answers[:4]] == [422, 422, 422, 422]
    assert answers[4].status_code == 429
    assert "Слишком много неверных попыток" in text(answers[4])
    assert 1 <= int(answers[4].headers["Retry-After"]) <= 60  # as docs/pages.md promises


def test_letters_instead_of_a_code_are_answered_without_spending_a_try(client, fake_twilio):
    phone = new_phone()
    ask_code(client, phone)
    answer = client.post("/cabinet/verify", data={"code": "abc", "csrf_token": csrf_token(client)})
    assert answer.status_code == 422 and "Введите 6 цифр из СМС." in text(answer)
    assert cabinet_login_with_code(client, fake_twilio.last_code(phone)).status_code == 303


def cabinet_login_with_code(client, code: str):
    return client.post("/cabinet/verify", data={"code": code, "csrf_token": csrf_token(client)})


def test_the_account_says_when_bonuses_burn_and_the_last_day_to_keep_them(
    client, fake_twilio, shop
):
    phone = new_phone()
    with freeze_time(datetime(2026, 3, 15, 11, 0, tzinfo=UTC)):  # 14:00 in Moscow
        cabinet_login(client, fake_twilio, phone)
        shop.adjust(phone, "75.00", "подарок")
        page = text(client.get("/cabinet"))
    assert "Бонусы сгорят в ночь на <strong>16.03.2027</strong>" in page
    assert "не позднее <strong>15.03.2027</strong>" in page
    assert "Начислено оператором 75 бонусов: подарок" in page
    assert "Даты и время — по московскому времени." in page


def test_logging_out_revokes_the_token_so_a_copied_cookie_opens_nothing(app, client, fake_twilio):
    phone = new_phone()
    cabinet_login(client, fake_twilio, phone)
    copied = client.get_cookie("bonus_session").value
    assert (
        client.post("/cabinet/logout", data={"csrf_token": csrf_token(client)}).status_code == 303
    )
    client.set_cookie("bonus_session", copied)
    assert "Номер мобильного телефона" in text(client.get("/cabinet"))
    with get_db(app).unit_of_work(write=False) as session:
        assert session.scalar(select(GuestToken.revoked_at)) is not None


def test_logging_out_everywhere_ends_the_guests_app_tokens_too(app, client, fake_twilio):
    phone = new_phone()
    with freeze_time(utcnow()) as clock:  # the session cookie is signed in frozen time
        app_token = login(client, fake_twilio, phone)
        clock.tick(timedelta(minutes=2))  # past the resend wait
        cabinet_login(client, fake_twilio, phone)
        me = {"Authorization": f"Bearer {app_token}"}
        assert "Выйти на всех устройствах" in text(client.get("/cabinet"))
        forged = client.post("/cabinet/logout-everywhere", data={})
        assert forged.status_code == 403  # the form's CSRF token, as every cabinet form
        assert client.get("/v1/me", headers=me).status_code == 200
        out = client.post("/cabinet/logout-everywhere", data={"csrf_token": csrf_token(client)})
        assert out.status_code == 303
        assert "Номер мобильного телефона" in text(client.get("/cabinet"))
        assert client.get("/v1/me", headers=me).status_code == 401
    with get_db(app).unit_of_work(write=False) as session:
        assert None not in session.scalars(select(GuestToken.revoked_at)).all()


def test_the_cabinet_is_never_cached_and_never_framed(client):
    headers = client.get("/cabinet").headers
    assert headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def test_the_history_says_what_happened_to_the_reserve(client, fake_twilio, shop):
    """A hold and its release move no balance: the figure beside them says so («резерв» alone
    read as «still held» beside a release, and a reversal of nothing had no figure)."""
    with freeze_time(datetime(2026, 3, 15, 11, 0, tzinfo=UTC)) as clock:
        phone, token = shop.guest("100")
        cancelled = shop.place(phone, pickup("400.00"), redeem="22", token=token).get_json()["id"]
        shop.cancel(cancelled)
        open_order = shop.place(phone, pickup("400.00"), redeem="21", token=token).get_json()["id"]
        clock.tick(600)  # the login code's resend wait
        cabinet_login(client, fake_twilio, phone)
        page = text(client.get("/cabinet"))
    assert page.count('<span class="history__amount held">в резерв</span>') == 2
    assert page.count('<span class="history__amount held">резерв снят</span>') == 1
    assert f"Снят резерв 22 бонусов: заказ {cancelled} отменён" in page
    assert f"Зарезервирован 21 бонус для оплаты заказа {open_order}" in page
