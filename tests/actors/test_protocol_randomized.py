"""Randomized sequences of hold / confirm / book / cancel / reschedule / expire, concurrent in groups.

After every step: no overlapping live rows, no expired hold blocks anything
(the actors' live entries equal the database's live rows, which exclude
expired holds), and every actor's calendar equals the database.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.factory import RayDirectory
from application.booking import BookingService
from application.clock import ManualClock
from domain.errors import DomainError
from domain.policy import CancellationPolicy
from store.database import create_pool
from tests.actors.checks import calendars_match_database, overlapping_rows
from tests.actors.conftest import NOW, POLICY, START, request
from tests.conftest import TABLES_TO_CLEAN
from tests.factories import seed_shop

SLOTS = [START.replace(hour=7) + timedelta(minutes=45 * i) for i in range(14)]

op = st.one_of(
    st.tuples(st.just("book"), st.integers(0, 13), st.integers(0, 1), st.integers(0, 1)),
    st.tuples(st.just("hold"), st.integers(0, 13), st.integers(0, 1), st.integers(0, 1)),
    st.tuples(st.just("confirm"), st.integers(0, 99), st.just(0), st.just(0)),
    st.tuples(st.just("cancel"), st.integers(0, 99), st.just(0), st.just(0)),
    st.tuples(st.just("reschedule"), st.integers(0, 99), st.integers(0, 13), st.integers(0, 1)),
    st.tuples(st.just("expire"), st.integers(1, 20), st.just(0), st.just(0)),
)
steps = st.lists(st.lists(op, min_size=1, max_size=3), min_size=1, max_size=6)


async def _scenario(url: str, groups: list[list[tuple[str, int, int, int]]]) -> None:
    pool = await create_pool(url, min_size=1, max_size=10)
    directory = RayDirectory(url, POLICY, namespace=f"prop-{uuid.uuid4().hex[:8]}")
    clock = ManualClock(NOW)
    service = BookingService(pool, directory, POLICY, CancellationPolicy(), clock)
    ids: list[str] = []
    try:
        async with pool.acquire() as conn:
            await conn.execute(f"TRUNCATE {', '.join(t for t in TABLES_TO_CLEAN if t in _existing)} CASCADE")
        await seed_shop(pool, techs=2, bays=2)

        async def run(kind: str, a: int, b: int, c: int) -> None:
            if kind in ("book", "hold"):
                appt = await service.book(request(f"shop_a_t{b}", f"shop_a_b{c}", SLOTS[a]), hold=kind == "hold")
                ids.append(appt.id)
            elif kind == "expire":
                clock.advance(timedelta(minutes=a))
                await service.expire_holds()
            elif ids:
                target = ids[a % len(ids)]
                if kind == "confirm":
                    await service.confirm(target)
                elif kind == "cancel":
                    await service.cancel(target)
                else:
                    await service.reschedule(target, start=SLOTS[b], technician_id=f"shop_a_t{c}")

        for group in groups:
            results = await asyncio.gather(*(run(*o) for o in group), return_exceptions=True)
            unexpected = [r for r in results if isinstance(r, BaseException) and not isinstance(r, DomainError)]
            assert unexpected == []
            assert await overlapping_rows(pool) == 0
            assert await calendars_match_database(service, "shop_a", clock.now()) == []
    finally:
        await directory.shutdown()
        await pool.close()


_existing: set[str] = set()


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(groups=steps)
def test_random_booking_sequences_keep_every_invariant(ray_session: Any, database_url: str, groups: Any) -> None:
    async def go() -> None:
        if not _existing:
            pool = await create_pool(database_url, min_size=1, max_size=1)
            rows = await pool.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            _existing.update(r["tablename"] for r in rows)
            await pool.close()
        await _scenario(database_url, groups)

    asyncio.run(go())
