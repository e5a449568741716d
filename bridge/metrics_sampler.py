"""The event bridge's metrics: its counters' growth, and the outbox, stream and invite state sampled on a tick.

The consumer, relay and invite code keep their plain stats objects (they are
tested through them); this loop turns them into exported metrics every few
seconds, so none of that code knows about metrics. The gauges are read where
the truth is: the outbox lag and the invite states from PostgreSQL, the
pending entries from Redis (``XPENDING``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from actors import metrics
from bridge.consumer import StreamConsumer
from bridge.event_bridge import EventBridge

log = logging.getLogger(__name__)

SAMPLE_EVERY_S = 5.0


@dataclass(slots=True)
class _Seen:
    """The stats' values at the last tick, so that counters grow by the difference."""

    values: dict[str, int] = field(default_factory=dict)

    def delta(self, name: str, now: int) -> int:
        before = self.values.get(name, 0)
        self.values[name] = now
        return max(0, now - before)


class BridgeMetricsSampler:
    """Exports one ``EventBridge``'s metrics; ``sample`` once, or ``run`` until stopped."""

    def __init__(self, bridge: EventBridge) -> None:
        self._bridge = bridge
        self._seen = _Seen()

    async def sample(self) -> None:
        b = self._bridge
        consumers = [("alerts", b.consumer)] + ([("invites", b.invite_consumer)] if b.invite_consumer else [])
        for name, consumer in consumers:
            s = consumer.stats
            metrics.count(
                "scheduling_events_consumed_total", self._seen.delta(f"{name}.handled", s.handled), outcome="handled"
            )
            metrics.count(
                "scheduling_events_consumed_total", self._seen.delta(f"{name}.failed", s.failed), outcome="failed"
            )
            metrics.count("scheduling_events_dead_lettered_total", self._seen.delta(f"{name}.dead", s.dead_lettered))
            await self._pending(consumer)
        metrics.count("scheduling_events_published_total", self._seen.delta("relay.published", b.relay.stats.published))
        metrics.count(
            "scheduling_bookings_total", self._seen.delta("alerts.booked", b.handler.stats.booked), channel="alert"
        )
        async with b.pool.acquire() as conn:
            oldest = await conn.fetchrow(
                "SELECT count(*) AS n, EXTRACT(EPOCH FROM now() - min(created_at)) AS lag"
                " FROM outbox WHERE published_at IS NULL"
            )
            invites = await conn.fetch("SELECT provider, state, count(*) AS n FROM calendar_invites GROUP BY 1, 2")
        if oldest is not None:  # an aggregate always answers one row
            metrics.set_gauge("scheduling_outbox_unpublished", float(oldest["n"]))
            metrics.set_gauge("scheduling_outbox_lag_seconds", float(oldest["lag"] or 0.0))
        for row in invites:
            metrics.set_gauge(
                "scheduling_invite_deliveries", float(row["n"]), provider=row["provider"], state=row["state"]
            )

    async def _pending(self, consumer: StreamConsumer) -> None:
        group = consumer.group
        for stream in consumer.streams:
            try:
                summary = await self._bridge.redis.xpending(stream, group)
            except Exception:  # no group yet (or Redis away): nothing to report this tick
                continue
            metrics.set_gauge("scheduling_consumer_pending", float(summary.get("pending", 0)), stream=stream)

    async def run(self, stop: asyncio.Event, every_s: float = SAMPLE_EVERY_S) -> None:
        while not stop.is_set():
            try:
                await self.sample()
            except Exception:  # the database or Redis may be away for a moment; the next tick retries
                log.debug("bridge metrics sample failed", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every_s)
