"""The success metrics of a shop or of the chain over a window, from the database (issue 16).

Reads the shops' technicians and bays (their working time in the window) and
every appointment booked to start in it, and hands them to
``domain.kpis.kpi_report``, which does the arithmetic. No figure is cached:
each call reads the store as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg

from application.catalog_cache import CatalogCache
from application.search_log import SearchLog
from application.transactions import read
from domain.errors import InvalidRequest
from domain.kpis import KpiReport, Resource, kpi_report
from domain.time_windows import Interval, require_aware
from store import appointment_repository as appointments

MAX_WINDOW = timedelta(days=366)
"""At most a year (a leap year's, so that "this date to the same date next year" fits)."""


def kpi_window(start: datetime, end: datetime) -> Interval:
    """The window ``[from, to)``; ``InvalidRequest`` (422) when out of order, naive, or longer than a year."""
    try:
        start, end = require_aware(start, "from"), require_aware(end, "to")
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from None
    if end <= start:
        raise InvalidRequest("`to` must be after `from`", field="to")
    if end - start > MAX_WINDOW:
        raise InvalidRequest(f"the window may span at most {MAX_WINDOW.days} days", field="to")
    return Interval(start, end)


class KpiService:
    """Computes ``KpiReport``s for shops (each one a known shop: ``NotFound`` otherwise)."""

    def __init__(self, pool: asyncpg.Pool, catalog: CatalogCache, searches: SearchLog | None = None) -> None:
        self._pool = pool
        self._catalog = catalog
        self._searches = searches or SearchLog(pool)

    async def report(self, shop_ids: Sequence[str], window: Interval, *, every_search: bool = False) -> KpiReport:
        """The shops' figures; with ``every_search``, searches that named no shop count too (the whole chain)."""
        technicians: list[Resource] = []
        bays: list[Resource] = []
        for shop_id in shop_ids:
            cat = await self._catalog.shop_catalog(shop_id)  # NotFound: 404
            technicians += [
                Resource(t.id, t.name, t.working_time(cat.shop, window)) for t in cat.technicians if t.active
            ]
            bays += [
                Resource(b.id, b.name, b.open_time(cat.shop, window))
                for b in cat.bays
                if b.active and b.van_of is None  # a van is no bay of the shop's
            ]
        found = await read(self._pool, lambda conn: appointments.list_starting_in(conn, shop_ids, window))
        outcomes = await self._searches.outcomes(window, None if every_search else shop_ids)
        return kpi_report(window, shop_ids, found, technicians, bays, outcomes)

    async def chain(self, window: Interval, within_shops: frozenset[str] | None = None) -> KpiReport:
        """Every shop of the chain (or of ``within_shops``, a caller's scope) together."""
        shops = [s.id for s in await self._catalog.shops() if within_shops is None or s.id in within_shops]
        return await self.report(shops, window, every_search=within_shops is None)
