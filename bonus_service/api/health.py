"""Liveness and readiness."""

import logging

from flask.views import MethodView
from flask_smorest import Blueprint

from bonus_service.app_db import get_db
from bonus_service.migrate import schema
from bonus_service.problems import Problem
from bonus_service.schemas import HealthOut

log = logging.getLogger(__name__)
blp = Blueprint("health", __name__, description="Liveness and readiness probes.")


@blp.route("/healthz")
class Health(MethodView):
    @blp.response(200, HealthOut)
    def get(self):
        """The process is up."""
        return {"status": "ok"}


@blp.route("/readyz")
class Ready(MethodView):
    @blp.response(200, HealthOut)
    def get(self):
        """The database answers and its schema is current."""
        try:
            found = schema(get_db())
        except Exception as error:  # any database failure means not ready
            # the cause goes to the log (the answer names only its type: no host or user)
            log.warning("readiness: the database is not reachable: %s", error)
            raise Problem(
                503,
                f"The database is not reachable: {type(error).__name__}.",
                title="Service Unavailable",
                headers={"Retry-After": "5"},
            ) from None
        if not found.usable:
            raise Problem(
                503,
                f"The database schema is at {found.revision or 'no revision'}, behind this "
                f"release's {found.head}: run `bonus init-db`.",
                title="Service Unavailable",
            )
        return {"status": "ready"}
