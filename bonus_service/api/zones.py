"""Delivery zones and their minimum order."""

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from bonus_service.auth import require_scope
from bonus_service.clock import utcnow
from bonus_service.db import unit_of_work
from bonus_service.fields import kopecks
from bonus_service.idempotency import idempotent
from bonus_service.models import Zone
from bonus_service.problems import invalid
from bonus_service.schemas import ZoneIn, ZoneOut, ZonesOut
from bonus_service.services import audit

blp = Blueprint("zones", __name__, url_prefix="/v1/zones", description="Delivery zones.")
CODE_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_")


@blp.route("")
class Zones(MethodView):
    @blp.response(200, ZonesOut)
    def get(self):
        """Every delivery zone with its minimum order."""
        with unit_of_work(write=False) as session:
            return {"zones": session.scalars(select(Zone).order_by(Zone.code)).all()}


@blp.route("/<string:code>")
class ZoneByCode(MethodView):
    @require_scope("admin")
    @idempotent
    @blp.doc(security=[{"apiKey": []}])
    @blp.arguments(ZoneIn())
    @blp.response(200, ZoneOut)
    def put(self, args, code):
        """Create or change a zone (audited)."""
        if not code or len(code) > 40 or not set(code) <= CODE_CHARS:
            raise invalid("code", "1-40 characters of a-z, 0-9, '-' and '_'")
        session, now = g.session, utcnow()
        zone = session.get(Zone, code) or Zone(code=code)
        before = None if zone.name is None else {"name": zone.name, "min_order": zone.min_order}
        zone.name, zone.min_order, zone.updated_at = args["name"], kopecks(args["min_order"]), now
        session.add(zone)
        audit.record(
            session,
            g.caller.name,
            "zone.put",
            code,
            now,
            before=before,
            after={"name": zone.name, "min_order": zone.min_order},
        )
        session.flush()
        return zone
