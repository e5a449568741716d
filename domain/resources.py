"""The schedulable resources: technicians (people) and service bays (places)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from domain.shop import Shop, WeeklyHours
from domain.time_windows import Interval, intersect_all, local_day_bounds, subtract


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

    def has_skill(self, skill: str | None) -> bool:
        return skill is None or skill in self.skills

    def working_windows(self, shop: Shop, day: date) -> list[Interval]:
        """UTC intervals this technician works on local ``day``.

        Their own hours, inside the shop's opening hours, minus holidays and time off.
        """
        own = self.hours.windows_on(day, shop.tz)
        return subtract(intersect_all(own, shop.open_windows(day)), self.time_off)

    def working_time(self, shop: Shop, window: Interval) -> list[Interval]:
        """Working intervals clipped to ``window``."""
        return _clip_days(window, shop, lambda d: self.working_windows(shop, d))


@dataclass(frozen=True, slots=True)
class ServiceBay:
    """A bay of one shop and the equipment it has (lift, engine hoist, ...)."""

    id: str
    shop_id: str
    name: str
    equipment: frozenset[str]
    active: bool = True

    def has_equipment(self, required: frozenset[str]) -> bool:
        return required <= self.equipment

    def open_time(self, shop: Shop, window: Interval) -> list[Interval]:
        """The shop's open intervals clipped to ``window`` (a bay works when the shop does)."""
        return _clip_days(window, shop, shop.open_windows)


def _clip_days(window: Interval, shop: Shop, per_day: Callable[[date], list[Interval]]) -> list[Interval]:
    out: list[Interval] = []
    first = window.start.astimezone(shop.tz).date()
    last = window.end.astimezone(shop.tz).date()
    day = first
    while day <= last:
        if local_day_bounds(day, shop.tz).overlaps(window):
            out.extend(intersect_all(per_day(day), [window]))
        day += timedelta(days=1)
    return out
