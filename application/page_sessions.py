"""Browser sessions of the shop-day page: a signed cookie naming an API key, checked again on every request.

A person signs in with a staff key once; the cookie then carries
``<key id>.<expiry>.<HMAC>`` (never the key itself) under a random signing key
the service keeps in the store, so every replica accepts it and none stores a
session. Each request re-reads the key, so revoking it ends its sessions at once.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import asyncpg

from application.access import Caller
from application.api_keys import ApiKeys
from application.clock import Clock, SystemClock
from application.secret_tokens import sign, signature_matches
from application.transactions import in_transaction
from store import service_secret_repository as service_secrets

SECRET_NAME = "page_session_key"
SESSION_LIFETIME = timedelta(hours=12)
"""A shift: a person signs in again the next day."""


class PageSessions:
    """Issues and opens the shop-day page's session cookies."""

    def __init__(self, pool: asyncpg.Pool, keys: ApiKeys, clock: Clock | None = None) -> None:
        self._pool = pool
        self._keys = keys
        self._clock: Clock = clock or SystemClock()
        self._secret: bytes | None = None

    async def _signing_key(self) -> bytes:
        if self._secret is None:
            candidate = secrets.token_bytes(32)
            self._secret = await in_transaction(
                self._pool, lambda conn: service_secrets.get_or_create(conn, SECRET_NAME, candidate)
            )
        return self._secret

    async def sign_in(self, presented_key: str) -> tuple[Caller, str]:
        """The caller the key names and its session cookie's value; ``Unauthenticated`` for a key that is not live."""
        caller = await self._keys.authenticate(presented_key)
        if caller.key_id is None:  # pragma: no cover - authenticate only answers keys
            raise ValueError("a session needs an API key")
        expires = int((self._clock.now() + SESSION_LIFETIME).timestamp())
        body = f"{caller.key_id}.{expires}"
        return caller, f"{body}.{sign(await self._signing_key(), body)}"

    async def open(self, cookie: str) -> Caller | None:
        """The caller of a session cookie; None when it is forged, expired, or its key no longer live."""
        key_id, _, rest = cookie.partition(".")
        expires, _, mac = rest.partition(".")
        if not key_id.isascii() or not key_id.isalnum() or not expires.isdigit() or len(cookie) > 200:
            return None
        if not signature_matches(await self._signing_key(), f"{key_id}.{expires}", mac):
            return None
        if datetime.fromtimestamp(int(expires), self._clock.now().tzinfo) <= self._clock.now():
            return None
        return await self._keys.caller_by_id(key_id)
