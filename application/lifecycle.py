"""The lifecycle after booking as commands: check in, start, complete, no-show (issue 16).

Each step runs under the appointment's change lock (as cancel and reschedule
do), writes the new status, its time and the event in ONE transaction, and
only then tells the actors. Completing (early or not) and a no-show take the
appointment out of the live statuses: the database's no-overlap constraints
stop covering the row at once, and the technician's and bay's calendars free
its time right after the commit, so the rest of the slot is offered again. A
completed job stays on its technician's calendar as one of the day's jobs: the
daily cap counts it, in memory as in the database (a no-show is dropped).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import asyncpg

from application import booking_events as events
from application.access import unknown_appointment
from application.booking import BookingService
from application.idempotent_effects import record_effect
from application.transactions import in_transaction
from domain import lifecycle
from domain.appointment import Appointment
from domain.events import (
    AppointmentCheckedIn,
    AppointmentCompleted,
    AppointmentNoShow,
    AppointmentStarted,
    PublishedEvent,
)
from domain.time_windows import require_aware
from store import appointment_repository as appointments

Step = Callable[[Appointment, datetime], Appointment]
EventOf = Callable[[Appointment, str, str], PublishedEvent]


class LifecycleService:
    """Moves a booked appointment through check-in, start and completion, or records a no-show."""

    def __init__(self, booking: BookingService) -> None:
        self._booking = booking

    async def check_in(self, appointment_id: str, *, now: datetime | None = None) -> Appointment:
        return await self._step(appointment_id, lifecycle.checked_in, AppointmentCheckedIn, now)

    async def start(
        self, appointment_id: str, *, actual_start: datetime | None = None, now: datetime | None = None
    ) -> Appointment:
        return await self._step(
            appointment_id, lambda a, t: lifecycle.started(a, t, actual_start), AppointmentStarted, now
        )

    async def complete(
        self,
        appointment_id: str,
        *,
        actual_start: datetime | None = None,
        actual_end: datetime | None = None,
        notes: str | None = None,
        now: datetime | None = None,
    ) -> Appointment:
        """Complete the job; the time it leaves unused is free for others at once."""

        def step(appt: Appointment, at: datetime) -> Appointment:
            return lifecycle.completed(appt, at, actual_start=actual_start, actual_end=actual_end, notes=notes)

        return await self._step(appointment_id, step, AppointmentCompleted, now)

    async def no_show(self, appointment_id: str, *, now: datetime | None = None) -> Appointment:
        """Record that the vehicle did not come (only ``NO_SHOW_GRACE_MINUTES`` past its start); frees its time."""
        grace = self._booking.policy.no_show_grace
        return await self._step(appointment_id, lambda a, t: lifecycle.no_show(a, t, grace), AppointmentNoShow, now)

    async def _step(self, appointment_id: str, step: Step, event: EventOf, now: datetime | None) -> Appointment:
        booking = self._booking
        at = require_aware(now, "now") if now is not None else booking.clock.now()

        async def write(conn: asyncpg.Connection) -> Appointment:
            current = await appointments.get(conn, appointment_id, for_update=True)
            if current is None:
                raise unknown_appointment(appointment_id)
            after = step(current, at)  # InvalidTransition (409) or InvalidRequest (422): nothing written
            await appointments.record_progress(conn, after, at)
            names = await booking.catalog.names(after.technician_id, after.bay_id, conn)
            await events.record(conn, after.id, [event(after, *names)], at)
            await record_effect(conn, after.id)
            return after

        async with booking.changing(appointment_id):
            after = await in_transaction(booking.pool, write)
            if not after.status.blocks_time:
                await booking.free_resources(after, at)
        return after
