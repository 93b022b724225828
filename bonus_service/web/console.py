"""The call-center console (/console): its blueprint, operator login and logout.

The guest pages are in console_guests.py, the review of held adjustments in console_review.py
and the audit view in console_audit.py. Sessions live in the operator_sessions table; the cookie
holds only a token, so logging out or disabling the account ends them for good. Every action is
audited as `operator:<name>`; what a person may open depends on their role (`role_required`).
"""

from __future__ import annotations

import functools
import math

from flask import (
    Blueprint,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.exceptions import Forbidden

from bonus_service.app_db import unit_of_work
from bonus_service.clock import utcnow
from bonus_service.http import client_address
from bonus_service.services import audit, operators
from bonus_service.web import csrf, pages, wording

blp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates")
pages.serve_as_pages(blp, private=True)
CONSOLE = "console_token"


def actor(name: str | None = None) -> str:
    return f"{wording.OPERATOR_PREFIX}{name or g.operator.name}"


def operator_required(view):
    """Pages for a logged-in operator; anyone else is sent to the login form."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        with unit_of_work(write=False) as db_session:
            operator = operators.session_operator(db_session, session.get(CONSOLE), utcnow())
        if operator is None:
            session.pop(CONSOLE, None)
            return redirect(url_for("console.login"), 303)  # also from the charts blueprint
        g.operator = operator
        return view(*args, **kwargs)

    return wrapper


ROLE_NAMES = {"operator": "оператор", "supervisor": "старший смены", "marketing": "маркетинг"}


class RoleRefused(Forbidden):
    """A page the logged-in person's role does not open."""

    def __init__(self, role: str):
        super().__init__(f"Эта страница недоступна вашей роли («{ROLE_NAMES.get(role, role)}»).")


def role_required(*roles: str):
    """Pages for some roles only (under `operator_required`); anyone else gets 403, and the
    refusal is audited: a person trying pages their role does not open is worth knowing of."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if g.operator.role not in roles:
                with unit_of_work() as db_session:
                    audit.record(db_session, actor(), "console.refused", None, utcnow(),
                                 page=request.path, role=g.operator.role)  # fmt: skip
                    db_session.commit()
                raise RoleRefused(g.operator.role)
            return view(*args, **kwargs)

        return wrapper

    return decorate


GUEST_PAGES = role_required(*operators.GUEST_ROLES)  # marketing touches no guest
SUPERVISOR_PAGES = role_required(operators.SUPERVISOR)


@blp.get("/login")
def login():
    return render_template("console_login.html", errors={}, name="")


@blp.post("/login")
def log_in():
    """Name and password; five wrong passwords in a row close the name for 15 minutes.

    Every typed name gets the same answers, an operator's or not (the countdown, the lock), so
    the page never tells which names exist; too many failures from one address close it too.
    """
    name, password = request.form.get("name", "").strip(), request.form.get("password", "")
    typed = {"name": name, "password": password}
    missing = {field: "Заполните это поле." for field, value in typed.items() if not value}
    if missing:
        return render_template("console_login.html", errors=missing, name=name), 422
    now = utcnow()
    limit = current_app.extensions["bonus_settings"].console_failures_per_address
    with unit_of_work() as db_session:
        try:
            operator = operators.authenticate(
                db_session, name, password, now, address=client_address(), address_limit=limit
            )
        except operators.LoginRefused as refused:
            _record_refusal(db_session, name, refused, now)
            return _refused_login(name, refused, now)
        if (replaced := session.get(CONSOLE)) is not None:
            # a login over a live session ends that one: its cookie, if copied, dies with it
            operators.close_session(db_session, replaced, now)
        token = operators.open_session(db_session, operator, now)
        audit.record(db_session, actor(operator.name), "operator.login", None, now)
        db_session.commit()
    csrf.rotate()
    session[CONSOLE] = token
    return redirect(url_for(".home"), 303)


def _record_refusal(db_session, name: str, refused: operators.LoginRefused, now) -> None:
    if not refused.known:
        return  # no such account: nothing to pin it on, and the typed name is not trusted
    if refused.address_locked:
        why = "address locked"
    elif refused.disabled:
        why = "account disabled"
    else:
        why = "wrong password" if refused.attempts_left is not None else "locked"
    until = refused.locked_until.isoformat() if refused.locked_until else None
    who = actor(operators.normalise_name(name))
    audit.record(db_session, who, "operator.login_refused", None, now, why=why, locked_until=until)
    db_session.commit()


def _refused_login(name: str, refused: operators.LoginRefused, now):
    if refused.locked_until is not None:
        until = wording.local(refused.locked_until, "%H:%M")
        message = (
            f"Слишком много неудачных попыток входа с этого адреса: вход закрыт до {until}."
            if refused.address_locked
            else f"Слишком много неверных паролей: вход закрыт до {until}."
        )
        seconds = math.ceil((refused.locked_until - now).total_seconds())
        page = render_template("console_login.html", errors={"name": message}, name=name)
        return page, 429, {"Retry-After": str(max(1, seconds))}
    message = "Неверное имя или пароль."
    if refused.attempts_left is not None and refused.attempts_left <= 2:
        lock = wording.wait(int(operators.LOCK.total_seconds()))
        message += f" Осталось попыток: {refused.attempts_left}, потом вход закроется на {lock}."
    return render_template("console_login.html", errors={"password": message}, name=name), 422


@blp.post("/logout")
def logout():
    """End the session in the database, so a copy of the cookie is worthless."""
    token = session.pop(CONSOLE, None)
    now = utcnow()
    with unit_of_work() as db_session:
        operator = operators.session_operator(db_session, token, now)
        if operator is not None:
            operators.close_session(db_session, token, now)
            audit.record(db_session, actor(operator.name), "operator.logout", None, now)
            db_session.commit()
    csrf.rotate()
    return redirect(url_for(".login"), 303)
