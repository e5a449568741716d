"""One asyncio lock per key, alive only while someone holds or waits for it.

The booking service runs the changes of one appointment (confirm, cancel,
release, reschedule) one at a time in its process: each is "transaction, then
tell the actors", and two of them interleaved could tell the actors in the
opposite order of their commits (a cancel's release landing before a
concurrent confirm's settle leaves a phantom entry in memory). The database
stays correct either way; this keeps the actors' memory equal to it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class KeyedLocks:
    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)
