"""API keys in PostgreSQL: only a SHA-256 of each key's secret is stored."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True, slots=True)
class ApiKeyRow:
    """A key as stored: never its secret, only the secret's hash."""

    id: str
    secret_hash: bytes
    role: str
    shop_ids: tuple[str, ...] | None
    name: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


def _row(record: asyncpg.Record) -> ApiKeyRow:
    shops = record["shop_ids"]
    return ApiKeyRow(
        id=record["id"],
        secret_hash=bytes(record["secret_hash"]),
        role=record["role"],
        shop_ids=tuple(shops) if shops is not None else None,
        name=record["name"],
        created_at=record["created_at"],
        expires_at=record["expires_at"],
        revoked_at=record["revoked_at"],
    )


async def insert(conn: asyncpg.Connection, key: ApiKeyRow) -> None:
    await conn.execute(
        """
        INSERT INTO api_keys (id, secret_hash, role, shop_ids, name, created_at, expires_at, revoked_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        """,
        key.id,
        key.secret_hash,
        key.role,
        list(key.shop_ids) if key.shop_ids is not None else None,
        key.name,
        key.created_at,
        key.expires_at,
        key.revoked_at,
    )


async def get(conn: asyncpg.Connection, key_id: str) -> ApiKeyRow | None:
    record = await conn.fetchrow("SELECT * FROM api_keys WHERE id = $1", key_id)
    return _row(record) if record else None


async def list_all(conn: asyncpg.Connection) -> Sequence[ApiKeyRow]:
    return [_row(r) for r in await conn.fetch("SELECT * FROM api_keys ORDER BY created_at, id")]


async def revoke(conn: asyncpg.Connection, key_id: str, now: datetime) -> bool:
    """Mark the key revoked (from now on a 401); False when there is no such key."""
    status = await conn.execute(
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1", key_id, now
    )
    return bool(status.endswith(" 1"))
