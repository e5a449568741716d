"""Waitlist offers by email, driven by ``appointment.waitlist.offered`` on Redis Streams (own consumer group).

A temporary SMTP failure leaves the entry un-acked (it is retried, and goes to
the dead-letter stream after a few tries); a refusal (bad address, bad login)
is logged and acked: the offer stands, and whoever else consumes the event
still has the token.
"""

from __future__ import annotations

import logging

import asyncpg

from application.transactions import connection
from domain.events import EventEnvelope, EventType
from integrations.calendar_target import CredentialsRejected, RequestRejected
from integrations.confirmation_email import SmtpConfig
from integrations.waitlist_offer_email import send_offer
from store import catalog_repository as catalog

log = logging.getLogger(__name__)


class OfferEmailHandler:
    """Emails each waitlist offer to its customer (when the entry gave an address)."""

    def __init__(self, pool: asyncpg.Pool, config: SmtpConfig, base_url: str) -> None:
        self._pool = pool
        self._config = config
        self._base_url = base_url

    async def handle(self, envelope: EventEnvelope) -> str:
        if envelope.event_type != EventType.APPOINTMENT_WAITLIST_OFFERED:
            return "ignored"
        data = envelope.data
        if not (data.get("customer") or {}).get("email"):
            return "no email address"
        async with connection(self._pool) as conn:
            shop = await catalog.get_shop(conn, str(data.get("shop_id", "")))
        try:
            await send_offer(self._config, data, self._base_url, shop.timezone if shop else "UTC")
        except (RequestRejected, CredentialsRejected) as exc:
            log.warning("waitlist offer %s not emailed: %s", data.get("offer_id"), exc)
            return f"refused: {exc}"
        return "sent"
