"""Pool helpers that hand repositories the ``asyncpg.Connection`` they are typed for."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import cast

import asyncpg


@asynccontextmanager
async def connection(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection, outside any transaction."""
    async with pool.acquire() as pooled:
        yield cast(asyncpg.Connection, pooled)  # a proxy with the Connection API


@asynccontextmanager
async def transaction(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection inside a transaction that commits when the block ends without error."""
    async with pool.acquire() as pooled, pooled.transaction():
        yield cast(asyncpg.Connection, pooled)
