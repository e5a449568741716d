"""Domain errors and bad input as RFC 9457 problem details (``application/problem+json``).

Every error a client can cause maps to a 4xx with a stable ``code``; anything
else becomes a 500 problem without internals (and is logged), never an HTML
page or a stack trace.
"""

from __future__ import annotations

import logging
import math
import re
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from application.transactions import lost_dependency
from deployments.rate_limits import RateLimited
from domain import errors

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://scheduling-service/problems/"

STATUS_BY_ERROR: dict[type[errors.DomainError], int] = {
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.SlotTaken: 409,
    errors.VehicleAlreadyBooked: 409,
    errors.NoSlotAvailable: 409,
    errors.DailyCapReached: 409,
    errors.IdempotencyConflict: 409,
    errors.InvalidTransition: 409,
    errors.HoldExpired: 410,
    errors.OfferGone: 410,
    errors.HoldNotFound: 404,
    errors.OutsideWorkingHours: 422,
    errors.OutsideBookingWindow: 422,
    errors.MissingSkill: 422,
    errors.MissingEquipment: 422,
    errors.InvalidRequest: 422,
    errors.ServiceUnavailable: 503,
}

RETRY_AFTER_SECONDS = 2
"""What a 503 asks the client to wait (``Retry-After``): about one PostgreSQL restart or actor restart."""

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    410: "Gone",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    instance: str | None = None,
    **extensions: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + code,
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extensions.items() if v is not None})
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else None
    if status == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="scheduling-service"'}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def status_for(exc: errors.DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 422


def _validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        message = str(err.get("msg", "invalid"))
        if err.get("type") == "timezone_aware":
            message = "datetime must include a UTC offset, e.g. 2026-02-01T09:00:00-05:00 or ...Z"
        out.append({"field": ".".join(loc) or "body", "message": message, "type": str(err.get("type", ""))})
    return out


def domain_problem(request: Request, exc: errors.DomainError) -> JSONResponse:
    """The problem answer for a domain error (``alternatives`` travel as an extension)."""
    details = {k: v for k, v in exc.details.items() if k != "alternatives"}
    return problem(
        status_for(exc),
        exc.code,
        exc.message,
        instance=request.url.path,
        alternatives=exc.details.get("alternatives"),
        **({"context": details} if details else {}),
    )


def allowed_methods(request: Request) -> str:
    """The ``Allow`` header of a 405 (RFC 9110): every method some route of the app serves at this path."""
    table: list[tuple[re.Pattern[str], set[str]]] | None = getattr(request.app.state, "methods_by_path", None)
    if table is None:  # built on the first 405, once the app has all its routes
        table = [
            (compile_path(route.path)[0], set(route.methods))
            for route in iter_route_contexts(request.app.routes)
            if route.path and route.methods
        ]
        request.app.state.methods_by_path = table
    path = request.scope["path"].removeprefix(request.scope.get("root_path", "")) or "/"
    return ", ".join(sorted({method for regex, methods in table if regex.match(path) for method in methods}))


def install_problem_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every failure into problem details."""

    @app.exception_handler(errors.DomainError)
    async def _domain(request: Request, exc: errors.DomainError) -> JSONResponse:
        return domain_problem(request, exc)

    @app.exception_handler(RateLimited)
    async def _rate_limited(request: Request, exc: RateLimited) -> JSONResponse:
        response = problem(429, "rate_limited", str(exc), instance=request.url.path)
        response.headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        found = _validation_errors(exc)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in found) or "invalid request"
        return problem(422, "validation_error", detail, instance=request.url.path, errors=found)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        response = problem(exc.status_code, code, str(exc.detail), instance=request.url.path)
        if exc.headers:
            response.headers.update(exc.headers)
        if exc.status_code == 405:
            response.headers["Allow"] = allowed_methods(request)
        return response

    @app.exception_handler(asyncpg.CharacterNotInRepertoireError)
    @app.exception_handler(asyncpg.UntranslatableCharacterError)
    async def _unstorable_text(request: Request, exc: asyncpg.DataError) -> JSONResponse:
        # e.g. a NUL character in an id or a note: PostgreSQL text cannot hold it
        message = "the request contains characters that cannot be stored (e.g. NUL)"
        return problem(
            422,
            "validation_error",
            message,
            instance=request.url.path,
            # the same shape as a validator's refusal; the database, not the schema, knows the rule
            errors=[{"field": "request", "message": message, "type": "value_error"}],
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if lost_dependency(exc):
            log.warning("%s %s: a dependency is unreachable: %r", request.method, request.url.path, exc)
            return problem(
                503,
                "service_unavailable",
                "a dependency of the service is unreachable; retry shortly",
                instance=request.url.path,
            )
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "internal_error", "the service failed to answer; try again", instance=request.url.path)
