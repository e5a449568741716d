"""Appointment events on the streams drive calendar invites; duplicates create nothing twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import redis.asyncio as aioredis

from bridge.event_bridge import EventBridge
from config.settings import Settings
from domain.appointment import Cancellation
from domain.events import EventEnvelope, EventType
from integrations import InviteDispatcher
from store import appointment_repository as appointments
from store import outbox_repository as outbox
from store.invite_repository import PostgresInviteRepository
from tests.bridge.fake_booker import FakeAutoBooker
from tests.bridge.support import FAST, send, wait_for
from tests.factories import appointment, insert_appointment, seed_shop
from tests.integrations.test_invite_dispatcher import ScriptedTarget

START = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)


@pytest.fixture
async def target_and_bridge(
    db: Any, redis: aioredis.Redis, settings: Settings
) -> AsyncIterator[tuple[ScriptedTarget, EventBridge]]:
    await seed_shop(db, techs=1, bays=1)
    target = ScriptedTarget()
    dispatcher = InviteDispatcher([target], PostgresInviteRepository(db))
    bridge = EventBridge(settings, db, redis, FakeAutoBooker(db), FAST, invites=dispatcher)
    await bridge.start()
    yield target, bridge
    await bridge.stop()


async def _commit(db: Any, event_type: str, appt_id: str, write: Any = None) -> EventEnvelope:
    env = EventEnvelope.new(event_type, {"appointment_id": appt_id}, datetime.now(UTC))
    async with db.acquire() as conn, conn.transaction():
        if write is not None:
            await write(conn)
        await outbox.add(conn, env, appt_id)
    return env


async def test_scheduled_then_duplicate_then_cancelled_creates_once_and_cancels(
    target_and_bridge: tuple[ScriptedTarget, EventBridge], db: Any, redis: aioredis.Redis, stream_prefix: str
) -> None:
    target, _bridge = target_and_bridge
    appt = appointment("shop_a_t0", "shop_a_b0", START)

    async def insert(conn: Any) -> None:
        await insert_appointment(conn, appt)

    scheduled = await _commit(db, EventType.APPOINTMENT_SCHEDULED, appt.id, insert)

    async def created() -> bool:
        return target.created == 1

    await wait_for(created, what="the invite to be created")
    await send(redis, stream_prefix, scheduled)  # the same event delivered again
    await send(redis, stream_prefix, scheduled)

    async def cancel(conn: Any) -> None:
        await appointments.cancel(conn, appt.id, Cancellation(datetime.now(UTC), False, Decimal("0")))

    await _commit(db, EventType.APPOINTMENT_CANCELLED, appt.id, cancel)

    async def cancelled() -> bool:
        return ("cancel", 0) in target.calls

    await wait_for(cancelled, what="the invite to be cancelled")
    assert target.created == 1
    [delivery] = await PostgresInviteRepository(db).for_appointment(appt.id)
    assert delivery.provider == "scripted" and delivery.operation.value == "cancel"


async def test_a_failing_provider_never_blocks_the_stream_and_is_retried(
    target_and_bridge: tuple[ScriptedTarget, EventBridge], db: Any, redis: aioredis.Redis, stream_prefix: str
) -> None:
    from integrations.calendar_target import TransientCalendarError

    target, bridge = target_and_bridge
    target.errors = [TransientCalendarError("provider down", status=503)]
    appt = appointment("shop_a_t0", "shop_a_b0", START + timedelta(hours=2))

    async def insert(conn: Any) -> None:
        await insert_appointment(conn, appt)

    await _commit(db, EventType.APPOINTMENT_SCHEDULED, appt.id, insert)
    repo = PostgresInviteRepository(db)

    async def failed_and_acked() -> bool:
        deliveries = await repo.for_appointment(appt.id)
        if not deliveries or deliveries[0].state.value == "sent" or deliveries[0].next_attempt_at is None:
            return False
        assert bridge.invite_consumer is not None
        return bridge.invite_consumer.stats.handled >= 1

    await wait_for(failed_and_acked, what="the failed invite to be recorded for retry and its event handled")
    assert bridge.invite_consumer is not None and bridge.invite_consumer.stats.failed == 0
    async with db.acquire() as conn:  # the booking is untouched
        assert (await appointments.get(conn, appt.id)) is not None
