"""The bridge's ports: ``AutoBooker`` (the booking side) and what it answers; ``AlertDetailsSource``.

The bridge decides *whether* an alert is booked and *how* (best slot within
N days, or the immediate next one); the booker decides *where*: it searches
slots at the hinted shop or nearby capable ones and books through the
booking service. The lead wires the real one (slot search + BookingService);
tests use a fake that writes real rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from domain.appointment import Appointment
from domain.customer import Customer
from domain.job import Job


@dataclass(frozen=True, slots=True)
class BookingOutcome:
    """A booked appointment, or could-not-book with the reasons."""

    appointment_id: str | None
    shop_id: str | None = None
    technician_id: str | None = None
    bay_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    reasons: tuple[str, ...] = ()

    @property
    def booked(self) -> bool:
        return self.appointment_id is not None

    @classmethod
    def of(cls, appointment: Appointment) -> BookingOutcome:
        return cls(
            appointment.id,
            appointment.shop_id,
            appointment.technician_id,
            appointment.bay_id,
            appointment.start,
            appointment.end,
        )

    @classmethod
    def not_booked(cls, *reasons: str) -> BookingOutcome:
        return cls(None, reasons=reasons or ("no reason given",))


class AutoBooker(Protocol):
    """Books one job for an alert, without a person choosing the slot.

    Contract the bridge relies on:

    * **Idempotent per ``source_ref``** (``alert:<alert_id>``, unique on
      appointments): if an appointment with that source_ref exists, return
      it instead of booking again. This is the alert's dedupe inside the
      booking's own transaction.
    * **Publishes through the outbox**: the appointment and its events
      (``appointment.scheduled``, ``technician.assigned``, ...) are written in
      one transaction; the bridge's relay publishes them.
    * ``immediate=True``: the next feasible slot; else the best-ranked slot
      starting within ``within`` of ``now``. ``shop_hint`` is the vehicle's
      shop, or None (then the nearest capable shop to ``job.location``).
      ``job.duration`` is an estimate; the catalog's duration may replace it.
    * **Could not book** (nothing fits, unknown service type or shop) is an
      answer: ``BookingOutcome.not_booked(reasons...)``, or raising a
      ``DomainError`` other than ``SlotTaken``/``HoldExpired``. Anything else
      raised is a transient failure: the bridge leaves the alert un-acked,
      retries it, and dead-letters it after ``EVENT_MAX_DELIVERIES``.
    """

    async def book_for_alert(
        self,
        job: Job,
        *,
        shop_hint: str | None,
        within: timedelta,
        immediate: bool,
        source_ref: str,
        now: datetime,
        customer: Customer,
        notes: str | None,
    ) -> BookingOutcome: ...


class AlertDetailsSource(Protocol):
    """An alert's details by id (the Alert Service), for ``alert.created`` events that carry only the id.

    Answers the alert's fields in the shape of an ``alert.created`` payload; raises
    ``domain.neighbours.NeighbourUnavailable`` when it cannot (the bridge then leaves the event
    un-acked: it is retried, and dead-lettered after ``EVENT_MAX_DELIVERIES``).
    """

    async def alert_details(self, alert_id: str) -> Mapping[str, Any]: ...
