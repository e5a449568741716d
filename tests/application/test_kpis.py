"""The KPIs on a hand-built day whose figures are worked out in advance (issue 16).

shop_a (open 07:00-19:00 UTC, so 12 working hours per technician and bay), 2030-02-01:

| # | technician/bay | booked      | status      | urgency  | requested          | work began |
|---|----------------|-------------|-------------|----------|--------------------|------------|
| 1 | t0 / b0        | 08:00-11:00 | completed   | MEDIUM   | 01-30 08:00        | 08:00      |
| 2 | t0 / b0        | 12:00-15:00 | scheduled   | MEDIUM   | 01-29 12:00        |            |
| 3 | t1 / b1        | 09:00-12:00 | no_show     | CRITICAL | 02-01 03:00        |            |
| 4 | t1 / b1        | 13:00-15:00 | cancelled, late, fee 50 | LOW | 01-31 13:00 |            |
| 5 | t1 / b0        | 16:00-18:00 | completed   | CRITICAL | 02-01 06:00        | 16:00      |
| 6 | t0 / b1        | 17:00-18:00 | expired hold | LOW     | 02-01 00:00        |            |
| 7 | t0 / b0        | 02-02 09:00 | scheduled   | MEDIUM   | (outside the window) |          |

Technicians: t0 6 h of 12, t1 2 h of 12 → 8/24; utilizations 1/2 and 1/6 (mean 1/3, sd 1/6): CV 0.5.
Bays: b0 3+3+2 = 8 h of 12, b1 0 of 12 → 8/24; utilizations 2/3 and 0 (mean 1/3, sd 1/3): CV 1.0.
Waits: CRITICAL 6 h and 10 h (mean 8, p90 10); MEDIUM 48 h and 72 h (mean 60, p90 72); LOW none (the
cancelled one does not wait, the expired hold was never booked); HIGH none.
No-shows: 1 of 3 outcomes (#1, #3, #5). Late cancellations: 1 of 5 booked (#1-#5), fees 50.00.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from application.catalog_cache import CatalogCache
from application.kpis import KpiService, kpi_window
from domain.appointment import Appointment, AppointmentStatus, Cancellation, Progress
from domain.errors import InvalidRequest, NotFound
from domain.urgency import Urgency
from store import appointment_repository as appointments
from tests.factories import appointment, insert_appointment, seed_shop

_S = AppointmentStatus
DAY = datetime(2030, 2, 1, tzinfo=UTC)
WINDOW = kpi_window(DAY, DAY + timedelta(days=1))


def at(hour: int, day: int = 1, month: int = 2) -> datetime:
    """An hour of 2030-02-01 (or of another day of 2030)."""
    return datetime(2030, month, day, hour, tzinfo=UTC)


def _day() -> list[tuple[Appointment, _S]]:
    def appt(n: int, tech: str, bay: str, start: datetime, hours: float, urgency: Urgency, asked: datetime) -> Any:
        return appointment(
            f"shop_a_{tech}", f"shop_a_{bay}", start, hours, urgency=urgency, created_at=asked, vehicle_id=f"V{n}"
        )

    return [
        (appt(1, "t0", "b0", at(8), 3, Urgency.MEDIUM, at(8, 30, 1)), _S.COMPLETED),
        (appt(2, "t0", "b0", at(12), 3, Urgency.MEDIUM, at(12, 29, 1)), _S.SCHEDULED),
        (appt(3, "t1", "b1", at(9), 3, Urgency.CRITICAL, at(3)), _S.NO_SHOW),
        (appt(4, "t1", "b1", at(13), 2, Urgency.LOW, at(13, 31, 1)), _S.CANCELLED),
        (appt(5, "t1", "b0", at(16), 2, Urgency.CRITICAL, at(6)), _S.COMPLETED),
        (appt(6, "t0", "b1", at(17), 1, Urgency.LOW, at(0)), _S.EXPIRED),
        (appt(7, "t0", "b0", at(9, 2), 1, Urgency.MEDIUM, at(9, 30, 1)), _S.SCHEDULED),
    ]


async def _seed(db: Any) -> None:
    await seed_shop(db, techs=2, bays=2)
    now = at(20)
    async with db.acquire() as conn, conn.transaction():
        for appt, status in _day():
            await insert_appointment(conn, appt)
            if status is _S.COMPLETED:
                done = replace(
                    appt,
                    status=status,
                    progress=Progress(actual_start=appt.start, actual_end=appt.end, completed_at=appt.end),
                )
                await appointments.record_progress(conn, done, now)
            elif status is _S.NO_SHOW:
                await appointments.record_progress(
                    conn, replace(appt, status=status, progress=Progress(no_show_at=now)), now
                )
            elif status is _S.CANCELLED:
                await appointments.cancel(conn, appt.id, Cancellation(at(9), late=True, fee=Decimal("50.00")))
            elif status is _S.EXPIRED:
                await appointments.set_status(conn, appt.id, status, now)


async def test_the_figures_of_a_hand_built_day(db: Any) -> None:
    await _seed(db)
    report = await KpiService(db, CatalogCache(db)).report(["shop_a"], WINDOW)

    techs = report.technicians
    assert (techs.overall.numerator, techs.overall.denominator) == (8, 24)
    assert {r.resource_id: r.figure.value for r in techs.resources} == {
        "shop_a_t0": pytest.approx(0.5),
        "shop_a_t1": pytest.approx(1 / 6),
    }
    assert techs.coefficient_of_variation == pytest.approx(0.5)
    assert techs.overall.met is False  # 33% is far below the card's 70-80%
    bays = report.bays
    assert (bays.overall.numerator, bays.overall.denominator) == (8, 24)
    assert bays.coefficient_of_variation == pytest.approx(1.0)

    waits = {w.urgency: w for w in report.waits}
    assert (waits[Urgency.CRITICAL].count, waits[Urgency.CRITICAL].mean_hours, waits[Urgency.CRITICAL].p90_hours) == (
        2,
        8,
        10,
    )
    assert waits[Urgency.CRITICAL].met is True
    assert (waits[Urgency.MEDIUM].count, waits[Urgency.MEDIUM].mean_hours, waits[Urgency.MEDIUM].p90_hours) == (
        2,
        60,
        72,
    )
    assert waits[Urgency.MEDIUM].met is True
    assert (waits[Urgency.LOW].count, waits[Urgency.LOW].mean_hours, waits[Urgency.LOW].met) == (0, None, None)
    assert waits[Urgency.HIGH].target is None

    assert (report.no_show.numerator, report.no_show.denominator, report.no_show.met) == (1, 3, False)
    assert (report.late_cancellation.numerator, report.late_cancellation.denominator) == (1, 5)
    assert report.late_cancellation_fees == Decimal("50.00")


async def test_the_chain_adds_up_its_shops_and_a_caller_sees_only_its_own(db: Any) -> None:
    await _seed(db)
    await seed_shop(db, shop_id="shop_b", techs=1, bays=1)  # nothing booked: 12 idle hours each
    kpis = KpiService(db, CatalogCache(db))
    chain = await kpis.chain(WINDOW)
    assert set(chain.shop_ids) == {"shop_a", "shop_b"}
    assert (chain.technicians.overall.numerator, chain.technicians.overall.denominator) == (8, 36)
    only_b = await kpis.chain(WINDOW, frozenset({"shop_b"}))
    assert only_b.shop_ids == ("shop_b",) and only_b.no_show.value is None


async def test_an_unknown_shop_is_not_found(db: Any) -> None:
    await seed_shop(db)
    with pytest.raises(NotFound):
        await KpiService(db, CatalogCache(db)).report(["shop_nowhere"], WINDOW)


def test_a_window_out_of_order_or_over_a_year_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="after"):
        kpi_window(DAY, DAY - timedelta(hours=1))
    with pytest.raises(InvalidRequest, match="after"):
        kpi_window(DAY, DAY)
    with pytest.raises(InvalidRequest, match="366 days"):
        kpi_window(DAY, DAY + timedelta(days=367))
    assert kpi_window(DAY, DAY + timedelta(days=366)).duration == timedelta(days=366)
