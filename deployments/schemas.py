"""The HTTP API's request and response models (one model per boundary).

Field names follow the service card's example: ``recommended_slots`` with
``datetime``, ``technician{id,name,specialization,rating}``, ``service_bay``,
``parts_available``, ``estimated_completion``, ``confidence_score``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

from domain.customer import CustomerTier
from domain.urgency import Urgency

Id = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:\-]+$")]
Hours = Annotated[float, Field(gt=0, le=24)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def _parse_urgency(value: object) -> object:
    return Urgency.parse(value) if isinstance(value, str) else value


class Location(_In):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class TimeWindow(_In):
    """A shop-local wall-clock window, e.g. ``{"start": "08:00", "end": "12:00"}``."""

    start: dt.time
    end: dt.time

    @model_validator(mode="after")
    def _ordered(self) -> TimeWindow:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class SlotQuery(_In):
    """``POST /slots/available`` (and the same fields as ``GET`` query parameters)."""

    vehicle_id: Id
    service_type: Id
    urgency: Urgency = Urgency.MEDIUM
    preferred_date: dt.date | None = None
    preferred_time_window: TimeWindow | None = None
    preferred_technician_id: Id | None = None
    estimated_duration_hours: Hours | None = None
    customer_tier: CustomerTier = CustomerTier.REGULAR
    shop_id: Id | None = None
    shop_ids: list[Id] | None = Field(default=None, max_length=200)
    location: Location | None = None
    radius_km: float | None = Field(default=None, gt=0, le=20_000)
    earliest: AwareDatetime | None = None
    search_days: int = Field(default=14, ge=1, le=60)
    top_k: int = Field(default=3, ge=1, le=10)

    _urgency = field_validator("urgency", mode="before")(_parse_urgency)

    @model_validator(mode="after")
    def _radius_needs_location(self) -> SlotQuery:
        if self.radius_km is not None and self.location is None:
            raise ValueError("radius_km needs a location {lat, lon}")
        return self


class TechnicianRef(_Out):
    id: str
    name: str
    specialization: str
    rating: float


class RecommendedSlot(_Out):
    datetime: dt.datetime
    technician: TechnicianRef
    service_bay: str
    service_bay_id: str
    shop_id: str
    parts_available: bool
    estimated_completion: dt.datetime
    confidence_score: float
    penalties: dict[str, float] = Field(default_factory=dict)


class SlotSearchResponse(_Out):
    recommended_slots: list[RecommendedSlot]
    explanation: list[str] = Field(default_factory=list)
    suggested_date: dt.date | None = None
    shops_searched: list[str] = Field(default_factory=list)


class CustomerIn(_In):
    name: str | None = Field(default=None, max_length=200)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=50)
    tier: CustomerTier = CustomerTier.REGULAR


class AppointmentCreate(_In):
    """``POST /appointments``: a chosen slot, or only a time/date and the service picks."""

    vehicle_id: Id
    service_type: Id
    urgency: Urgency = Urgency.MEDIUM
    datetime: AwareDatetime | None = None
    technician_id: Id | None = None
    service_bay: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    shop_id: Id | None = None
    preferred_date: dt.date | None = None
    estimated_duration_hours: Hours | None = None
    customer: CustomerIn | None = None
    notes: str | None = Field(default=None, max_length=4000)
    hold: bool = False

    _urgency = field_validator("urgency", mode="before")(_parse_urgency)

    @model_validator(mode="after")
    def _slot_is_whole(self) -> AppointmentCreate:
        if (self.technician_id or self.service_bay) and self.datetime is None:
            raise ValueError("a chosen technician_id or service_bay needs a datetime")
        return self


class AppointmentUpdate(_In):
    """``PUT /appointments/{id}``: reschedule (``datetime``) and/or edit notes and customer."""

    datetime: AwareDatetime | None = None
    technician_id: Id | None = None
    service_bay: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    notes: str | None = Field(default=None, max_length=4000)
    customer: CustomerIn | None = None

    @model_validator(mode="after")
    def _something(self) -> AppointmentUpdate:
        if not self.model_fields_set:
            raise ValueError("nothing to change: give datetime, technician_id, service_bay, notes or customer")
        if (self.technician_id or self.service_bay) and self.datetime is None:
            raise ValueError("moving to another technician or bay needs a datetime")
        return self


class CancellationOut(_Out):
    cancelled_at: dt.datetime
    late: bool
    fee: Decimal
    reason: str | None = None


class CustomerOut(_Out):
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    tier: CustomerTier = CustomerTier.REGULAR


class InviteOut(_Out):
    """A calendar invite's delivery at one provider (Google, Graph, email)."""

    provider: str
    state: str
    operation: str
    sequence: int
    provider_event_id: str | None = None
    attempts: int = 0
    last_error: str | None = None
    next_attempt_at: dt.datetime | None = None
    updated_at: dt.datetime


class AppointmentOut(_Out):
    id: str
    status: str
    vehicle_id: str
    service_type: str
    urgency: Urgency
    datetime: dt.datetime
    estimated_completion: dt.datetime
    technician: TechnicianRef
    service_bay: str
    service_bay_id: str
    shop_id: str
    parts_available: bool
    parts_ready_at: dt.datetime | None = None
    hold_expires_at: dt.datetime | None = None
    customer: CustomerOut
    notes: str | None = None
    sequence: int
    cancellation: CancellationOut | None = None
    created_at: dt.datetime
    invites: list[InviteOut] = Field(default_factory=list)
    """Calendar invite deliveries (``GET /appointments/{id}`` only; empty elsewhere)."""


class Page(_Out):
    total: int
    limit: int
    offset: int


class AppointmentList(_Out):
    items: list[AppointmentOut]
    page: Page


class TechnicianOut(_Out):
    id: str
    shop_id: str
    name: str
    specialization: str
    rating: float
    years_experience: int
    skills: list[str]
    email: str | None = None
    working_hours: dict[str, list[list[str]]]
    """ISO weekday (1 = Monday) → local ``[opens, closes]`` windows."""
    timezone: str


class TechnicianList(_Out):
    items: list[TechnicianOut]
    page: Page


class Span(_Out):
    start: dt.datetime
    end: dt.datetime


class ScheduleOut(_Out):
    technician: TechnicianOut
    window: Span
    appointments: list[AppointmentOut]
    holds: list[AppointmentOut]
    working_hours: list[Span]
    free: list[Span]


class Problem(BaseModel):
    """RFC 9457 problem details, with machine-readable extensions."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    code: str
    errors: list[dict[str, str]] | None = None
    alternatives: list[RecommendedSlot] | None = None
