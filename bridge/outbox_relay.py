"""Publishes the outbox's events to their streams: at least once, in commit order per appointment.

One relay turn is one transaction: take the relay's advisory lock (so only
one bridge publishes at a time and the outbox leaves in id order), lock the
oldest unpublished rows (``FOR UPDATE SKIP LOCKED``, so even a relay that
ignored the turn could not publish the same rows concurrently), XADD them in
id order in one pipeline with ``MAXLEN ~``, then stamp them published and
commit. A crash after XADD and before the commit leaves the rows
unpublished, so they are published again: at least once, never lost.
Consumers drop the duplicates by ``event_id``.

Rows of one appointment are written by transactions that serialize on the
appointment's row, so their ids are in commit order, and publishing in id
order keeps that order on the streams.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import redis.asyncio as aioredis

from bridge.db import transaction
from bridge.loops import utc_now, wait_or_stop
from bridge.streams import StreamNames, message_for
from domain.events import EventEnvelope
from store import event_repository as events
from store import outbox_repository as outbox
from store.outbox_repository import OutboxRow

log = logging.getLogger(__name__)

FaultHook = Callable[[list[OutboxRow]], Awaitable[None]]
"""Called after XADD and before marking published; tests inject a crash there."""


@dataclass(slots=True)
class RelayStats:
    published: int = 0
    turns: int = 0
    errors: int = 0
    last_error: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {"published": self.published, "turns": self.turns, "errors": self.errors, "last_error": self.last_error}


class OutboxRelay:
    """Moves outbox rows to Redis Streams."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        redis: aioredis.Redis,
        streams: StreamNames,
        *,
        maxlen: int,
        batch_size: int = 500,
        interval_s: float = 0.2,
        after_publish: FaultHook | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._pool = pool
        self._redis = redis
        self._streams = streams
        self._maxlen = maxlen
        self._batch_size = batch_size
        self._interval_s = interval_s
        self._after_publish = after_publish
        self._clock = clock
        self.wake = asyncio.Event()
        """Set it after writing to the outbox to publish without waiting for the next tick."""
        self.stats = RelayStats()

    async def relay_once(self) -> int:
        """Publish one batch; returns how many rows were published (0 if another relay has the turn)."""
        async with transaction(self._pool) as conn:
            if not await events.take_relay_turn(conn):
                return 0
            rows = await events.lock_unpublished(conn, self._batch_size)
            if not rows:
                return 0
            async with self._redis.pipeline(transaction=False) as pipe:
                for row in rows:
                    pipe.xadd(
                        self.stream_for(row.envelope),
                        message_for(row.envelope),  # type: ignore[arg-type]  # redis-py's invariant dict type
                        maxlen=self._maxlen,
                        approximate=True,
                    )
                await pipe.execute()
            if self._after_publish is not None:
                await self._after_publish(rows)
            await outbox.mark_published(conn, [row.id for row in rows], self._clock())
        self.stats.published += len(rows)
        self.stats.turns += 1
        return len(rows)

    def stream_for(self, envelope: EventEnvelope) -> str:
        return self._streams.for_event(envelope.event_type)

    async def run(self, stop: asyncio.Event) -> None:
        """Relay every ``interval_s`` (or at once when woken) until ``stop`` is set."""
        backoff = self._interval_s
        while not stop.is_set():
            try:
                full = await self.relay_once() >= self._batch_size
                backoff = self._interval_s
            except (OSError, asyncpg.PostgresError, aioredis.RedisError) as exc:
                # Nothing was marked published, so nothing is lost: report and retry later.
                self.stats.errors += 1
                self.stats.last_error = repr(exc)
                log.exception("relaying the outbox failed; retrying in %.1fs", backoff)
                await wait_or_stop(stop, backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if not full:
                await wait_or_stop(stop, self._interval_s, self.wake)

