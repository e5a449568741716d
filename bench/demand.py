"""The simulator's demand: seeded requests with the service card's mix, per shop of a chain.

Arrivals are Poisson, ``per_day`` per shop per working (open) day on average,
spread over every calendar day (weekend requests too) at uniform local times
06:00-22:00, over the measured days and ``lead_days`` before and after them (the
lead-in and lead-out only fill the calendars, so that the measured days are booked
as in a steady state). ``per_day_for_load`` derives ``per_day`` from the
technicians' working hours and the mix's mean job duration for a requested load.

- the card's mix: routine maintenance 1-2 h LOW 50%, diagnostic 2-3 h MEDIUM 25%,
  component repair 3-5 h HIGH 18%, emergency 1-2 h CRITICAL 7%; each maps to the
  catalog's service types of that category that the shop can serve with parts in
  stock (one drawn uniformly), with a duration drawn on a 30-minute grid of its range;
- customers: regular 70%, fleet 20%, premium 10%; a preferred date 1-4 open days
  ahead (LOW), 0-2 (MEDIUM), 0-1 (HIGH; 0 is today while the shop is open 2 h more),
  none for CRITICAL (as soon as possible); 30% of LOW/MEDIUM name a window
  (08:00-12:00 or 13:00-18:00);
- every later choice is drawn up front: 10% take the second offered slot, 10%
  cancel (at a uniform moment between booking and start), 5% do not show.

Everything is a function of the shop data, the days, the rates and the seed, so
both policies of a scenario see the same customers.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from domain.catalog import ServiceCategory, ServiceType
from domain.customer import CustomerTier
from domain.shop import Shop
from domain.time_windows import local_date, local_instant
from domain.urgency import Urgency
from store.shop_file import ShopData, parse_shop_file
from store.shop_loader import parse_demo_chain

MIX: tuple[tuple[ServiceCategory, Urgency, float], ...] = (
    (ServiceCategory.ROUTINE_MAINTENANCE, Urgency.LOW, 0.50),
    (ServiceCategory.DIAGNOSTIC, Urgency.MEDIUM, 0.25),
    (ServiceCategory.COMPONENT_REPAIR, Urgency.HIGH, 0.18),
    (ServiceCategory.EMERGENCY, Urgency.CRITICAL, 0.07),
)
"""The service card's appointment types, their urgency and their share of requests."""
DURATION_STEP = timedelta(minutes=30)
TIERS = ((CustomerTier.REGULAR, 0.70), (CustomerTier.FLEET, 0.20), (CustomerTier.PREMIUM, 0.10))
PREFERRED_OPEN_DAYS_AHEAD = {Urgency.LOW: (1, 4), Urgency.MEDIUM: (0, 2), Urgency.HIGH: (0, 1)}
"""How many open days ahead a customer prefers (0 = today if the shop is open 2 h more); CRITICAL: none."""
WINDOW_SHARE = 0.30
WINDOWS = ((time(8), time(12)), (time(13), time(18)))
ARRIVAL_HOURS = (6, 22)
SECOND_CHOICE = 0.10
CANCEL_RATE = 0.10
NO_SHOW_RATE = 0.05
SCENARIOS = {"normal": 0.75, "peak": 1.00, "overload": 1.20}
"""Requested job hours as a share of the technicians' working hours."""
LEAD_DAYS = 7
"""Days of arrivals before and after the measured weeks, so that their first and last days are booked as in a
steady state (the first days hold the lead-in's bookings, the last days the lead-out's)."""
START = date(2030, 3, 4)
"""A Monday, clear of the demo chain's holidays and time off (the US and EU DST changes fall inside 4 weeks)."""


@dataclass(frozen=True, slots=True)
class Request:
    """One customer's request and every random choice they will make, drawn up front."""

    n: int
    shop_id: str
    vehicle_id: str
    arrival: datetime
    urgency: Urgency
    service_type: str
    duration: timedelta
    tier: CustomerTier
    preferred_date: date | None
    preferred_window: tuple[time, time] | None
    second_choice: bool
    cancels: bool
    cancel_at: float
    """When it cancels: this fraction of the way from booking to the start."""
    no_show: bool
    measured: bool = True
    """Arrived in the measured weeks (not in the lead-in or lead-out, which only fill the calendars)."""


def offered_services(data: ShopData, shop: Shop) -> dict[ServiceCategory, list[ServiceType]]:
    """Per category, the service types ``shop`` can serve now: a skilled technician, an equipped bay, parts in stock."""
    techs = [t for t in data.technicians if t.shop_id == shop.id and t.active and not t.mobile]
    bays = [b for b in data.bays if b.shop_id == shop.id and b.active and b.van_of is None]
    stock = {p.part_code: p.quantity for p in data.parts if p.shop_id == shop.id}
    out: dict[ServiceCategory, list[ServiceType]] = {}
    for st in sorted(data.service_types, key=lambda s: s.code):
        if (
            not st.on_site
            and any(t.has_skill(st.required_skill) for t in techs)
            and any(b.has_equipment(st.required_equipment) for b in bays)
            and all(stock.get(p.part_code, 0) >= p.quantity for p in st.required_parts)
        ):
            out.setdefault(st.category, []).append(st)
    return out


def durations(st: ServiceType) -> list[timedelta]:
    """The 30-minute grid of ``st``'s duration range."""
    low, high = st.duration_range
    steps = int((high - low) / DURATION_STEP)
    return [low + k * DURATION_STEP for k in range(steps + 1)]


def mean_job_hours(offer: Mapping[ServiceCategory, Sequence[ServiceType]]) -> float:
    """The expected job duration of one request under the mix (over the categories the shop serves)."""
    total = weight = 0.0
    for category, _, share in MIX:
        types = offer.get(category, [])
        if types:
            total += share * statistics.fmean(
                statistics.fmean(d / timedelta(hours=1) for d in durations(st)) for st in types
            )
            weight += share
    return total / weight


def simulated_days(start: date, weeks: float) -> list[date]:
    return [start + timedelta(days=d) for d in range(max(1, round(weeks * 7)))]


def technician_hours(data: ShopData, shop: Shop, days: Sequence[date]) -> dict[str, float]:
    """Each technician's working hours over ``days`` (their hours inside the shop's, minus holidays and time off)."""
    return {
        t.id: sum(w.duration / timedelta(hours=1) for d in days for w in t.working_windows(shop, d))
        for t in data.technicians
        if t.shop_id == shop.id and t.active
    }


def open_days(shop: Shop, days: Sequence[date]) -> list[date]:
    return [d for d in days if shop.open_windows(d)]


def per_day_for_load(data: ShopData, days: Sequence[date], load: float) -> dict[str, float]:
    """Arrivals per shop per open day that request ``load`` x the technicians' hours."""
    out = {}
    for shop in data.shops:
        hours = sum(technician_hours(data, shop, days).values())
        out[shop.id] = load * hours / (len(open_days(shop, days)) * mean_job_hours(offered_services(data, shop)))
    return out


def requested_load(data: ShopData, days: Sequence[date], requests: Sequence[Request]) -> dict[str, float]:
    """Requested job hours / technician working hours, per shop."""
    out = {}
    for shop in data.shops:
        asked = sum(r.duration / timedelta(hours=1) for r in requests if r.shop_id == shop.id)
        out[shop.id] = asked / max(1e-9, sum(technician_hours(data, shop, days).values()))
    return out


def _poisson(rng: random.Random, lam: float) -> int:
    if lam > 50:  # normal approximation; Knuth's product underflows
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _weighted(rng: random.Random, options: Sequence[tuple[Any, float]]) -> Any:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


def _upcoming_open_days(shop: Shop, arrival: datetime, count: int) -> list[date]:
    """The next ``count`` open days from ``arrival`` (today counts while 2 h of opening remain)."""
    tz = shop.tz
    day = local_date(arrival, tz)
    out: list[date] = []
    while len(out) < count:
        windows = shop.open_windows(day)
        if windows and max(w.end for w in windows) - max(arrival, min(w.start for w in windows)) >= timedelta(hours=2):
            out.append(day)
        day += timedelta(days=1)
    return out


def generate_demand(
    data: ShopData,
    days: Sequence[date],
    per_day: Mapping[str, float],
    seed: int,
    *,
    lead_days: int = LEAD_DAYS,
    cancel_rate: float = CANCEL_RATE,
    no_show_rate: float = NO_SHOW_RATE,
) -> list[Request]:
    """Every request of the simulation, in arrival order; a function of its arguments only.

    Requests arrive over ``days`` (the measured days) and ``lead_days`` before and after them.
    """
    drawn: list[Request] = []
    arrival_days = [days[0] + timedelta(days=d) for d in range(-lead_days, len(days) + lead_days)]
    for shop in data.shops:
        rng = random.Random(f"{seed}/{shop.id}")
        offer = offered_services(data, shop)
        mix = [(m, m[2]) for m in MIX if offer.get(m[0])]
        rate = per_day[shop.id] * len(open_days(shop, days)) / len(days)
        tz = shop.tz
        for day in arrival_days:
            for _ in range(_poisson(rng, rate)):
                minute = rng.randrange(ARRIVAL_HOURS[0] * 60, ARRIVAL_HOURS[1] * 60)
                arrival = local_instant(day, time(minute // 60, minute % 60), tz)
                category, urgency, _ = _weighted(rng, mix)
                st = rng.choice(offer[category])
                duration = rng.choice(durations(st))
                tier = _weighted(rng, TIERS)
                preferred = window = None
                if urgency in PREFERRED_OPEN_DAYS_AHEAD:
                    lo, hi = PREFERRED_OPEN_DAYS_AHEAD[urgency]
                    preferred = _upcoming_open_days(shop, arrival, hi + 1)[rng.randint(lo, hi)]
                    if urgency in (Urgency.LOW, Urgency.MEDIUM) and rng.random() < WINDOW_SHARE:
                        window = rng.choice(WINDOWS)
                second, cancels, cancel_at, no_show = (
                    rng.random() < SECOND_CHOICE,
                    rng.random() < cancel_rate,
                    rng.random(),
                    rng.random() < no_show_rate,
                )
                drawn.append(
                    Request(
                        n=0,
                        shop_id=shop.id,
                        vehicle_id="",
                        arrival=arrival,
                        urgency=urgency,
                        service_type=st.code,
                        duration=duration,
                        tier=tier,
                        preferred_date=preferred,
                        preferred_window=window,
                        second_choice=second,
                        cancels=cancels,
                        cancel_at=cancel_at,
                        no_show=no_show,
                        measured=days[0] <= day <= days[-1],
                    )
                )
    drawn.sort(key=lambda r: (r.arrival, r.shop_id))
    return [replace(r, n=n, vehicle_id=f"SIM{seed}-{n:05d}") for n, r in enumerate(drawn)]


def load_shop_data(path: str | None) -> ShopData:
    """A shop file's contents; the demo chain without one."""
    return parse_demo_chain() if path is None else parse_shop_file(path)


def describe_demand(data: ShopData, days: Sequence[date], every: Sequence[Request]) -> str:
    """One line on the measured requests: per urgency and tier, on weekends, and the load they ask for."""
    requests = [r for r in every if r.measured]
    by_urgency = {u.value: sum(r.urgency is u for r in requests) for u in Urgency}
    by_tier = {t.value: sum(r.tier is t for r in requests) for t in CustomerTier}
    weekend = sum(r.arrival.astimezone(_tz(data, r.shop_id)).isoweekday() >= 6 for r in requests)
    load = requested_load(data, days, requests)
    return (
        f"{len(requests)} requests ({', '.join(f'{k} {v}' for k, v in by_urgency.items())}; "
        f"{', '.join(f'{k} {v}' for k, v in by_tier.items())}; {weekend} on weekends); requested job hours / "
        f"technician hours: {', '.join(f'{s} {v:.2f}' for s, v in load.items())}; "
        f"and {len(every) - len(requests)} in the lead-in and lead-out"
    )


def _tz(data: ShopData, shop_id: str) -> Any:
    return next(s.tz for s in data.shops if s.id == shop_id)
