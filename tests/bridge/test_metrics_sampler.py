"""The bridge's metrics: counters grow by what happened since the last tick; gauges read the outbox and Redis."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import pytest
import redis.asyncio as aioredis

from actors import metrics
from bridge.event_bridge import EventBridge
from bridge.metrics_sampler import BridgeMetricsSampler
from config.settings import Settings
from domain.events import EventEnvelope, EventType
from store import outbox_repository as outbox
from tests.bridge.fake_booker import FakeAutoBooker
from tests.bridge.support import FAST


class Recorded:
    """What the sampler exported, by metric name and labels."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, tuple[tuple[str, str], ...]], float] = defaultdict(float)
        self.gauges: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}

    def count(self, name: str, value: float = 1.0, **tags: str) -> None:
        self.counts[(name, tuple(sorted(tags.items())))] += value

    def set_gauge(self, name: str, value: float, **tags: str) -> None:
        self.gauges[(name, tuple(sorted(tags.items())))] = value


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Recorded:
    r = Recorded()
    monkeypatch.setattr(metrics, "count", r.count)
    monkeypatch.setattr(metrics, "set_gauge", r.set_gauge)
    return r


async def test_counters_grow_by_the_difference_and_gauges_read_the_outbox(
    db: Any, redis: aioredis.Redis, settings: Settings, recorded: Recorded
) -> None:
    bridge = EventBridge(settings, db, redis, FakeAutoBooker(db), FAST)
    await bridge.consumer.ensure_groups()
    env = EventEnvelope.new(EventType.APPOINTMENT_SCHEDULED, {"appointment_id": "a1"}, datetime.now(UTC))
    async with db.acquire() as conn, conn.transaction():
        await outbox.add(conn, env, "a1")
    sampler = BridgeMetricsSampler(bridge)

    bridge.consumer.stats.handled = 3
    bridge.consumer.stats.dead_lettered = 1
    await sampler.sample()
    bridge.consumer.stats.handled = 5
    await sampler.sample()

    assert recorded.counts[("scheduling_events_consumed_total", (("outcome", "handled"),))] == 5
    assert recorded.counts[("scheduling_events_dead_lettered_total", ())] == 1
    assert recorded.gauges[("scheduling_outbox_unpublished", ())] == 1
    assert recorded.gauges[("scheduling_outbox_lag_seconds", ())] >= 0
    pending = {tags: v for (name, tags), v in recorded.gauges.items() if name == "scheduling_consumer_pending"}
    assert len(pending) == len(bridge.consumer.streams) and set(pending.values()) == {0.0}
