"""Calendar invites as plain values: what every calendar target is told about one
appointment (:class:`Invite`), and how its delivery to one provider stands
(:class:`InviteDelivery`).

``integrations/`` maps an appointment to an invite and sends it; ``store/``
keeps the deliveries. Both speak these types, so neither needs the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo


class InviteStatus(StrEnum):
    """The event's status, named as iCalendar's VEVENT STATUS values."""

    TENTATIVE = "TENTATIVE"
    CONFIRMED = "CONFIRMED"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True, slots=True)
class Invite:
    """One appointment as a calendar event.

    ``start`` and ``end`` are aware datetimes in the shop's zone ``timezone``,
    so that every rendering keeps the shop's wall-clock time across DST.
    """

    appointment_id: str
    uid: str
    sequence: int
    summary: str
    description: str
    location: str
    start: datetime
    end: datetime
    timezone: str
    status: InviteStatus
    attendee_email: str | None = None
    attendee_name: str | None = None
    customer_email: str | None = None
    customer_name: str | None = None
    series_id: str | None = None
    """The recurring series the appointment is an occurrence of (each occurrence is its own event)."""
    recurrence: str | None = None
    """The series' RRULE, as booked (informative: the occurrences are the events, not an expansion of it)."""

    @property
    def cancelled(self) -> bool:
        return self.status is InviteStatus.CANCELLED

    def to_json_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (stored with the invite's delivery state, for retries)."""
        return {
            "appointment_id": self.appointment_id,
            "uid": self.uid,
            "sequence": self.sequence,
            "summary": self.summary,
            "description": self.description,
            "location": self.location,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "timezone": self.timezone,
            "status": self.status.value,
            "attendee_email": self.attendee_email,
            "attendee_name": self.attendee_name,
            "customer_email": self.customer_email,
            "customer_name": self.customer_name,
            "series_id": self.series_id,
            "recurrence": self.recurrence,
        }

    @classmethod
    def from_json_dict(cls, doc: dict[str, Any]) -> Invite:
        tz = ZoneInfo(doc["timezone"])
        return cls(
            appointment_id=doc["appointment_id"],
            uid=doc["uid"],
            sequence=int(doc["sequence"]),
            summary=doc["summary"],
            description=doc["description"],
            location=doc["location"],
            start=datetime.fromisoformat(doc["start"]).astimezone(tz),
            end=datetime.fromisoformat(doc["end"]).astimezone(tz),
            timezone=doc["timezone"],
            status=InviteStatus(doc["status"]),
            attendee_email=doc.get("attendee_email"),
            attendee_name=doc.get("attendee_name"),
            customer_email=doc.get("customer_email"),
            customer_name=doc.get("customer_name"),
            series_id=doc.get("series_id"),
            recurrence=doc.get("recurrence"),
        )


class DeliveryState(StrEnum):
    """Where an invite's latest operation stands at one provider."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class Operation(StrEnum):
    """What the provider must be told for the invite's current version."""

    CREATE = "create"
    UPDATE = "update"
    CANCEL = "cancel"


@dataclass(frozen=True, slots=True)
class InviteDelivery:
    """One appointment's invite at one provider: the latest operation and how it went.

    Keyed by ``(appointment_id, provider)``. ``sequence`` and ``operation`` say
    which version of the invite the state is about; ``invite`` is that version,
    kept so that a retry needs nothing else. ``next_attempt_at`` is set while a
    retry is scheduled; a failed delivery without one has been given up.
    """

    appointment_id: str
    provider: str
    state: DeliveryState
    operation: Operation
    sequence: int
    invite: Invite
    updated_at: datetime
    provider_event_id: str | None = None
    attempts: int = 0
    last_error: str | None = None
    next_attempt_at: datetime | None = None
