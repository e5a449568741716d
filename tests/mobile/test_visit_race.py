"""Fifty clients race for neighbouring visits: no technician ends up with visits they cannot drive between.

Travel is not an exclusion constraint; the booking transaction checks it under the technician's advisory
lock. The check afterwards is independent of the service: it reads the rows straight from PostgreSQL and
replays each technician's day with the travel formula.
"""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from datetime import timedelta

from application.booking import BookingRequest
from domain.errors import DomainError
from domain.job import Job
from domain.resources import van_id_of
from domain.shop import GeoPoint
from domain.urgency import Urgency
from tests.mobile.conftest import BASE, TRAVEL, MobileShop, at, day_ahead, east

CLIENTS = 50


async def test_fifty_racing_clients_never_book_an_undrivable_day(mobile_shop: MobileShop) -> None:
    rng = random.Random(17)
    day = day_ahead(6)
    sites = [east(km) for km in (-30, -12, 0, 8, 25, 40)]
    requests = [
        BookingRequest(
            "shop_m",
            tech := rng.choice(["m0", "m1"]),
            van_id_of(tech),
            at(day, 9) + timedelta(minutes=15 * rng.randrange(0, 24)),
            Job(f"V-R{n}", "mobile_tires", Urgency.HIGH, timedelta(hours=1), location=rng.choice(sites)),
        )
        for n in range(CLIENTS)
    ]
    outcomes = await asyncio.gather(*(mobile_shop.app.booking.book(r) for r in requests), return_exceptions=True)
    refused = [o for o in outcomes if isinstance(o, DomainError)]
    assert not [o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, DomainError)]
    assert len(refused) < CLIENTS and any("cannot drive" in e.message for e in refused)

    async with mobile_shop.app.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT technician_id, start_at, end_at, site_lat, site_lon FROM appointments"
            " WHERE status = 'scheduled' ORDER BY technician_id, start_at"
        )
    days: dict[str, list[tuple[object, object, GeoPoint]]] = defaultdict(list)
    for r in rows:
        days[r["technician_id"]].append((r["start_at"], r["end_at"], GeoPoint(r["site_lat"], r["site_lon"])))
    assert sum(len(v) for v in days.values()) == CLIENTS - len(refused)
    for tech, visits in days.items():
        place, free_from = BASE, at(day, 8)
        for start, end, site in visits:
            assert start >= free_from + timedelta(minutes=TRAVEL.minutes(place, site)), (tech, start, site)
            place, free_from = site, end
        assert free_from + timedelta(minutes=TRAVEL.minutes(place, BASE)) <= at(day, 17), tech
