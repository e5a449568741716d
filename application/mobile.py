"""On-site (mobile) work, issue 17: the rules a slot search and a booking add for it.

An on-site job goes through the same search and booking path as shop work;
this module adds what travel changes:

* **the request**: an on-site service needs a ``location``, within
  ``max_service_radius_km`` of some capable technician's base (else 422 naming
  ``location``);
* **the search**: each mobile technician's day becomes a list of visits in
  solver minutes, with the drive to and from the job's place: their
  existing on-site jobs, and their base as a zero-length visit at the start and
  end of their hours (so the first job starts after the drive out, and the last
  ends before the drive home). ``Visit.onward`` lets the objective price the
  extra travel an insertion causes;
* **the booking**: inside the booking transaction, after the technician's
  advisory lock, the technician's day is re-read from PostgreSQL and the new
  visit's drives are checked against the neighbours' (an exclusion constraint
  cannot express travel). A visit the technician cannot drive to is
  ``SlotTaken``: 409 with fresh alternatives, as any taken slot.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import pairwise

import asyncpg

from application.transactions import read
from application.travel import TravelTimes, travel_from, travel_legs, travel_table
from domain.appointment import Appointment
from domain.catalog import ServiceType
from domain.errors import InvalidRequest, SlotTaken
from domain.mobile import BASE, Stop, arrival_window, day_legs, travel
from domain.resources import Technician
from domain.shop import GeoPoint, Shop
from domain.time_windows import Interval, local_date, merge
from store import visit_repository as visits

VisitPlan = tuple[Interval, int, int]
"""A visit as the solver builder takes it: (when, minutes to/from the job's place, minutes on to the next stop)."""


@dataclass(frozen=True, slots=True)
class MobileRules:
    """Travel times and the promises of on-site work (``ARRIVAL_WINDOW_MINUTES``, ``MAX_SERVICE_RADIUS_KM``)."""

    travel: TravelTimes
    arrival_window_minutes: int = 120
    max_service_radius_km: float = 50.0

    # -- the request --

    def check_request(self, service: ServiceType, location: GeoPoint | None, technicians: Sequence[Technician]) -> None:
        """422 naming ``location`` when an on-site request has none, or lies beyond every capable base."""
        if not service.on_site:
            return
        if location is None:
            raise InvalidRequest(
                f"{service.code} is done on site: the request needs a location {{lat, lon}}", field="location"
            )
        bases = [
            t.base
            for t in technicians
            if t.base is not None and t.can_visit(service.required_skill, service.required_equipment)
        ]
        if bases and min(b.distance_km(location) for b in bases) <= self.max_service_radius_km:
            return
        raise InvalidRequest(
            f"location is beyond {self.max_service_radius_km:g} km of every mobile technician's base "
            f"who does {service.code}",
            field="location",
        )

    def window_for(self, start: datetime, shop: Shop) -> Interval:
        """The arrival window promised for a visit planned at ``start``."""
        return arrival_window(start, shop.tz, self.arrival_window_minutes)

    # -- the search --

    async def search_visits(
        self,
        booked: Sequence[Appointment],
        shop: Shop,
        technicians: Sequence[Technician],
        working: Mapping[str, Sequence[Interval]],
        site: GeoPoint,
    ) -> dict[str, list[VisitPlan]]:
        """Each technician's visits (``booked``) with the drive to and from ``site``, base edges included."""
        mobile = [t for t in technicians if t.base is not None and t.id in working]
        by_day: dict[tuple[str, date], list[Appointment]] = defaultdict(list)
        for appt in sorted(booked, key=lambda a: a.start):
            if appt.site is not None:
                by_day[appt.technician_id, local_date(appt.start, shop.tz)].append(appt)
        # Two kinds of drive only: between the job's site and every place (a star, 2n), and along each
        # day's route as planned now (n legs), never every pair of places.
        places = [*(t.base for t in mobile if t.base), *(a.site for a in booked if a.site)]
        route_legs = []
        for (tech_id, _), stops in by_day.items():
            base = next(t.base for t in mobile if t.id == tech_id)
            sites = [base, *(a.site for a in stops if a.site), base]
            route_legs += [(a, b) for a, b in pairwise(sites) if a is not None and b is not None]
        table = {**await travel_from(self.travel, site, places), **await travel_legs(self.travel, route_legs)}

        def both_ways(place: GeoPoint) -> int:
            return max(travel(table, place, site), travel(table, site, place))

        out: dict[str, list[VisitPlan]] = {}
        for tech in mobile:
            assert tech.base is not None
            plans: list[VisitPlan] = []
            for day, hours in _days(working[tech.id], shop).items():
                stops = by_day.get((tech.id, day), [])
                legs = day_legs(hours, tech.base, [_stop(a) for a in stops], table)
                onward = {leg.origin: leg.minutes for leg in legs}
                start_edge = Interval(hours.start, hours.start)
                end_edge = Interval(hours.end, hours.end)
                plans.append((start_edge, both_ways(tech.base), onward.get(BASE, 0)))
                for a in stops:
                    assert a.site is not None
                    plans.append((a.interval, both_ways(a.site), onward.get(a.id, 0)))
                plans.append((end_edge, both_ways(tech.base), 0))
            out[tech.id] = plans
        return out

    # -- the booking --

    async def check_reachable(
        self, conn: asyncpg.Connection, appt: Appointment, tech: Technician, shop: Shop, now: datetime
    ) -> None:
        """``SlotTaken`` unless the technician can drive to ``appt`` and on from it (call under their lock)."""
        if appt.site is None or tech.base is None:
            return
        day = local_date(appt.start, shop.tz)
        windows = merge(tech.working_windows(shop, day))
        if not windows:
            raise SlotTaken(f"{tech.id} does not work on {day.isoformat()}", technician_id=tech.id)
        hours = Interval(windows[0].start, windows[-1].end)
        others = [a for a in await visits.live_visits(conn, [tech.id], hours, now) if a.id != appt.id and a.site]
        stops = [*(_stop(a) for a in others), _stop(appt)]
        table = await travel_table(self.travel, [tech.base, *(s.site for s in stops)])
        # Only the new visit's drives: a day already short elsewhere (hours changed) is not this booking's doing.
        short = [
            leg
            for leg in day_legs(hours, tech.base, stops, table)
            if leg.short > 0 and appt.id in (leg.origin, leg.destination)
        ]
        if short:
            leg = short[0]
            raise SlotTaken(
                f"{tech.id} cannot drive {leg.origin} -> {leg.destination} in time "
                f"({leg.minutes} min needed, {leg.available} min free)",
                technician_id=tech.id,
            )


@dataclass(frozen=True, slots=True)
class OnSiteSearch:
    """The slot search's way to mobile technicians' days: their visits from the store, then ``MobileRules``."""

    pool: asyncpg.Pool
    rules: MobileRules

    async def visits(
        self,
        shop: Shop,
        technicians: Sequence[Technician],
        working: Mapping[str, Sequence[Interval]],
        site: GeoPoint,
        window: Interval,
        now: datetime,
    ) -> dict[str, list[VisitPlan]]:
        ids = [t.id for t in technicians if t.mobile]
        booked = await read(self.pool, lambda conn: visits.live_visits(conn, ids, window, now))
        return await self.rules.search_visits(booked, shop, technicians, working, site)


def _stop(appt: Appointment) -> Stop:
    assert appt.site is not None
    return Stop(appt.id, appt.interval, appt.site)


def _days(working: Sequence[Interval], shop: Shop) -> dict[date, Interval]:
    """Each local day's hours from its first start to its last end (the base edges of the day)."""
    out: dict[date, Interval] = {}
    for iv in merge(working):
        day = local_date(iv.start, shop.tz)
        first = out.get(day)
        out[day] = iv if first is None else Interval(first.start, max(first.end, iv.end))
    return out
