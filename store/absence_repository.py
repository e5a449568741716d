"""A technician's time off recorded through the API: one row per absence, merged when they overlap or touch."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from domain.time_windows import Interval


@dataclass(frozen=True, slots=True)
class Absence:
    """One stretch of time off of one technician."""

    id: str
    technician_id: str
    interval: Interval
    reason: str | None


def _absence(row: asyncpg.Record) -> Absence:
    return Absence(str(row["id"]), row["technician_id"], Interval(row["starts_at"], row["ends_at"]), row["reason"])


async def record(
    conn: asyncpg.Connection, technician_id: str, interval: Interval, reason: str | None, now: datetime
) -> tuple[Absence, bool]:
    """Record time off, merged with the technician's absences it overlaps or touches; (the absence, changed).

    Recording time already inside one absence changes nothing (``changed`` False): the same request twice
    is one absence. Call in a transaction that holds the technician's lock.
    """
    rows = await conn.fetch(
        """
        SELECT * FROM technician_absences
        WHERE technician_id = $1 AND starts_at <= $3 AND ends_at >= $2
        ORDER BY starts_at
        """,
        technician_id,
        interval.start,
        interval.end,
    )
    if len(rows) == 1 and rows[0]["starts_at"] <= interval.start and interval.end <= rows[0]["ends_at"]:
        return _absence(rows[0]), False
    start = min([interval.start, *(r["starts_at"] for r in rows)])
    end = max([interval.end, *(r["ends_at"] for r in rows)])
    reasons = [r["reason"] for r in rows if r["reason"]] + ([reason] if reason else [])
    merged_reason = "; ".join(dict.fromkeys(reasons)) or None
    await conn.execute("DELETE FROM technician_absences WHERE id = ANY ($1::uuid[])", [r["id"] for r in rows])
    row = await conn.fetchrow(
        """
        INSERT INTO technician_absences (id, technician_id, starts_at, ends_at, reason, created_at)
        VALUES ($1, $2, $3, $4, $5, $6) RETURNING *
        """,
        uuid.uuid4(),
        technician_id,
        start,
        end,
        merged_reason,
        now,
    )
    assert row is not None
    return _absence(row), True


async def withdraw(conn: asyncpg.Connection, technician_id: str, absence_id: str) -> Absence | None:
    """Delete one absence of the technician; None when there is none by that id."""
    try:
        key = uuid.UUID(absence_id)
    except ValueError:
        return None
    row = await conn.fetchrow(
        "DELETE FROM technician_absences WHERE id = $1 AND technician_id = $2 RETURNING *", key, technician_id
    )
    return _absence(row) if row else None


async def list_for(conn: asyncpg.Connection, technician_id: str) -> list[Absence]:
    rows = await conn.fetch(
        "SELECT * FROM technician_absences WHERE technician_id = $1 ORDER BY starts_at", technician_id
    )
    return [_absence(r) for r in rows]
