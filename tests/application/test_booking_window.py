"""The booking notice and horizon (MIN_BOOKING_NOTICE_MINUTES, EMERGENCY_NOTICE_MINUTES, MAX_BOOKING_HORIZON_DAYS).

Searches start after the notice (and say so) and end at the horizon; a chosen slot inside the notice or beyond
the horizon is refused (``OutsideBookingWindow``, a 422).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from application.slot_search import SlotSearch
from domain.customer import Customer
from domain.errors import OutsideBookingWindow
from domain.urgency import Urgency
from tests.application.conftest import PolicyApp

WINDOW = {
    "min_booking_notice": timedelta(minutes=120),
    "emergency_notice": timedelta(minutes=30),
    "max_booking_horizon": timedelta(days=90),
}
ROUTINE = SlotSearch(vehicle_id="V1", service_type="routine", shop_ids=("shop_a",), top_k=5)


def _morning() -> datetime:
    """08:00 UTC two days from now: the shop (07:00-19:00 UTC) is open and empty around it."""
    day = datetime.now(UTC).date() + timedelta(days=2)
    return datetime(day.year, day.month, day.day, 8, 0, tzinfo=UTC)


async def test_a_search_inside_the_notice_window_starts_after_it_and_says_why(policy_app: PolicyApp) -> None:
    app = await policy_app(**WINDOW)
    now = _morning()

    result = await app.scheduler.find(ROUTINE, now)

    assert result.slots, result.explanation
    assert min(s.start for s in result.slots) == now + timedelta(hours=2)
    assert any("120 minutes' notice" in line for line in result.explanation), result.explanation


async def test_an_emergency_needs_only_the_emergency_notice(policy_app: PolicyApp) -> None:
    app = await policy_app(**WINDOW)
    now = _morning()

    result = await app.scheduler.find(replace(ROUTINE, urgency=Urgency.CRITICAL), now)

    assert min(s.start for s in result.slots) == now + timedelta(minutes=30)
    assert any("emergency booking needs 30 minutes' notice" in line for line in result.explanation)


async def test_a_search_that_asks_after_the_notice_gets_no_note(policy_app: PolicyApp) -> None:
    app = await policy_app(**WINDOW)
    now = _morning()
    later = now + timedelta(hours=4)

    result = await app.scheduler.find(replace(ROUTINE, earliest=later), now)

    assert min(s.start for s in result.slots) == later
    assert not any("notice" in line for line in result.explanation)


async def test_a_chosen_slot_inside_the_notice_is_refused(policy_app: PolicyApp) -> None:
    app = await policy_app(**WINDOW)
    now = _morning()

    with pytest.raises(OutsideBookingWindow) as refused:
        await app.scheduler.book_chosen(
            ROUTINE,
            technician_id="shop_a_t0",
            bay="shop_a_b0",
            start=now + timedelta(hours=1),
            customer=Customer(),
            notes=None,
            hold=False,
            now=now,
        )
    assert refused.value.details["reason"] == "notice"
    assert refused.value.details["earliest_start"] == (now + timedelta(hours=2)).isoformat()

    booked = await app.scheduler.book_chosen(
        ROUTINE,
        technician_id="shop_a_t0",
        bay="shop_a_b0",
        start=now + timedelta(hours=2),
        customer=Customer(),
        notes=None,
        hold=False,
        now=now,
    )
    assert booked.start == now + timedelta(hours=2)


async def test_a_chosen_slot_beyond_the_horizon_is_refused(policy_app: PolicyApp) -> None:
    app = await policy_app(**WINDOW)
    now = _morning()

    with pytest.raises(OutsideBookingWindow) as refused:
        await app.scheduler.book_chosen(
            ROUTINE,
            technician_id="shop_a_t0",
            bay="shop_a_b0",
            start=now + timedelta(days=91),
            customer=Customer(),
            notes=None,
            hold=False,
            now=now,
        )
    assert refused.value.details["reason"] == "horizon"


async def test_a_search_beyond_the_horizon_finds_nothing_and_says_why(policy_app: PolicyApp) -> None:
    app = await policy_app(**WINDOW)
    now = _morning()

    result = await app.scheduler.find(replace(ROUTINE, earliest=now + timedelta(days=95)), now)

    assert not result.slots
    assert any("beyond the booking horizon" in line for line in result.explanation), result.explanation


async def test_the_best_slot_of_an_auto_booking_respects_the_emergency_notice(policy_app: PolicyApp) -> None:
    app = await policy_app(**WINDOW)
    now = _morning()
    critical = replace(ROUTINE, urgency=Urgency.CRITICAL)

    booked = await app.scheduler.book_best(critical, customer=Customer(), notes=None, hold=False, now=now)

    assert booked.start == now + timedelta(minutes=30)


async def test_a_named_time_inside_the_notice_is_refused_when_the_service_picks_the_technician(
    policy_app: PolicyApp,
) -> None:
    app = await policy_app(**WINDOW)
    now = _morning()

    with pytest.raises(OutsideBookingWindow):
        await app.scheduler.book_best(
            replace(ROUTINE, exact_start=now + timedelta(minutes=45)),
            customer=Customer(),
            notes=None,
            hold=False,
            now=now,
        )
