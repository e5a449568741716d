"""The one crossing from an appointment to its invite, and the invite's UID.

:func:`invite_for` maps an appointment to a :class:`~domain.invites.Invite`;
providers (Google, Graph, iCalendar, email) only ever see an invite.
"""

from __future__ import annotations

from datetime import datetime

from domain.appointment import Appointment, AppointmentStatus
from domain.invites import Invite, InviteStatus
from domain.resources import Technician
from domain.shop import Shop

UID_DOMAIN = "scheduling-service"


# A hold is not yet a promise; an expired hold or a cancellation removes the event.
# Everything else (checked in, done, no-show) still happened at that time.
_STATUS_FOR: dict[AppointmentStatus, InviteStatus] = {
    AppointmentStatus.HELD: InviteStatus.TENTATIVE,
    AppointmentStatus.CANCELLED: InviteStatus.CANCELLED,
    AppointmentStatus.EXPIRED: InviteStatus.CANCELLED,
}


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
    if appointment.series_id:
        lines.append(f"Recurring series {appointment.series_id} ({appointment.recurrence}): this is one occurrence")
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
        series_id=appointment.series_id,
        recurrence=appointment.recurrence,
    )
