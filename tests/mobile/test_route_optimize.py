"""Re-planning a shop-day's routes: less driving, every visit inside its window, one transaction, the right events."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from application.booking import BookingRequest
from application.slot_search import SlotSearch
from domain.customer import Customer
from domain.errors import DomainError
from domain.job import Job
from domain.resources import van_id_of
from domain.shop import GeoPoint
from domain.urgency import Urgency
from tests.mobile.conftest import BASE, TRAVEL, MobileShop, at, day_ahead, east


async def book(shop: MobileShop, tech: str, hour: int, where: GeoPoint, vehicle: str) -> str:
    job = Job(vehicle, "mobile_tires", Urgency.HIGH, timedelta(hours=1), location=where)
    appt = await shop.app.booking.book(BookingRequest("shop_m", tech, van_id_of(tech), at(DAY, hour), job))
    return appt.id


DAY: date = day_ahead(7)


async def crossed_day(shop: MobileShop) -> None:
    """Each van drives east then west (or west then east): swapping halves the driving."""
    await book(shop, "m0", 9, east(30), "V-1")
    await book(shop, "m0", 12, east(-30), "V-2")
    await book(shop, "m1", 9, east(-28), "V-3")
    await book(shop, "m1", 12, east(28), "V-4")


async def assert_day_consistent(shop: MobileShop) -> dict[str, list[Any]]:
    """Straight from PostgreSQL: every live visit inside its window, every drive possible, home by 17:00."""
    async with shop.app.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT id, technician_id, bay_id, start_at, end_at, site_lat, site_lon, arrival_start, arrival_end"
            " FROM appointments WHERE status = 'scheduled' ORDER BY technician_id, start_at"
        )
    days: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        assert r["arrival_start"] <= r["start_at"] < r["arrival_end"], dict(r)
        assert r["bay_id"] == van_id_of(r["technician_id"])
        days[r["technician_id"]].append(r)
    for tech, visits in days.items():
        place, free_from = BASE, at(DAY, 8)
        for r in visits:
            site = GeoPoint(r["site_lat"], r["site_lon"])
            assert r["start_at"] >= free_from + timedelta(minutes=TRAVEL.minutes(place, site)), (tech, dict(r))
            place, free_from = site, r["end_at"]
        assert free_from + timedelta(minutes=TRAVEL.minutes(place, BASE)) <= at(DAY, 17), tech
    return days


async def test_optimize_swaps_crossed_routes_inside_the_windows_and_tells_only_the_technicians(
    mobile_shop: MobileShop,
) -> None:
    await crossed_day(mobile_shop)
    plan = await mobile_shop.app.routes.optimize("shop_m", DAY)
    assert plan.visits == 4 and plan.travel_after < plan.travel_before * 0.7
    assert any(c.technician_from != c.technician_to for c in plan.changes)
    days = await assert_day_consistent(mobile_shop)
    assert {round(r["site_lon"] - BASE.lon, 1) > 0 for r in days["m0"]} in ({True}, {False})  # one side each
    async with mobile_shop.app.pool.acquire() as conn:
        events = await conn.fetch("SELECT event_type, aggregate_id FROM outbox ORDER BY id")
    after_booking = [e for e in events[8:]]  # each booking wrote appointment.scheduled + technician.assigned
    reassigned = {c.appointment_id for c in plan.changes if c.technician_from != c.technician_to}
    assert {e["aggregate_id"] for e in after_booking} == reassigned
    assert {e["event_type"] for e in after_booking} == {"technician.assigned"}
    route = await mobile_shop.app.routes.route(mobile_shop.technicians[0], DAY)
    assert route.travel_minutes == sum(leg.minutes for _, leg in route.stops) + route.home.minutes  # type: ignore[union-attr]
    assert [a.start for a, _ in route.stops] == sorted(a.start for a, _ in route.stops)
    again = await mobile_shop.app.routes.optimize("shop_m", DAY)
    assert again.changes == () and again.travel_after == again.travel_before  # nothing better left


async def test_a_started_visit_and_the_route_before_it_stay_put(mobile_shop: MobileShop) -> None:
    await crossed_day(mobile_shop)
    async with mobile_shop.app.pool.acquire() as conn:
        first = await conn.fetchrow(
            "SELECT id, start_at FROM appointments WHERE technician_id = 'm0' ORDER BY start_at"
        )
        await conn.execute("UPDATE appointments SET status = 'in_progress' WHERE id = $1", first["id"])
    plan = await mobile_shop.app.routes.optimize("shop_m", DAY)
    assert first["id"] not in {c.appointment_id for c in plan.changes}
    async with mobile_shop.app.pool.acquire() as conn:
        still = await conn.fetchrow("SELECT technician_id, start_at FROM appointments WHERE id = $1", first["id"])
    assert (still["technician_id"], still["start_at"]) == ("m0", first["start_at"])


async def test_optimize_racing_new_bookings_leaves_a_consistent_day(mobile_shop: MobileShop) -> None:
    await crossed_day(mobile_shop)

    async def new_booking(n: int) -> object:
        search = SlotSearch(
            vehicle_id=f"V-N{n}",
            service_type="mobile_tires",
            urgency=Urgency.HIGH,
            shop_ids=("shop_m",),
            location=east(-20 + 10 * n),
            earliest=at(DAY, 0),
            preferred_date=DAY,
            search_days=1,
        )
        try:
            return await mobile_shop.app.scheduler.book_best(search, customer=Customer(), notes=None, hold=False)
        except DomainError as exc:
            return exc

    plan, *booked = await asyncio.gather(
        mobile_shop.app.routes.optimize("shop_m", DAY), *(new_booking(n) for n in range(4))
    )
    assert plan.attempts >= 1
    assert any(not isinstance(b, DomainError) for b in booked)
    await assert_day_consistent(mobile_shop)
