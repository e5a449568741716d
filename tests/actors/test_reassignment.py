"""Book by reassignment through the real path: PostgreSQL, Ray calendar hosts, the scheduler (issue 14).

The day: shop_a opens 07:00-19:00. ``shop_a_t0`` is the only technician with the
engine skill; routine jobs on its day (08:00, 10:00, 12:30, 15:00, 17:30, today
and tomorrow) leave no 3-hour stretch, while ``shop_a_t1`` (general only) is free. A CRITICAL
3-hour engine repair arriving at 06:00 has no free slot today or tomorrow, its
horizon; it fits at 07:00 once both of today's routine jobs go to ``shop_a_t1``
at the same times.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from actors.factory import RayDirectory
from application.clock import ManualClock
from application.slot_search import SlotSearch
from application.wiring import Application, build_application
from domain.appointment import AppointmentStatus
from domain.customer import Customer
from domain.errors import DomainError
from domain.policy import CancellationPolicy
from domain.urgency import Urgency
from store import catalog_repository as catalog
from tests.actors.checks import calendars_match_database, outbox_events, overlapping_rows
from tests.actors.conftest import POLICY, request
from tests.factories import ENGINE_REPAIR, ROUTINE, bay, shop, technician

NOW = datetime(2030, 2, 1, 6, 0, tzinfo=UTC)


def at(hour: int, days: int = 0, minute: int = 0) -> datetime:
    return NOW.replace(hour=hour, minute=minute) + timedelta(days=days)


ROUTINE_JOBS = ((8, 0), (10, 0), (12, 30), (15, 0), (17, 30))
"""shop_a_t0's 1-hour jobs each day: with the 30-minute buffer no 3-hour stretch is left."""


async def seed(db: Any) -> None:
    from domain.parts import PartStock

    async with db.acquire() as conn, conn.transaction():
        await catalog.save_shop(conn, shop("shop_a"))
        for st in (ENGINE_REPAIR, ROUTINE):
            await catalog.save_service_type(conn, st)
        await catalog.save_technician(conn, technician("shop_a_t0", skills=("engine", "general")))
        await catalog.save_technician(conn, technician("shop_a_t1", skills=("general",)))
        for i in range(2):
            await catalog.save_bay(conn, bay(f"shop_a_b{i}"))
        for code in ("thermostat", "coolant"):
            await catalog.save_part(conn, PartStock("shop_a", code, code.title(), 10, timedelta(days=2)))


async def app_over(db: Any, directory: RayDirectory, clock: ManualClock) -> Application:
    return build_application(db, directory, POLICY, CancellationPolicy(), clock=clock)


def critical_search(vehicle: str | None = None) -> SlotSearch:
    return SlotSearch(
        vehicle_id=vehicle or f"V-{uuid.uuid4().hex[:8]}",
        service_type="engine_repair",
        urgency=Urgency.CRITICAL,
        duration=timedelta(hours=3),
        shop_ids=("shop_a",),
    )


async def book_the_day(app: Application) -> list[str]:
    ids = []
    for days in (0, 1):
        for hour, minute in ROUTINE_JOBS:
            appt = await app.booking.book(request("shop_a_t0", "shop_a_b0", at(hour, days, minute)), now=NOW)
            ids.append(appt.id)
    return ids


async def test_a_critical_job_fits_only_after_two_booked_jobs_change_technician(
    db: Any, directory: RayDirectory, clock: ManualClock
) -> None:
    clock.set(NOW)
    await seed(db)
    app = await app_over(db, directory, clock)
    await app.booking.activate_shop("shop_a", NOW)
    today_8, today_10, *_ = await book_the_day(app)

    # A customer who asks for a day past the horizon gets plain slots then: nobody is moved to serve them sooner.
    later = replace(critical_search(), preferred_date=(NOW + timedelta(days=5)).date())
    planned = await app.scheduler.find(later, NOW)
    assert planned.slots and not any(s.requires_reassignment for s in planned.slots)
    assert not any("another technician or bay" in line for line in planned.explanation)

    search = critical_search()
    result = await app.scheduler.find(search, NOW)
    best = result.slots[0]
    assert (best.technician_id, best.start, best.requires_reassignment) == ("shop_a_t0", at(7), 2)
    assert any("another technician or bay" in line for line in result.explanation)

    booked = await app.scheduler.book_chosen(
        search,
        technician_id=best.technician_id,
        bay=best.bay_id,
        start=best.start,
        customer=Customer(name="Ada"),
        notes=None,
        hold=False,
        now=NOW,
    )
    assert (booked.technician_id, booked.start, booked.status) == ("shop_a_t0", at(7), AppointmentStatus.SCHEDULED)
    for moved_id, hour in ((today_8, 8), (today_10, 10)):
        moved = await app.queries.get(moved_id)
        assert (moved.technician_id, moved.start) == ("shop_a_t1", at(hour))  # the customer's time is kept
        kinds = [e.event_type for e in await outbox_events(db, moved_id)]
        assert kinds.count("technician.assigned") == 2  # booked with t0, then moved to t1
    assert [e.event_type for e in await outbox_events(db, booked.id)] == [
        "appointment.scheduled",
        "technician.assigned",
    ]
    assert await overlapping_rows(db) == 0
    assert await calendars_match_database(app.booking, "shop_a", NOW) == []


async def test_a_stale_plan_is_refused_whole(db: Any, directory: RayDirectory, clock: ManualClock) -> None:
    clock.set(NOW)
    await seed(db)
    app = await app_over(db, directory, clock)
    await app.booking.activate_shop("shop_a", NOW)
    await book_the_day(app)
    cat = await app.catalog.shop_catalog("shop_a")
    search = critical_search()
    offer = await app.scheduler.room.offer(cat, search.job(timedelta(hours=3)), NOW.date(), NOW)  # type: ignore[union-attr]
    assert offer is not None and len(offer.moves) == 2
    # Meanwhile shop_a_t1 takes a job at 08:00: the plan's first move no longer fits.
    await app.booking.book(request("shop_a_t1", "shop_a_b1", at(8)), now=NOW)
    from application.booking import BookingRequest
    from application.reassigned_booking import book_reassigned

    req = BookingRequest(
        "shop_a",
        offer.slot.technician_id,
        offer.slot.bay_id,
        offer.slot.start,
        search.job(timedelta(hours=3)),
        Customer(name="Ada"),
        None,
    )
    before = await db.fetch("SELECT id, technician_id, bay_id, sequence FROM appointments ORDER BY id")
    try:
        await book_reassigned(app.booking, req, offer.moves, NOW)
        raise AssertionError("a stale plan was applied")
    except DomainError as exc:
        assert exc.code in ("slot_taken", "daily_cap_reached")
    after = await db.fetch("SELECT id, technician_id, bay_id, sequence FROM appointments ORDER BY id")
    assert [tuple(r) for r in before] == [tuple(r) for r in after]  # nothing written
    assert await overlapping_rows(db) == 0
    assert await calendars_match_database(app.booking, "shop_a", NOW) == []


async def test_two_concurrent_reassignment_bookings_leave_one_consistent_plan(
    db: Any, directory: RayDirectory, clock: ManualClock
) -> None:
    clock.set(NOW)
    await seed(db)
    app = await app_over(db, directory, clock)
    await app.booking.activate_shop("shop_a", NOW)
    await book_the_day(app)

    async def one(n: int) -> Any:
        try:
            return await app.scheduler.book_best(
                critical_search(f"V-race-{n}"), customer=Customer(name=f"C{n}"), notes=None, hold=False, now=NOW
            )
        except DomainError as exc:
            return exc

    outcomes = await asyncio.gather(one(1), one(2))
    booked = [o for o in outcomes if not isinstance(o, Exception)]
    assert booked, outcomes
    assert all(
        (isinstance(o, DomainError) and o.code in ("slot_taken", "no_slot_available")) or not isinstance(o, Exception)
        for o in outcomes
    )
    assert await overlapping_rows(db) == 0
    assert await calendars_match_database(app.booking, "shop_a", NOW) == []
    rows = await db.fetch(
        "SELECT technician_id, start_at::date, count(*) AS n FROM appointments WHERE status = 'scheduled' GROUP BY 1, 2"
    )
    assert all(r["n"] <= POLICY.max_bookings_per_technician_per_day for r in rows)
