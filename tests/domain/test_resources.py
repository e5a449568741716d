"""Technician and bay working time, and its per-date cache."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain.resources import DailyWindows, Technician
from domain.shop import Shop, WeeklyHours
from domain.time_windows import Interval

SHOP = Shop("s", "S", "America/New_York", WeeklyHours({d: ((time(8), time(18)),) for d in range(1, 7)}),
            holidays=frozenset({date(2026, 12, 25)}))
TECH = Technician("t", "s", "T", "General", 4.0, 3, frozenset({"general"}),
                  WeeklyHours({d: ((time(7), time(12)), (time(13), time(17))) for d in range(1, 6)}),
                  time_off=(Interval(datetime(2026, 12, 2, 15, tzinfo=UTC), datetime(2026, 12, 3, 15, tzinfo=UTC)),))
T0 = datetime(2026, 11, 20, tzinfo=UTC)


@given(st.integers(0, 24 * 40), st.integers(1, 24 * 20))
def test_cached_working_time_equals_the_direct_computation(start_h: int, length_h: int) -> None:
    window = Interval(T0 + timedelta(hours=start_h), T0 + timedelta(hours=start_h + length_h))
    cached = DailyWindows(SHOP.tz, lambda d: TECH.working_windows(SHOP, d))
    assert cached.within(window) == TECH.working_time(SHOP, window)
    assert cached.within(window) == TECH.working_time(SHOP, window)  # served from the cache


def test_each_date_is_computed_once() -> None:
    calls: list[date] = []

    def per_day(day: date) -> list[Interval]:
        calls.append(day)
        return SHOP.open_windows(day)

    cached = DailyWindows(SHOP.tz, per_day)
    window = Interval(T0, T0 + timedelta(days=14))
    first = cached.within(window)
    assert cached.within(window) == first
    assert len(calls) == len(set(calls)) == 15


def test_working_time_is_inside_shop_hours_and_skips_holidays_and_time_off() -> None:
    day = Interval(datetime(2026, 12, 25, tzinfo=UTC), datetime(2026, 12, 26, 5, tzinfo=UTC))
    assert TECH.working_time(SHOP, day) == []
    windows = TECH.working_windows(SHOP, date(2026, 12, 1))  # a Tuesday
    local = [(w.start.astimezone(SHOP.tz).time(), w.end.astimezone(SHOP.tz).time()) for w in windows]
    assert local == [(time(8), time(12)), (time(13), time(17))]
    assert all(not w.overlaps(TECH.time_off[0]) for w in TECH.working_windows(SHOP, date(2026, 12, 2)))
