"""A seeded demand simulation through the real booking path: the service's ranking against first-fit.

    .venv/bin/python bench/simulate.py [--quick] [--weeks 4] [--scenarios normal,peak,overload]
        [--policy service|first-fit|both] [--per-day N] [--shops FILE] [--seed 1]

What runs: the real application layer (``application.wiring.build_application``:
``Scheduler.find`` and ``Scheduler.book_chosen``, ``BookingService.cancel``),
real PostgreSQL (a fresh database per scenario and policy, on DATABASE_URL's
server, else the embedded one under .data/bench) and real Ray calendar hosts
(``actors.factory.RayDirectory``, a fresh namespace per run), all called in
process (no HTTP), on a local Ray with 2 CPUs. Time is simulated: the services
get a ``ManualClock`` and every call is given ``now=`` the simulated instant,
so a request that arrives on day d is searched and booked at that moment, holds
expire and past bookings stop counting as the simulation moves through the weeks.

Demand (per shop; seeded, the same for both policies of a scenario):

- arrivals: Poisson, ``--per-day`` per shop per working (open) day on average,
  spread over every calendar day (weekend requests too) at uniform local times
  06:00-22:00; by default ``--per-day`` is derived per scenario from the shop's
  technician working hours and the mix's mean job duration so that the requested
  job hours are 75% (normal), 100% (peak) or 120% (overload) of the technicians' hours;
- the card's mix: routine maintenance 1-2 h LOW 50%, diagnostic 2-3 h MEDIUM 25%,
  component repair 3-5 h HIGH 18%, emergency 1-2 h CRITICAL 7%; each maps to the
  catalog's service types of that category that the shop can serve with parts in
  stock (one drawn uniformly), with a duration drawn on a 30-minute grid of the range;
- customers: regular 70%, fleet 20%, premium 10%; a preferred date 1-4 open days
  ahead (LOW), 0-2 (MEDIUM), 0-1 (HIGH), none for CRITICAL (as soon as possible);
  30% of LOW/MEDIUM name a window (08:00-12:00 or 13:00-18:00);
- a customer takes the first offered slot 90% of the time, else the second
  (``book_chosen``; on a conflict the first alternative offered, then a new search);
- 10% of bookings are cancelled later (at a uniform moment before the start);
  a no-show rate (5%) is drawn and counted only: there is no no-show command yet,
  so a no-show's hours still count as booked.

Policies: ``service`` is the service as configured by default (CP-SAT ranking,
reserves, fragmentation terms). ``first-fit`` is what Cal.com and
Easy!Appointments do: the earliest feasible slot at or after the time the
customer wants (their preferred date and window opening; arrival for CRITICAL),
over the same availability and hard rules (hours, buffer, daily cap, skills,
equipment, parts): ``solver.greedy_slots`` in place of CP-SAT, the offers sorted
by start, and no reserves (they are the service's policy, not a calendar's).

Printed per scenario and policy: success, first-slot uptake, wait from arrival per
urgency, CRITICAL within 24 h, HIGH within 2 working days of the preferred date,
LOW/MEDIUM delay past the preferred date, utilization per shop and technician
(booked job hours / working hours over the simulated days, cancelled jobs out)
with the CV across technicians, search and booking latency, service / first-fit,
the database's own checks (no double booking) and the issue's targets, met or missed.
Figures, not assertions; times are those of a shared 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import math
import os
import random
import statistics
import sys
import time as wall
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if __name__ == "__main__":  # as a script: the repository first, bench/ off the path (bench/http.py, bench/solver.py)
    sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

import asyncpg  # noqa: E402

from application.clock import ManualClock  # noqa: E402
from application.scheduler import Scheduler  # noqa: E402
from application.slot_search import CalendarAvailability, SlotFinder, SlotSearch, SlotSearchResult  # noqa: E402
from application.wiring import SINGLE_SHOP_TIME_LIMIT_S, Application, build_application  # noqa: E402
from domain.appointment import Appointment  # noqa: E402
from domain.catalog import ServiceCategory, ServiceType  # noqa: E402
from domain.customer import Customer, CustomerTier  # noqa: E402
from domain.errors import DailyCapReached, SlotTaken, VehicleAlreadyBooked  # noqa: E402
from domain.job import Slot  # noqa: E402
from domain.policy import CancellationPolicy, SchedulingPolicy  # noqa: E402
from domain.shop import Shop  # noqa: E402
from domain.time_windows import Interval, local_date, local_day_bounds, local_instant  # noqa: E402
from domain.urgency import Urgency  # noqa: E402
from solver import SlotProblem, SlotResult, greedy_slots  # noqa: E402
from store.shop_file import ShopData  # noqa: E402

# -- demand ---------------------------------------------------------------------------------------

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
SEARCH_DAYS = 14
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
    techs = [t for t in data.technicians if t.shop_id == shop.id and t.active]
    bays = [b for b in data.bays if b.shop_id == shop.id and b.active]
    stock = {p.part_code: p.quantity for p in data.parts if p.shop_id == shop.id}
    out: dict[ServiceCategory, list[ServiceType]] = {}
    for st in sorted(data.service_types, key=lambda s: s.code):
        if (
            any(t.has_skill(st.required_skill) for t in techs)
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
            total += share * statistics.fmean(statistics.fmean(d / timedelta(hours=1) for d in durations(st))
                                              for st in types)
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
                    Request(0, shop.id, "", arrival, urgency, st.code, duration, tier, preferred, window,
                            second, cancels, cancel_at, no_show, days[0] <= day <= days[-1])
                )
    drawn.sort(key=lambda r: (r.arrival, r.shop_id))
    return [replace(r, n=n, vehicle_id=f"SIM{seed}-{n:05d}") for n, r in enumerate(drawn)]


# -- the two policies -----------------------------------------------------------------------------

SERVICE, FIRST_FIT = "service", "first-fit"
POLICIES = (SERVICE, FIRST_FIT)


def scheduling_policy(name: str) -> SchedulingPolicy:
    """The service's default policy; first-fit keeps its hard rules and drops the reserves."""
    policy = SchedulingPolicy()
    if name == FIRST_FIT:
        return replace(
            policy,
            urgent_reserve=replace(policy.urgent_reserve, share=0.0),
            priority_reserve=replace(policy.priority_reserve, share=0.0),
        )
    return policy


class GreedyRunner:
    """A ``SolveRunner`` that answers with ``solver.greedy_slots``: the earliest feasible distinct slots."""

    async def solve(self, problems: Sequence[SlotProblem], time_limit_s: float) -> list[SlotResult | None]:
        return list(await asyncio.gather(*(asyncio.to_thread(greedy_slots, p) for p in problems)))


class EarliestFirstFinder(SlotFinder):
    """The slot search over the same calendars with greedy first-fit, offers sorted by start (not by cost)."""

    async def find(self, search: SlotSearch, now: datetime | None = None) -> SlotSearchResult:
        result = await super().find(search, now)
        return replace(result, slots=tuple(sorted(result.slots, key=lambda s: (s.start, s.technician_id))))


def application(
    policy_name: str, pool: asyncpg.Pool, url: str, clock: ManualClock, namespace: str
) -> tuple[Application, Any]:
    """The application stack of one run over Ray calendar hosts in ``namespace``; also the directory (to shut down)."""
    from actors.factory import RayDirectory
    from actors.solve_tasks import RaySolveRunner

    policy = scheduling_policy(policy_name)
    directory = RayDirectory(url, policy, namespace=namespace)
    app = build_application(pool, directory, policy, CancellationPolicy(), multi_runner=RaySolveRunner(), clock=clock)
    if policy_name == FIRST_FIT:
        finder = EarliestFirstFinder(
            app.catalog,
            CalendarAvailability(app.queries),
            policy,
            single_runner=GreedyRunner(),
            time_limit_s=SINGLE_SHOP_TIME_LIMIT_S,
        )
        app = replace(app, finder=finder, scheduler=Scheduler(finder, app.booking, app.catalog))
    return app, directory


def wanted_instant(request: Request, shop: Shop) -> datetime:
    """When the customer wants to come: their preferred date (at their window's opening), never before arrival."""
    if request.preferred_date is None:
        return request.arrival
    if request.preferred_window is not None:
        wanted = local_instant(request.preferred_date, request.preferred_window[0], shop.tz)
    else:
        wanted = local_day_bounds(request.preferred_date, shop.tz).start
    return max(request.arrival, wanted)


def slot_search(request: Request, shop: Shop, policy_name: str) -> SlotSearch:
    """The search a customer's request makes; first-fit starts at the wanted time, within the same horizon."""
    earliest, days = None, SEARCH_DAYS
    if policy_name == FIRST_FIT:
        wanted = wanted_instant(request, shop)
        if wanted > request.arrival:
            earliest = wanted
            days -= (local_date(wanted, shop.tz) - local_date(request.arrival, shop.tz)).days
    return SlotSearch(
        vehicle_id=request.vehicle_id,
        service_type=request.service_type,
        urgency=request.urgency,
        duration=request.duration,
        preferred_date=request.preferred_date,
        preferred_window=request.preferred_window,
        customer_tier=request.tier,
        shop_ids=(request.shop_id,),
        earliest=earliest,
        search_days=max(1, days),
    )


# -- the simulation -------------------------------------------------------------------------------

BOOKING_ATTEMPTS = 3
"""Slots tried per search (the chosen one, then the alternatives a conflict answers with)."""
SEARCHES = 2


@dataclass(slots=True)
class Outcome:
    """What happened to one request."""

    request: Request
    appointment: Appointment | None = None
    offered: tuple[tuple[str, datetime], ...] = ()
    """The slots the first search recommended, best first (technician, start)."""
    refusal: str | None = None
    conflicts: int = 0
    cancelled_at: datetime | None = None
    search_ms: list[float] = field(default_factory=list)
    book_ms: list[float] = field(default_factory=list)

    @property
    def took_first_slot(self) -> bool:
        a = self.appointment
        return a is not None and bool(self.offered) and (a.technician_id, a.start) == self.offered[0]

    @property
    def took_recommended_slot(self) -> bool:
        a = self.appointment
        return a is not None and (a.technician_id, a.start) in self.offered


def _key(slot: Slot) -> tuple[str, datetime]:
    return slot.technician_id, slot.start


async def serve(app: Application, outcome: Outcome, shop: Shop, policy_name: str, now: datetime) -> None:
    """The customer searches, takes the first (or second) slot, and on a conflict the next one offered."""
    req = outcome.request
    search = slot_search(req, shop, policy_name)
    customer = Customer(name=f"customer {req.n}", tier=req.tier)
    for _ in range(SEARCHES):
        t0 = wall.perf_counter()
        result = await app.scheduler.find(search, now)
        outcome.search_ms.append((wall.perf_counter() - t0) * 1e3)
        if not result.slots:
            outcome.refusal = "; ".join(result.explanation) or "no slot fits"
            return
        if not outcome.offered:
            outcome.offered = tuple(_key(slot) for slot in result.slots)
        pick = result.slots[1] if req.second_choice and len(result.slots) > 1 else result.slots[0]
        for _ in range(BOOKING_ATTEMPTS):
            t0 = wall.perf_counter()
            try:
                outcome.appointment = await app.scheduler.book_chosen(
                    search,
                    technician_id=pick.technician_id,
                    bay=pick.bay_id,
                    start=pick.start,
                    customer=customer,
                    notes=None,
                    hold=False,
                    shop_id=req.shop_id,
                    now=now,
                )
                return
            except SlotTaken as exc:
                outcome.conflicts += 1
                alternatives = exc.details.get("alternatives") or []
                if not alternatives:
                    break
                pick = alternatives[0]
            except (DailyCapReached, VehicleAlreadyBooked):
                outcome.conflicts += 1
                break
            finally:
                outcome.book_ms.append((wall.perf_counter() - t0) * 1e3)
    outcome.refusal = "every slot offered was taken meanwhile"


async def simulate(
    app: Application, clock: ManualClock, data: ShopData, requests: Sequence[Request], policy_name: str
) -> list[Outcome]:
    """Replay ``requests`` in simulated time: arrivals, later cancellations, and a daily sweep of stale holds."""
    shops = {s.id: s for s in data.shops}
    outcomes = [Outcome(r) for r in requests]
    if not requests:
        return outcomes
    first = requests[0].arrival
    clock.set(first)
    for shop in data.shops:
        await app.booking.activate_shop(shop.id, first)
    queue: list[tuple[datetime, int, int, str]] = [(r.arrival, 1, i, "arrive") for i, r in enumerate(requests)]
    day = datetime.combine(first.date() + timedelta(days=1), time(0), UTC)
    while day <= requests[-1].arrival:
        queue.append((day, 0, -1, "sweep"))
        day += timedelta(days=1)
    heapq.heapify(queue)
    while queue:
        at, _, i, kind = heapq.heappop(queue)
        clock.set(at)
        if kind == "sweep":
            await app.booking.expire_holds(at)
        elif kind == "arrive":
            outcome = outcomes[i]
            await serve(app, outcome, shops[outcome.request.shop_id], policy_name, at)
            appt = outcome.appointment
            if appt is not None and outcome.request.cancels:
                heapq.heappush(queue, (at + (appt.start - at) * outcome.request.cancel_at, 2, i, "cancel"))
        else:
            outcome = outcomes[i]
            assert outcome.appointment is not None
            await app.booking.cancel(outcome.appointment.id, reason="customer cancelled (simulated)", now=at)
            outcome.cancelled_at = at
    return outcomes


# -- figures --------------------------------------------------------------------------------------


def pct(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank ``q`` quantile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def _share(hits: int, total: int) -> float | None:
    return hits / total if total else None


def _open_days_between(shop: Shop, after: date, until: date) -> int:
    """Open days d with after < d <= until."""
    return sum(1 for k in range(1, (until - after).days + 1) if shop.open_windows(after + timedelta(days=k)))


def outside_working_hours(data: ShopData, appointments: Sequence[Appointment]) -> list[Appointment]:
    """Appointments not inside one of their technician's working windows (which lie inside the shop's hours)."""
    shops = {s.id: s for s in data.shops}
    techs = {t.id: t for t in data.technicians}
    out = []
    for a in appointments:
        shop = shops[a.shop_id]
        windows = techs[a.technician_id].working_windows(shop, local_date(a.start, shop.tz))
        if not any(w.start <= a.start and a.end <= w.end for w in windows):
            out.append(a)
    return out


def figures(every: Sequence[Outcome], data: ShopData, days: Sequence[date]) -> dict[str, float | None]:
    """The run's figures by key (see ``rows``): requests that arrived on the measured ``days``,
    job hours booked on them (whenever asked for)."""
    f: dict[str, float | None] = {}
    outcomes = [o for o in every if o.request.measured]
    booked = [o for o in outcomes if o.appointment is not None]
    f["requests"] = len(outcomes)
    f["booked"] = len(booked)
    f["success"] = _share(len(booked), len(outcomes))
    f["uptake"] = _share(sum(o.took_first_slot for o in booked), len(booked))
    f["recommended"] = _share(sum(o.took_recommended_slot for o in booked), len(booked))
    f["conflicts"] = sum(o.conflicts for o in outcomes)
    shops = {s.id: s for s in data.shops}
    for u in Urgency:
        asked = [o for o in outcomes if o.request.urgency is u]
        got = [o for o in asked if o.appointment is not None]
        waits = [(o.appointment.start - o.request.arrival) / timedelta(hours=1) for o in got if o.appointment]
        f[f"refused.{u.value}"] = len(asked) - len(got)
        f[f"success.{u.value}"] = _share(len(got), len(asked))
        f[f"wait.{u.value}.mean"] = _mean(waits)
        f[f"wait.{u.value}.p90"] = pct(waits, 0.9)
        f[f"wait.{u.value}.max"] = max(waits) if waits else None
        if u is Urgency.CRITICAL:
            f["critical.24h"] = _share(sum(w <= 24 for w in waits), len(waits))
    for u in (Urgency.LOW, Urgency.MEDIUM, Urgency.HIGH):
        delays, early, within_two = [], 0, 0
        for o in booked:
            r, a = o.request, o.appointment
            if r.urgency is not u or r.preferred_date is None or a is None:
                continue
            shop = shops[r.shop_id]
            start_day = local_date(a.start, shop.tz)
            delays.append(max(0, (start_day - r.preferred_date).days))
            early += start_day < r.preferred_date
            within_two += _open_days_between(shop, r.preferred_date, start_day) <= 2
        f[f"delay.{u.value}.mean"] = _mean(delays)
        f[f"delay.{u.value}.p90"] = pct(delays, 0.9)
        f[f"early.{u.value}"] = _share(early, len(delays))
        f[f"within2.{u.value}"] = _share(within_two, len(delays))
    kept = [o.appointment for o in every if o.appointment is not None and o.cancelled_at is None]
    f["cancelled"] = sum(o.cancelled_at is not None for o in booked)
    f["all.live"] = len(kept)
    f["all.cancelled"] = sum(o.cancelled_at is not None for o in every)
    f["no_shows"] = sum(o.request.no_show for o in booked if o.cancelled_at is None)
    tech_util: list[float] = []
    for shop in data.shops:
        period = Interval(local_day_bounds(days[0], shop.tz).start, local_day_bounds(days[-1], shop.tz).end)
        hours = technician_hours(data, shop, days)
        jobs = dict.fromkeys(hours, 0.0)
        for a in kept:
            if a.shop_id == shop.id and a.technician_id in jobs and (part := a.interval.intersection(period)):
                jobs[a.technician_id] += part.duration / timedelta(hours=1)
        f[f"util.shop.{shop.id}"] = _share_h(sum(jobs.values()), sum(hours.values()))
        for tech, h in hours.items():
            f[f"util.tech.{tech}"] = _share_h(jobs[tech], h)
            if h > 0:
                tech_util.append(jobs[tech] / h)
    mean_util = _mean(tech_util)
    f["util.cv"] = statistics.pstdev(tech_util) / mean_util if mean_util else None
    searches = [ms for o in outcomes for ms in o.search_ms]
    books = [ms for o in outcomes for ms in o.book_ms]
    f["search.p50"], f["search.p99"] = pct(searches, 0.5), pct(searches, 0.99)
    f["book.p50"], f["book.p99"] = pct(books, 0.5), pct(books, 0.99)
    f["outside_hours"] = len(outside_working_hours(data, [o.appointment for o in every if o.appointment]))
    return f


def _share_h(part: float, whole: float) -> float | None:
    return part / whole if whole > 0 else None


LIVE = "('held', 'scheduled', 'checked_in', 'in_progress')"


async def database_checks(pool: asyncpg.Pool) -> dict[str, int]:
    """Overlapping live appointments per technician (with the buffer), bay and vehicle, and the live rows."""
    overlap = """SELECT count(*) FROM appointments a JOIN appointments b ON a.id < b.id
                 WHERE a.status IN {live} AND b.status IN {live} AND a.{col} = b.{col}
                   AND tstzrange(a.start_at, a.{end}) && tstzrange(b.start_at, b.{end})"""
    out = {}
    for name, col, end in (("technician", "technician_id", "blocked_until"), ("bay", "bay_id", "end_at"),
                           ("vehicle", "vehicle_id", "end_at")):
        out[f"overlaps.{name}"] = int(await pool.fetchval(overlap.format(live=LIVE, col=col, end=end)))
    out["live_rows"] = int(await pool.fetchval(f"SELECT count(*) FROM appointments WHERE status IN {LIVE}"))
    out["cancelled_rows"] = int(await pool.fetchval("SELECT count(*) FROM appointments WHERE status = 'cancelled'"))
    return out


# -- printing -------------------------------------------------------------------------------------

Fmt = Callable[[float], str]


def _pc(v: float) -> str:
    return f"{100 * v:.1f}%"


def _h(v: float) -> str:
    return f"{v:.1f} h"


def _d(v: float) -> str:
    return f"{v:.2f} d"


def _ms(v: float) -> str:
    return f"{v:.1f} ms"


def _n(v: float) -> str:
    return f"{v:.0f}"


def _x(v: float) -> str:
    return f"{v:.3f}"


def rows(data: ShopData) -> list[tuple[str, str, Fmt]]:
    """(key, label, format) of every printed figure, in order."""
    out: list[tuple[str, str, Fmt]] = [
        ("requests", "requests", _n),
        ("success", "booking success rate", _pc),
        *((f"refused.{u.value}", f"  refused {u.value}", _n) for u in Urgency),
        ("uptake", "first-slot uptake", _pc),
        ("recommended", "booked a slot of the first search", _pc),
        ("conflicts", "booking conflicts (409)", _n),
    ]
    for u in Urgency:
        out += [(f"wait.{u.value}.{s}", f"wait from arrival {u.value} {s}", _h) for s in ("mean", "p90", "max")]
    out += [
        ("critical.24h", "CRITICAL booked within 24 h", _pc),
        ("within2.HIGH", "HIGH within 2 working days of pref.", _pc),
    ]
    for u in (Urgency.LOW, Urgency.MEDIUM):
        out += [
            (f"delay.{u.value}.mean", f"{u.value} delay past pref. date mean", _d),
            (f"delay.{u.value}.p90", f"{u.value} delay past pref. date p90", _d),
            (f"early.{u.value}", f"{u.value} booked before pref. date", _pc),
        ]
    out += [(f"util.shop.{s.id}", f"utilization {s.id}", _pc) for s in data.shops]
    out += [(f"util.tech.{t.id}", f"  {t.id} ({t.shop_id})", _pc) for t in data.technicians if t.active]
    out += [
        ("util.cv", "utilization CV across technicians", _x),
        ("search.p50", "search latency p50", _ms),
        ("search.p99", "search latency p99", _ms),
        ("book.p50", "booking latency p50", _ms),
        ("book.p99", "booking latency p99", _ms),
        ("cancelled", "cancelled later", _n),
        ("no_shows", "no-shows (counted only)", _n),
        ("outside_hours", "booked outside working hours", _n),
    ]
    return out


def _cell(v: float | None, fmt: Fmt) -> str:
    return "-" if v is None else fmt(v)


def print_table(data: ShopData, results: Mapping[str, Mapping[str, float | None]]) -> None:
    names = list(results)
    both = SERVICE in results and FIRST_FIT in results
    head = f"{'':40}" + "".join(f"{n:>13}" for n in names) + (f"{'service/ff':>12}" if both else "")
    print(head)
    for key, label, fmt in rows(data):
        line = f"{label:40}" + "".join(f"{_cell(results[n].get(key), fmt):>13}" for n in names)
        if both:
            s, ff = results[SERVICE].get(key), results[FIRST_FIT].get(key)
            line += f"{s / ff:>12.2f}" if s is not None and ff else f"{'-':>12}"
        print(line)


@dataclass(frozen=True, slots=True)
class Target:
    scenarios: tuple[str, ...]
    label: str
    check: Callable[[Mapping[str, Mapping[str, float | None]]], tuple[str, bool] | None]
    """The figure as text and whether it meets the target; None when this run cannot tell."""


def _at_least(key: str, bound: float, fmt: Fmt = _pc) -> Callable[..., tuple[str, bool] | None]:
    def check(r: Mapping[str, Mapping[str, float | None]]) -> tuple[str, bool] | None:
        v = r.get(SERVICE, {}).get(key)
        return None if v is None else (fmt(v), v >= bound)

    return check


def _at_most(key: str, bound: float, fmt: Fmt) -> Callable[..., tuple[str, bool] | None]:
    def check(r: Mapping[str, Mapping[str, float | None]]) -> tuple[str, bool] | None:
        v = r.get(SERVICE, {}).get(key)
        return None if v is None else (fmt(v), v <= bound)

    return check


def _between(key: str, lo: float, hi: float) -> Callable[..., tuple[str, bool] | None]:
    def check(r: Mapping[str, Mapping[str, float | None]]) -> tuple[str, bool] | None:
        v = r.get(SERVICE, {}).get(key)
        return None if v is None else (_pc(v), lo <= v <= hi)

    return check


def _mean_delay(r: Mapping[str, Mapping[str, float | None]]) -> tuple[str, bool] | None:
    s = r.get(SERVICE, {})
    values = [s.get(f"delay.{u}.mean") for u in ("LOW", "MEDIUM")]
    if any(v is None for v in values):
        return None
    return " / ".join(_d(v or 0.0) for v in values), all((v or 0.0) <= 1.0 for v in values)


def _routine_wait(r: Mapping[str, Mapping[str, float | None]]) -> tuple[str, bool] | None:
    v = r.get(SERVICE, {}).get("wait.LOW.mean")
    return None if v is None else (f"{v / 24:.2f} d", v < 72)


def _no_critical_refused(r: Mapping[str, Mapping[str, float | None]]) -> tuple[str, bool] | None:
    s = r.get(SERVICE, {})
    refused = {u: int(s.get(f"refused.{u}") or 0) for u in ("LOW", "MEDIUM", "HIGH", "CRITICAL")}
    return " ".join(f"{u} {n}" for u, n in refused.items()), refused["CRITICAL"] == 0


def _beats_first_fit(r: Mapping[str, Mapping[str, float | None]]) -> tuple[str, bool] | None:
    s, ff = r.get(SERVICE, {}), r.get(FIRST_FIT, {})
    sw, fw = s.get("wait.CRITICAL.mean"), ff.get("wait.CRITICAL.mean")
    ss, fs = s.get("success"), ff.get("success")
    if None in (sw, fw, ss, fs):
        return None
    assert sw is not None and fw is not None and ss is not None and fs is not None
    return (f"CRITICAL wait {sw:.1f} vs {fw:.1f} h, success {_pc(ss)} vs {_pc(fs)}", sw < fw and ss >= fs)


TARGETS = (
    Target(("normal",), "success >= 99%", _at_least("success", 0.99)),
    Target(("normal",), "CRITICAL mean wait <= 12 h", _at_most("wait.CRITICAL.mean", 12, _h)),
    Target(("normal",), "CRITICAL p90 wait <= 24 h", _at_most("wait.CRITICAL.p90", 24, _h)),
    Target(("normal",), "HIGH >= 90% within 2 working days of pref.", _at_least("within2.HIGH", 0.90)),
    Target(("normal",), "utilization CV across technicians <= 0.15", _at_most("util.cv", 0.15, _x)),
    Target(("normal",), "LOW / MEDIUM mean delay past pref. <= 1 day", _mean_delay),
    Target(("peak",), "success >= 95%", _at_least("success", 0.95)),
    Target(("peak",), "CRITICAL mean wait <= 24 h", _at_most("wait.CRITICAL.mean", 24, _h)),
    Target(("overload",), "refused work is LOW/MEDIUM, never CRITICAL", _no_critical_refused),
    Target(tuple(SCENARIOS), "beats first-fit on CRITICAL wait, >= on success", _beats_first_fit),
    Target(tuple(SCENARIOS), "card: booking success >= 95%", _at_least("success", 0.95)),
    Target(tuple(SCENARIOS), "card: >= 90% book a recommended slot", _at_least("recommended", 0.90)),
    Target(tuple(SCENARIOS), "card: routine mean wait < 3 days", _routine_wait),
    Target(tuple(SCENARIOS), "card: CRITICAL mean wait < 24 h", _at_most("wait.CRITICAL.mean", 24 - 1e-9, _h)),
    Target(tuple(SCENARIOS), "card: technician utilization 70-80%", _between("util.all", 0.70, 0.80)),
)


def print_targets(scenario: str, results: Mapping[str, Mapping[str, float | None]]) -> None:
    print(f"targets ({scenario}; the service's figures; issue 12 and the service card):")
    for t in TARGETS:
        if scenario not in t.scenarios:
            continue
        verdict = t.check(results)
        if verdict is None:
            print(f"  {t.label:52} (not measured in this run)")
        else:
            print(f"  {t.label:52} {verdict[0]:>44}  {'met' if verdict[1] else 'MISSED'}")
    print("  slot search p99 <= 50 ms in process is bench/solver.py's figure (the solve alone); "
          "the search latency above adds the calendar reads through Ray")


# -- running --------------------------------------------------------------------------------------


async def fresh_database(server: str, data: ShopData) -> str:
    """A new, migrated database on ``server`` holding ``data``; its URL."""
    from urllib.parse import urlsplit, urlunsplit

    from store.database import connect, migrate
    from store.shop_loader import load_shops

    name = f"sim_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = urlunsplit(urlsplit(server)._replace(path="/" + name))
    await migrate(url)
    conn = await connect(url)
    try:
        await load_shops(conn, data)
    finally:
        await conn.close()
    return url


async def drop_database(server: str, url: str) -> None:
    from urllib.parse import urlsplit

    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{urlsplit(url).path.lstrip("/")}" WITH (FORCE)')
    finally:
        await admin.close()


async def run_policy(
    server: str, data: ShopData, days: Sequence[date], requests: Sequence[Request], policy_name: str
) -> tuple[dict[str, float | None], dict[str, int], float]:
    """One policy on one scenario, on a fresh database and a fresh Ray namespace: figures, checks, seconds."""
    from store.database import create_pool

    url = await fresh_database(server, data)
    pool = await create_pool(url, min_size=2, max_size=16)
    clock = ManualClock(requests[0].arrival if requests else datetime.combine(days[0], time(0), UTC))
    app, directory = application(policy_name, pool, url, clock, f"sim-{uuid.uuid4().hex[:8]}")
    try:
        t0 = wall.perf_counter()
        outcomes = await simulate(app, clock, data, requests, policy_name)
        elapsed = wall.perf_counter() - t0
        f = figures(outcomes, data, days)
        f["util.all"] = overall_utilization(f, data, days)
        return f, await database_checks(pool), elapsed
    finally:
        await directory.shutdown()
        await pool.close()
        await drop_database(server, url)


def overall_utilization(f: Mapping[str, float | None], data: ShopData, days: Sequence[date]) -> float | None:
    booked = hours = 0.0
    for shop in data.shops:
        h = sum(technician_hours(data, shop, days).values())
        hours += h
        booked += (f.get(f"util.shop.{shop.id}") or 0.0) * h
    return booked / hours if hours else None


def load_shop_data(path: str | None) -> ShopData:
    if path is None:
        from store.shop_loader import parse_demo_chain

        return parse_demo_chain()
    from store.shop_file import parse_shop_file

    return parse_shop_file(path)


def describe_demand(data: ShopData, days: Sequence[date], every: Sequence[Request]) -> str:
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


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shops", help="a shop file (YAML/JSON); default: the demo chain")
    parser.add_argument("--weeks", type=float, default=None, help="simulated weeks (default 4; 1 with --quick)")
    parser.add_argument("--per-day", type=float, default=None,
                        help="arrivals per shop per working day (default: derived from each scenario's load)")
    parser.add_argument("--scenarios", default=None,
                        help="comma-separated of normal, peak, overload (default all three; normal with --quick)")
    parser.add_argument("--policy", choices=(SERVICE, FIRST_FIT, "both"), default="both")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", type=date.fromisoformat, default=START, help=f"first simulated day ({START})")
    parser.add_argument("--cancel-rate", type=float, default=CANCEL_RATE)
    parser.add_argument("--no-show-rate", type=float, default=NO_SHOW_RATE)
    parser.add_argument("--lead-days", type=int, default=LEAD_DAYS,
                        help=f"days of arrivals before and after the measured weeks, not measured ({LEAD_DAYS})")
    parser.add_argument("--quick", action="store_true", help="1 week, the normal scenario")
    args = parser.parse_args()
    weeks = args.weeks if args.weeks is not None else (1 if args.quick else 4)
    scenarios = (args.scenarios or ("normal" if args.quick else ",".join(SCENARIOS))).split(",")
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario {', '.join(unknown)}; expected {', '.join(SCENARIOS)}")
    if args.per_day is not None:
        scenarios = [f"per-day {args.per_day:g}"]
    policies = POLICIES if args.policy == "both" else (args.policy,)

    import ray

    from store.database import normalize_dsn

    server = os.environ.get("DATABASE_URL")
    if not server:
        from store.embedded import start_embedded_postgres

        server = start_embedded_postgres(ROOT / ".data" / "bench")
    server = normalize_dsn(server)
    data = load_shop_data(args.shops)
    days = simulated_days(args.start, weeks)
    started = wall.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, namespace="bench-simulate",
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
    try:
        print(f"machine: {os.cpu_count()} cores, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
              f"{len(data.shops)} shops ({', '.join(s.id for s in data.shops)}), {weeks:g} weeks measured from "
              f"{days[0]} ({len(days)} days; arrivals also {args.lead_days} days before and after), seed {args.seed}, "
              f"policies {', '.join(policies)}")
        for shop in data.shops:
            offer = offered_services(data, shop)
            print(f"  {shop.id}: {sum(technician_hours(data, shop, days).values()):.0f} technician hours over "
                  f"{len(open_days(shop, days))} open days; mix mean job {mean_job_hours(offer):.2f} h; service "
                  "types " + "; ".join(f"{c.value}: {', '.join(st.code for st in offer.get(c, []))}"
                                       for c, _, _ in MIX))
        for scenario in scenarios:
            if scenario in SCENARIOS:
                per_day = per_day_for_load(data, days, SCENARIOS[scenario])
                chosen = f"{SCENARIOS[scenario]:.0%} of technician hours requested -> --per-day "
            else:
                per_day = {s.id: float(args.per_day) for s in data.shops}
                chosen = "--per-day "
            requests = generate_demand(data, days, per_day, args.seed, lead_days=args.lead_days,
                                       cancel_rate=args.cancel_rate,
                                       no_show_rate=args.no_show_rate)
            print(f"\n== scenario {scenario}: {chosen}{', '.join(f'{s} {v:.1f}' for s, v in per_day.items())}")
            print(f"   {describe_demand(data, days, requests)}")
            results: dict[str, dict[str, float | None]] = {}
            for policy_name in policies:
                f, checks, seconds = await run_policy(server, data, days, requests, policy_name)
                results[policy_name] = f
                booked_live = int(f["all.live"] or 0)
                print(f"   {policy_name}: {seconds:.0f} s simulated run; database: double bookings technician "
                      f"{checks['overlaps.technician']} / bay {checks['overlaps.bay']} / vehicle "
                      f"{checks['overlaps.vehicle']}; live rows {checks['live_rows']} "
                      f"({'agree' if checks['live_rows'] == booked_live else f'expected {booked_live}'}), "
                      f"cancelled {checks['cancelled_rows']} (of every request, lead-in and lead-out too)")
            print()
            print_table(data, results)
            print()
            print_targets(scenario, results)
        print(f"\nwall time {wall.perf_counter() - started:.0f} s; load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        ray.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
