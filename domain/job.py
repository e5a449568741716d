"""A request for work (a job) and a slot that could take it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from domain.customer import CustomerTier
from domain.parts import PartsSource
from domain.shop import GeoPoint
from domain.time_windows import Interval
from domain.urgency import Urgency


@dataclass(frozen=True, slots=True)
class Job:
    """What a client or an alert asks for: one service for one vehicle.

    ``preferred_date`` and ``preferred_window`` (shop-local wall times) express
    the customer's wish; ``earliest`` bounds the search (defaults to now).
    """

    vehicle_id: str
    service_type: str
    urgency: Urgency
    duration: timedelta
    preferred_date: date | None = None
    preferred_window: tuple[time, time] | None = None
    preferred_technician_id: str | None = None
    customer_tier: CustomerTier = CustomerTier.REGULAR
    location: GeoPoint | None = None
    earliest: datetime | None = None


@dataclass(frozen=True, slots=True)
class Slot:
    """A place in time for a job: technician, bay, shop, and how good it is."""

    shop_id: str
    technician_id: str
    bay_id: str
    interval: Interval
    parts_available: bool
    confidence: float
    score: float = 0.0
    penalties: tuple[tuple[str, float], ...] = ()
    """Objective terms that cost this slot points, for explanations."""
    requires_reassignment: int = 0
    """Booked appointments that change technician or bay (never time) to free this slot (issue 14)."""
    parts_source: PartsSource | None = None
    """Who answered the parts check; None when the job needs no parts."""
    arrival_window: Interval | None = None
    """On-site work (issue 17): when the technician is promised to arrive; ``interval`` is the plan inside it."""

    @property
    def start(self) -> datetime:
        return self.interval.start

    @property
    def end(self) -> datetime:
        return self.interval.end
