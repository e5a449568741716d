"""The outbox events a booking change writes (DESIGN.md, "Events").

The payloads are the typed events of ``domain.events``; this module picks
which ones a change publishes and writes them inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from domain.appointment import Appointment
from domain.events import (
    AppointmentScheduled,
    EventEnvelope,
    PartsOrderRequested,
    PublishedEvent,
    TechnicianAssigned,
)
from domain.parts import PartsAvailability
from store import outbox_repository as outbox


async def record(
    conn: asyncpg.Connection, appointment_id: str, changes: Sequence[PublishedEvent], now: datetime
) -> None:
    """Write events about one appointment into the outbox in one statement, inside the caller's transaction."""
    await add(conn, [EventEnvelope.of(change, now) for change in changes], appointment_id)


def scheduled(
    appt: Appointment,
    names: tuple[str, str],
    now: datetime,
    parts: PartsAvailability | None,
) -> list[EventEnvelope]:
    """``appointment.scheduled`` and ``technician.assigned``, plus a parts order if the job waits on parts."""
    changes: list[PublishedEvent] = [AppointmentScheduled(appt, *names), TechnicianAssigned(appt, *names)]
    if parts is not None and parts.missing:
        changes.append(PartsOrderRequested(appt, parts.missing, parts.ready_at))
    return [EventEnvelope.of(change, now) for change in changes]


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
