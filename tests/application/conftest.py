"""An in-process application (calendar hosts in this process) over one seeded shop, with a policy of the test's."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from actors.calendar_host import CalendarHost
from actors.calendar_source import StoreCalendarSource
from actors.directory import LocalDirectory
from application.clock import Clock
from application.wiring import Application, build_application
from domain.policy import CancellationPolicy, Reserve, ReserveKind, SchedulingPolicy
from tests.factories import seed_shop

PolicyApp = Callable[..., Awaitable[Application]]

NO_RESERVES = {
    "urgent_reserve": Reserve(ReserveKind.URGENT, 0.0, timedelta(hours=12), timedelta(hours=2)),
    "priority_reserve": Reserve(ReserveKind.PRIORITY, 0.0, timedelta(hours=48)),
}
"""Reserves off: the tests here look at where slots start, not at what the reserves keep back."""


@pytest.fixture
async def policy_app(db: Any, database_url: str) -> AsyncIterator[PolicyApp]:
    """Builds the application over ``shop_a`` (07:00-19:00 every day in ``tz``) with the policy's knobs given
    (and a clock of the test's, if it passes one)."""
    directories: list[LocalDirectory] = []

    async def make(
        *, tz: str = "UTC", techs: int = 2, bays: int = 2, clock: Clock | None = None, **knobs: Any
    ) -> Application:
        await seed_shop(db, techs=techs, bays=bays, tz=tz)
        policy = SchedulingPolicy(**{**NO_RESERVES, **knobs})
        directory = LocalDirectory(lambda: CalendarHost(StoreCalendarSource(database_url, policy)))
        directories.append(directory)
        return build_application(db, directory, policy, CancellationPolicy(), clock=clock)

    yield make
    for directory in directories:
        await directory.shutdown()
