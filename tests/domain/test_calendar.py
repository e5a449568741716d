"""The resource calendar's rules: overlap, buffer, working time, daily cap, holds."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.calendar import CalendarEntry, ResourceCalendar
from domain.errors import DailyCapReached, HoldExpired, HoldNotFound, OutsideWorkingHours, SlotTaken
from domain.shop import Shop, WeeklyHours
from domain.time_windows import Interval

SHOP = Shop("s", "S", "UTC", WeeklyHours({d: ((time(8), time(18)),) for d in range(1, 8)}))
DAY = datetime(2030, 2, 1, tzinfo=UTC)
NOW = DAY - timedelta(days=1)


def at(hour: float, length: float = 1.0) -> Interval:
    start = DAY + timedelta(hours=hour)
    return Interval(start, start + timedelta(hours=length))


def calendar(buffer_min: int = 30, cap: int | None = 6) -> ResourceCalendar:
    def working(window: Interval) -> list[Interval]:
        out = []
        for d in range(-1, 3):
            for w in SHOP.open_windows((window.start + timedelta(days=d)).date()):
                cut = w.intersection(window)
                if cut:
                    out.append(cut)
        return out

    return ResourceCalendar("tech", tz=ZoneInfo("UTC"), working_time=working,
                            buffer=timedelta(minutes=buffer_min), daily_cap=cap)


def test_second_hold_on_overlapping_time_is_refused() -> None:
    cal = calendar()
    cal.hold("a", at(9), NOW + timedelta(minutes=15), NOW)
    with pytest.raises(SlotTaken):
        cal.hold("b", at(9.5), NOW + timedelta(minutes=15), NOW)


def test_buffer_is_kept_between_jobs() -> None:
    cal = calendar(buffer_min=30)
    cal.book("a", at(9), NOW)
    with pytest.raises(SlotTaken):
        cal.book("b", at(10.25), NOW)
    cal.book("b", at(10.5), NOW)
    with pytest.raises(SlotTaken):
        cal.book("c", at(11.75), NOW)  # 15 min after b ends
    cal.book("c", at(12), NOW)


def test_outside_working_hours_is_refused() -> None:
    cal = calendar()
    with pytest.raises(OutsideWorkingHours):
        cal.book("a", at(17.5), NOW)
    with pytest.raises(OutsideWorkingHours):
        cal.book("a", at(7.5), NOW)


def test_seventh_job_of_the_day_is_refused_with_cap_six() -> None:
    cal = calendar(buffer_min=0, cap=6)
    for i in range(6):
        cal.book(f"j{i}", at(8 + i), NOW)
    with pytest.raises(DailyCapReached):
        cal.book("j6", at(15), NOW)


def test_a_finished_job_frees_its_time_but_still_counts_toward_the_cap() -> None:
    cal = calendar(buffer_min=30, cap=2)
    cal.book("done", at(9, 2), NOW)
    cal.book("other", at(14), NOW)
    cal.finish("done", at(9, 2))
    cal.finish("done", at(9, 2))  # idempotent
    assert [e.key for e in cal.entries(NOW)] == ["other"] and cal.busy(at(8, 4), NOW) == []
    assert cal.jobs_on(DAY.date(), NOW) == 2
    with pytest.raises(DailyCapReached):  # its time is free, the day's cap is not
        cal.book("new", at(10), NOW)
    cal.release("other")
    cal.book("new", at(10), NOW)  # overlaps the finished job's booked time


def test_expired_hold_does_not_block_and_cannot_be_confirmed() -> None:
    cal = calendar()
    cal.hold("a", at(9), NOW + timedelta(minutes=15), NOW)
    later = NOW + timedelta(minutes=16)
    cal.book("b", at(9), later)
    with pytest.raises((HoldExpired, HoldNotFound)):
        cal.confirm("a", later)


def test_mutations_are_idempotent_by_key() -> None:
    cal = calendar()
    first = cal.hold("a", at(9), NOW + timedelta(minutes=15), NOW)
    assert cal.hold("a", at(9), NOW + timedelta(minutes=15), NOW) == first
    confirmed = cal.confirm("a", NOW)
    assert cal.confirm("a", NOW) == confirmed
    assert cal.release("a") and not cal.release("a")


def test_moving_within_overlapping_time_of_the_same_entry_works() -> None:
    cal = calendar()
    cal.book("a", at(9, 2), NOW)
    cal.book("a", at(10, 2), NOW)
    assert [e.interval for e in cal.entries(NOW)] == [at(10, 2)]


def test_busy_and_free_account_for_the_buffer() -> None:
    cal = calendar(buffer_min=30)
    cal.replace_all([CalendarEntry("a", at(10))])
    day = Interval(DAY, DAY + timedelta(days=1))
    assert cal.busy(day, NOW) == [Interval(at(9.5).start, at(11.5).start)]
    assert cal.free(day, NOW) == [Interval(at(8).start, at(9.5).start), Interval(at(11.5).start, at(18).start)]


def test_a_job_across_midnight_fits_a_resource_working_around_the_clock() -> None:
    def around_the_clock(window: Interval) -> list[Interval]:
        # one window per local day, as a 00:00-24:00 shop's hours are cut: they touch at midnight
        first = window.start.replace(hour=0, minute=0, second=0, microsecond=0)
        days = [Interval(first + timedelta(days=d), first + timedelta(days=d + 1)) for d in range(-1, 3)]
        return [cut for d in days if (cut := d.intersection(window)) is not None]

    cal = ResourceCalendar("tech", tz=ZoneInfo("UTC"), working_time=around_the_clock,
                           buffer=timedelta(minutes=30), daily_cap=None)

    cal.book("late", at(23.5), NOW)

    assert [e.key for e in cal.entries(NOW)] == ["late"]
