"""Events: the contract on Redis Streams (DESIGN.md, "Events").

Each stream message carries one field ``event`` holding the JSON envelope
``{event_id, event_type, occurred_at, source, data}``. Parsing tolerates
unknown fields.

Each event this service publishes is one small class below; its ``data()`` is
the payload on the wire (times as ISO 8601 with an offset, amounts as
strings), and ``EventEnvelope.of`` is the one place an event becomes an
envelope. Payloads carry everything a consumer needs without calling back.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Protocol

from domain.appointment import Appointment
from domain.time_windows import require_aware
from domain.urgency import Urgency

SOURCE = "scheduling-service"


class EventType:
    """Names of the event types this service consumes and publishes."""

    ALERT_CREATED = "alert.created"
    AGENT_DECISION_MADE = "agent.decision.made"
    APPOINTMENT_SCHEDULED = "appointment.scheduled"
    APPOINTMENT_RESCHEDULED = "appointment.rescheduled"
    APPOINTMENT_CANCELLED = "appointment.cancelled"
    APPOINTMENT_REMINDER = "appointment.reminder"
    APPOINTMENT_NOT_BOOKED = "appointment.not_booked"
    TECHNICIAN_ASSIGNED = "technician.assigned"
    APPOINTMENT_CHECKED_IN = "appointment.checked_in"
    APPOINTMENT_STARTED = "appointment.started"
    APPOINTMENT_COMPLETED = "appointment.completed"
    APPOINTMENT_NO_SHOW = "appointment.no_show"
    PARTS_ORDER_REQUESTED = "parts.order.requested"
    APPOINTMENT_WAITLIST_OFFERED = "appointment.waitlist.offered"


class MalformedEvent(ValueError):
    """A message that is not a valid envelope; the reason says which field."""


@dataclass(frozen=True, slots=True)
class EventEnvelope:
    event_id: str
    event_type: str
    occurred_at: datetime
    source: str
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def new(cls, event_type: str, data: dict[str, Any], now: datetime) -> EventEnvelope:
        return cls(str(uuid.uuid4()), event_type, require_aware(now), SOURCE, data)

    @classmethod
    def of(cls, event: PublishedEvent, now: datetime) -> EventEnvelope:
        """The envelope that publishes ``event``, occurring at ``now``."""
        return cls.new(event.event_type, event.data(), now)

    def to_json(self) -> str:
        return json.dumps(
            {
                "event_id": self.event_id,
                "event_type": self.event_type,
                "occurred_at": self.occurred_at.isoformat(),
                "source": self.source,
                "data": self.data,
            },
            separators=(",", ":"),
            default=str,
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> EventEnvelope:
        try:
            doc = json.loads(raw)
        except (ValueError, TypeError) as exc:
            raise MalformedEvent(f"event is not JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise MalformedEvent("event must be a JSON object")
        for name in ("event_id", "event_type", "occurred_at"):
            if not isinstance(doc.get(name), str) or not doc[name]:
                raise MalformedEvent(f"event field {name!r} is missing or not a string")
        data = doc.get("data", {})
        if not isinstance(data, dict):
            raise MalformedEvent("event field 'data' must be an object")
        try:
            occurred = require_aware(datetime.fromisoformat(doc["occurred_at"]), "occurred_at")
        except ValueError as exc:
            raise MalformedEvent(f"event field 'occurred_at': {exc}") from None
        return cls(doc["event_id"], doc["event_type"], occurred, str(doc.get("source", "")), data)


class PublishedEvent(Protocol):
    """An event this service publishes: its type and its JSON-ready payload."""

    event_type: ClassVar[str]

    def data(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class _AppointmentEvent:
    """An event about one appointment, with the names of its technician and bay."""

    appointment: Appointment
    technician_name: str
    bay_name: str

    def data(self) -> dict[str, Any]:
        return self._appointment_data()

    def _appointment_data(self) -> dict[str, Any]:
        appt = self.appointment
        return {
            "appointment_id": appt.id,
            "shop_id": appt.shop_id,
            "vehicle_id": appt.vehicle_id,
            "service_type": appt.service_type,
            "urgency": appt.urgency.value,
            "technician_id": appt.technician_id,
            "technician_name": self.technician_name,
            "bay_id": appt.bay_id,
            "bay_name": self.bay_name,
            "start": appt.start.isoformat(),
            "end": appt.end.isoformat(),
            "status": appt.status.value,
            "sequence": appt.sequence,
            "customer": {"name": appt.customer.name, "email": appt.customer.email},
            "source_ref": appt.source_ref,
            "series_id": appt.series_id,
        }


@dataclass(frozen=True, slots=True)
class AppointmentScheduled(_AppointmentEvent):
    """``appointment.scheduled``: a booking is confirmed."""

    event_type: ClassVar[str] = EventType.APPOINTMENT_SCHEDULED


@dataclass(frozen=True, slots=True)
class TechnicianAssigned(_AppointmentEvent):
    """``technician.assigned``: a technician has a new job (booked, or moved to them)."""

    event_type: ClassVar[str] = EventType.TECHNICIAN_ASSIGNED


@dataclass(frozen=True, slots=True)
class AppointmentRescheduled(_AppointmentEvent):
    """``appointment.rescheduled``: a scheduled appointment moved; where it was before."""

    event_type: ClassVar[str] = EventType.APPOINTMENT_RESCHEDULED
    previous_start: datetime
    previous_technician_id: str

    def data(self) -> dict[str, Any]:
        return {
            **self._appointment_data(),
            "previous_start": self.previous_start.isoformat(),
            "previous_technician_id": self.previous_technician_id,
        }


@dataclass(frozen=True, slots=True)
class AppointmentCancelled(_AppointmentEvent):
    """``appointment.cancelled``: an announced appointment is cancelled; late or not, and the fee."""

    event_type: ClassVar[str] = EventType.APPOINTMENT_CANCELLED

    def __post_init__(self) -> None:
        if self.appointment.cancellation is None:
            raise ValueError(f"appointment {self.appointment.id} carries no cancellation")

    def data(self) -> dict[str, Any]:
        cancellation = self.appointment.cancellation
        assert cancellation is not None  # checked at construction
        return {
            **self._appointment_data(),
            "late": cancellation.late,
            "fee": str(cancellation.fee),
            "reason": cancellation.reason,
        }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


@dataclass(frozen=True, slots=True)
class AppointmentCheckedIn(_AppointmentEvent):
    """``appointment.checked_in``: the vehicle arrived; when."""

    event_type: ClassVar[str] = EventType.APPOINTMENT_CHECKED_IN

    def data(self) -> dict[str, Any]:
        return {**self._appointment_data(), "checked_in_at": _iso(self.appointment.progress.checked_in_at)}


@dataclass(frozen=True, slots=True)
class AppointmentStarted(_AppointmentEvent):
    """``appointment.started``: work on the vehicle began; when."""

    event_type: ClassVar[str] = EventType.APPOINTMENT_STARTED

    def data(self) -> dict[str, Any]:
        return {**self._appointment_data(), "actual_start": _iso(self.appointment.progress.actual_start)}


@dataclass(frozen=True, slots=True)
class AppointmentCompleted(_AppointmentEvent):
    """``appointment.completed``: the job is done; its actual times and the technician's notes."""

    event_type: ClassVar[str] = EventType.APPOINTMENT_COMPLETED

    def data(self) -> dict[str, Any]:
        progress = self.appointment.progress
        return {
            **self._appointment_data(),
            "actual_start": _iso(progress.actual_start),
            "actual_end": _iso(progress.actual_end),
            "completed_at": _iso(progress.completed_at),
            "notes": self.appointment.notes,
        }


@dataclass(frozen=True, slots=True)
class AppointmentNoShow(_AppointmentEvent):
    """``appointment.no_show``: the vehicle did not come; when the shop recorded it."""

    event_type: ClassVar[str] = EventType.APPOINTMENT_NO_SHOW

    def data(self) -> dict[str, Any]:
        return {**self._appointment_data(), "no_show_at": _iso(self.appointment.progress.no_show_at)}


@dataclass(frozen=True, slots=True)
class AppointmentReminder:
    """``appointment.reminder``: an appointment starts in ``starts_in``."""

    event_type: ClassVar[str] = EventType.APPOINTMENT_REMINDER
    appointment: Appointment
    starts_in: timedelta

    def data(self) -> dict[str, Any]:
        appt = self.appointment
        return {
            "appointment_id": appt.id,
            "shop_id": appt.shop_id,
            "vehicle_id": appt.vehicle_id,
            "service_type": appt.service_type,
            "technician_id": appt.technician_id,
            "bay_id": appt.bay_id,
            "start": appt.start.isoformat(),
            "end": appt.end.isoformat(),
            "starts_in_minutes": int(self.starts_in.total_seconds() // 60),
            "customer": {"name": appt.customer.name, "email": appt.customer.email, "phone": appt.customer.phone},
        }


@dataclass(frozen=True, slots=True)
class PartsOrderRequested:
    """``parts.order.requested``: the parts an appointment waits on, needed by its start."""

    event_type: ClassVar[str] = EventType.PARTS_ORDER_REQUESTED
    appointment: Appointment
    parts: tuple[str, ...]
    expected_at: datetime

    def data(self) -> dict[str, Any]:
        appt = self.appointment
        return {
            "appointment_id": appt.id,
            "shop_id": appt.shop_id,
            "vehicle_id": appt.vehicle_id,
            "service_type": appt.service_type,
            "parts": list(self.parts),
            "needed_by": appt.start.isoformat(),
            "expected_at": self.expected_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class AppointmentWaitlistOffered(_AppointmentEvent):
    """``appointment.waitlist.offered``: freed time is held for a waitlist entry; the token accepts or declines it.

    The token travels in the event (the customer's channel is whoever consumes it: the email, an app) and
    is stored only hashed; it is single-use and dies with ``expires_at``.
    """

    event_type: ClassVar[str] = EventType.APPOINTMENT_WAITLIST_OFFERED
    offer_id: str
    entry_id: str
    token: str
    expires_at: datetime

    def data(self) -> dict[str, Any]:
        return {
            **self._appointment_data(),
            "offer_id": self.offer_id,
            "waitlist_entry_id": self.entry_id,
            "offer_token": self.token,
            "offer_expires_at": self.expires_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class AppointmentNotBooked:
    """``appointment.not_booked``: an alert that could not be booked, and why."""

    event_type: ClassVar[str] = EventType.APPOINTMENT_NOT_BOOKED
    alert_id: str
    source_ref: str
    vehicle_id: str
    service_type: str
    urgency: Urgency
    shop_id: str | None
    reasons: tuple[str, ...]
    caused_by_event_id: str

    def data(self) -> dict[str, Any]:
        return {
            "alert_id": self.alert_id,
            "source_ref": self.source_ref,
            "vehicle_id": self.vehicle_id,
            "service_type": self.service_type,
            "urgency": self.urgency.value,
            "shop_id": self.shop_id,
            "reasons": list(self.reasons),
            "caused_by_event_id": self.caused_by_event_id,
        }
