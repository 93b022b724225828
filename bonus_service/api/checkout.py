"""Checkout: quote an order, place it with bonuses held, complete or cancel it."""

import re
from datetime import timedelta
from decimal import Decimal

from flask import current_app, g, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import ValidationError
from werkzeug.routing import BaseConverter

import rules
from bonus_service import program
from bonus_service.app_db import get_db, unit_of_work
from bonus_service.auth import require_scope
from bonus_service.clock import utcnow
from bonus_service.idempotency import idempotent
from bonus_service.models import Order
from bonus_service.problems import Problem
from bonus_service.schemas import (
    OWN_PATHS,
    CancelledOut,
    CompletedOut,
    OrderOut,
    OrderQuery,
    PlacedOut,
    PlaceIn,
    QuoteIn,
    QuoteOut,
    SpendingCodeIn,
    SpendingCodeSentOut,
)
from bonus_service.secrets_store import code_secret
from bonus_service.services import audit, checkout, spending_codes
from bonus_service.sms_backend import sender

blp = Blueprint(
    "checkout", __name__, url_prefix="/v1", description="Quote, place, complete and cancel orders."
)
CHECKOUT = [{"apiKey": []}]
ZERO = Decimal("0")
NOT_OURS = (
    "This client has no order of that id: another client's order of the same id is not "
    "found either (ids are unique per client)."
)


def order_problem(error: rules.OrderError) -> Problem:
    errors = {f"order.{path}" if path else "order": reason for path, reason in error.errors.items()}
    return Problem(422, "; ".join(f"{k}: {v}" for k, v in errors.items()), errors=errors)


def _figures(figures: checkout.Figures) -> dict:
    if figures is None:
        return {"balance": None, "available": None}
    balance, held = figures
    return {"balance": balance, "available": balance - held}


@blp.route("/quote")
class QuoteView(MethodView):
    @require_scope("checkout")
    @blp.doc(security=CHECKOUT)
    @blp.arguments(QuoteIn())
    @blp.response(200, QuoteOut)
    def post(self, args):
        """What the order earns and may spend, and why; changes nothing (no Idempotency-Key)."""
        now = utcnow()
        try:
            quoted = checkout.quote_now(
                get_db(),
                program.in_force(now),
                args["phone"],
                args["order"],
                args["redeem"] or ZERO,
                now,
            )
        except rules.OrderError as error:
            raise order_problem(error) from None
        # QuoteOut documents the answer; it is dumped by QuoteOut.fast_dump (a Response is
        # passed through by flask-smorest as it is)
        return current_app.json.response(QuoteOut.fast_dump(quote_answer(quoted)))


def quote_answer(quoted: checkout.Quote) -> dict:
    """The quote's answer as QuoteOut reads it."""
    decision = quoted.decision
    return {
        "total": decision.total,
        "accrual": decision.accrual,
        "redeem_max": decision.redeem_max,
        "available": quoted.available,
        "rules_version": decision.version,
        "explanation": [e._asdict() for e in decision.explanation],
    }


# the guest's consent by token: documented, so a client generated from the spec can send it
GUEST_TOKEN = {
    "in": "header",
    "name": "X-Guest-Token",
    "required": False,
    "description": "The guest's token (from POST /v1/auth/verify): their consent to spend "
    "bonuses when redeem > 0; or send confirmation_code (a spending code) instead.",
    "schema": {"type": "string", "maxLength": 200},
}


@blp.route("/orders")
class Orders(MethodView):
    @require_scope("checkout")
    @idempotent
    @blp.doc(security=CHECKOUT, parameters=[GUEST_TOKEN])
    @blp.arguments(PlaceIn())
    @blp.response(201, PlacedOut)
    @blp.alt_response(
        403,
        description="Redeeming without the guest's consent: no X-Guest-Token or "
        "confirmation_code, another guest's token, or a confirmation_code that is no spending "
        "code this client asked for this phone (wrong, used, expired, another client's, or a "
        "login code: `attempts_left` says how many tries the code has left), or one whose "
        "amount is less than `redeem` (`allowed` says its amount; the code stays usable).",
    )
    @blp.alt_response(429, description="Too many wrong confirmation codes; ask for a new one.")
    @blp.alt_response(
        409, description="The order id is already used. Order ids are unique per client: "
        "another client's order of the same id is no conflict."
    )
    @blp.alt_response(422, description="Bad order, or redeem over redeem_max.")
    def post(self, args, *, session):
        """Place an order: hold the bonuses it spends (needs consent when redeem > 0)."""
        now, redeem = utcnow(), args["redeem"] or ZERO
        settings = current_app.extensions["bonus_settings"]
        try:
            order, figures = checkout.place(
                session,
                program.in_force(now),
                order_id=args["id"],
                client_id=g.caller.id,
                phone=args["phone"],
                order=args["order"],
                redeem=redeem,
                actor=g.caller.name,
                now=now,
                hold_ttl=timedelta(hours=settings.hold_ttl_hours),
                consent=checkout.Consent(
                    token=request.headers.get("X-Guest-Token"), code=args["confirmation_code"]
                ),
                settings=settings,
                secret=code_secret(),
            )
        except rules.OrderError as error:
            raise order_problem(error) from None
        return {
            "id": order.id,
            "status": order.status,
            "total": order.total,
            "redeemed": order.redeemed,
            "accrual": order.accrual,
            "rules_version": order.rules_version,
            "explanation": order.explanation,
            **_figures(figures),
        }


def _text_the_spending_code(_view) -> None:
    """Before the request's transaction: text the spending code (services.spending_codes).

    The code comes from the Idempotency-Key, so a retry texts the same code again. A body
    that does not parse texts nothing: the view's arguments then answer 422 naming the field."""
    try:
        args = SpendingCodeIn().load(request.get_json(silent=True) or {})
    except ValidationError:
        return
    client_id, key = g.idempotency
    code = spending_codes.code_for(code_secret(), client_id, key, args["phone"], args["amount"])
    texted = spending_codes.text_code(
        get_db(), current_app.extensions["bonus_settings"], sender(), args["phone"],
        args["amount"], code, utcnow(),
    )  # fmt: skip
    g.spending_code = code if texted else None


@blp.route("/orders/confirmation-code")
class ConfirmationCode(MethodView):
    @require_scope("checkout")
    @idempotent(before=_text_the_spending_code)
    @blp.doc(security=CHECKOUT)
    @blp.arguments(SpendingCodeIn())
    @blp.response(202, SpendingCodeSentOut)
    @blp.alt_response(429, description="Too many codes for this phone (every SMS with a code "
                      "counts, login codes too), or one a moment ago: Retry-After says when.")
    def post(self, args, *, session):
        """Text the guest a spending code for one order of this client.

        The code is the guest's consent to one order of this client (`POST /v1/orders` with
        it as `confirmation_code`), for at most `amount`, once, within `expires_in` seconds;
        it never logs in. A newer code for the same phone replaces this client's earlier one.
        The answer is the same for a phone that is not registered: no SMS goes to it, and its
        requests count against the same limits.
        """
        sent = spending_codes.store(
            session, current_app.extensions["bonus_settings"], code_secret(),
            phone=args["phone"], client_id=g.caller.id, amount=args["amount"],
            code=g.spending_code, now=utcnow(),
        )  # fmt: skip
        return {"expires_in": sent.expires_in, "resend_after": sent.resend_after}


@blp.route("/orders/<string:order_id>/complete")
class Complete(MethodView):
    @require_scope("checkout")
    @idempotent
    @blp.doc(security=CHECKOUT)
    @blp.response(200, CompletedOut)
    @blp.alt_response(404, description=NOT_OURS)
    @blp.alt_response(
        409,
        description="The order is not placed (completed or cancelled; `status_now` says "
        "which), or its hold lapsed (status `expired`, after BONUS_HOLD_TTL_HOURS) and the "
        "guest no longer has the bonuses it was to spend.",
    )
    def post(self, order_id, *, session):
        """The order was paid and handed over: spend the hold and credit the accrual."""
        order, figures = checkout.complete(
            session, g.caller.id, order_id, g.caller.name, utcnow()
        )
        accrued = order.accrual if order.guest_id is not None else 0
        return {
            "id": order.id,
            "status": order.status,
            "redeemed": order.redeemed,
            "accrued": accrued,
            **_figures(figures),
        }


@blp.route("/orders/<string:order_id>/cancel")
class Cancel(MethodView):
    @require_scope("checkout")
    @idempotent
    @blp.doc(security=CHECKOUT)
    @blp.response(200, CancelledOut)
    @blp.alt_response(404, description=NOT_OURS)
    @blp.alt_response(
        409,
        description="The order is already cancelled, or what it earned is held by the guest's "
        "open orders (`held`): cancel it once they are completed or cancelled.",
    )
    def post(self, order_id, *, session):
        """Cancel: release the hold, or give back the spend and take back the accrual."""
        now = utcnow()
        order, moved, figures = checkout.cancel(
            session, g.caller.id, order_id, g.caller.name, now,
            cancelled_orders=program.in_force(now).cancelled_orders, book=program.book(),
        )  # fmt: skip
        return {
            "id": order.id,
            "status": order.status,
            **moved,
            **_figures(figures),
        }


class OrderIdConverter(BaseConverter):
    """An order id as the last segment of /v1/orders/…: not the paths of other calls there, so
    /v1/orders/confirmation-code allows exactly what it documents (POST), not the order read.
    A regex, not a refusal in to_python: the router lists a path's methods (Allow) by regex."""

    regex = "".join(f"(?!{re.escape(path)}$)" for path in sorted(OWN_PATHS)) + "[^/]+"


def order_id_schema(_converter) -> dict:
    return {"type": "string"}


@blp.route("/orders/<order_id:order_id>")
class OrderById(MethodView):
    @require_scope("checkout", "operator")
    @blp.doc(security=CHECKOUT)
    @blp.arguments(OrderQuery(), location="query")
    @blp.response(200, OrderOut)
    @blp.alt_response(
        404,
        description="No such order. A checkout key finds only its own client's orders: "
        "another client's order id is 404 exactly as an id never used.",
    )
    @blp.alt_response(
        409,
        description="Operator scope, no `client` given, and several clients (none of them "
        "the caller's) used this order id: `clients` lists them; ask again with `?client=`.",
    )
    def get(self, args, order_id):
        """The order, its status and every bonus movement it caused.

        Order ids are unique per client. A checkout key reads its own client's orders only.
        A key with the operator scope (the call center) reads any client's: `?client=NAME`
        names the client; without it, the caller's own order of that id, else the one order
        of that id. An operator's read is audited (`order.view`) like a guest lookup."""
        every_client = "operator" in g.caller.scopes
        with unit_of_work(write=False) as session:
            order, client = checkout.find_order(
                session, order_id, g.caller.id, every_client=every_client, client=args["client"]
            )
            answer = {
                **{c.key: getattr(order, c.key) for c in Order.__table__.columns},
                "client": client,
                "movements": checkout.order_movements(session, order),
            }
        if every_client:  # it shows the guest's phone and balances
            with unit_of_work() as session:
                audit.record(session, g.caller.name, "order.view", answer["phone"], utcnow(),
                             order=order_id, client=client)  # fmt: skip
                session.commit()
        return answer
