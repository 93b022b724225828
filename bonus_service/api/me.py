"""The logged-in guest's own account and history."""

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint

from bonus_service import program
from bonus_service.app_db import get_db, unit_of_work
from bonus_service.auth import require_guest
from bonus_service.clock import utcnow
from bonus_service.models import Guest
from bonus_service.schemas import AccountOut, HistoryOut, HistoryQuery
from bonus_service.services import accounts, guests

blp = Blueprint("me", __name__, url_prefix="/v1/me", description="A guest's own account.")


@blp.route("")
class Me(MethodView):
    @require_guest
    @blp.doc(security=[{"guestToken": []}])
    @blp.response(200, AccountOut)
    def get(self):
        """Balance, what is available to spend, and when it burns."""
        with unit_of_work(write=False) as session:
            guest = session.get(Guest, g.guest_id)
            return accounts.account(guest, program.book(), utcnow())


@blp.route("/history")
class History(MethodView):
    @require_guest
    @blp.doc(security=[{"guestToken": []}])
    @blp.arguments(HistoryQuery(), location="query")
    @blp.response(200, HistoryOut)
    def get(self, args):
        """Ledger entries, newest first; pass `next_before` back as `before` for the next page."""
        with unit_of_work(write=False) as session:
            entries, next_before = accounts.history(
                session, g.guest_id, args["limit"], args["before"]
            )
        return {"entries": entries, "next_before": next_before}


@blp.route("/logout-everywhere")
class LogoutEverywhere(MethodView):
    @require_guest
    @blp.doc(security=[{"guestToken": []}])
    @blp.response(204)
    def post(self):
        """Log out everywhere: every token of this guest ends, the one this request carries
        too (the website, the app, the cabinet, a token left on another device)."""
        with get_db().unit_of_work() as session:
            guests.revoke_every_token(session, g.guest_id, utcnow())
            session.commit()
