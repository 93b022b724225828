"""Request and response shapes; the OpenAPI spec is generated from these."""

from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from bonus_service.fields import (
    Amount,
    OrderField,
    OrderPhone,
    Phone,
    SignedAmount,
    amount_text,
)
from bonus_service.models import CLIENT_NAME, CLIENT_NAME_LENGTH


class Strict(Schema):
    """Unknown fields are refused, not ignored (marshmallow's default RAISE, said out loud)."""

    class Meta:
        unknown = "raise"
        ordered = True


class PhoneIn(Strict):
    phone = Phone(
        required=True,
        metadata={"example": "+79123456789", "description": "Any common format; stored as E.164."},
    )


class CodeSentOut(Schema):
    phone = fields.String(metadata={"example": "+79123456789"})
    expires_in = fields.Integer(metadata={"description": "Seconds the code stays valid."})
    resend_after = fields.Integer(
        metadata={"description": "Seconds before another code may be asked."}
    )


class VerifyIn(Strict):
    phone = Phone(required=True)
    code = fields.String(required=True, validate=validate.Length(min=1, max=12))


class AccountOut(Schema):
    phone = fields.String()
    balance = Amount(metadata={"description": "Bonuses the guest owns."})
    available = Amount(metadata={"description": "Balance less bonuses held by open orders."})
    registered_at = fields.DateTime()
    last_order_at = fields.DateTime(allow_none=True)
    burns_at = fields.DateTime(
        allow_none=True,
        metadata={"description": "When the balance burns if no order is completed before then."},
    )


class LedgerEntryOut(Schema):
    id = fields.Integer()
    kind = fields.String(
        metadata={
            "description": "accrual, hold, spend, release, refund, reversal, adjustment or expiry"
        }
    )
    amount = SignedAmount(metadata={"description": "Change of the balance."})
    held = SignedAmount(
        attribute="held_delta", metadata={"description": "Change of the bonuses held."}
    )
    balance_after = Amount()
    order_id = fields.String(allow_none=True)
    rules_version = fields.String(allow_none=True)
    reason = fields.String(metadata={"description": "In Russian, for the guest."})
    created_at = fields.DateTime()


class OperatorLedgerEntryOut(LedgerEntryOut):
    actor = fields.String()


class HistoryQuery(Strict):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    before = fields.Integer(
        load_default=None,
        validate=validate.Range(min=1, max=2**63 - 1),
        metadata={"description": "Entries older than this id (the next page)."},
    )


class HistoryOut(Schema):
    entries = fields.List(fields.Nested(LedgerEntryOut))
    next_before = fields.Integer(
        allow_none=True,
        metadata={"description": "Pass as `before` for the next page; null on the last page."},
    )


class VerifiedOut(Schema):
    token = fields.String(metadata={"description": "Send as Authorization: Bearer <token>."})
    expires_at = fields.DateTime()
    guest = fields.Nested(AccountOut)


class GuestOut(AccountOut):
    history = fields.List(fields.Nested(OperatorLedgerEntryOut))


class HealthOut(Schema):
    status = fields.String()


# The order is loaded by rules.parse_order (OrderField); these two schemas only document it, so
# their limits repeat the parser's: texts of 1-200 characters, not blank; qty 1-1000; null = absent.
TEXT = [validate.Length(min=1, max=200), validate.Regexp(r"\s*\S")]


class ItemSchema(Strict):
    sku = fields.String(required=True, validate=TEXT, metadata={"example": "B-101"})
    name = fields.String(allow_none=True, validate=TEXT, metadata={"example": "Бизнес-ланч №1"})
    category = fields.String(
        allow_none=True,
        validate=TEXT,
        metadata={
            "example": "business_lunch",
            "description": "business_lunch is the «Бизнес-ланч» section.",
        },
    )
    qty = fields.Integer(required=True, validate=validate.Range(min=1, max=1000))
    price = Amount(required=True, metadata={"example": "350.00"})


class OrderSchema(Strict):
    channel = fields.String(required=True, validate=validate.OneOf(["delivery", "pickup", "cafe"]))
    source = fields.String(
        allow_none=True, validate=validate.OneOf(["website", "app", "call_center", "cafe_pos"])
    )
    zone = fields.String(
        allow_none=True,
        validate=TEXT,
        metadata={"description": "Delivery zone code; required for delivery."},
    )
    items = fields.List(fields.Nested(ItemSchema), required=True, validate=validate.Length(min=1))
    promo_codes = fields.List(
        fields.String(validate=validate.Regexp(r"\s*\S")),
        allow_none=True,
        metadata={
            "description": "As many as the program in force allows (max_promo_codes: one "
            "under the published rules); more is 422."
        },
    )
    discount = Amount(
        allow_none=True, metadata={"description": "Promo discount already applied; default 0."}
    )


ORDER_PHONE = {
    "example": "+79123456789",
    "description": "Any common format; stored as E.164. Any valid number: one that cannot "
    "register (abroad, a landline) is an unregistered guest with zero bonuses, not an error.",
}


class QuoteIn(Strict):
    phone = OrderPhone(load_default=None, metadata=ORDER_PHONE)
    order = OrderField(OrderSchema, required=True)
    redeem = Amount(load_default=None, metadata={"description": "Bonuses the guest asks to spend."})


class ExplanationOut(Schema):
    rule = fields.String()
    message = fields.String(metadata={"description": "In Russian."})


class QuoteOut(Schema):
    total = Amount()
    accrual = Amount()
    redeem_max = Amount()
    available = Amount()
    rules_version = fields.String()
    explanation = fields.List(fields.Nested(ExplanationOut))

    @staticmethod
    def fast_dump(quote: dict) -> dict:
        """The same as QuoteOut().dump(quote) for the view's answer, written out.

        The quote is the hottest answer and marshmallow's generic dump was 8% of its CPU; the
        schema stays what the spec is made from, and a test holds the two equal.
        """
        return {
            "total": amount_text(quote["total"]),
            "accrual": amount_text(quote["accrual"]),
            "redeem_max": amount_text(quote["redeem_max"]),
            "available": amount_text(quote["available"]),
            "rules_version": quote["rules_version"],
            "explanation": [
                {"rule": reason["rule"], "message": reason["message"]}
                for reason in quote["explanation"]
            ],
        }


# The id is a segment of the order's URL: a "/" (even sent as %2F), "." or ".." would place an
# order that nobody could complete or cancel; /v1/orders/confirmation-code is a path of its own,
# so that id could not be read. (The pattern documents it; ECMA's `$` is the end.)
ORDER_ID_PATTERN = r"^(?!\.{1,2}$)(?!confirmation-code$)[^/\x00-\x1f\x7f]+$"
_UNADDRESSABLE = re.compile(r"[/\x00-\x1f\x7f]")
OWN_PATHS = frozenset({"confirmation-code"})  # /v1/orders/<this> is not an order


def _addressable(value: str) -> None:
    if value in (".", "..") or _UNADDRESSABLE.search(value):
        raise ValidationError(
            "must not contain '/' or control characters, nor be '.' or '..': "
            "it is part of the order's URL"
        )
    if value in OWN_PATHS:
        raise ValidationError(f"{value!r} is the path of another call: /v1/orders/{value}")


class PlaceIn(Strict):
    id = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=64), _addressable],
        metadata={"example": "WEB-2026-000123", "pattern": ORDER_ID_PATTERN},
    )
    phone = OrderPhone(required=True, metadata=ORDER_PHONE)
    order = OrderField(OrderSchema, required=True)
    redeem = Amount(load_default=None)
    confirmation_code = fields.String(
        load_default=None,
        validate=validate.Length(max=12),
        metadata={
            "description": "A spending code the guest read out (sent at this client's request "
            "by POST /v1/orders/confirmation-code): consent to spend up to its amount on this "
            "one order. Or X-Guest-Token instead. A login code is no consent."
        },
    )


def _positive(amount) -> None:
    if amount <= 0:
        raise ValidationError("must be more than 0")


class SpendingCodeIn(Strict):
    phone = Phone(
        required=True,
        metadata={"example": "+79123456789", "description": "Any common format; stored as E.164."},
    )
    amount = Amount(
        required=True,
        validate=_positive,
        metadata={
            "example": "150.00",
            "description": "The most the code lets this client spend on one order; the SMS "
            "says it to the guest.",
        },
    )


class SpendingCodeSentOut(Schema):
    expires_in = fields.Integer(metadata={"description": "Seconds the code stays valid."})
    resend_after = fields.Integer(
        metadata={"description": "Seconds before another code may be asked for this phone."}
    )


class PlacedOut(Schema):
    id = fields.String()
    status = fields.String()
    total = Amount()
    redeemed = Amount()
    accrual = Amount()
    balance = Amount(allow_none=True)
    available = Amount(allow_none=True)
    rules_version = fields.String()
    explanation = fields.List(fields.Nested(ExplanationOut))


class CompletedOut(Schema):
    id = fields.String()
    status = fields.String()
    redeemed = Amount()
    accrued = Amount()
    balance = Amount(allow_none=True)
    available = Amount(allow_none=True)


class CancelledOut(Schema):
    id = fields.String()
    status = fields.String()
    released = Amount(metadata={"description": "Held bonuses released."})
    refunded = Amount(
        metadata={"description": "Spent bonuses given back: none when the nightly expiry "
                  "emptied the account after the order completed (they would have burned too; "
                  "a departure from the contract, docs/checkout.md)."}
    )
    reversed = Amount(metadata={"description": "Accrued bonuses taken back."})
    written_off = Amount(
        metadata={"description": "Accrual the guest no longer had: spent, or burned by the "
                  "nightly expiry."}
    )
    recovered = Amount(
        metadata={"description": "What earlier cancels wrote off, taken back now: bonuses "
                  "this order spent that came back with its refund."}
    )
    balance = Amount(allow_none=True)
    available = Amount(allow_none=True)


class OrderQuery(Strict):
    client = fields.String(
        load_default=None,
        validate=[
            validate.Length(min=1, max=CLIENT_NAME_LENGTH),
            validate.Regexp(
                f"^{CLIENT_NAME}$",
                error="a client's name is letters, digits, '_', '.' and '-', with single "
                "spaces between words",
            ),
        ],
        metadata={
            "description": "Operator scope: the client whose order it is (order ids are unique "
            "per client). A checkout key finds its own client's orders only."
        },
    )


class OrderOut(Schema):
    id = fields.String()
    client = fields.String(
        metadata={"description": "The client (integration) the order belongs to."}
    )
    status = fields.String(
        metadata={
            "description": "placed, completed, cancelled, or expired "
            "(the hold was released by the timer)"
        }
    )
    phone = fields.String()
    channel = fields.String()
    source = fields.String(allow_none=True)
    total = Amount()
    redeemed = Amount()
    accrual = Amount()
    rules_version = fields.String()
    explanation = fields.List(fields.Nested(ExplanationOut))
    placed_by = fields.String()
    placed_at = fields.DateTime()
    hold_expires_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)
    order = fields.Dict(attribute="payload")
    movements = fields.List(fields.Nested(OperatorLedgerEntryOut))


class AdjustmentIn(Strict):
    amount = SignedAmount(required=True, metadata={"example": "-50.00"})
    reason = fields.String(required=True, validate=validate.Length(min=3, max=500))
    operator = fields.String(
        required=True,
        validate=validate.Length(min=1, max=60),
        metadata={"example": "anna", "description": "Who signs it: the login name of an enabled "
                  "console operator with the `operator` or `supervisor` role (any case). Their "
                  "credits of the day count against BONUS_ADJUSTMENT_DAILY_LIMIT."},
    )


class DecisionIn(Strict):
    operator = fields.String(
        required=True,
        validate=validate.Length(min=1, max=60),
        metadata={"example": "sveta", "description": "Who decides: the login name of an enabled "
                  "console operator with the `supervisor` role, not the one who asked."},
    )


class RejectionIn(DecisionIn):
    reason = fields.String(required=True, validate=validate.Length(min=3, max=500))


class AdjustmentsQuery(Strict):
    status = fields.String(
        load_default="pending",
        validate=validate.OneOf(("pending", "applied", "rejected", "lapsed", "any")),
        metadata={"description": "Which to list (default `pending`: those waiting for review)."},
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))
    before = fields.Integer(
        load_default=None,
        validate=validate.Range(min=1, max=2**63 - 1),
        metadata={"description": "Adjustments older than this id (the next page)."},
    )


class AdjustmentOut(Schema):
    id = fields.Integer()
    status = fields.String(
        metadata={"description": "`applied`; `pending` (waiting for a supervisor, 202); "
                  "`rejected`; `lapsed` (72 h passed with no decision)"}
    )
    phone = fields.String()
    amount = SignedAmount()
    reason = fields.String(metadata={"description": "Why, as the person who asked wrote it."})
    held_because = fields.List(
        fields.String(),
        metadata={"description": "Why it waits for review: `review_over` (more than "
                  "BONUS_ADJUSTMENT_REVIEW_OVER), `daily_limit` (past the person's "
                  "BONUS_ADJUSTMENT_DAILY_LIMIT of the day); empty when applied at once."},
    )
    requested_by = fields.String(metadata={"description": "The person who asked."})
    requested_via = fields.String(
        metadata={"description": "The API client's name, or `operator:<name>` (the console)."}
    )
    requested_at = fields.DateTime()
    lapses_at = fields.DateTime(allow_none=True)
    decided_by = fields.String(allow_none=True)
    decided_via = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    decision_reason = fields.String(allow_none=True)
    entry_id = fields.Integer(allow_none=True, metadata={"description": "The ledger entry."})
    entry = fields.Nested(
        OperatorLedgerEntryOut, metadata={"description": "Only in the answer that applied it."}
    )
    balance = Amount(metadata={"description": "Only in the answer that applied it."})
    available = Amount(metadata={"description": "Only in the answer that applied it."})


class AdjustmentsOut(Schema):
    adjustments = fields.List(fields.Nested(AdjustmentOut))
    next_before = fields.Integer(
        allow_none=True,
        metadata={"description": "Pass as `before` for the next page; null on the last page."},
    )


class ZoneIn(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    min_order = Amount(required=True)


class ZoneOut(Schema):
    code = fields.String()
    name = fields.String()
    min_order = Amount()
    updated_at = fields.DateTime()


class ZonesOut(Schema):
    zones = fields.List(fields.Nested(ZoneOut))


class RulesVersionOut(Schema):
    version = fields.String()
    effective_from = fields.DateTime()


class RulesOut(Schema):
    version = fields.String()
    effective_from = fields.DateTime()
    rules = fields.Dict(metadata={"description": "The program as data, exactly as versioned."})
    versions = fields.List(
        fields.Nested(RulesVersionOut),
        metadata={"description": "Every version that has taken effect, the earliest first."},
    )
    upcoming = fields.List(
        fields.Nested(RulesVersionOut),
        metadata={"description": "Versions published but not in force yet, the next first: "
                  "the rules say changes are announced by publishing the new version."},
    )


PROGRAM_FIELD = fields.Dict(
    required=True,
    metadata={"description": "The program as data, in the shape GET /v1/rules returns under "
              "`rules` (see docs/rules.md). Checked whole: a fault → 422 naming the field in "
              "the program's terms, e.g. `program.accrual.1.percent`."},
)


class ProgramIn(Strict):
    program = PROGRAM_FIELD


class PublishIn(Strict):
    effective_from = fields.AwareDateTime(
        required=True,
        metadata={"description": "When the version takes effect (with its offset); not in "
                  "the past. It replaces the draft's own `effective_from`."},
    )


class SimulateIn(Strict):
    since = fields.AwareDateTime(required=True, metadata={"description": "Orders placed from."})
    until = fields.AwareDateTime(
        required=True, metadata={"description": "Orders placed before (exclusive)."}
    )

    @validates_schema
    def _a_period(self, data, **_kwargs):
        if data["until"] <= data["since"]:
            raise ValidationError({"until": ["must be after since"]})


class ProgramVersionOut(Schema):
    version = fields.String()
    status = fields.String(metadata={"description": "`draft` (changes) or `published` (never)."})
    effective_from = fields.DateTime()
    title = fields.String()
    program = fields.Dict(metadata={"description": "The program as data."})
    created_by = fields.String(allow_none=True)
    created_at = fields.DateTime(allow_none=True)
    updated_by = fields.String(allow_none=True)
    updated_at = fields.DateTime(allow_none=True)
    published_by = fields.String(allow_none=True)
    published_at = fields.DateTime(allow_none=True)


class ProgramVersionsOut(Schema):
    versions = fields.List(
        fields.Nested(ProgramVersionOut),
        metadata={"description": "Drafts and published versions, the latest effective date "
                  "first; a version shipped as a file and never stored has no authors."},
    )


class SimulationOut(Schema):
    id = fields.String()
    version = fields.String(metadata={"description": "The candidate version replayed."})
    status = fields.String(metadata={"description": "`running`, `done` or `failed`."})
    since = fields.DateTime()
    until = fields.DateTime()
    done = fields.Integer(metadata={"description": "Orders replayed so far."})
    total = fields.Integer(allow_none=True, metadata={"description": "Orders to replay."})
    started_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    result = fields.Dict(
        allow_none=True,
        metadata={"description": "When done: per month, old beside new (kopecks), and the "
                  "guests most affected (the replay engine's Simulation)."},
    )
    error = fields.String(allow_none=True)
