"""Secret URL tokens for calendar feeds: calendar clients subscribe to a URL and cannot send headers.

A feed's token is an HMAC of the feed's name under a random key the service
keeps in the store (made on first use), so every replica derives the same
token and none is stored per feed.
"""

from __future__ import annotations

import secrets

import asyncpg

from application.secret_tokens import sign, signature_matches
from application.transactions import in_transaction
from store import service_secret_repository as service_secrets

SECRET_NAME = "calendar_feed_key"


class CalendarFeedTokens:
    """The token of a technician's feed and of an appointment's ``.ics``."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._key: bytes | None = None

    async def _signing_key(self) -> bytes:
        if self._key is None:
            candidate = secrets.token_bytes(32)
            self._key = await in_transaction(
                self._pool, lambda conn: service_secrets.get_or_create(conn, SECRET_NAME, candidate)
            )
        return self._key

    async def technician(self, technician_id: str) -> str:
        return sign(await self._signing_key(), f"technician:{technician_id}")

    async def appointment(self, appointment_id: str) -> str:
        return sign(await self._signing_key(), f"appointment:{appointment_id}")

    async def opens_technician(self, technician_id: str, presented: str) -> bool:
        return signature_matches(await self._signing_key(), f"technician:{technician_id}", presented)

    async def opens_appointment(self, appointment_id: str, presented: str) -> bool:
        return signature_matches(await self._signing_key(), f"appointment:{appointment_id}", presented)
