"""``Idempotency-Key`` for POST/PUT/DELETE: the same key and body replay the first answer.

The same key with a different body is a 422; a duplicate arriving while the
first is still in flight is a 409. Records live in PostgreSQL (so every
replica sees them) and are kept at least 24 hours.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from fastapi import Request
from fastapi.responses import JSONResponse, Response

from actors.transactions import connection
from deployments.problems import domain_problem, problem
from domain.errors import DomainError
from store import idempotency_repository as keys

HEADER = "Idempotency-Key"
RETENTION = timedelta(hours=24)


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
) -> Response:
    """Run ``handler`` at most once per ``Idempotency-Key`` (if the header is present)."""
    key = request.headers.get(HEADER)
    if key is None:
        return await handler()
    if not 1 <= len(key) <= 255:
        return problem(422, "validation_error", f"{HEADER} must be 1 to 255 characters", instance=request.url.path)
    scope = f"{request.method} {request.url.path}"
    fingerprint = request_fingerprint(request.method, request.url.path, await request.body())
    now = datetime.now(UTC)
    async with connection(pool) as conn:
        claim = await keys.claim(conn, scope, key, fingerprint, now)
    if claim.outcome == "replay":
        return _replay(claim.status_code or 200, claim.response)
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
    try:
        try:
            response = await handler()
        except DomainError as exc:
            # A refusal is an answer too: replaying it keeps the key's meaning stable.
            response = domain_problem(request, exc)
    except BaseException:
        async with connection(pool) as conn:
            await keys.release(conn, scope, key)
        raise
    if response.status_code >= 500:
        async with connection(pool) as conn:
            await keys.release(conn, scope, key)
        return response
    body: Any = json.loads(bytes(response.body)) if response.body else None
    async with connection(pool) as conn:
        await keys.complete(conn, scope, key, response.status_code, body, datetime.now(UTC))
    return response


def _replay(status: int, body: Any) -> Response:
    media = "application/problem+json" if status >= 400 else "application/json"
    response = JSONResponse(body, status_code=status, media_type=media)
    response.headers["Idempotent-Replayed"] = "true"
    return response
