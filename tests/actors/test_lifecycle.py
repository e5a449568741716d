"""Reschedule, cancel, idempotent sources, parts lead time, requirements, and reads from the actors."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from application.booking import BookingService
from application.clock import ManualClock
from domain.appointment import AppointmentStatus
from domain.customer import Customer
from domain.errors import InvalidRequest, MissingEquipment, MissingSkill, NotFound, OutsideWorkingHours, SlotTaken
from domain.time_windows import Interval
from store import catalog_repository as catalog
from tests.actors.checks import calendars_match_database, outbox_events, overlapping_rows, queries_for
from tests.actors.conftest import START, request
from tests.factories import bay, seed_shop, technician


async def _event_types(db: Any, appointment_id: str) -> list[str]:
    return [e.event_type for e in await outbox_events(db, appointment_id)]


async def test_a_booking_writes_scheduled_and_assigned_events_with_the_contract_fields(
    db: Any, service: BookingService
) -> None:
    await seed_shop(db, techs=1, bays=1)
    appt = await service.book(request())
    scheduled = (await outbox_events(db, appt.id))[0]
    assert scheduled.event_type == "appointment.scheduled"
    data = scheduled.data
    assert (data["technician_name"], data["bay_name"], data["status"]) == ("shop_a_t0", "shop_a_b0", "scheduled")
    assert data["start"] == "2030-02-01T09:00:00+00:00" and data["customer"]["email"] == "ada@example.test"
    assert await _event_types(db, appt.id) == ["appointment.scheduled", "technician.assigned"]


async def test_moving_within_overlapping_time_on_the_same_technician_works(db: Any, service: BookingService) -> None:
    await seed_shop(db, techs=1, bays=1)
    appt = await service.book(request(hours=2))
    moved = await service.reschedule(appt.id, start=START + timedelta(minutes=30))
    assert (moved.start, moved.sequence) == (START + timedelta(minutes=30), 1)
    assert await _event_types(db, appt.id) == ["appointment.scheduled", "technician.assigned",
                                               "appointment.rescheduled"]
    assert await calendars_match_database(service, "shop_a", service.clock.now()) == []


async def test_a_refused_move_keeps_the_original(db: Any, service: BookingService) -> None:
    await seed_shop(db, techs=2, bays=1)
    first = await service.book(request("shop_a_t0"))
    second = await service.book(request("shop_a_t1", start=START + timedelta(hours=3)))
    with pytest.raises(SlotTaken):
        await service.reschedule(second.id, start=START + timedelta(minutes=30))
    kept = await queries_for(service).get(second.id)
    assert (kept.start, kept.status, kept.sequence) == (second.start, AppointmentStatus.SCHEDULED, 0)
    with pytest.raises(SlotTaken):  # the original time is still taken in memory too
        await service.book(request("shop_a_t0", start=START + timedelta(hours=3)))
    assert first.status is AppointmentStatus.SCHEDULED
    assert await calendars_match_database(service, "shop_a", service.clock.now()) == []


async def test_moving_to_another_technician_frees_the_first_and_announces_the_assignment(
    db: Any, service: BookingService
) -> None:
    await seed_shop(db, techs=2, bays=1)
    appt = await service.book(request("shop_a_t0"))
    moved = await service.reschedule(appt.id, start=START, technician_id="shop_a_t1")
    assert moved.technician_id == "shop_a_t1"
    assert (await _event_types(db, appt.id))[-2:] == ["appointment.rescheduled", "technician.assigned"]
    await service.book(request("shop_a_t0", bay="shop_a_b0", start=START + timedelta(hours=2)))
    assert await calendars_match_database(service, "shop_a", service.clock.now()) == []


async def test_cancelling_early_is_free_late_costs_the_fee_and_twice_is_a_no_op(
    db: Any, service: BookingService, clock: ManualClock
) -> None:
    await seed_shop(db, techs=1, bays=1)
    early = await service.book(request())
    late = await service.book(request(start=START + timedelta(hours=3)))
    cancelled = await service.cancel(early.id, reason="changed plans")
    assert cancelled.cancellation is not None and not cancelled.cancellation.late
    clock.set(late.start - timedelta(hours=2))
    charged = await service.cancel(late.id)
    assert charged.cancellation is not None and charged.cancellation.fee == Decimal("50.00")
    again = await service.cancel(late.id)
    assert again.cancellation == charged.cancellation
    assert (await _event_types(db, late.id)).count("appointment.cancelled") == 1
    await service.book(request(start=START + timedelta(hours=3)))  # its time is free again


async def test_the_same_source_books_once(db: Any, service: BookingService) -> None:
    await seed_shop(db, techs=2, bays=2)
    first = await service.book(request(source_ref="alert:42"))
    again = await service.book(request("shop_a_t1", "shop_a_b1", source_ref="alert:42"))
    assert again.id == first.id


async def test_a_job_waiting_on_parts_cannot_start_before_they_arrive(db: Any, service: BookingService) -> None:
    await seed_shop(db, techs=1, bays=1)
    async with db.acquire() as conn:
        from domain.parts import PartStock

        await catalog.save_part(conn, PartStock("shop_a", "thermostat", "Thermostat", 0, timedelta(days=3)))
    with pytest.raises(InvalidRequest):
        await service.book(request(service_type="engine_repair", hours=3))
    later = START + timedelta(days=2)
    appt = await service.book(request(service_type="engine_repair", hours=3, start=later))
    assert not appt.parts_available and appt.parts_ready_at is not None
    assert "parts.order.requested" in await _event_types(db, appt.id)


async def test_skills_equipment_and_hours_are_checked_by_the_actors(db: Any, service: BookingService) -> None:
    await seed_shop(db, techs=0, bays=0)
    async with db.acquire() as conn:
        await catalog.save_technician(conn, technician("oil_only", skills=("general",)))
        await catalog.save_technician(conn, technician("engine_tech"))
        await catalog.save_bay(conn, bay("flat", equipment=()))
        await catalog.save_bay(conn, bay("hoist"))
    with pytest.raises(MissingSkill):
        await service.book(request("oil_only", "hoist", service_type="engine_repair", hours=3))
    with pytest.raises(MissingEquipment):
        await service.book(request("engine_tech", "flat", service_type="engine_repair", hours=3))
    with pytest.raises(OutsideWorkingHours):
        await service.book(request("engine_tech", "hoist", start=START.replace(hour=18, minute=30)))
    with pytest.raises(NotFound):
        await service.book(request("nobody", "hoist"))
    assert await overlapping_rows(db) == 0


async def test_details_change_without_moving_time(db: Any, service: BookingService) -> None:
    await seed_shop(db, techs=1, bays=1)
    appt = await service.book(request(vehicle="V001"))
    updated = await service.update_details(appt.id, notes="bring keys", customer=Customer(name="Bo"))
    assert (updated.notes, updated.customer.name, updated.interval) == ("bring keys", "Bo", appt.interval)
    assert (await queries_for(service).get(appt.id)).notes == "bring keys"
    assert [a.id for a in await queries_for(service).list_by_vehicle("V001", 10, 0)] == [appt.id]


async def test_busy_time_and_schedules_come_from_the_actors(db: Any, service: BookingService) -> None:
    await seed_shop(db, techs=2, bays=1)
    appt = await service.book(request())
    held = await service.book(request("shop_a_t1", start=START + timedelta(hours=2)), hold=True)
    day = Interval(START.replace(hour=0), START.replace(hour=0) + timedelta(days=1))
    busy = await queries_for(service).resource_busy("shop_a", day)
    assert busy.technicians["shop_a_t0"].busy == (appt.interval.widened(timedelta(minutes=30), timedelta(minutes=30)),)
    assert busy.technicians["shop_a_t0"].jobs_per_day == {START.date(): 1}
    assert busy.bays["shop_a_b0"].busy == (appt.interval, held.interval)
    schedule = await queries_for(service).technician_schedule("shop_a_t1", day)
    assert [h.id for h in schedule.holds] == [held.id] and schedule.appointments == []
    assert schedule.working == [Interval(START.replace(hour=7), START.replace(hour=19))]
    assert held.interval.start not in [f.start for f in schedule.free]
