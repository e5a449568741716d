"""A completed job was one of the technician's jobs that day: it still counts toward the daily cap."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.appointment import AppointmentStatus, Progress
from domain.time_windows import Interval
from store import appointment_repository as appointments
from tests.factories import appointment, insert_appointment, resource_rids, seed_shop

DAY = Interval(datetime(2030, 2, 1, tzinfo=UTC), datetime(2030, 2, 2, tzinfo=UTC))


async def test_a_completed_job_still_counts_toward_the_cap_and_a_no_show_does_not(db: Any) -> None:
    await seed_shop(db, techs=1, bays=2)
    done = appointment("shop_a_t0", "shop_a_b0", DAY.start + timedelta(hours=8), vehicle_id="V1")
    gone = appointment("shop_a_t0", "shop_a_b1", DAY.start + timedelta(hours=10), vehicle_id="V2")
    now = DAY.start + timedelta(hours=12)
    async with db.acquire() as conn, conn.transaction():
        for appt in (done, gone):
            await insert_appointment(conn, appt, now=DAY.start)
        finished = Progress(actual_start=done.start, actual_end=done.end, completed_at=done.end)
        await appointments.record_progress(
            conn, replace(done, status=AppointmentStatus.COMPLETED, progress=finished), now
        )
        await appointments.record_progress(
            conn, replace(gone, status=AppointmentStatus.NO_SHOW, progress=Progress(no_show_at=now)), now
        )
        tech_rid, bay_rid = await resource_rids(conn, "shop_a", "shop_a_t0", "shop_a_b0")
        assert await appointments.expire_and_count_technician_jobs(conn, tech_rid, bay_rid, "shop_a_t0", DAY, now) == 1
        third = appointment("shop_a_t0", "shop_a_b0", DAY.start + timedelta(hours=14), vehicle_id="V3")
        refused = await appointments.insert_under_cap(
            conn, third, tech_rid=tech_rid, bay_rid=bay_rid, buffer=timedelta(0), day=DAY, cap=1, now=now
        )
        assert refused == 1
