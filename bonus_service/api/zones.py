"""Delivery zones and their minimum order."""

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from bonus_service.app_db import unit_of_work
from bonus_service.auth import require_scope
from bonus_service.clock import utcnow
from bonus_service.idempotency import idempotent
from bonus_service.models import Zone
from bonus_service.schemas import ZoneIn, ZoneOut, ZonesOut
from bonus_service.services import zones

blp = Blueprint("zones", __name__, url_prefix="/v1/zones", description="Delivery zones.")


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
    def put(self, args, code, *, session):
        """Create or change a zone (audited)."""
        return zones.put_zone(
            session, code, args["name"], args["min_order"], g.caller.name, utcnow()
        )
