"""Who is calling: the ``Authorization: Bearer`` / ``X-API-Key`` header (or a customer link) as a ``Caller``.

The dependency only names the caller; what it may do is decided in
``application.authorized``. Keys travel in headers only (a URL ends up in
logs); a customer link's token may also come as ``?token=`` (it is a link),
and so may a calendar feed's (calendar clients cannot send headers).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Query, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from application.access import Caller
from application.customer_links import LINK_PREFIX
from config.settings import Settings
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
    Query(max_length=200, description="A customer link's token (the `manage_url` carries it), or a calendar feed's"),
]

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
