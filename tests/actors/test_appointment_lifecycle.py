"""Check in, start, complete and no-show over real PostgreSQL and Ray calendar hosts (issue 16).

One technician and one bay at shop_a; a 2-hour job booked at 09:00 on 2030-02-01. Completing it at
10:00 frees 10:00-11:00 at once: in the database (the row leaves the no-overlap constraints), in the
technician's and bay's calendars, and so in what a slot search offers.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from actors.factory import RayDirectory
from application.clock import ManualClock
from application.slot_search import SlotSearch
from application.wiring import Application, build_application
from domain.appointment import AppointmentStatus
from domain.errors import DailyCapReached, InvalidRequest, InvalidTransition
from domain.policy import CancellationPolicy
from domain.time_windows import Interval
from domain.urgency import Urgency
from tests.actors.checks import calendars_match_database, outbox_events, overlapping_rows
from tests.actors.conftest import POLICY, START, request
from tests.factories import seed_shop

_S = AppointmentStatus


async def _app(db: Any, directory: RayDirectory, clock: ManualClock) -> Application:
    await seed_shop(db, techs=1, bays=1)
    clock.set(START - timedelta(days=1))
    return build_application(db, directory, POLICY, CancellationPolicy(), clock=clock)


async def _types(db: Any, appointment_id: str) -> list[str]:
    return [e.event_type for e in await outbox_events(db, appointment_id)]


def _at_ten_fifteen() -> SlotSearch:
    return _one_hour_at(START + timedelta(minutes=75))


def _one_hour_at(start: datetime) -> SlotSearch:
    # HIGH may use the shop's reserves, so only the booked jobs can stand in the way of this exact start
    return SlotSearch(
        vehicle_id="V-next",
        service_type="routine",
        urgency=Urgency.HIGH,
        duration=timedelta(hours=1),
        shop_ids=("shop_a",),
        exact_start=start,
        search_days=1,
    )


async def test_the_whole_lifecycle_and_early_completion_frees_the_rest(
    db: Any, directory: RayDirectory, clock: ManualClock
) -> None:
    app = await _app(db, directory, clock)
    appt = await app.booking.book(request(hours=2))
    life = app.lifecycle

    clock.set(START - timedelta(minutes=5))
    checked = await life.check_in(appt.id)
    assert checked.status is _S.CHECKED_IN and checked.progress.checked_in_at == START - timedelta(minutes=5)
    clock.set(START + timedelta(minutes=2))
    started = await life.start(appt.id, actual_start=START)
    assert started.status is _S.IN_PROGRESS and started.progress.actual_start == START

    clock.set(START + timedelta(hours=1))
    assert (await app.scheduler.find(_at_ten_fifteen(), now=clock.now())).slots == ()  # still booked until 11:00

    done = await life.complete(appt.id, notes="pads replaced")
    assert done.status is _S.COMPLETED
    assert (done.progress.actual_start, done.progress.actual_end) == (START, START + timedelta(hours=1))
    stored = await app.queries.get(appt.id)
    assert stored.progress == done.progress and stored.notes == "pads replaced"
    assert await _types(db, appt.id) == [
        "appointment.scheduled",
        "technician.assigned",
        "appointment.checked_in",
        "appointment.started",
        "appointment.completed",
    ]
    found = await app.scheduler.find(_at_ten_fifteen(), now=clock.now())
    assert [s.interval.start for s in found.slots] == [START + timedelta(minutes=75)]
    assert await calendars_match_database(app.booking, "shop_a", clock.now()) == []
    # and the freed time can be booked
    await app.booking.book(request(start=START + timedelta(minutes=75)))
    assert await overlapping_rows(db) == 0


async def test_a_job_completed_early_still_counts_toward_the_daily_cap_in_memory_as_in_the_database(
    db: Any, directory: RayDirectory, clock: ManualClock
) -> None:
    app = await _app(db, directory, clock)
    cap = POLICY.max_bookings_per_technician_per_day
    # 1 h jobs 90 min apart from 07:00 (the 30 min buffer kept): the day is full by its cap, 16:00-19:00 is free
    starts = [START.replace(hour=7) + timedelta(minutes=90 * i) for i in range(cap)]
    jobs = [await app.booking.book(request(start=start)) for start in starts]
    first, life = jobs[0], app.lifecycle
    clock.set(first.start)
    await life.check_in(first.id)
    await life.start(first.id)
    clock.set(first.start + timedelta(minutes=30))
    assert (await life.complete(first.id)).status is _S.COMPLETED  # early: the rest of its hour is free

    late = START.replace(hour=16)
    technician = directory.technician("shop_a", "shop_a_t0")
    day = Interval(START.replace(hour=0), START.replace(hour=0) + timedelta(days=1))
    for reloaded in (False, True):  # as the completion left memory, and as memory reloads from the store
        if reloaded:
            await technician.reload(now=clock.now())
        assert (await technician.view(day, now=clock.now())).jobs_per_day[START.date()] == cap
        assert (await app.scheduler.find(_one_hour_at(late), now=clock.now())).slots == ()
        with pytest.raises(DailyCapReached):  # refused by the technician's calendar, before any SQL
            await technician.hold(
                str(uuid.uuid4()), Interval(late, late + timedelta(hours=1)), late, now=clock.now()
            )
        with pytest.raises(DailyCapReached):
            await app.booking.book(request(start=late))
        assert await calendars_match_database(app.booking, "shop_a", clock.now()) == []


async def test_illegal_steps_name_the_current_status(db: Any, directory: RayDirectory, clock: ManualClock) -> None:
    app = await _app(db, directory, clock)
    life = app.lifecycle
    appt = await app.booking.book(request())
    with pytest.raises(InvalidTransition, match="scheduled cannot become in_progress") as started_early:
        await life.start(appt.id)
    assert started_early.value.details["current"] == "scheduled"
    with pytest.raises(InvalidTransition, match="scheduled cannot become completed"):
        await life.complete(appt.id)
    await app.booking.cancel(appt.id)
    for step in (life.check_in, life.start, life.complete, life.no_show):
        with pytest.raises(InvalidTransition) as refused:
            await step(appt.id)
        assert refused.value.details["current"] == "cancelled"
    assert (await app.queries.get(appt.id)).status is _S.CANCELLED


async def test_a_finished_job_cannot_be_stepped_again_and_times_are_checked(
    db: Any, directory: RayDirectory, clock: ManualClock
) -> None:
    app = await _app(db, directory, clock)
    life = app.lifecycle
    appt = await app.booking.book(request(hours=2))
    clock.set(START)
    await life.check_in(appt.id)
    with pytest.raises(InvalidRequest, match="in the future"):
        await life.start(appt.id, actual_start=START + timedelta(minutes=5))
    await life.start(appt.id)
    clock.set(START + timedelta(hours=2))
    with pytest.raises(InvalidRequest, match="not after actual_start") as backwards:
        await life.complete(appt.id, actual_end=START - timedelta(minutes=1))
    assert backwards.value.details["field"] == "actual_end"
    assert (await app.queries.get(appt.id)).status is _S.IN_PROGRESS  # a refusal writes nothing
    await life.complete(appt.id)
    with pytest.raises(InvalidTransition) as again:
        await life.complete(appt.id)
    assert again.value.details["current"] == "completed"


async def test_a_no_show_waits_for_the_grace_period_then_frees_the_time(
    db: Any, directory: RayDirectory, clock: ManualClock
) -> None:
    app = await _app(db, directory, clock)
    life = app.lifecycle
    appt = await app.booking.book(request(hours=2))
    clock.set(START + POLICY.no_show_grace - timedelta(minutes=1))
    with pytest.raises(InvalidTransition, match="may be recorded from") as early:
        await life.no_show(appt.id)
    assert early.value.details["allowed_from"] == (START + POLICY.no_show_grace).isoformat()
    assert (await app.queries.get(appt.id)).status is _S.SCHEDULED
    clock.set(START + POLICY.no_show_grace)
    gone = await life.no_show(appt.id)
    assert gone.status is _S.NO_SHOW and gone.progress.no_show_at == clock.now()
    assert (await _types(db, appt.id))[-1] == "appointment.no_show"
    assert await calendars_match_database(app.booking, "shop_a", clock.now()) == []
    await app.booking.book(request(start=START + timedelta(hours=1)))  # its time is free again
