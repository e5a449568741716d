"""Calendar invites driven by the appointment events on Redis Streams.

Its own consumer group reads ``appointment.scheduled``, ``.rescheduled`` and
``.cancelled``; for each it loads the appointment as it is now (the event
says *that* it changed, the database says *how*) and lets the dispatcher
bring every enabled provider in line. A provider's failure is recorded as the
invite's state and retried by ``retry_due``; it never undoes a booking and
never blocks the stream. Only a database failure leaves the entry un-acked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

from application.transactions import connection
from domain.events import EventEnvelope
from integrations import InviteDispatcher, invite_for
from store import appointment_repository as appointments
from store import catalog_repository as catalog

log = logging.getLogger(__name__)

RETRY_INTERVAL_S = 30.0


class InviteHandler:
    """Turns appointment events into invite deliveries."""

    def __init__(self, pool: asyncpg.Pool, dispatcher: InviteDispatcher) -> None:
        self._pool = pool
        self._dispatcher = dispatcher

    async def handle(self, envelope: EventEnvelope) -> str:
        if not InviteDispatcher.handles(envelope.event_type):
            return "ignored"
        appointment_id = str(envelope.data.get("appointment_id", ""))
        async with connection(self._pool) as conn:
            appt = await appointments.get(conn, appointment_id)
            if appt is None:
                log.warning("invite for unknown appointment %r skipped", appointment_id)
                return "unknown appointment"
            shop = await catalog.get_shop(conn, appt.shop_id)
            tech = await catalog.get_technician(conn, appt.technician_id)
            service = await catalog.get_service_type(conn, appt.service_type)
        if shop is None or tech is None or service is None:
            return "catalog entry missing"
        deliveries = await self._dispatcher.dispatch(invite_for(appt, shop, tech, service.name))
        return ", ".join(f"{d.provider}:{d.state.value}" for d in deliveries) or "no provider"

    async def run_retries(self, stop: asyncio.Event, every_s: float = RETRY_INTERVAL_S) -> None:
        """Retry failed deliveries whose backoff has passed, until ``stop`` is set."""
        while not stop.is_set():
            try:
                await self._dispatcher.retry_due()
            except Exception:  # the database may be away for a moment; the next tick retries
                log.exception("invite retry tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every_s)
