"""The asyncpg pool and the migration runner."""

from __future__ import annotations

import json
import logging
from importlib import resources
from typing import Any

import asyncpg

log = logging.getLogger(__name__)

# Any fixed 64-bit number; held while migrating so two processes starting at
# once apply each file exactly once.
_MIGRATION_LOCK = 72_157_004_200_861


def normalize_dsn(url: str) -> str:
    """Accept the card's SQLAlchemy-style ``postgresql+asyncpg://`` URLs too."""
    for prefix in ("postgresql+asyncpg://", "postgres+asyncpg://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


async def _init_connection(conn: asyncpg.Connection) -> None:
    for kind in ("jsonb", "json"):
        await conn.set_type_codec(kind, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def connect(url: str) -> asyncpg.Connection:
    """One connection with the service's codecs (jsonb as Python objects)."""
    conn = await asyncpg.connect(normalize_dsn(url))
    await _init_connection(conn)
    return conn


async def _keep_session(conn: asyncpg.Connection) -> None:
    """A released connection keeps its session: the service leaves no session state behind.

    Advisory locks are transaction-scoped (``pg_advisory_xact_lock``), nothing
    LISTENs or SETs a session variable on a pooled connection, and asyncpg
    still rolls back a transaction left open before calling this. Its default
    reset (``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL``) cost
    one more round trip per acquire: a quarter of a booking's.
    """


DEFAULT_ACQUIRE_TIMEOUT_S = 10.0
"""Seconds ``acquire()`` waits for a free connection unless told otherwise (the service's pools take
``DATABASE_POOL_ACQUIRE_TIMEOUT_SECONDS``)."""


class BoundedPool(asyncpg.Pool):
    """An asyncpg pool whose ``acquire()`` gives up after ``acquire_timeout`` seconds by default.

    asyncpg's own waits forever for a free connection: an exhausted pool would
    hang every request behind it. Bounded, the wait ends in ``TimeoutError``,
    which ``application.transactions.connection`` answers as ``ServiceUnavailable``
    (a 503 with ``Retry-After``). An explicit ``timeout=`` still wins.
    """

    __slots__ = ("_acquire_timeout",)
    _acquire_timeout: float

    def acquire(self, *, timeout: float | None = None) -> Any:
        if timeout is None and self.get_idle_size() == 0:
            # Only a wait needs the bound: asyncpg's timed acquire wraps every call in a task of its own
            # (``wait_for``), about a tenth of a millisecond a request when a connection is free anyway.
            timeout = self._acquire_timeout
        return super().acquire(timeout=timeout)


async def create_pool(
    url: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    acquire_timeout: float = DEFAULT_ACQUIRE_TIMEOUT_S,
    **kwargs: Any,
) -> asyncpg.Pool:
    """Open the process's pool; close it with ``await pool.close()`` at shutdown.

    Built the way ``asyncpg.create_pool`` builds its ``Pool`` (which takes no pool class), with asyncpg's
    defaults for what is not given.
    """
    options: dict[str, Any] = {
        "max_queries": 50_000,
        "max_inactive_connection_lifetime": 300.0,
        "connection_class": asyncpg.Connection,
        "record_class": asyncpg.Record,
        "loop": None,
        "reset": _keep_session,
        **kwargs,
    }
    pool = BoundedPool(normalize_dsn(url), min_size=min_size, max_size=max_size, init=_init_connection, **options)
    pool._acquire_timeout = acquire_timeout
    await pool
    return pool


def migration_files() -> list[tuple[str, str]]:
    """``(version, sql)`` for every file in store/migrations, in filename order."""
    folder = resources.files("store") / "migrations"
    files = sorted(
        (entry.name, entry.read_text(encoding="utf-8")) for entry in folder.iterdir() if entry.name.endswith(".sql")
    )
    return [(name.removesuffix(".sql"), sql) for name, sql in files]


async def migrate(url: str) -> list[str]:
    """Apply pending migrations in order; returns the versions applied now.

    Idempotent, and safe when several processes start at once: an advisory
    lock serializes them and each file is recorded in ``schema_migrations``
    in the same transaction that applies it.
    """
    conn = await asyncpg.connect(normalize_dsn(url))
    applied: list[str] = []
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
            for version, sql in migration_files():
                if version in done:
                    continue
                async with conn.transaction():
                    await conn.execute(sql)
                    await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)
                applied.append(version)
                log.info("applied migration %s", version)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)
    finally:
        await conn.close()
    return applied
