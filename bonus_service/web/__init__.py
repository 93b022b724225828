"""Pages people use: the guest cabinet, the call-center console, the published rules.

Server-rendered Russian HTML on top of the same service verbs as the API, in plain Flask
blueprints (so they stay out of the OpenAPI spec). See docs/pages.md.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.sessions import SecureCookieSessionInterface


class LazyCookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, minus the work for requests that carry no cookie.

    Every API call arrived without a cookie and still paid for building the signing serializer
    (a key derivation) and parsing cookies: ~50-100 µs a request. A cookie-less request gets
    the same fresh empty session Flask would give it; saving one works as before.
    """

    def open_session(self, app, request):
        if "HTTP_COOKIE" not in request.environ:
            return self.session_class()
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    """The session cookie's flags, the templates' filters and the page blueprints."""
    from bonus_service.web import (
        cabinet,
        charts,
        console,
        console_audit,  # noqa: F401 - its views join the console blueprint
        console_books,  # noqa: F401 - likewise (and its charts join charts' blueprint)
        console_guests,  # noqa: F401 - likewise
        console_programs,  # noqa: F401 - likewise
        console_review,  # noqa: F401 - likewise
        csrf,
        pages,
        rules_page,
        wording,
    )

    settings = app.extensions["bonus_settings"]
    app.config.update(
        SESSION_COOKIE_NAME="bonus_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        PERMANENT_SESSION_LIFETIME=timedelta(days=settings.token_ttl_days),
    )
    app.session_interface = LazyCookieSessions()
    wording.init_app(app)
    # globals, not context: the form macros are imported without the page's context
    app.add_template_global(csrf.token, "csrf_token")
    app.add_template_global(csrf.FIELD, "csrf_field")
    for module in (pages, cabinet, console, rules_page, charts):
        app.register_blueprint(module.blp)
