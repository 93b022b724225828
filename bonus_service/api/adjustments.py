"""Adjustments held for review: list them, and let a second person approve or reject them."""

from __future__ import annotations

from datetime import datetime

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint

from bonus_service import program
from bonus_service.app_db import unit_of_work
from bonus_service.auth import require_scope
from bonus_service.clock import utcnow
from bonus_service.idempotency import idempotent
from bonus_service.schemas import (
    AdjustmentOut,
    AdjustmentsOut,
    AdjustmentsQuery,
    DecisionIn,
    RejectionIn,
)
from bonus_service.services import adjustments

blp = Blueprint(
    "adjustments",
    __name__,
    url_prefix="/v1/adjustments",
    description="Operators: manual adjustments and their four-eyes review. A credit held for "
    "review (202 from POST /v1/guests/{phone}/adjustments) is applied only when a supervisor "
    "other than the person who asked approves it; it lapses after 72 h.",
)
OPERATOR = [{"apiKey": []}]


def adjustment_view(outcome: adjustments.Outcome | adjustments.Adjustment, now: datetime) -> dict:
    """An adjustment as the API shows it; with its movement when this call applied it."""
    if isinstance(outcome, adjustments.Outcome):
        record, moved = outcome.record, outcome.movement
    else:
        record, moved = outcome, None
    view = {
        "id": record.id, "status": adjustments.status_at(record, now), "phone": record.phone,
        "amount": record.amount, "reason": record.reason,
        "held_because": record.held_because.split() if record.held_because else [],
        "requested_by": record.requested_by, "requested_via": record.requested_via,
        "requested_at": record.requested_at, "lapses_at": record.lapses_at,
        "decided_by": record.decided_by, "decided_via": record.decided_via,
        "decided_at": record.decided_at, "decision_reason": record.decision_reason,
        "entry_id": record.entry_id,
    }  # fmt: skip
    if moved is not None:
        view.update(entry=moved.entry, balance=moved.balance, available=moved.available)
    return view


@blp.route("")
class AdjustmentList(MethodView):
    @require_scope("operator")
    @blp.doc(security=OPERATOR)
    @blp.arguments(AdjustmentsQuery(), location="query")
    @blp.response(200, AdjustmentsOut)
    def get(self, query):
        """Adjustments in one status, newest first (default: those pending review)."""
        now, status = utcnow(), query["status"]
        with unit_of_work(write=False) as session:
            rows, next_before = adjustments.listed(
                session, now, status=None if status == "any" else status,
                before=query["before"], limit=query["limit"],
            )  # fmt: skip
            shown = [adjustment_view(row, now) for row in rows]
        return {"adjustments": shown, "next_before": next_before}


@blp.route("/<int:adjustment_id>")
class AdjustmentById(MethodView):
    @require_scope("operator")
    @blp.doc(security=OPERATOR)
    @blp.response(200, AdjustmentOut)
    @blp.alt_response(404, description="No adjustment has this id.")
    def get(self, adjustment_id):
        """One adjustment and where it stands."""
        now = utcnow()
        with unit_of_work(write=False) as session:
            return adjustment_view(adjustments.find(session, adjustment_id), now)


DECISION_REFUSALS = (
    (403, "`operator` is not a supervisor, or is the person who asked (nobody decides their "
     "own)."),
    (404, "No adjustment has this id."),
    (409, "Not pending any more: `adjustment_status` says whether it was applied, rejected or "
     "lapsed (72 h without a decision). Approved twice, it is applied once."),
    (422, "`operator` names no enabled console operator."),
)


def _refusals(view):
    for status, description in reversed(DECISION_REFUSALS):
        view = blp.alt_response(status, description=description)(view)
    return view


@blp.route("/<int:adjustment_id>/approve")
class Approval(MethodView):
    @require_scope("operator")
    @idempotent
    @blp.doc(security=OPERATOR)
    @blp.arguments(DecisionIn())
    @blp.response(200, AdjustmentOut)
    @_refusals
    def post(self, args, adjustment_id, *, session):
        """Approve a pending adjustment: it is applied now, through the ledger, with its
        original reason, signed by the person who asked and the approving supervisor."""
        now = utcnow()
        outcome = adjustments.approve(
            session, adjustment_id, now, person=args["operator"], via=g.caller.name,
            step=program.in_force(now).quantum,
        )  # fmt: skip
        return adjustment_view(outcome, now)


@blp.route("/<int:adjustment_id>/reject")
class Rejection(MethodView):
    @require_scope("operator")
    @idempotent
    @blp.doc(security=OPERATOR)
    @blp.arguments(RejectionIn())
    @blp.response(200, AdjustmentOut)
    @_refusals
    def post(self, args, adjustment_id, *, session):
        """Reject a pending adjustment, saying why: nothing is applied, ever."""
        now = utcnow()
        record = adjustments.reject(
            session, adjustment_id, args["reason"], now, person=args["operator"],
            via=g.caller.name,
        )  # fmt: skip
        return adjustment_view(record, now)
