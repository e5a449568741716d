"""Shared fixtures: one local Ray per session, a fresh PostgreSQL database per
session (real server from DATABASE_URL, else the embedded one), cleaned
between tests, and Redis (REDIS_URL, else embedded).

Ray, the database and Redis start only when a test asks for them, so the unit
tests of domain/ and solver/ never pay for them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

# Timing is never asserted (a loaded 2-core CI box is slow), and CI runs the
# same examples every time so that a red build is reproducible.
hypothesis_settings.register_profile("default", deadline=None)
hypothesis_settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "default")


@pytest.fixture(scope="session")
def ray_session() -> Iterator[Any]:
    """The one local Ray instance of the test session (2 CPUs, no dashboard)."""
    import ray

    if not ray.is_initialized():
        ray.init(
            address="local",  # never join a cluster another process recorded in /tmp/ray/ray_current_cluster
            num_cpus=2,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
            namespace="scheduling-tests",
            runtime_env={"env_vars": {"PYTHONPATH": os.getcwd()}},
        )
    yield ray
    ray.shutdown()


# -- PostgreSQL ------------------------------------------------------------------

TABLES_TO_CLEAN = (
    "waitlist_offers",
    "waitlist_entries",
    "customer_links",
    "api_keys",
    "calendar_invites",
    "processed_events",
    "reminders_sent",
    "idempotency_keys",
    "outbox",
    "appointments",
    "parts",
    "service_bays",
    "technicians",
    "service_types",
    "shops",
)


def _server_url() -> str:
    """DATABASE_URL's server, else the embedded PostgreSQL under .data/test."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    from pathlib import Path

    from store.embedded import start_embedded_postgres

    return start_embedded_postgres(Path(".data/test"))


def _with_database(url: str, name: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    from store.database import normalize_dsn

    parts = urlsplit(normalize_dsn(url))
    return urlunsplit(parts._replace(path="/" + name))


@pytest.fixture(scope="session")
async def database_url() -> Any:
    """A fresh, migrated database for this test session, dropped at the end."""
    import uuid

    import asyncpg

    from store.database import migrate, normalize_dsn

    server = normalize_dsn(_server_url())
    name = f"sched_test_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = _with_database(server, name)
    await migrate(url)
    os.environ["SCHEDULING_TEST_DATABASE_URL"] = url
    yield url
    admin = await asyncpg.connect(server)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


@pytest.fixture(scope="session")
async def pool(database_url: str) -> Any:
    from store.database import create_pool

    p = await create_pool(database_url, min_size=1, max_size=40)
    yield p
    await p.close()


@pytest.fixture
async def db(pool: Any) -> Any:
    """The pool, on a database emptied before the test (every test starts from nothing)."""
    async with pool.acquire() as conn:
        existing = {
            r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
        tables = [t for t in TABLES_TO_CLEAN if t in existing]
        await conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    return pool


# -- Redis ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url() -> str:
    """REDIS_URL, else the embedded Redis of .data/test (a Unix socket, started once per machine).

    Tests share the server; each one isolates itself with its own stream prefix.
    """
    url = os.environ.get("REDIS_URL")
    if url:
        return url
    from pathlib import Path

    from bridge.embedded_redis import start_embedded_redis

    return start_embedded_redis(Path(".data/test"))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stop the embedded servers this run may have started (a real server is left alone)."""
    from pathlib import Path

    folder = Path(".data/test")
    if not os.environ.get("DATABASE_URL") and (folder / "pg").exists():
        from store.embedded import stop_embedded_postgres

        stop_embedded_postgres(folder)
    if not os.environ.get("REDIS_URL") and (folder / "redis").exists():
        from bridge.embedded_redis import stop_embedded_redis

        stop_embedded_redis(folder)
