"""What the OpenAPI spec says beyond the schemas: the error answers, and amounts as taken.

Every error the service answers is `application/problem+json` (bonus_service.problems). Rather
than repeat `alt_response` on every view, one apispec plugin reads each operation as documented
(its security, body, parameters) and adds the errors that follow from it, in the problem shape;
a description a view gave its own error is kept. A new endpoint is documented the same way.
A `{phone}` in a path has the format "phone", like the phone fields of bodies.

Amounts are taken as a JSON string ("349.90") or number (349.9) of at most 10 000 000.00, and
answered as a string with exactly two places; the spec says both (request schemas are Strict).
"""

from __future__ import annotations

from apispec import BasePlugin
from marshmallow import INCLUDE, Schema, fields

from bonus_service.fields import Amount, SignedAmount
from bonus_service.http import BODY_METHODS
from bonus_service.idempotency import HEADER, HEADER_PARAMETER, IDEMPOTENT_OPERATION
from bonus_service.problems import PROBLEM_JSON
from bonus_service.schemas import Strict
from rules.money import LIMIT

# status → what it means wherever it is not described by the view itself
DESCRIPTIONS = {
    "400": "The body is not JSON or nests deeper than 64 levels, the path holds a NUL, or the "
    "Idempotency-Key header is missing or malformed.",
    "401": "No valid API key or guest token (see WWW-Authenticate).",
    "403": "The API key lacks the scope this call needs.",
    "404": "Nothing is found under this path.",
    "409": "The request conflicts with the current state, or its Idempotency-Key is still "
    "being processed (retry after Retry-After).",
    "413": "The body is larger than BONUS_MAX_BODY_BYTES.",
    "415": "The body is not application/json.",
    "422": "A field is invalid: `errors` names each field and the reason, or the "
    "Idempotency-Key was used with another body.",
    "429": "Too many requests; retry after Retry-After seconds.",
    "503": "The database or the SMS provider is unavailable; retry after Retry-After seconds.",
    "default": "Any other error, in the same problem shape.",
}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer", "minimum": 0},
    }
}
WRITE_METHODS = {"post", "put", "patch", "delete"}


class FieldErrorOut(Schema):
    field = fields.String(metadata={"example": "order.items.0.qty"})
    reason = fields.String(metadata={"example": "must be at least 1"})


class ProblemOut(Schema):
    """RFC 9457 problem details; extension members (attempts_left, redeem_max, ...) may follow."""

    class Meta:
        unknown = INCLUDE

    type = fields.String(metadata={"example": "about:blank"})
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    instance = fields.String(allow_none=True)
    errors = fields.List(fields.Nested(FieldErrorOut))


def expected_errors(path: str, method: str, operation: dict) -> set[str]:
    """The error statuses an operation can answer, from what its documentation says of it."""
    schemes = {name for requirement in operation.get("security", []) for name in requirement}
    parameters = [p for p in operation.get("parameters", []) if isinstance(p, dict)]
    statuses = {"503"}
    if method.upper() in BODY_METHODS and path.startswith("/v1/"):
        # http._check_body refuses an oversized or non-JSON body on any /v1 write, even on
        # an operation that takes none (complete, cancel)
        statuses |= {"413", "415"}
    if "apiKey" in schemes:
        statuses |= {"401", "403"}
    if "guestToken" in schemes:
        statuses.add("401")
    if "requestBody" in operation:
        statuses |= {"400", "413", "415", "422"}
    if any(p.get("in") == "header" and p.get("name") == "Idempotency-Key" for p in parameters):
        statuses |= {"400", "409", "422"}
    if any(p.get("in") == "query" for p in parameters):
        statuses.add("422")
    if "{" in path:
        statuses |= {"400", "404", "422"}
    return statuses


def problem_response(status: str, described: object, *, standard: bool = False) -> dict:
    """The problem+json response for `status`: a view's own description, followed by the
    standard one when the status is also one every such operation can answer."""
    description = described.get("description") if isinstance(described, dict) else None
    if description and standard and status in DESCRIPTIONS:
        description = f"{description} Or: {DESCRIPTIONS[status]}"
    response = {
        "description": description or DESCRIPTIONS.get(status, "An error."),
        "content": {PROBLEM_JSON: {"schema": "Problem"}},
    }
    if status in ("409", "429", "503"):
        response["headers"] = dict(RETRY_AFTER)
    return response


class ContractDocs(BasePlugin):
    """apispec plugin: every operation's error answers as problem+json; phones in paths."""

    def init_spec(self, spec) -> None:
        spec.components.schema("Problem", schema=ProblemOut)

    def path_helper(self, path=None, operations=None, parameters=None, **kwargs) -> None:
        # runs after flask-smorest's helper has read the path parameters off the Flask rule
        for parameter in parameters or []:
            if isinstance(parameter, dict) and parameter.get("name") == "phone":
                parameter.setdefault("schema", {})["format"] = "phone"

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        for method, operation in (operations or {}).items():
            if operation.pop(IDEMPOTENT_OPERATION, False):  # marked by idempotency.idempotent
                others = [p for p in operation.get("parameters", []) if p.get("name") != HEADER]
                operation["parameters"] = [HEADER_PARAMETER, *others]
            if method not in WRITE_METHODS | {"get", "head", "options"}:
                continue
            responses = operation.setdefault("responses", {})
            # flask-smorest keys a view's alt_response by int: as str, so the standard set
            # below does not add a second "403" that overwrites the view's own description
            for status in [s for s in responses if not isinstance(s, str)]:
                responses[str(status)] = responses.pop(status)
            standard = expected_errors(path or "", method, operation)
            for status in standard:
                responses.setdefault(status, None)
            for status, described in list(responses.items()):
                if status == "default" or int(status) >= 400:
                    responses[status] = problem_response(
                        status, described, standard=status in standard
                    )


# a request's amount: a plain decimal of at most two places, up to rules.money.LIMIT
AMOUNT_TEXT = r"0*(10000000(\.0{1,2})?|[0-9]{1,7}(\.[0-9]{1,2})?)"


def amount_properties(self, field, **kwargs) -> dict:
    """apispec attribute function: amounts in requests (Strict schemas) and in answers."""
    if not isinstance(field, Amount):
        return {}
    sign = "-?" if isinstance(field, SignedAmount) else ""
    if not isinstance(field.parent, Strict):  # an answer: always a string with two places
        return {"type": "string", "pattern": f"^{sign}[0-9]+\\.[0-9]{{2}}$", "example": "30.00"}
    return {
        "oneOf": [
            {"type": "string", "pattern": f"^{sign}{AMOUNT_TEXT}$", "example": "349.90"},
            {
                "type": "number",
                "minimum": -int(LIMIT) if sign else 0,
                "maximum": int(LIMIT),
                "multipleOf": 0.01,
            },
        ]
    }
