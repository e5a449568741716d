"""Who is calling: the ``Authorization: Bearer`` / ``X-API-Key`` header (or a customer link) as a ``Caller``.

The dependency only names the caller; what it may do is decided in
``application.authorized``. Keys travel in headers only (a URL ends up in
logs); a customer link's token may also come as ``?token=`` (it is a link),
and so may a calendar feed's (calendar clients cannot send headers).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated
from urllib.parse import parse_qs

from fastapi import Depends, Query, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Receive, Scope, Send

from application.access import Caller
from application.customer_links import LINK_PREFIX
from config.settings import Settings
from deployments.problems import problem
from deployments.registry import services
from domain.errors import Unauthenticated

if TYPE_CHECKING:
    from deployments.services import Services

log = logging.getLogger(__name__)

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key (`scheduling-service keys create`), or a customer link's token",
)
_x_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="XApiKey", description="An API key")

Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
XApiKey = Annotated[str | None, Depends(_x_api_key)]
Token = Annotated[
    str | None,
    # no length limit here: a token too long for any link is refused as unknown (401), never as invalid input
    Query(description="A customer link's token (the `manage_url` carries it), or a calendar feed's"),
]

TOKEN_IN_PATH = "/waitlist/offers/"
"""Operations whose path holds their credential (a waitlist offer's token): no key is asked for."""

NO_CREDENTIALS = "send an API key: Authorization: Bearer <key> (or X-API-Key: <key>)"


class AuthDisabledRefused(RuntimeError):
    """``AUTH_DISABLED=true`` with the API on a non-loopback address."""


def check_auth_settings(settings: Settings) -> None:
    """Refuse ``AUTH_DISABLED`` unless the API binds loopback only; warn at every start when it is on."""
    if not settings.auth_disabled:
        return
    if not settings.binds_loopback_only:
        raise AuthDisabledRefused(
            f"AUTH_DISABLED=true is refused: the API binds {settings.host!r}; set HOST=127.0.0.1 for local experiments"
        )
    log.warning("AUTH_DISABLED=true: every caller of the API is an admin; for local experiments only")


def _link_token(presented: str) -> bool:
    return presented.startswith(LINK_PREFIX + "_")


async def _resolve(
    svc: Services, bearer: HTTPAuthorizationCredentials | None, x_api_key: str | None
) -> Caller | None:
    if svc.settings.auth_disabled:
        return Caller.unrestricted()
    presented = bearer.credentials if bearer is not None else x_api_key
    if not presented:
        return None
    if _link_token(presented):
        return await svc.app.links.authenticate(presented)
    return await svc.app.keys.authenticate(presented)


async def current_caller(request: Request, bearer: Bearer, x_api_key: XApiKey) -> Caller:
    """The caller its headers name, or ``Unauthenticated`` (401)."""
    found = await _resolve(services(request), bearer, x_api_key)
    if found is None:
        raise Unauthenticated(NO_CREDENTIALS)
    return found


async def caller_or_link(request: Request, bearer: Bearer, x_api_key: XApiKey, token: Token = None) -> Caller:
    """The caller its headers name, else the customer link of ``?token=`` (the operations on one appointment)."""
    svc = services(request)
    found = await _resolve(svc, bearer, x_api_key)
    if found is None and token and _link_token(token):
        found = await svc.app.links.authenticate(token)
    if found is None:
        raise Unauthenticated(NO_CREDENTIALS)
    return found


async def caller_or_feed_token(
    request: Request, bearer: Bearer, x_api_key: XApiKey, token: Token = None
) -> tuple[Caller | None, str | None]:
    """For calendar files: the caller if it sent credentials (or a link), else the URL's feed token."""
    svc = services(request)
    found = await _resolve(svc, bearer, x_api_key)
    if found is None and token and _link_token(token):
        return await svc.app.links.authenticate(token), None
    return found, token


CurrentCaller = Annotated[Caller, Depends(current_caller)]
CallerOrLink = Annotated[Caller, Depends(caller_or_link)]
CalendarAccess = Annotated[tuple[Caller | None, str | None], Depends(caller_or_feed_token)]


class RequireCredentials:
    """ASGI middleware: a request under ``prefix`` that carries no credential at all is a 401 at once.

    FastAPI reads and parses a body before it runs dependencies, so without this a request with no key
    and a broken body would hear 422 instead of 401. Whether a credential is valid is still decided by
    the dependencies above; this only turns away requests that name no caller. With
    ``AUTH_DISABLED`` (``disabled()`` true) everything passes.
    """

    def __init__(self, app: ASGIApp, prefix: str, disabled: Callable[[], bool]) -> None:
        self._app = app
        self._prefix = prefix
        self._disabled = disabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self._prefix) or self._disabled():
            await self._app(scope, receive, send)
            return
        if scope["path"].startswith(self._prefix + TOKEN_IN_PATH):  # the path carries the credential
            await self._app(scope, receive, send)
            return
        headers = {name.lower() for name, _ in scope.get("headers", ())}
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if b"authorization" in headers or b"x-api-key" in headers or query.get("token"):
            await self._app(scope, receive, send)
            return
        response = problem(401, Unauthenticated.code, NO_CREDENTIALS, instance=scope["path"])
        await response(scope, receive, send)
