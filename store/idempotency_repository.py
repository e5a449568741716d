"""Idempotency-Key records: the first answer to a write is replayed for its key.

A record moves ``in_flight`` -> (effect stamped) -> ``done``. The write's own
transaction stamps ``effect_id`` through ``mark_effect``, guarded by the
claim's token, so at most one claim of a key ever takes effect and a key
whose effect committed is never run again, whatever happened to its answer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import asyncpg


@dataclass(frozen=True, slots=True)
class Claim:
    """What the key's record says about a new request carrying it.

    ``new``: the caller owns the key (``token``) and must ``complete`` or
    ``release`` it; ``replay``: answer ``status_code``/``response`` again;
    ``effect``: the effect ``effect_id`` committed but its answer was never
    stored, so answer it afresh; ``mismatch``: the key was used with another
    body; ``in_flight``: the first request still runs.
    """

    outcome: Literal["new", "replay", "effect", "mismatch", "in_flight"]
    token: str | None = None
    status_code: int | None = None
    response: Any = None
    effect_id: str | None = None


async def claim(
    conn: asyncpg.Connection, scope: str, key: str, request_hash: str, now: datetime, *, stale_after: timedelta
) -> Claim:
    """Claim ``key`` for a request; an in-flight claim older than ``stale_after`` (its owner died) is taken over."""
    token = str(uuid.uuid4())
    row = await conn.fetchrow(
        """
        INSERT INTO idempotency_keys (scope, key, request_hash, state, created_at, claimed_at, claim_token)
        VALUES ($1, $2, $3, 'in_flight', $4, $4, $5)
        ON CONFLICT (scope, key) DO NOTHING
        RETURNING key
        """,
        scope,
        key,
        request_hash,
        now,
        token,
    )
    if row is not None:
        return Claim("new", token=token)
    existing = await conn.fetchrow("SELECT * FROM idempotency_keys WHERE scope = $1 AND key = $2", scope, key)
    if existing is None:  # released between our insert and select: try once more
        return await claim(conn, scope, key, request_hash, now, stale_after=stale_after)
    if existing["request_hash"] != request_hash:
        return Claim("mismatch")
    if existing["state"] == "done":
        return Claim("replay", status_code=existing["status_code"], response=existing["response"])
    if existing["effect_id"] is not None:
        return Claim("effect", effect_id=existing["effect_id"])
    taken = await conn.fetchrow(
        """
        UPDATE idempotency_keys SET claim_token = $3, claimed_at = $4
        WHERE scope = $1 AND key = $2 AND state = 'in_flight' AND effect_id IS NULL AND claimed_at < $5
        RETURNING key
        """,
        scope,
        key,
        token,
        now,
        now - stale_after,
    )
    return Claim("new", token=token) if taken is not None else Claim("in_flight")


async def mark_effect(conn: asyncpg.Connection, scope: str, key: str, token: str, effect_id: str) -> bool:
    """Stamp the effect inside the effect's transaction; False when this claim no longer owns the key.

    The row stays locked until that transaction ends, so a claim taking the key
    over waits for it and then sees the effect.
    """
    row = await conn.fetchrow(
        """
        UPDATE idempotency_keys SET effect_id = $4
        WHERE scope = $1 AND key = $2 AND claim_token = $3 AND state = 'in_flight'
          AND (effect_id IS NULL OR effect_id = $4)
        RETURNING key
        """,
        scope,
        key,
        token,
        effect_id,
    )
    return row is not None


async def effect_of(conn: asyncpg.Connection, scope: str, key: str) -> str | None:
    """The committed effect of the key, if any."""
    value = await conn.fetchval(
        "SELECT effect_id FROM idempotency_keys WHERE scope = $1 AND key = $2", scope, key
    )
    return str(value) if value is not None else None


async def complete(
    conn: asyncpg.Connection, scope: str, key: str, status_code: int, response: Any, now: datetime,
    *, token: str | None = None,
) -> None:
    """Store the answer to replay; with ``token``, only while that claim still owns the key."""
    await conn.execute(
        """
        UPDATE idempotency_keys SET state = 'done', status_code = $3, response = $4, completed_at = $5
        WHERE scope = $1 AND key = $2 AND state = 'in_flight' AND ($6::uuid IS NULL OR claim_token = $6::uuid)
        """,
        scope,
        key,
        status_code,
        response,
        now,
        token,
    )


async def release(conn: asyncpg.Connection, scope: str, key: str, token: str) -> None:
    """Forget an in-flight claim whose request failed before any effect, so a retry can run."""
    await conn.execute(
        """
        DELETE FROM idempotency_keys
        WHERE scope = $1 AND key = $2 AND claim_token = $3 AND state = 'in_flight' AND effect_id IS NULL
        """,
        scope,
        key,
        token,
    )


async def purge_older_than(conn: asyncpg.Connection, age: timedelta, now: datetime) -> int:
    """Drop records created more than ``age`` ago; their keys may then be used afresh."""
    result = await conn.execute("DELETE FROM idempotency_keys WHERE created_at < $1", now - age)
    return int(result.split()[-1])
