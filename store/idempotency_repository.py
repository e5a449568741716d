"""Idempotency-Key records: the first answer to a write is replayed for its key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import asyncpg


@dataclass(frozen=True, slots=True)
class Claim:
    """What the key's record says about a new request carrying it.

    ``new``: the caller owns the key and must ``complete`` or ``release`` it;
    ``replay``: answer ``status_code``/``response`` again; ``mismatch``: the key
    was used with another body; ``in_flight``: the first request still runs.
    """

    outcome: Literal["new", "replay", "mismatch", "in_flight"]
    status_code: int | None = None
    response: Any = None


async def claim(conn: asyncpg.Connection, scope: str, key: str, request_hash: str, now: datetime) -> Claim:
    row = await conn.fetchrow(
        """
        INSERT INTO idempotency_keys (scope, key, request_hash, state, created_at)
        VALUES ($1, $2, $3, 'in_flight', $4)
        ON CONFLICT (scope, key) DO NOTHING
        RETURNING key
        """,
        scope,
        key,
        request_hash,
        now,
    )
    if row is not None:
        return Claim("new")
    existing = await conn.fetchrow("SELECT * FROM idempotency_keys WHERE scope = $1 AND key = $2", scope, key)
    if existing is None:  # released between our insert and select: try once more
        return await claim(conn, scope, key, request_hash, now)
    if existing["request_hash"] != request_hash:
        return Claim("mismatch")
    if existing["state"] == "in_flight":
        return Claim("in_flight")
    return Claim("replay", existing["status_code"], existing["response"])


async def complete(
    conn: asyncpg.Connection, scope: str, key: str, status_code: int, response: Any, now: datetime
) -> None:
    await conn.execute(
        """
        UPDATE idempotency_keys SET state = 'done', status_code = $3, response = $4, completed_at = $5
        WHERE scope = $1 AND key = $2
        """,
        scope,
        key,
        status_code,
        response,
        now,
    )


async def release(conn: asyncpg.Connection, scope: str, key: str) -> None:
    """Forget an in-flight key whose request failed unexpectedly, so a retry can run."""
    await conn.execute("DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND state = 'in_flight'", scope, key)


async def purge_older_than(conn: asyncpg.Connection, age: timedelta, now: datetime) -> int:
    """Drop records older than ``age`` (kept at least 24 h by the caller's choice of age)."""
    result = await conn.execute("DELETE FROM idempotency_keys WHERE created_at < $1", now - age)
    return int(result.split()[-1])
