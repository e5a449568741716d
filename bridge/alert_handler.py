"""Turns incoming alerts and agent decisions into bookings, exactly one effect per alert.

For each event: parse it (a malformed payload raises ``MalformedEvent`` and is
dead-lettered by the consumer), plan it (``domain.alert_mapping``), and look
up its dedupe key (``alert:<alert_id>``) in ``processed_events``. An alert
already handled is done. Otherwise the booker books it; the booking service
commits the appointment in its own transaction under the unique source_ref
``alert:<alert_id>``, which is the dedupe inside that transaction (a second
booking with the same source_ref returns the first). Then one transaction
records the outcome in ``processed_events`` and, for could-not-book, writes
``appointment.not_booked`` to the outbox, so that event, too, is published
exactly once however often the alert is delivered. Only then does the
consumer ack the entry.

A thin ``alert.created`` (only an id, or no vehicle, severity or component)
is completed from the Alert Service first, when one is configured. If it
cannot answer, the handler raises: the entry stays un-acked and is retried
like any transient failure, then dead-lettered; it is never dropped, and never
booked on what the event alone would guess.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from bridge.db import connection, transaction
from bridge.ports import AlertDetailsSource, AutoBooker, BookingOutcome
from domain.alert_mapping import (
    VehicleAlert,
    alert_id_of,
    job_for,
    needs_details,
    parse_agent_decision,
    parse_alert,
    plan_booking,
    with_details,
)
from domain.errors import DomainError, HoldExpired, SlotTaken
from domain.events import AppointmentNotBooked, EventEnvelope, EventType, MalformedEvent
from store import event_repository as events
from store import outbox_repository as outbox
from store.event_repository import Outcome, ProcessedEvent

log = logging.getLogger(__name__)

# Refusals that a retry may turn into a booking (someone else took the slot
# between search and book): they propagate, so the alert is delivered again.
RETRYABLE_REFUSALS: tuple[type[DomainError], ...] = (SlotTaken, HoldExpired)


@dataclass(slots=True)
class HandlerStats:
    booked: int = 0
    not_booked: int = 0
    ignored: int = 0
    duplicates: int = 0
    enriched: int = 0
    """Thin alerts completed from the Alert Service."""

    def as_dict(self) -> dict[str, int]:
        return {
            "booked": self.booked,
            "not_booked": self.not_booked,
            "ignored": self.ignored,
            "duplicates": self.duplicates,
            "enriched": self.enriched,
        }


class AlertHandler:
    """Handles ``alert.created`` and ``agent.decision.made`` envelopes."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        booker: AutoBooker,
        *,
        auto_book: bool,
        within_days: int,
        clock: Callable[[], datetime],
        on_outbox_written: Callable[[], None] = lambda: None,
        alert_details: AlertDetailsSource | None = None,
    ) -> None:
        self._pool = pool
        self._details = alert_details
        self._booker = booker
        self._auto_book = auto_book
        self._within_days = within_days
        self._clock = clock
        self._on_outbox_written = on_outbox_written
        # One alert at a time per dedupe key in this process, so a burst of
        # duplicates asks the booker once; across processes the source_ref does it.
        self._in_flight: dict[str, asyncio.Lock] = {}
        self.stats = HandlerStats()

    async def handle(self, envelope: EventEnvelope) -> Outcome:
        """Do the event's effect and commit it; raises (un-acked) on a transient failure."""
        thin = envelope.event_type == EventType.ALERT_CREATED and needs_details(envelope.data)
        if thin and self._details is not None:
            done = await self._already_processed(f"alert:{alert_id_of(envelope.data)}")
            if done is not None:  # a duplicate: no need to ask the Alert Service again
                self.stats.duplicates += 1
                return done.outcome
            alert: VehicleAlert | None = await self._enriched(self._details, envelope)
        else:
            # Without an Alert Service a thin alert is parsed as it comes, as before: no vehicle or
            # severity is malformed (dead-lettered), no component is a diagnostic.
            alert = self._parse(envelope)
        if alert is None:
            self.stats.ignored += 1
            return Outcome.IGNORED
        lock = self._in_flight.setdefault(alert.dedupe_key, asyncio.Lock())
        try:
            async with lock:
                return await self._handle_alert(envelope, alert)
        finally:
            if not lock.locked() and self._in_flight.get(alert.dedupe_key) is lock:
                del self._in_flight[alert.dedupe_key]

    def _parse(self, envelope: EventEnvelope) -> VehicleAlert | None:
        if envelope.event_type == EventType.ALERT_CREATED:
            return parse_alert(envelope.data)
        if envelope.event_type == EventType.AGENT_DECISION_MADE:
            return parse_agent_decision(envelope.data, envelope.event_id)
        raise MalformedEvent(f"unexpected event type {envelope.event_type!r} on an alert stream")

    async def _enriched(self, source: AlertDetailsSource, envelope: EventEnvelope) -> VehicleAlert:
        """A thin alert completed from the Alert Service; NeighbourUnavailable (a retry) if it cannot say."""
        details = await source.alert_details(alert_id_of(envelope.data))
        self.stats.enriched += 1
        return parse_alert(with_details(envelope.data, details))

    async def _already_processed(self, dedupe_key: str) -> ProcessedEvent | None:
        async with connection(self._pool) as conn:
            return await events.get_processed(conn, dedupe_key)

    async def _handle_alert(self, envelope: EventEnvelope, alert: VehicleAlert) -> Outcome:
        done = await self._already_processed(alert.dedupe_key)
        if done is not None:
            self.stats.duplicates += 1
            return done.outcome
        now = self._clock()
        plan = plan_booking(alert, auto_book=self._auto_book, within_days=self._within_days)
        if not plan.books:
            await self._record(envelope, alert, Outcome.IGNORED, None, plan.reason, now)
            self.stats.ignored += 1
            return Outcome.IGNORED
        try:
            result = await self._booker.book_for_alert(
                job_for(alert, plan, now),
                shop_hint=alert.shop_id,
                within=plan.within,
                immediate=plan.immediate,
                source_ref=alert.dedupe_key,
                now=now,
                customer=alert.customer,
                notes=_notes(alert),
            )
        except RETRYABLE_REFUSALS:
            raise
        except DomainError as exc:
            # A deterministic refusal (unknown shop or service, nothing fits):
            # retrying cannot help, so it is an answer, published as such.
            result = BookingOutcome.not_booked(f"{exc.code}: {exc.message}")
        if result.booked:
            await self._record(envelope, alert, Outcome.BOOKED, result, None, now)
            self.stats.booked += 1
            return Outcome.BOOKED
        await self._record(envelope, alert, Outcome.NOT_BOOKED, result, "; ".join(result.reasons), now)
        self.stats.not_booked += 1
        return Outcome.NOT_BOOKED

    async def _record(
        self,
        envelope: EventEnvelope,
        alert: VehicleAlert,
        outcome: Outcome,
        result: BookingOutcome | None,
        reason: str | None,
        now: datetime,
    ) -> None:
        processed = ProcessedEvent(
            dedupe_key=alert.dedupe_key,
            event_id=envelope.event_id,
            event_type=envelope.event_type,
            outcome=outcome,
            processed_at=now,
            appointment_id=result.appointment_id if result else None,
            reason=reason,
        )
        async with transaction(self._pool) as conn:
            first = await events.record_processed(conn, processed)
            if first and outcome is Outcome.NOT_BOOKED and result is not None:
                await outbox.add(conn, _not_booked_event(envelope, alert, result, now), alert.dedupe_key)
        if first and outcome is Outcome.NOT_BOOKED:
            self._on_outbox_written()
        elif outcome is Outcome.BOOKED:
            self._on_outbox_written()  # the booker's outbox rows are waiting


def _not_booked_event(
    envelope: EventEnvelope, alert: VehicleAlert, result: BookingOutcome, now: datetime
) -> EventEnvelope:
    event = AppointmentNotBooked(
        alert_id=alert.alert_id,
        source_ref=alert.dedupe_key,
        vehicle_id=alert.vehicle_id,
        service_type=alert.service_type,
        urgency=alert.severity,
        shop_id=alert.shop_id,
        reasons=result.reasons,
        caused_by_event_id=envelope.event_id,
    )
    return EventEnvelope.of(event, now)


def _notes(alert: VehicleAlert) -> str:
    what = alert.description or alert.component or alert.recommended_service or "vehicle alert"
    return f"Auto-booked from {alert.severity.value} alert {alert.alert_id}: {what}"
