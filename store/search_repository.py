"""Recorded slot searches (migration 0013): write one, link a booking to it, read their outcomes, purge old ones."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from domain.kpis import SearchOutcome
from domain.time_windows import Interval

FOLLOW_UP = timedelta(hours=24)
"""How long after a search a booking still counts as its outcome."""


@dataclass(frozen=True, slots=True)
class SearchRecord:
    """One search as stored: who, for what, when, where, and its rank-1 slot (None: it found none)."""

    id: str
    searched_at: datetime
    principal: str
    vehicle_id: str
    service_type: str
    shop_id: str | None
    shops_searched: tuple[str, ...]
    slot_count: int
    first_start: datetime | None = None
    first_technician_id: str | None = None
    first_bay_id: str | None = None


async def insert(conn: asyncpg.Connection, s: SearchRecord) -> None:
    await conn.execute(
        """
        INSERT INTO slot_searches (id, searched_at, principal, vehicle_id, service_type, shop_id, shops_searched,
                                   slot_count, first_start, first_technician_id, first_bay_id)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
        """,
        uuid.UUID(s.id),
        s.searched_at,
        s.principal,
        s.vehicle_id,
        s.service_type,
        s.shop_id,
        list(s.shops_searched),
        s.slot_count,
        s.first_start,
        s.first_technician_id,
        s.first_bay_id,
    )


async def link_booking(
    conn: asyncpg.Connection,
    appointment_id: str,
    *,
    principal: str,
    vehicle_id: str,
    service_type: str,
    booked_at: datetime,
    search_id: str | None,
) -> str | None:
    """Name the search a booking followed: ``search_id`` if it is the same caller's search for the same
    vehicle and service type within the follow-up window, else that caller's latest such search. Returns
    the id linked (None: no search preceded it)."""
    # One statement: it commits on its own, with no transaction round trips around it.
    found = await conn.fetchval(
        """
        UPDATE appointments SET search_id = s.id
        FROM (
            SELECT id FROM slot_searches
            WHERE principal = $1 AND vehicle_id = $2 AND service_type = $3
              AND searched_at <= $4 AND searched_at > $4 - $5::interval
            ORDER BY (id = $6) DESC, searched_at DESC
            LIMIT 1
        ) AS s
        WHERE appointments.id = $7
        RETURNING s.id
        """,
        principal,
        vehicle_id,
        service_type,
        booked_at,
        FOLLOW_UP,
        _uuid_or_none(search_id),
        uuid.UUID(appointment_id),
    )
    return None if found is None else str(found)


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


async def outcomes(conn: asyncpg.Connection, window: Interval, shop_ids: Sequence[str] | None) -> list[SearchOutcome]:
    """The searches made in ``window`` (at ``shop_ids``; None: every search, chain-wide) and what followed."""
    rows = await conn.fetch(
        """
        SELECT (b.id IS NOT NULL) AS booked,
               COALESCE(b.start_at = s.first_start AND b.technician_id = s.first_technician_id
                        AND b.bay_id = s.first_bay_id, false) AS took_first
        FROM slot_searches s
        LEFT JOIN LATERAL (
            SELECT a.id, a.start_at, a.technician_id, a.bay_id FROM appointments a
            WHERE a.search_id = s.id AND a.created_at < s.searched_at + $3::interval
              AND a.status NOT IN ('held', 'expired')
            ORDER BY a.created_at LIMIT 1
        ) b ON true
        WHERE s.searched_at >= $1 AND s.searched_at < $2
          AND ($4::text[] IS NULL OR s.shop_id = ANY ($4::text[]))
        """,
        window.start,
        window.end,
        FOLLOW_UP,
        list(shop_ids) if shop_ids is not None else None,
    )
    return [SearchOutcome(r["booked"], r["took_first"]) for r in rows]


async def purge(conn: asyncpg.Connection, before: datetime) -> int:
    """Drop searches made before ``before``; how many went."""
    result = await conn.execute("DELETE FROM slot_searches WHERE searched_at < $1", before)
    return int(result.split()[-1])
