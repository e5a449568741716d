"""API keys: create (the secret shown once), list, revoke, and turn a presented key into a ``Caller``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from application.access import Caller, Role
from application.clock import Clock, SystemClock
from application.secret_tokens import new_token, parse_token, secret_matches
from application.transactions import in_transaction, read
from domain.errors import InvalidRequest, Unauthenticated
from store import api_key_repository as keys
from store import catalog_repository as catalog

KEY_PREFIX = "sk"
KEY_ROLES = (Role.BOOKING, Role.STAFF, Role.ADMIN)


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A key as an operator sees it (never its secret)."""

    id: str
    role: Role
    shops: tuple[str, ...] | None
    name: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def live(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


@dataclass(frozen=True, slots=True)
class IssuedKey:
    key: ApiKey
    secret: str
    """The full key the caller sends (``Authorization: Bearer <secret>``); shown once, never stored."""


def _key(row: keys.ApiKeyRow) -> ApiKey:
    return ApiKey(row.id, Role(row.role), row.shop_ids, row.name, row.created_at, row.expires_at, row.revoked_at)


class ApiKeys:
    """The keys of the service, stored as hashes."""

    def __init__(self, pool: asyncpg.Pool, clock: Clock | None = None) -> None:
        self._pool = pool
        self._clock: Clock = clock or SystemClock()

    async def create(
        self,
        role: Role,
        *,
        shops: Sequence[str] | None = None,
        name: str | None = None,
        expires_in: timedelta | None = None,
    ) -> IssuedKey:
        """A new key for ``role`` over ``shops`` (None or empty: the whole chain)."""
        if role not in KEY_ROLES:
            raise InvalidRequest(f"a key's role is one of {', '.join(r.value for r in KEY_ROLES)}", field="role")
        if expires_in is not None and expires_in <= timedelta(0):
            raise InvalidRequest("a key's lifetime must be positive", field="expires")
        now = self._clock.now()
        token = new_token(KEY_PREFIX)
        row = keys.ApiKeyRow(
            id=token.id,
            secret_hash=token.secret_hash,
            role=role.value,
            shop_ids=tuple(dict.fromkeys(shops)) if shops else None,
            name=name,
            created_at=now,
            expires_at=now + expires_in if expires_in is not None else None,
            revoked_at=None,
        )

        async def write(conn: asyncpg.Connection) -> None:
            known = {s.id for s in await catalog.list_shops(conn)}
            unknown = [s for s in row.shop_ids or () if s not in known]
            if unknown:
                raise InvalidRequest(f"unknown shop {', '.join(unknown)}", field="shop")
            await keys.insert(conn, row)

        await in_transaction(self._pool, write)
        return IssuedKey(_key(row), token.text)

    async def list(self) -> list[ApiKey]:
        return [_key(r) for r in await read(self._pool, keys.list_all)]

    async def revoke(self, key_id: str) -> bool:
        """Revoke the key (its next request is a 401); False when there is no such key."""
        now = self._clock.now()
        return await in_transaction(self._pool, lambda conn: keys.revoke(conn, key_id, now))

    async def authenticate(self, presented: str) -> Caller:
        """The caller a presented key names; ``Unauthenticated`` for anything but a live key."""
        token = parse_token(presented.strip(), KEY_PREFIX)
        if token is None:
            raise Unauthenticated("the API key is not valid")
        row = await read(self._pool, lambda conn: keys.get(conn, token.id))
        if not secret_matches(token, row.secret_hash if row else None) or row is None:
            raise Unauthenticated("the API key is not valid")
        key = _key(row)
        if not key.live(self._clock.now()):
            raise Unauthenticated("the API key has expired or was revoked")
        return Caller.for_key(key.id, key.role, key.shops)

    async def caller_by_id(self, key_id: str) -> Caller | None:
        """The caller of a live key found by its id (a page session names its key so); None otherwise."""
        row = await read(self._pool, lambda conn: keys.get(conn, key_id))
        if row is None:
            return None
        key = _key(row)
        return Caller.for_key(key.id, key.role, key.shops) if key.live(self._clock.now()) else None
