"""What a booking reads from the catalog, cached per process: service types and resource names.

Both change rarely (a shop file is loaded, a technician renamed) and were read
on every booking; a few seconds' staleness is harmless here. A service type
decides durations and requirements only before the hold (the actors and the
database check everything that matters); names only label event payloads.
A code or id the cache does not know is read through at once, so a service
type added a moment ago is bookable at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import asyncpg

from actors.transactions import connection
from domain.catalog import ServiceType
from domain.errors import NotFound
from store import catalog_repository as catalog

DEFAULT_TTL_SECONDS = 10.0


class BookingCatalog:
    """Read-through cache with a time-to-live; ``clock`` (monotonic seconds) is injectable for tests."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pool = pool
        self._ttl = ttl_seconds
        self._clock = clock
        self._services: dict[str, tuple[float, ServiceType]] = {}
        self._names: dict[tuple[str, str], tuple[float, str]] = {}

    def invalidate(self) -> None:
        self._services.clear()
        self._names.clear()

    async def service_type(self, code: str) -> ServiceType:
        """The service type ``code``; ``NotFound`` if the catalog has none."""
        now = self._clock()
        hit = self._services.get(code)
        if hit is not None and hit[0] > now:
            return hit[1]
        async with connection(self._pool) as conn:
            service = await catalog.get_service_type(conn, code)
        if service is None:
            self._services.pop(code, None)
            raise NotFound(f"no service type {code!r}", service_type=code)
        self._services[code] = (now + self._ttl, service)
        return service

    def remember_names(self, technician: tuple[str, str], bay: tuple[str, str]) -> None:
        """``(id, name)`` pairs learnt elsewhere (a hold token carries its resource's name)."""
        expires = self._clock() + self._ttl
        self._names[("technician", technician[0])] = (expires, technician[1])
        self._names[("bay", bay[0])] = (expires, bay[1])

    async def names(
        self, technician_id: str, bay_id: str, conn: asyncpg.Connection | None = None
    ) -> tuple[str, str]:
        """Display names of a technician and a bay for event payloads (their ids if unknown).

        On a miss it reads through ``conn`` when given (a caller inside a
        transaction must not wait for a second pooled connection), else the pool.
        """
        now = self._clock()
        tech = self._names.get(("technician", technician_id))
        bay = self._names.get(("bay", bay_id))
        if tech is not None and bay is not None and tech[0] > now and bay[0] > now:
            return tech[1], bay[1]
        if conn is None:
            async with connection(self._pool) as own:
                t = await catalog.get_technician(own, technician_id)
                b = await catalog.get_bay(own, bay_id)
        else:
            t = await catalog.get_technician(conn, technician_id)
            b = await catalog.get_bay(conn, bay_id)
        names = (t.name if t else technician_id, b.name if b else bay_id)
        if t is not None and b is not None:
            self.remember_names((technician_id, names[0]), (bay_id, names[1]))
        return names
