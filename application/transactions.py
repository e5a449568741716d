"""Database work with the retries that are safe, and a lost database answered as ``ServiceUnavailable``.

A transaction is rerun when PostgreSQL breaks a deadlock or a serialization
conflict (SQLSTATE 40P01 and 40001): it was rolled back whole, so re-running
it is safe, and a client must never see them. A connection lost while the
work ran (before COMMIT was sent) is retried once on a fresh connection; one
lost during COMMIT is not, since the commit may have happened: the caller
hears ``ServiceUnavailable`` and a retry with its ``Idempotency-Key`` finds
the effect if there was one. Reads are retried once too.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar, cast

import asyncpg

from domain.errors import ServiceUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_ATTEMPTS = 10
RETRYABLE = (asyncpg.exceptions.DeadlockDetectedError, asyncpg.exceptions.SerializationError)

_LOST = (
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08, and "connection was closed in the middle of operation"
    asyncpg.exceptions.CannotConnectNowError,  # 57P03: starting up / shutting down
    asyncpg.exceptions.AdminShutdownError,  # 57P01: terminated by a restart or pg_terminate_backend
    asyncpg.exceptions.CrashShutdownError,  # 57P02
    asyncpg.InterfaceError,  # e.g. "cannot switch to state 12": the protocol broke with the socket
    OSError,  # refused, reset, unreachable
    asyncio.TimeoutError,
)


def lost_dependency(exc: BaseException) -> bool:
    """True for the ways a lost or restarting PostgreSQL shows up, whatever the driver wraps them in."""
    return isinstance(exc, (*_LOST, ServiceUnavailable))


def _unavailable(exc: BaseException) -> ServiceUnavailable:
    return ServiceUnavailable(f"the database is unreachable ({type(exc).__name__}); retry shortly")


async def in_transaction(pool: asyncpg.Pool, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """Run ``work`` in one transaction; rerun it on deadlock, serialization failure, or a connection lost mid-work."""
    lost_once = False
    for attempt in range(1, MAX_ATTEMPTS + 1):
        committing = False
        try:
            async with connection(pool) as conn:
                async with conn.transaction():
                    result = await work(conn)
                    committing = True
                return result
        except RETRYABLE as exc:
            if attempt == MAX_ATTEMPTS:
                raise
            log.info("transaction retried after %s (attempt %d)", type(exc).__name__, attempt)
            # jitter, so the two sides of a deadlock do not collide again in lockstep
            await asyncio.sleep(random.uniform(0, 0.005 * attempt))
        except ServiceUnavailable:
            if committing or lost_once:  # the commit may have happened: never run the work twice
                raise
            lost_once = True
            log.info("transaction retried on a fresh connection after losing the database")
    raise AssertionError("unreachable")


async def read(pool: asyncpg.Pool, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """Run read-only ``work`` on a pooled connection, once more on a fresh one if the database was lost."""
    try:
        async with connection(pool) as conn:
            return await work(conn)
    except ServiceUnavailable:
        log.info("read retried on a fresh connection after losing the database")
        async with connection(pool) as conn:
            return await work(conn)


@asynccontextmanager
async def connection(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection, typed as the ``Connection`` the repositories take.

    A lost database surfaces as ``ServiceUnavailable`` (a 503, never a 500), and
    every pooled connection is then replaced on its next use: after a restart
    they are all dead, and a retry must not pick up another of them.
    """
    try:
        async with pool.acquire() as proxy:
            # the pool hands out a proxy that forwards every Connection method
            yield cast(asyncpg.Connection, proxy)
    except ServiceUnavailable:
        raise
    except Exception as exc:
        if not isinstance(exc, _LOST):
            raise
        await pool.expire_connections()
        raise _unavailable(exc) from exc
