"""Every refusal the services can raise has its one HTTP answer in problems.STATUS."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import bonus_service.services
from bonus_service import errors
from bonus_service.problems import from_domain, status_of


def _refusal_types() -> set[type[errors.DomainError]]:
    modules = [errors] + [
        importlib.import_module(m.name)
        for m in pkgutil.walk_packages(bonus_service.services.__path__, "bonus_service.services.")
    ]
    found = set()
    for module in modules:
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, errors.DomainError):
                found.add(value)
    # bases only ever raised as one of their subclasses (a code is a login or a spending code)
    return found - {errors.DomainError, errors.CodeRefused}


def test_every_refusal_type_of_the_services_has_a_status():
    unmapped = []
    for kind in sorted(_refusal_types(), key=lambda k: k.__qualname__):
        try:
            status_of(kind.__new__(kind))
        except LookupError:
            unmapped.append(kind.__qualname__)
    assert not unmapped, f"no HTTP status for {unmapped}: add them to problems.STATUS"


@pytest.mark.parametrize(
    ("refusal", "status"),
    [
        (errors.SpendingCodeRefused("Wrong confirmation_code."), 403),
        (errors.LoginCodeRefused("Wrong code."), 401),
        (errors.RateLimited("Too many.", 7, limit="phone_hour"), 429),
    ],
)
def test_a_refusal_answers_its_status_facts_and_retry_time(refusal, status):
    problem = from_domain(refusal)
    assert problem.code == status
    assert problem.extra == refusal.facts
    expected = {"Retry-After": str(refusal.retry_after)} if refusal.retry_after else {}
    assert problem.extra_headers == expected


def test_a_bare_domain_error_has_no_status_of_its_own():
    with pytest.raises(LookupError):
        status_of(errors.DomainError("a refusal nobody typed"))
