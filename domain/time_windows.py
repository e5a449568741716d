"""Half-open UTC intervals and the arithmetic on them, plus DST-safe local windows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

SUPPORTED_FROM = datetime(1970, 1, 1, tzinfo=UTC)
SUPPORTED_UNTIL = datetime(2200, 1, 1, tzinfo=UTC)
"""The service's calendar: instants in ``[SUPPORTED_FROM, SUPPORTED_UNTIL)``, dates in years 1970..2199.

Every date and datetime a client sends must lie inside it. Python's own
limits (years 1..9999) are far away on both sides, so the arithmetic that
follows an input (a shop's UTC offset, a search of up to 60 days, a local day's
bounds, buffers, parts lead times) can never overflow.
"""


def in_supported_range(value: date | datetime) -> bool:
    """True when the instant (an aware datetime) or the calendar date lies in the supported range.

    Aware datetimes compare by instant without a conversion to UTC, so even
    year 1 east of UTC or year 9999 west of it is answered, not an overflow.
    """
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            raise ValueError(f"value must carry a UTC offset (got naive {value.isoformat()})")
        return SUPPORTED_FROM <= value < SUPPORTED_UNTIL
    return SUPPORTED_FROM.date() <= value < SUPPORTED_UNTIL.date()


def supported_range_text() -> str:
    """How a refusal names the range (e.g. in a 422)."""
    last = SUPPORTED_UNTIL.date() - timedelta(days=1)
    return f"between {SUPPORTED_FROM.date().isoformat()} and {last.isoformat()} (a datetime as its UTC instant)"


def require_aware(value: datetime, name: str = "datetime") -> datetime:
    """Return ``value`` in UTC; refuse naive datetimes (their meaning is ambiguous)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must carry a UTC offset (got naive {value.isoformat()})")
    return value.astimezone(UTC)


@dataclass(frozen=True, order=True, slots=True)
class Interval:
    """A half-open interval ``[start, end)`` of aware instants, stored in UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        start = require_aware(self.start, "start")
        end = require_aware(self.end, "end")
        if end < start:
            raise ValueError(f"interval ends before it starts: {start} > {end}")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)

    def __reduce__(self) -> tuple[Any, tuple[datetime, datetime]]:
        # Stored values are already checked and in UTC: a load skips ``__post_init__`` (a view ships hundreds).
        return (_checked_interval, (self.start, self.end))

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    @property
    def empty(self) -> bool:
        return self.end <= self.start

    def overlaps(self, other: Interval) -> bool:
        """True when the two share time; touching intervals do not overlap."""
        return self.start < other.end and other.start < self.end

    def contains(self, other: Interval) -> bool:
        return self.start <= other.start and other.end <= self.end

    def contains_instant(self, instant: datetime) -> bool:
        return self.start <= instant < self.end

    def intersection(self, other: Interval) -> Interval | None:
        start, end = max(self.start, other.start), min(self.end, other.end)
        return Interval(start, end) if start < end else None

    def widened(self, before: timedelta, after: timedelta) -> Interval:
        return Interval(self.start - before, self.end + after)

    def shifted(self, delta: timedelta) -> Interval:
        return Interval(self.start + delta, self.end + delta)


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted union of the intervals; touching intervals are joined."""
    result: list[Interval] = []
    for iv in sorted(i for i in intervals if not i.empty):
        if result and iv.start <= result[-1].end:
            if iv.end > result[-1].end:
                result[-1] = Interval(result[-1].start, iv.end)
        else:
            result.append(iv)
    return result


def subtract(base: Sequence[Interval], remove: Iterable[Interval]) -> list[Interval]:
    """``base`` minus every interval of ``remove`` (both may be unsorted)."""
    holes = merge(remove)
    result: list[Interval] = []
    for iv in merge(base):
        cursor = iv.start
        for hole in holes:
            if hole.end <= cursor or hole.start >= iv.end:
                continue
            if hole.start > cursor:
                result.append(Interval(cursor, hole.start))
            cursor = max(cursor, hole.end)
            if cursor >= iv.end:
                break
        if cursor < iv.end:
            result.append(Interval(cursor, iv.end))
    return result


def intersect_all(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    """Intersection of two interval sets."""
    out: list[Interval] = []
    ma, mb = merge(a), merge(b)
    i = j = 0
    while i < len(ma) and j < len(mb):
        cut = ma[i].intersection(mb[j])
        if cut is not None:
            out.append(cut)
        if ma[i].end < mb[j].end:
            i += 1
        else:
            j += 1
    return out


def local_instant(day: date, wall: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock ``wall`` on ``day`` in ``tz``.

    A wall time that does not exist (inside the hour skipped when clocks
    spring forward) maps to the transition instant, where the clock resumes;
    an ambiguous one (clocks falling back) takes its first occurrence.
    """
    naive = datetime.combine(day, wall)
    first = naive.replace(tzinfo=tz, fold=0)
    instant = first.astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) == naive:
        return instant
    # In a gap, fold=0 lands the gap's length after the transition and fold=1
    # the same length before it; bisect (to the minute) for the transition.
    lo, hi = naive.replace(tzinfo=tz, fold=1).astimezone(UTC), instant
    after = hi.astimezone(tz).utcoffset()
    while hi - lo > timedelta(minutes=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(tz).utcoffset() == after:
            hi = mid
        else:
            lo = mid
    # Transitions fall on whole minutes; hi is within a minute after one.
    return hi.replace(second=0, microsecond=0)


def local_window(day: date, opens: time, closes: time, tz: ZoneInfo) -> Interval | None:
    """The UTC interval of local ``opens``–``closes`` on ``day``; None if empty.

    ``closes`` of ``time(0)`` means midnight at the end of the day.
    """
    start = local_instant(day, opens, tz)
    end = local_instant(day + timedelta(days=1), time(0), tz) if closes == time(0) else local_instant(day, closes, tz)
    return Interval(start, end) if start < end else None


def local_day_bounds(day: date, tz: ZoneInfo) -> Interval:
    """The UTC interval covering the whole local ``day`` (23, 24 or 25 hours)."""
    return Interval(local_instant(day, time(0), tz), local_instant(day + timedelta(days=1), time(0), tz))


def local_date(instant: datetime, tz: ZoneInfo) -> date:
    """The shop-local calendar date of an instant."""
    return require_aware(instant).astimezone(tz).date()


def local_dates(window: Interval, tz: ZoneInfo) -> list[date]:
    """Every local date that ``window`` touches, in order."""
    first = local_date(window.start, tz)
    last = local_date(window.end - timedelta(microseconds=1), tz) if not window.empty else first
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _checked_interval(start: datetime, end: datetime) -> Interval:
    """An ``Interval`` from values an ``Interval`` already checked (unpickling)."""
    interval = object.__new__(Interval)
    object.__setattr__(interval, "start", start)
    object.__setattr__(interval, "end", end)
    return interval
