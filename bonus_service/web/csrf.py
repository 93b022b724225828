"""CSRF protection for the pages' forms: a per-session token in a hidden field."""

from __future__ import annotations

import hmac
import secrets

from flask import request, session
from werkzeug.exceptions import Forbidden

FIELD = "csrf_token"
_KEY = "csrf"


class CsrfRefused(Forbidden):
    """A POST without the session's token: forged from another site, or a stale page."""

    description = (
        "Форма устарела или отправлена не с нашей страницы. Обновите страницу и попробуйте ещё раз."
    )


def token() -> str:
    """The token the session's forms carry, made on first use."""
    if _KEY not in session:
        rotate()
    return session[_KEY]


def rotate() -> None:
    """A fresh token at login and logout, so a token seen before cannot outlive them."""
    session[_KEY] = secrets.token_urlsafe(32)
    session.permanent = True


def check() -> None:
    """Refuse a POST whose form does not carry the session's token (compared in constant time)."""
    if request.method != "POST":
        return
    expected, sent = session.get(_KEY), request.form.get(FIELD, "")
    if not expected or not hmac.compare_digest(expected.encode(), sent.encode()):
        raise CsrfRefused()
