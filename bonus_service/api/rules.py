"""The program in force as data for machines (/v1/rules); people read it at /rules (web/)."""

from flask.views import MethodView
from flask_smorest import Blueprint

from bonus_service import program
from bonus_service.clock import utcnow
from bonus_service.schemas import RulesOut

blp = Blueprint("rules", __name__, description="The bonus program's rules.")


@blp.route("/v1/rules")
class RulesData(MethodView):
    @blp.response(200, RulesOut)
    def get(self):
        """The version in force, its effective date, the rules as data, every version that has
        taken effect, and the versions announced for later."""
        now = utcnow()
        current = program.in_force(now)
        told = lambda p: {"version": p.version, "effective_from": p.effective_from}  # noqa: E731
        return {
            "version": current.version,
            "effective_from": current.effective_from,
            "rules": current.data,
            "versions": [told(p) for p in program.book() if p.effective_from <= now],
            "upcoming": [told(p) for p in program.book() if p.effective_from > now],
        }
