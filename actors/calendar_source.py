"""Where resource actors rebuild their calendars from: the store (PostgreSQL has the last word).

A source is built from a DSN inside the actor's process (never at import
time) and opens a small pool lazily; a retired actor closes it.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Literal, Protocol

import asyncpg

from actors.bay_calendar import BayCalendar
from actors.calendar_shell import CalendarShell
from actors.technician_calendar import TechnicianCalendar
from application.ports import ResourceKind, ResourceRef
from application.transactions import connection
from domain.appointment import Appointment, AppointmentStatus
from domain.calendar import CalendarEntry
from domain.policy import SchedulingPolicy
from domain.time_windows import Interval
from store import appointment_repository as appointments
from store import catalog_repository as catalog
from store.database import create_pool


class CalendarSource(Protocol):
    """Loads resources and their live appointments and holds for a window."""

    async def load(self, ref: ResourceRef, window: Interval, now: datetime) -> CalendarShell | None: ...

    async def load_shop(self, shop_id: str, window: Interval, now: datetime) -> list[CalendarShell]: ...

    async def entries(self, ref: ResourceRef, window: Interval, now: datetime) -> list[CalendarEntry]: ...

    async def close(self) -> None: ...


def entry_of(appt: Appointment) -> CalendarEntry:
    """The calendar entry a stored appointment or hold stands for."""
    held = appt.hold_expires_at if appt.status is AppointmentStatus.HELD else None
    return CalendarEntry(appt.id, appt.interval, held_until=held, finished=appt.status is AppointmentStatus.COMPLETED)


class StoreCalendarSource:
    """Reads calendars through asyncpg from ``dsn``; at most ``max_connections`` per actor process."""

    def __init__(self, dsn: str, policy: SchedulingPolicy, *, max_connections: int = 2) -> None:
        self.dsn = dsn
        self.policy = policy
        self.max_connections = max_connections
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    async def _connection_pool(self) -> asyncpg.Pool:
        async with self._opening:
            if self._pool is None:
                # min_size=0: an idle actor keeps no connection open.
                self._pool = await create_pool(
                    self.dsn, min_size=0, max_size=self.max_connections, max_inactive_connection_lifetime=60
                )
            return self._pool

    async def load(self, ref: ResourceRef, window: Interval, now: datetime) -> CalendarShell | None:
        pool = await self._connection_pool()
        async with connection(pool) as conn:
            shop = await catalog.get_shop(conn, ref.shop_id)
            if shop is None:
                return None
            rids = await appointments.resource_rids_for_shop(conn, shop.id)
            rid = rids.get((ref.kind.value, ref.resource_id))
            if rid is None:
                return None
            if ref.kind is ResourceKind.TECHNICIAN:
                tech = await catalog.get_technician(conn, ref.resource_id)
                if tech is None:
                    return None
                rows = await appointments.list_calendar_rows(conn, "technician", tech.id, window, now)
                actor: CalendarShell = TechnicianCalendar(tech, shop, rid=rid, policy=self.policy, loaded=window)
            else:
                bay = await catalog.get_bay(conn, ref.resource_id)
                if bay is None:
                    return None
                rows = await appointments.list_calendar_rows(conn, "bay", bay.id, window, now)
                actor = BayCalendar(bay, shop, rid=rid, loaded=window)
        actor.calendar.replace_all(entry_of(a) for a in rows)
        return actor

    async def load_shop(self, shop_id: str, window: Interval, now: datetime) -> list[CalendarShell]:
        """Every active technician and bay of a shop, with their calendars, in one connection."""
        pool = await self._connection_pool()
        async with connection(pool) as conn:
            shop = await catalog.get_shop(conn, shop_id)
            if shop is None:
                return []
            rids = await appointments.resource_rids_for_shop(conn, shop_id)
            techs = await catalog.list_technicians(conn, shop_id=shop_id)
            bays = await catalog.list_bays(conn, shop_id)
            rows = await appointments.list_calendar_rows(conn, "shop", shop_id, window, now)
        actors: list[CalendarShell] = [
            TechnicianCalendar(t, shop, rid=rids[("technician", t.id)], policy=self.policy, loaded=window)
            for t in techs
        ]
        actors += [BayCalendar(b, shop, rid=rids[("bay", b.id)], loaded=window) for b in bays]
        per_ref: dict[ResourceRef, list[CalendarEntry]] = {a.ref: [] for a in actors}
        for appt in rows:
            for ref in (
                ResourceRef(ResourceKind.TECHNICIAN, shop_id, appt.technician_id),
                ResourceRef(ResourceKind.BAY, shop_id, appt.bay_id),
            ):
                if ref in per_ref:
                    per_ref[ref].append(entry_of(appt))
        for actor in actors:
            actor.calendar.replace_all(per_ref[actor.ref])
        return actors

    async def entries(self, ref: ResourceRef, window: Interval, now: datetime) -> list[CalendarEntry]:
        pool = await self._connection_pool()
        async with connection(pool) as conn:
            kind: Literal["technician", "bay"] = "technician" if ref.kind is ResourceKind.TECHNICIAN else "bay"
            rows = await appointments.list_calendar_rows(conn, kind, ref.resource_id, window, now)
        return [entry_of(a) for a in rows]

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()
