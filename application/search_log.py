"""The record of slot searches behind the booking-success and recommended-slot KPIs.

Recording never stands in the way of the search or the booking it measures:
a search that cannot be recorded is answered without an id, a booking that
cannot be linked stays booked (both are logged). The link is written just
after the booking commits, so a crash in between loses one KPI sample,
never a booking.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import timedelta

import asyncpg

from application.clock import Clock, SystemClock
from application.slot_search import SlotSearch, SlotSearchResult
from application.transactions import in_transaction, one_statement, read
from domain.appointment import Appointment
from domain.kpis import SearchOutcome
from domain.time_windows import Interval
from store import search_repository as searches
from store.search_repository import SearchRecord

log = logging.getLogger(__name__)


class SearchLog:
    """Records searches, links bookings to them, reads their outcomes, and purges old ones."""

    def __init__(self, pool: asyncpg.Pool, clock: Clock | None = None) -> None:
        self._pool = pool
        self._clock: Clock = clock or SystemClock()

    async def record(self, principal: str, search: SlotSearch, result: SlotSearchResult) -> str | None:
        """Store the search and its rank-1 slot; its id (None when it could not be stored)."""
        first = result.slots[0] if result.slots else None
        searched = tuple(result.shops_searched)
        shop_id = first.shop_id if first else (searched[0] if len(searched) == 1 else None)
        record = SearchRecord(
            id=str(uuid.uuid4()),
            searched_at=self._clock.now(),
            principal=principal,
            vehicle_id=search.vehicle_id,
            service_type=search.service_type,
            shop_id=shop_id,
            shops_searched=searched,
            slot_count=len(result.slots),
            first_start=first.interval.start if first else None,
            first_technician_id=first.technician_id if first else None,
            first_bay_id=first.bay_id if first else None,
        )
        try:
            await one_statement(self._pool, lambda conn: searches.insert(conn, record))
        except Exception:  # the answer stands without an id: a KPI sample lost, not a search
            log.warning("slot search not recorded", exc_info=True)
            return None
        return record.id

    async def link(self, appt: Appointment, principal: str, search_id: str | None) -> str | None:
        """Name the search ``appt`` followed (the echoed id, else the caller's latest matching one)."""
        try:
            return await one_statement(
                self._pool,
                lambda conn: searches.link_booking(
                    conn,
                    appt.id,
                    principal=principal,
                    vehicle_id=appt.vehicle_id,
                    service_type=appt.service_type,
                    booked_at=self._clock.now(),
                    search_id=search_id,
                ),
            )
        except Exception:  # the booking committed and stands; only its KPI link is lost
            log.warning("booking %s not linked to a search", appt.id, exc_info=True)
            return None

    async def outcomes(self, window: Interval, shop_ids: Sequence[str] | None) -> list[SearchOutcome]:
        return await read(self._pool, lambda conn: searches.outcomes(conn, window, shop_ids))

    async def purge(self, retention: timedelta) -> int:
        """Drop searches older than ``retention``; how many went."""
        before = self._clock.now() - retention
        return await in_transaction(self._pool, lambda conn: searches.purge(conn, before))
