"""A job in progress runs long: extend it and replan what it now collides with (issue 14).

``OverrunService.extend`` lengthens an ``in_progress`` appointment by a number
of minutes. The technician's later jobs that would start within the buffer of
the new end, and the bay's later jobs that would start before it, are moved
first, each as a technician's time off moves them (``application.time_off``):
to another technician with the skill free at exactly that time (and another
equipped bay when the bay is what collides), else to their best other slot,
else reported unplaced and left where they are (the extension then waits for
the shop). The job in progress never moves; its end moves only once nothing
collides, in one statement the exclusion constraints check.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import asyncpg

from application.booking import BookingService
from application.booking_queries import BookingQueries, load_appointment
from application.catalog_cache import CatalogCache
from application.reassigned_booking import apply_moves
from application.reassignment import PlannedMove
from application.slot_search import SlotFinder
from application.time_off import Change, TimeOffService
from application.transactions import in_transaction, read
from domain.appointment import Appointment, AppointmentStatus
from domain.errors import DomainError, InvalidRequest, InvalidTransition
from domain.time_windows import Interval, require_aware
from store import appointment_repository as appointments

MAX_EXTENSION = timedelta(hours=8)


@dataclass(frozen=True, slots=True)
class OverrunPlan:
    """The extended appointment (or the one as it was, when something could not be moved) and the changes."""

    appointment: Appointment
    extended: bool
    changes: tuple[Change, ...]


class OverrunService:
    """Extends jobs in progress, moving what they collide with."""

    def __init__(
        self,
        booking: BookingService,
        queries: BookingQueries,
        finder: SlotFinder,
        catalog: CatalogCache,
        time_off: TimeOffService,
    ) -> None:
        self._booking = booking
        self._queries = queries
        self._finder = finder
        self._catalog = catalog
        self._time_off = time_off

    async def extend(self, appointment_id: str, minutes: int, now: datetime | None = None) -> OverrunPlan:
        now = require_aware(now, "now") if now is not None else self._booking.clock.now()
        extra = timedelta(minutes=minutes)
        if not timedelta(minutes=1) <= extra <= MAX_EXTENSION:
            raise InvalidRequest(f"minutes must lie between 1 and {MAX_EXTENSION.seconds // 60}", field="minutes")
        appt = await load_appointment(self._booking.pool, appointment_id)
        if appt.status is not AppointmentStatus.IN_PROGRESS:
            raise InvalidTransition(
                f"appointment {appt.id} is {appt.status.value}: only a job in progress can be extended",
                current=appt.status.value,
            )
        new_end = appt.end + extra
        buffer = self._booking.policy.buffer
        window = Interval(appt.end, new_end + buffer)
        live = await read(
            self._booking.pool,
            lambda conn: appointments.list_for_shop(conn, appt.shop_id, Interval(appt.start, window.end), now),
        )
        collided = sorted(
            (
                a
                for a in live
                if a.id != appt.id
                and a.start >= appt.end
                and (
                    (a.technician_id == appt.technician_id and a.start < new_end + buffer)
                    or (a.bay_id == appt.bay_id and a.start < new_end)
                )
            ),
            key=lambda a: a.start,
        )
        why = f"{appt.id} (in progress with {appt.technician_id} in {appt.bay_id}) runs {minutes} minutes longer"
        changes = [await self._move(a, appt, new_end, why, now) for a in collided]
        if any(c.outcome in ("kept", "unplaced") for c in changes):
            return OverrunPlan(appt, False, tuple(changes))
        longer = replace(appt, interval=Interval(appt.start, new_end), sequence=appt.sequence + 1)

        async def write(conn: asyncpg.Connection) -> None:
            await appointments.extend(conn, appt.id, new_end, buffer, now)

        await in_transaction(self._booking.pool, write)
        await self._booking.directory.technician(appt.shop_id, appt.technician_id).reload(now=now)
        await self._booking.directory.bay(appt.shop_id, appt.bay_id).reload(now=now)
        return OverrunPlan(longer, True, tuple(changes))

    async def _move(self, a: Appointment, overrun: Appointment, new_end: datetime, why: str, now: datetime) -> Change:
        """Another technician (and bay, if the bay collides) at the same time, else its best other slot."""
        before = (a.technician_id, a.bay_id, a.start)
        if a.status is not AppointmentStatus.SCHEDULED:
            return Change(a.id, "kept", f"{why}; it is {a.status.value} and cannot move", before)
        tech_hit = a.technician_id == overrun.technician_id
        bay_hit = a.bay_id == overrun.bay_id and a.start < new_end
        tech = await self._time_off.free_colleague(a, overrun.technician_id, now) if tech_hit else a.technician_id
        bay = await self._free_bay(a, overrun.bay_id, now) if bay_hit else a.bay_id
        if tech is not None and bay is not None:
            try:
                await apply_moves(
                    self._booking, a.shop_id, [PlannedMove(a.id, a.sequence, a.technician_id, tech, a.bay_id, bay)], now
                )
                return Change(a.id, "reassigned", f"{why}; {tech} / {bay} are free then", before, (tech, bay, a.start))
            except DomainError:
                pass  # taken meanwhile: a new slot
        return await self._time_off.reschedule_elsewhere(a, overrun.technician_id, why, now, before)

    async def _free_bay(self, a: Appointment, busy_bay: str, now: datetime) -> str | None:
        service = await self._catalog.service_type(a.service_type)
        cat = await self._catalog.shop_catalog(a.shop_id)
        views = await self._queries.resource_busy(a.shop_id, a.interval, now)
        for bay in cat.bays:
            view = views.bays.get(bay.id)
            if (
                bay.id == busy_bay
                or not bay.active
                or bay.van_of is not None
                or not bay.has_equipment(service.required_equipment)
                or view is None
            ):
                continue
            if any(iv.start <= a.start and a.end <= iv.end for iv in view.free):
                return bay.id
        return None
