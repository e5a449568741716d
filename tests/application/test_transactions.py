"""The transaction retry policy against a real PostgreSQL: what is rerun, how often, and what never is.

Conflicts are raised by the server itself (``RAISE ... USING ERRCODE``), a
lost connection is the backend terminating itself (``pg_terminate_backend``),
before COMMIT from the work and during COMMIT from a deferred trigger. The
pauses between reruns are recorded instead of slept.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from application import transactions
from application.transactions import MAX_ATTEMPTS, in_transaction, read
from domain.errors import DatabaseBusy, ServiceUnavailable
from store.database import create_pool

DEADLOCK = "DO $$ BEGIN RAISE EXCEPTION 'deadlock (test)' USING ERRCODE = '40P01'; END $$"
SERIALIZATION_FAILURE = "DO $$ BEGIN RAISE EXCEPTION 'serialization (test)' USING ERRCODE = '40001'; END $$"
LOSE_THE_CONNECTION = "SELECT pg_terminate_backend(pg_backend_pid())"


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The pauses the transaction policy asks for, recorded instead of slept."""
    asked: list[float] = []

    async def record(seconds: float) -> None:
        asked.append(seconds)

    monkeypatch.setattr(transactions.RERUN_TRANSACTION, "sleep", record)
    return asked


@pytest.fixture
async def probe(db: Any) -> AsyncIterator[str]:
    """A table of its own (the work writes a row to it), dropped at the end."""
    table = f"retry_probe_{uuid.uuid4().hex[:8]}"
    async with db.acquire() as conn:
        await conn.execute(f"CREATE TABLE {table} (run int NOT NULL)")
    yield table
    async with db.acquire() as conn:
        await conn.execute(f"DROP TABLE {table}")
        await conn.execute(f"DROP FUNCTION IF EXISTS {table}_die()")


async def rows(db: Any, table: str) -> list[int]:
    async with db.acquire() as conn:
        return [r["run"] for r in await conn.fetch(f"SELECT run FROM {table} ORDER BY run")]


async def test_a_deadlock_is_rerun_after_a_short_random_pause_and_the_work_commits_once(
    db: Any, probe: str, pauses: list[float]
) -> None:
    runs = 0

    async def work(conn: asyncpg.Connection) -> int:
        nonlocal runs
        runs += 1
        await conn.execute(f"INSERT INTO {probe} VALUES ($1)", runs)
        if runs < 3:
            await conn.execute(DEADLOCK)
        return runs

    assert await in_transaction(db, work) == 3
    assert await rows(db, probe) == [3]  # the failed runs rolled back whole
    assert len(pauses) == 2
    assert all(0 <= p <= 0.005 * attempt for attempt, p in enumerate(pauses, start=1))


async def test_serialization_failures_are_rerun_up_to_the_attempt_limit_then_raised(
    db: Any, pauses: list[float]
) -> None:
    runs = 0

    async def work(conn: asyncpg.Connection) -> None:
        nonlocal runs
        runs += 1
        await conn.execute(SERIALIZATION_FAILURE)

    with pytest.raises(asyncpg.exceptions.SerializationError):
        await in_transaction(db, work)
    assert runs == MAX_ATTEMPTS
    assert len(pauses) == MAX_ATTEMPTS - 1


async def test_a_database_lost_before_commit_is_rerun_once_on_a_fresh_connection_without_a_pause(
    db: Any, probe: str, pauses: list[float]
) -> None:
    backends: list[int] = []

    async def work(conn: asyncpg.Connection) -> None:
        backends.append(await conn.fetchval("SELECT pg_backend_pid()"))
        await conn.execute(f"INSERT INTO {probe} VALUES ($1)", len(backends))
        if len(backends) == 1:
            await conn.execute(LOSE_THE_CONNECTION)

    await in_transaction(db, work)
    assert len(backends) == 2 and backends[0] != backends[1]
    assert await rows(db, probe) == [2]
    assert pauses == [0.0]


async def test_a_database_lost_twice_before_commit_is_answered_unavailable(db: Any, pauses: list[float]) -> None:
    runs = 0

    async def work(conn: asyncpg.Connection) -> None:
        nonlocal runs
        runs += 1
        await conn.execute(LOSE_THE_CONNECTION)

    with pytest.raises(ServiceUnavailable):
        await in_transaction(db, work)
    assert runs == 2


async def test_a_second_loss_is_not_rerun_even_after_a_conflict_in_between(db: Any, pauses: list[float]) -> None:
    failures = [LOSE_THE_CONNECTION, DEADLOCK, LOSE_THE_CONNECTION, None]
    runs = 0

    async def work(conn: asyncpg.Connection) -> None:
        nonlocal runs
        runs += 1
        failure = failures[runs - 1]
        if failure:
            await conn.execute(failure)

    with pytest.raises(ServiceUnavailable):
        await in_transaction(db, work)
    assert runs == 3


async def test_a_database_lost_during_commit_is_never_rerun(db: Any, probe: str, pauses: list[float]) -> None:
    # A deferred trigger runs at COMMIT; this one terminates its own backend there.
    async with db.acquire() as conn:
        await conn.execute(
            f"CREATE FUNCTION {probe}_die() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NULL; END $$"
        )
        await conn.execute(
            f"CREATE CONSTRAINT TRIGGER die_at_commit AFTER INSERT ON {probe} "
            f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {probe}_die()"
        )
    runs = 0

    async def work(conn: asyncpg.Connection) -> None:
        nonlocal runs
        runs += 1
        await conn.execute(f"INSERT INTO {probe} VALUES ($1)", runs)

    with pytest.raises(ServiceUnavailable):
        await in_transaction(db, work)
    assert runs == 1
    assert pauses == []


async def test_a_read_is_retried_once_after_a_lost_database(db: Any) -> None:
    runs = 0

    async def work(conn: asyncpg.Connection) -> int:
        nonlocal runs
        runs += 1
        if runs == 1:
            await conn.execute(LOSE_THE_CONNECTION)
        return int(await conn.fetchval("SELECT 42"))

    assert await read(db, work) == 42
    assert runs == 2


async def test_a_read_that_loses_the_database_twice_is_answered_unavailable(db: Any) -> None:
    runs = 0

    async def work(conn: asyncpg.Connection) -> None:
        nonlocal runs
        runs += 1
        await conn.execute(LOSE_THE_CONNECTION)

    with pytest.raises(ServiceUnavailable):
        await read(db, work)
    assert runs == 2


async def test_other_failures_are_never_rerun(db: Any, pauses: list[float]) -> None:
    runs = 0

    async def work(conn: asyncpg.Connection) -> None:
        nonlocal runs
        runs += 1
        raise ValueError("a bug")

    with pytest.raises(ValueError):
        await in_transaction(db, work)
    assert runs == 1


async def test_an_exhausted_pool_is_answered_busy_at_once_keeping_its_connection(
    db: Any, database_url: str, pauses: list[float]
) -> None:
    """No free connection within the acquire timeout: ``DatabaseBusy`` (a 503), not rerun (no second wait)
    and never run; the pooled connection is alive, only in use, so it is kept (not expired as after a loss)."""
    pool = await create_pool(database_url, min_size=1, max_size=1, acquire_timeout=0.1)
    runs = 0

    async def work(conn: asyncpg.Connection) -> int:
        nonlocal runs
        runs += 1
        return int(await conn.fetchval("SELECT pg_backend_pid()"))

    try:
        async with pool.acquire(timeout=5) as held:
            backend = await held.fetchval("SELECT pg_backend_pid()")
            with pytest.raises(DatabaseBusy):
                await in_transaction(pool, work)
            with pytest.raises(DatabaseBusy):
                await read(pool, work)
        assert runs == 0 and pauses == []
        assert await read(pool, work) == backend
    finally:
        await pool.close()
