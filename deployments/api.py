"""The HTTP API (FastAPI), thin: parse, name the caller, call the application layer, map errors.

Handlers find the application services through ``services(request)``
(``deployments.registry``), so the same routes run behind Ray Serve and
uvicorn. Every operation but ``/healthz`` and ``/openapi.json`` needs a caller
(``deployments.authentication``); what it may do is checked in
``application.authorized``, never here.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse

from application.access import Action, Caller
from application.slot_search import SlotSearch
from deployments import mapping, schemas
from deployments.authentication import CalendarAccess, CallerOrLink, CurrentCaller, RequireCredentials
from deployments.idempotency import run_idempotent
from deployments.observability import Observability
from deployments.openapi import COMMON_PROBLEMS, install_openapi, problem_answers
from deployments.problems import install_problem_handlers
from deployments.rate_limits import EndpointClass
from deployments.registry import register_services, registered_services, services
from deployments.series_schemas import SeriesCreated
from deployments.services import Services
from domain.appointment import Appointment
from domain.customer import CustomerTier
from domain.errors import DomainError, InvalidRequest
from domain.shop import GeoPoint
from domain.time_windows import Interval, in_supported_range, local_day_bounds, supported_range_text

API_PREFIX = "/api/v1"
ICS = "text/calendar; charset=utf-8"


log = logging.getLogger(__name__)

__all__ = ["create_api", "register_services", "services"]

Svc = Annotated[Services, Depends(services)]
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


def _rate_limited(endpoint_class: EndpointClass, *, links: bool = False) -> Any:
    """The caller, after taking a token from its bucket for ``endpoint_class`` (429 when there is none).

    With ``links``, a customer link's ``?token=`` names the caller too (the operations on one appointment).
    """

    async def check(request: Request, caller: Caller) -> Caller:
        anonymous = caller.key_id is None and caller.appointment_id is None
        client = request.client.host if request.client else "unknown"
        services(request).rate_limits.check(endpoint_class, f"address:{client}" if anonymous else caller.principal)
        return caller

    async def key_holder(request: Request, caller: CurrentCaller) -> Caller:
        return await check(request, caller)

    async def key_or_link_holder(request: Request, caller: CallerOrLink) -> Caller:
        return await check(request, caller)

    return Depends(key_or_link_holder if links else key_holder)


SearchCaller = Annotated[Caller, _rate_limited(EndpointClass.SEARCH)]
WriteCaller = Annotated[Caller, _rate_limited(EndpointClass.WRITE)]
LinkWriteCaller = Annotated[Caller, _rate_limited(EndpointClass.WRITE, links=True)]


async def _render(exc: DomainError, svc: Services) -> DomainError:
    """Turn domain ``Slot`` alternatives into the API's slot shape before answering."""
    alternatives = exc.details.get("alternatives")
    if alternatives:
        exc.details["alternatives"] = [
            (await mapping.slot_out(s, svc.catalog)).model_dump(mode="json") for s in alternatives
        ]
    elif "alternatives" in exc.details:
        exc.details["alternatives"] = []
    return exc


def _json(model: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(model.model_dump(mode="json"), status_code=status)


async def _idempotent(
    request: Request,
    svc: Services,
    caller: Caller,
    handle: Callable[[], Awaitable[Response]],
    *,
    created: bool = False,
    with_link: bool = False,
) -> Response:
    """Run a write under the caller's ``Idempotency-Key``; a committed effect is answered as it now stands.

    Keys are scoped to the caller (its API key): two callers never replay each other's answers. A replay
    answers the first answer as it was, its customer link included (stored with the answer for the
    retention, as the customer's name and email are); an effect whose answer was lost gets a fresh link.
    """

    async def replay(appointment_id: str) -> Response:
        appt = await svc.queries.get(appointment_id)
        response = await _appointment_answer(appt, svc, caller, 201 if created else 200, with_link=with_link)
        if created:
            response.headers["Location"] = f"{API_PREFIX}/appointments/{appt.id}"
        return response

    stale_after = dt.timedelta(seconds=svc.settings.idempotency_in_flight_timeout_seconds)
    return await run_idempotent(
        request, svc.pool, handle, replay=replay, stale_after=stale_after, principal=caller.principal
    )


async def _customer_link(appt: Appointment, svc: Services) -> str | None:
    """A new customer link's URL for ``appt``; None (logged) if it cannot be made: the answer stands without it."""
    if not appt.blocks(svc.app.booking.clock.now()):
        return None
    try:
        token = await svc.app.links.issue(appt)
    except Exception:
        log.warning("no customer link for appointment %s", appt.id, exc_info=True)
        return None
    return f"{svc.settings.base_url}{API_PREFIX}/appointments/{appt.id}?token={token}"


async def _calendar_url(appt: Appointment, svc: Services, caller: Caller) -> str:
    """The appointment's ``.ics`` at its secret URL (calendar apps send no keys)."""
    token = await svc.authorized.appointment_file_token(caller, appt)
    return f"{svc.settings.base_url}{API_PREFIX}/appointments/{appt.id}/calendar.ics?token={token}"


async def _appointment_answer(
    appt: Appointment, svc: Services, caller: Caller, status: int = 200, *, with_link: bool = False
) -> JSONResponse:
    """One appointment, with its calendar file's secret URL and (for a booking answer) the customer's link."""
    out = await mapping.appointment_out(appt, svc.catalog)
    out.calendar_url = await _calendar_url(appt, svc, caller)
    if with_link:
        out.manage_url = await _customer_link(appt, svc)
    return _json(out, status)


router = APIRouter(
    prefix=API_PREFIX,
    # Any operation can refuse its input (parameters, body, Idempotency-Key; a NUL character anywhere)
    # and lose a dependency; each route adds the other problems it can answer (RFC 9457, all of them).
    responses=problem_answers(COMMON_PROBLEMS),
)

UNREADABLE_BODY = "The body could not be read"
NO_SHOPS = "No shops are configured"
UNKNOWN_APPOINTMENT = "No such appointment"
UNKNOWN_TECHNICIAN = "No such technician"
IN_FLIGHT = (
    "`idempotency_in_flight` (a request with the same Idempotency-Key is still being processed) or "
    "`idempotency_conflict` (another request with that key took effect first)"
)
SEARCH_PROBLEMS = problem_answers(
    {404: NO_SHOPS, 409: "`no_slot_available`: no shop lies within `radius_km` of the location"}
)


# -- slots ---------------------------------------------------------------------


async def _search(query: schemas.SlotQuery, svc: Services, caller: Caller) -> schemas.SlotSearchResponse:
    result = await svc.authorized.search(caller, mapping.search_from_query(query))
    return await mapping.search_out(result, svc.catalog)


@router.post(
    "/slots/available",
    response_model=schemas.SlotSearchResponse,
    tags=["slots"],
    responses={**SEARCH_PROBLEMS, **problem_answers({400: UNREADABLE_BODY})},
)
async def post_slots(query: schemas.SlotQuery, svc: Svc, caller: SearchCaller) -> schemas.SlotSearchResponse:
    """The best few slots for a job (the service card's example body), at the caller's shops."""
    return await _search(query, svc, caller)


@router.get("/slots/available", response_model=schemas.SlotSearchResponse, tags=["slots"], responses=SEARCH_PROBLEMS)
async def get_slots(
    query: Annotated[schemas.SlotSearchParams, Query()], svc: Svc, caller: SearchCaller
) -> schemas.SlotSearchResponse:
    """The same search as query parameters: ``lat``/``lon`` for the location, ``start``/``end`` for the window."""
    return await _search(query.as_query(), svc, caller)


# -- appointments ----------------------------------------------------------------


@router.post(
    "/appointments",
    status_code=201,
    response_model=schemas.AppointmentOut | SeriesCreated,
    tags=["appointments"],
    responses=problem_answers(
        {
            400: UNREADABLE_BODY,
            404: NO_SHOPS,
            409: "`slot_taken` (with fresh `alternatives`), `no_slot_available`, `daily_cap_reached`, the vehicle "
            "already booked at that time, `series_conflict` (a recurring series in `reject` mode: nothing was "
            "booked; `context.clashes` names each clashing occurrence with its same-day alternatives), or "
            + IN_FLIGHT,
            422: "Invalid request (`validation_error`, `invalid_request`), a chosen slot outside working hours "
            "(`outside_working_hours`) or without the skill or equipment (`missing_skill`, `missing_equipment`), "
            "a start inside the booking notice or beyond the booking horizon (`outside_booking_window`), or a "
            "recurrence the service does not accept (`invalid_recurrence`, `context.part` names the part)",
        }
    ),
)
async def create_appointment(
    body: schemas.AppointmentCreate, request: Request, svc: Svc, caller: WriteCaller
) -> Response:
    """Book (or, with ``hold: true``, hold for 15 minutes) a chosen slot or the best one; with ``recurrence``, a
    series of them (the answer is then the series)."""

    async def handle() -> Response:
        if body.recurrence is not None:
            from deployments.series_api import book_series  # it builds on this module's helpers

            return await book_series(body, svc, caller)
        search = SlotSearch(
            vehicle_id=body.vehicle_id,
            service_type=body.service_type,
            urgency=body.urgency,
            duration=dt.timedelta(hours=body.estimated_duration_hours) if body.estimated_duration_hours else None,
            preferred_date=body.preferred_date,
            customer_tier=body.customer.tier if body.customer else CustomerTier.REGULAR,
            shop_ids=(body.shop_id,) if body.shop_id else (),
            exact_start=body.datetime if not body.technician_id and not body.service_bay else None,
            location=GeoPoint(body.location.lat, body.location.lon) if body.location else None,
        )
        customer = mapping.customer_from(body.customer)
        try:
            if body.datetime is not None and (body.technician_id or body.service_bay):
                if not body.technician_id or not body.service_bay:
                    raise InvalidRequest(
                        "choose both technician_id and service_bay, or neither (the service then picks)",
                        field="technician_id" if not body.technician_id else "service_bay",
                    )
                appt = await svc.authorized.book_chosen(
                    caller,
                    search,
                    technician_id=body.technician_id,
                    bay=body.service_bay,
                    start=body.datetime,
                    customer=customer,
                    notes=body.notes,
                    hold=body.hold,
                    shop_id=body.shop_id,
                    search_id=str(body.search_id) if body.search_id else None,
                )
            else:
                appt = await svc.authorized.book_best(
                    caller,
                    search,
                    customer=customer,
                    notes=body.notes,
                    hold=body.hold,
                    search_id=str(body.search_id) if body.search_id else None,
                )
        except DomainError as exc:
            raise await _render(exc, svc) from None
        response = await _appointment_answer(appt, svc, caller, 201, with_link=True)
        response.headers["Location"] = f"{API_PREFIX}/appointments/{appt.id}"
        return response

    return await _idempotent(request, svc, caller, handle, created=True, with_link=True)


@router.post(
    "/appointments/{appointment_id}/confirm",
    response_model=schemas.AppointmentOut,
    tags=["appointments"],
    responses=problem_answers(
        {
            404: UNKNOWN_APPOINTMENT,
            409: "`invalid_transition` (the appointment was cancelled) or " + IN_FLIGHT,
            410: "`hold_expired`: the hold lapsed before it was confirmed",
        }
    ),
)
async def confirm_appointment(appointment_id: str, request: Request, svc: Svc, caller: WriteCaller) -> Response:
    """Confirm a hold (410 once it has expired)."""

    async def handle() -> Response:
        appt = await svc.authorized.confirm(caller, appointment_id)
        return await _appointment_answer(appt, svc, caller, with_link=True)

    return await _idempotent(request, svc, caller, handle, with_link=True)


@router.get("/appointments/vehicle/{vehicle_id}", response_model=schemas.AppointmentList, tags=["appointments"])
async def vehicle_appointments(
    vehicle_id: str, svc: Svc, caller: CurrentCaller, limit: Limit = 20, offset: Offset = 0
) -> Any:
    """A vehicle's appointments that the caller may see (its shops; a booking key: what it booked), newest first."""
    items, total = await svc.authorized.vehicle_appointments(caller, vehicle_id, limit=limit, offset=offset)
    return schemas.AppointmentList(
        items=[await mapping.appointment_out(a, svc.catalog) for a in items],
        page=schemas.Page(total=total, limit=limit, offset=offset),
    )


@router.get(
    "/appointments/{appointment_id}",
    response_model=schemas.AppointmentOut,
    tags=["appointments"],
    responses=problem_answers({404: UNKNOWN_APPOINTMENT}),
)
async def get_appointment(appointment_id: str, svc: Svc, caller: CallerOrLink) -> Any:
    """The appointment, with the state of its calendar invites."""
    appt = await svc.authorized.appointment(caller, appointment_id)
    out = await mapping.appointment_out(appt, svc.catalog)
    out.calendar_url = await _calendar_url(appt, svc, caller)
    deliveries = await svc.queries.invites(out.id)
    out.invites = [mapping.invite_out(d) for d in deliveries]
    return out


@router.put(
    "/appointments/{appointment_id}",
    response_model=schemas.AppointmentOut,
    tags=["appointments"],
    responses=problem_answers(
        {
            400: UNREADABLE_BODY,
            404: UNKNOWN_APPOINTMENT,
            409: "`slot_taken`, `daily_cap_reached`, the vehicle already booked at that time, `invalid_transition` "
            "(cancelled, finished or expired; or changed meanwhile), or " + IN_FLIGHT,
            422: "Invalid request (`validation_error`, `invalid_request`: e.g. a start in the past), or a time "
            "outside working hours or a technician or bay unfit for the job",
        }
    ),
)
async def update_appointment(
    appointment_id: str, body: schemas.AppointmentUpdate, request: Request, svc: Svc, caller: LinkWriteCaller
) -> Response:
    """Reschedule (new ``datetime``, optionally technician/bay) and/or edit notes and customer."""

    async def handle() -> Response:
        appt = await svc.authorized.appointment(caller, appointment_id)
        try:
            if body.datetime is not None:
                appt = await svc.authorized.reschedule(
                    caller,
                    appointment_id,
                    start=body.datetime,
                    technician_id=body.technician_id,
                    bay=body.service_bay,
                )
            if "notes" in body.model_fields_set or "customer" in body.model_fields_set:
                appt = await svc.authorized.update_details(
                    caller,
                    appointment_id,
                    notes=body.notes if "notes" in body.model_fields_set else appt.notes,
                    customer=mapping.customer_from(body.customer) if body.customer else appt.customer,
                )
        except DomainError as exc:
            raise await _render(exc, svc) from None
        return await _appointment_answer(appt, svc, caller)

    return await _idempotent(request, svc, caller, handle)


@router.delete(
    "/appointments/{appointment_id}",
    response_model=schemas.AppointmentOut,
    tags=["appointments"],
    responses=problem_answers(
        {
            404: UNKNOWN_APPOINTMENT,
            409: "`invalid_transition` (completed, no-show or expired) or " + IN_FLIGHT,
        }
    ),
)
async def cancel_appointment(
    appointment_id: str,
    request: Request,
    svc: Svc,
    caller: LinkWriteCaller,
    reason: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    """Cancel by the policy: free more than 24 h ahead, else late with the fee recorded.

    The appointment stays readable (``status: cancelled``, with its ``cancellation``); cancelling twice is a no-op.
    """

    async def handle() -> Response:
        appt = await svc.authorized.cancel(caller, appointment_id, reason=reason)
        return _json(await mapping.appointment_out(appt, svc.catalog))

    return await _idempotent(request, svc, caller, handle)


@router.get(
    "/appointments/{appointment_id}/calendar.ics",
    tags=["calendar"],
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}, **problem_answers({404: UNKNOWN_APPOINTMENT})},
)
async def appointment_ics(appointment_id: str, svc: Svc, access: CalendarAccess) -> Response:
    """The appointment as an RFC 5545 iCalendar file (with a key, a customer link, or its ``calendar_url``)."""
    caller, feed_token = access
    appt = await svc.authorized.appointment_for_calendar(appointment_id, caller=caller, feed_token=feed_token)
    return Response(await svc.calendar.appointment_ics(appt), media_type=ICS)


# -- technicians ---------------------------------------------------------------


@router.get("/technicians", response_model=schemas.TechnicianList, tags=["technicians"])
async def list_technicians(
    svc: Svc,
    caller: CurrentCaller,
    shop_id: Annotated[str | None, Query(max_length=100)] = None,
    skill: Annotated[str | None, Query(max_length=100)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Any:
    """The technicians of the caller's shops."""
    techs, total = await svc.authorized.technicians(caller, shop_id=shop_id, skill=skill, limit=limit, offset=offset)
    items = [mapping.technician_out(t, await svc.catalog.shop(t.shop_id)) for t in techs]
    return schemas.TechnicianList(items=items, page=schemas.Page(total=total, limit=limit, offset=offset))


@router.get(
    "/technicians/{technician_id}",
    response_model=schemas.TechnicianOut,
    tags=["technicians"],
    responses=problem_answers({404: UNKNOWN_TECHNICIAN}),
)
async def get_technician(technician_id: str, svc: Svc, caller: CurrentCaller) -> Any:
    tech = await svc.authorized.technician(caller, technician_id)
    return mapping.technician_out(tech, await svc.catalog.shop(tech.shop_id))


def _window(shop_tz: Any, start: str | None, end: str | None, now: dt.datetime) -> Interval:
    """``from``/``to`` as dates (local whole days) or datetimes with offsets; default: the next 7 days."""

    def parse(value: str, name: str, end_of_day: bool) -> dt.datetime:
        try:
            parsed: dt.date = (
                dt.date.fromisoformat(value)
                if len(value) == 10
                else dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            )
        except ValueError:
            raise InvalidRequest(
                f"{name} must be a date (YYYY-MM-DD) or a datetime with an offset", field=name
            ) from None
        if isinstance(parsed, dt.datetime) and parsed.utcoffset() is None:
            raise InvalidRequest(f"{name} must include a UTC offset, e.g. 2026-02-01T09:00:00-05:00", field=name)
        if not in_supported_range(parsed):
            raise InvalidRequest(f"{name} must lie {supported_range_text()}", field=name)
        if isinstance(parsed, dt.datetime):
            return parsed
        bounds = local_day_bounds(parsed, shop_tz)
        return bounds.end if end_of_day else bounds.start

    lo = parse(start, "from", False) if start else local_day_bounds(now.astimezone(shop_tz).date(), shop_tz).start
    hi = parse(end, "to", True) if end else lo + dt.timedelta(days=7)
    if hi <= lo:
        raise InvalidRequest("to must be after from", field="to")
    if hi - lo > dt.timedelta(days=92):
        raise InvalidRequest("a schedule covers at most 92 days", field="to")
    return Interval(lo, hi)


@router.get(
    "/technicians/{technician_id}/schedule",
    response_model=schemas.ScheduleOut,
    tags=["technicians"],
    responses=problem_answers(
        {
            404: UNKNOWN_TECHNICIAN,
            422: "`from`/`to` unreadable, without an offset, outside the supported dates, out of order, "
            "or more than 92 days apart (`invalid_request`, the field in `context`)",
        }
    ),
)
async def technician_schedule(
    technician_id: str,
    svc: Svc,
    caller: CurrentCaller,
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: Annotated[str | None, Query(max_length=40)] = None,
) -> Any:
    """Appointments, holds, working hours and free time, in the shop's time zone."""
    tech = await svc.authorized.technician(caller, technician_id, Action.READ_SCHEDULE)
    shop = await svc.catalog.shop(tech.shop_id)
    window = _window(shop.tz, from_, to, dt.datetime.now(dt.UTC))
    schedule = await svc.authorized.technician_schedule(caller, technician_id, window)
    token = await svc.authorized.technician_feed_token(caller, technician_id)

    def spans(intervals: Any) -> list[schemas.Span]:
        return [schemas.Span(start=mapping.local(i.start, shop), end=mapping.local(i.end, shop)) for i in intervals]

    return schemas.ScheduleOut(
        technician=mapping.technician_out(tech, shop),
        calendar_url=f"{svc.settings.base_url}{API_PREFIX}/technicians/{tech.id}/calendar.ics?token={token}",
        window=schemas.Span(start=mapping.local(window.start, shop), end=mapping.local(window.end, shop)),
        appointments=[await mapping.appointment_out(a, svc.catalog) for a in schedule.appointments],
        holds=[await mapping.appointment_out(a, svc.catalog) for a in schedule.holds],
        working_hours=spans(schedule.working),
        free=spans(schedule.free),
    )


@router.get(
    "/technicians/{technician_id}/calendar.ics",
    tags=["calendar"],
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}, **problem_answers({404: UNKNOWN_TECHNICIAN})},
)
async def technician_ics(technician_id: str, svc: Svc, access: CalendarAccess) -> Response:
    """A feed of the technician's appointments: subscribe to the schedule's ``calendar_url`` from any calendar app."""
    caller, feed_token = access
    tech = await svc.authorized.technician_for_feed(technician_id, caller=caller, feed_token=feed_token)
    return Response(await svc.calendar.technician_feed(tech), media_type=ICS)


def create_api() -> FastAPI:
    """The FastAPI application: routes, problem handlers, OpenAPI at /openapi.json, docs at /docs."""
    app = FastAPI(
        title="Scheduling Service",
        version="0.1.0",
        description="Service appointment optimization and management for vehicle service centers.",
    )
    install_problem_handlers(app)
    from deployments.kpi_api import router as kpi_router  # they build on this module's callers
    from deployments.lifecycle_api import router as lifecycle_router
    from deployments.mobile_api import router as mobile_router
    from deployments.replan_api import router as replan_router
    from deployments.series_api import router as series_router
    from deployments.shop_day_page import router as shop_day_router
    from deployments.waitlist_api import router as waitlist_router

    app.include_router(router)
    app.include_router(replan_router)
    app.include_router(series_router)
    app.include_router(lifecycle_router)
    app.include_router(kpi_router)
    app.include_router(waitlist_router)
    app.include_router(shop_day_router)
    app.include_router(mobile_router)

    def auth_disabled() -> bool:
        svc = getattr(app.state, "services", None) or registered_services()
        return svc is not None and svc.settings.auth_disabled

    app.add_middleware(RequireCredentials, prefix=API_PREFIX, disabled=auth_disabled)
    app.add_middleware(Observability)  # added last: the outermost, its request id covers everything

    @app.get("/healthz", tags=["ops"], responses=problem_answers({503: "The database is unreachable"}))
    async def healthz(request: Request) -> dict[str, str]:
        svc = services(request)
        await svc.queries.ping()
        return {"status": "ok"}

    install_openapi(app)
    return app
