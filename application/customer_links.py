"""Customer links: an unguessable, expiring token for one appointment (read, reschedule, cancel).

A link is issued with every booking answer. It dies when it expires, when its
appointment ends, and when the appointment is cancelled (or its hold expires):
each request checks all three against the store.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

from application.access import Caller
from application.booking_queries import load_appointment
from application.clock import Clock, SystemClock
from application.secret_tokens import new_token, parse_token, secret_matches
from application.transactions import one_statement, read
from domain.appointment import Appointment
from domain.errors import NotFound, Unauthenticated
from store import customer_link_repository as links

LINK_PREFIX = "ml"
REFUSED = "the link is not valid, has expired, or its appointment has ended or was cancelled"


class CustomerLinks:
    """Issues and checks customer links; only a hash of each secret is stored."""

    def __init__(self, pool: asyncpg.Pool, ttl: timedelta, clock: Clock | None = None) -> None:
        self._pool = pool
        self._ttl = ttl
        self._clock: Clock = clock or SystemClock()

    async def issue(self, appt: Appointment, now: datetime | None = None) -> str:
        """A new link token for ``appt``, valid for the TTL (and no longer than the appointment lives)."""
        now = now or self._clock.now()
        token = new_token(LINK_PREFIX)
        row = links.CustomerLinkRow(token.id, token.secret_hash, appt.id, now, now + self._ttl)
        await one_statement(self._pool, lambda conn: links.insert(conn, row))
        return token.text

    async def issue_for(self, appointment_id: str) -> str:
        """A new link token for the appointment ``appointment_id`` (``NotFound`` if there is none)."""
        return await self.issue(await load_appointment(self._pool, appointment_id))

    async def authenticate(self, presented: str) -> Caller:
        """The caller a link token names: ``Unauthenticated`` when tampered, expired, ended or cancelled."""
        token = parse_token(presented.strip(), LINK_PREFIX)
        if token is None:
            raise Unauthenticated(REFUSED)
        row = await read(self._pool, lambda conn: links.get(conn, token.id))
        if not secret_matches(token, row.secret_hash if row else None) or row is None:
            raise Unauthenticated(REFUSED)
        now = self._clock.now()
        if row.expires_at <= now:
            raise Unauthenticated(REFUSED)
        try:
            appt = await load_appointment(self._pool, row.appointment_id)
        except NotFound:
            raise Unauthenticated(REFUSED) from None
        if not appt.blocks(now) or appt.end <= now:
            raise Unauthenticated(REFUSED)
        return Caller.for_link(row.id, appt.id, appt.shop_id)
