"""The HTTP API's request and response models (one model per boundary).

Field names follow the service card's example: ``recommended_slots`` with
``datetime``, ``technician{id,name,specialization,rating}``, ``service_bay``,
``parts_available``, ``estimated_completion``, ``confidence_score``.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal
from typing import Annotated, Literal, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from domain.customer import CustomerTier
from domain.time_windows import in_supported_range, supported_range_text
from domain.urgency import Urgency

Id = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:\-]+$")]
Hours = Annotated[float, Field(gt=0, le=24)]


_Day = TypeVar("_Day", dt.date, dt.datetime)


def _supported(value: _Day) -> _Day:
    if not in_supported_range(value):
        raise ValueError(f"must lie {supported_range_text()}")
    return value


SupportedDate = Annotated[dt.date, AfterValidator(_supported)]
"""A calendar date the service supports (``domain.time_windows``: years 1970..2199)."""
SupportedDatetime = Annotated[AwareDatetime, AfterValidator(_supported)]
"""An instant with its UTC offset, in the supported range (years 1970..2199 in UTC)."""
IN_RANGE = f"Must lie {supported_range_text()}."


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def _parse_urgency(value: object) -> object:
    return Urgency.parse(value) if isinstance(value, str) else value


class Location(_In):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


NOT_BLANK = r"\S"
"""Free text must hold more than whitespace: inputs are stripped, so the document says so (a blank one is a 422)."""

RuleText = Annotated[str, Field(min_length=1, max_length=300, pattern=NOT_BLANK)]

WALL_CLOCK_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"


def _wall_clock(value: object) -> object:
    if isinstance(value, dt.time) and value.tzinfo is None:
        return value
    if not isinstance(value, str) or not re.fullmatch(WALL_CLOCK_PATTERN, value):
        raise ValueError("must be a shop-local wall-clock time HH:MM[:SS], without an offset")
    return value


WallClock = Annotated[
    dt.time,
    BeforeValidator(_wall_clock),
    WithJsonSchema({"type": "string", "pattern": WALL_CLOCK_PATTERN, "examples": ["08:00"]}),
]
"""A time of day on the shop's clock (``08:00``): no offset, since it means that wall time on every date."""


class TimeWindow(_In):
    """A shop-local wall-clock window, e.g. ``{"start": "08:00", "end": "12:00"}``."""

    start: WallClock
    end: WallClock

    @model_validator(mode="after")
    def _ordered(self) -> TimeWindow:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class _SlotSearchFields(_In):
    """What a slot search takes in both spellings (JSON body and query parameters)."""

    vehicle_id: Id
    service_type: Id
    urgency: Urgency = Urgency.MEDIUM
    preferred_date: SupportedDate | None = Field(
        default=None, description="The customer's preferred local date (ignored when in the past). " + IN_RANGE
    )
    preferred_technician_id: Id | None = None
    estimated_duration_hours: Hours | None = None
    customer_tier: CustomerTier = CustomerTier.REGULAR
    shop_id: Id | None = None
    shop_ids: list[Id] | None = Field(default=None, max_length=200)
    earliest: SupportedDatetime | None = Field(
        default=None, description="Offer nothing before this instant (never before now). " + IN_RANGE
    )
    search_days: int = Field(default=14, ge=1, le=60)
    top_k: int = Field(default=3, ge=1, le=10)

    _urgency = field_validator("urgency", mode="before")(_parse_urgency)


class SlotQuery(_SlotSearchFields):
    """``POST /slots/available``: the service card's example body."""

    preferred_time_window: TimeWindow | None = None
    location: Location | None = None
    radius_km: float | None = Field(default=None, gt=0, le=20_000, description="Needs a location.")

    @model_validator(mode="after")
    def _radius_needs_location(self) -> SlotQuery:
        if self.radius_km is not None and self.location is None:
            raise ValueError("radius_km needs a location {lat, lon}")
        return self


class SlotSearchParams(_SlotSearchFields):
    """``GET /slots/available``: the same search as flat query parameters.

    ``lat``/``lon`` (and ``radius_km``) spell the body's ``location``,
    ``start``/``end`` its ``preferred_time_window``.
    """

    lat: float | None = Field(default=None, ge=-90, le=90, description="The vehicle's latitude (with lon).")
    lon: float | None = Field(
        default=None, ge=-180, le=180, validate_default=True, description="The vehicle's longitude (with lat)."
    )
    radius_km: float | None = Field(
        default=None, gt=0, le=20_000, validate_default=True, description="Needs lat and lon."
    )
    start: WallClock | None = Field(default=None, description="Preferred local start, e.g. 08:00 (with end).")
    end: WallClock | None = Field(
        default=None, validate_default=True, description="Preferred local end, after start, e.g. 12:00 (with start)."
    )

    @field_validator("lon")
    @classmethod
    def _lat_and_lon_together(cls, lon: float | None, info: ValidationInfo) -> float | None:
        if "lat" in info.data and (info.data["lat"] is None) != (lon is None):
            raise ValueError("give lat and lon together")
        return lon

    @field_validator("radius_km")
    @classmethod
    def _radius_needs_location(cls, radius: float | None, info: ValidationInfo) -> float | None:
        if radius is not None and "lon" in info.data and info.data["lon"] is None:
            raise ValueError("radius_km needs lat and lon")
        return radius

    @field_validator("end")
    @classmethod
    def _window_is_whole(cls, end: dt.time | None, info: ValidationInfo) -> dt.time | None:
        if "start" not in info.data:
            return end
        start = info.data["start"]
        if (start is None) != (end is None):
            raise ValueError("give start and end together")
        if start is not None and end is not None and end <= start:
            raise ValueError("end must be after start")
        return end

    def as_query(self) -> SlotQuery:
        """The body-shaped search these parameters spell."""
        fields = self.model_dump(exclude={"lat", "lon", "start", "end"}, exclude_unset=True)
        if self.lat is not None and self.lon is not None:
            fields["location"] = Location(lat=self.lat, lon=self.lon)
        if self.start is not None and self.end is not None:
            fields["preferred_time_window"] = TimeWindow(start=self.start, end=self.end)
        return SlotQuery.model_validate(fields)


class TechnicianRef(_Out):
    id: str
    name: str
    specialization: str
    rating: float


class ArrivalWindow(_Out):
    start: dt.datetime
    end: dt.datetime


class SiteOut(_Out):
    lat: float
    lon: float


class RecommendedSlot(_Out):
    datetime: dt.datetime
    technician: TechnicianRef
    service_bay: str
    service_bay_id: str
    shop_id: str
    parts_available: bool
    parts_source: Literal["inventory", "local"] | None = Field(
        None,
        description="Who answered the parts check: the Inventory Service, or the local stock table (also when the "
        "Inventory Service is configured but did not answer); null when the job needs no parts.",
    )
    estimated_completion: dt.datetime
    confidence_score: float
    penalties: dict[str, float] = Field(default_factory=dict)
    requires_reassignment: int = 0
    """Booked appointments that get another technician or bay (never another time) if this slot is booked."""
    arrival_window: ArrivalWindow | None = Field(
        None,
        description="On-site work: when the technician is promised to arrive (`ARRIVAL_WINDOW_MINUTES` on a grid "
        "from local midnight); `datetime` is the planned start inside it. Null for work in a bay.",
    )


class SlotSearchResponse(_Out):
    recommended_slots: list[RecommendedSlot]
    explanation: list[str] = Field(default_factory=list)
    suggested_date: dt.date | None = None
    shops_searched: list[str] = Field(default_factory=list)
    search_id: str | None = Field(
        default=None,
        description="This search's id: send it back as `search_id` when booking one of its slots (the KPIs "
        "count which searches ended in a booking, and whether it took the first slot).",
    )


class CustomerIn(_In):
    name: str | None = Field(default=None, max_length=200)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=50)
    tier: CustomerTier = CustomerTier.REGULAR


class RecurrenceFields(_In):
    """The RRULE's parts as JSON (``{"freq": "WEEKLY", "count": 8}``): the same rule, the same checks."""

    freq: str = Field(max_length=20, description="`WEEKLY` or `MONTHLY`.")
    interval: int | None = Field(default=None, ge=-1000, le=1000)
    count: int | None = Field(default=None, ge=-100_000, le=100_000, description="At most 52.")
    until: AwareDatetime | dt.date | None = Field(default=None, description="At most two years after the start.")
    byday: list[Annotated[str, Field(max_length=8)]] | None = Field(
        default=None, max_length=7, description="`MO`..`SU`; with MONTHLY also `1MO`, `-1FR`."
    )
    bymonthday: list[int] | None = Field(default=None, max_length=31, description="With MONTHLY: 1..31, -31..-1.")

    def rrule(self) -> str:
        """The RFC 5545 text of these parts (checked as any RRULE: a bad part is a 422 naming it)."""
        parts = [f"FREQ={self.freq}"]
        if self.interval is not None:
            parts.append(f"INTERVAL={self.interval}")
        if self.count is not None:
            parts.append(f"COUNT={self.count}")
        if isinstance(self.until, dt.datetime):
            parts.append(f"UNTIL={self.until.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}")
        elif self.until is not None:
            parts.append(f"UNTIL={self.until:%Y%m%d}")
        if self.byday:
            parts.append("BYDAY=" + ",".join(self.byday))
        if self.bymonthday:
            parts.append("BYMONTHDAY=" + ",".join(str(d) for d in self.bymonthday))
        return ";".join(parts)


class AppointmentCreate(_In):
    """``POST /appointments``: a chosen slot, or only a time/date and the service picks."""

    vehicle_id: Id
    service_type: Id
    urgency: Urgency = Urgency.MEDIUM
    datetime: SupportedDatetime | None = Field(
        default=None, description="The start, with its UTC offset (a slot's datetime). " + IN_RANGE
    )
    technician_id: Id | None = None
    service_bay: Annotated[str, Field(min_length=1, max_length=100, pattern=NOT_BLANK)] | None = None
    shop_id: Id | None = None
    location: Location | None = Field(
        default=None, description="Where an on-site service is done (required for an `on_site` service type)."
    )
    preferred_date: SupportedDate | None = Field(default=None, description="The preferred local date. " + IN_RANGE)
    estimated_duration_hours: Hours | None = None
    customer: CustomerIn | None = None
    notes: str | None = Field(default=None, max_length=4000)
    hold: bool = False
    search_id: uuid.UUID | None = Field(
        default=None,
        description="The `search_id` of the slot search this booking follows (for the KPIs). Without it, the "
        "caller's latest search for the same vehicle and service type within 24 h is taken.",
    )
    recurrence: RuleText | RecurrenceFields | None = Field(
        default=None,
        description="An RFC 5545 RRULE (subset: FREQ=WEEKLY|MONTHLY, INTERVAL, COUNT<=52 or UNTIL<=2 years, "
        "BYDAY, BYMONTHDAY), e.g. `FREQ=WEEKLY;COUNT=8`, or the same parts as JSON (`{\"freq\": \"WEEKLY\", "
        "\"count\": 8}`): books a series from `datetime`, each occurrence at the same shop-local time (answer: the "
        "series). Needs `datetime`, and `shop_id` or a chosen technician.",
    )
    conflicts: Literal["reject", "alternatives"] = Field(
        default="reject",
        description="With `recurrence`: `reject` books all or nothing (409 `series_conflict` naming each clash "
        "with same-day alternatives); `alternatives` moves each clashing occurrence to its nearest free time.",
    )

    _urgency = field_validator("urgency", mode="before")(_parse_urgency)

    @model_validator(mode="after")
    def _slot_is_whole(self) -> AppointmentCreate:
        if (self.technician_id or self.service_bay) and self.datetime is None:
            raise ValueError("a chosen technician_id or service_bay needs a datetime")
        if self.recurrence is not None and self.datetime is None:
            raise ValueError("a recurrence needs the first occurrence's datetime")
        if self.recurrence is not None and self.hold:
            raise ValueError("a recurring series cannot be held; book it")
        return self

    @property
    def rrule(self) -> str | None:
        """``recurrence`` as RRULE text, whichever way it was spelled."""
        return self.recurrence.rrule() if isinstance(self.recurrence, RecurrenceFields) else self.recurrence


class AppointmentUpdate(_In):
    """``PUT /appointments/{id}``: reschedule (``datetime``) and/or edit notes and customer."""

    datetime: SupportedDatetime | None = Field(
        default=None, description="The new start, with its UTC offset. " + IN_RANGE
    )
    technician_id: Id | None = None
    service_bay: Annotated[str, Field(min_length=1, max_length=100, pattern=NOT_BLANK)] | None = None
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


class ProgressOut(_Out):
    """When each step after booking happened, and the job's actual times (null: not (yet) happened)."""

    checked_in_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    no_show_at: dt.datetime | None = None
    actual_start: dt.datetime | None = None
    actual_end: dt.datetime | None = None


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
    progress: ProgressOut | None = None
    """Check-in, start, completion or no-show, once any of them happened."""
    created_at: dt.datetime
    invites: list[InviteOut] = Field(default_factory=list)
    """Calendar invite deliveries (``GET /appointments/{id}`` only; empty elsewhere)."""
    manage_url: str | None = None
    """The customer's link (booking answers only): read, reschedule and cancel this one appointment, no key
    needed; it dies when the appointment ends or is cancelled. Hand it to the customer, not to a log."""
    calendar_url: str | None = None
    """The appointment's ``.ics`` at a secret URL (calendar apps cannot send keys); single-appointment answers."""
    series_id: str | None = None
    """The recurring series it is an occurrence of (``GET /series/{series_id}``); null for a single booking."""
    location: SiteOut | None = None
    """On-site work: where it is done; null for work in a bay."""
    arrival_window: ArrivalWindow | None = None
    """On-site work: the arrival window the customer was promised (route changes stay inside it)."""


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
    mobile: bool = False
    """Works on site from a van: books on-site services only (its van is the job's bay)."""


class TechnicianList(_Out):
    items: list[TechnicianOut]
    page: Page


class Span(_Out):
    start: dt.datetime
    end: dt.datetime


class ScheduleOut(_Out):
    technician: TechnicianOut
    calendar_url: str | None = None
    """The technician's subscribable feed at a secret URL (calendar apps cannot send keys)."""
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
