"""A shop (service center): its time zone, opening hours, holidays and place."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.time_windows import Interval, local_window

WallWindow = tuple[time, time]
"""A local wall-clock window ``(opens, closes)``; ``closes`` of 00:00 means midnight."""


@dataclass(frozen=True, slots=True)
class WeeklyHours:
    """Wall-clock windows per ISO weekday (1 = Monday .. 7 = Sunday)."""

    days: Mapping[int, tuple[WallWindow, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for weekday, windows in self.days.items():
            if weekday not in range(1, 8):
                raise ValueError(f"weekday must be 1..7 (Monday..Sunday), got {weekday}")
            for opens, closes in windows:
                if closes != time(0) and closes <= opens:
                    raise ValueError(f"window closes ({closes}) before it opens ({opens})")

    def windows_on(self, day: date, tz: ZoneInfo) -> list[Interval]:
        """The UTC intervals of this day's windows, DST-safe."""
        out: list[Interval] = []
        for opens, closes in self.days.get(day.isoweekday(), ()):
            iv = local_window(day, opens, closes, tz)
            if iv is not None:
                out.append(iv)
        return out


@dataclass(frozen=True, slots=True)
class GeoPoint:
    """A WGS84 position."""

    lat: float
    lon: float

    def __post_init__(self) -> None:
        if not -90 <= self.lat <= 90 or not -180 <= self.lon <= 180:
            raise ValueError(f"not a position on Earth: ({self.lat}, {self.lon})")

    def distance_km(self, other: GeoPoint) -> float:
        """Great-circle (haversine) distance."""
        p1, p2 = math.radians(self.lat), math.radians(other.lat)
        dp, dl = p2 - p1, math.radians(other.lon - self.lon)
        a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
        return 2 * 6371.0088 * math.asin(math.sqrt(a))


def parse_timezone(name: str) -> ZoneInfo:
    """A ZoneInfo for an IANA name, with a clear error for an unknown one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {name!r}") from None


@dataclass(frozen=True, slots=True)
class Shop:
    """A service center. Its hours are local to ``timezone``."""

    id: str
    name: str
    timezone: str
    hours: WeeklyHours
    holidays: frozenset[date] = frozenset()
    location: GeoPoint | None = None
    address: str = ""

    def __post_init__(self) -> None:
        parse_timezone(self.timezone)

    @property
    def tz(self) -> ZoneInfo:
        # ZoneInfo caches instances per key, so this is a dict lookup.
        return ZoneInfo(self.timezone)

    def open_windows(self, day: date) -> list[Interval]:
        """UTC intervals the shop is open on local ``day`` (none on holidays)."""
        if day in self.holidays:
            return []
        return self.hours.windows_on(day, self.tz)
