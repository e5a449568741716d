"""A shop with a mobile team (in-process calendar hosts, real PostgreSQL) and travel at 1 km a minute."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from actors.calendar_host import CalendarHost
from actors.calendar_source import StoreCalendarSource
from actors.directory import LocalDirectory
from application.mobile import MobileRules
from application.wiring import Application, build_application
from domain.catalog import ServiceCategory, ServiceType
from domain.policy import CancellationPolicy, Reserve, ReserveKind, SchedulingPolicy
from domain.resources import ServiceBay, Technician, van_id_of
from domain.shop import GeoPoint, WeeklyHours
from integrations.travel_times import StraightLineTravel
from store import catalog_repository as catalog
from tests.factories import ROUTINE, shop, technician

SHOP = "shop_m"
BASE = GeoPoint(52.0, 13.0)
KM_PER_DEGREE_LON = BASE.distance_km(GeoPoint(52.0, 14.0))
HOURS_8_TO_17 = WeeklyHours({d: ((time(8), time(17)),) for d in range(1, 8)})
TIRES = ServiceType(
    code="mobile_tires",
    name="Tires at your place",
    category=ServiceCategory.ROUTINE_MAINTENANCE,
    default_duration=timedelta(hours=1),
    required_skill="tires",
    required_equipment=frozenset({"tire_kit"}),
    on_site=True,
)
POLICY = SchedulingPolicy(
    buffer=timedelta(0),
    urgent_reserve=Reserve(ReserveKind.URGENT, 0.0, timedelta(hours=12), timedelta(hours=2)),
    priority_reserve=Reserve(ReserveKind.PRIORITY, 0.0, timedelta(hours=48)),
    max_bookings_per_technician_per_day=20,
)
TRAVEL = StraightLineTravel(road_factor=1.0, speed_kmh=60.0)
"""A kilometre a minute: travel minutes are the distance in km, rounded up."""


def east(km: float) -> GeoPoint:
    """A place ``km`` due east of the base (along its parallel: close enough for the tests' round numbers)."""
    return GeoPoint(BASE.lat, BASE.lon + km / KM_PER_DEGREE_LON)


def day_ahead(days: int = 5) -> date:
    return (datetime.now(UTC) + timedelta(days=days)).date()


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


@dataclass
class MobileShop:
    app: Application
    technicians: list[Technician]


async def seed_mobile_shop(pool: Any, vans: int) -> list[Technician]:
    techs = [
        technician(
            f"m{i}",
            SHOP,
            skills=("tires", "general"),
            hours=HOURS_8_TO_17,
            mobile=True,
            base=BASE,
            van_equipment=frozenset({"tire_kit"}),
        )
        for i in range(vans)
    ]
    async with pool.acquire() as conn, conn.transaction():
        await catalog.save_shop(conn, shop(SHOP, "UTC", location=BASE))
        for st in (TIRES, ROUTINE):
            await catalog.save_service_type(conn, st)
        await catalog.save_technician(conn, technician("shop_tech", SHOP))
        await catalog.save_bay(conn, ServiceBay("shop_bay", SHOP, "Bay 1", frozenset({"lift"})))
        for t in techs:
            await catalog.save_technician(conn, t)
            await catalog.save_bay(conn, ServiceBay(van_id_of(t.id), SHOP, f"Van {t.id}", t.van_equipment, van_of=t.id))
    return techs


@pytest.fixture
async def mobile_shop(db: Any, database_url: str) -> AsyncIterator[MobileShop]:
    techs = await seed_mobile_shop(db, vans=2)
    directory = LocalDirectory(lambda: CalendarHost(StoreCalendarSource(database_url, POLICY)))
    app = build_application(db, directory, POLICY, CancellationPolicy(), mobile=MobileRules(TRAVEL, 120, 50.0))
    yield MobileShop(app, techs)
    await directory.shutdown()
