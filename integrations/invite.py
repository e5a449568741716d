"""An invite: what every calendar target is told about one appointment.

The one crossing from the domain into integrations is :func:`invite_for`;
providers (Google, Graph, iCalendar, email) only ever see an :class:`Invite`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from domain.appointment import Appointment, AppointmentStatus
from domain.resources import Technician
from domain.shop import Shop

UID_DOMAIN = "scheduling-service"


class InviteStatus(StrEnum):
    """The event's status, named as iCalendar's VEVENT STATUS values."""

    TENTATIVE = "TENTATIVE"
    CONFIRMED = "CONFIRMED"
    CANCELLED = "CANCELLED"


# A hold is not yet a promise; an expired hold or a cancellation removes the event.
# Everything else (checked in, done, no-show) still happened at that time.
_STATUS_FOR: dict[AppointmentStatus, InviteStatus] = {
    AppointmentStatus.HELD: InviteStatus.TENTATIVE,
    AppointmentStatus.CANCELLED: InviteStatus.CANCELLED,
    AppointmentStatus.EXPIRED: InviteStatus.CANCELLED,
}


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
        )


def repeated_wall_time(moment: datetime) -> bool:
    """Whether ``moment`` is the second occurrence of a wall time repeated when clocks fall back.

    A zone name with that wall time means its first occurrence (RFC 5545
    §3.3.5, and Graph reads it the same way), so renderers write such a
    moment in UTC instead.
    """
    return moment.fold == 1 and moment.replace(fold=0).utcoffset() != moment.utcoffset()


def invite_uid(appointment_id: str) -> str:
    """The iCalendar UID of an appointment: stable across reschedules and cancellation."""
    return f"{appointment_id}@{UID_DOMAIN}"


def invite_for(appointment: Appointment, shop: Shop, technician: Technician, service_name: str) -> Invite:
    """Map one appointment, with its shop, technician and service's name, to an invite."""
    tz = shop.tz
    location = ", ".join(part for part in (shop.name, shop.address) if part)
    lines = [
        f"{service_name} for vehicle {appointment.vehicle_id}",
        f"Technician: {technician.name}",
        f"Urgency: {appointment.urgency.value}",
    ]
    if appointment.customer.name:
        lines.append(f"Customer: {appointment.customer.name}")
    if appointment.notes:
        lines.append(f"Notes: {appointment.notes}")
    lines.append(f"Appointment: {appointment.id}")
    return Invite(
        appointment_id=appointment.id,
        uid=invite_uid(appointment.id),
        sequence=appointment.sequence,
        summary=f"{service_name} — vehicle {appointment.vehicle_id}",
        description="\n".join(lines),
        location=location,
        start=appointment.start.astimezone(tz),
        end=appointment.end.astimezone(tz),
        timezone=shop.timezone,
        status=_STATUS_FOR.get(appointment.status, InviteStatus.CONFIRMED),
        attendee_email=technician.email,
        attendee_name=technician.name,
        customer_email=appointment.customer.email,
        customer_name=appointment.customer.name,
    )
