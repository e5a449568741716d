"""Database work with the retries that are safe, and a lost database answered as ``ServiceUnavailable``.

A transaction is rerun when PostgreSQL breaks a deadlock or a serialization
conflict (SQLSTATE 40P01 and 40001): it was rolled back whole, so re-running
it is safe, and a client must never see them. A connection lost while the
work ran (before COMMIT was sent) is retried once on a fresh connection; one
lost during COMMIT is not, since the commit may have happened: the caller
hears ``ServiceUnavailable`` and a retry with its ``Idempotency-Key`` finds
the effect if there was one. Reads are retried once too.

Retries here, and wherever else the service resends (Ray calls in
``actors/factory.py``, an idempotency claim released in the background in
``deployments/idempotency.py``), are tenacity policies, each named and
declared next to the call it wraps; the two on every request's path (a
transaction, a read) run their first attempt bare and enter the policy only
after a failure worth retrying (a read's one retry is a plain second call). tenacity rather than a helper of our own:
it is the well-kept library for this, any layer may import it (a helper would
need a home that every layer may import, and ``domain/`` takes no I/O), and
its vocabulary (``stop_after_attempt``, ``stop_after_delay``,
``wait_exponential``) says what a policy does in one line each. Loops that run
for the life of the service (relays, consumers, sweepers) keep their own sleep,
and the invite dispatcher's backoff is a schedule stored with each delivery
(``integrations.dispatcher.RetryPolicy``), not a loop.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Generic, TypeVar, cast

import asyncpg
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
)

from domain.errors import DatabaseBusy, ServiceUnavailable

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


_BUSY = (
    TimeoutError,  # no pooled connection came free within the pool's acquire timeout (store.database.BoundedPool)
    asyncpg.exceptions.TooManyConnectionsError,  # 53300: the server has no connection slot left for a new one
)
"""How a database that is up but saturated shows up while a connection is acquired."""


def lost_dependency(exc: BaseException) -> bool:
    """True for the ways a lost, restarting or saturated PostgreSQL shows up, whatever the driver wraps them in."""
    return isinstance(exc, (*_LOST, *_BUSY, ServiceUnavailable))


def _unavailable(exc: BaseException) -> ServiceUnavailable:
    return ServiceUnavailable(f"the database is unreachable ({type(exc).__name__}); retry shortly")


def _busy(exc: BaseException) -> DatabaseBusy:
    return DatabaseBusy(f"the database has no free connection ({type(exc).__name__}); retry shortly")


def _pause_before_rerun(state: RetryCallState) -> float:
    # the bare first attempt (``in_transaction``) is attempt 1: the policy's attempts come after it
    return _pause_after(_failure(state), attempt=state.attempt_number + 1)


def _pause_after(failure: BaseException | None, *, attempt: int) -> float:
    """Jitter after a conflict, so the two sides of a deadlock do not collide again in lockstep; none after a loss."""
    if isinstance(failure, RETRYABLE):
        return random.uniform(0, 0.005 * attempt)
    return 0.0


def _log_rerun(state: RetryCallState) -> None:
    _log_failure(_failure(state), attempt=state.attempt_number + 1)


def _log_failure(failure: BaseException | None, *, attempt: int) -> None:
    if isinstance(failure, RETRYABLE):
        log.info("transaction retried after %s (attempt %d)", type(failure).__name__, attempt)
    else:
        log.info("transaction retried on a fresh connection after losing the database")


def _failure(state: RetryCallState) -> BaseException | None:
    return state.outcome.exception() if state.outcome is not None else None


RERUN_TRANSACTION = AsyncRetrying(
    stop=stop_after_attempt(MAX_ATTEMPTS),
    wait=_pause_before_rerun,
    before_sleep=_log_rerun,
    reraise=True,
)
"""The policy of ``in_transaction``; which failures it reruns is decided per call (``_Transaction.may_rerun``)."""


async def in_transaction(pool: asyncpg.Pool, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """Run ``work`` in one transaction; rerun it on deadlock, serialization failure, or a connection lost mid-work.

    The first attempt runs bare: nearly every transaction succeeds at once, and
    entering the policy (copying it, inspecting the callable, its state machine)
    cost about 0.3 ms of a booking's front-end CPU. A failure worth rerunning
    hands the remaining attempts to ``RERUN_TRANSACTION``, after the same pause.
    """
    transaction = _Transaction(pool, work)
    try:
        return await transaction.run()
    except Exception as exc:
        if not transaction.may_rerun(exc):
            raise
        _log_failure(exc, attempt=1)
        # the policy's own sleep, as between its attempts
        await cast(Awaitable[None], RERUN_TRANSACTION.sleep(_pause_after(exc, attempt=1)))
    policy = RERUN_TRANSACTION.copy(
        retry=retry_if_exception(transaction.may_rerun), stop=stop_after_attempt(MAX_ATTEMPTS - 1)
    )
    result: T = await policy(transaction.run)
    return result


class _Transaction(Generic[T]):
    """One call of ``in_transaction``: its work, and what its failures so far allow."""

    def __init__(self, pool: asyncpg.Pool, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> None:
        self._pool = pool
        self._work = work
        self._committing = False
        self._lost_once = False

    async def run(self) -> T:
        self._committing = False
        async with connection(self._pool) as conn, conn.transaction():
            result = await self._work(conn)
            self._committing = True
        return result

    def may_rerun(self, failure: BaseException) -> bool:
        """After a deadlock or a serialization failure; after the first database lost before COMMIT, not during it."""
        if isinstance(failure, RETRYABLE):
            return True
        # lost during COMMIT, the commit may have happened: never run the work twice
        # a busy database is not retried here: another wait for a connection only adds to the queue
        if _lost(failure) and not (self._committing or self._lost_once):
            self._lost_once = True
            return True
        return False


def _lost(failure: BaseException) -> bool:
    """A database lost (worth one more try on a fresh connection), not merely busy."""
    return isinstance(failure, ServiceUnavailable) and not isinstance(failure, DatabaseBusy)


async def read(pool: asyncpg.Pool, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """Run read-only ``work`` on a pooled connection, once more on a fresh one if the database was lost (not if
    it was only busy)."""
    try:
        return await _on_a_connection(pool, work)
    except ServiceUnavailable as exc:
        if not _lost(exc):
            raise
    log.info("read retried on a fresh connection after losing the database")
    return await _on_a_connection(pool, work)


async def one_statement(pool: asyncpg.Pool, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """Run ``work`` that sends ONE statement, which PostgreSQL commits on its own: no BEGIN and COMMIT round trips.

    Never retried: a connection lost mid-statement may have committed it.
    """
    return await _on_a_connection(pool, work)


async def _on_a_connection(pool: asyncpg.Pool, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    async with connection(pool) as conn:
        return await work(conn)


@asynccontextmanager
async def connection(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection, typed as the ``Connection`` the repositories take.

    A lost database surfaces as ``ServiceUnavailable`` (a 503, never a 500), and
    every pooled connection is then replaced on its next use: after a restart
    they are all dead, and a retry must not pick up another of them. A busy one
    (no free connection within the pool's acquire timeout, or PostgreSQL out of
    connection slots) surfaces as ``DatabaseBusy``, a ``ServiceUnavailable``
    too, and keeps the pooled connections: they are alive, only all in use.
    """
    acquired = False
    try:
        async with pool.acquire() as proxy:
            acquired = True
            # the pool hands out a proxy that forwards every Connection method
            yield cast(asyncpg.Connection, proxy)
    except ServiceUnavailable:
        raise
    except Exception as exc:
        if not acquired and isinstance(exc, _BUSY):
            raise _busy(exc) from exc
        if not isinstance(exc, _LOST):
            raise
        await pool.expire_connections()
        raise _unavailable(exc) from exc
