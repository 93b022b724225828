"""Guest login by SMS code: ask for a code, verify it for a token, log out."""

from flask import current_app, g
from flask.views import MethodView
from flask_smorest import Blueprint

from bonus_service import program
from bonus_service.app_db import get_db
from bonus_service.auth import require_guest
from bonus_service.clock import utcnow
from bonus_service.http import client_address
from bonus_service.schemas import CodeSentOut, PhoneIn, VerifiedOut, VerifyIn
from bonus_service.secrets_store import code_secret
from bonus_service.services import accounts, guests, logins
from bonus_service.sms_backend import sender

blp = Blueprint("auth", __name__, url_prefix="/v1/auth", description="Guest login by SMS code.")


def _settings():
    return current_app.extensions["bonus_settings"]


@blp.route("/sms-code")
class SmsCode(MethodView):
    @blp.arguments(PhoneIn())
    @blp.response(202, CodeSentOut)
    @blp.alt_response(429, description="Too many codes for this phone, client address or its "
                      "network (IPv4 /24, IPv6 /48); `limit` says which, Retry-After when.")
    @blp.alt_response(503, description="SMS cannot go now: the provider is down, or the "
                      "service's hourly SMS budget is spent (`limit`: `sms_budget`).")
    def post(self, args):
        """Send a login code; the answer is the same whether or not the phone is registered."""
        return logins.send_login_code(
            get_db(),
            _settings(),
            code_secret(),
            sender(),
            args["phone"],
            client_address(),
            utcnow(),
        )


@blp.route("/verify")
class Verify(MethodView):
    @blp.arguments(VerifyIn())
    @blp.response(200, VerifiedOut)
    @blp.alt_response(401, description="Wrong or expired code; `attempts_left` says what is left.")
    @blp.alt_response(429, description="Too many wrong codes; request a new one.")
    def post(self, args):
        """Exchange a code for a guest token; the first success registers the guest."""
        now = utcnow()
        with get_db().unit_of_work() as session:
            guest, token, expires_at = logins.log_in(
                session, _settings(), code_secret(), args["phone"], args["code"], now
            )
            session.commit()
        view = accounts.account(guest, program.book(), now)
        return {"token": token, "expires_at": expires_at, "guest": view}


@blp.route("/logout")
class Logout(MethodView):
    @require_guest
    @blp.doc(security=[{"guestToken": []}])
    @blp.response(204)
    def post(self):
        """Revoke the guest token this request carries."""
        with get_db().unit_of_work() as session:
            guests.revoke_token(session, g.guest_token, utcnow())
            session.commit()
