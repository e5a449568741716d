"""Fixtures of the bridge tests: a Redis client, a stream prefix of the test's own, settings."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from config.settings import Settings


@pytest.fixture
def stream_prefix() -> str:
    """Unique per test: tests never see each other's streams or groups."""
    return f"test-{uuid.uuid4().hex[:10]}:"


@pytest.fixture
async def redis(redis_url: str, stream_prefix: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    keys = [k async for k in client.scan_iter(match=f"{stream_prefix}*", count=1000)]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture
def settings(database_url: str, redis_url: str, stream_prefix: str) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        stream_prefix=stream_prefix,
        consumer_group="scheduling-tests",
        event_max_deliveries=3,
        auto_book_critical_alerts=True,
        auto_book_within_days=7,
        send_reminder_hours_before=24,
        _env_file=None,  # type: ignore[call-arg]
    )

