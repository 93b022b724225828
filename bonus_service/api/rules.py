"""The program in force: as data for machines (/v1/rules) and as published text (/rules)."""

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

import rules
from bonus_service import program
from bonus_service.clock import utcnow
from bonus_service.db import unit_of_work
from bonus_service.fields import money
from bonus_service.models import Zone
from bonus_service.schemas import RulesOut

blp = Blueprint("rules", __name__, description="The bonus program's rules.")


@blp.route("/v1/rules")
class RulesData(MethodView):
    @blp.response(200, RulesOut)
    def get(self):
        """The version in force, its effective date, the rules as data, and every version."""
        now = utcnow()
        current = program.in_force(now)
        versions = [p for p in program.book() if p.effective_from <= now]
        return {
            "version": current.version,
            "effective_from": current.effective_from,
            "rules": current.data,
            "versions": [
                {"version": p.version, "effective_from": p.effective_from} for p in versions
            ],
        }


@blp.route("/rules")
class PublishedRules(MethodView):
    @blp.doc(responses={"200": {"description": "The published rules, in Russian (text/plain)."}})
    def get(self):
        """The rules as the restaurant publishes them, rendered from the data in force."""
        now = utcnow()
        with unit_of_work(write=False) as session:
            zones = {z.name: money(z.min_order) for z in session.scalars(select(Zone))}
        past = [p for p in program.book() if p.effective_from <= now]
        current = program.in_force(now)
        parts = [rules.render_text(current, zones)]
        earlier = [p for p in past if p.version != current.version]
        if earlier:
            parts.append(
                "Предыдущие версии правил:\n"
                + "\n".join(
                    f"— {p.version}, действовала с {p.effective_from:%d.%m.%Y}"
                    for p in reversed(earlier)
                )
            )
        return Response(
            "\n\n".join(parts), mimetype="text/plain", content_type="text/plain; charset=utf-8"
        )
