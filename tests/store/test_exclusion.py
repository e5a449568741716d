"""PostgreSQL itself refuses double bookings (DESIGN invariant 1, last word)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.appointment import AppointmentStatus
from domain.errors import SlotTaken
from store import appointment_repository as appointments
from tests.factories import appointment, insert_appointment, seed_shop

START = datetime(2030, 2, 1, 9, 0, tzinfo=UTC)


async def _insert(pool: Any, tech: str, bay: str, start: datetime, hours: float = 1.0, buffer_min: int = 0,
                  *, lock: bool = True, now: datetime | None = None, **kw: Any) -> str:
    """Insert as the booking service does: per-resource advisory locks first, unless ``lock`` is off.

    Each appointment has its own vehicle unless told, so only the technician and bay can clash.
    """
    kw.setdefault("vehicle_id", f"V-{uuid.uuid4().hex[:12]}")
    appt = appointment(tech, bay, start, hours, **kw)
    async with pool.acquire() as conn, conn.transaction():
        await insert_appointment(conn, appt, buffer=timedelta(minutes=buffer_min), now=now, lock=lock)
    return appt.id


async def _race(pool: Any, pairs: list[tuple[str, str]], starts: list[datetime],
                lock: bool = True) -> tuple[int, int, list[BaseException]]:
    async def one(i: int) -> str:
        tech, bay = pairs[i % len(pairs)]
        return await _insert(pool, tech, bay, starts[i % len(starts)], hours=1.0, lock=lock)

    results = await asyncio.gather(*(one(i) for i in range(32)), return_exceptions=True)
    ok = sum(1 for r in results if isinstance(r, str))
    taken = sum(1 for r in results if isinstance(r, SlotTaken))
    others = [r for r in results if isinstance(r, BaseException) and not isinstance(r, SlotTaken)]
    return ok, taken, others


async def _live_rows(pool: Any, column: str, value: str) -> int:
    async with pool.acquire() as conn:
        return int(await conn.fetchval(
            f"SELECT count(*) FROM appointments WHERE {column} = $1 AND status IN ('held','scheduled')", value))


async def test_32_concurrent_overlapping_inserts_for_one_technician_leave_one_row(db: Any) -> None:
    await seed_shop(db, techs=1, bays=32)
    pairs = [("shop_a_t0", f"shop_a_b{i}") for i in range(32)]
    starts = [START + timedelta(minutes=5 * i) for i in range(12)]  # all overlap the first hour
    ok, taken, others = await _race(db, pairs, starts)
    assert (ok, taken, others) == (1, 31, [])
    assert await _live_rows(db, "technician_id", "shop_a_t0") == 1


async def test_without_the_locks_the_constraint_alone_still_leaves_one_row(db: Any) -> None:
    """Lock-free racing inserts may also fail as deadlocks (40P01), never as a second row."""
    import asyncpg

    await seed_shop(db, techs=1, bays=32)
    pairs = [("shop_a_t0", f"shop_a_b{i}") for i in range(32)]
    starts = [START + timedelta(minutes=5 * i) for i in range(12)]
    ok, taken, others = await _race(db, pairs, starts, lock=False)
    assert ok <= 1 and ok + taken + len(others) == 32
    assert all(isinstance(e, asyncpg.exceptions.DeadlockDetectedError) for e in others), others
    assert await _live_rows(db, "technician_id", "shop_a_t0") == ok


async def test_32_concurrent_overlapping_inserts_for_one_bay_leave_one_row(db: Any) -> None:
    await seed_shop(db, techs=32, bays=1)
    pairs = [(f"shop_a_t{i}", "shop_a_b0") for i in range(32)]
    ok, taken, others = await _race(db, pairs, [START, START + timedelta(minutes=30)])
    assert (ok, taken, others) == (1, 31, [])
    assert await _live_rows(db, "bay_id", "shop_a_b0") == 1


async def test_touching_intervals_are_both_accepted(db: Any) -> None:
    await seed_shop(db, techs=1, bays=1)
    await _insert(db, "shop_a_t0", "shop_a_b0", START, 1.0)
    await _insert(db, "shop_a_t0", "shop_a_b0", START + timedelta(hours=1), 1.0)
    await _insert(db, "shop_a_t0", "shop_a_b0", START - timedelta(hours=1), 1.0)
    assert await _live_rows(db, "technician_id", "shop_a_t0") == 3


async def test_technician_buffer_is_enforced_by_the_database(db: Any) -> None:
    await seed_shop(db, techs=1, bays=2)
    await _insert(db, "shop_a_t0", "shop_a_b0", START, 1.0, buffer_min=30)
    with pytest.raises(SlotTaken):
        await _insert(db, "shop_a_t0", "shop_a_b1", START + timedelta(minutes=80), 1.0, buffer_min=30)
    await _insert(db, "shop_a_t0", "shop_a_b1", START + timedelta(minutes=90), 1.0, buffer_min=30)


async def test_a_cancelled_appointment_frees_its_time(db: Any) -> None:
    await seed_shop(db, techs=1, bays=1)
    first = await _insert(db, "shop_a_t0", "shop_a_b0", START, 2.0)
    with pytest.raises(SlotTaken):
        await _insert(db, "shop_a_t0", "shop_a_b0", START + timedelta(minutes=30), 1.0)
    async with db.acquire() as conn:
        await appointments.set_status(conn, first, AppointmentStatus.CANCELLED, START)
    await _insert(db, "shop_a_t0", "shop_a_b0", START + timedelta(minutes=30), 1.0)


async def test_an_expired_hold_never_blocks_once_swept(db: Any) -> None:
    await seed_shop(db, techs=1, bays=1)
    now = START - timedelta(days=1)
    hold = await _insert(db, "shop_a_t0", "shop_a_b0", START, 1.0, status=AppointmentStatus.HELD,
                         hold_expires_at=now + timedelta(minutes=15))
    later = now + timedelta(minutes=16)
    await _insert(db, "shop_a_t0", "shop_a_b0", START, 1.0, now=later)  # the insert sweeps the expired hold first
    async with db.acquire() as conn:
        swept = await appointments.get(conn, hold)
    assert swept is not None and swept.status is AppointmentStatus.EXPIRED
