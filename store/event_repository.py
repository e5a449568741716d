"""The event bridge's tables: processed incoming events, relayed outbox rows, reminders sent.

Functions take a connection; the bridge owns the transactions. Writes that
decide "has this effect happened yet?" are ``INSERT ... ON CONFLICT DO
NOTHING RETURNING``, so two bridges racing on the same event both learn the
same answer from PostgreSQL and only one of them acts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import asyncpg

from domain.appointment import Appointment
from domain.events import EventEnvelope
from store.codecs import appointment_from_row
from store.outbox_repository import OutboxRow

# Any fixed 64-bit number: held (transaction-scoped) by the one relay that is
# publishing right now, so that the outbox leaves in id order per appointment
# even when several bridges run.
_RELAY_LOCK = 72_157_004_200_862


class Outcome(StrEnum):
    """What handling an incoming event did."""

    BOOKED = "booked"
    NOT_BOOKED = "not_booked"
    IGNORED = "ignored"


@dataclass(frozen=True, slots=True)
class ProcessedEvent:
    """The recorded effect of one incoming alert or decision."""

    dedupe_key: str
    event_id: str
    event_type: str
    outcome: Outcome
    processed_at: datetime
    appointment_id: str | None = None
    reason: str | None = None


# -- processed incoming events ---------------------------------------------------


async def get_processed(conn: asyncpg.Connection, dedupe_key: str) -> ProcessedEvent | None:
    row = await conn.fetchrow("SELECT * FROM processed_events WHERE dedupe_key = $1", dedupe_key)
    if row is None:
        return None
    return ProcessedEvent(
        dedupe_key=row["dedupe_key"],
        event_id=row["event_id"],
        event_type=row["event_type"],
        outcome=Outcome(row["outcome"]),
        processed_at=row["processed_at"],
        appointment_id=str(row["appointment_id"]) if row["appointment_id"] is not None else None,
        reason=row["reason"],
    )


async def record_processed(conn: asyncpg.Connection, event: ProcessedEvent) -> bool:
    """Record an effect; False when one was already recorded for the key (the first one stands)."""
    inserted = await conn.fetchval(
        """
        INSERT INTO processed_events (dedupe_key, event_id, event_type, outcome, appointment_id, reason, processed_at)
        VALUES ($1, $2, $3, $4, $5::uuid, $6, $7)
        ON CONFLICT (dedupe_key) DO NOTHING
        RETURNING true
        """,
        event.dedupe_key,
        event.event_id,
        event.event_type,
        event.outcome.value,
        event.appointment_id,
        event.reason,
        event.processed_at,
    )
    return bool(inserted)


# -- the outbox, as the relay sees it --------------------------------------------


async def take_relay_turn(conn: asyncpg.Connection) -> bool:
    """Become the publishing relay until this transaction ends; False if another one is."""
    return bool(await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", _RELAY_LOCK))


async def lock_unpublished(conn: asyncpg.Connection, limit: int) -> list[OutboxRow]:
    """The oldest unpublished rows, locked for this transaction; rows another relay holds are skipped."""
    rows = await conn.fetch(
        """
        SELECT id, envelope, aggregate_id FROM outbox
        WHERE published_at IS NULL
        ORDER BY id
        LIMIT $1
        FOR UPDATE SKIP LOCKED
        """,
        limit,
    )
    return [OutboxRow(r["id"], EventEnvelope.from_json(json.dumps(r["envelope"])), r["aggregate_id"]) for r in rows]


# -- reminders ---------------------------------------------------------------------


async def due_reminders(
    conn: asyncpg.Connection, now: datetime, lead: timedelta, *, limit: int = 500
) -> list[Appointment]:
    """Scheduled appointments starting in ``(now, now + lead]`` with no reminder for that start yet.

    Derived from the current rows every time: a cancelled appointment is no
    longer ``scheduled``, and a rescheduled one is looked up at its new start.
    Rows are share-locked for the caller's transaction, so a cancellation
    cannot commit between this read and the reminder's outbox write; rows
    being changed right now are skipped and picked up by the next tick.
    """
    rows = await conn.fetch(
        """
        SELECT a.* FROM appointments a
        WHERE a.status = 'scheduled' AND a.start_at > $1 AND a.start_at <= $2
          AND NOT EXISTS (
              SELECT 1 FROM reminders_sent r WHERE r.appointment_id = a.id AND r.start_at = a.start_at)
        ORDER BY a.start_at, a.id
        LIMIT $3
        FOR SHARE OF a SKIP LOCKED
        """,
        now,
        now + lead,
        limit,
    )
    return [appointment_from_row(r) for r in rows]


async def record_reminder(
    conn: asyncpg.Connection, appointment_id: str, start_at: datetime, event_id: str, now: datetime
) -> bool:
    """Claim the reminder for this appointment and start; False if it was already sent."""
    inserted = await conn.fetchval(
        """
        INSERT INTO reminders_sent (appointment_id, start_at, event_id, sent_at)
        VALUES ($1::uuid, $2, $3::uuid, $4)
        ON CONFLICT (appointment_id, start_at) DO NOTHING
        RETURNING true
        """,
        appointment_id,
        start_at,
        event_id,
        now,
    )
    return bool(inserted)
