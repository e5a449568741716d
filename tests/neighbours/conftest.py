"""Fixtures of the neighbour tests: the three fake services on ephemeral loopback ports, and an application
that asks them (calendar hosts in this process, over the test database, through the real httpx clients)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from actors.calendar_host import CalendarHost
from actors.calendar_source import StoreCalendarSource
from actors.directory import LocalDirectory
from application.neighbour_ports import Neighbours
from application.wiring import Application, build_application
from bench.fake_neighbours import FakeAlertService, FakeHealthService, FakeInventoryService
from domain.policy import CancellationPolicy, SchedulingPolicy
from integrations.health_service import HealthServiceClient
from integrations.inventory_service import InventoryServiceClient
from integrations.neighbour_http import NeighbourConfig, NeighbourHttp
from tests.factories import seed_shop

AppFactory = Callable[..., Awaitable[Application]]


@pytest.fixture
def alert_service() -> Iterator[FakeAlertService]:
    with FakeAlertService().running() as fake:
        assert isinstance(fake, FakeAlertService)
        yield fake


@pytest.fixture
def health_service() -> Iterator[FakeHealthService]:
    with FakeHealthService().running() as fake:
        assert isinstance(fake, FakeHealthService)
        yield fake


@pytest.fixture
def inventory_service() -> Iterator[FakeInventoryService]:
    with FakeInventoryService().running() as fake:
        assert isinstance(fake, FakeInventoryService)
        yield fake


@pytest.fixture
async def make_app(db: Any, database_url: str) -> AsyncIterator[AppFactory]:
    """Builds the application over one seeded shop (``shop_a``), with the neighbours given by URL.

    ``shop_a`` offers ``engine_repair`` (3 h by default, 3-5 h; a thermostat and coolant, 10 of each in the
    local table) and ``routine`` (no parts), every day 07:00-19:00 UTC.
    """
    await seed_shop(db, techs=2, bays=2)
    policy = SchedulingPolicy()
    directories: list[LocalDirectory] = []

    async def make(
        *, health_url: str | None = None, inventory_url: str | None = None, timeout_s: float = 2.0
    ) -> Application:
        def client(name: str, url: str) -> NeighbourHttp:
            return NeighbourHttp(NeighbourConfig(name, url, timeout_s=timeout_s, attempts=1))

        neighbours = Neighbours(
            health=HealthServiceClient(client("health", health_url)) if health_url else None,
            inventory=InventoryServiceClient(client("inventory", inventory_url)) if inventory_url else None,
        )
        directory = LocalDirectory(lambda: CalendarHost(StoreCalendarSource(database_url, policy)))
        directories.append(directory)
        return build_application(db, directory, policy, CancellationPolicy(), neighbours=neighbours)

    yield make
    for directory in directories:
        await directory.shutdown()


class ManualClock:
    """A monotonic clock the test moves by hand (the circuit breaker's)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
