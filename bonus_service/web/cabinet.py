"""The guest cabinet (/cabinet): log in by SMS code, see the balance, its burn date and history.

The session cookie holds the guest token that services.guests.issue_token made, exactly as the
API hands it out; logging out revokes it, so a copied cookie stops working too. Logging out
everywhere revokes every token of the guest's (other browsers, the app).
"""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for

from bonus_service import program
from bonus_service.app_db import get_db, unit_of_work
from bonus_service.clock import utcnow
from bonus_service.credentials import guest_from_token
from bonus_service.errors import CodeRefused, DomainError, Invalid, RateLimited
from bonus_service.http import client_address
from bonus_service.problems import retry_headers, status_of
from bonus_service.secrets_store import code_secret
from bonus_service.services import accounts, guests, logins, sms_budget
from bonus_service.sms_backend import sender
from bonus_service.web import csrf, fields, pages, wording
from rules.russian import rub

blp = Blueprint("cabinet", __name__, url_prefix="/cabinet", template_folder="templates")
pages.serve_as_pages(blp, private=True)
GUEST = "guest_token"
LOGIN_PHONE = "login_phone"
PAGE = 20


def _settings():
    return current_app.extensions["bonus_settings"]


@blp.get("", strict_slashes=False)
def home():
    """The account of the logged-in guest; otherwise the next login step."""
    now = utcnow()
    with unit_of_work(write=False) as db_session:
        guest = guest_from_token(db_session, session.get(GUEST), now)
        if guest is None:
            session.pop(GUEST, None)
            return _login_step()
        current = program.in_force(now)
        entries, next_before = accounts.history(
            db_session, guest.id, PAGE, request.args.get("before", type=int)
        )
    return render_template(
        "cabinet_account.html",
        account=accounts.account(guest, program.book(), now),
        max_percent=rub(current.max_percent),
        entries=entries,
        next_before=next_before,
    )


def _login_step(errors: dict | None = None, phone: str = "", status: int = 200):
    if LOGIN_PHONE in session:
        minutes = _settings().code_minutes
        page = render_template(
            "cabinet_code.html",
            phone=session[LOGIN_PHONE],
            minutes=wording.wait(minutes * 60),
            errors=errors or {},
        )
    else:
        page = render_template("cabinet_phone.html", phone=phone, errors=errors or {})
    return page, status


# refusals that mean a code went to this phone lately: the guest may well hold it (the daily
# limit does not: its last code may be hours old and long expired)
LIVE_CODE_LIMITS = ("phone_resend", "phone_hour")


@blp.post("/code")
def send_code():
    """Step one: text a login code to the phone (the API's limits and SMS path)."""
    typed = request.form.get("phone", "")
    try:
        phone = fields.phone(typed)
        _send(phone)
    except fields.FieldError as error:
        session.pop(LOGIN_PHONE, None)
        return _login_step({error.field: error.message}, typed, 422)
    except DomainError as refusal:
        if isinstance(refusal, RateLimited) and refusal.limit in LIVE_CODE_LIMITS:
            # a code went to this phone a moment ago (the call center's registration, say):
            # the guest needs the step where it is typed, not the phone field again
            session[LOGIN_PHONE] = phone
        return _refused_send(refusal, typed)
    session[LOGIN_PHONE] = phone
    return redirect(url_for(".home"), 303)


def _send(phone: str) -> None:
    logins.send_login_code(
        get_db(), _settings(), code_secret(), sender(), phone, client_address(), utcnow()
    )


def _refused_send(refusal: DomainError, typed: str):
    """A limit or the SMS provider said no: say it beside the field that asked."""
    field = "resend" if LOGIN_PHONE in session else "phone"
    if isinstance(refusal, RateLimited) and refusal.limit in LIVE_CODE_LIMITS:
        message = (f"Код на этот номер уже отправлен — введите его. Новый код можно запросить "
                   f"через {_wait(refusal)}.")
    elif isinstance(refusal, RateLimited):
        message = f"Слишком часто. Новый код можно запросить через {_wait(refusal)}."
    elif isinstance(refusal, Invalid):  # the SMS provider refused the number
        message = "На этот номер не получается отправить СМС. Проверьте номер."
    elif isinstance(refusal, sms_budget.BudgetSpent):  # the hour's SMS budget: may be long
        message = f"СМС сейчас не отправляются. Попробуйте через {_wait(refusal)}."
    else:
        message = "СМС сейчас не отправляются. Попробуйте через минуту."
    page, _ = _login_step({field: message}, typed)
    return page, status_of(refusal), retry_headers(refusal)


def _wait(refusal: DomainError) -> str:
    return wording.wait(refusal.retry_after or 60)


@blp.post("/verify")
def verify():
    """Step two: the code from the SMS opens the cabinet (and registers a new guest)."""
    phone = session.get(LOGIN_PHONE)
    if phone is None:
        return redirect(url_for(".home"), 303)
    try:
        token = _log_in(phone, fields.code(request.form.get("code")))
    except fields.FieldError as error:
        return _login_step({error.field: error.message}, status=422)
    except DomainError as refusal:  # 401 would need a WWW-Authenticate challenge: a form says 422
        status = status_of(refusal) if isinstance(refusal, RateLimited) else 422
        page, _ = _login_step({"code": _wrong_code(refusal)}, status=status)
        return page, status, retry_headers(refusal)  # a 429's Retry-After
    session.pop(LOGIN_PHONE)
    csrf.rotate()
    session[GUEST] = token
    return redirect(url_for(".home"), 303)


def _log_in(phone: str, code: str) -> str:
    now = utcnow()
    with unit_of_work() as db_session:
        _, token, _ = logins.log_in(db_session, _settings(), code_secret(), phone, code, now)
        if (replaced := session.get(GUEST)) is not None:
            # a login over a live one ends it: a copy of the old cookie stops working
            guests.revoke_token(db_session, replaced, now)
        db_session.commit()
    return token


def _wrong_code(refusal: DomainError) -> str:
    if isinstance(refusal, RateLimited):
        return f"Слишком много неверных попыток. Запросите новый код через {_wait(refusal)}."
    if isinstance(refusal, CodeRefused) and (left := refusal.facts.get("attempts_left")):
        return f"Неверный код. Осталось попыток: {left}."
    return "Код устарел или уже использован. Запросите новый."


@blp.post("/phone")
def change_phone():
    """Back to step one with another number."""
    session.pop(LOGIN_PHONE, None)
    return redirect(url_for(".home"), 303)


@blp.post("/logout")
def logout():
    """Revoke the token and forget it."""
    token = session.pop(GUEST, None)
    if token:
        with unit_of_work() as db_session:
            guests.revoke_token(db_session, token, utcnow())
            db_session.commit()
    csrf.rotate()
    return redirect(url_for(".home"), 303)


@blp.post("/logout-everywhere")
def logout_everywhere():
    """End every token of the guest's, this one too, and forget it."""
    token = session.pop(GUEST, None)
    now = utcnow()
    with unit_of_work() as db_session:
        guest = guest_from_token(db_session, token, now)
        if guest is not None:
            guests.revoke_every_token(db_session, guest.id, now)
            db_session.commit()
    csrf.rotate()
    return redirect(url_for(".home"), 303)
