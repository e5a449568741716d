"""Per request: its id (``X-Request-ID``), one JSON access-log line, and the HTTP-side metrics.

The request id is the caller's ``X-Request-ID`` when it is well-formed (1-128
letters, digits and ``._:-``), a fresh UUID when there is none, and a 400
problem when it is malformed (it would otherwise land in every log line).
Behind Ray Serve the proxy already answers ``X-Request-ID`` (the caller's or
its own, which it passes on to us), so the header is added here only when the
request arrived without one: never twice.

Metrics by route template (``/api/v1/appointments/{appointment_id}``, never
the raw path): searches and their latency, bookings, 409 conflicts, replans,
and every request's status and latency (``actors.metrics``).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from actors import metrics
from deployments.json_logs import REQUEST_ID
from deployments.problems import problem

log = logging.getLogger("deployments.access")

HEADER = "x-request-id"
WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}")
SEARCH_ROUTES = {"/api/v1/slots/available"}
BOOKING_ROUTE = ("POST", "/api/v1/appointments", 201)
REPLANS = {
    ("POST", "/api/v1/technicians/{technician_id}/time-off", 201): "time_off",
    ("POST", "/api/v1/appointments/{appointment_id}/extend", 200): "overrun",
}


def _route(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class Observability:
    """ASGI middleware; the outermost one, so that its id and timing cover everything inside."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        headers = MutableHeaders(scope=scope)
        given = headers.get(HEADER)
        if given is not None and not WELL_FORMED.fullmatch(given):
            answer = problem(
                400,
                "invalid_request_id",
                "X-Request-ID must be 1-128 characters: letters, digits and . _ : - (or leave it out)",
                instance=scope["path"],
            )
            await answer(scope, receive, send)
            return
        request_id = given or uuid.uuid4().hex
        if given is None:
            headers[HEADER] = request_id
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                if given is None:
                    MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await self._app(scope, receive, send_with_id)
        finally:
            self._record(scope, status, time.perf_counter() - started)
            REQUEST_ID.reset(token)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        method, route = scope["method"], _route(scope)
        extra: dict[str, Any] = {
            "method": method,
            "route": route,
            "path": scope["path"],
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
        }
        # probes poll /healthz every few seconds: their lines would drown the rest
        level = logging.DEBUG if route == "/healthz" and status == 200 else logging.INFO
        log.log(level, "%s %s %d", method, scope["path"], status, extra=extra)
        metrics.count("scheduling_http_requests_total", route=route, method=method, status=str(status))
        metrics.observe("scheduling_http_request_seconds", seconds, route=route, method=method)
        if route in SEARCH_ROUTES:
            outcome = {200: "answered", 409: "no_slot"}.get(status, "error" if status >= 500 else "refused")
            metrics.count("scheduling_searches_total", outcome=outcome)
            metrics.observe("scheduling_search_seconds", seconds, outcome=outcome)
        if (method, route, status) == BOOKING_ROUTE:
            metrics.count("scheduling_bookings_total", channel="api")
        if status == 409:
            metrics.count("scheduling_conflicts_total", route=route)
        if (kind := REPLANS.get((method, route, status))) is not None:
            metrics.count("scheduling_replans_total", kind=kind)
