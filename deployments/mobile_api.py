"""Mobile service over HTTP (issue 17): the service catalog, a technician's route, re-planning a shop-day."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query

from application.routes import RoutePlan, TechnicianRoute
from deployments.api import Svc, WriteCaller
from deployments.authentication import CurrentCaller
from deployments.mobile_schemas import (
    RoutePlanOut,
    RouteStopOut,
    ServiceTypeList,
    ServiceTypeOut,
    TechnicianRouteOut,
    VisitChangeOut,
)
from deployments.openapi import COMMON_PROBLEMS, problem_answers
from deployments.schemas import ArrivalWindow, SiteOut, SupportedDate
from domain.catalog import ServiceType
from domain.shop import Shop
from domain.time_windows import Interval

router = APIRouter(prefix="/api/v1", responses=problem_answers(COMMON_PROBLEMS))

Day = Annotated[SupportedDate, Query(alias="date", description="The shop-local date (YYYY-MM-DD).")]


@router.get(
    "/service-types",
    response_model=ServiceTypeList,
    tags=["catalog"],
    responses=problem_answers({403: "`forbidden`: customer links do not read the catalog"}),
)
async def list_service_types(svc: Svc, caller: CurrentCaller) -> Any:
    """The services a client may request: code, category, duration range, required skill and equipment, on site."""
    return ServiceTypeList(items=[_service_type_out(st) for st in await svc.authorized.service_types(caller)])


@router.get(
    "/technicians/{technician_id}/route",
    response_model=TechnicianRouteOut,
    tags=["technicians"],
    responses=problem_answers(
        {
            403: "`forbidden`: only staff and admin keys read a technician's day",
            404: "No such technician (or one outside the key's shops)",
        }
    ),
)
async def technician_route(technician_id: str, svc: Svc, caller: CurrentCaller, day: Day) -> Any:
    """A technician's on-site visits of one day in order, with the drive before each and the drive home."""
    route = await svc.authorized.technician_route(caller, technician_id, day)
    shop = await svc.catalog.shop(route.technician.shop_id)
    return _route_out(route, shop)


@router.post(
    "/shops/{shop_id}/routes/optimize",
    response_model=RoutePlanOut,
    tags=["technicians"],
    responses=problem_answers(
        {
            403: "`forbidden`: only staff and admin keys re-plan routes",
            404: "No such shop (or one outside the key's shops)",
            409: "`slot_taken`: the day kept changing under concurrent bookings; try again",
        }
    ),
)
async def optimize_routes(shop_id: str, svc: Svc, caller: WriteCaller, day: Day) -> Any:
    """Re-plan the day's on-site visits that have not started: order, times and technician, each inside its
    promised arrival window and every technician inside their hours, for the least driving. Applied at once."""
    plan = await svc.authorized.optimize_routes(caller, shop_id, day)
    shop = await svc.catalog.shop(shop_id)
    return _plan_out(plan, shop)


def _hours(span: dt.timedelta) -> float:
    return round(span.total_seconds() / 3600, 2)


def _service_type_out(st: ServiceType) -> ServiceTypeOut:
    low, high = st.duration_range
    return ServiceTypeOut(
        code=st.code,
        name=st.name,
        category=st.category.value,
        priority=st.priority.value,
        default_hours=_hours(st.default_duration),
        min_hours=_hours(low),
        max_hours=_hours(high),
        required_skill=st.required_skill,
        required_equipment=sorted(st.required_equipment),
        on_site=st.on_site,
    )


def _window(iv: Interval | None, shop: Shop) -> ArrivalWindow | None:
    if iv is None:
        return None
    return ArrivalWindow(start=iv.start.astimezone(shop.tz), end=iv.end.astimezone(shop.tz))


def _route_out(route: TechnicianRoute, shop: Shop) -> TechnicianRouteOut:
    base = route.technician.base
    return TechnicianRouteOut(
        technician_id=route.technician.id,
        date=route.day,
        base=SiteOut(lat=base.lat, lon=base.lon) if base else None,
        hours=_window(route.hours, shop),
        stops=[
            RouteStopOut(
                appointment_id=a.id,
                service_type=a.service_type,
                vehicle_id=a.vehicle_id,
                status=a.status.value,
                datetime=a.start.astimezone(shop.tz),
                estimated_completion=a.end.astimezone(shop.tz),
                arrival_window=_window(a.arrival_window, shop),
                location=SiteOut(lat=a.site.lat, lon=a.site.lon) if a.site else SiteOut(lat=0, lon=0),
                drive_minutes=leg.minutes,
                slack_minutes=max(0, leg.available - leg.minutes),
            )
            for a, leg in route.stops
        ],
        drive_home_minutes=route.home.minutes if route.home else 0,
        travel_minutes=route.travel_minutes,
    )


def _plan_out(plan: RoutePlan, shop: Shop) -> RoutePlanOut:
    return RoutePlanOut(
        shop_id=plan.shop_id,
        date=plan.day,
        visits=plan.visits,
        travel_minutes_before=plan.travel_before,
        travel_minutes_after=plan.travel_after,
        changes=[
            VisitChangeOut(
                appointment_id=c.appointment_id,
                technician_from=c.technician_from,
                technician_to=c.technician_to,
                datetime_from=c.start_from.astimezone(shop.tz),
                datetime_to=c.start_to.astimezone(shop.tz),
                arrival_window=ArrivalWindow(
                    start=c.arrival_window.start.astimezone(shop.tz), end=c.arrival_window.end.astimezone(shop.tz)
                ),
                reassigned=c.technician_from != c.technician_to,
            )
            for c in plan.changes
        ],
        attempts=plan.attempts,
    )
