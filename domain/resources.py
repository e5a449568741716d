"""The schedulable resources: technicians (people) and service bays (places)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from domain.shop import GeoPoint, Shop, WeeklyHours
from domain.time_windows import Interval, intersect_all, local_day_bounds, merge, subtract


@dataclass(frozen=True, slots=True)
class Technician:
    """A technician of one shop, with skills and weekly hours in shop-local time."""

    id: str
    shop_id: str
    name: str
    specialization: str
    rating: float
    years_experience: int
    skills: frozenset[str]
    hours: WeeklyHours
    time_off: tuple[Interval, ...] = ()
    email: str | None = None
    active: bool = True
    mobile: bool = False
    """Works on site from a van (issue 17): starts and ends the day at ``base``."""
    base: GeoPoint | None = None
    van_equipment: frozenset[str] = frozenset()
    """What the van carries; an on-site service's ``required_equipment`` must be in it."""

    def has_skill(self, skill: str | None) -> bool:
        return skill is None or skill in self.skills

    @property
    def van_id(self) -> str:
        """The id of this technician's van, the 'bay' an on-site job takes (``ServiceBay.van_of``)."""
        return van_id_of(self.id)

    def can_visit(self, skill: str | None, equipment: frozenset[str]) -> bool:
        """An active mobile technician with a base, the skill, and a van carrying the equipment."""
        return (
            self.active
            and self.mobile
            and self.base is not None
            and self.has_skill(skill)
            and equipment <= self.van_equipment
        )

    def working_windows(self, shop: Shop, day: date) -> list[Interval]:
        """UTC intervals this technician works on local ``day``.

        Their own hours, inside the shop's opening hours, minus holidays and time off.
        """
        own = self.hours.windows_on(day, shop.tz)
        return subtract(intersect_all(own, shop.open_windows(day)), self.time_off)

    def working_time(self, shop: Shop, window: Interval) -> list[Interval]:
        """Working intervals clipped to ``window``."""
        return _clip_days(window, shop.tz, lambda d: self.working_windows(shop, d))


@dataclass(frozen=True, slots=True)
class ServiceBay:
    """A bay of one shop and the equipment it has (lift, engine hoist, ...)."""

    id: str
    shop_id: str
    name: str
    equipment: frozenset[str]
    active: bool = True
    van_of: str | None = None
    """The mobile technician whose van this is: a van takes on-site jobs only, never shop work."""

    def has_equipment(self, required: frozenset[str]) -> bool:
        return required <= self.equipment

    def open_time(self, shop: Shop, window: Interval) -> list[Interval]:
        """The shop's open intervals clipped to ``window`` (a bay works when the shop does)."""
        return _clip_days(window, shop.tz, shop.open_windows)


def van_id_of(technician_id: str) -> str:
    """The van's id for a mobile technician: one van each, so the van is held with its driver."""
    return f"{technician_id}-van"


class DailyWindows:
    """A resource's working intervals per local date, each date computed once.

    They depend only on hours, holidays and time off, which a resource's
    actor holds for its lifetime; slot searches ask for the same 14 days over
    and over, so the zone arithmetic is done once per date, not per search.
    """

    def __init__(self, tz: ZoneInfo, per_day: Callable[[date], list[Interval]]) -> None:
        self._tz = tz
        self._per_day = per_day
        self._cache: dict[date, list[Interval]] = {}

    def on(self, day: date) -> list[Interval]:
        """The day's working intervals, sorted and merged."""
        found = self._cache.get(day)
        if found is None:
            found = self._cache[day] = merge(self._per_day(day))
        return found

    def within(self, window: Interval) -> list[Interval]:
        """Working intervals clipped to ``window``.

        A day's intervals lie inside that local day, so only the dates the
        window touches are looked at; whole intervals are reused as they are.
        """
        out: list[Interval] = []
        day = window.start.astimezone(self._tz).date()
        last = window.end.astimezone(self._tz).date()
        while day <= last:
            for w in self.on(day):
                if w.end <= window.start or w.start >= window.end:
                    continue
                if window.start <= w.start and w.end <= window.end:
                    out.append(w)
                else:
                    out.append(Interval(max(w.start, window.start), min(w.end, window.end)))
            day += timedelta(days=1)
        return out


def _clip_days(window: Interval, tz: ZoneInfo, per_day: Callable[[date], list[Interval]]) -> list[Interval]:
    out: list[Interval] = []
    first = window.start.astimezone(tz).date()
    last = window.end.astimezone(tz).date()
    day = first
    while day <= last:
        if local_day_bounds(day, tz).overlaps(window):
            out.extend(intersect_all(per_day(day), [window]))
        day += timedelta(days=1)
    return out
