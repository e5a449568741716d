"""The waitlist: customers waiting for earlier time, and the time-limited offers made to them.

An entry waits for a job (vehicle, service, urgency) somewhere (a shop, or
within a radius of a location) inside a window. When time frees up, the
waiting entries are taken in priority order (``priority``: urgency, then the
customer's tier, then who joined first), and the first one with a feasible
slot gets an offer: a held slot and a token, live until it expires. A freed
slot is offered to one entry at a time, and an entry holds at most one live
offer (the store enforces both).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from enum import StrEnum

from domain.customer import Customer
from domain.shop import GeoPoint
from domain.time_windows import Interval
from domain.urgency import Urgency

DEFAULT_RADIUS_KM = 50.0
"""How far from an entry's ``location`` a shop may be, when the entry names no radius."""


class EntryStatus(StrEnum):
    WAITING = "waiting"
    """Waiting for time to free up (also while it holds a live offer)."""
    BOOKED = "booked"
    """An offer was accepted: the entry's appointment is booked."""
    LEFT = "left"
    """Taken off the list by the customer or the shop."""


class OfferState(StrEnum):
    OFFERED = "offered"
    """Live: the slot is held until ``expires_at``; the token accepts or declines it."""
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    """Lapsed, or its hold ended before it was accepted."""


@dataclass(frozen=True, slots=True)
class WaitlistEntry:
    """One vehicle waiting for one service, somewhere, sometime in ``window``."""

    id: str
    vehicle_id: str
    service_type: str
    urgency: Urgency
    window: Interval
    """The job must start and end inside it."""
    joined_at: datetime
    shop_id: str | None = None
    location: GeoPoint | None = None
    radius_km: float | None = None
    preferred_window: tuple[time, time] | None = None
    """Shop-local wall-clock times the job should lie between, every day."""
    customer: Customer = field(default_factory=Customer)
    status: EntryStatus = EntryStatus.WAITING
    booked_by: str | None = None
    """The API key that put it on the list (a booking key sees only its own)."""
    appointment_id: str | None = None
    """The appointment its accepted offer booked."""

    def __post_init__(self) -> None:
        if (self.shop_id is None) == (self.location is None):
            raise ValueError("a waitlist entry names a shop_id or a location, not both")

    def may_use(self, shop_id: str, shop_location: GeoPoint | None) -> bool:
        """Whether time at this shop can serve the entry."""
        if self.shop_id is not None:
            return self.shop_id == shop_id
        if self.location is None or shop_location is None:
            return False
        return self.location.distance_km(shop_location) <= (self.radius_km or DEFAULT_RADIUS_KM)


def priority(entry: WaitlistEntry) -> tuple[int, int, datetime, str]:
    """The order in which entries are offered freed time: most urgent, then best tier, then first to join."""
    return (-entry.urgency.weight, -entry.customer.tier.weight, entry.joined_at, entry.id)


@dataclass(frozen=True, slots=True)
class WaitlistOffer:
    """A held slot offered to one entry, until ``expires_at``; only a hash of its token is kept."""

    id: str
    entry_id: str
    appointment_id: str
    """The hold that keeps the slot for the entry."""
    freed_from: str
    """The appointment whose freed time started this chain of offers (one live offer per freed slot)."""
    state: OfferState
    created_at: datetime
    expires_at: datetime

    def live(self, now: datetime) -> bool:
        return self.state is OfferState.OFFERED and self.expires_at > now
