"""Every periodic job, each a plain function of `now` and what it works on.

    expire_balances(db, book, now, *, batch_size=5000, dry_run=False) -> ExpiryReport
    release_holds(db, now, *, batch_size=500) -> int
    send_burn_warnings(db, book, sender, now, days_before=7) -> WarningReport
    purge_idempotency_keys(db, now, *, keep) -> int
    forget_login_failures(db, now) -> int
    forget_sms_sends(db, now, *, keep) -> int
    lapse_adjustments(db, now) -> int

`scheduler.schedule` decides when they run; the CLI runs the expiry by hand.
"""

from scheduler.burn_warnings import DEFAULT_DAYS_BEFORE, WarningReport, send_burn_warnings
from scheduler.expiry import ExpiryReport, expire_balances
from scheduler.holds import release_holds
from scheduler.housekeeping import (
    forget_login_failures,
    forget_sms_sends,
    lapse_adjustments,
    purge_idempotency_keys,
)

__all__ = [
    "DEFAULT_DAYS_BEFORE",
    "ExpiryReport",
    "WarningReport",
    "expire_balances",
    "forget_login_failures",
    "forget_sms_sends",
    "lapse_adjustments",
    "purge_idempotency_keys",
    "release_holds",
    "send_burn_warnings",
]
