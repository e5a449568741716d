"""Reminders: exactly one per scheduled appointment start inside the window; none for cancelled ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import redis.asyncio as aioredis

from bridge.outbox_relay import OutboxRelay
from bridge.reminders import ReminderScheduler
from bridge.streams import StreamNames
from domain.appointment import Cancellation
from store import appointment_repository as appointments
from tests.bridge.support import events_on
from tests.factories import appointment, insert_appointment, resource_rids, seed_shop

NOW = datetime(2030, 2, 1, 8, 0, tzinfo=UTC)
LEAD = timedelta(hours=24)


async def _insert(pool: Any, tech: str, bay: str, start: datetime) -> str:
    appt = appointment(tech, bay, start, created_at=NOW, vehicle_id=f"V-{tech}")
    async with pool.acquire() as conn, conn.transaction():
        await insert_appointment(conn, appt, now=NOW)
    return appt.id


def _scheduler(pool: Any) -> ReminderScheduler:
    return ReminderScheduler(pool, lead=LEAD, clock=lambda: NOW)


async def _reminded(pool: Any) -> list[tuple[str, datetime]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT appointment_id, start_at FROM reminders_sent ORDER BY start_at")
    return [(str(r["appointment_id"]), r["start_at"]) for r in rows]


async def test_appointments_inside_the_window_get_exactly_one_reminder_and_cancelled_ones_none(
    db: Any, redis: aioredis.Redis, stream_prefix: str
) -> None:
    await seed_shop(db, techs=3, bays=3)
    soon = await _insert(db, "shop_a_t0", "shop_a_b0", NOW + timedelta(hours=3))
    cancelled = await _insert(db, "shop_a_t1", "shop_a_b1", NOW + timedelta(hours=3))
    later = await _insert(db, "shop_a_t2", "shop_a_b2", NOW + timedelta(hours=30))
    async with db.acquire() as conn:
        await appointments.cancel(conn, cancelled, Cancellation(NOW, False, Decimal(0)))

    assert await _scheduler(db).tick() == 1
    assert await _scheduler(db).tick() == 0  # a restarted bridge derives nothing new
    assert await _scheduler(db).tick(NOW + timedelta(minutes=5)) == 0
    await OutboxRelay(db, redis, StreamNames(stream_prefix), maxlen=1000).relay_once()

    [reminder] = await events_on(redis, f"{stream_prefix}appointment.reminder")
    assert reminder.data["appointment_id"] == soon
    assert reminder.data["start"] == (NOW + timedelta(hours=3)).isoformat()

    # seven hours later the third appointment enters the window and gets its one reminder
    assert await _scheduler(db).tick(NOW + timedelta(hours=7)) == 1
    assert [a for a, _ in await _reminded(db)] == [soon, later]


async def test_rescheduled_appointment_is_reminded_of_its_new_time_only(db: Any) -> None:
    await seed_shop(db, techs=1, bays=1)
    appt_id = await _insert(db, "shop_a_t0", "shop_a_b0", NOW + timedelta(hours=40))  # outside the window
    async with db.acquire() as conn:
        appt = await appointments.get(conn, appt_id)
        assert appt is not None
        moved = appointment("shop_a_t0", "shop_a_b0", NOW + timedelta(hours=5), id=appt_id, sequence=1)
        rids = await resource_rids(conn, "shop_a", "shop_a_t0", "shop_a_b0")
        await appointments.move(conn, moved, tech_rid=rids[0], bay_rid=rids[1], buffer=timedelta(0), now=NOW)

    assert await _scheduler(db).tick() == 1
    assert await _reminded(db) == [(appt_id, NOW + timedelta(hours=5))]
    assert await _scheduler(db).tick(NOW + timedelta(hours=20)) == 0  # the old time never gets one
