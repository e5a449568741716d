"""The bridge actor on a real local Ray: killed three times under load, it loses and repeats nothing."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
import ray
import redis.asyncio as aioredis

from bridge.actor import start_bridge_actor
from bridge.event_bridge import BridgeOptions
from config.settings import Settings
from tests.bridge.fake_booker import fake_booker_factory
from tests.bridge.support import alert_envelope, count, wait_for
from tests.factories import seed_shop

pytestmark = pytest.mark.ray

ALERTS = 1_000


async def test_thousand_alerts_while_the_actor_is_killed_three_times_book_exactly_once_each(
    ray_session: Any, settings: Settings, db: Any, redis: aioredis.Redis, stream_prefix: str
) -> None:
    await seed_shop(db, techs=8, bays=8)
    stream = f"{stream_prefix}alert.created"
    async with redis.pipeline(transaction=False) as pipe:
        for i in range(ALERTS):
            # every tenth alert cannot be booked (brake_repair is not offered): an explicit not-booked event
            env = alert_envelope(f"K{i}", component="brakes" if i % 10 == 0 else "engine")
            pipe.xadd(stream, {"event": env.to_json()})
        await pipe.execute()

    name = f"bridge-{uuid.uuid4().hex[:8]}"
    options = BridgeOptions(consumer_name=name, block_s=0.1, claim_idle_s=2, retry_delay_s=0.05,
                            relay_interval_s=0.05, reminders=False)
    actor = start_bridge_actor(fake_booker_factory, settings, options, name=name)
    try:
        pids = set()
        for kill_at in (150, 400, 650):
            await wait_for(lambda n=kill_at: _processed_at_least(db, n), timeout=60, what=f"{kill_at} alerts handled")
            pids.add((await actor.stats.remote())["pid"])
            ray.kill(actor, no_restart=False)  # its process dies at once; Ray brings it back
        await wait_for(lambda: _processed_at_least(db, ALERTS), timeout=60, what="every alert handled")
        await wait_for(lambda: _nothing_pending(redis, stream), timeout=30, what="an empty pending list")
        final = await actor.stats.remote()
        pids.add(final["pid"])
        assert len(pids) == 4, "three kills, four incarnations"

        booked = ALERTS - ALERTS // 10
        assert await count(db, "SELECT count(*) FROM appointments") == booked
        assert await count(db, "SELECT count(DISTINCT source_ref) FROM appointments") == booked
        assert await count(db, "SELECT count(*) FROM processed_events WHERE outcome = 'not_booked'") == ALERTS // 10
        await wait_for(lambda: _outbox_published(db), timeout=30, what="the outbox relayed")
        not_booked = await redis.xrange(f"{stream_prefix}appointment.not_booked")
        assert len({_alert_id(f["event"]) for _, f in not_booked}) == ALERTS // 10
        scheduled = await redis.xrange(f"{stream_prefix}appointment.scheduled")
        assert len({_alert_id(f["event"], "source_ref") for _, f in scheduled}) == booked
        assert await redis.xlen(f"{stream_prefix}dead-letter") == 0
    finally:
        await actor.stop.remote()
        ray.kill(actor, no_restart=True)


async def test_actor_started_twice_by_name_is_one_actor(
    ray_session: Any, settings: Settings, db: Any, redis: aioredis.Redis
) -> None:
    name = f"bridge-{uuid.uuid4().hex[:8]}"
    options = BridgeOptions(consumer_name=name, block_s=0.1, reminders=False)
    first = start_bridge_actor(fake_booker_factory, settings, options, name=name)
    second = start_bridge_actor(fake_booker_factory, settings, options, name=name)
    try:
        a, b = await asyncio.gather(first.ready.remote(), second.ready.remote())
        assert a["pid"] == b["pid"]
        assert a["running"] and a["loops"] == {"consumer": "running", "relay": "running"}
        stopped = await first.stop.remote()
        assert stopped["running"] is False
    finally:
        ray.kill(first, no_restart=True)


async def _processed_at_least(db: Any, n: int) -> bool:
    return await count(db, "SELECT count(*) FROM processed_events") >= n


async def _nothing_pending(redis: aioredis.Redis, stream: str) -> bool:
    return int((await redis.xpending(stream, "scheduling-tests"))["pending"]) == 0


async def _outbox_published(db: Any) -> bool:
    return await count(db, "SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0


def _alert_id(raw: str, field: str = "alert_id") -> str:
    import json

    return str(json.loads(raw)["data"][field])
