"""On-site slot search benchmark (issue 17): prints figures, asserts nothing.

A 6-van team with 8 on-site visits each on the searched day, sites within 15 km
of the base, travel by the straight-line formula. Each run does in process what
an on-site search does after reading the store: the visits and base edges with
their drives (``MobileRules.search_visits``), the solver problem, the CP-SAT
ranking and the mapping to slots. The store read (one indexed query) and the
actors' free time are not in the figure.

Run: ``.venv/bin/python bench/mobile.py [--runs N] [--days D]``
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

from application.mobile import MobileRules  # noqa: E402
from domain.appointment import Appointment, AppointmentStatus  # noqa: E402
from domain.catalog import ServiceCategory, ServiceType  # noqa: E402
from domain.job import Job  # noqa: E402
from domain.parts import PartsAvailability  # noqa: E402
from domain.policy import Reserve, ReserveKind, SchedulingPolicy  # noqa: E402
from domain.resources import Technician  # noqa: E402
from domain.shop import GeoPoint, Shop, WeeklyHours  # noqa: E402
from domain.time_windows import Interval, local_day_bounds, subtract  # noqa: E402
from domain.urgency import Urgency  # noqa: E402
from integrations.travel_times import StraightLineTravel  # noqa: E402
from solver.build import build_slot_problem, to_slots  # noqa: E402
from solver.ranking import solve_slots  # noqa: E402

BASE = GeoPoint(52.53, 13.37)
HOURS = WeeklyHours(
    {d: ((datetime.min.time().replace(hour=8), datetime.min.time().replace(hour=17)),) for d in range(1, 8)}
)
SHOP = Shop("bench", "Bench", "UTC", HOURS, location=BASE)
SERVICE = ServiceType(
    "mobile_tires", "Tires at home", ServiceCategory.ROUTINE_MAINTENANCE, timedelta(hours=1),
    required_skill="tires", required_equipment=frozenset({"tire_kit"}), on_site=True,
)  # fmt: skip
POLICY = SchedulingPolicy(
    buffer=timedelta(minutes=15),
    max_bookings_per_technician_per_day=12,
    urgent_reserve=Reserve(ReserveKind.URGENT, 0.0, timedelta(hours=12), timedelta(hours=2)),
    priority_reserve=Reserve(ReserveKind.PRIORITY, 0.0, timedelta(hours=48)),
)
RULES = MobileRules(StraightLineTravel())


def near(rng: random.Random, km: float) -> GeoPoint:
    return GeoPoint(BASE.lat + rng.uniform(-km, km) / 111.0, BASE.lon + rng.uniform(-km, km) / 68.0)


def team(rng: random.Random, day: date, vans: int, visits: int) -> tuple[list[Technician], list[Appointment]]:
    techs = [
        Technician(
            f"van{i}",
            "bench",
            f"Van {i}",
            "Mobile",
            4.5,
            5,
            frozenset({"tires"}),
            HOURS,
            mobile=True,
            base=BASE,
            van_equipment=frozenset({"tire_kit"}),
        )
        for i in range(vans)
    ]
    booked = []
    for t in techs:
        clock = datetime.combine(day, datetime.min.time().replace(hour=8), UTC) + timedelta(minutes=20)
        for n in range(visits):
            start = clock + timedelta(minutes=rng.choice((0, 5, 10)))
            appt = Appointment(
                f"{t.id}-{n}", "bench", f"V{t.id}{n}", SERVICE.code, Urgency.MEDIUM, t.id, t.van_id,
                Interval(start, start + timedelta(minutes=30)), AppointmentStatus.SCHEDULED, start,
                site=near(rng, 15),
            )  # fmt: skip
            booked.append(appt)
            clock = appt.end + timedelta(minutes=20)
    return techs, booked


async def one_search(rng: random.Random, day: date, days: int, vans: int, visits: int) -> tuple[float, int]:
    techs, booked = team(rng, day, vans, visits)
    now = datetime.combine(day, datetime.min.time(), UTC) - timedelta(days=1)
    window = Interval(
        local_day_bounds(day, SHOP.tz).start, local_day_bounds(day + timedelta(days=days - 1), SHOP.tz).end
    )
    working = {t.id: t.working_time(SHOP, window) for t in techs}
    busy = {
        t.id: [a.interval.widened(timedelta(0), POLICY.buffer) for a in booked if a.technician_id == t.id]
        for t in techs
    }
    job = Job("V-new", SERVICE.code, Urgency.HIGH, timedelta(hours=1), location=near(rng, 15), earliest=window.start)
    started = time.perf_counter()
    plans = await RULES.search_visits(booked, SHOP, techs, working, job.location or BASE)
    problem = build_slot_problem(
        SHOP,
        [(t, subtract(working[t.id], busy[t.id]), {day: visits}) for t in techs],
        [],
        SERVICE,
        job,
        PartsAvailability(available=True, ready_at=now),
        POLICY,
        window.start,
        horizon_days=days,
        on_site=True,
        visits=plans,
    )
    slots = to_slots(problem, solve_slots(problem, time_limit_s=0.5))
    return (time.perf_counter() - started) * 1000, len(slots)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--days", type=int, default=1, help="days searched (the first is the busy one)")
    parser.add_argument("--vans", type=int, default=6)
    parser.add_argument("--visits", type=int, default=8)
    args = parser.parse_args()
    rng = random.Random(17)
    day = date(2027, 3, 2)
    for _ in range(20):
        await one_search(rng, day, args.days, args.vans, args.visits)  # warm OR-Tools
    times, found = [], []
    for _ in range(args.runs):
        ms, n = await one_search(rng, day, args.days, args.vans, args.visits)
        times.append(ms)
        found.append(n)
    print(f"on-site search, {args.vans} vans x {args.visits} visits, {args.days} day(s), {args.runs} runs")
    print(f"  slots offered: median {statistics.median(found):.0f}")
    print(f"  search ms (visits+travel, build, CP-SAT, slots): p50 {pct(times, 0.5):.2f}  p99 {pct(times, 0.99):.2f}")


if __name__ == "__main__":
    asyncio.run(main())
