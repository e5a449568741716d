"""``Idempotency-Key`` for POST/PUT/DELETE: the same key and body replay the first answer.

The same key with a different body is a 422; a duplicate arriving while the
first is still in flight is a 409. Records live in PostgreSQL (so every
replica sees them) and are purged after the retention (at least 24 hours).

The effect and its record commit together: the use case's transaction stamps
the key with the appointment it changed (``application.idempotent_effects``). From
then on the key always answers that effect: if the first answer is lost (a
failure after the commit, a crash), the retry renders the committed effect
again instead of running the write a second time. A claim left in flight by a
process that died is taken over after ``idempotency_in_flight_timeout_seconds``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from fastapi import Request
from fastapi.responses import JSONResponse, Response
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_exponential

from application.idempotent_effects import IdempotencyClaim, claimed
from application.transactions import connection
from deployments.problems import domain_problem, problem
from domain.errors import DomainError, ServiceUnavailable
from store import idempotency_repository as keys

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"

ReplayEffect = Callable[[str], Awaitable[Response]]
"""Answers a committed effect (an appointment id) afresh, as the first answer would have."""


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    """A hash of what the request asks for; JSON bodies are canonicalized first."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


async def run_idempotent(
    request: Request,
    pool: asyncpg.Pool,
    handler: Callable[[], Awaitable[Response]],
    *,
    replay: ReplayEffect,
    stale_after: timedelta,
    principal: str = "anonymous",
) -> Response:
    """Run ``handler`` at most once per ``Idempotency-Key`` (if the header is present) of ``principal``.

    The key's scope names the caller (its API key) as well as the operation, so two callers' keys never
    meet: neither can replay the other's answer, nor learn that the other used a key.
    """
    key = request.headers.get(HEADER)
    if key is None:
        return await handler()
    if not 1 <= len(key) <= 255:
        return problem(422, "validation_error", f"{HEADER} must be 1 to 255 characters", instance=request.url.path)
    scope = f"{principal} {request.method} {request.url.path}"
    fingerprint = request_fingerprint(request.method, request.url.path, await request.body())
    async with connection(pool) as conn:
        claim = await keys.claim(conn, scope, key, fingerprint, datetime.now(UTC), stale_after=stale_after)
    if claim.outcome == "replay":
        return _replayed(_stored(claim.status_code or 200, claim.response))
    if claim.outcome == "effect":
        assert claim.effect_id is not None
        return _replayed(await _answer_effect(pool, scope, key, None, claim.effect_id, replay))
    if claim.outcome == "mismatch":
        return problem(
            422,
            "idempotency_key_reused",
            f"{HEADER} {key!r} was already used with a different request",
            instance=request.url.path,
        )
    if claim.outcome == "in_flight":
        return problem(
            409,
            "idempotency_in_flight",
            f"a request with {HEADER} {key!r} is still being processed; retry shortly",
            instance=request.url.path,
        )
    assert claim.token is not None
    token = claim.token
    try:
        with claimed(IdempotencyClaim(scope, key, token)):
            try:
                response = await handler()
            except DomainError as exc:
                # A refusal is an answer too: replaying it keeps the key's meaning stable.
                response = domain_problem(request, exc)
    except Exception:
        # Whatever failed, an effect that committed is the answer (the commit is the truth).
        effect = await _forget_unless_effect(pool, scope, key, token)
        if effect is None:
            raise
        log.warning(
            "answer to %s %s failed after its effect committed; answering the effect", scope, key, exc_info=True
        )
        return await _answer_effect(pool, scope, key, token, effect, replay)
    if response.status_code >= 500:
        effect = await _forget_unless_effect(pool, scope, key, token)
        return response if effect is None else await _answer_effect(pool, scope, key, token, effect, replay)
    await _complete(pool, scope, key, token, response)
    return response


async def _forget_unless_effect(pool: asyncpg.Pool, scope: str, key: str, token: str) -> str | None:
    """Release the claim so a retry can run, unless its effect committed: then answer that effect's id.

    With the database unreachable the release is retried in the background until it is back (the
    caller hears 503 now); otherwise the key would answer 409 in flight until the claim went stale.
    """
    try:
        return await _release_unless_effect(pool, scope, key, token)
    except ServiceUnavailable:
        task = asyncio.ensure_future(_release_when_back(pool, scope, key, token))
        _background.add(task)
        task.add_done_callback(_background.discard)
        raise


async def _release_unless_effect(pool: asyncpg.Pool, scope: str, key: str, token: str) -> str | None:
    async with connection(pool) as conn:
        effect = await keys.effect_of(conn, scope, key)
        if effect is None:
            await keys.release(conn, scope, key, token)
    return effect


_background: set[asyncio.Future[None]] = set()
RELEASE_RETRY_FOR_S = 300.0
FIRST_RELEASE_PAUSE_S = 0.25

_release_until_reachable = retry(
    retry=retry_if_exception_type(ServiceUnavailable),
    wait=wait_exponential(multiplier=2 * FIRST_RELEASE_PAUSE_S, max=5.0),  # 0.5 s, doubling, at most 5 s
    stop=stop_after_delay(RELEASE_RETRY_FOR_S),
    reraise=True,
)(_release_unless_effect)
"""``_release_unless_effect`` retried while the database is unreachable, for ``RELEASE_RETRY_FOR_S`` at most."""


async def _release_when_back(pool: asyncpg.Pool, scope: str, key: str, token: str) -> None:
    await asyncio.sleep(FIRST_RELEASE_PAUSE_S)  # the release has just failed
    try:
        await _release_until_reachable(pool, scope, key, token)
    except Exception:
        log.warning("releasing %s %s failed; it goes stale instead", scope, key, exc_info=True)


async def _answer_effect(
    pool: asyncpg.Pool, scope: str, key: str, token: str | None, effect_id: str, replay: ReplayEffect
) -> Response:
    response = await replay(effect_id)
    if response.status_code < 500:
        await _complete(pool, scope, key, token, response)
    return response


async def _complete(pool: asyncpg.Pool, scope: str, key: str, token: str | None, response: Response) -> None:
    """Store the answer for replays; never fails the answer itself.

    If storing fails, a retry still finds the key in flight with its effect stamped
    (and replays the effect) or, without an effect, takes the key over once stale.
    """
    body: Any = json.loads(bytes(response.body)) if response.body else None
    try:
        async with connection(pool) as conn:
            await keys.complete(conn, scope, key, response.status_code, body, datetime.now(UTC), token=token)
    except Exception:
        log.warning("could not store the answer for %s %s; a retry answers from its effect", scope, key, exc_info=True)


async def purge_idempotency_keys(pool: asyncpg.Pool, retention: timedelta, now: datetime | None = None) -> int:
    """Drop records older than ``retention``; answers how many."""
    async with connection(pool) as conn:
        return await keys.purge_older_than(conn, retention, now or datetime.now(UTC))


def _stored(status: int, body: Any) -> Response:
    media = "application/problem+json" if status >= 400 else "application/json"
    return JSONResponse(body, status_code=status, media_type=media)


def _replayed(response: Response) -> Response:
    response.headers["Idempotent-Replayed"] = "true"
    return response
