"""An ``Idempotency-Key`` claim travels with the request, and its effect commits with the effect.

The HTTP layer claims a key and runs the use case inside ``claimed(...)``; each
write transaction of the booking service calls ``record_effect`` last, so the
key's record is stamped with the appointment it changed in the same commit
(as Stripe records idempotency keys). A context variable carries the claim so
that the use cases and everything between them and the endpoint keep their
signatures; outside a claim (the event bridge, tools) it does nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import asyncpg

from domain.errors import IdempotencyConflict
from store import idempotency_repository as keys


@dataclass(frozen=True, slots=True)
class IdempotencyClaim:
    """The key a request owns: its scope (method and path), the key, and the claim's token."""

    scope: str
    key: str
    token: str


_current: ContextVar[IdempotencyClaim | None] = ContextVar("idempotency_claim", default=None)


@contextmanager
def claimed(claim: IdempotencyClaim) -> Iterator[None]:
    """Run the block as the owner of ``claim``: its write transactions stamp the key."""
    reset = _current.set(claim)
    try:
        yield
    finally:
        _current.reset(reset)


async def record_effect(conn: asyncpg.Connection, effect_id: str) -> None:
    """Stamp the current claim's key with ``effect_id`` inside the caller's transaction.

    Raises ``IdempotencyConflict`` (rolling the transaction back) when another
    claim took the key over meanwhile: at most one claim of a key takes effect.
    """
    claim = _current.get()
    if claim is None:
        return
    if not await keys.mark_effect(conn, claim.scope, claim.key, claim.token, effect_id):
        raise IdempotencyConflict(
            "another request with this Idempotency-Key took effect first; retry to get its answer",
            idempotency_key=claim.key,
        )


@contextmanager
def unclaimed() -> Iterator[None]:
    """Run the block outside any claim: for a use case of many writes (a recurring series), whose answer the
    claim records as a whole, where the per-write stamp would refuse the second write."""
    reset = _current.set(None)
    try:
        yield
    finally:
        _current.reset(reset)
