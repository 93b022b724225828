"""What the program decides for an order: plain frozen values, nothing that writes."""

from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple


class Explanation(NamedTuple):
    """One reason, as a rule id and a Russian sentence for the guest or the operator."""

    rule: str
    message: str


@dataclass(frozen=True, slots=True)
class GuestState:
    """What the rules need to know of a guest: registered or not, and the spendable balance."""

    registered: bool
    available: Decimal


@dataclass(frozen=True, slots=True)
class Decision:
    """The program's answer for one order: amounts with two places, and why."""

    version: str
    total: Decimal
    accrual: Decimal
    redeem_max: Decimal
    redeem: Decimal
    explanation: tuple[Explanation, ...]
    step: Decimal = Decimal("0.01")  # bonuses are spent in multiples of it (the rounding quantum)

    @property
    def redeem_in_steps(self) -> bool:
        """Whether the requested redeem is a whole number of steps (whole bonuses by default)."""
        return not self.redeem % self.step
