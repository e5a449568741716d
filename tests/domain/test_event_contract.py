"""The published events' wire format, pinned: consumers read these keys and value formats.

A change here is a change to the contract (README, "Events"): times are ISO 8601
with an offset, amounts are strings, enums are their values.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from domain.appointment import Appointment, AppointmentStatus, Cancellation, Progress
from domain.customer import Customer
from domain.events import (
    AppointmentCancelled,
    AppointmentCheckedIn,
    AppointmentCompleted,
    AppointmentNoShow,
    AppointmentNotBooked,
    AppointmentReminder,
    AppointmentRescheduled,
    AppointmentScheduled,
    AppointmentStarted,
    AppointmentWaitlistOffered,
    EventEnvelope,
    EventType,
    PartsOrderRequested,
    PublishedEvent,
    TechnicianAssigned,
)
from domain.time_windows import Interval
from domain.urgency import Urgency

NEW_YORK = timezone(timedelta(hours=-5))
NOW = datetime(2030, 3, 1, 8, 30, tzinfo=NEW_YORK)
APPT = Appointment(
    id="a-1",
    shop_id="shop_nyc",
    vehicle_id="V777",
    service_type="engine_repair",
    urgency=Urgency.CRITICAL,
    technician_id="t-1",
    bay_id="b-1",
    interval=Interval(datetime(2030, 3, 2, 9, tzinfo=NEW_YORK), datetime(2030, 3, 2, 12, 15, tzinfo=NEW_YORK)),
    status=AppointmentStatus.SCHEDULED,
    created_at=NOW,
    customer=Customer("Ada", "ada@example.test", "+1 555 0100"),
    sequence=2,
    source_ref="alert:ALR-1",
)
APPOINTMENT_DATA: dict[str, Any] = {
    "appointment_id": "a-1",
    "shop_id": "shop_nyc",
    "vehicle_id": "V777",
    "service_type": "engine_repair",
    "urgency": "CRITICAL",
    "technician_id": "t-1",
    "technician_name": "Tom",
    "bay_id": "b-1",
    "bay_name": "Bay 1",
    "start": "2030-03-02T14:00:00+00:00",
    "end": "2030-03-02T17:15:00+00:00",
    "status": "scheduled",
    "sequence": 2,
    "customer": {"name": "Ada", "email": "ada@example.test"},
    "source_ref": "alert:ALR-1",
    "series_id": None,
}
CANCELLED = replace(
    APPT,
    status=AppointmentStatus.CANCELLED,
    cancellation=Cancellation(at=NOW, late=True, fee=Decimal("40.00"), reason="customer is ill"),
)

ARRIVED, BEGAN, DONE = (datetime(2030, 3, 2, 13, 50, tzinfo=UTC), datetime(2030, 3, 2, 14, 5, tzinfo=UTC),
                        datetime(2030, 3, 2, 16, 0, tzinfo=UTC))
CHECKED_IN = replace(APPT, status=AppointmentStatus.CHECKED_IN, progress=Progress(checked_in_at=ARRIVED))
STARTED = replace(
    APPT, status=AppointmentStatus.IN_PROGRESS, progress=Progress(checked_in_at=ARRIVED, started_at=BEGAN,
                                                                   actual_start=BEGAN)
)
COMPLETED = replace(
    APPT,
    status=AppointmentStatus.COMPLETED,
    notes="pads replaced",
    progress=Progress(checked_in_at=ARRIVED, started_at=BEGAN, completed_at=DONE, actual_start=BEGAN, actual_end=DONE),
)
NO_SHOW = replace(APPT, status=AppointmentStatus.NO_SHOW, progress=Progress(no_show_at=DONE))

CONTRACT: list[tuple[PublishedEvent, str, dict[str, Any]]] = [
    (AppointmentScheduled(APPT, "Tom", "Bay 1"), "appointment.scheduled", APPOINTMENT_DATA),
    (TechnicianAssigned(APPT, "Tom", "Bay 1"), "technician.assigned", APPOINTMENT_DATA),
    (
        AppointmentRescheduled(APPT, "Tom", "Bay 1", datetime(2030, 3, 4, 9, tzinfo=NEW_YORK), "t-0"),
        "appointment.rescheduled",
        {**APPOINTMENT_DATA, "previous_start": "2030-03-04T09:00:00-05:00", "previous_technician_id": "t-0"},
    ),
    (
        AppointmentCancelled(CANCELLED, "Tom", "Bay 1"),
        "appointment.cancelled",
        {**APPOINTMENT_DATA, "status": "cancelled", "late": True, "fee": "40.00", "reason": "customer is ill"},
    ),
    (
        AppointmentCheckedIn(CHECKED_IN, "Tom", "Bay 1"),
        "appointment.checked_in",
        {**APPOINTMENT_DATA, "status": "checked_in", "checked_in_at": "2030-03-02T13:50:00+00:00"},
    ),
    (
        AppointmentStarted(STARTED, "Tom", "Bay 1"),
        "appointment.started",
        {**APPOINTMENT_DATA, "status": "in_progress", "actual_start": "2030-03-02T14:05:00+00:00"},
    ),
    (
        AppointmentCompleted(COMPLETED, "Tom", "Bay 1"),
        "appointment.completed",
        {
            **APPOINTMENT_DATA,
            "status": "completed",
            "actual_start": "2030-03-02T14:05:00+00:00",
            "actual_end": "2030-03-02T16:00:00+00:00",
            "completed_at": "2030-03-02T16:00:00+00:00",
            "notes": "pads replaced",
        },
    ),
    (
        AppointmentNoShow(NO_SHOW, "Tom", "Bay 1"),
        "appointment.no_show",
        {**APPOINTMENT_DATA, "status": "no_show", "no_show_at": "2030-03-02T16:00:00+00:00"},
    ),
    (
        AppointmentReminder(APPT, starts_in=APPT.start - NOW),
        "appointment.reminder",
        {
            "appointment_id": "a-1",
            "shop_id": "shop_nyc",
            "vehicle_id": "V777",
            "service_type": "engine_repair",
            "technician_id": "t-1",
            "bay_id": "b-1",
            "start": "2030-03-02T14:00:00+00:00",
            "end": "2030-03-02T17:15:00+00:00",
            "starts_in_minutes": 1470,
            "customer": {"name": "Ada", "email": "ada@example.test", "phone": "+1 555 0100"},
        },
    ),
    (
        PartsOrderRequested(APPT, ("brake_pad", "rotor"), datetime(2030, 3, 2, 7, tzinfo=NEW_YORK)),
        "parts.order.requested",
        {
            "appointment_id": "a-1",
            "shop_id": "shop_nyc",
            "vehicle_id": "V777",
            "service_type": "engine_repair",
            "parts": ["brake_pad", "rotor"],
            "needed_by": "2030-03-02T14:00:00+00:00",
            "expected_at": "2030-03-02T07:00:00-05:00",
        },
    ),
    (
        AppointmentNotBooked(
            alert_id="ALR-1",
            source_ref="alert:ALR-1",
            vehicle_id="V777",
            service_type="engine_repair",
            urgency=Urgency.CRITICAL,
            shop_id=None,
            reasons=("NO_SLOT: nothing fits within 2 days",),
            caused_by_event_id="6f1c2d4e-0000-4000-8000-000000000001",
        ),
        "appointment.not_booked",
        {
            "alert_id": "ALR-1",
            "source_ref": "alert:ALR-1",
            "vehicle_id": "V777",
            "service_type": "engine_repair",
            "urgency": "CRITICAL",
            "shop_id": None,
            "reasons": ["NO_SLOT: nothing fits within 2 days"],
            "caused_by_event_id": "6f1c2d4e-0000-4000-8000-000000000001",
        },
    ),
    (
        AppointmentWaitlistOffered(
            replace(APPT, status=AppointmentStatus.HELD),
            "Tom",
            "Bay 1",
            offer_id="o-1",
            entry_id="w-1",
            token="wo_0123456789abcdef.secret",
            expires_at=datetime(2030, 3, 1, 8, 45, tzinfo=NEW_YORK),
        ),
        "appointment.waitlist.offered",
        {
            **APPOINTMENT_DATA,
            "status": "held",
            "offer_id": "o-1",
            "waitlist_entry_id": "w-1",
            "offer_token": "wo_0123456789abcdef.secret",
            "offer_expires_at": "2030-03-01T08:45:00-05:00",
        },
    ),
]


@pytest.mark.parametrize(("event", "event_type", "data"), CONTRACT, ids=[c[1] for c in CONTRACT])
def test_published_event_keeps_its_wire_format(event: PublishedEvent, event_type: str, data: dict[str, Any]) -> None:
    doc = json.loads(EventEnvelope.of(event, NOW).to_json())
    assert list(doc) == ["event_id", "event_type", "occurred_at", "source", "data"]
    assert doc["event_type"] == event_type
    assert doc["occurred_at"] == "2030-03-01T13:30:00+00:00"  # normalised to UTC
    assert doc["source"] == "scheduling-service"
    assert list(doc["data"]) == list(data)  # same keys, in the same order
    assert doc["data"] == data


def test_every_published_event_type_has_its_class() -> None:
    consumed = {EventType.ALERT_CREATED, EventType.AGENT_DECISION_MADE}
    published = {v for k, v in vars(EventType).items() if k.isupper()} - consumed
    assert {event_type for _, event_type, _ in CONTRACT} == published


def test_a_cancellation_event_needs_the_cancellation() -> None:
    with pytest.raises(ValueError, match="no cancellation"):
        AppointmentCancelled(APPT, "Tom", "Bay 1")
