"""The shop-day page and its sign-in, served by the same Serve app as the API (HTML, not in the OpenAPI document).

Who is asking: an API key in the ``Authorization: Bearer`` (or ``X-API-Key``)
header, or the session cookie that ``POST /signin`` sets after checking a key.
What they may see is decided in ``application.authorized.shop_day`` like any
other read (staff and admins, at their shops; another shop is a 404 page).

CSRF: the cookie is ``HttpOnly`` and ``SameSite=Strict``, so no other site's
page can make the browser send it; the page itself only reads. The two forms
that post (sign-in, sign-out) refuse a request whose ``Origin`` is another
site's, which also stops a forged sign-in into someone else's key.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from application.access import Caller
from deployments.problems import STATUS_BY_ERROR
from deployments.registry import services
from deployments.services import Services
from deployments.shop_day_html import message_page, shop_day_page, sign_in_page
from domain.errors import DomainError, Unauthenticated
from domain.time_windows import in_supported_range, supported_range_text

SESSION_COOKIE = "sched_session"
MAX_FORM_BYTES = 4096
HEADERS = {
    "Cache-Control": "no-store",
    # everything is inline and from here: no script at all, no framing by another site
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

router = APIRouter(include_in_schema=False)

DateParam = Annotated[str | None, Query(alias="date", max_length=40)]


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=HEADERS)


def _error_page(exc: DomainError) -> HTMLResponse:
    status = next((s for kind, s in STATUS_BY_ERROR.items() if isinstance(exc, kind)), 400)
    titles = {401: "Sign in again", 403: "Not for this key", 404: "No such shop", 422: "Cannot show that"}
    return _html(message_page(titles.get(status, "Cannot show that"), exc.message), status)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("x-api-key") or None


async def _caller(request: Request, svc: Services) -> Caller | None:
    """The caller of the headers' key (``Unauthenticated`` if it is not live), else of the session cookie."""
    if svc.settings.auth_disabled:
        return Caller.unrestricted()
    presented = _bearer(request)
    if presented is not None:
        return await svc.app.keys.authenticate(presented)
    cookie = request.cookies.get(SESSION_COOKIE)
    return await svc.sessions().open(cookie) if cookie else None


def _to_sign_in(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/signin?{urlencode({'next': target})}", status_code=303, headers=HEADERS)


def _parse_day(value: str | None, today: dt.date) -> dt.date:
    if not value:
        return today
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise _BadDate(f"date must be a date, YYYY-MM-DD (not {value[:40]!r})") from None
    if not in_supported_range(day) or not in_supported_range(day + dt.timedelta(days=1)):
        raise _BadDate(f"date must lie {supported_range_text()}")
    return day


class _BadDate(DomainError):
    code = "invalid_request"


@router.get("/shops/{shop_id}/day", response_class=HTMLResponse)
async def shop_day(shop_id: str, request: Request, date: DateParam = None) -> Response:
    """The shop's day: technicians and bays against time, the day's figures; refreshes itself every 30 s."""
    svc = services(request)
    try:
        caller = await _caller(request, svc)
        if caller is None:
            return _to_sign_in(request)
        shop = await svc.catalog.shop(shop_id) if caller.covers_shop(shop_id) else None
        today = dt.datetime.now(dt.UTC).astimezone(shop.tz).date() if shop else dt.date.today()
        day = _parse_day(date, today)
        content = await svc.authorized.shop_day(caller, shop_id, day)
    except _BadDate as exc:
        return _html(message_page("Cannot show that", exc.message), 422)
    except DomainError as exc:
        return _error_page(exc)
    return _html(shop_day_page(content))


@router.get("/day", response_class=HTMLResponse)
async def any_shop_day(
    request: Request, shop: Annotated[str | None, Query(max_length=100)] = None, date: DateParam = None
) -> Response:
    """The shop switcher's target: the chosen shop's day (else the first of the caller's shops)."""
    svc = services(request)
    try:
        caller = await _caller(request, svc)
    except DomainError as exc:
        return _error_page(exc)
    if caller is None:
        return _to_sign_in(request)
    if shop is None:
        covered = [s.id for s in await svc.catalog.shops() if caller.covers_shop(s.id)]
        if not covered:
            return _html(message_page("No shops", "This key covers no shop."), 404)
        shop = covered[0]
    target = f"/shops/{quote(shop, safe='')}/day" + (f"?{urlencode({'date': date})}" if date else "")
    return RedirectResponse(target, status_code=303, headers=HEADERS)


def _safe_next(value: str | None) -> str:
    """Only a path on this site (no scheme, no host): the sign-in is no open redirect."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/day"
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else "/day"


def _same_origin(request: Request) -> bool:
    """False when the browser says the form was posted from another site's page."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None  # no Origin: not a browser's cross-site post; "null": an opaque origin, refuse
    return urlsplit(origin).netloc == request.headers.get("host", "")


@router.get("/signin", response_class=HTMLResponse)
async def sign_in_form(next_: Annotated[str | None, Query(alias="next", max_length=2000)] = None) -> Response:
    return _html(sign_in_page(next_url=_safe_next(next_)))


@router.post("/signin", response_class=HTMLResponse)
async def sign_in(request: Request) -> Response:
    """Check the form's API key and set the session cookie (HttpOnly, SameSite=Strict)."""
    if not _same_origin(request):
        return _html(message_page("Refused", "The sign-in form was posted from another site."), 403)
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return _html(sign_in_page(next_url="/day", error="The form is too large."), 413)
    form = parse_qs(body.decode("utf-8", "replace"))
    key = (form.get("api_key") or [""])[0].strip()
    next_url = _safe_next((form.get("next") or [""])[0])
    if not key:
        return _html(sign_in_page(next_url=next_url, error="Enter an API key."), 422)
    try:
        _, cookie = await services(request).sessions().sign_in(key)
    except Unauthenticated:
        return _html(sign_in_page(next_url=next_url, error="That key is not valid."), 401)
    response = RedirectResponse(next_url, status_code=303, headers=HEADERS)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=12 * 3600,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/signout", response_class=HTMLResponse)
async def sign_out(request: Request) -> Response:
    if not _same_origin(request):
        return _html(message_page("Refused", "The form was posted from another site."), 403)
    response = RedirectResponse("/signin", status_code=303, headers=HEADERS)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response
