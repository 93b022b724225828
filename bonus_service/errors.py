"""The service's refusals: typed errors of the domain, with their facts, and nothing of HTTP.

Services, the ledger and the jobs raise these; the HTTP layer maps each type to its
problem+json answer in one place (`problems.STATUS`), and the pages catch the types. A
refusal carries what a client is told: `detail` (English), the fields at fault (`errors`:
field → reason), its facts (`facts`: extra members of the answer, e.g. `redeem_max`,
`status_now`, `attempts_left`) and, when a retry may succeed later, `retry_after` seconds.
"""

from __future__ import annotations

from collections.abc import Mapping


class DomainError(Exception):
    """A refusal of the service: why, the fields at fault, its facts, when to retry."""

    def __init__(
        self,
        detail: str,
        *,
        errors: Mapping[str, str] | None = None,
        facts: Mapping[str, object] | None = None,
        retry_after: int | None = None,
    ):
        super().__init__(detail)
        self.detail = detail
        self.errors = dict(errors or {})
        self.facts = dict(facts or {})
        self.retry_after = retry_after
        # True when the writes made before the refusal are part of it (a wrong code's counted
        # try): the unit of work commits them instead of rolling back (see `keeping_writes`)
        self.keep_writes = False

    def keeping_writes(self) -> DomainError:
        """The refusal commits what was written before it: only for a first write of a call."""
        self.keep_writes = True
        return self


class NotFound(DomainError):
    """What was asked for does not exist (or is not this caller's to see)."""


class Conflict(DomainError):
    """The request clashes with the current state (facts: e.g. `status_now`)."""


class Invalid(DomainError):
    """Bad input: the fields at fault, with facts such as `redeem_max` or `step`."""


class NotPermitted(DomainError):
    """The person named may not do this (their role, or their own adjustment)."""


class ConsentRequired(DomainError):
    """Spending a guest's bonuses without the guest's consent."""


class CodeRefused(DomainError):
    """A code that did not pass (wrong, expired, used, never sent); `attempts_left` is a fact."""


class LoginCodeRefused(CodeRefused):
    """A login code refused: the caller is not authenticated."""


class SpendingCodeRefused(CodeRefused, ConsentRequired):
    """A spending code refused: no consent to spend."""


class RateLimited(DomainError):
    """Too many tries; `retry_after` seconds until the next may pass, `limit` names which."""

    def __init__(self, detail: str, retry_after: int, *, limit: str | None = None):
        facts: dict[str, object] = {"retry_after": retry_after}
        if limit:
            facts["limit"] = limit
        super().__init__(detail, facts=facts, retry_after=retry_after)
        self.limit = limit


class Unavailable(DomainError):
    """Something the service depends on is away (or spent for now): retry after a while."""


def invalid(field: str, reason: str, **facts: object) -> Invalid:
    """Bad input in one named field."""
    return Invalid(f"{field}: {reason}", errors={field: reason}, facts=facts)
