"""The outbox events a booking change writes (DESIGN.md, "Events").

Payloads carry everything a consumer needs without calling back: ids, names,
times as ISO 8601 with an offset, status and the iCalendar sequence.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from domain.appointment import Appointment
from domain.events import EventEnvelope, EventType
from domain.parts import PartsAvailability
from store import outbox_repository as outbox


def appointment_data(appt: Appointment, technician_name: str, bay_name: str) -> dict[str, Any]:
    return {
        "appointment_id": appt.id,
        "shop_id": appt.shop_id,
        "vehicle_id": appt.vehicle_id,
        "service_type": appt.service_type,
        "urgency": appt.urgency.value,
        "technician_id": appt.technician_id,
        "technician_name": technician_name,
        "bay_id": appt.bay_id,
        "bay_name": bay_name,
        "start": appt.start.isoformat(),
        "end": appt.end.isoformat(),
        "status": appt.status.value,
        "sequence": appt.sequence,
        "customer": {"name": appt.customer.name, "email": appt.customer.email},
        "source_ref": appt.source_ref,
    }


async def record(
    conn: asyncpg.Connection,
    event_type: str,
    appt: Appointment,
    names: tuple[str, str],
    now: datetime,
    **extra: Any,
) -> None:
    """Write one event about ``appt`` into the outbox, inside the caller's transaction."""
    data = {**appointment_data(appt, *names), **extra}
    await outbox.add(conn, EventEnvelope.new(event_type, data, now), appt.id)


def scheduled(
    appt: Appointment,
    names: tuple[str, str],
    now: datetime,
    parts: PartsAvailability | None,
) -> list[EventEnvelope]:
    """``appointment.scheduled`` and ``technician.assigned``, plus a parts order if the job waits on parts."""
    data = appointment_data(appt, *names)
    out = [
        EventEnvelope.new(EventType.APPOINTMENT_SCHEDULED, data, now),
        EventEnvelope.new(EventType.TECHNICIAN_ASSIGNED, data, now),
    ]
    if parts is not None and parts.missing:
        order = {
            "appointment_id": appt.id,
            "shop_id": appt.shop_id,
            "vehicle_id": appt.vehicle_id,
            "service_type": appt.service_type,
            "parts": list(parts.missing),
            "needed_by": appt.start.isoformat(),
            "expected_at": parts.ready_at.isoformat(),
        }
        out.append(EventEnvelope.new(EventType.PARTS_ORDER_REQUESTED, order, now))
    return out


async def record_scheduled(
    conn: asyncpg.Connection,
    appt: Appointment,
    names: tuple[str, str],
    now: datetime,
    parts: PartsAvailability | None,
) -> None:
    """Write ``scheduled(...)``'s events into the outbox in one statement, inside the caller's transaction."""
    await add(conn, scheduled(appt, names, now, parts), appt.id)


async def add(conn: asyncpg.Connection, envelopes: list[EventEnvelope], aggregate_id: str) -> None:
    """Write prepared events (``scheduled(...)``) into the outbox in one statement, inside the caller's transaction."""
    await outbox.add_many(conn, envelopes, aggregate_id)
