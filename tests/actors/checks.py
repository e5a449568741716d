"""Invariant checks shared by the protocol tests: the database and the actors' memory."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from application.booking import BookingService
from application.booking_queries import BookingQueries
from domain.events import EventEnvelope
from domain.time_windows import Interval
from store import appointment_repository as appointments
from store import catalog_repository as catalog
from store import event_repository as events


async def overlapping_rows(pool: Any) -> int:
    """Pairs of live rows that share a technician (buffer included) or a bay for overlapping time."""
    async with pool.acquire() as conn:
        return int(await conn.fetchval(
            """
            SELECT count(*) FROM appointments a JOIN appointments b ON a.id < b.id
            WHERE a.status IN ('held','scheduled','checked_in','in_progress')
              AND b.status IN ('held','scheduled','checked_in','in_progress')
              AND ((a.technician_id = b.technician_id
                    AND tstzrange(a.start_at, a.blocked_until) && tstzrange(b.start_at, b.blocked_until))
                OR (a.bay_id = b.bay_id AND tstzrange(a.start_at, a.end_at) && tstzrange(b.start_at, b.end_at)))
            """
        ))


async def outbox_events(pool: Any, appointment_id: str) -> list[EventEnvelope]:
    """One appointment's outbox events, oldest first, read as the relay reads them (no relay runs here)."""
    async with pool.acquire() as conn, conn.transaction():
        rows = await events.lock_unpublished(conn, 10_000)
    return [row.envelope for row in rows if row.aggregate_id == appointment_id]


async def calendars_match_database(service: BookingService, shop_id: str, now: datetime) -> list[str]:
    """Differences between each actor's live entries and the database's live rows (empty when equal)."""
    window = Interval(now - timedelta(days=1), now + timedelta(days=30))
    busy = await queries_for(service).resource_busy(shop_id, window, now)
    problems: list[str] = []
    async with service.pool.acquire() as conn:
        for tech in await catalog.list_technicians(conn, shop_id=shop_id):
            rows = await appointments.list_live_for_technician(conn, tech.id, window, now)
            problems += _compare(tech.id, rows, busy.technicians[tech.id].entries)
        for bay in await catalog.list_bays(conn, shop_id):
            rows = await appointments.list_live_for_bay(conn, bay.id, window, now)
            problems += _compare(bay.id, rows, busy.bays[bay.id].entries)
    return problems


def _compare(resource_id: str, rows: list[Any], entries: Any) -> list[str]:
    stored = {(a.id, a.interval, a.hold_expires_at if a.status.value == "held" else None) for a in rows}
    memory = {(e.key, e.interval, e.held_until) for e in entries}
    if stored == memory:
        return []
    return [f"{resource_id}: only in db {sorted(map(str, stored - memory))}, only in actor "
            f"{sorted(map(str, memory - stored))}"]


def queries_for(service: BookingService) -> BookingQueries:
    """The reads over the same pool, calendars and catalog as ``service``."""
    return BookingQueries(service.pool, service.directory, service.catalog, service.clock)
