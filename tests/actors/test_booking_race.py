"""Invariant 1 under fire: many clients, one technician, one bay, one start."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from actors.directory import Placement
from actors.factory import RayDirectory
from application.booking import BookingService
from domain.errors import SlotTaken
from domain.policy import CancellationPolicy
from tests.actors.checks import calendars_match_database, overlapping_rows
from tests.actors.conftest import NOW, POLICY, request
from tests.factories import seed_shop


@pytest.mark.parametrize("placement", [Placement.PER_SHOP, Placement.PER_RESOURCE])
async def test_100_clients_racing_for_one_slot_book_it_exactly_once(
    db: Any, ray_session: Any, database_url: str, placement: Placement
) -> None:
    await seed_shop(db, techs=1, bays=1)
    directory = RayDirectory(database_url, POLICY, namespace=f"race-{uuid.uuid4().hex[:8]}", placement=placement)
    service = BookingService(db, directory, POLICY, CancellationPolicy())
    try:
        results = await asyncio.gather(*(service.book(request(), now=NOW) for _ in range(100)),
                                       return_exceptions=True)
        booked = [r for r in results if not isinstance(r, BaseException)]
        taken = [r for r in results if isinstance(r, SlotTaken)]
        others = [r for r in results if isinstance(r, BaseException) and not isinstance(r, SlotTaken)]
        assert (len(booked), len(taken), [repr(o)[:3000] for o in others]) == (1, 99, [])
        assert await overlapping_rows(db) == 0
        async with db.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM appointments") == 1
        assert await calendars_match_database(service, "shop_a", NOW) == []
    finally:
        await directory.shutdown()


async def test_racing_clients_on_overlapping_times_never_double_book(db: Any, service: BookingService) -> None:
    await seed_shop(db, techs=2, bays=2)
    from datetime import timedelta

    from tests.actors.conftest import START

    attempts = [
        request(f"shop_a_t{i % 2}", f"shop_a_b{(i // 2) % 2}", START + timedelta(minutes=15 * (i % 8)))
        for i in range(60)
    ]
    results = await asyncio.gather(*(service.book(r, now=NOW) for r in attempts), return_exceptions=True)
    others = [r for r in results if isinstance(r, BaseException) and not isinstance(r, SlotTaken)]
    assert others == []
    assert await overlapping_rows(db) == 0
    assert await calendars_match_database(service, "shop_a", NOW) == []
