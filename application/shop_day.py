"""One shop's day as a service advisor sees it: who works when, what is booked where, and the day's figures.

The shop-day page (``deployments.shop_day_page``) renders this; everything it
shows comes from here, read from the store as it is now (the page refreshes
itself). A date far from any data is simply an empty day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from application.catalog_cache import CatalogCache
from application.clock import Clock, SystemClock
from application.kpis import KpiService
from application.transactions import read
from domain.appointment import Appointment, AppointmentStatus
from domain.kpis import KpiReport
from domain.shop import Shop
from domain.time_windows import Interval, local_day_bounds
from store import appointment_repository as appointments


@dataclass(frozen=True, slots=True)
class Lane:
    """A technician or a bay on the page: its working time that day and the bookings on it."""

    resource_id: str
    name: str
    detail: str
    working: tuple[Interval, ...]
    bookings: tuple[DayBooking, ...]


@dataclass(frozen=True, slots=True)
class DayBooking:
    """An appointment (or live hold) on the day, with the buffer that follows it until ``blocked_until``."""

    appointment: Appointment
    blocked_until: datetime

    @property
    def is_hold(self) -> bool:
        return self.appointment.status is AppointmentStatus.HELD


@dataclass(frozen=True, slots=True)
class ShopDay:
    """Everything the page shows for one shop and one local date."""

    shop: Shop
    day: date
    window: Interval
    now: datetime
    technicians: tuple[Lane, ...]
    bays: tuple[Lane, ...]
    kpis: KpiReport
    shops: tuple[Shop, ...]
    """The shops the caller may switch to (the shop switcher)."""

    @property
    def bookings(self) -> tuple[DayBooking, ...]:
        return tuple(b for lane in self.technicians for b in lane.bookings)


class ShopDayService:
    """Reads a shop's day; the caller's scope is checked by ``application.authorized``."""

    def __init__(self, pool: asyncpg.Pool, catalog: CatalogCache, kpis: KpiService, clock: Clock | None = None) -> None:
        self._pool = pool
        self._catalog = catalog
        self._kpis = kpis
        self._clock: Clock = clock or SystemClock()

    async def day(self, shop_id: str, day: date, within_shops: frozenset[str] | None) -> ShopDay:
        """The shop's ``day`` (its local date); ``NotFound`` for an unknown shop."""
        cat = await self._catalog.shop_catalog(shop_id)
        shop = cat.shop
        window = local_day_bounds(day, shop.tz)
        now = self._clock.now()
        found = await read(self._pool, lambda conn: appointments.list_for_shop_day(conn, shop_id, window))
        live = [
            DayBooking(a, until)
            for a, until in found
            # a lapsed hold the sweeper has not released yet occupies no one
            if not (a.status is AppointmentStatus.HELD and a.hold_expires_at is not None and a.hold_expires_at <= now)
        ]
        technicians = tuple(
            Lane(
                t.id,
                t.name,
                t.specialization,
                tuple(t.working_time(shop, window)),
                tuple(b for b in live if b.appointment.technician_id == t.id),
            )
            for t in cat.technicians
            if t.active
        )
        bays = tuple(
            Lane(
                b.id,
                b.name,
                ", ".join(sorted(b.equipment)),
                tuple(b.open_time(shop, window)),
                tuple(x for x in live if x.appointment.bay_id == b.id),
            )
            for b in cat.bays
            if b.active
        )
        kpis = await self._kpis.report([shop_id], window)
        shops = tuple(s for s in await self._catalog.shops() if within_shops is None or s.id in within_shops)
        return ShopDay(shop, day, window, now, technicians, bays, kpis, shops)
