"""HTTP shapes of mobile service (issue 17): the service catalog, a technician's route, a route re-plan."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from deployments.schemas import ArrivalWindow, SiteOut


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ServiceTypeOut(_Out):
    code: str
    name: str
    category: str
    priority: str
    default_hours: float
    min_hours: float
    max_hours: float
    """A request's ``estimated_duration_hours`` must lie in ``[min_hours, max_hours]``."""
    required_skill: str | None
    required_equipment: list[str]
    """In a bay's equipment, or, for on-site work, in the technician's van."""
    on_site: bool
    """Done at the customer's place by a mobile technician: the request needs a ``location``."""


class ServiceTypeList(_Out):
    items: list[ServiceTypeOut]


class RouteStopOut(_Out):
    appointment_id: str
    service_type: str
    vehicle_id: str
    status: str
    datetime: dt.datetime
    estimated_completion: dt.datetime
    arrival_window: ArrivalWindow | None = None
    location: SiteOut
    drive_minutes: int = Field(description="The drive to this stop from the base or the previous stop.")
    slack_minutes: int = Field(description="Time the schedule leaves for that drive, less the drive (never negative).")


class TechnicianRouteOut(_Out):
    technician_id: str
    date: dt.date
    base: SiteOut | None
    hours: ArrivalWindow | None = Field(None, description="The technician's working day (first start, last end).")
    stops: list[RouteStopOut]
    drive_home_minutes: int
    travel_minutes: int


class VisitChangeOut(_Out):
    appointment_id: str
    technician_from: str
    technician_to: str
    datetime_from: dt.datetime
    datetime_to: dt.datetime
    arrival_window: ArrivalWindow
    reassigned: bool


class RoutePlanOut(_Out):
    shop_id: str
    date: dt.date
    visits: int = Field(description="On-site visits of the day that could be re-planned (not started).")
    travel_minutes_before: int
    travel_minutes_after: int
    changes: list[VisitChangeOut]
    attempts: int = Field(description="Plans made: more than 1 when a booking changed the day meanwhile.")
