"""From a vehicle alert (or an agent's decision) to a job, and whether to book it unasked.

The rules, in one place:

* **Service type.** A recommended service that names a known service type (or
  one of its aliases) wins; else the alert's component maps through
  ``SERVICE_TYPE_BY_COMPONENT``; anything unknown becomes ``diagnostic`` (a
  technician looks before anyone replaces parts).
* **Urgency** is the alert's severity (``critical``, ``HIGH``, ``warning``, ...).
* **Auto-booking** (``plan_booking``), only with ``AUTO_BOOK_CRITICAL_ALERTS``:

  - ``CRITICAL`` and an emergency service → the *immediate next feasible slot*;
  - ``CRITICAL`` and any other service (component repair, or a diagnostic for
    an unknown component) → the *best slot within AUTO_BOOK_WITHIN_DAYS*;
  - ``HIGH``, ``MEDIUM``, ``LOW`` → not booked. The bridge records the alert
    as handled (outcome ``ignored``, with the reason) and publishes nothing:
    the customer or the fleet agent books it through the HTTP API, where they
    choose among ranked slots. (No hold is taken: an unconfirmed hold would
    only block a technician for 15 minutes nobody asked for.)

* **Same alert, same effect.** An alert's dedupe key is ``alert:<alert_id>``;
  an agent decision that names the alert it answers shares that key, so an
  alert and the decision about it book one appointment between them.

Parsing is tolerant: unknown fields are ignored, common aliases accepted, and
an unusable optional field (a location off the planet) is dropped; only a
missing alert id or vehicle id, or an unknown severity, makes it malformed.

* **Thin alerts.** An ``alert.created`` that carries only its id (or lacks the
  vehicle, the severity, or what is wrong: a component or a recommended
  service) ``needs_details``; the bridge fetches the alert from the Alert
  Service and ``with_details`` fills the gaps (what the event says wins).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from domain.customer import Customer, CustomerTier
from domain.events import MalformedEvent
from domain.job import Job
from domain.shop import GeoPoint
from domain.urgency import Urgency

DIAGNOSTIC = "diagnostic"
EMERGENCY_REPAIR = "emergency_repair"

SERVICE_TYPE_BY_COMPONENT: dict[str, str] = {
    "engine": "engine_repair",
    "coolant": "engine_repair",
    "cooling": "engine_repair",
    "cooling_system": "engine_repair",
    "thermostat": "engine_repair",
    "radiator": "engine_repair",
    "oil_pressure": "engine_repair",
    "brakes": "brake_repair",
    "brake": "brake_repair",
    "brake_pads": "brake_repair",
    "abs": "brake_repair",
    "transmission": "transmission_repair",
    "gearbox": "transmission_repair",
    "clutch": "transmission_repair",
    "timing_belt": "timing_belt_replacement",
    "oil": "oil_change",
    "oil_life": "oil_change",
    "battery": DIAGNOSTIC,
    "electrical": DIAGNOSTIC,
    "alternator": DIAGNOSTIC,
    "sensor": DIAGNOSTIC,
    "check_engine": DIAGNOSTIC,
}
"""Component named by an alert → service type code (normalized: lower case, ``_`` for spaces)."""

SERVICE_TYPE_ALIASES: dict[str, str] = {
    "engine_repair": "engine_repair",
    "routine": "routine",
    "routine_maintenance": "routine",
    "maintenance": "routine",
    "oil_change": "oil_change",
    "brake_repair": "brake_repair",
    "brake_service": "brake_repair",
    "diagnostic": DIAGNOSTIC,
    "diagnostics": DIAGNOSTIC,
    "inspection": DIAGNOSTIC,
    "emergency_repair": EMERGENCY_REPAIR,
    "emergency": EMERGENCY_REPAIR,
    "roadside": EMERGENCY_REPAIR,
    "tow": EMERGENCY_REPAIR,
    "transmission_repair": "transmission_repair",
    "transmission_service": "transmission_repair",
    "timing_belt_replacement": "timing_belt_replacement",
    "timing_belt": "timing_belt_replacement",
}
"""A recommended service as alerts spell it → service type code."""

EMERGENCY_SERVICE_TYPES = frozenset({EMERGENCY_REPAIR})

DEFAULT_DURATIONS: dict[str, timedelta] = {
    "engine_repair": timedelta(hours=3),
    "brake_repair": timedelta(hours=3),
    "transmission_repair": timedelta(hours=4),
    "timing_belt_replacement": timedelta(hours=4),
    DIAGNOSTIC: timedelta(hours=2),
    EMERGENCY_REPAIR: timedelta(hours=1, minutes=30),
    "routine": timedelta(hours=1),
    "oil_change": timedelta(hours=1),
}
"""A first estimate of the job's length; the booker may replace it with the catalog's default."""

_SEVERITY_ALIASES: dict[str, Urgency] = {
    "emergency": Urgency.CRITICAL,
    "severe": Urgency.HIGH,
    "warning": Urgency.MEDIUM,
    "moderate": Urgency.MEDIUM,
    "info": Urgency.LOW,
    "minor": Urgency.LOW,
}


class BookingMode(StrEnum):
    """How an alert is booked without a person choosing the slot."""

    BEST_WITHIN_DAYS = "best_within_days"
    IMMEDIATE = "immediate"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class VehicleAlert:
    """An alert (or an agent's service recommendation) about one vehicle."""

    alert_id: str
    vehicle_id: str
    severity: Urgency
    component: str | None = None
    recommended_service: str | None = None
    shop_id: str | None = None
    location: GeoPoint | None = None
    customer: Customer = field(default_factory=Customer)
    description: str | None = None
    dedupe_key: str = ""
    """``alert:<alert_id>`` unless the parser chose another; also the booking's source_ref."""

    def __post_init__(self) -> None:
        if not self.dedupe_key:
            object.__setattr__(self, "dedupe_key", f"alert:{self.alert_id}")

    @property
    def service_type(self) -> str:
        return service_type_for(self.component, self.recommended_service)


@dataclass(frozen=True, slots=True)
class BookingPlan:
    """What to do with an alert: book how (or not), and why."""

    mode: BookingMode
    service_type: str
    urgency: Urgency
    within: timedelta
    reason: str

    @property
    def books(self) -> bool:
        return self.mode is not BookingMode.NONE

    @property
    def immediate(self) -> bool:
        return self.mode is BookingMode.IMMEDIATE


def normalize(name: str) -> str:
    """``"Cooling System"`` → ``"cooling_system"``."""
    return "_".join(name.strip().lower().replace("-", " ").replace(".", " ").split())


def service_type_for(component: str | None, recommended_service: str | None) -> str:
    """The service type code for an alert (see the module's rules)."""
    if recommended_service:
        code = SERVICE_TYPE_ALIASES.get(normalize(recommended_service))
        if code is not None:
            return code
    if component:
        return SERVICE_TYPE_BY_COMPONENT.get(normalize(component), DIAGNOSTIC)
    return DIAGNOSTIC


def parse_severity(value: Any) -> Urgency:
    """An alert's severity as an Urgency; MalformedEvent if it is none we know."""
    if not isinstance(value, str) or not value.strip():
        raise MalformedEvent("alert field 'severity' is missing or not a string")
    alias = _SEVERITY_ALIASES.get(value.strip().lower())
    if alias is not None:
        return alias
    try:
        return Urgency.parse(value)
    except ValueError as exc:
        raise MalformedEvent(f"alert field 'severity': {exc}") from None


def plan_booking(alert: VehicleAlert, *, auto_book: bool, within_days: int) -> BookingPlan:
    """Whether and how to book ``alert`` without a person (see the module's rules)."""
    service = alert.service_type
    within = timedelta(days=within_days)

    def plan(mode: BookingMode, reason: str) -> BookingPlan:
        return BookingPlan(mode, service, alert.severity, within, reason)

    if not auto_book:
        return plan(BookingMode.NONE, "auto-booking of critical alerts is switched off")
    if alert.severity is not Urgency.CRITICAL:
        return plan(BookingMode.NONE, f"severity {alert.severity.value} is not auto-booked; only CRITICAL is")
    if service in EMERGENCY_SERVICE_TYPES:
        return plan(BookingMode.IMMEDIATE, "critical emergency: the next feasible slot")
    return plan(BookingMode.BEST_WITHIN_DAYS, f"critical: the best slot within {within_days} days")


def job_for(alert: VehicleAlert, plan: BookingPlan, now: datetime) -> Job:
    """The job the booker is asked to place."""
    return Job(
        vehicle_id=alert.vehicle_id,
        service_type=plan.service_type,
        urgency=plan.urgency,
        duration=DEFAULT_DURATIONS.get(plan.service_type, DEFAULT_DURATIONS[DIAGNOSTIC]),
        customer_tier=alert.customer.tier,
        location=alert.location,
        earliest=now,
    )


def needs_details(data: Mapping[str, Any]) -> bool:
    """Whether an ``alert.created`` payload lacks what deciding needs (vehicle, severity, component)."""
    has_vehicle = _text(data, "vehicle_id", "vin") is not None or (
        isinstance(data.get("vehicle"), Mapping) and _text(data["vehicle"], "id", "vehicle_id", "vin") is not None
    )
    has_severity = _text(data, "severity", "level") is not None
    has_what = _text(data, "component", "system") is not None or _recommended_service(data) is not None
    return not (has_vehicle and has_severity and has_what)


def alert_id_of(data: Mapping[str, Any]) -> str:
    """The alert's id; MalformedEvent without one (no service can be asked about an alert without its id)."""
    alert_id = _text(data, "alert_id", "id")
    if alert_id is None:
        raise MalformedEvent("alert field 'alert_id' is missing")
    return alert_id


def with_details(data: Mapping[str, Any], details: Mapping[str, Any]) -> dict[str, Any]:
    """The event's payload with the Alert Service's details filling its gaps; the event's own values win."""
    merged = dict(details)
    merged.update({k: v for k, v in data.items() if v is not None and v != ""})
    return merged


# -- parsing -------------------------------------------------------------------------


def parse_alert(data: Mapping[str, Any]) -> VehicleAlert:
    """An ``alert.created`` payload; MalformedEvent names the field that is unusable."""
    return VehicleAlert(
        alert_id=alert_id_of(data),
        vehicle_id=_vehicle_id(data),
        severity=parse_severity(data.get("severity", data.get("level"))),
        component=_text(data, "component", "system"),
        recommended_service=_recommended_service(data),
        shop_id=_text(data, "shop_id", "preferred_shop_id", "home_shop_id"),
        location=_location(data.get("location")),
        customer=_customer(data.get("customer")),
        description=_text(data, "description", "message", "title"),
    )


def parse_agent_decision(data: Mapping[str, Any], event_id: str) -> VehicleAlert | None:
    """An ``agent.decision.made`` payload as an alert, or None if it recommends no service.

    Its urgency is the decision's ``urgency`` (or ``severity``). The dedupe key
    is the alert it answers (``alert_id``), else its ``decision_id``, else the
    event id.
    """
    if _recommended_service(data) is None and _text(data, "component") is None:
        return None
    alert_id = _text(data, "alert_id")
    decision_id = _text(data, "decision_id", "id")
    if alert_id is not None:
        key = f"alert:{alert_id}"
    elif decision_id is not None:
        key = f"decision:{decision_id}"
    else:
        key = f"event:{event_id}"
    return VehicleAlert(
        alert_id=alert_id or decision_id or event_id,
        vehicle_id=_vehicle_id(data),
        severity=parse_severity(data.get("urgency", data.get("severity"))),
        component=_text(data, "component"),
        recommended_service=_recommended_service(data),
        shop_id=_text(data, "shop_id", "preferred_shop_id"),
        location=_location(data.get("location")),
        customer=_customer(data.get("customer")),
        description=_text(data, "reason", "rationale", "description"),
        dedupe_key=key,
    )


def _text(data: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        value = data.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()
    return None


def _vehicle_id(data: Mapping[str, Any]) -> str:
    vehicle_id = _text(data, "vehicle_id", "vin")
    vehicle = data.get("vehicle")
    if vehicle_id is None and isinstance(vehicle, Mapping):
        vehicle_id = _text(vehicle, "id", "vehicle_id", "vin")
    if vehicle_id is None:
        raise MalformedEvent("field 'vehicle_id' is missing")
    return vehicle_id


def _recommended_service(data: Mapping[str, Any]) -> str | None:
    for name in ("recommended_service", "service_recommendation", "service_type", "recommendation"):
        value = data.get(name)
        if isinstance(value, Mapping):
            value = value.get("service_type") or value.get("service") or value.get("code")
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _location(value: Any) -> GeoPoint | None:
    if not isinstance(value, Mapping):
        return None
    lat = value.get("lat", value.get("latitude"))
    lon = value.get("lon", value.get("lng", value.get("longitude")))
    try:
        return GeoPoint(float(lat), float(lon))
    except (TypeError, ValueError):
        return None  # a position we cannot use is dropped; the shop hint still applies


def _customer(value: Any) -> Customer:
    if not isinstance(value, Mapping):
        return Customer()
    try:
        tier = CustomerTier(str(value.get("tier") or CustomerTier.REGULAR.value).lower())
    except ValueError:
        tier = CustomerTier.REGULAR
    return Customer(name=_text(value, "name"), email=_text(value, "email"), phone=_text(value, "phone"), tier=tier)
