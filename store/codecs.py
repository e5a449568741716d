"""Explicit mapping between database rows and domain objects (one crossing, one place)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

import asyncpg

from domain.appointment import Appointment, AppointmentStatus, Cancellation, Progress
from domain.catalog import PartRequirement, ServiceCategory, ServiceType
from domain.customer import Customer, CustomerTier
from domain.parts import PartStock
from domain.resources import ServiceBay, Technician
from domain.shop import GeoPoint, Shop, WeeklyHours
from domain.time_windows import Interval
from domain.urgency import Urgency

Row = asyncpg.Record


def hours_to_json(hours: WeeklyHours) -> dict[str, list[list[str]]]:
    return {
        str(day): [[o.strftime("%H:%M"), c.strftime("%H:%M")] for o, c in windows]
        for day, windows in sorted(hours.days.items())
    }


def hours_from_json(doc: Mapping[str, Sequence[Sequence[str]]]) -> WeeklyHours:
    return WeeklyHours(
        {int(day): tuple((time.fromisoformat(o), time.fromisoformat(c)) for o, c in wins) for day, wins in doc.items()}
    )


def intervals_to_json(intervals: Sequence[Interval]) -> list[list[str]]:
    return [[iv.start.isoformat(), iv.end.isoformat()] for iv in intervals]


def intervals_from_json(doc: Sequence[Sequence[str]]) -> tuple[Interval, ...]:
    return tuple(Interval(datetime.fromisoformat(s), datetime.fromisoformat(e)) for s, e in doc)


def shop_from_row(row: Row) -> Shop:
    location = GeoPoint(row["lat"], row["lon"]) if row["lat"] is not None and row["lon"] is not None else None
    return Shop(
        id=row["id"],
        name=row["name"],
        timezone=row["timezone"],
        hours=hours_from_json(row["hours"]),
        holidays=frozenset(row["holidays"] or ()),
        location=location,
        address=row["address"],
    )


def technician_from_row(row: Row) -> Technician:
    return Technician(
        id=row["id"],
        shop_id=row["shop_id"],
        name=row["name"],
        specialization=row["specialization"],
        rating=float(row["rating"]),
        years_experience=row["years_experience"],
        skills=frozenset(row["skills"]),
        hours=hours_from_json(row["hours"]),
        # the shop file's time off, then what was recorded through the API (when the query read it)
        time_off=intervals_from_json(row["time_off"])
        + intervals_from_json(row.get("absences") or []),
        email=row["email"],
        active=row["active"],
        mobile=bool(row.get("mobile") or False),
        base=_point(row.get("base_lat"), row.get("base_lon")),
        van_equipment=frozenset(row.get("van_equipment") or ()),
    )


def _point(lat: float | None, lon: float | None) -> GeoPoint | None:
    return GeoPoint(lat, lon) if lat is not None and lon is not None else None


def bay_from_row(row: Row) -> ServiceBay:
    return ServiceBay(
        id=row["id"],
        shop_id=row["shop_id"],
        name=row["name"],
        equipment=frozenset(row["equipment"]),
        active=row["active"],
        van_of=row.get("van_of"),
    )


def service_type_from_row(row: Row) -> ServiceType:
    def minutes(value: int | None) -> timedelta | None:
        return timedelta(minutes=value) if value is not None else None

    return ServiceType(
        code=row["code"],
        name=row["name"],
        category=ServiceCategory(row["category"]),
        default_duration=timedelta(minutes=row["default_minutes"]),
        required_skill=row["required_skill"],
        required_equipment=frozenset(row["required_equipment"]),
        required_parts=tuple(PartRequirement(p["part_code"], int(p.get("quantity", 1))) for p in row["required_parts"]),
        min_duration=minutes(row["min_minutes"]),
        max_duration=minutes(row["max_minutes"]),
        on_site=bool(row.get("on_site") or False),
    )


def part_from_row(row: Row) -> PartStock:
    return PartStock(
        shop_id=row["shop_id"],
        part_code=row["part_code"],
        name=row["name"],
        quantity=row["quantity"],
        lead_time=timedelta(minutes=row["lead_time_minutes"]),
    )


def customer_to_json(customer: Customer) -> dict[str, Any]:
    return {
        "name": customer.name,
        "email": customer.email,
        "phone": customer.phone,
        "tier": customer.tier.value,
    }


def customer_from_json(doc: Mapping[str, Any]) -> Customer:
    return Customer(
        name=doc.get("name"),
        email=doc.get("email"),
        phone=doc.get("phone"),
        tier=CustomerTier(doc.get("tier") or CustomerTier.REGULAR.value),
    )


def appointment_from_row(row: Row) -> Appointment:
    cancellation = None
    if row["cancelled_at"] is not None:
        cancellation = Cancellation(
            at=row["cancelled_at"],
            late=bool(row["cancel_late"]),
            fee=Decimal(row["cancel_fee"] or 0),
            reason=row["cancel_reason"],
        )
    return Appointment(
        id=str(row["id"]),
        shop_id=row["shop_id"],
        vehicle_id=row["vehicle_id"],
        service_type=row["service_type"],
        urgency=Urgency(row["urgency"]),
        technician_id=row["technician_id"],
        bay_id=row["bay_id"],
        interval=Interval(row["start_at"], row["end_at"]),
        status=AppointmentStatus(row["status"]),
        created_at=row["created_at"],
        hold_expires_at=row["hold_expires_at"],
        customer=customer_from_json(row["customer"] or {}),
        notes=row["notes"],
        parts_available=row["parts_available"],
        parts_ready_at=row["parts_ready_at"],
        sequence=row["sequence"],
        cancellation=cancellation,
        source_ref=row["source_ref"],
        booked_by=row.get("booked_by"),
        progress=Progress(
            checked_in_at=row.get("checked_in_at"),
            started_at=row.get("started_at"),
            completed_at=row.get("completed_at"),
            no_show_at=row.get("no_show_at"),
            actual_start=row.get("actual_start"),
            actual_end=row.get("actual_end"),
        ),
        series_id=str(row["series_id"]) if row.get("series_id") is not None else None,
        recurrence=row.get("recurrence"),
        site=_point(row.get("site_lat"), row.get("site_lon")),
        arrival_window=(
            Interval(row["arrival_start"], row["arrival_end"])
            if row.get("arrival_start") is not None and row.get("arrival_end") is not None
            else None
        ),
    )
