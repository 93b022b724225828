"""The one source of fresh guest phones for the whole run."""

from __future__ import annotations

import itertools

# one counter for every tier, so no two helpers can hand a test the same number; phones
# written out in tests stay below +7 912 000 10 00 or use another operator code
_phones = itertools.count(1000)


def new_phone() -> str:
    """A fresh, valid Russian mobile number per call (+7 912 xxx xx xx)."""
    return f"+7912{next(_phones):07d}"
