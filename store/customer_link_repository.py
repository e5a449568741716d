"""Customer links in PostgreSQL: one appointment each, only a SHA-256 of the secret stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True, slots=True)
class CustomerLinkRow:
    id: str
    secret_hash: bytes
    appointment_id: str
    created_at: datetime
    expires_at: datetime


async def insert(conn: asyncpg.Connection, link: CustomerLinkRow) -> None:
    await conn.execute(
        """
        INSERT INTO customer_links (id, secret_hash, appointment_id, created_at, expires_at)
        VALUES ($1, $2, $3::uuid, $4, $5)
        """,
        link.id,
        link.secret_hash,
        link.appointment_id,
        link.created_at,
        link.expires_at,
    )


async def get(conn: asyncpg.Connection, link_id: str) -> CustomerLinkRow | None:
    record = await conn.fetchrow("SELECT * FROM customer_links WHERE id = $1", link_id)
    if record is None:
        return None
    return CustomerLinkRow(
        id=record["id"],
        secret_hash=bytes(record["secret_hash"]),
        appointment_id=str(record["appointment_id"]),
        created_at=record["created_at"],
        expires_at=record["expires_at"],
    )


async def delete_for_appointment(conn: asyncpg.Connection, appointment_id: str) -> None:
    """Kill every link of an appointment (it was cancelled)."""
    await conn.execute("DELETE FROM customer_links WHERE appointment_id = $1::uuid", appointment_id)
