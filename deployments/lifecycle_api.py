"""The lifecycle after booking over HTTP: check in, start, complete, no-show (staff and admin keys)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response

from application.access import Caller
from deployments import mapping, schemas
from deployments.api import IN_FLIGHT, UNKNOWN_APPOINTMENT, UNREADABLE_BODY, Svc, WriteCaller, _idempotent, _json
from deployments.lifecycle_schemas import CompleteIn, StartIn
from deployments.openapi import COMMON_PROBLEMS, problem_answers
from deployments.services import Services
from domain.appointment import Appointment

router = APIRouter(prefix="/api/v1", tags=["lifecycle"], responses=problem_answers(COMMON_PROBLEMS))

FORBIDDEN = "`forbidden`: only staff and admin keys run the lifecycle"
ILLEGAL = "`invalid_transition`: the step is not allowed from the appointment's status (`current` names it); or "


def _answers(conflict: str, invalid: str | None = None) -> dict[int | str, dict[str, Any]]:
    problems: dict[int, str] = {403: FORBIDDEN, 404: UNKNOWN_APPOINTMENT, 409: ILLEGAL + conflict}
    if invalid:  # the steps that take a body: it can also be unreadable
        problems[422] = invalid
        problems[400] = UNREADABLE_BODY
    return problem_answers(problems)


async def _answer(
    request: Request, svc: Services, caller: Caller, step: Callable[[], Awaitable[Appointment]]
) -> Response:
    """Run the step under the caller's ``Idempotency-Key``; answer the appointment as it now stands."""

    async def handle() -> Response:
        return _json(await mapping.appointment_out(await step(), svc.catalog))

    return await _idempotent(request, svc, caller, handle)


@router.post(
    "/appointments/{appointment_id}/check-in",
    response_model=schemas.AppointmentOut,
    responses=_answers(IN_FLIGHT),
)
async def check_in(appointment_id: str, request: Request, svc: Svc, caller: WriteCaller) -> Response:
    """The vehicle has arrived: `scheduled` → `checked_in` (`appointment.checked_in`)."""
    return await _answer(request, svc, caller, lambda: svc.authorized.check_in(caller, appointment_id))


@router.post(
    "/appointments/{appointment_id}/start",
    response_model=schemas.AppointmentOut,
    responses=_answers(IN_FLIGHT, "`actual_start` without an offset or in the future"),
)
async def start(
    appointment_id: str, request: Request, svc: Svc, caller: WriteCaller, body: StartIn | None = None
) -> Response:
    """Work begins: `checked_in` → `in_progress` (`appointment.started`)."""
    actual_start = body.actual_start if body else None
    return await _answer(
        request, svc, caller, lambda: svc.authorized.start(caller, appointment_id, actual_start=actual_start)
    )


@router.post(
    "/appointments/{appointment_id}/complete",
    response_model=schemas.AppointmentOut,
    responses=_answers(IN_FLIGHT, "`actual_end` not after `actual_start`, or either in the future"),
)
async def complete(
    appointment_id: str, request: Request, svc: Svc, caller: WriteCaller, body: CompleteIn | None = None
) -> Response:
    """The job is done: `in_progress` → `completed` (`appointment.completed`); unused booked time is free at once."""
    given = body or CompleteIn()

    def step() -> Awaitable[Appointment]:
        return svc.authorized.complete(
            caller, appointment_id, actual_start=given.actual_start, actual_end=given.actual_end, notes=given.notes
        )

    return await _answer(request, svc, caller, step)


@router.post(
    "/appointments/{appointment_id}/no-show",
    response_model=schemas.AppointmentOut,
    responses=_answers("earlier than `NO_SHOW_GRACE_MINUTES` past the start (`allowed_from`), or " + IN_FLIGHT),
)
async def no_show(appointment_id: str, request: Request, svc: Svc, caller: WriteCaller) -> Response:
    """The vehicle did not come: `scheduled` → `no_show` (`appointment.no_show`), its time freed."""
    return await _answer(request, svc, caller, lambda: svc.authorized.no_show(caller, appointment_id))
