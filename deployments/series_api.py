"""Recurring series over HTTP: booked by ``POST /appointments`` with ``recurrence``, read and cancelled here."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from application.access import Caller
from application.series import BookedSeries, ConflictMode, SeriesRequest
from application.slot_search import SlotSearch
from deployments import mapping, schemas
from deployments.api import API_PREFIX, ICS, Svc, WriteCaller, _calendar_url, _render
from deployments.authentication import CurrentCaller
from deployments.openapi import COMMON_PROBLEMS, problem_answers
from deployments.series_schemas import OccurrenceOut, SeriesCreated, SeriesOut
from deployments.services import Services
from domain.appointment import Appointment
from domain.customer import CustomerTier
from domain.errors import DomainError

UNKNOWN = "No such series (or none of its occurrences is within the key's scope)"

router = APIRouter(prefix=API_PREFIX, tags=["appointments"], responses=problem_answers(COMMON_PROBLEMS))


@router.get("/series/{series_id}", response_model=SeriesOut, responses=problem_answers({404: UNKNOWN}))
async def get_series(series_id: str, svc: Svc, caller: CurrentCaller) -> Any:
    """A series' occurrences (every status, by start): those the caller may read."""
    return await _series_answer(series_id, await svc.authorized.series(caller, series_id), svc, caller)


@router.get(
    "/series/{series_id}/calendar.ics",
    tags=["calendar"],
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}, **problem_answers({404: UNKNOWN})},
)
async def series_ics(series_id: str, svc: Svc, caller: CurrentCaller) -> Response:
    """The series as an RFC 5545 file: one event per occurrence (those the caller may read; cancelled ones stay,
    marked cancelled), each the event its own invite carries."""
    occurrences = await svc.authorized.series(caller, series_id)
    return Response(await svc.calendar.series_ics(series_id, occurrences), media_type=ICS)


@router.delete("/series/{series_id}", response_model=SeriesOut, responses=problem_answers({404: UNKNOWN}))
async def cancel_series(
    series_id: str,
    svc: Svc,
    caller: WriteCaller,
    from_: Annotated[
        schemas.SupportedDatetime | None,
        Query(
            alias="from",
            description="Cancel the occurrences starting at or after this instant (with its UTC offset; an "
            "occurrence's datetime cancels it and the following); without it, all.",
        ),
    ] = None,
) -> Any:
    """Cancel this and the following occurrences (or all), each by the cancellation policy; the series after."""
    since = from_.astimezone(dt.UTC) if from_ is not None else None
    after = await svc.authorized.cancel_series(caller, series_id, since=since, reason="series cancelled")
    return await _series_answer(series_id, after, svc, caller)


async def book_series(body: schemas.AppointmentCreate, svc: Services, caller: Caller) -> JSONResponse:
    """The ``POST /appointments`` answer for a body with ``recurrence``: 201 with the series."""
    assert body.rrule is not None and body.datetime is not None  # the schema's validator saw to it
    request = SeriesRequest(
        search=SlotSearch(
            vehicle_id=body.vehicle_id,
            service_type=body.service_type,
            urgency=body.urgency,
            duration=dt.timedelta(hours=body.estimated_duration_hours) if body.estimated_duration_hours else None,
            customer_tier=body.customer.tier if body.customer else CustomerTier.REGULAR,
            shop_ids=(body.shop_id,) if body.shop_id else (),
        ),
        start=body.datetime,
        recurrence=body.rrule,
        customer=mapping.customer_from(body.customer),
        notes=body.notes,
        technician_id=body.technician_id,
        bay=body.service_bay,
        shop_id=body.shop_id,
        conflicts=ConflictMode(body.conflicts),
    )
    try:
        booked = await svc.authorized.book_series(caller, request)
    except DomainError as exc:
        raise await _render(exc, svc) from None
    out = await _created(booked, svc, caller)
    response = JSONResponse(out.model_dump(mode="json"), status_code=201)
    response.headers["Location"] = f"{API_PREFIX}/series/{booked.series_id}"
    return response


async def _appointment_out(appt: Appointment, svc: Services, caller: Caller) -> schemas.AppointmentOut:
    out = await mapping.appointment_out(appt, svc.catalog)
    out.calendar_url = await _calendar_url(appt, svc, caller)
    return out


async def _created(booked: BookedSeries, svc: Services, caller: Caller) -> SeriesCreated:
    occurrences = []
    for occ in booked.occurrences:
        shop = await svc.catalog.shop(occ.appointment.shop_id) if occ.appointment else None
        occurrences.append(
            OccurrenceOut(
                requested=mapping.local(occ.requested, shop) if shop else occ.requested,
                moved=occ.moved,
                reason=occ.reason,
                appointment=await _appointment_out(occ.appointment, svc, caller) if occ.appointment else None,
            )
        )
    return SeriesCreated(series_id=booked.series_id, recurrence=booked.recurrence, occurrences=occurrences)


async def _series_answer(series_id: str, appts: list[Appointment], svc: Services, caller: Caller) -> JSONResponse:
    out = SeriesOut(
        series_id=series_id,
        recurrence=next((a.recurrence for a in appts if a.recurrence), None),
        appointments=[await _appointment_out(a, svc, caller) for a in appts],
    )
    return JSONResponse(out.model_dump(mode="json"))
