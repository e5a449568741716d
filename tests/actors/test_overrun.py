"""A job in progress runs long: what it collides with moves first, then it is extended (issue 14).

shop_a opens 07:00-19:00: ``shop_a_t0`` works on job A (09:00-10:00, in progress, bay b0)
and has job B next (10:30-11:30, bay b0); ``shop_a_t1`` is free. A runs an hour longer:
B starts within the buffer after A's new end on t0 and before it in b0, so B goes to
t1 in b1 at the same time, and A ends at 11:00.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from actors.factory import RayDirectory
from application.clock import ManualClock
from application.overrun import OverrunService
from application.time_off import TimeOffService
from application.wiring import Application, build_application
from domain.errors import InvalidRequest, InvalidTransition
from domain.policy import CancellationPolicy
from store import appointment_repository as appointments
from tests.actors.checks import calendars_match_database, outbox_events, overlapping_rows
from tests.actors.conftest import POLICY, request
from tests.actors.test_reassignment import seed

NOW = datetime(2030, 2, 1, 9, 5, tzinfo=UTC)


def at(hour: int, minute: int = 0) -> datetime:
    return NOW.replace(hour=hour, minute=minute)


async def the_day(db: Any, directory: RayDirectory, clock: ManualClock) -> tuple[Application, str, str]:
    clock.set(NOW - timedelta(hours=3))
    await seed(db)
    app = build_application(db, directory, POLICY, CancellationPolicy(), clock=clock)
    await app.booking.activate_shop("shop_a", clock.now())
    a = await app.booking.book(request("shop_a_t0", "shop_a_b0", at(9)), now=clock.now())
    b = await app.booking.book(request("shop_a_t0", "shop_a_b0", at(10, 30)), now=clock.now())
    clock.set(NOW)
    async with db.acquire() as conn:
        await appointments.set_status(conn, a.id, a.status.IN_PROGRESS, NOW)
    return app, a.id, b.id


def overrun(app: Application) -> OverrunService:
    time_off = TimeOffService(app.booking, app.queries, app.finder, app.catalog)
    return OverrunService(app.booking, app.queries, app.finder, app.catalog, time_off)


async def test_an_overrun_moves_the_next_job_then_extends(db: Any, directory: RayDirectory, clock: ManualClock) -> None:
    app, a_id, b_id = await the_day(db, directory, clock)
    plan = await overrun(app).extend(a_id, 60, now=NOW)
    assert plan.extended and plan.appointment.end == at(11)
    [change] = plan.changes
    assert (change.appointment_id, change.outcome, change.after) == (
        b_id,
        "reassigned",
        ("shop_a_t1", "shop_a_b1", at(10, 30)),
    )
    a, b = await app.queries.get(a_id), await app.queries.get(b_id)
    assert (a.technician_id, a.start, a.end) == ("shop_a_t0", at(9), at(11))  # the job in progress never moves
    assert (b.technician_id, b.bay_id, b.start) == ("shop_a_t1", "shop_a_b1", at(10, 30))
    assert [e.event_type for e in await outbox_events(db, b_id)].count("technician.assigned") == 2
    assert await overlapping_rows(db) == 0
    assert await calendars_match_database(app.booking, "shop_a", NOW) == []


async def test_an_overrun_that_collides_with_nothing_only_extends(
    db: Any, directory: RayDirectory, clock: ManualClock
) -> None:
    app, a_id, _ = await the_day(db, directory, clock)
    plan = await overrun(app).extend(a_id, 15, now=NOW)  # 10:15 + 30 min buffer = 10:45 > 10:30: B collides
    assert plan.changes and plan.extended
    again = await overrun(app).extend(a_id, 15, now=NOW)  # now B is gone from t0: nothing to move
    assert again.extended and again.changes == () and again.appointment.end == at(10, 30)


async def test_only_a_job_in_progress_extends_and_only_by_a_sensible_amount(
    db: Any, directory: RayDirectory, clock: ManualClock
) -> None:
    app, a_id, b_id = await the_day(db, directory, clock)
    with pytest.raises(InvalidTransition):
        await overrun(app).extend(b_id, 30, now=NOW)
    for minutes in (0, -5, 100_000):
        with pytest.raises(InvalidRequest):
            await overrun(app).extend(a_id, minutes, now=NOW)
    assert (await app.queries.get(a_id)).end == at(10)
