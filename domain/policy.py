"""Shop policies: buffer between jobs, daily caps, holds, cancellation fees."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class SchedulingPolicy:
    """The knobs of the service card's "Scheduling Parameters"."""

    buffer: timedelta = timedelta(minutes=30)
    max_bookings_per_technician_per_day: int = 6
    hold_ttl: timedelta = timedelta(minutes=15)
    slot_step: timedelta = timedelta(minutes=15)
    """Candidate start times are on this grid (shop-local wall clock)."""


@dataclass(frozen=True, slots=True)
class CancellationOutcome:
    late: bool
    fee: Decimal


@dataclass(frozen=True, slots=True)
class CancellationPolicy:
    """Free cancellation more than ``free_before`` ahead; otherwise a late fee."""

    free_before: timedelta = timedelta(hours=24)
    late_fee: Decimal = Decimal("50.00")

    def assess(self, start: datetime, now: datetime) -> CancellationOutcome:
        if start - now > self.free_before:
            return CancellationOutcome(late=False, fee=Decimal("0.00"))
        return CancellationOutcome(late=True, fee=self.late_fee)
