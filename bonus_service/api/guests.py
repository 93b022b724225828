"""The call center's view of guests: look one up, register one on the guest's behalf."""

import dataclasses

from flask import current_app, g, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import ValidationError

import sms
from bonus_service import program
from bonus_service.api.adjustments import adjustment_view
from bonus_service.app_db import get_db, unit_of_work
from bonus_service.auth import require_scope
from bonus_service.clock import utcnow
from bonus_service.fields import normalise_phone
from bonus_service.idempotency import idempotent
from bonus_service.problems import Problem, invalid
from bonus_service.schemas import AdjustmentIn, AdjustmentOut, GuestOut, PhoneIn
from bonus_service.secrets_store import code_secret
from bonus_service.services import accounts, adjustments, guests, registrations
from bonus_service.sms_backend import sender

blp = Blueprint(
    "guests",
    __name__,
    url_prefix="/v1/guests",
    description="Operators: guest lookup and registration on a guest's behalf.",
)
OPERATOR = [{"apiKey": []}]


def path_phone(raw: str) -> str:
    """A phone in the path, in any common format."""
    try:
        return normalise_phone(raw)
    except ValidationError as error:
        raise invalid("phone", "; ".join(error.messages)) from None


def operator_view(session, guest, now) -> dict:
    view = dataclasses.asdict(accounts.account(guest, program.book(), now))
    return {**view, "history": accounts.history(session, guest.id, accounts.RECENT)[0]}


@blp.route("/<string:phone>")
class GuestByPhone(MethodView):
    @require_scope("operator")
    @blp.doc(security=OPERATOR)
    @blp.response(200, GuestOut)
    def get(self, phone):
        """A guest's balance, burn date and recent history (the lookup is audited)."""
        phone, now = path_phone(phone), utcnow()
        with unit_of_work() as session:
            guest = guests.look_up(session, phone, g.caller.name, now)
            session.commit()
            if guest is None:
                raise Problem(404, "No guest is registered with this phone.", title="Not Found")
            return operator_view(session, guest, now)


def _text_the_code(_view) -> None:
    """Before the registration's transaction: text the code (see services.registrations).

    The code comes from the Idempotency-Key, so a retry texts the same code again and a
    guest who gets both messages holds one that works. A body that does not hold a phone
    texts nothing: the view's arguments then answer 422 naming the field, kept for the key
    like any refusal (the key is checked first, as on every idempotent call)."""
    try:
        phone = PhoneIn().load(request.get_json(silent=True) or {})["phone"]
    except ValidationError:
        return
    client_id, key = g.idempotency
    code = sms.code_for(code_secret(), registrations.PURPOSE, str(client_id), key, phone)
    registrations.text_code(
        get_db(), current_app.extensions["bonus_settings"], sender(), phone, code, utcnow()
    )
    g.registration_code = code


@blp.route("")
class Guests(MethodView):
    @require_scope("operator")
    @idempotent(before=_text_the_code)
    @blp.doc(security=OPERATOR)
    @blp.arguments(PhoneIn())
    @blp.response(201, GuestOut)
    @blp.alt_response(409, description="Already registered.")
    @blp.alt_response(429, description="Too many codes for this phone this hour, or one a "
                      "moment ago: Retry-After says when.")
    @blp.alt_response(503, description="SMS cannot go now: the provider is down, or the "
                      "service's hourly SMS budget is spent (`limit`: `sms_budget`); nothing "
                      "is registered.")
    def post(self, args, *, session):
        """Register a guest by phone; the login code goes to the guest by SMS."""
        now = utcnow()
        guest = registrations.register_on_behalf(
            session, current_app.extensions["bonus_settings"], code_secret(), args["phone"],
            g.registration_code, g.caller.name, now,
        )  # fmt: skip
        return operator_view(session, guest, now)


@blp.route("/<string:phone>/adjustments")
class Adjustments(MethodView):
    @require_scope("operator")
    @idempotent
    @blp.doc(security=OPERATOR)
    @blp.arguments(AdjustmentIn())
    @blp.response(201, AdjustmentOut)
    @blp.alt_response(202, schema=AdjustmentOut, description="Not applied: a credit over "
                      "BONUS_ADJUSTMENT_REVIEW_OVER, or past the person's "
                      "BONUS_ADJUSTMENT_DAILY_LIMIT of the day, waits (`status: pending`, its "
                      "`id`) until another person with the supervisor role approves it "
                      "(POST /v1/adjustments/{id}/approve); it lapses after 72 h.")
    @blp.alt_response(403, description="`operator` names a person whose role cannot adjust "
                      "(marketing).")
    @blp.alt_response(404, description="No such guest.")
    @blp.alt_response(422, description="Zero, not a multiple of the rules' quantum (whole "
                      "bonuses: `step` says it), a debit over what is available, or an "
                      "`operator` that names no enabled console operator.")
    def post(self, args, phone, *, session):
        """A signed manual correction, recorded with the key's name, the person and the reason:
        201 applied, or 202 pending review (debits are never held)."""
        now = utcnow()
        outcome = adjustments.adjust(
            session, path_phone(phone), args["amount"], args["reason"], now,
            person=args["operator"], via=g.caller.name, step=program.in_force(now).quantum,
            settings=current_app.extensions["bonus_settings"],
        )  # fmt: skip
        view = adjustment_view(outcome, now)
        return view if outcome.movement is not None else (view, 202)
