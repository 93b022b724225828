"""GET /metrics for Prometheus: open like /healthz, so keep it on a private network."""

from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from bonus_service import metrics

blp = Blueprint("metrics", __name__, description="Prometheus metrics.")


@blp.route("/metrics")
class Metrics(MethodView):
    @blp.doc(
        responses={
            "200": {
                "description": "Prometheus text format 0.0.4: bonus_http_requests_total, "
                "bonus_http_request_duration_seconds, bonus_accrued_bonuses_total, "
                "bonus_spent_bonuses_total, bonus_burned_bonuses_total, "
                "bonus_outstanding_bonuses, bonus_held_bonuses, bonus_guests_with_bonuses.",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
        }
    )
    def get(self):
        """Request counts and latency per route, and the ledger's bonus figures."""
        page = metrics.scrape(current_app._get_current_object())
        return Response(page, content_type=metrics.TEXT_FORMAT)
