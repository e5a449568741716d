"""A per-process, read-through cache of the slowly changing catalog.

Shops, technicians, bays, service types and parts change rarely (a shop file
is loaded, a technician is added) and are read on every slot search and every
answer; caching them for a few seconds keeps those reads off the database. The
actors' calendars, which change with every booking, are never cached here.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import asyncpg

from application.access import unknown_technician
from application.transactions import read
from domain.catalog import ServiceType
from domain.errors import InvalidRequest, NotFound
from domain.parts import PartStock
from domain.resources import ServiceBay, Technician
from domain.shop import Shop
from store import catalog_repository as catalog

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ShopCatalog:
    """One shop and everything the solver needs to know about it."""

    shop: Shop
    technicians: tuple[Technician, ...]
    bays: tuple[ServiceBay, ...]
    parts: dict[str, PartStock]


class CatalogCache:
    """Read-through cache with a time-to-live; ``clock`` is injectable for tests."""

    def __init__(
        self, pool: asyncpg.Pool, *, ttl_seconds: float = 10.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._pool = pool
        self._ttl = ttl_seconds
        self._clock = clock
        self._entries: dict[tuple[str, str], tuple[float, Any]] = {}

    def invalidate(self) -> None:
        self._entries.clear()

    async def _cached(
        self,
        key: tuple[str, str],
        load: Callable[[asyncpg.Connection], Awaitable[T]],
        conn: asyncpg.Connection | None = None,
    ) -> T:
        """The cached value, or ``load`` it through ``conn`` (a caller inside a
        transaction must not wait for a second pooled connection) or the pool."""
        hit = self._entries.get(key)
        now = self._clock()
        if hit is not None and hit[0] > now:
            return hit[1]  # type: ignore[no-any-return]
        if conn is not None:
            value = await load(conn)
        else:
            value = await read(self._pool, load)
        self._entries[key] = (now + self._ttl, value)
        return value

    async def shops(self) -> list[Shop]:
        return await self._cached(("shops", ""), catalog.list_shops)

    async def shop(self, shop_id: str) -> Shop:
        for shop in await self.shops():
            if shop.id == shop_id:
                return shop
        raise NotFound(f"no shop {shop_id!r}", shop_id=shop_id)

    async def shop_catalog(self, shop_id: str) -> ShopCatalog:
        async def load(conn: asyncpg.Connection) -> ShopCatalog:
            shop = await catalog.get_shop(conn, shop_id)
            if shop is None:
                raise NotFound(f"no shop {shop_id!r}", shop_id=shop_id)
            techs = await catalog.list_technicians(conn, shop_id=shop_id)
            bays = await catalog.list_bays(conn, shop_id)
            parts = await catalog.parts_stock(conn, shop_id)
            return ShopCatalog(shop, tuple(techs), tuple(bays), parts)

        return await self._cached(("shop_catalog", shop_id), load)

    async def technician(self, technician_id: str, conn: asyncpg.Connection | None = None) -> Technician:
        async def load(conn: asyncpg.Connection) -> Technician | None:
            return await catalog.get_technician(conn, technician_id)

        tech = await self._cached(("technician", technician_id), load, conn)
        if tech is None:
            raise unknown_technician(technician_id)
        return tech

    async def bay(self, bay_id: str, conn: asyncpg.Connection | None = None) -> ServiceBay:
        async def load(conn: asyncpg.Connection) -> ServiceBay | None:
            return await catalog.get_bay(conn, bay_id)

        bay = await self._cached(("bay", bay_id), load, conn)
        if bay is None:
            raise NotFound(f"no service bay {bay_id!r}", bay_id=bay_id)
        return bay

    async def list_technicians(
        self,
        *,
        shop_id: str | None,
        skill: str | None,
        limit: int,
        offset: int,
        within_shops: Collection[str] | None = None,
    ) -> tuple[list[Technician], int]:
        """A page of technicians (read through, not cached: it is paginated) and the total.

        ``within_shops`` limits them to a caller's shops (None: every shop).
        """
        shops = None if within_shops is None else sorted(within_shops)

        async def load(conn: asyncpg.Connection) -> tuple[list[Technician], int]:
            items = await catalog.list_technicians(
                conn, shop_id=shop_id, skill=skill, limit=limit, offset=offset, within_shops=shops
            )
            return items, await catalog.count_technicians(conn, shop_id=shop_id, skill=skill, within_shops=shops)

        return await read(self._pool, load)

    async def names(self, technician_id: str, bay_id: str, conn: asyncpg.Connection | None = None) -> tuple[str, str]:
        """Display names of a technician and a bay for event payloads (their ids if unknown)."""
        try:
            tech = (await self.technician(technician_id, conn)).name
        except NotFound:
            tech = technician_id
        try:
            bay = (await self.bay(bay_id, conn)).name
        except NotFound:
            bay = bay_id
        return tech, bay

    async def service_and_duration(self, code: str, requested: timedelta | None) -> tuple[ServiceType, timedelta]:
        """The service type and a job's duration: the requested one if inside its range, else its default."""
        service = await self.service_type(code)
        try:
            return service, service.duration_for(requested)
        except ValueError as exc:
            raise InvalidRequest(str(exc), field="estimated_duration_hours") from None

    async def service_types(self) -> list[ServiceType]:
        """Every service type, by code."""
        return list(await self._cached(("service_types", ""), catalog.list_service_types))

    async def service_type(self, code: str) -> ServiceType:
        """The service type ``code``; a code unknown to the cache is read through at once."""
        types = await self._cached(("service_types", ""), catalog.list_service_types)
        if all(st.code != code for st in types):
            self._entries.pop(("service_types", ""), None)  # added a moment ago, perhaps
            types = await self._cached(("service_types", ""), catalog.list_service_types)
        for st in types:
            if st.code == code:
                return st
        known = ", ".join(sorted(t.code for t in types))
        raise InvalidRequest(f"unknown service_type {code!r}; known: {known}", field="service_type")
