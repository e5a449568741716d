"""The customer behind a booking."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CustomerTier(StrEnum):
    """Fleet and premium customers weigh more in the objective."""

    REGULAR = "regular"
    FLEET = "fleet"
    PREMIUM = "premium"

    @property
    def weight(self) -> int:
        return {CustomerTier.REGULAR: 1, CustomerTier.FLEET: 2, CustomerTier.PREMIUM: 3}[self]


@dataclass(frozen=True, slots=True)
class Customer:
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    tier: CustomerTier = CustomerTier.REGULAR
