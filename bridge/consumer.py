"""A consumer-group reader for Redis Streams that acks only what has been done.

Each poll takes, in order: this consumer's own pending entries (after a
restart, or a retry after a failure), entries of consumers that have been
silent for ``claim_idle`` (XAUTOCLAIM: a dead bridge's work is finished by a
live one), then new entries (XREADGROUP ``>``). Every entry is handed to its
stream's handler and acknowledged only when the handler returned, i.e. when
its effect is committed. An entry that fails stays pending and is retried;
one delivered ``max_deliveries`` times (XPENDING's count, which survives
restarts) goes to the dead-letter stream with the reason and is acked there,
in one MULTI, so it can never be both lost and retried. A malformed entry
goes to the dead-letter stream at once: retrying cannot fix it, and it must
not hold up the entries behind it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from bridge.loops import wait_or_stop
from bridge.streams import raw_event
from domain.events import EventEnvelope, MalformedEvent

log = logging.getLogger(__name__)

Handler = Callable[[EventEnvelope], Awaitable[object]]
"""Does an event's effect and commits it; raises to leave the entry un-acked."""


@dataclass(frozen=True, slots=True)
class ConsumerConfig:
    group: str
    consumer: str
    dead_letter_stream: str
    max_deliveries: int = 5
    batch_size: int = 100
    concurrency: int = 16
    block: timedelta = timedelta(seconds=1)
    claim_idle: timedelta = timedelta(seconds=30)
    retry_delay: timedelta = timedelta(seconds=1)
    dead_letter_maxlen: int = 100_000


@dataclass(slots=True)
class ConsumerStats:
    handled: int = 0
    failed: int = 0
    dead_lettered: int = 0
    reclaimed: int = 0
    poll_errors: int = 0
    last_error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "handled": self.handled,
            "failed": self.failed,
            "dead_lettered": self.dead_lettered,
            "reclaimed": self.reclaimed,
            "poll_errors": self.poll_errors,
            "last_error": self.last_error,
        }


@dataclass(frozen=True, slots=True)
class _Entry:
    stream: str
    entry_id: str
    fields: Mapping[str, str] | None
    deliveries: int


@dataclass(slots=True)
class _StreamState:
    handler: Handler
    # Read our own pending list first: at start (a previous incarnation of
    # this consumer may have died mid-batch) and after a failure.
    recover_own: bool = True
    retry_at: float = 0.0
    next_claim_at: float = 0.0
    claim_cursor: str = "0-0"
    failures: dict[str, str] = field(default_factory=dict)


class StreamConsumer:
    """Reads several streams through one consumer group; one handler per stream."""

    def __init__(self, redis: aioredis.Redis, handlers: Mapping[str, Handler], config: ConsumerConfig) -> None:
        self._redis = redis
        self._config = config
        self._streams = {name: _StreamState(handler) for name, handler in handlers.items()}
        self._limit = asyncio.Semaphore(config.concurrency)
        self.stats = ConsumerStats()

    @property
    def streams(self) -> tuple[str, ...]:
        return tuple(self._streams)

    @property
    def group(self) -> str:
        return self._config.group

    async def ensure_groups(self) -> None:
        """Create the group on every stream (and the stream), reading from its beginning."""
        for stream in self._streams:
            try:
                await self._redis.xgroup_create(stream, self._config.group, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    async def poll_once(self) -> int:
        """Take one batch (blocking up to ``block`` for new entries) and handle it; returns its size."""
        entries = await self._pending_entries()
        if not entries:
            entries = await self._new_entries()
        await asyncio.gather(*(self._handle_limited(e) for e in entries))
        return len(entries)

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set; a batch in progress is finished first."""
        await self.ensure_groups()
        backoff = 0.1
        while not stop.is_set():
            try:
                await self.poll_once()
                backoff = 0.1
            except (ConnectionError, OSError, aioredis.RedisError) as exc:
                # Redis or the network is down: nothing was acked, so nothing is
                # lost; say so loudly and try again with a growing pause.
                self.stats.poll_errors += 1
                self.stats.last_error = repr(exc)
                log.exception("polling %s failed; retrying in %.1fs", ", ".join(self._streams), backoff)
                await wait_or_stop(stop, backoff)
                backoff = min(backoff * 2, 5.0)

    # -- taking entries ------------------------------------------------------------

    async def _pending_entries(self) -> list[_Entry]:
        now = time.monotonic()
        out: list[_Entry] = []
        for stream, state in self._streams.items():
            if state.recover_own and now >= state.retry_at:
                own = await self._read(stream, "0")
                state.recover_own = bool(own)
                out.extend(await self._with_delivery_counts(stream, own))
            if now >= state.next_claim_at:
                claimed = await self._claim(stream, state)
                self.stats.reclaimed += len(claimed)
                out.extend(await self._with_delivery_counts(stream, claimed))
        return out

    async def _new_entries(self) -> list[_Entry]:
        # redis-py types stream replies loosely; their shape is documented by Redis.
        response: Any = await self._redis.xreadgroup(
            self._config.group,
            self._config.consumer,
            {stream: ">" for stream in self._streams},
            count=self._config.batch_size,
            block=max(1, int(self._config.block.total_seconds() * 1000)),
        )
        return [
            _Entry(_text(stream), _text(entry_id), fields, 1)
            for stream, messages in response or []
            for entry_id, fields in messages
        ]

    async def _read(self, stream: str, from_id: str) -> list[tuple[str, Mapping[str, str] | None]]:
        response: Any = await self._redis.xreadgroup(
            self._config.group, self._config.consumer, {stream: from_id}, count=self._config.batch_size
        )
        return [(_text(entry_id), fields) for _, messages in response or [] for entry_id, fields in messages]

    async def _claim(self, stream: str, state: _StreamState) -> list[tuple[str, Mapping[str, str] | None]]:
        response: Any = await self._redis.xautoclaim(
            stream,
            self._config.group,
            self._config.consumer,
            min_idle_time=int(self._config.claim_idle.total_seconds() * 1000),
            start_id=state.claim_cursor,
            count=self._config.batch_size,
        )
        cursor, messages = _text(response[0]), response[1]
        state.claim_cursor = cursor
        if cursor == "0-0":  # went round the whole pending list: rest until the next idle period
            state.next_claim_at = time.monotonic() + self._config.claim_idle.total_seconds() / 2
        return [(_text(entry_id), fields) for entry_id, fields in messages]

    async def _with_delivery_counts(
        self, stream: str, messages: list[tuple[str, Mapping[str, str] | None]]
    ) -> list[_Entry]:
        if not messages:
            return []
        ids = [entry_id for entry_id, _ in messages]
        pending: Any = await self._redis.xpending_range(
            stream, self._config.group, min=min(ids, key=_id_key), max=max(ids, key=_id_key), count=len(ids) * 4 + 100
        )
        counts = {_text(p["message_id"]): int(p["times_delivered"]) for p in pending}
        return [_Entry(stream, entry_id, fields, counts.get(entry_id, 1)) for entry_id, fields in messages]

    # -- handling one entry --------------------------------------------------------

    async def _handle_limited(self, entry: _Entry) -> None:
        async with self._limit:
            await self._handle(entry)

    async def _handle(self, entry: _Entry) -> None:
        state = self._streams[entry.stream]
        if entry.deliveries > self._config.max_deliveries:
            last = state.failures.pop(entry.entry_id, "unknown (the consumer may have crashed while handling it)")
            reason = f"delivered {entry.deliveries} times (max {self._config.max_deliveries}); last error: {last}"
            await self._dead_letter(entry, "max_deliveries", reason)
            return
        raw = raw_event(entry.fields)
        if raw is None:
            await self._dead_letter(entry, "malformed", "entry has no 'event' field (or was trimmed away)")
            return
        try:
            envelope = EventEnvelope.from_json(raw)
            await state.handler(envelope)
        except MalformedEvent as exc:
            await self._dead_letter(entry, "malformed", str(exc))
            return
        except Exception as exc:
            # Not swallowed: logged with its traceback, the entry stays pending
            # and is retried, and its last error rides along to the dead letter.
            self.stats.failed += 1
            self.stats.last_error = f"{type(exc).__name__}: {exc}"
            state.failures[entry.entry_id] = self.stats.last_error
            log.exception("handling %s %s failed (delivery %d)", entry.stream, entry.entry_id, entry.deliveries)
            if entry.deliveries >= self._config.max_deliveries:
                reason = f"failed {entry.deliveries} times (max {self._config.max_deliveries}): {self.stats.last_error}"
                await self._dead_letter(entry, "max_deliveries", reason)
            else:
                state.recover_own = True
                state.retry_at = time.monotonic() + self._config.retry_delay.total_seconds()
            return
        await self._redis.xack(entry.stream, self._config.group, entry.entry_id)
        state.failures.pop(entry.entry_id, None)
        self.stats.handled += 1

    async def _dead_letter(self, entry: _Entry, kind: str, reason: str) -> None:
        log.warning("dead-lettering %s %s: %s", entry.stream, entry.entry_id, reason)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xadd(
                self._config.dead_letter_stream,
                {
                    "event": raw_event(entry.fields) or "",
                    "stream": entry.stream,
                    "entry_id": entry.entry_id,
                    "group": self._config.group,
                    "consumer": self._config.consumer,
                    "deliveries": str(entry.deliveries),
                    "kind": kind,
                    "reason": reason,
                },
                maxlen=self._config.dead_letter_maxlen,
                approximate=True,
            )
            pipe.xack(entry.stream, self._config.group, entry.entry_id)
            await pipe.execute()
        self._streams[entry.stream].failures.pop(entry.entry_id, None)
        self.stats.dead_lettered += 1


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)

