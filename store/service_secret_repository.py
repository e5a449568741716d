"""The service's own random secrets (e.g. the key that signs calendar feed URLs), made once, kept in the store."""

from __future__ import annotations

import asyncpg


async def get_or_create(conn: asyncpg.Connection, name: str, candidate: bytes) -> bytes:
    """The secret called ``name``; ``candidate`` becomes it when there is none yet (first writer wins)."""
    await conn.execute(
        "INSERT INTO service_secrets (name, secret) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING", name, candidate
    )
    return bytes(await conn.fetchval("SELECT secret FROM service_secrets WHERE name = $1", name))
