"""Small, explicit builders of domain objects for tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any

from domain.appointment import Appointment, AppointmentStatus
from domain.catalog import PartRequirement, ServiceCategory, ServiceType
from domain.parts import PartStock
from domain.resources import ServiceBay, Technician
from domain.shop import GeoPoint, Shop, WeeklyHours
from domain.time_windows import Interval
from domain.urgency import Urgency
from store import appointment_repository as appointments
from store import catalog_repository as catalog

WEEKDAYS_8_TO_17 = WeeklyHours({d: ((time(8), time(17)),) for d in range(1, 6)})
EVERY_DAY_7_TO_19 = WeeklyHours({d: ((time(7), time(19)),) for d in range(1, 8)})


def shop(shop_id: str = "shop_a", tz: str = "UTC", hours: WeeklyHours = EVERY_DAY_7_TO_19, **kw: Any) -> Shop:
    return Shop(
        id=shop_id,
        name=kw.pop("name", shop_id.title()),
        timezone=tz,
        hours=hours,
        location=kw.pop("location", GeoPoint(40.0, -74.0)),
        **kw,
    )


def technician(
    tech_id: str,
    shop_id: str = "shop_a",
    skills: tuple[str, ...] = ("engine", "general"),
    hours: WeeklyHours = EVERY_DAY_7_TO_19,
    **kw: Any,
) -> Technician:
    return Technician(
        id=tech_id,
        shop_id=shop_id,
        name=kw.pop("name", tech_id),
        specialization=kw.pop("specialization", "General"),
        rating=kw.pop("rating", 4.5),
        years_experience=kw.pop("years_experience", 5),
        skills=frozenset(skills),
        hours=hours,
        email=kw.pop("email", f"{tech_id}@example.test"),
        **kw,
    )


def bay(
    bay_id: str, shop_id: str = "shop_a", equipment: tuple[str, ...] = ("lift", "engine_hoist"), **kw: Any
) -> ServiceBay:
    return ServiceBay(id=bay_id, shop_id=shop_id, name=kw.pop("name", bay_id), equipment=frozenset(equipment), **kw)


ENGINE_REPAIR = ServiceType(
    code="engine_repair",
    name="Engine repair",
    category=ServiceCategory.COMPONENT_REPAIR,
    default_duration=timedelta(hours=3),
    required_skill="engine",
    required_equipment=frozenset({"engine_hoist"}),
    required_parts=(PartRequirement("thermostat"), PartRequirement("coolant")),
)
ROUTINE = ServiceType(
    code="routine",
    name="Routine maintenance",
    category=ServiceCategory.ROUTINE_MAINTENANCE,
    default_duration=timedelta(hours=1),
    required_skill="general",
    required_equipment=frozenset({"lift"}),
)


async def seed_shop(pool: Any, *, shop_id: str = "shop_a", techs: int = 2, bays: int = 2, tz: str = "UTC") -> Shop:
    """One shop with ``techs`` engine-capable technicians, ``bays`` equipped bays and the two service types."""
    s = shop(shop_id, tz)
    async with pool.acquire() as conn, conn.transaction():
        await catalog.save_shop(conn, s)
        for st in (ENGINE_REPAIR, ROUTINE):
            await catalog.save_service_type(conn, st)
        for i in range(techs):
            await catalog.save_technician(conn, technician(f"{shop_id}_t{i}", shop_id))
        for i in range(bays):
            await catalog.save_bay(conn, bay(f"{shop_id}_b{i}", shop_id))
        for code in ("thermostat", "coolant"):
            await catalog.save_part(conn, PartStock(shop_id, code, code.title(), 10, timedelta(days=2)))
    return s


def appointment(
    technician_id: str,
    bay_id: str,
    start: datetime,
    hours: float = 1.0,
    *,
    shop_id: str = "shop_a",
    status: AppointmentStatus = AppointmentStatus.SCHEDULED,
    **kw: Any,
) -> Appointment:
    return Appointment(
        id=kw.pop("id", str(uuid.uuid4())),
        shop_id=shop_id,
        vehicle_id=kw.pop("vehicle_id", "V001"),
        service_type=kw.pop("service_type", "routine"),
        urgency=kw.pop("urgency", Urgency.MEDIUM),
        technician_id=technician_id,
        bay_id=bay_id,
        interval=Interval(start, start + timedelta(hours=hours)),
        status=status,
        created_at=kw.pop("created_at", datetime.now(UTC)),
        **kw,
    )


NO_CAP = 2**31 - 1
"""A daily cap no test reaches: ``insert_appointment`` writes regardless of the day's count."""


async def resource_rids(conn: Any, shop_id: str, technician_id: str, bay_id: str) -> tuple[int, int]:
    """A technician's and a bay's integer twins (what the exclusion constraints compare), as the calendars load them."""
    rids = await appointments.resource_rids_for_shop(conn, shop_id)
    return rids[("technician", technician_id)], rids[("bay", bay_id)]


async def insert_appointment(
    conn: Any, appt: Appointment, *, buffer: timedelta = timedelta(0), now: datetime | None = None, lock: bool = True
) -> None:
    """Write ``appt`` as the booking service does (resource locks, then ``insert_under_cap``), with no daily cap.

    Raises ``SlotTaken`` or ``VehicleAlreadyBooked`` as a booking would; ``lock=False`` skips the advisory
    locks, leaving the exclusion constraints alone. Call inside a transaction.
    """
    tech_rid, bay_rid = await resource_rids(conn, appt.shop_id, appt.technician_id, appt.bay_id)
    if lock:
        await appointments.lock_resources(conn, tech_rid, bay_rid, appt.vehicle_id)
    over_cap = await appointments.insert_under_cap(
        conn, appt, tech_rid=tech_rid, bay_rid=bay_rid, buffer=buffer, day=appt.interval, cap=NO_CAP,
        now=now or datetime.now(UTC),
    )
    assert over_cap is None
