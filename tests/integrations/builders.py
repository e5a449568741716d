"""Domain objects and invites for the integrations tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import Any

from domain.appointment import Appointment, AppointmentStatus
from domain.customer import Customer
from domain.invites import Invite
from domain.resources import Technician
from domain.shop import Shop, WeeklyHours
from domain.time_windows import Interval
from domain.urgency import Urgency
from integrations.invite import invite_for

HOURS = WeeklyHours({d: ((time(7), time(19)),) for d in range(1, 8)})


def shop(tz: str = "Europe/Berlin", **kw: Any) -> Shop:
    return Shop(
        id=kw.pop("id", "shop_berlin"),
        name=kw.pop("name", "Mitte Service Center"),
        timezone=tz,
        hours=HOURS,
        address=kw.pop("address", "Invalidenstraße 1, 10115 Berlin"),
        **kw,
    )


def technician(email: str | None = "ana@shop.example", **kw: Any) -> Technician:
    return Technician(
        id=kw.pop("id", "tech_ana"),
        shop_id="shop_berlin",
        name=kw.pop("name", "Ana Novak"),
        specialization="Engine",
        rating=4.8,
        years_experience=9,
        skills=frozenset({"engine"}),
        hours=HOURS,
        email=email,
    )


def appointment(start: datetime, hours: float = 3, **kw: Any) -> Appointment:
    return Appointment(
        id=kw.pop("id", "appt-0001"),
        shop_id="shop_berlin",
        vehicle_id=kw.pop("vehicle_id", "V001"),
        service_type="engine_repair",
        urgency=Urgency.HIGH,
        technician_id=kw.pop("technician_id", "tech_ana"),
        bay_id="bay_1",
        interval=Interval(start, start + timedelta(hours=hours)),
        status=kw.pop("status", AppointmentStatus.SCHEDULED),
        created_at=datetime(2026, 1, 20, 9, 0, tzinfo=UTC),
        customer=kw.pop("customer", Customer(name="Jo Driver", email="jo@customer.example")),
        **kw,
    )


START = datetime(2026, 2, 2, 8, 0, tzinfo=UTC)  # 09:00 in Berlin


def invite(**kw: Any) -> Invite:
    """The invite of a scheduled 3-hour engine repair in Berlin (override fields with ``kw``)."""
    tech_email = kw.pop("technician_email", "ana@shop.example")
    base = invite_for(
        appointment(kw.pop("start", START), id=kw.pop("appointment_id", "appt-0001")),
        shop(),
        technician(tech_email),
        "Engine repair",
    )
    return replace(base, **kw)


def rescheduled(inv: Invite, by: timedelta = timedelta(days=1)) -> Invite:
    return replace(inv, start=inv.start + by, end=inv.end + by, sequence=inv.sequence + 1)


def cancelled(inv: Invite) -> Invite:
    from domain.invites import InviteStatus

    return replace(inv, status=InviteStatus.CANCELLED)
