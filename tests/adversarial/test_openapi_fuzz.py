"""schemathesis against the service's own /openapi.json: no 5xx, every answer as documented.

Each operation gets a fresh database holding two guests and three orders, real HTTP to a real
(werkzeug) server, a key with every scope (or a guest token where the operation wants one) and a
new Idempotency-Key per request. Generation is deterministic so CI sees the same requests.
"""

from __future__ import annotations

import uuid
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation import GenerationMode

from tests.support.populated import POOR, RICH
from tests.support.surface import OPERATIONS, SPEC, leaked

MIN_REQUESTS = 1000
CONFIG = {
    "seed": 20240101,
    "generation": {"max-examples": 45, "deterministic": True, "database": "none"},
    # A schema-valid request may still be refused for what a schema cannot say (an unknown
    # zone, a discount over the items): a 4xx naming the field is the right answer there.
    "checks": {"positive_data_acceptance": {"enabled": False}},
}
# "phone" is the spec's format for a mobile number in any common format: mostly our two
# guests, sometimes a stranger, in the shapes people type
schemathesis.openapi.format(
    "phone",
    st.sampled_from([RICH, POOR, "8 916 000-00-01", "+7 (916) 000 00 02"])
    | st.from_regex(r"\+7916[0-9]{7}", fullmatch=True),
)


schema = schemathesis.openapi.from_dict(SPEC, config=SchemathesisConfig.from_dict(CONFIG))


@pytest.fixture(scope="module")
def sent():
    """Requests sent per operation; once every operation ran, at least MIN_REQUESTS in all."""
    counts: Counter[str] = Counter()
    yield counts
    print(f"\nschemathesis sent {sum(counts.values())} requests to {len(counts)} operations")
    if len(counts) == len(OPERATIONS):
        assert sum(counts.values()) >= MIN_REQUESTS, counts


def _negative_headers(case) -> bool:
    """Schemathesis broke the headers on purpose (no key, no auth): leave them broken."""
    component = case.meta.components.get(ParameterLocation.HEADER) if case.meta else None
    return component is not None and component.mode is GenerationMode.NEGATIVE


def _credentials(case, full_key: str, mint_token) -> dict[str, str]:
    schemes = {name for need in case.operation.definition.raw.get("security", []) for name in need}
    secret = mint_token(RICH) if "guestToken" in schemes else full_key
    return {"Authorization": f"Bearer {secret}", "Idempotency-Key": uuid.uuid4().hex}


def no_insides_in_the_answer(ctx, response, case) -> None:
    """A schemathesis check: no stack trace, SQL, driver name or file path in any body. What
    the client sent in the path may come back in a 404 (an order id of "sqlalchemy.url":
    hypothesis tries string constants it finds in the code), so it is no leak."""
    told = response.text
    for value in (case.path_parameters or {}).values():
        told = told.replace(str(value), "")
    marker = leaked(told)
    assert marker is None, f"{marker!r} in the answer: {response.text[:300]}"


@schema.parametrize()
# one database per operation, shared by its examples on purpose: state accumulates
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_operation_answers_as_documented_and_never_fails(
    case, http_server, populated, full_key, mint_token, sent
):
    headers = {} if _negative_headers(case) else _credentials(case, full_key, mint_token)
    sent[case.operation.label] += 1
    case.call_and_validate(
        base_url=http_server, headers=headers, additional_checks=[no_insides_in_the_answer]
    )
