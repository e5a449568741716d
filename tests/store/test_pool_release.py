"""A pooled connection goes back without asyncpg's reset query: nothing of one use may reach the next."""

from __future__ import annotations

from typing import Any

import pytest

from store.database import create_pool


async def test_a_released_connection_carries_no_lock_transaction_or_setting(database_url: Any) -> None:
    pool = await create_pool(database_url, min_size=1, max_size=1)  # one connection: the next use is this one
    try:
        async with pool.acquire() as conn:
            backend = await conn.fetchval("SELECT pg_backend_pid()")
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(42, 7)")
                await conn.execute("SET LOCAL statement_timeout = '1234ms'")
        with pytest.raises(RuntimeError):
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(42, 8)")
                raise RuntimeError("the handler failed mid-transaction")
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT pg_backend_pid()") == backend  # the same session, reused
            assert not conn.is_in_transaction()
            held = await conn.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
            )
            assert held == 0
            assert await conn.fetchval("SHOW statement_timeout") == "0"
    finally:
        await pool.close()
