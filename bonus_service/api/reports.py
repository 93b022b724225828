"""Reports for the restaurant's management: the bonuses owed, and when they burn."""

from datetime import UTC, datetime

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

import rules
from bonus_service import program
from bonus_service.app_db import unit_of_work
from bonus_service.auth import require_scope
from bonus_service.clock import utcnow
from bonus_service.fields import Amount
from bonus_service.problems import invalid
from bonus_service.schemas import Strict
from bonus_service.services.liability import liability

EARLIEST, LATEST = datetime(2000, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)
blp = Blueprint("reports", __name__, url_prefix="/v1/reports", description="Admin reports.")


class LiabilityQuery(Strict):
    months = fields.Integer(
        load_default=12,
        validate=validate.Range(min=1, max=120),
        metadata={"description": "Calendar months of the burn schedule, as_of's own first."},
    )
    as_of = fields.AwareDateTime(
        load_default=None,
        # far enough either way for any report; beyond, calendar arithmetic leaves datetime's range
        validate=validate.Range(min=EARLIEST, max=LATEST),
        metadata={
            "description": "The moment of the report (default now); ISO 8601 with an offset "
            "(write + as %2B in a query string)."
        },
    )


class BurnOut(Schema):
    period = fields.String(
        metadata={
            "description": "`due` (its date has passed: burns at the next nightly run), "
            "a month `YYYY-MM`, or `later`"
        }
    )
    starts_at = fields.DateTime(allow_none=True)
    ends_at = fields.DateTime(allow_none=True)
    guests = fields.Integer(metadata={"description": "Guests whose available bonuses burn then."})
    amount = Amount(attribute="kopecks", metadata={"description": "Bonuses that burn then."})


class LiabilityOut(Schema):
    as_of = fields.DateTime()
    rules_version = fields.String(metadata={"description": "The program whose expiry applies."})
    timezone = fields.String(metadata={"description": "The zone of the months and burn dates."})
    guests = fields.Integer(metadata={"description": "Guests owning bonuses."})
    balance = Amount(metadata={"description": "Bonuses owned by guests: the liability."})
    held = Amount(metadata={"description": "Of those, held by open orders."})
    available = Amount(metadata={"description": "Of those, free to spend (and to burn)."})
    due = fields.Nested(BurnOut)
    months = fields.List(fields.Nested(BurnOut))
    later = fields.Nested(BurnOut)


@blp.route("/liability")
class LiabilityReport(MethodView):
    @require_scope("admin")
    @blp.doc(security=[{"apiKey": []}])
    @blp.arguments(LiabilityQuery(), location="query")
    @blp.response(200, LiabilityOut)
    def get(self, args):
        """Bonuses outstanding, and what burns month by month if no guest orders again."""
        as_of = args["as_of"] or utcnow()
        try:
            in_force = program.in_force(as_of)
        except rules.ProgramError:
            raise invalid("as_of", "no bonus program was in force at that moment") from None
        with unit_of_work(write=False) as session:
            return liability(session, in_force, as_of, args["months"])
