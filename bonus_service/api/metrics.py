"""GET /metrics for Prometheus: a token, or a private network, stands between it and the world."""

import hmac
import ipaddress

from flask import Response, current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from bonus_service import metrics
from bonus_service.problems import Problem

blp = Blueprint("metrics", __name__, description="Prometheus metrics.")


def _allowed() -> bool:
    """With BONUS_METRICS_TOKEN, whoever presents it as a bearer token; without it, callers on
    this machine or a private network only. The page shows the chain's outstanding bonuses and
    order volumes: open to the internet, a competitor could follow the business by the hour.
    No API key: a key is checked in the database, and Prometheus must still read
    `bonus_database_up 0` while the database is down."""
    token = current_app.extensions["bonus_settings"].metrics_token
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode())
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_private or address.is_link_local


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
            },
            "403": {
                "description": "Without BONUS_METRICS_TOKEN: a caller outside this machine and "
                "the private networks. With it: a missing or wrong bearer token.",
            },
        }
    )
    def get(self):
        """Request counts and latency per route, and the ledger's bonus figures."""
        if not _allowed():
            raise Problem(
                403,
                "Metrics are served to this machine and private networks, or to whoever "
                "presents BONUS_METRICS_TOKEN as a bearer token.",
            )
        page = metrics.scrape(current_app._get_current_object())
        return Response(page, content_type=metrics.TEXT_FORMAT)
