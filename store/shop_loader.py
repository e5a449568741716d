"""Writing a shop file's contents to the store, and seeding the demo chain.

Everything in a file is written in one transaction: a file either loads whole
or not at all. Rows are upserted by id, so loading the same file twice changes
nothing; a load never deletes what the file leaves out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from typing import cast

import asyncpg

from store import catalog_repository as catalog
from store.database import connect
from store.shop_file import ShopData, parse_shop_text

DEMO_CHAIN_RESOURCE = ("demo", "demo_chain.yaml")
"""The demo chain's path inside the ``store`` package (shipped as package data)."""

# Any fixed 64-bit number, distinct from the migration lock: held (for one
# transaction) while deciding whether to seed, so concurrent starters seed once.
_SEED_LOCK = 72_157_004_200_862


@dataclass(frozen=True, slots=True)
class LoadSummary:
    """What a load wrote (inserted or updated)."""

    shop_ids: tuple[str, ...]
    technicians: int
    bays: int
    service_types: int
    parts: int

    @property
    def shops(self) -> int:
        return len(self.shop_ids)

    def __str__(self) -> str:
        return (
            f"{self.shops} shops ({', '.join(self.shop_ids)}), {self.technicians} technicians, "
            f"{self.bays} bays, {self.service_types} service types, {self.parts} parts"
        )


async def load_shops(target: asyncpg.Connection | asyncpg.Pool, data: ShopData) -> LoadSummary:
    """Upsert everything in ``data`` in one transaction (a savepoint if one is already open)."""
    async with _connection(target) as conn, conn.transaction():
        return await _write(conn, data)


async def seed_demo_if_empty(target: str | asyncpg.Connection | asyncpg.Pool, *, default_bay_count: int = 8) -> bool:
    """Load the demo chain if the database has no shops; True if this call loaded it.

    Safe when several processes start at once: an advisory transaction lock
    serializes the check and the load, so exactly one of them seeds.
    """
    data = parse_demo_chain(default_bay_count=default_bay_count)
    async with _connection(target) as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _SEED_LOCK)
        if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM shops)"):
            return False
        await _write(conn, data)
        return True


def demo_chain_text() -> str:
    """The demo chain file's text, from the installed package."""
    return resources.files("store").joinpath(*DEMO_CHAIN_RESOURCE).read_text(encoding="utf-8")


def parse_demo_chain(*, default_bay_count: int = 8) -> ShopData:
    return parse_shop_text(demo_chain_text(), source="store/demo/demo_chain.yaml", default_bay_count=default_bay_count)


async def _write(conn: asyncpg.Connection, data: ShopData) -> LoadSummary:
    # Referenced rows first: service types and shops, then what belongs to a shop.
    for service_type in data.service_types:
        await catalog.save_service_type(conn, service_type)
    for shop in data.shops:
        await catalog.save_shop(conn, shop)
    for technician in data.technicians:
        await catalog.save_technician(conn, technician)
    for bay in data.bays:
        await catalog.save_bay(conn, bay)
    for part in data.parts:
        await catalog.save_part(conn, part)
    return LoadSummary(
        shop_ids=tuple(s.id for s in data.shops),
        technicians=len(data.technicians),
        bays=len(data.bays),
        service_types=len(data.service_types),
        parts=len(data.parts),
    )


@asynccontextmanager
async def _connection(target: str | asyncpg.Connection | asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    if isinstance(target, str):
        conn = await connect(target)
        try:
            yield conn
        finally:
            await conn.close()
    elif isinstance(target, asyncpg.Pool):
        async with target.acquire() as pooled:
            yield cast(asyncpg.Connection, pooled)  # a proxy with the Connection API
    else:
        yield target
