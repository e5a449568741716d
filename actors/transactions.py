"""One database transaction, retried when PostgreSQL breaks a deadlock or a serialization conflict.

Both failures mean "try again" by definition (SQLSTATE 40P01 and 40001): the
transaction was rolled back whole, so re-running it is safe, and a client
must never see them.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar, cast

import asyncpg

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_ATTEMPTS = 10
RETRYABLE = (asyncpg.exceptions.DeadlockDetectedError, asyncpg.exceptions.SerializationError)


async def in_transaction(pool: asyncpg.Pool, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """Run ``work`` in one transaction; rerun it on deadlock or serialization failure."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            async with connection(pool) as conn, conn.transaction():
                return await work(conn)
        except RETRYABLE as exc:
            if attempt == MAX_ATTEMPTS:
                raise
            log.info("transaction retried after %s (attempt %d)", type(exc).__name__, attempt)
            # jitter, so the two sides of a deadlock do not collide again in lockstep
            await asyncio.sleep(random.uniform(0, 0.005 * attempt))
    raise AssertionError("unreachable")


@asynccontextmanager
async def connection(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection, typed as the ``Connection`` the repositories take."""
    async with pool.acquire() as proxy:
        # the pool hands out a proxy that forwards every Connection method
        yield cast(asyncpg.Connection, proxy)
