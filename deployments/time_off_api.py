"""A technician's time off over HTTP: record it (replanning what it falls on), list it, withdraw it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from application.time_off import Change, TimeOffPlan
from deployments import mapping
from deployments.api import Svc, WriteCaller
from deployments.authentication import CurrentCaller
from deployments.openapi import COMMON_PROBLEMS, problem_answers
from deployments.time_off_schemas import ChangeOut, Placement, TimeOffIn, TimeOffList, TimeOffOut, TimeOffPlanOut
from domain.shop import Shop
from domain.time_windows import Interval
from store.absence_repository import Absence

UNKNOWN = "No such technician (or one outside the key's shops)"

router = APIRouter(prefix="/api/v1", tags=["technicians"], responses=problem_answers(COMMON_PROBLEMS))


@router.post(
    "/technicians/{technician_id}/time-off",
    response_model=TimeOffPlanOut,
    status_code=201,
    responses=problem_answers(
        {
            400: "The body could not be read",
            403: "`forbidden`: only staff and admin keys record time off",
            404: UNKNOWN,
            422: "`from`/`to` without an offset, out of order, or more than 90 days apart",
        }
    ),
)
async def record_time_off(
    technician_id: str,
    body: TimeOffIn,
    svc: Svc,
    caller: WriteCaller,
    dry_run: Annotated[bool, Query(description="Answer the plan without applying it")] = False,
) -> Any:
    """Record time off (merged with any it overlaps) and replan every appointment in it; the answer lists each."""
    plan = await svc.authorized.record_time_off(caller, technician_id, _interval(body), body.reason, dry_run=dry_run)
    shop = await svc.catalog.shop((await svc.catalog.technician(technician_id)).shop_id)
    out = plan_out(plan, shop)
    return JSONResponse(out.model_dump(mode="json", by_alias=True), status_code=200 if dry_run else 201)


@router.get(
    "/technicians/{technician_id}/time-off",
    response_model=TimeOffList,
    responses=problem_answers({403: "`forbidden`: only staff and admin keys", 404: UNKNOWN}),
)
async def list_time_off(technician_id: str, svc: Svc, caller: CurrentCaller) -> Any:
    """The time off recorded through the API (the shop file's own time off is not listed)."""
    absences = await svc.authorized.time_off(caller, technician_id)
    shop = await svc.catalog.shop((await svc.catalog.technician(technician_id)).shop_id)
    out = TimeOffList(time_off=[absence_out(a, shop) for a in absences])
    return JSONResponse(out.model_dump(mode="json", by_alias=True))


@router.delete(
    "/technicians/{technician_id}/time-off/{time_off_id}",
    response_model=TimeOffOut,
    responses=problem_answers(
        {403: "`forbidden`: only staff and admin keys", 404: UNKNOWN + ", or no such time off of theirs"}
    ),
)
async def withdraw_time_off(technician_id: str, time_off_id: str, svc: Svc, caller: WriteCaller) -> Any:
    """Withdraw time off: the technician works then again (appointments moved away stay where they went)."""
    gone = await svc.authorized.withdraw_time_off(caller, technician_id, time_off_id)
    shop = await svc.catalog.shop((await svc.catalog.technician(technician_id)).shop_id)
    return JSONResponse(absence_out(gone, shop).model_dump(mode="json", by_alias=True))


def _interval(body: TimeOffIn) -> Interval:
    from domain.errors import InvalidRequest

    if body.to <= body.from_:
        raise InvalidRequest("time off must end after it starts", field="to")
    return Interval(body.from_.astimezone(dt.UTC), body.to.astimezone(dt.UTC))


def absence_out(a: Absence, shop: Shop) -> TimeOffOut:
    return TimeOffOut(
        id=a.id,
        technician_id=a.technician_id,
        from_=mapping.local(a.interval.start, shop),
        to=mapping.local(a.interval.end, shop),
        reason=a.reason,
    )


def plan_out(plan: TimeOffPlan, shop: Shop) -> TimeOffPlanOut:
    def place(p: tuple[str, str, dt.datetime] | None) -> Placement | None:
        return (
            None
            if p is None
            else Placement(technician_id=p[0], service_bay_id=p[1], datetime=mapping.local(p[2], shop))
        )

    def changes(outcome: str) -> list[ChangeOut]:
        picked: list[Change] = [c for c in plan.changes if c.outcome == outcome]
        return [
            ChangeOut(appointment_id=c.appointment_id, reason=c.reason, before=place(c.before), after=place(c.after))
            for c in picked
        ]

    return TimeOffPlanOut(
        time_off=TimeOffOut(
            id=plan.absence_id,
            technician_id=plan.technician_id,
            from_=mapping.local(plan.interval.start, shop),
            to=mapping.local(plan.interval.end, shop),
            reason=plan.reason,
        ),
        dry_run=plan.dry_run,
        kept=changes("kept"),
        reassigned=changes("reassigned"),
        rescheduled=changes("rescheduled"),
        unplaced=changes("unplaced"),
    )
