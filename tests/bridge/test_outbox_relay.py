"""The outbox relay publishes every committed event at least once, in order, without double publishing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
import redis.asyncio as aioredis

from bridge.outbox_relay import OutboxRelay
from bridge.streams import StreamNames
from domain.events import EventEnvelope, EventType
from store import outbox_repository as outbox
from store.outbox_repository import OutboxRow
from tests.bridge.support import count, events_on

NOW = datetime(2030, 2, 1, 9, 0, tzinfo=UTC)
UNPUBLISHED = "SELECT count(*) FROM outbox WHERE published_at IS NULL"


class InjectedCrash(RuntimeError):
    pass


async def _commit_events(
    pool: Any, aggregate: str, n: int, event_type: str = EventType.APPOINTMENT_SCHEDULED
) -> list[str]:
    ids = []
    async with pool.acquire() as conn, conn.transaction():
        for i in range(n):
            env = EventEnvelope.new(event_type, {"appointment_id": aggregate, "seq": i}, NOW)
            await outbox.add(conn, env, aggregate)
            ids.append(env.event_id)
    return ids


def _relay(pool: Any, redis: aioredis.Redis, prefix: str, **kw: Any) -> OutboxRelay:
    return OutboxRelay(pool, redis, StreamNames(prefix), maxlen=10_000, **kw)


async def test_crash_between_publish_and_mark_republishes_and_a_deduping_consumer_acts_once(
    db: Any, redis: aioredis.Redis, stream_prefix: str
) -> None:
    [event_id] = await _commit_events(db, "appt-1", 1)

    async def crash(rows: list[OutboxRow]) -> None:
        raise InjectedCrash("process died after XADD, before marking published")

    with pytest.raises(InjectedCrash):
        await _relay(db, redis, stream_prefix, after_publish=crash).relay_once()
    assert await count(db, UNPUBLISHED) == 1  # the mark rolled back with the "crash"

    assert await _relay(db, redis, stream_prefix).relay_once() == 1  # a fresh relay (the restarted bridge)
    assert await count(db, UNPUBLISHED) == 0

    delivered = await events_on(redis, f"{stream_prefix}appointment.scheduled")
    assert [e.event_id for e in delivered] == [event_id, event_id]  # at least once: here twice
    acted_on: list[str] = []
    seen: set[str] = set()
    for env in delivered:  # a consumer that drops duplicates by event_id
        if env.event_id not in seen:
            seen.add(env.event_id)
            acted_on.append(env.event_id)
    assert acted_on == [event_id]


async def test_events_committed_while_no_relay_runs_are_published_by_the_next_one(
    db: Any, redis: aioredis.Redis, stream_prefix: str
) -> None:
    ids = await _commit_events(db, "appt-2", 3)
    assert await _relay(db, redis, stream_prefix).relay_once() == 3
    delivered = await events_on(redis, f"{stream_prefix}appointment.scheduled")
    assert [e.event_id for e in delivered] == ids  # commit order
    assert [e.data["seq"] for e in delivered] == [0, 1, 2]


async def test_two_relays_at_once_publish_each_event_exactly_once(
    db: Any, redis: aioredis.Redis, stream_prefix: str
) -> None:
    for a in range(20):
        await _commit_events(db, f"appt-{a}", 10)
    first, second = _relay(db, redis, stream_prefix, batch_size=7), _relay(db, redis, stream_prefix, batch_size=7)

    async def keep_relaying(relay: OutboxRelay) -> None:
        while await count(db, "SELECT count(*) FROM outbox WHERE published_at IS NULL") > 0:
            await relay.relay_once()

    await asyncio.gather(keep_relaying(first), keep_relaying(second))
    delivered = await events_on(redis, f"{stream_prefix}appointment.scheduled")
    assert len(delivered) == 200
    assert len({e.event_id for e in delivered}) == 200
    for a in range(20):  # per appointment, in commit order
        assert [e.data["seq"] for e in delivered if e.data["appointment_id"] == f"appt-{a}"] == list(range(10))


async def test_each_event_type_goes_to_its_own_stream_under_the_prefix(
    db: Any, redis: aioredis.Redis, stream_prefix: str
) -> None:
    await _commit_events(db, "appt-3", 1, EventType.APPOINTMENT_CANCELLED)
    await _commit_events(db, "appt-3", 1, EventType.PARTS_ORDER_REQUESTED)
    await _relay(db, redis, stream_prefix).relay_once()
    assert len(await events_on(redis, f"{stream_prefix}appointment.cancelled")) == 1
    assert len(await events_on(redis, f"{stream_prefix}parts.order.requested")) == 1
