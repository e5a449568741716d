"""The booking queries: appointments from the store, free time from the calendars.

Commands live in ``application.booking``; the two share the store and the
calendar port, never state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from application.access import unknown_appointment
from application.catalog_cache import CatalogCache
from application.clock import Clock, SystemClock
from application.ports import ResourceDirectory, ResourceView
from application.transactions import read
from domain.appointment import Appointment, AppointmentStatus
from domain.invites import InviteDelivery
from domain.resources import Technician
from domain.time_windows import Interval, require_aware
from store import appointment_repository as appointments
from store.invite_repository import PostgresInviteRepository

_S = AppointmentStatus


@dataclass(frozen=True, slots=True)
class TechnicianSchedule:
    technician: Technician
    window: Interval
    appointments: list[Appointment]
    holds: list[Appointment]
    working: list[Interval]
    free: list[Interval]


@dataclass(frozen=True, slots=True)
class ShopBusy:
    """A shop's resources as their actors see them: busy and free time, jobs per local day."""

    shop_id: str
    window: Interval
    technicians: dict[str, ResourceView]
    bays: dict[str, ResourceView]


async def load_appointment(pool: asyncpg.Pool, appointment_id: str) -> Appointment:
    """The appointment as the store has it; ``NotFound`` when there is none."""
    appt = await read(pool, lambda conn: appointments.get(conn, appointment_id))
    if appt is None:
        raise unknown_appointment(appointment_id)
    return appt


class BookingQueries:
    """What a client or the slot search reads: appointments, a vehicle's time, schedules, calendar views."""

    def __init__(
        self, pool: asyncpg.Pool, directory: ResourceDirectory, catalog: CatalogCache, clock: Clock | None = None
    ) -> None:
        self.pool = pool
        self.directory = directory
        self.catalog = catalog
        self.clock: Clock = clock or SystemClock()

    def _now(self, now: datetime | None) -> datetime:
        return require_aware(now, "now") if now is not None else self.clock.now()

    async def get(self, appointment_id: str) -> Appointment:
        return await load_appointment(self.pool, appointment_id)

    async def vehicle_busy(self, vehicle_id: str, window: Interval, now: datetime) -> list[Interval]:
        """When the vehicle has live appointments or holds in ``window`` (the store: any shop)."""
        return await read(self.pool, lambda conn: appointments.vehicle_busy(conn, vehicle_id, window, now))

    async def list_by_vehicle(
        self,
        vehicle_id: str,
        limit: int = 50,
        offset: int = 0,
        *,
        shop_ids: Sequence[str] | None = None,
        booked_by: str | None = None,
    ) -> list[Appointment]:
        """A vehicle's appointments, newest first; ``shop_ids``/``booked_by`` narrow them to a caller's scope."""
        return await read(
            self.pool,
            lambda conn: appointments.list_by_vehicle(
                conn, vehicle_id, limit=limit, offset=offset, shop_ids=shop_ids, booked_by=booked_by
            ),
        )

    async def technician_schedule(
        self, technician_id: str, window: Interval, now: datetime | None = None
    ) -> TechnicianSchedule:
        """A technician's appointments and live holds (store), working and free time (actor)."""
        now = self._now(now)
        tech = await self.catalog.technician(technician_id)
        live = await read(self.pool, lambda conn: appointments.list_live_for_technician(conn, tech.id, window, now))
        view = await self.directory.technician(tech.shop_id, tech.id).view(window, now=now)
        return TechnicianSchedule(
            technician=tech,
            window=window,
            appointments=[a for a in live if a.status is not _S.HELD],
            holds=[a for a in live if a.status is _S.HELD],
            working=list(view.working),
            free=list(view.free),
        )

    async def resource_busy(
        self,
        shop_id: str,
        window: Interval,
        now: datetime | None = None,
        *,
        resources: tuple[Sequence[str], Sequence[str]] | None = None,
    ) -> ShopBusy:
        """Every technician's and bay's busy/free time and jobs per day, from the actors' memory.

        ``resources`` (technician ids, bay ids) spares the catalog read when the caller has them.
        """
        now = self._now(now)
        if resources is None:
            cat = await self.catalog.shop_catalog(shop_id)
            resources = [t.id for t in cat.technicians], [b.id for b in cat.bays]
        techs, bays = resources
        views = await asyncio.gather(
            *(self.directory.technician(shop_id, t).view(window, now=now) for t in techs),
            *(self.directory.bay(shop_id, b).view(window, now=now) for b in bays),
        )
        return ShopBusy(
            shop_id=shop_id,
            window=window,
            technicians={v.resource_id: v for v in views[: len(techs)]},
            bays={v.resource_id: v for v in views[len(techs) :]},
        )

    async def count_by_vehicle(
        self, vehicle_id: str, *, shop_ids: Sequence[str] | None = None, booked_by: str | None = None
    ) -> int:
        return await read(
            self.pool,
            lambda conn: appointments.count_by_vehicle(conn, vehicle_id, shop_ids=shop_ids, booked_by=booked_by),
        )

    async def invites(self, appointment_id: str) -> list[InviteDelivery]:
        """The delivery state of the appointment's calendar invites, one per provider."""
        return await PostgresInviteRepository(self.pool).for_appointment(appointment_id)

    async def ping(self) -> None:
        """Answers when the database does (``ServiceUnavailable`` when it does not)."""
        await read(self.pool, lambda conn: conn.fetchval("SELECT 1"))
