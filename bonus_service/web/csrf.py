"""CSRF protection for the pages' forms: a per-session token in a hidden field."""

from __future__ import annotations

import functools
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


class CrossSiteRefused(Forbidden):
    """A page that writes on GET (an audited lookup) opened from another site's link."""

    description = "Эта страница открывается только из консоли. Найдите гостя через поиск."


def same_origin_only(view):
    """For a GET page that writes (a guest lookup is audited): refuse a navigation another site
    started, which SameSite=Lax lets through with the cookie and which would write an entry in
    the operator's name. Browsers say so in Sec-Fetch-Site; one that sends no such header (old
    ones, scripts) is let through, as is a typed address or a bookmark ("none")."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if request.headers.get("Sec-Fetch-Site", "none") not in ("same-origin", "none"):
            raise CrossSiteRefused()
        return view(*args, **kwargs)

    return wrapper


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
