"""Helpers of the bridge tests: sending alerts, reading streams, waiting on conditions."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis

from bridge.event_bridge import BridgeOptions
from domain.events import EventEnvelope, EventType

FAST = BridgeOptions(
    consumer_name="bridge-test", block_s=0.05, claim_idle_s=0.5, retry_delay_s=0.02, relay_interval_s=0.02,
    reminders=False, stop_timeout_s=5,
)


def alert_envelope(alert_id: str, *, severity: str = "CRITICAL", component: str = "engine",
                   event_id: str | None = None, **extra: Any) -> EventEnvelope:
    data = {"alert_id": alert_id, "vehicle_id": f"V-{alert_id}", "severity": severity, "component": component,
            "shop_id": "shop_a", "description": "coolant temperature above limit", **extra}
    return EventEnvelope(event_id or str(uuid.uuid4()), EventType.ALERT_CREATED, datetime.now(UTC), "telematics",
                         data)


async def send(redis: aioredis.Redis, prefix: str, envelope: EventEnvelope) -> str:
    return str(await redis.xadd(f"{prefix}{envelope.event_type}", {"event": envelope.to_json()}))


async def send_raw(redis: aioredis.Redis, stream: str, fields: dict[str, str]) -> str:
    return str(await redis.xadd(stream, fields))  # type: ignore[arg-type]


async def events_on(redis: aioredis.Redis, stream: str) -> list[EventEnvelope]:
    return [EventEnvelope.from_json(f["event"]) for _, f in await redis.xrange(stream)]


async def dead_letters(redis: aioredis.Redis, prefix: str) -> list[dict[str, str]]:
    return [f for _, f in await redis.xrange(f"{prefix}dead-letter")]


async def pending_count(redis: aioredis.Redis, stream: str, group: str) -> int:
    info = await redis.xpending(stream, group)
    return int(info["pending"])


async def wait_for(condition: Callable[[], Awaitable[bool]], *, timeout: float = 30.0, what: str = "condition") -> None:
    """Poll ``condition`` until it holds; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


async def count(pool: Any, sql: str, *args: Any) -> int:
    async with pool.acquire() as conn:
        return int(await conn.fetchval(sql, *args))


def data_of(raw: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(raw)
    return doc
