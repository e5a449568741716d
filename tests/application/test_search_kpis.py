"""Booking success and recommended-slot uptake on hand-built searches whose figures are known in advance.

shop_a, 2030-02-01 (UTC). Searches (caller, vehicle, rank-1 slot) and what followed:

| search | when | caller | vehicle | rank 1 | booking | counts as |
|---|---|---|---|---|---|---|
| S1 | 08:00 | A | V1 | t0/b0 10:00 | A books t0/b0 10:00, echoing S1's id | booked, rank 1 |
| S2 | 09:00 | A | V2 | t1/b1 12:00 | A books t0/b0 14:00 (no id: matched) | booked, not 1 |
| S3 | 10:00 | B | V3 | t0/b0 16:00 | none | not booked |
| S4 | 11:00 | A | V4 | t1/b1 09:00 | B books V4 (another caller) | not booked |
| S5 | 12:00 | A | V5 | t1/b1 15:00 | A holds t1/b1 15:00, never confirmed | not booked |
| S6 | 01-30 08:00 | A | V6 | t0/b0 17:00 | A books V6 on 02-01: over 24 h later | outside, unlinked |

Success: 2 of 5 searches in the window (S1, S2); uptake: 1 of those 2 bookings (S1).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from application.catalog_cache import CatalogCache
from application.clock import ManualClock
from application.kpis import KpiService, kpi_window
from application.search_log import SearchLog
from domain.appointment import AppointmentStatus
from store import search_repository as searches
from store.search_repository import SearchRecord
from tests.factories import appointment, insert_appointment, seed_shop

DAY = datetime(2030, 2, 1, tzinfo=UTC)
WINDOW = kpi_window(DAY, DAY + timedelta(days=1))
A, B = "key:a", "key:b"


def at(hour: int, day: int = 1) -> datetime:
    return datetime(2030, 2 if day < 10 else 1, day, hour, tzinfo=UTC)


def _search(n: int, when: datetime, caller: str, tech: str, bay: str, start: datetime) -> SearchRecord:
    return SearchRecord(
        id=f"00000000-0000-0000-0000-{n:012d}",
        searched_at=when,
        principal=caller,
        vehicle_id=f"V{n}",
        service_type="routine",
        shop_id="shop_a",
        shops_searched=("shop_a",),
        slot_count=3,
        first_start=start,
        first_technician_id=f"shop_a_{tech}",
        first_bay_id=f"shop_a_{bay}",
    )


async def _book(db: Any, log: SearchLog, clock: ManualClock, when: datetime, caller: str, n: int, **kw: Any) -> Any:
    tech, bay, start = kw.pop("tech"), kw.pop("bay"), kw.pop("start")
    status = kw.pop("status", AppointmentStatus.SCHEDULED)
    held = {"hold_expires_at": when + timedelta(minutes=15)} if status is AppointmentStatus.HELD else {}
    appt = appointment(
        f"shop_a_{tech}", f"shop_a_{bay}", start, vehicle_id=f"V{n}", created_at=when, status=status, **held
    )
    async with db.acquire() as conn, conn.transaction():
        await insert_appointment(conn, appt)
    clock.set(when)
    return await log.link(appt, caller, kw.pop("search_id", None))


async def test_booking_success_and_uptake_of_hand_built_searches(db: Any) -> None:
    await seed_shop(db, techs=2, bays=2)
    records = [
        _search(1, at(8), A, "t0", "b0", at(10)),
        _search(2, at(9), A, "t1", "b1", at(12)),
        _search(3, at(10), B, "t0", "b0", at(16)),
        _search(4, at(11), A, "t1", "b1", at(9)),
        _search(5, at(12), A, "t1", "b1", at(15)),
        _search(6, at(8, day=30), A, "t0", "b0", at(17)),
    ]
    async with db.acquire() as conn:
        for r in records:
            await searches.insert(conn, r)
    clock = ManualClock(DAY)
    log = SearchLog(db, clock)

    linked = [
        await _book(
            db,
            log,
            clock,
            at(8) + timedelta(minutes=5),
            A,
            1,
            tech="t0",
            bay="b0",
            start=at(10),
            search_id=records[0].id,
        ),
        await _book(db, log, clock, at(9) + timedelta(minutes=30), A, 2, tech="t0", bay="b0", start=at(14)),
        await _book(db, log, clock, at(11) + timedelta(minutes=5), B, 4, tech="t1", bay="b1", start=at(9)),
        await _book(
            db,
            log,
            clock,
            at(12) + timedelta(minutes=5),
            A,
            5,
            tech="t1",
            bay="b1",
            start=at(15),
            status=AppointmentStatus.HELD,
        ),
        await _book(db, log, clock, at(13), A, 6, tech="t0", bay="b0", start=at(17)),
    ]
    assert linked == [records[0].id, records[1].id, None, records[4].id, None]

    report = await KpiService(db, CatalogCache(db), log).report(["shop_a"], WINDOW)
    success, uptake = report.booking_success, report.recommended_uptake
    assert (success.numerator, success.denominator, success.met) == (2, 5, False)
    assert (uptake.numerator, uptake.denominator, uptake.value) == (1, 2, pytest.approx(0.5))
    assert success.target is not None and success.target.text == "≥ 95%"

    assert await log.purge(timedelta(days=1)) == 1  # 13:00 on the 1st: only S6 is over a day old
    clock.set(DAY + timedelta(days=3))
    assert await log.purge(timedelta(days=1)) == 5


async def test_an_echoed_id_of_another_caller_s_search_is_not_taken(db: Any) -> None:
    await seed_shop(db, techs=1, bays=1)
    theirs = _search(7, at(8), B, "t0", "b0", at(10))
    async with db.acquire() as conn:
        await searches.insert(conn, theirs)
    clock = ManualClock(DAY)
    log = SearchLog(db, clock)
    assert await _book(db, log, clock, at(9), A, 7, tech="t0", bay="b0", start=at(10), search_id=theirs.id) is None
