"""Recurring series booked in-process: wall-clock time across DST, clashes (reject / alternatives), races."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from application.booking import BookingRequest
from application.series import ConflictMode, SeriesConflict, SeriesRequest
from application.slot_search import SlotSearch
from domain.appointment import AppointmentStatus
from domain.customer import Customer
from domain.errors import InvalidRequest, OutsideBookingWindow
from domain.job import Job
from domain.urgency import Urgency
from tests.application.conftest import PolicyApp

NY = ZoneInfo("America/New_York")
FIRST = datetime(2027, 2, 15, 9, 0, tzinfo=NY)
"""A Monday; the eight weekly occurrences cross the 2027-03-14 spring-forward change (5th to 8th: EDT)."""
SIXTH = datetime(2027, 3, 22, 9, 0, tzinfo=NY)


def series(vehicle: str = "V1", *, conflicts: ConflictMode = ConflictMode.REJECT, rule: str = "FREQ=WEEKLY;COUNT=8"):
    return SeriesRequest(
        search=SlotSearch(vehicle_id=vehicle, service_type="routine", urgency=Urgency.MEDIUM),
        start=FIRST,
        recurrence=rule,
        customer=Customer(name="Ada"),
        technician_id="shop_a_t0",
        bay="shop_a_b0",
        conflicts=conflicts,
    )


async def _live_rows(db: Any, vehicle: str) -> list[Any]:
    return await db.fetch(
        "SELECT * FROM appointments WHERE vehicle_id = $1 AND status IN ('scheduled', 'held') ORDER BY start_at",
        vehicle,
    )


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


async def _block_sixth(app: Any) -> None:
    await app.booking.book(
        BookingRequest(
            shop_id="shop_a",
            technician_id="shop_a_t0",
            bay_id="shop_a_b0",
            start=SIXTH,
            job=Job(vehicle_id="OTHER", service_type="routine", urgency=Urgency.MEDIUM, duration=timedelta(hours=1)),
        )
    )


async def test_a_weekly_series_across_dst_keeps_nine_oclock_local_and_publishes_per_occurrence(
    policy_app: PolicyApp, db: Any
) -> None:
    app = await policy_app(tz="America/New_York")

    booked = await app.series.book(series())

    assert len(booked.occurrences) == 8
    starts = [o.appointment.start for o in booked.occurrences if o.appointment is not None]
    assert {s.astimezone(NY).time() for s in starts} == {time(9, 0)}
    assert [s.astimezone(UTC).hour for s in starts] == [14, 14, 14, 14, 13, 13, 13, 13]
    assert not any(o.moved for o in booked.occurrences)
    rows = await _live_rows(db, "V1")
    assert [r["status"] for r in rows] == ["scheduled"] * 8
    assert {str(r["series_id"]) for r in rows} == {booked.series_id}
    assert [a.start for a in await app.series.series(booked.series_id)] == starts
    events = await db.fetch(
        "SELECT envelope FROM outbox WHERE event_type = 'appointment.scheduled' AND aggregate_id = ANY($1::text[])",
        [str(r["id"]) for r in rows],
    )
    assert len(events) == 8
    assert {_json(e["envelope"])["data"]["series_id"] for e in events} == {booked.series_id}


async def test_reject_books_nothing_and_names_the_clashing_sixth_with_same_day_alternatives(
    policy_app: PolicyApp, db: Any
) -> None:
    app = await policy_app(tz="America/New_York")
    await _block_sixth(app)

    with pytest.raises(SeriesConflict) as refused:
        await app.series.book(series())

    clashes = refused.value.details["clashes"]
    assert [c["requested"] for c in clashes] == [SIXTH.astimezone(UTC).isoformat()]
    assert clashes[0]["alternatives"]
    assert {datetime.fromisoformat(a["datetime"]).astimezone(NY).date() for a in clashes[0]["alternatives"]} == {
        SIXTH.date()
    }
    assert await db.fetchval("SELECT count(*) FROM appointments WHERE vehicle_id = 'V1'") == 0


async def test_alternatives_moves_only_the_sixth(policy_app: PolicyApp, db: Any) -> None:
    app = await policy_app(tz="America/New_York")
    await _block_sixth(app)

    booked = await app.series.book(series(conflicts=ConflictMode.ALTERNATIVES))

    assert [o.moved for o in booked.occurrences] == [False] * 5 + [True] + [False] * 2
    sixth = booked.occurrences[5]
    assert sixth.appointment is not None and sixth.reason
    assert sixth.appointment.start.astimezone(NY).date() == SIXTH.date()
    assert len(await _live_rows(db, "V1")) == 8


async def test_two_clients_racing_overlapping_series_never_overlap(policy_app: PolicyApp, db: Any) -> None:
    app = await policy_app(tz="America/New_York")
    rule = "FREQ=WEEKLY;COUNT=4"

    outcomes = await asyncio.gather(
        app.series.book(series("V1", rule=rule)), app.series.book(series("V2", rule=rule)), return_exceptions=True
    )

    assert all(isinstance(o, SeriesConflict) or not isinstance(o, BaseException) for o in outcomes), outcomes
    for vehicle in ("V1", "V2"):
        assert len(await _live_rows(db, vehicle)) in (0, 4), "all or nothing"
    overlaps = await db.fetchval(
        """
        SELECT count(*) FROM appointments a JOIN appointments b ON a.id < b.id
          AND (a.technician_id = b.technician_id OR a.bay_id = b.bay_id)
          AND a.start_at < b.end_at AND b.start_at < a.end_at
        WHERE a.status IN ('scheduled', 'held') AND b.status IN ('scheduled', 'held')
        """
    )
    assert overlaps == 0


async def test_a_bad_rule_is_refused_before_anything_is_held(policy_app: PolicyApp, db: Any) -> None:
    app = await policy_app(tz="America/New_York")

    with pytest.raises(InvalidRequest) as refused:
        await app.series.book(series(rule="FREQ=WEEKLY;COUNT=10000"))

    assert refused.value.details["part"] == "COUNT"
    assert await db.fetchval("SELECT count(*) FROM appointments") == 0


async def test_cancel_from_an_occurrence_cancels_it_and_the_following(policy_app: PolicyApp) -> None:
    app = await policy_app(tz="America/New_York")
    booked = await app.series.book(series(rule="FREQ=WEEKLY;COUNT=4"))
    occurrences = await app.series.series(booked.series_id)

    await app.series.cancel(occurrences, since=occurrences[2].start, reason="moving away")

    statuses = [a.status for a in await app.series.series(booked.series_id)]
    assert statuses == [AppointmentStatus.SCHEDULED] * 2 + [AppointmentStatus.CANCELLED] * 2


async def test_the_horizon_binds_the_first_occurrence_and_the_later_ones_run_to_the_series_end(
    policy_app: PolicyApp, db: Any
) -> None:
    """The horizon ends a day after the first occurrence: the second and third lie beyond it and are booked."""
    horizon = FIRST.astimezone(UTC) + timedelta(days=1) - datetime.now(UTC)
    app = await policy_app(tz="America/New_York", max_booking_horizon=horizon)

    chosen = await app.series.book(series(rule="FREQ=WEEKLY;COUNT=3"))
    picked = await app.series.book(
        replace(series("V2", rule="FREQ=WEEKLY;COUNT=3"), technician_id=None, bay=None, shop_id="shop_a")
    )

    for booked in (chosen, picked):
        starts = [o.appointment.start for o in booked.occurrences if o.appointment is not None]
        assert starts == [FIRST + timedelta(weeks=k) for k in range(3)]


async def test_a_first_occurrence_beyond_the_horizon_refuses_a_reject_series_as_a_422(
    policy_app: PolicyApp, db: Any
) -> None:
    horizon = FIRST.astimezone(UTC) - timedelta(days=1) - datetime.now(UTC)
    app = await policy_app(tz="America/New_York", max_booking_horizon=horizon)

    with pytest.raises(OutsideBookingWindow) as refused:
        await app.series.book(series(rule="FREQ=WEEKLY;COUNT=3"))

    assert refused.value.details["reason"] == "horizon"
    assert refused.value.message.startswith("occurrence 1 of 3")
    assert await db.fetchval("SELECT count(*) FROM appointments") == 0
