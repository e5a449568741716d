"""A claim that could not be released because the database was lost is released in the background once it is back.

Without that, the key would answer 409 in flight until the claim went stale.
The outage is a proxy between the pool and PostgreSQL; the test waits on the
condition (the claim gone) with a deadline.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from deployments import idempotency
from domain.errors import ServiceUnavailable
from store import idempotency_repository as keys
from store.database import create_pool
from tests.api.conftest import _server_address, _through
from tests.faults import TcpProxy

SCOPE = "POST /api/v1/appointments"
DEADLINE_S = 30.0


async def _claim_exists(db: Any, key: str) -> bool:
    async with db.acquire() as conn:
        return bool(await conn.fetchval("SELECT count(*) FROM idempotency_keys WHERE key = $1", key))


async def test_a_claim_cut_off_by_an_outage_is_released_once_the_database_is_back(db: Any, database_url: str) -> None:
    key = f"release-{uuid.uuid4()}"
    async with db.acquire() as conn:
        claim = await keys.claim(conn, SCOPE, key, "body-hash", datetime.now(UTC), stale_after=timedelta(hours=1))
    assert claim.token is not None
    with TcpProxy(_server_address(database_url)) as proxy:
        pool = await create_pool(_through(database_url, proxy), min_size=1, max_size=2)
        try:
            back = proxy.outage(1.0)
            with pytest.raises(ServiceUnavailable):
                await idempotency._forget_unless_effect(pool, SCOPE, key, claim.token)
            assert await _claim_exists(db, key)
            deadline = time.monotonic() + DEADLINE_S
            while await _claim_exists(db, key):
                assert time.monotonic() < deadline, "the claim was not released after the outage"
                await asyncio.sleep(0.05)
            assert back.done()  # released by a retry after the outage, not before
        finally:
            await pool.close()
