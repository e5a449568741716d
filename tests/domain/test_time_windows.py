"""Intervals and DST-safe local windows (hypothesis over time zones and DST days)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.time_windows import (
    SUPPORTED_FROM,
    SUPPORTED_UNTIL,
    Interval,
    in_supported_range,
    intersect_all,
    local_day_bounds,
    local_instant,
    local_window,
    merge,
    subtract,
)

T0 = datetime(2030, 1, 1, tzinfo=UTC)
ZONES = sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))

minutes = st.integers(min_value=0, max_value=2000)


@st.composite
def intervals(draw: st.DrawFn) -> Interval:
    a, b = draw(minutes), draw(minutes)
    lo, hi = min(a, b), max(a, b)
    return Interval(T0 + timedelta(minutes=lo), T0 + timedelta(minutes=hi))


def covered(ivs: list[Interval], minute: int) -> bool:
    instant = T0 + timedelta(minutes=minute, seconds=30)
    return any(iv.contains_instant(instant) for iv in ivs)


@given(st.lists(intervals(), max_size=8), st.lists(intervals(), max_size=8))
def test_subtract_and_intersect_agree_with_pointwise_sets(a: list[Interval], b: list[Interval]) -> None:
    diff, both, union = subtract(a, b), intersect_all(a, b), merge(a)
    for m in range(0, 2001, 7):
        assert covered(diff, m) == (covered(a, m) and not covered(b, m))
        assert covered(both, m) == (covered(a, m) and covered(b, m))
        assert covered(union, m) == covered(a, m)
    assert all(x.end < y.start for x, y in itertools.pairwise(union))


def test_touching_intervals_do_not_overlap() -> None:
    a = Interval(T0, T0 + timedelta(hours=1))
    assert not a.overlaps(Interval(T0 + timedelta(hours=1), T0 + timedelta(hours=2)))
    assert a.overlaps(Interval(T0 + timedelta(minutes=59), T0 + timedelta(hours=2)))


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="offset"):
        Interval(datetime(2030, 1, 1), datetime(2030, 1, 2))


@settings(max_examples=300)
@given(st.sampled_from(ZONES), st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)))
def test_local_window_keeps_wall_clock_times_on_any_day(zone: str, day: date) -> None:
    tz = ZoneInfo(zone)
    window = local_window(day, time(8), time(17), tz)
    assert window is not None
    start_local, end_local = window.start.astimezone(tz), window.end.astimezone(tz)
    # Where 08:00 and 17:00 exist on that day, the window starts and ends at them exactly.
    if _exists(day, time(8), tz):
        assert (start_local.date(), start_local.time()) == (day, time(8))
    if _exists(day, time(17), tz):
        assert (end_local.date(), end_local.time()) == (day, time(17))
    # Its length is nine hours give or take that day's transition.
    assert timedelta(hours=7) <= window.duration <= timedelta(hours=11)


@given(st.sampled_from(ZONES), st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)))
def test_local_days_tile_time_without_gaps(zone: str, day: date) -> None:
    tz = ZoneInfo(zone)
    today, tomorrow = local_day_bounds(day, tz), local_day_bounds(day + timedelta(days=1), tz)
    assert today.end == tomorrow.start
    assert timedelta(hours=22) <= today.duration <= timedelta(hours=26)


@given(
    st.sampled_from(ZONES),
    st.dates(min_value=SUPPORTED_FROM.date(), max_value=SUPPORTED_UNTIL.date() - timedelta(days=1)),
)
def test_a_search_from_any_supported_date_stays_inside_pythons_calendar(zone: str, day: date) -> None:
    # The longest search (60 local days) from any supported date, in any zone, computes without overflow.
    tz = ZoneInfo(zone)
    window = Interval(local_day_bounds(day, tz).start, local_day_bounds(day + timedelta(days=59), tz).end)
    assert window.duration >= timedelta(days=59)


@pytest.mark.parametrize(
    ("value", "inside"),
    [
        (date(1969, 12, 31), False),
        (date(1970, 1, 1), True),
        (date(2199, 12, 31), True),
        (date(2200, 1, 1), False),
        (datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))), False),  # before year 1 in UTC
        (datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-12))), False),  # after year 9999 in UTC
        (datetime(1970, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))), False),  # 1969 in UTC
        (datetime(2199, 12, 31, 23, 59, tzinfo=UTC), True),
        (datetime(2199, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-1))), False),  # 2200 in UTC
    ],
)
def test_supported_range_compares_instants_without_overflow(value: date | datetime, inside: bool) -> None:
    assert in_supported_range(value) is inside


def _exists(day: date, wall: time, tz: ZoneInfo) -> bool:
    instant = local_instant(day, wall, tz).astimezone(tz)
    return (instant.date(), instant.time()) == (day, wall)


def test_new_york_spring_forward_day_is_23_hours_and_hours_stay_local() -> None:
    tz = ZoneInfo("America/New_York")
    day = date(2026, 3, 8)
    assert local_day_bounds(day, tz).duration == timedelta(hours=23)
    window = local_window(day, time(1), time(4), tz)
    assert window is not None and window.duration == timedelta(hours=2)  # 02:00–03:00 does not exist
    morning = local_window(day, time(8), time(17), tz)
    assert morning is not None and morning.start == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)


def test_berlin_fall_back_day_is_25_hours() -> None:
    tz = ZoneInfo("Europe/Berlin")
    day = date(2026, 10, 25)
    assert local_day_bounds(day, tz).duration == timedelta(hours=25)
    window = local_window(day, time(0), time(0), tz)  # midnight to midnight
    assert window is not None and window.duration == timedelta(hours=25)


def test_a_window_inside_the_skipped_hour_is_empty() -> None:
    assert local_window(date(2026, 3, 8), time(2, 15), time(2, 45), ZoneInfo("America/New_York")) is None
