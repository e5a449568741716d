"""Fixtures for the booking protocol: a booking service over real PostgreSQL and a real local Ray.

Each test gets its own Ray namespace, so named actors of earlier tests (whose
resource ids repeat) never answer with a stale calendar; the directory kills
its actors at the end.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from actors.directory import Placement
from actors.factory import RayDirectory
from application.booking import BookingRequest, BookingService
from application.clock import ManualClock
from domain.customer import Customer
from domain.job import Job
from domain.policy import CancellationPolicy, SchedulingPolicy
from domain.urgency import Urgency

START = datetime(2030, 2, 1, 9, 0, tzinfo=UTC)
NOW = START - timedelta(days=2)
POLICY = SchedulingPolicy(buffer=timedelta(minutes=30), max_bookings_per_technician_per_day=6)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
async def directory(ray_session: Any, database_url: str) -> AsyncIterator[RayDirectory]:
    d = RayDirectory(database_url, POLICY, namespace=f"test-{uuid.uuid4().hex[:8]}", placement=Placement.PER_SHOP)
    yield d
    await d.shutdown()


@pytest.fixture
async def service(db: Any, directory: RayDirectory, clock: ManualClock) -> BookingService:
    return BookingService(db, directory, POLICY, CancellationPolicy(), clock)


def request(
    tech: str = "shop_a_t0",
    bay: str = "shop_a_b0",
    start: datetime = START,
    *,
    hours: float = 1.0,
    service_type: str = "routine",
    shop_id: str = "shop_a",
    vehicle: str | None = None,
    source_ref: str | None = None,
) -> BookingRequest:
    """A booking request; each gets a vehicle of its own unless ``vehicle`` names one (one car, one place)."""
    vehicle = vehicle or f"V-{uuid.uuid4().hex[:10]}"
    return BookingRequest(
        shop_id=shop_id,
        technician_id=tech,
        bay_id=bay,
        start=start,
        job=Job(vehicle, service_type, Urgency.MEDIUM, timedelta(hours=hours)),
        customer=Customer(name="Ada", email="ada@example.test"),
        notes=None,
        source_ref=source_ref,
    )
