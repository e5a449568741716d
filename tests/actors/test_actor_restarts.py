"""Actors come back from a crash or an idle retirement with the database's calendar."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta
from typing import Any

import ray

from actors.directory import Placement
from actors.factory import RayDirectory
from application.booking import BookingService
from application.ports import ResourceKind, ResourceRef
from domain.appointment import AppointmentStatus
from domain.errors import DomainError
from domain.policy import CancellationPolicy
from tests.actors.checks import calendars_match_database, overlapping_rows
from tests.actors.conftest import NOW, POLICY, START, request
from tests.factories import seed_shop


async def _wait_until(condition: Any, deadline_s: float = 30.0) -> None:
    """Poll ``condition`` (async) until true or the deadline passes."""
    deadline = time.monotonic() + deadline_s
    while not await condition():
        assert time.monotonic() < deadline, "condition not met before the deadline"
        await asyncio.sleep(0.05)


async def test_a_killed_technician_actor_comes_back_with_the_same_calendar(
    db: Any, ray_session: Any, database_url: str
) -> None:
    await seed_shop(db, techs=2, bays=4)
    directory = RayDirectory(database_url, POLICY, namespace=f"kill-{uuid.uuid4().hex[:8]}",
                             placement=Placement.PER_RESOURCE)
    service = BookingService(db, directory, POLICY, CancellationPolicy())
    victim = ResourceRef(ResourceKind.TECHNICIAN, "shop_a", "shop_a_t0")
    try:
        # 2 technicians x 4 days x 6 jobs (90 min apart), plus a duplicate of each that must lose
        slots = [(t, START.replace(hour=7) + timedelta(days=d, minutes=90 * j))
                 for t in range(2) for d in range(4) for j in range(6)]
        attempts = [request(f"shop_a_t{t}", f"shop_a_b{2 * t + k}", s)
                    for k in range(2) for t, s in slots]

        async def stream() -> list[Any]:
            return list(await asyncio.gather(*(service.book(r, now=NOW) for r in attempts),
                                             return_exceptions=True))

        booking = asyncio.ensure_future(stream())
        await _wait_until(_has_rows(db, 5))
        before = await directory.pids()
        ray.kill(directory.actor(victim), no_restart=False)
        results = await booking
        errors = [r for r in results if isinstance(r, BaseException)]
        assert all(isinstance(e, DomainError) for e in errors), errors[:3]
        booked = [r for r in results if not isinstance(r, BaseException)]
        assert len(booked) == len(slots)  # every slot booked once, every duplicate refused
        assert await overlapping_rows(db) == 0
        async with db.acquire() as conn:
            live = await conn.fetchval("SELECT count(*) FROM appointments WHERE status = 'scheduled'")
        assert live == len(booked)  # no lost confirmed appointment
        assert all(a.status is AppointmentStatus.SCHEDULED for a in booked)
        assert await calendars_match_database(service, "shop_a", NOW) == []
        after = await directory.pids()
        assert after[victim.label] != before[victim.label]
    finally:
        await directory.shutdown()


def _has_rows(db: Any, n: int) -> Any:
    async def check() -> bool:
        async with db.acquire() as conn:
            return int(await conn.fetchval("SELECT count(*) FROM appointments")) >= n
    return check


async def test_an_idle_actor_retires_and_is_recreated_on_demand(
    db: Any, ray_session: Any, database_url: str
) -> None:
    await seed_shop(db, techs=1, bays=1)
    namespace = f"idle-{uuid.uuid4().hex[:8]}"
    directory = RayDirectory(database_url, POLICY, namespace=namespace, idle_seconds=0.3)
    service = BookingService(db, directory, POLICY, CancellationPolicy())
    try:
        first = await service.book(request(), now=NOW)

        async def retired() -> bool:
            try:
                ray.get_actor("shop:shop_a", namespace=namespace)
            except ValueError:
                return True
            return False

        await _wait_until(retired)
        second = await service.book(request(start=START + timedelta(hours=2)), now=NOW)
        assert second.status is AppointmentStatus.SCHEDULED
        view = await directory.technician("shop_a", "shop_a_t0").view(
            first.interval.widened(timedelta(hours=1), timedelta(hours=3)), now=NOW)
        assert {e.key for e in view.entries} == {first.id, second.id}
    finally:
        await directory.shutdown()
