"""Reminders: ``appointment.reminder`` SEND_REMINDER_HOURS_BEFORE before each scheduled appointment.

Derived from the database on every tick, not from in-memory timers: the
appointments that are ``scheduled``, start within the lead time, and have no
row in ``reminders_sent`` for their current start. For each, one transaction
claims ``(appointment_id, start_at)`` in ``reminders_sent`` and writes the
reminder to the outbox, so a restart neither loses a reminder (it is derived
again) nor repeats one (the claim is there), and the relay publishes it like
any other event. A cancelled appointment is no longer ``scheduled``; a
rescheduled one is looked at its new start, so neither gets a stale reminder.
The appointments are read ``FOR SHARE``: a cancellation committing at the same
moment waits for this transaction or is seen by it, never half of each.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from bridge.db import transaction
from bridge.loops import utc_now, wait_or_stop
from domain.events import AppointmentReminder, EventEnvelope
from store import event_repository as events
from store import outbox_repository as outbox

log = logging.getLogger(__name__)


@dataclass(slots=True)
class ReminderStats:
    sent: int = 0
    ticks: int = 0
    errors: int = 0
    last_error: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {"sent": self.sent, "ticks": self.ticks, "errors": self.errors, "last_error": self.last_error}


class ReminderScheduler:
    """Writes due reminders to the outbox, once per appointment start."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        lead: timedelta,
        interval_s: float = 30.0,
        batch_size: int = 500,
        clock: Callable[[], datetime] = utc_now,
        on_outbox_written: Callable[[], None] = lambda: None,
    ) -> None:
        self._pool = pool
        self._lead = lead
        self._interval_s = interval_s
        self._batch_size = batch_size
        self._clock = clock
        self._on_outbox_written = on_outbox_written
        self.stats = ReminderStats()

    async def tick(self, now: datetime | None = None) -> int:
        """Write every reminder due at ``now``; returns how many were written."""
        now = now or self._clock()
        sent = 0
        while True:
            async with transaction(self._pool) as conn:
                due = await events.due_reminders(conn, now, self._lead, limit=self._batch_size)
                for appt in due:
                    envelope = EventEnvelope.of(AppointmentReminder(appt, starts_in=appt.start - now), now)
                    if await events.record_reminder(conn, appt.id, appt.start, envelope.event_id, now):
                        await outbox.add(conn, envelope, appt.id)
                        sent += 1
            if len(due) < self._batch_size:
                break
        self.stats.ticks += 1
        self.stats.sent += sent
        if sent:
            self._on_outbox_written()
        return sent

    async def run(self, stop: asyncio.Event) -> None:
        """Tick every ``interval_s`` until ``stop`` is set."""
        while not stop.is_set():
            try:
                await self.tick()
            except (OSError, asyncpg.PostgresError) as exc:
                # The transaction rolled back, so the reminders are derived again next tick.
                self.stats.errors += 1
                self.stats.last_error = repr(exc)
                log.exception("writing reminders failed; retrying next tick")
            await wait_or_stop(stop, self._interval_s)
