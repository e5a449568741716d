"""PostgreSQL storage of calendar invite deliveries (table ``calendar_invites``, migration 0005).

Satisfies the port ``integrations.delivery.InviteDeliveryRepository`` (a
``Protocol``, so nothing here imports it) over an asyncpg pool or connection.
Each method is one statement, so it needs no transaction of its own; given a
connection inside a transaction it joins that one.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg

from domain.invites import DeliveryState, Invite, InviteDelivery, Operation

_COLUMNS = (
    "appointment_id, provider, state, operation, sequence, provider_event_id, "
    "attempts, last_error, next_attempt_at, invite, updated_at"
)
# The invite travels as text both ways (``::text``), so the repository works
# whether or not the pool registered a JSON codec for jsonb.
_SELECT = (
    "SELECT appointment_id, provider, state, operation, sequence, provider_event_id,"
    " attempts, last_error, next_attempt_at, invite::text AS invite, updated_at FROM calendar_invites"
)

_UPSERT = f"""
INSERT INTO calendar_invites ({_COLUMNS})
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::text::jsonb, $11)
ON CONFLICT (appointment_id, provider) DO UPDATE SET
    state = EXCLUDED.state,
    operation = EXCLUDED.operation,
    sequence = EXCLUDED.sequence,
    provider_event_id = EXCLUDED.provider_event_id,
    attempts = EXCLUDED.attempts,
    last_error = EXCLUDED.last_error,
    next_attempt_at = EXCLUDED.next_attempt_at,
    invite = EXCLUDED.invite,
    updated_at = EXCLUDED.updated_at
"""


def _delivery(row: asyncpg.Record) -> InviteDelivery:
    """One row → one delivery (the explicit mapping at the store's edge)."""
    invite_doc: dict[str, Any] = json.loads(row["invite"])
    return InviteDelivery(
        appointment_id=row["appointment_id"],
        provider=row["provider"],
        state=DeliveryState(row["state"]),
        operation=Operation(row["operation"]),
        sequence=row["sequence"],
        invite=Invite.from_json_dict(invite_doc),
        updated_at=row["updated_at"],
        provider_event_id=row["provider_event_id"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        next_attempt_at=row["next_attempt_at"],
    )


class PostgresInviteRepository:
    """Invite deliveries in PostgreSQL; ``db`` is an asyncpg pool or connection."""

    def __init__(self, db: asyncpg.Pool | asyncpg.Connection) -> None:
        self._db = db

    async def get(self, appointment_id: str, provider: str) -> InviteDelivery | None:
        row = await self._db.fetchrow(
            f"{_SELECT} WHERE appointment_id = $1 AND provider = $2",
            appointment_id,
            provider,
        )
        return _delivery(row) if row is not None else None

    async def save(self, delivery: InviteDelivery) -> None:
        await self._db.execute(
            _UPSERT,
            delivery.appointment_id,
            delivery.provider,
            delivery.state.value,
            delivery.operation.value,
            delivery.sequence,
            delivery.provider_event_id,
            delivery.attempts,
            delivery.last_error,
            delivery.next_attempt_at,
            json.dumps(delivery.invite.to_json_dict()),
            delivery.updated_at,
        )

    async def for_appointment(self, appointment_id: str) -> list[InviteDelivery]:
        rows = await self._db.fetch(
            f"{_SELECT} WHERE appointment_id = $1 ORDER BY provider",
            appointment_id,
        )
        return [_delivery(r) for r in rows]

    async def due(self, now: datetime, limit: int) -> list[InviteDelivery]:
        rows = await self._db.fetch(
            f"{_SELECT} WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= $1"
            " ORDER BY next_attempt_at, appointment_id, provider LIMIT $2",
            now,
            limit,
        )
        return [_delivery(r) for r in rows]
