"""Mobile service (issue 17): arrival windows and the travel rule of a technician's day.

A mobile technician leaves their base at the start of their hours, drives to
each on-site job in turn, and must be back at the base by the end of their
hours. Between two jobs there must be at least the drive between their sites
(counted from the first job's end to the second's start). The rule here is
pure: travel minutes come in as a ``TravelTable`` that the application fills
through its travel port (``application.travel``), so the same rule serves the
booking transaction's check, the route view and the tests' checker.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from domain.shop import GeoPoint
from domain.time_windows import Interval, local_date, local_day_bounds

TravelTable = Mapping[tuple[GeoPoint, GeoPoint], int]
"""Whole minutes of driving from one place to another (the same place: 0)."""


def travel(table: TravelTable, a: GeoPoint, b: GeoPoint) -> int:
    """Minutes from ``a`` to ``b`` (0 when they are the same place)."""
    return 0 if a == b else table[(a, b)]


def arrival_window(start: datetime, tz: ZoneInfo, minutes: int) -> Interval:
    """The window of the grid (``minutes`` long, from local midnight) that holds ``start``.

    The grid counts wall-clock minutes from the local midnight, so windows read
    08:00-10:00, 10:00-12:00 for the default of 120 minutes; the last window of
    a day ends at the next midnight at the latest.
    """
    day = local_date(start, tz)
    midnight = local_day_bounds(day, tz)
    local = start.astimezone(tz)
    wall = local.hour * 60 + local.minute
    first = wall - wall % minutes
    opens = datetime(day.year, day.month, day.day, first // 60, first % 60, tzinfo=tz).astimezone(start.tzinfo)
    closes = min(opens + timedelta(minutes=minutes), midnight.end)
    return Interval(max(opens, midnight.start), closes)


@dataclass(frozen=True, slots=True)
class Stop:
    """An on-site job on a technician's day: which, when, where."""

    key: str
    interval: Interval
    site: GeoPoint


@dataclass(frozen=True, slots=True)
class Leg:
    """A drive between two places of a day: ``short`` minutes missing when the time between is less."""

    origin: str
    destination: str
    minutes: int
    available: int

    @property
    def short(self) -> int:
        return max(0, self.minutes - self.available)


BASE = "base"


def day_legs(hours: Interval, base: GeoPoint, stops: Sequence[Stop], table: TravelTable) -> list[Leg]:
    """Every drive of the day in order: base -> first stop -> ... -> last stop -> base.

    ``available`` is the time the schedule leaves for each drive: from the start
    of ``hours`` to the first job, between jobs, and from the last job to the
    end of ``hours``.
    """
    ordered = sorted(stops, key=lambda s: (s.interval.start, s.key))
    if not ordered:
        return []
    legs = [
        Leg(
            BASE, ordered[0].key, travel(table, base, ordered[0].site), _minutes(hours.start, ordered[0].interval.start)
        )
    ]
    for a, b in pairwise(ordered):
        legs.append(Leg(a.key, b.key, travel(table, a.site, b.site), _minutes(a.interval.end, b.interval.start)))
    last = ordered[-1]
    legs.append(Leg(last.key, BASE, travel(table, last.site, base), _minutes(last.interval.end, hours.end)))
    return legs


def infeasible_legs(hours: Interval, base: GeoPoint, stops: Sequence[Stop], table: TravelTable) -> list[Leg]:
    """The drives the day leaves too little time for (empty: the technician can make every visit)."""
    return [leg for leg in day_legs(hours, base, stops, table) if leg.short > 0]


def _minutes(a: datetime, b: datetime) -> int:
    return int((b - a).total_seconds() // 60)
