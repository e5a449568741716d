"""A technician's time off replans their day: real PostgreSQL, Ray calendar hosts, the slot search (issue 14).

The day (tomorrow at shop_a, open 07:00-19:00): ``shop_a_t0`` has five 1-hour jobs at
08:00, 10:00, 12:00, 14:00 and 16:00 and a client's hold at 17:30; ``shop_a_t1`` is busy at
10:00 and 14:00. ``shop_a_t0`` calls in sick for the whole day: the 08:00, 12:00 and 16:00
jobs go to ``shop_a_t1`` at the same time, the 10:00 and 14:00 jobs move to other slots, the
hold stays.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from actors.factory import RayDirectory
from application.clock import ManualClock
from application.time_off import TimeOffService, summary
from application.wiring import Application, build_application
from domain.errors import InvalidRequest, NotFound
from domain.policy import CancellationPolicy
from domain.time_windows import Interval
from tests.actors.checks import calendars_match_database, outbox_events, overlapping_rows
from tests.actors.conftest import POLICY, request
from tests.actors.test_reassignment import seed

NOW = datetime(2030, 2, 1, 6, 0, tzinfo=UTC)
DAY = NOW + timedelta(days=1)


def at(hour: int, minute: int = 0) -> datetime:
    return DAY.replace(hour=hour, minute=minute)


async def the_day(db: Any, directory: RayDirectory, clock: ManualClock) -> tuple[Application, dict[str, str]]:
    clock.set(NOW)
    await seed(db)
    app = build_application(db, directory, POLICY, CancellationPolicy(), clock=clock)
    await app.booking.activate_shop("shop_a", NOW)
    ids = {}
    for hour in (8, 10, 12, 14, 16):
        ids[f"{hour:02d}"] = (await app.booking.book(request("shop_a_t0", "shop_a_b0", at(hour)), now=NOW)).id
    ids["hold"] = (await app.booking.book(request("shop_a_t0", "shop_a_b0", at(17, 30)), hold=True, now=NOW)).id
    for hour in (10, 14):
        await app.booking.book(request("shop_a_t1", "shop_a_b1", at(hour)), now=NOW)
    return app, ids


def service(app: Application) -> TimeOffService:
    return TimeOffService(app.booking, app.queries, app.finder, app.catalog)


async def rows(db: Any) -> list[tuple[Any, ...]]:
    return [
        tuple(r)
        for r in await db.fetch("SELECT id, technician_id, bay_id, start_at, status FROM appointments ORDER BY id")
    ]


async def test_a_dry_run_plans_the_day_and_writes_nothing(db: Any, directory: RayDirectory, clock: ManualClock) -> None:
    app, _ = await the_day(db, directory, clock)
    before = await rows(db)
    plan = await service(app).record("shop_a_t0", at(0), at(23, 59), "sick", dry_run=True, now=NOW)
    assert plan.dry_run and plan.absence_id is None
    assert summary(plan.changes) == {"kept": 1, "reassigned": 3, "rescheduled": 2, "unplaced": 0}
    assert await rows(db) == before
    assert await db.fetchval("SELECT count(*) FROM technician_absences") == 0


async def test_time_off_keeps_reassigns_or_reschedules_each_appointment_and_the_report_matches_the_database(
    db: Any, directory: RayDirectory, clock: ManualClock
) -> None:
    app, ids = await the_day(db, directory, clock)
    dry = await service(app).record("shop_a_t0", at(0), at(23, 59), "sick", dry_run=True, now=NOW)
    plan = await service(app).record("shop_a_t0", at(0), at(23, 59), "sick", now=NOW)
    assert plan.absence_id is not None
    assert [(c.appointment_id, c.outcome) for c in plan.changes] == [(c.appointment_id, c.outcome) for c in dry.changes]
    by_id = {c.appointment_id: c for c in plan.changes}
    assert by_id[ids["hold"]].outcome == "kept"
    for key in ("08", "12", "16"):
        change = by_id[ids[key]]
        assert change.outcome == "reassigned" and change.after == ("shop_a_t1", "shop_a_b0", at(int(key)))
        assert "sick" in change.reason and change.before == ("shop_a_t0", "shop_a_b0", at(int(key)))
    for key in ("10", "14"):
        assert by_id[ids[key]].outcome == "rescheduled"
    # The report is what the database holds, and each change was published once.
    for change in plan.changes:
        appt = await app.queries.get(change.appointment_id)
        where = change.after or change.before
        assert (appt.technician_id, appt.bay_id, appt.start) == where
        kinds = [e.event_type for e in await outbox_events(db, change.appointment_id)]
        if change.outcome == "reassigned":
            assert kinds.count("technician.assigned") == 2 and "appointment.rescheduled" not in kinds
        if change.outcome == "rescheduled":
            assert kinds.count("appointment.rescheduled") == 1
    live_on_t0 = await db.fetchval(
        "SELECT count(*) FROM appointments WHERE technician_id = 'shop_a_t0' AND status = 'scheduled'"
        " AND start_at < $2 AND end_at > $1",
        at(0),
        at(23, 59),
    )
    assert live_on_t0 == 0
    assert await overlapping_rows(db) == 0
    assert await calendars_match_database(app.booking, "shop_a", NOW) == []
    # The technician's calendar knows the absence: nothing is offered with them that day.
    busy = await app.queries.resource_busy("shop_a", Interval(at(0), at(23, 59)), NOW)
    assert busy.technicians["shop_a_t0"].working == ()

    # The same absence again is the same absence, and changes nothing more.
    again = await service(app).record("shop_a_t0", at(9), at(11), "sick", now=NOW)
    assert again.absence_id == plan.absence_id
    assert {c.outcome for c in again.changes} <= {"kept"}


async def test_withdrawn_time_off_gives_the_day_back(db: Any, directory: RayDirectory, clock: ManualClock) -> None:
    app, _ = await the_day(db, directory, clock)
    plan = await service(app).record("shop_a_t0", at(0), at(23, 59), "sick", now=NOW)
    assert plan.absence_id is not None
    await service(app).withdraw("shop_a_t0", plan.absence_id, now=NOW)

    busy = await app.queries.resource_busy("shop_a", Interval(at(0), at(23, 59)), NOW)
    assert busy.technicians["shop_a_t0"].working != ()
    with pytest.raises(NotFound):
        await service(app).withdraw("shop_a_t0", plan.absence_id, now=NOW)


async def test_bad_time_off_changes_nothing(db: Any, directory: RayDirectory, clock: ManualClock) -> None:
    app, _ = await the_day(db, directory, clock)
    before = await rows(db)
    with pytest.raises(InvalidRequest):
        await service(app).record("shop_a_t0", at(12), at(11), None, now=NOW)
    with pytest.raises(InvalidRequest):
        await service(app).record("shop_a_t0", at(0), at(0) + timedelta(days=91), None, now=NOW)
    with pytest.raises(NotFound):
        await service(app).record("nobody", at(0), at(12), None, now=NOW)
    assert await rows(db) == before
    assert await db.fetchval("SELECT count(*) FROM technician_absences") == 0
