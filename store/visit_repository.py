"""On-site visits (issue 17): where and when mobile technicians are, and writing a visit's place and window.

An on-site appointment is an ordinary appointments row (its bay is the
technician's van) with ``site_lat``/``site_lon`` and the arrival window the
customer was promised (migration 0014).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg

from domain.appointment import ACTIVE_STATUSES, Appointment
from domain.time_windows import Interval
from store.codecs import appointment_from_row

_ACTIVE = [s.value for s in ACTIVE_STATUSES]


async def live_visits(
    conn: asyncpg.Connection, technician_ids: Sequence[str], window: Interval, now: datetime
) -> list[Appointment]:
    """Live on-site appointments and unexpired holds of these technicians overlapping ``window``, in order."""
    rows = await conn.fetch(
        """
        SELECT * FROM appointments
        WHERE technician_id = ANY ($1::text[]) AND start_at < $3 AND end_at > $2 AND site_lat IS NOT NULL
          AND status = ANY ($4::text[]) AND (status <> 'held' OR hold_expires_at > $5)
        ORDER BY technician_id, start_at
        """,
        list(technician_ids),
        window.start,
        window.end,
        _ACTIVE,
        now,
    )
    return [appointment_from_row(r) for r in rows]


async def set_site(conn: asyncpg.Connection, appt: Appointment) -> None:
    """Record an on-site appointment's place and promised arrival window (same transaction as its insert)."""
    if appt.site is None:
        return
    window = appt.arrival_window
    await conn.execute(
        "UPDATE appointments SET site_lat = $2, site_lon = $3, arrival_start = $4, arrival_end = $5 WHERE id = $1",
        appt.id,
        appt.site.lat,
        appt.site.lon,
        window.start if window else None,
        window.end if window else None,
    )


async def move_visit(
    conn: asyncpg.Connection,
    appointment_id: str,
    sequence: int,
    technician: tuple[str, int],
    van: tuple[str, int],
    interval: Interval,
    buffer: timedelta,
    now: datetime,
) -> Appointment | None:
    """Re-plan one scheduled visit at ``sequence``: technician, van and planned times (its window stays).

    None when it changed meanwhile (another sequence or status). Call with the overlap checks deferred:
    a route re-plan moves visits past each other.
    """
    row = await conn.fetchrow(
        """
        UPDATE appointments SET technician_id = $3, tech_rid = $4, bay_id = $5, bay_rid = $6, start_at = $7,
            end_at = $8::timestamptz, blocked_until = $8::timestamptz + $9::interval, sequence = sequence + 1,
            updated_at = $10
        WHERE id = $1::uuid AND sequence = $2 AND status = 'scheduled'
        RETURNING *
        """,
        appointment_id,
        sequence,
        technician[0],
        technician[1],
        van[0],
        van[1],
        interval.start,
        interval.end,
        buffer,
        now,
    )
    return None if row is None else appointment_from_row(row)
