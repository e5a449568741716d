"""The outbox: events written in the same transaction as the change they describe."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from domain.events import EventEnvelope


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    envelope: EventEnvelope
    aggregate_id: str


async def add(conn: asyncpg.Connection, envelope: EventEnvelope, aggregate_id: str) -> None:
    """Record an event; call inside the transaction that commits its change."""

    await conn.execute(
        "INSERT INTO outbox (event_id, event_type, aggregate_id, envelope, created_at) "
        "VALUES ($1::uuid, $2, $3, $4, $5)",
        envelope.event_id,
        envelope.event_type,
        aggregate_id,
        json.loads(envelope.to_json()),
        envelope.occurred_at,
    )


async def unpublished(conn: asyncpg.Connection, limit: int = 500) -> list[OutboxRow]:
    """The oldest unpublished events, in commit order (id order)."""

    rows = await conn.fetch(
        "SELECT id, envelope, aggregate_id FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1",
        limit,
    )
    return [OutboxRow(r["id"], EventEnvelope.from_json(json.dumps(r["envelope"])), r["aggregate_id"]) for r in rows]


async def mark_published(conn: asyncpg.Connection, ids: list[int], now: datetime) -> None:
    await conn.execute("UPDATE outbox SET published_at = $2 WHERE id = ANY ($1::bigint[])", ids, now)


async def events_for(conn: asyncpg.Connection, aggregate_id: str) -> list[EventEnvelope]:
    """Every event recorded for one appointment, oldest first."""

    rows = await conn.fetch("SELECT envelope FROM outbox WHERE aggregate_id = $1 ORDER BY id", aggregate_id)
    return [EventEnvelope.from_json(json.dumps(r["envelope"])) for r in rows]
