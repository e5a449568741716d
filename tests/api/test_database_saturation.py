"""A saturated database is a 503 with ``Retry-After``, never a 500 or a request that hangs (invariant 7).

The real routes over the real application services in this process (no Serve), on a pool of their own:
exhausted (its one connection held, a short acquire timeout), or opened as a role PostgreSQL refuses
with ``too many connections``. Once the pool has a connection to give, the same request succeeds.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest

from actors.calendar_host import CalendarHost
from actors.calendar_source import StoreCalendarSource
from actors.directory import LocalDirectory
from application.access import Role
from application.api_keys import ApiKeys
from application.calendar_feeds import CalendarFeeds
from application.wiring import build_application
from config.settings import Settings
from deployments.api import create_api
from deployments.rate_limits import RateLimiter
from deployments.services import Services
from domain.policy import CancellationPolicy, SchedulingPolicy
from store.database import create_pool, normalize_dsn
from tests.api.helpers import assert_problem
from tests.factories import seed_shop

ACQUIRE_TIMEOUT_S = 0.2

ApiOver = Callable[[asyncpg.Pool], Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def api_over(db: Any, database_url: str) -> AsyncIterator[ApiOver]:
    """Builds the API over a given pool, its caller the chain's admin (a key stored through the test's pool)."""
    await seed_shop(db)
    admin = await ApiKeys(db).create(Role.ADMIN, name="tests")
    made: list[tuple[httpx.AsyncClient, LocalDirectory]] = []

    async def over(pool: asyncpg.Pool) -> httpx.AsyncClient:
        settings = Settings(database_url=database_url, host="127.0.0.1")
        policy = SchedulingPolicy()
        directory = LocalDirectory(lambda: CalendarHost(StoreCalendarSource(database_url, policy)))
        app = build_application(pool, directory, policy, CancellationPolicy())
        api = create_api()
        api.state.services = Services(
            settings, database_url, app, CalendarFeeds(app.catalog, pool, "tests"), RateLimiter.from_settings(settings)
        )
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=api),
            base_url="http://api/api/v1",
            headers={"Authorization": f"Bearer {admin.secret}"},
        )
        made.append((client, directory))
        return client

    yield over
    for client, directory in made:
        await client.aclose()
        await directory.shutdown()


def _assert_unavailable(response: httpx.Response) -> None:
    body = assert_problem(response, 503, "service_unavailable")
    assert response.headers["Retry-After"].isdigit(), response.headers
    assert "database" in body["detail"], body


async def test_an_exhausted_pool_answers_503_with_retry_after_then_serves_once_a_connection_is_free(
    api_over: ApiOver, database_url: str
) -> None:
    pool = await create_pool(database_url, min_size=1, max_size=1, acquire_timeout=ACQUIRE_TIMEOUT_S)
    try:
        client = await api_over(pool)
        async with pool.acquire(timeout=5):  # the pool's one connection, busy elsewhere
            _assert_unavailable(await client.get("/technicians", params={"shop_id": "shop_a"}))
        served = await client.get("/technicians", params={"shop_id": "shop_a"})
        assert served.status_code == 200, served.text
        assert served.json()
    finally:
        await pool.close()


@pytest.fixture
async def refused_role_url(db: Any, database_url: str) -> AsyncIterator[str]:
    """``database_url`` as a role allowed no connection: PostgreSQL refuses it with SQLSTATE 53300."""
    role = f"sched_refused_{uuid.uuid4().hex[:8]}"
    async with db.acquire() as conn:
        await conn.execute(f'CREATE ROLE "{role}" LOGIN CONNECTION LIMIT 0')
    parts = urlsplit(normalize_dsn(database_url))
    host = parts.netloc.rpartition("@")[2]
    try:
        yield urlunsplit(parts._replace(netloc=f"{role}@{host}"))
    finally:
        async with db.acquire() as conn:
            await conn.execute(f'DROP ROLE IF EXISTS "{role}"')


async def test_too_many_connections_answers_503_with_retry_after(api_over: ApiOver, refused_role_url: str) -> None:
    with pytest.raises(asyncpg.exceptions.TooManyConnectionsError):  # what the pool meets underneath
        await (await asyncpg.connect(refused_role_url)).close()
    pool = await create_pool(refused_role_url, min_size=0, max_size=2, acquire_timeout=5)
    try:
        client = await api_over(pool)
        _assert_unavailable(await client.get("/technicians", params={"shop_id": "shop_a"}))
    finally:
        await pool.close()
