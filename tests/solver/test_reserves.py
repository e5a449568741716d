"""The urgent and priority reserves on tiny fixed instances, in the solver and through solver.build.

Solver instances: three 600-minute days; the technician works 600 minutes a
day and is free only from 900 to 1200 (day 1) and 1500 to 1800 (day 2); a
120-minute job. The urgent reserve (20%) is released 300 minutes before its
day, the priority reserve (10%) 400 minutes before: on day 1 (from 600) at
minute 300 and 200. A routine job may fill day 1 to 480 minutes (urgent
reserve held) or 420 (both held).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from domain.catalog import ServiceCategory, ServiceType
from domain.customer import CustomerTier
from domain.job import Job
from domain.parts import PartsAvailability
from domain.policy import SchedulingPolicy
from domain.resources import Technician
from domain.shop import Shop, WeeklyHours
from domain.time_windows import Interval
from domain.urgency import Urgency
from solver import SolveStatus, solve_slots, violations
from solver.build import build_slot_problem, instant_of
from solver.problem import ReserveRule, SlotProblem

from .helpers import bay, problem, tech

URGENT = ReserveRule("urgent_reserve", 0.2, 300)
PRIORITY = ReserveRule("priority_reserve", 0.1, 400)
REGULAR_ROUTINE = (URGENT, PRIORITY)
FLEET_ROUTINE = (URGENT,)
URGENT_WORK = ()


def shop(booked_day1: int, reserves: tuple[ReserveRule, ...], *, now: int = 0, booked_day2: int = 0) -> SlotProblem:
    worker = tech(
        free=((900, 1200), (1500, 1800)),
        jobs_per_day=(0, 1, 1),
        working_minutes=(600, 600, 600),
        booked_minutes=(0, booked_day1, booked_day2),
    )
    kw: dict[str, Any] = {"day_starts": (0, 600, 1200), "horizon_end": 1800, "duration": 120}
    return problem(techs=(worker,), bays=(bay(free=((0, 1800),)),), reserves=reserves, now=now, **kw)


def starts(p: SlotProblem) -> list[int]:
    return sorted(s.start for s in solve_slots(p).slots)


def test_a_low_job_is_refused_the_urgent_reserve_and_told_when_it_opens() -> None:
    p = shop(booked_day1=400, booked_day2=400, reserves=REGULAR_ROUTINE)  # 400 + 120 > 480 on both days
    result = solve_slots(p)
    assert result.status is SolveStatus.INFEASIBLE
    [reason] = result.reasons
    assert reason.code == "urgent_reserve" and reason.withheld_start == 900 and reason.released_at == 300
    assert violations(p, "T1", "B1", 900) == ["urgent_reserve"]


def test_a_low_job_may_fill_the_day_up_to_the_reserve() -> None:
    exact = shop(booked_day1=360, booked_day2=600, reserves=FLEET_ROUTINE)  # 360 + 120 = 480, 80% of 600
    assert starts(exact)[0] == 900 and violations(exact, "T1", "B1", 900) == []
    over = shop(booked_day1=375, booked_day2=600, reserves=FLEET_ROUTINE)
    assert not starts(over) and violations(over, "T1", "B1", 900) == ["urgent_reserve"]


def test_a_critical_job_may_use_the_urgent_reserve() -> None:
    p = shop(booked_day1=400, booked_day2=400, reserves=URGENT_WORK)
    assert starts(p)[0] == 900
    assert violations(p, "T1", "B1", 900) == []


def test_the_urgent_reserve_is_released_at_its_horizon() -> None:
    assert starts(shop(booked_day1=400, reserves=REGULAR_ROUTINE, now=299))[0] >= 1500  # day 1 still held
    assert starts(shop(booked_day1=400, reserves=REGULAR_ROUTINE, now=300))[0] == 900


def test_a_slot_withheld_by_a_reserve_is_explained_when_a_later_one_is_offered() -> None:
    result = solve_slots(shop(booked_day1=400, reserves=REGULAR_ROUTINE))
    assert result.best is not None and result.best.start == 1500  # day 2 has room
    assert [(r.code, r.withheld_start, r.released_at) for r in result.reasons] == [("urgent_reserve", 900, 300)]
    unreserved = solve_slots(shop(booked_day1=400, reserves=URGENT_WORK))
    assert unreserved.reasons == ()


def test_fleet_may_use_the_priority_reserve_a_regular_customer_may_not() -> None:
    # 340 + 120 = 460: inside the urgent limit (480), past the priority limit (420).
    regular = shop(booked_day1=340, booked_day2=600, reserves=REGULAR_ROUTINE)
    result = solve_slots(regular)
    assert result.status is SolveStatus.INFEASIBLE
    assert [(r.code, r.withheld_start, r.released_at) for r in result.reasons] == [("priority_reserve", 900, 300)]
    assert violations(regular, "T1", "B1", 900) == ["priority_reserve"]
    fleet = shop(booked_day1=340, booked_day2=600, reserves=FLEET_ROUTINE)
    assert starts(fleet)[0] == 900 and violations(fleet, "T1", "B1", 900) == []


def test_the_priority_reserve_is_released_at_its_own_horizon() -> None:
    assert not starts(shop(booked_day1=340, booked_day2=600, reserves=REGULAR_ROUTINE, now=199))
    assert starts(shop(booked_day1=340, booked_day2=600, reserves=REGULAR_ROUTINE, now=200))[0] == 900


def test_a_technician_without_day_figures_is_held_to_no_reserve() -> None:
    p = problem(reserves=REGULAR_ROUTINE, now=-10_000)
    assert starts(p)[0] == 0


# -- through solver.build, from the policy's defaults ------------------------------------------------

MONDAY = date(2026, 2, 2)
EVERY_DAY = WeeklyHours({d: ((time(8), time(17)),) for d in range(1, 8)})
SHOP = Shop(id="S1", name="Shop", timezone="UTC", hours=EVERY_DAY)
OIL = ServiceType("oil_change", "Oil change", ServiceCategory.ROUTINE_MAINTENANCE, timedelta(hours=2))
MIKE = Technician("T1", "S1", "Mike", "general", 4.5, 5, frozenset(), EVERY_DAY)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def thursday_problem(
    urgency: Urgency, tier: CustomerTier = CustomerTier.REGULAR, *, now: datetime, booked_hours: int
) -> SlotProblem:
    """Mike is free only on Thursday after a job from 08:00 of ``booked_hours``; the horizon is Mon..Thu."""
    first = now.date()
    days = (MONDAY + timedelta(days=3) - first).days + 1
    window = Interval(at(first, 0), at(first + timedelta(days=days), 0))
    thursday = MONDAY + timedelta(days=3)
    job_end = at(thursday, 8 + booked_hours)
    free = [Interval(job_end + timedelta(minutes=30), at(thursday, 17))]
    job = Job("V1", "oil_change", urgency, timedelta(hours=2), customer_tier=tier)
    return build_slot_problem(
        SHOP,
        [(MIKE, free, {thursday: 1})],
        [],
        OIL,
        job,
        PartsAvailability(available=True, ready_at=now),
        SchedulingPolicy(),
        now,
        horizon_days=days,
        on_site=True,  # no bay: only the technician's day matters here
        technician_days={"T1": (MIKE.working_time(SHOP, window), [Interval(at(thursday, 8), job_end)])},
    )


def test_build_keeps_routine_work_out_of_the_default_reserves_until_their_release() -> None:
    monday = at(MONDAY, 9)
    # 6 h booked + 2 h > 80% of 9 h: the urgent reserve (24 h before Thursday) keeps a LOW job out.
    low = thursday_problem(Urgency.LOW, now=monday, booked_hours=6)
    assert [r.code for r in low.reserves] == ["urgent_reserve", "priority_reserve"] and low.routine
    assert low.technicians[0].working_minutes == (540, 540, 540, 540)
    assert low.technicians[0].booked_minutes == (0, 0, 0, 360)
    result = solve_slots(low)
    assert not result.slots
    [reason] = result.reasons
    assert reason.code == "urgent_reserve" and reason.released_at is not None
    assert instant_of(low, reason.released_at) == at(MONDAY + timedelta(days=2), 0)  # Wednesday 00:00
    for urgent in (Urgency.CRITICAL, Urgency.HIGH):
        p = thursday_problem(urgent, now=monday, booked_hours=6)
        assert p.reserves == () and not p.routine
        best = solve_slots(p).best
        assert best is not None and instant_of(p, best.start) == at(MONDAY + timedelta(days=3), 14, 30)
    wednesday = thursday_problem(Urgency.LOW, now=at(MONDAY + timedelta(days=2), 0), booked_hours=6)
    assert solve_slots(wednesday).slots


def test_build_opens_the_priority_reserve_to_fleet_and_premium_customers() -> None:
    monday = at(MONDAY, 9)
    # 5 h booked + 2 h: inside 80% of 9 h (432 min), past 70% (378 min).
    regular = thursday_problem(Urgency.MEDIUM, now=monday, booked_hours=5)
    assert [r.code for r in solve_slots(regular).reasons] == ["priority_reserve"]
    for tier in (CustomerTier.FLEET, CustomerTier.PREMIUM):
        p = thursday_problem(Urgency.MEDIUM, tier, now=monday, booked_hours=5)
        assert [r.code for r in p.reserves] == ["urgent_reserve"] and solve_slots(p).slots
    # 48 h before Thursday the priority reserve opens to everyone.
    tuesday = thursday_problem(Urgency.MEDIUM, now=at(MONDAY + timedelta(days=1), 0), booked_hours=5)
    assert solve_slots(tuesday).slots
