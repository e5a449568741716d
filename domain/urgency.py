"""Urgency of a job, as a request or an alert states it."""

from __future__ import annotations

from enum import StrEnum


class Urgency(StrEnum):
    """How soon a job must be done; drives the solver's earliness weight."""

    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"

    @property
    def weight(self) -> int:
        """Relative weight of earliness in the objective (LOW=1 .. CRITICAL=8)."""
        return _WEIGHTS[self]

    @classmethod
    def parse(cls, value: str) -> Urgency:
        """Case-insensitive parse; raises ValueError naming the allowed values."""
        try:
            return cls(value.strip().upper())
        except ValueError:
            allowed = ", ".join(u.value for u in cls)
            raise ValueError(f"unknown urgency {value!r}; expected one of {allowed}") from None


_WEIGHTS = {Urgency.LOW: 1, Urgency.MEDIUM: 2, Urgency.HIGH: 4, Urgency.CRITICAL: 8}
