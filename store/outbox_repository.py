"""The outbox: events written in the same transaction as the change they describe."""

from __future__ import annotations

import json
from collections.abc import Sequence
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

    await add_many(conn, [envelope], aggregate_id)


async def add_many(conn: asyncpg.Connection, envelopes: Sequence[EventEnvelope], aggregate_id: str) -> None:
    """Record several events about one aggregate in one statement (one round trip), in order."""

    if not envelopes:
        return
    await conn.execute(
        "INSERT INTO outbox (event_id, event_type, aggregate_id, envelope, created_at) "
        "SELECT e.event_id, e.event_type, $3, e.envelope, e.created_at "
        "FROM unnest($1::uuid[], $2::text[], $4::jsonb[], $5::timestamptz[]) WITH ORDINALITY "
        "AS e (event_id, event_type, envelope, created_at, n) ORDER BY e.n",
        [e.event_id for e in envelopes],
        [e.event_type for e in envelopes],
        aggregate_id,
        [json.loads(e.to_json()) for e in envelopes],
        [e.occurred_at for e in envelopes],
    )


async def mark_published(conn: asyncpg.Connection, ids: list[int], now: datetime) -> None:
    await conn.execute("UPDATE outbox SET published_at = $2 WHERE id = ANY ($1::bigint[])", ids, now)
