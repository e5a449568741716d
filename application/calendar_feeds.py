"""iCalendar renderings (RFC 5545) of an appointment and of a technician's schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from application.catalog_cache import CatalogCache
from application.transactions import read
from domain.appointment import Appointment
from domain.resources import Technician
from domain.time_windows import Interval
from integrations import invite_for, invite_ics, technician_feed
from integrations.ics import series_ics
from store import appointment_repository as appointments


class CalendarFeeds:
    """iCalendar renderings of appointments and technicians' schedules."""

    def __init__(self, catalog: CatalogCache, pool: asyncpg.Pool, organizer: str) -> None:
        self._catalog = catalog
        self._pool = pool
        self._organizer = organizer

    async def appointment_ics(self, appt: Appointment) -> bytes:
        shop = await self._catalog.shop(appt.shop_id)
        tech = await self._catalog.technician(appt.technician_id)
        service = await self._catalog.service_type(appt.service_type)
        return invite_ics(invite_for(appt, shop, tech, service.name), organizer_email=self._organizer)

    async def series_ics(self, series_id: str, occurrences: list[Appointment]) -> bytes:
        """A series' occurrences (every status: a cancelled one stays, cancelled), one event each."""
        invites = []
        for appt in occurrences:
            shop = await self._catalog.shop(appt.shop_id)
            tech = await self._catalog.technician(appt.technician_id)
            service = await self._catalog.service_type(appt.service_type)
            invites.append(invite_for(appt, shop, tech, service.name))
        recurrence = next((a.recurrence for a in occurrences if a.recurrence), None)
        name = f"Recurring appointment ({recurrence})" if recurrence else "Recurring appointment"
        return series_ics(invites, series_id=series_id, name=name)

    async def technician_feed(self, tech: Technician, now: datetime | None = None) -> bytes:
        """The technician's live appointments from 30 days back to 180 days ahead."""
        now = now or datetime.now(UTC)
        window = Interval(now - timedelta(days=30), now + timedelta(days=180))
        appts = await read(self._pool, lambda conn: appointments.list_live_for_technician(conn, tech.id, window, now))
        shop = await self._catalog.shop(tech.shop_id)
        invites = []
        for appt in appts:
            service = await self._catalog.service_type(appt.service_type)
            invites.append(invite_for(appt, shop, tech, service.name))
        return technician_feed(invites, name=tech.name, technician_id=tech.id)
