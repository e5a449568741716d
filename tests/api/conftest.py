"""The HTTP API on a real Ray Serve, over its own database.

One Serve application per test session, on a free loopback port, over a
dedicated database (the shared ``db`` fixture truncates tables, which would
pull the floor from under live actors). Besides the demo chain the database
holds ``shop_allday``: a shop open around the clock, so that tests needing a
slot "within 24 hours" find one whatever the day and hour of the run. The app
(its replica and resource actors) reaches the database through
``database_proxy``, which a test can cut to play a PostgreSQL restart.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pytest

from tests.faults import TcpProxy

ALLDAY_SHOP = """
version: 1
shops:
  - id: shop_allday
    name: Always Open Garage
    timezone: Asia/Kolkata
    location: {lat: 19.07, lon: 72.88}
    hours: {mon-sun: "00:00-24:00"}
    bays:
      - {id: allday_bay_1, name: Bay 1, equipment: [lift]}
      - {id: allday_bay_2, name: Bay 2, equipment: [lift]}
    technicians:
      - id: tech_901
        name: Ravi Iyer
        specialization: General Technician
        rating: 4.3
        years_experience: 4
        skills: [general]
        hours: {mon-sun: "00:00-24:00"}
      - id: tech_902
        name: Meera Nair
        specialization: General Technician
        rating: 4.1
        years_experience: 2
        skills: [general]
        hours: {mon-sun: "00:00-24:00"}
"""

HOLD_TTL_MINUTES = 0.15
"""Nine seconds: long enough to confirm a hold, short enough to watch one expire."""

STARTUP_DEADLINE_S = 180.0

IN_FLIGHT_TIMEOUT_S = 10.0
"""When a retry may take over an ``Idempotency-Key`` whose claim was left in flight (60 s in production): a
request cut off by a database outage cannot release its claim, and its client retries until this has passed."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
async def api_database_url() -> AsyncIterator[str]:
    """A database of its own, migrated and seeded with the demo chain and ``shop_allday``."""
    import asyncpg

    from store.database import connect, migrate, normalize_dsn
    from store.shop_file import parse_shop_text
    from store.shop_loader import load_shops, seed_demo_if_empty
    from tests.conftest import _server_url, _with_database

    server = normalize_dsn(_server_url())
    name = f"sched_api_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = _with_database(server, name)
    await migrate(url)
    assert await seed_demo_if_empty(url)
    conn = await connect(url)
    try:
        await load_shops(conn, parse_shop_text(ALLDAY_SHOP, source="tests/api/conftest.py"))
    finally:
        await conn.close()
    yield url
    admin = await asyncpg.connect(server)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


def _server_address(dsn: str) -> tuple[str, int] | str:
    """Where the DSN's server listens: ``(host, port)``, or the path of its Unix socket."""
    parts = urlsplit(dsn)
    query = dict(parse_qsl(parts.query))
    host = parts.hostname or query.get("host") or "localhost"
    port = parts.port or int(query.get("port", 5432))
    return f"{host}/.s.PGSQL.{port}" if host.startswith("/") else (host, port)


def _through(dsn: str, proxy: TcpProxy) -> str:
    """The same DSN, connecting through ``proxy``."""
    parts = urlsplit(dsn)
    userinfo = parts.netloc.rpartition("@")[0]
    host, port = proxy.address
    netloc = f"{userinfo}@{host}:{port}" if userinfo else f"{host}:{port}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k not in ("host", "port")])
    return urlunsplit(parts._replace(netloc=netloc, query=query))


@dataclass(frozen=True)
class ApiKeys:
    """Keys of the test API, by what they may do (``shop_allday`` and ``shop_nyc`` are the two tested shops)."""

    admin: str
    staff_allday: str
    staff_nyc: str
    booking_allday: str
    booking_allday_other: str
    booking_nyc: str
    expired_admin: str
    revoked_admin: str

    @staticmethod
    def headers(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    @property
    def admin_headers(self) -> dict[str, str]:
        return self.headers(self.admin)

    @property
    def admin_principal(self) -> str:
        """Whom the service takes the admin key for: its Idempotency-Keys are scoped by this."""
        return "key:" + self.admin.removeprefix("sk_").split(".", 1)[0]


@pytest.fixture(scope="session")
async def api_keys(api_database_url: str) -> ApiKeys:
    """Keys made the way ``scheduling-service keys create`` makes them."""
    from application.access import Role
    from application.api_keys import ApiKeys as Keys
    from application.clock import ManualClock
    from store.database import create_pool

    pool = await create_pool(api_database_url, min_size=1, max_size=2)
    try:
        keys = Keys(pool)
        made = {
            "admin": await keys.create(Role.ADMIN, name="tests"),
            "staff_allday": await keys.create(Role.STAFF, shops=["shop_allday"]),
            "staff_nyc": await keys.create(Role.STAFF, shops=["shop_nyc"]),
            "booking_allday": await keys.create(Role.BOOKING, shops=["shop_allday"]),
            "booking_allday_other": await keys.create(Role.BOOKING, shops=["shop_allday"]),
            "booking_nyc": await keys.create(Role.BOOKING, shops=["shop_nyc"]),
            "revoked_admin": await keys.create(Role.ADMIN),
        }
        await keys.revoke(made["revoked_admin"].key.id)
        past = ManualClock(datetime.now(UTC) - timedelta(days=2))
        made["expired_admin"] = await Keys(pool, past).create(Role.ADMIN, expires_in=timedelta(days=1))
    finally:
        await pool.close()
    return ApiKeys(**{name: issued.secret for name, issued in made.items()})


@pytest.fixture(scope="session")
def admin_headers(api_keys: ApiKeys) -> dict[str, str]:
    """What a test sends to be the chain's admin."""
    return api_keys.admin_headers


@pytest.fixture(scope="session")
def database_proxy(api_database_url: str) -> Iterator[TcpProxy]:
    """The proxy between the app and its database's server (migrations and checks connect directly)."""
    with TcpProxy(_server_address(api_database_url)) as proxy:
        yield proxy


def _wait_healthy(base_url: str, deadline_s: float) -> None:
    deadline = time.monotonic() + deadline_s
    last: object = None
    with httpx.Client(base_url=base_url, timeout=5) as client:
        while time.monotonic() < deadline:
            try:
                response = client.get("/healthz")
                if response.status_code == 200:
                    return
                last = response.status_code
            except httpx.TransportError as exc:
                last = exc
            time.sleep(0.2)  # polling interval of a condition with a deadline
    raise TimeoutError(f"the API did not become healthy within {deadline_s:.0f} s (last: {last!r})")


@pytest.fixture(scope="session")
def api_url(ray_session: Any, api_database_url: str, database_proxy: TcpProxy, redis_url: str) -> Iterator[str]:
    """The base URL of the scheduling API running on Ray Serve."""
    from ray import serve

    from deployments.app import build_app

    tag = f"api-test-{uuid.uuid4().hex[:8]}"
    port = _free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    app = build_app(
        {
            "settings": {
                "database_url": _through(api_database_url, database_proxy),
                "redis_url": redis_url,
                "seed_demo_data": False,
                "ray_namespace": tag,
                "stream_prefix": f"{tag}:",
                "hold_ttl_minutes": HOLD_TTL_MINUTES,
                # Many tests book the first free slot "within 24 hours" or a chosen one shortly after now; the
                # notice and horizon rules themselves are tested in-process (tests/application/test_booking_window.py)
                "min_booking_notice_minutes": 0,
                "emergency_notice_minutes": 0,
                # tests keep apart by booking on days of their own, some 120+ days ahead (test_database_outage.py)
                "max_booking_horizon_days": 400,
                "hold_sweep_seconds": 1,
                "idempotency_in_flight_timeout_seconds": IN_FLIGHT_TIMEOUT_S,
                # the limits themselves are tested with a manual clock (test_rate_limits.py)
                "rate_limit_search_per_second": 10_000,
                "rate_limit_search_burst": 100_000,
                "rate_limit_write_per_second": 10_000,
                "rate_limit_write_burst": 100_000,
            },
            "start_bridge": False,
        }
    )
    serve.run(app, name="scheduling-api-test", route_prefix="/", blocking=False)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, STARTUP_DEADLINE_S)
        yield base
    finally:
        serve.shutdown()


@pytest.fixture
async def client(api_url: str, admin_headers: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """A client of ``/api/v1`` with the admin's key."""
    async with httpx.AsyncClient(base_url=api_url + "/api/v1", timeout=60, headers=admin_headers) as c:
        yield c


@pytest.fixture
async def api_db(api_database_url: str) -> AsyncIterator[Any]:
    """The API database, directly (not through the proxy the service uses), for SQL checks and faults."""
    import asyncpg

    from store.database import normalize_dsn

    pool = await asyncpg.create_pool(normalize_dsn(api_database_url), min_size=1, max_size=2)
    assert pool is not None
    yield pool
    await pool.close()
