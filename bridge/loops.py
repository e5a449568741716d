"""Small helpers for the bridge's background loops."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime


async def wait_or_stop(stop: asyncio.Event, seconds: float, wake: asyncio.Event | None = None) -> None:
    """Pause up to ``seconds``; return early when ``stop`` (or ``wake``) is set. Clears ``wake``."""
    waiters = [asyncio.ensure_future(stop.wait())]
    if wake is not None:
        waiters.append(asyncio.ensure_future(wake.wait()))
    await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    for waiter in waiters:
        waiter.cancel()
    if wake is not None:
        wake.clear()


def utc_now() -> datetime:
    return datetime.now(UTC)
