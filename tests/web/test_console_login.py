"""Operators log in to the console with a password; wrong passwords lock the name for a while.

Every typed name is counted alike, an operator's or not, so no answer tells which names exist;
too many failures from one client address close the console to that address too.
"""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import requests
from freezegun import freeze_time
from sqlalchemy import select

from bonus_service.app_db import get_db
from bonus_service.clock import utcnow
from bonus_service.models import AuditEntry, OperatorSession
from tests.support.pages import CSRF, PASSWORD, console_login, failures, make_operator, text


def audit_actions(app) -> list[tuple[str, str]]:
    with get_db(app).unit_of_work(write=False) as session:
        return [
            (a.actor, a.action) for a in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]


def test_an_operator_logs_in_and_out_and_both_are_audited(app, client):
    make_operator(app)
    logged_in = console_login(client, name=" Anna ", password=PASSWORD)
    assert logged_in.status_code == 303 and logged_in.location.endswith("/console")
    assert "Выйти (anna)" in text(client.get("/console"))
    token = CSRF.search(text(client.get("/console"))).group(1)
    assert client.post("/console/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/console").location.endswith("/console/login")
    assert audit_actions(app) == [
        ("operator:anna", "operator.login"),
        ("operator:anna", "operator.logout"),
    ]


def test_a_copy_of_the_session_cookie_opens_nothing_after_logout(app, client):
    make_operator(app)
    console_login(client)
    copied = client.get_cookie("bonus_session").value
    token = CSRF.search(text(client.get("/console"))).group(1)
    client.post("/console/logout", data={"csrf_token": token})
    client.set_cookie("bonus_session", copied)
    assert client.get("/console").location.endswith("/console/login")
    with get_db(app).unit_of_work(write=False) as session:
        assert session.scalar(select(OperatorSession.revoked_at)) is not None


def test_an_unknown_name_and_a_wrong_password_get_the_same_answer(app, client):
    make_operator(app)
    unknown = console_login(client, name="boris", password=PASSWORD)
    wrong = console_login(client, name="anna", password="not the password")
    assert unknown.status_code == wrong.status_code == 422
    assert "Неверное имя или пароль." in text(unknown) and "Неверное имя или пароль." in text(wrong)
    assert 'id="password-error"' in text(wrong)


def test_five_wrong_passwords_lock_the_account_for_fifteen_minutes(app, client):
    make_operator(app)
    answers = [console_login(client, password=f"wrong {n}") for n in range(5)]
    assert [a.status_code for a in answers] == [422, 422, 422, 422, 429]
    assert "Осталось попыток: 1" in text(answers[3])
    assert "вход закрыт до" in text(answers[4])
    locked = console_login(client)  # even the right password, while locked
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 800
    with freeze_time(utcnow() + timedelta(minutes=15, seconds=1)):
        assert console_login(client).status_code == 303
    assert failures(app) == 0


def test_a_right_password_resets_the_count_of_wrong_ones(app, client):
    make_operator(app)
    for n in range(4):
        console_login(client, password=f"wrong {n}")
    assert console_login(client).status_code == 303
    assert console_login(client, password="wrong again").status_code == 422
    assert failures(app) == 1


def test_parallel_guesses_cannot_get_past_the_limit(app, live_server):
    make_operator(app)
    browser = requests.Session()
    token = CSRF.search(browser.get(f"{live_server}/console/login", timeout=10).text).group(1)

    def guess(n: int) -> int:
        form = {"name": "anna", "password": f"guess {n}", "csrf_token": token}
        return browser.post(f"{live_server}/console/login", data=form, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = Counter(pool.map(guess, range(12)))
    assert answers == {422: 4, 429: 8}  # four wrong, the fifth locks, the rest find it locked
    assert failures(app) == 5
    refused = [a for a in audit_actions(app) if a[1] == "operator.login_refused"]
    assert len(refused) == 12


def test_a_disabled_operator_can_neither_log_in_nor_keep_a_session(app, client, runner):
    make_operator(app)
    console_login(client)
    result = runner.invoke(args=["bonus", "disable-operator", "anna"])
    assert result.exit_code == 0, result.output
    assert client.get("/console").location.endswith("/console/login")
    assert console_login(client).status_code == 422


def test_an_unknown_name_gets_the_same_countdown_and_lock_as_an_operators(app, client):
    make_operator(app)

    def answers(name: str) -> list[tuple[int, str, str | None]]:
        tries = [console_login(client, name=name, password=f"wrong {n}") for n in range(6)]
        return [
            (a.status_code, text(a).replace(name, "NAME"), a.headers.get("Retry-After"))
            for a in tries
        ]

    with freeze_time(utcnow()):  # the same clock for both: the lock's time is in the text
        assert answers("anna") == answers("boris")
    assert failures(app, "name", "anna") == failures(app, "name", "boris") == 5


def test_a_disabled_operators_name_is_counted_like_any_other(app, client, runner):
    make_operator(app)
    runner.invoke(args=["bonus", "disable-operator", "anna"])
    answers = [console_login(client).status_code for _ in range(5)]  # the right password
    assert answers == [422, 422, 422, 422, 429]



def test_a_wrong_guess_counted_while_a_right_password_is_checked_stays_counted(
    app, monkeypatch
):
    """A right login forgives its own try on the address's count; it used to write back the
    count read before the password check, losing another worker's wrong guess made meanwhile."""
    from bonus_service.services import operators

    make_operator(app)
    checking = operators._matches

    def a_guess_arrives_meanwhile(stored_hash, password):
        monkeypatch.setattr(operators, "_matches", checking)
        with get_db(app).unit_of_work() as other:
            try:
                operators.authenticate(other, "boris", "wrong-guess", utcnow(),
                                       address="10.0.0.1", address_limit=20)  # fmt: skip
            except operators.LoginRefused:
                other.commit()
        return checking(stored_hash, password)

    monkeypatch.setattr(operators, "_matches", a_guess_arrives_meanwhile)
    with get_db(app).unit_of_work() as session:
        operators.authenticate(session, "anna", PASSWORD, utcnow(),
                               address="10.0.0.1", address_limit=20)  # fmt: skip
        session.commit()
    assert failures(app, "address", "10.0.0.1") == 1  # boris's guess; anna's try forgiven
    assert failures(app, "name", "boris") == 1 and failures(app, "name", "anna") == 0
