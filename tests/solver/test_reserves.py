"""The urgent and priority reserves on tiny fixed instances, in the solver and through solver.build.

Solver instances: three 600-minute days (day 1 is minutes 600-1200); the
technician works and is free from 600 to 1200 and from 1200 to 1800; a
120-minute job, a 30-minute buffer. The urgent reserve keeps the block 780-900
on day 1 (so a job kept out of it may not touch 750-930) and is released 300
minutes before its day, at minute 300. The priority reserve keeps 10% of each
day's 600 working minutes (540 may be booked) and is released 400 minutes
before its day, at minute 200 for day 1.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

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
from solver.build import build_slot_problem, inner_spans, instant_of
from solver.problem import ReserveRule, SlotProblem
from solver.reserves import _within, place_blocks
from solver.spans import intersect, normalize

from .helpers import bay, problem, tech

URGENT = ReserveRule("urgent_reserve", 0.2, 300, positioned=True)
PRIORITY = ReserveRule("priority_reserve", 0.1, 400)
REGULAR_ROUTINE = (URGENT, PRIORITY)
FLEET_ROUTINE = (URGENT,)
URGENT_WORK = ()
BLOCK = (780, 900)


def shop(
    reserves: tuple[ReserveRule, ...],
    *,
    now: int = 0,
    free: tuple[tuple[int, int], ...] = ((600, 1200), (1200, 1800)),
    booked_day1: int = 0,
    booked_day2: int = 0,
) -> SlotProblem:
    worker = tech(
        free=free,
        jobs_per_day=(0, 0, 0),
        working_minutes=(0, 600, 600),
        booked_minutes=(0, booked_day1, booked_day2),
        reserved=(BLOCK,),
    )
    kw: dict[str, Any] = {"day_starts": (0, 600, 1200), "horizon_end": 1800, "duration": 120, "buffer": 30}
    return problem(techs=(worker,), bays=(bay(free=((0, 1800),)),), reserves=reserves, now=now, **kw)


def starts(p: SlotProblem) -> list[int]:
    return sorted(s.start for s in solve_slots(p).slots)


def test_a_low_job_may_not_touch_a_held_block_nor_its_buffer() -> None:
    p = shop(FLEET_ROUTINE)
    assert violations(p, "T1", "B1", 780) == ["urgent_reserve"]
    assert violations(p, "T1", "B1", 645) == ["urgent_reserve"]  # ends 765: inside the buffer before the block
    assert violations(p, "T1", "B1", 915) == ["urgent_reserve"]  # starts inside the buffer after it
    assert violations(p, "T1", "B1", 630) == [] and violations(p, "T1", "B1", 930) == []
    assert all(s + 120 <= 750 or s >= 930 for s in starts(p))


def test_a_critical_job_may_use_the_urgent_reserve() -> None:
    p = shop(URGENT_WORK)
    assert violations(p, "T1", "B1", 780) == []
    assert solve_slots(p).best is not None


def test_the_urgent_reserve_is_released_at_its_horizon() -> None:
    assert violations(shop(FLEET_ROUTINE, now=299), "T1", "B1", 780) == ["urgent_reserve"]
    assert violations(shop(FLEET_ROUTINE, now=300), "T1", "B1", 780) == []


def test_a_low_job_refused_a_whole_day_is_told_which_time_the_reserve_kept_and_when_it_opens() -> None:
    # Free 690-1000 on day 1: the block leaves 690-750 and 930-1000, both too short; day 2 has room.
    p = shop(FLEET_ROUTINE, free=((690, 1000), (1300, 1800)))
    result = solve_slots(p)
    assert result.best is not None and result.best.start >= 1300
    assert [(r.code, r.withheld_start, r.released_at) for r in result.reasons] == [("urgent_reserve", 690, 300)]
    only_day_1 = shop(FLEET_ROUTINE, free=((690, 1000),))
    assert solve_slots(only_day_1).status is SolveStatus.INFEASIBLE
    assert solve_slots(shop(URGENT_WORK, free=((690, 1000),))).best is not None


def test_fleet_may_use_the_priority_reserve_a_regular_customer_may_not() -> None:
    # 440 + 120 = 560 > 540 on day 1 (day 2 full); the slot at 930 is clear of the urgent block.
    regular = shop(REGULAR_ROUTINE, booked_day1=440, booked_day2=600)
    assert violations(regular, "T1", "B1", 930) == ["priority_reserve"]
    result = solve_slots(regular)
    assert result.status is SolveStatus.INFEASIBLE
    assert [(r.code, r.released_at) for r in result.reasons] == [("priority_reserve", 200)]
    fleet = shop(FLEET_ROUTINE, booked_day1=440, booked_day2=600)
    assert violations(fleet, "T1", "B1", 930) == [] and starts(fleet)


def test_the_priority_reserve_is_released_at_its_own_horizon() -> None:
    assert not starts(shop(REGULAR_ROUTINE, booked_day1=440, booked_day2=600, now=199))
    assert starts(shop(REGULAR_ROUTINE, booked_day1=440, booked_day2=600, now=200))


def test_a_technician_without_day_figures_or_blocks_is_held_to_no_reserve() -> None:
    p = problem(reserves=REGULAR_ROUTINE, now=-10_000)
    assert starts(p)[0] == 0


# -- where the blocks lie ---------------------------------------------------------------------------------

DAY = 24 * 60


def test_one_technician_keeps_one_block_at_the_start_of_the_day() -> None:
    blocks = place_blocks({"T1": [(480, 960)]}, [0], DAY, share=0.25, block=120, step=15)
    assert blocks == {"T1": ((480, 600),)}


def test_a_shop_spreads_its_blocks_over_the_day_and_over_its_technicians() -> None:
    early, late = (480, 960), (600, 1080)  # 08:00-16:00 and 10:00-18:00
    working = {"A": [early], "B": [late], "C": [early], "D": [late], "E": [early]}
    blocks = place_blocks(working, [0], DAY, share=0.2, block=120, step=15)
    placed = sorted((lo, hi, tid) for tid, spans in blocks.items() for lo, hi in spans)
    # 20% of 40 h is 8 h: four 2 h blocks, ideally from 08:00 to 16:00 every 2 h 40 min.
    assert [lo for lo, _, _ in placed] == [480, 630, 795, 960]
    assert len({tid for _, _, tid in placed}) == 4  # one per technician while others have none
    for lo, hi, tid in placed:
        assert hi - lo == 120 and lo % 15 == 0
        assert any(a <= lo and hi <= b for a, b in working[tid])


def test_a_short_day_keeps_one_block_and_a_day_without_room_none() -> None:
    saturday = place_blocks({"T1": [(540, 840)]}, [0], DAY, share=0.2, block=120, step=15)
    assert saturday == {"T1": ((540, 660),)}
    too_short = place_blocks({"T1": [(540, 630)]}, [0], DAY, share=0.2, block=120, step=15)
    assert too_short == {"T1": ()}
    none = place_blocks({"T1": [(540, 1020)]}, [0], DAY, share=0.0, block=120, step=15)
    assert none == {"T1": ()}


def test_blocks_are_placed_per_day() -> None:
    working = {"T1": [(480, 960), (DAY + 480, DAY + 960)]}
    assert place_blocks(working, [0, DAY], 2 * DAY, share=0.25, block=120, step=15) == {
        "T1": ((480, 600), (DAY + 480, DAY + 600))
    }


# -- through solver.build, from the policy's defaults ------------------------------------------------

MONDAY = date(2026, 2, 2)
EVERY_DAY = WeeklyHours({d: ((time(8), time(17)),) for d in range(1, 8)})
SHOP = Shop(id="S1", name="Shop", timezone="UTC", hours=EVERY_DAY)
OIL = ServiceType("oil_change", "Oil change", ServiceCategory.ROUTINE_MAINTENANCE, timedelta(hours=2))
MIKE = Technician("T1", "S1", "Mike", "general", 4.5, 5, frozenset(), EVERY_DAY)
THURSDAY = MONDAY + timedelta(days=3)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def thursday_problem(
    urgency: Urgency,
    tier: CustomerTier = CustomerTier.REGULAR,
    *,
    now: datetime,
    booked: tuple[int, int] = (17 * 60, 17 * 60),
    policy: SchedulingPolicy | None = None,
) -> SlotProblem:
    """Mike is free only on Thursday, before a job at ``booked`` (minutes of the day); the horizon is Mon..Thu."""
    first = now.date()
    days = (THURSDAY - first).days + 1
    window = Interval(at(first, 0), at(first + timedelta(days=days), 0))
    job_start, job_end = (at(THURSDAY, 0) + timedelta(minutes=m) for m in booked)
    free = [Interval(at(THURSDAY, 8), min(at(THURSDAY, 17), job_start - timedelta(minutes=30)))]
    job = Job("V1", "oil_change", urgency, timedelta(hours=2), customer_tier=tier)
    return build_slot_problem(
        SHOP,
        [(MIKE, free, {THURSDAY: 1})],
        [],
        OIL,
        job,
        PartsAvailability(available=True, ready_at=now),
        policy or SchedulingPolicy(),
        now,
        horizon_days=days,
        on_site=True,  # no bay: only the technician's day matters here
        technician_days={"T1": (MIKE.working_time(SHOP, window), [Interval(job_start, job_end)])},
    )


def test_build_keeps_routine_work_out_of_the_morning_block_until_its_release() -> None:
    monday = at(MONDAY, 9)
    low = thursday_problem(Urgency.LOW, now=monday)
    assert [r.code for r in low.reserves] == ["urgent_reserve", "priority_reserve"] and low.routine
    # A lone technician's 9 h day: 10% is 0.45 of a 2 h block, still one block, at the day's start.
    assert [(instant_of(low, lo), instant_of(low, hi)) for lo, hi in low.technicians[0].reserved][-1] == (
        at(THURSDAY, 8),
        at(THURSDAY, 10),
    )
    minute = {hhmm: int((at(THURSDAY, *hhmm) - low.origin).total_seconds() // 60) for hhmm in ((8, 0), (10, 30))}
    assert violations(low, "T1", None, minute[8, 0]) == ["urgent_reserve"]
    assert violations(low, "T1", None, minute[10, 30]) == []  # after the block and its buffer
    best = solve_slots(low).best
    assert best is not None and instant_of(low, best.start) >= at(THURSDAY, 10, 30)
    critical = thursday_problem(Urgency.CRITICAL, now=monday)
    assert critical.reserves == critical.borrows == () and not critical.routine
    best = solve_slots(critical).best
    assert best is not None and instant_of(critical, best.start) == at(THURSDAY, 8)
    high = thursday_problem(Urgency.HIGH, now=monday)  # may use the block, at a cost (the next test)
    assert high.reserves == () and [r.code for r in high.borrows] == ["urgent_reserve"] and not high.routine
    assert violations(high, "T1", None, minute[8, 0]) == []
    # 12 h before Thursday (Wednesday 12:00) the block opens to everyone.
    early = thursday_problem(Urgency.LOW, now=at(MONDAY + timedelta(days=2), 11, 59))
    eight = int((at(THURSDAY, 8) - early.origin).total_seconds() // 60)
    assert violations(early, "T1", None, eight) == ["urgent_reserve"]
    wednesday = thursday_problem(Urgency.LOW, now=at(MONDAY + timedelta(days=2), 12))
    best = solve_slots(wednesday).best
    assert best is not None and instant_of(wednesday, best.start) == at(THURSDAY, 8)


def test_build_refuses_a_day_whose_only_room_is_the_block_and_says_when_it_opens() -> None:
    # Booked from 11:00: free 08:00-10:30, which is the block and its buffer.
    low = thursday_problem(Urgency.LOW, now=at(MONDAY, 9), booked=(11 * 60, 17 * 60))
    result = solve_slots(low)
    assert not result.slots
    [reason] = result.reasons
    assert reason.code == "urgent_reserve" and reason.released_at is not None
    assert instant_of(low, reason.released_at) == at(MONDAY + timedelta(days=2), 12)


def test_build_opens_the_priority_reserve_to_fleet_and_premium_customers() -> None:
    monday = at(MONDAY, 9)
    # Without an urgent reserve: booked 10:30-17:00 (6.5 h) + 2 h from 08:00 is past 90% of 9 h (486 min).
    policy = SchedulingPolicy()
    policy = replace(policy, urgent_reserve=replace(policy.urgent_reserve, share=0.0))
    booked = (10 * 60 + 30, 17 * 60)
    regular = thursday_problem(Urgency.MEDIUM, now=monday, booked=booked, policy=policy)
    assert [r.code for r in solve_slots(regular).reasons] == ["priority_reserve"]
    for tier in (CustomerTier.FLEET, CustomerTier.PREMIUM):
        p = thursday_problem(Urgency.MEDIUM, tier, now=monday, booked=booked, policy=policy)
        assert p.reserves == () and solve_slots(p).slots
    # 48 h before Thursday the priority reserve opens to everyone.
    tuesday = thursday_problem(Urgency.MEDIUM, now=at(MONDAY + timedelta(days=1), 0), booked=booked, policy=policy)
    assert solve_slots(tuesday).slots


def test_high_work_borrows_a_block_only_when_that_saves_real_waiting() -> None:
    # T1 is free 600-1000 and keeps the block 780-900 (nothing fits after it); T2 keeps none.
    # A HIGH job from 780.
    def two(free_t2: tuple[tuple[int, int], ...]) -> SlotProblem:
        kw: dict[str, Any] = {"day_starts": (0, 600, 1200), "horizon_end": 1800, "duration": 120, "buffer": 30}
        t1 = tech("T1", free=((600, 1000),), jobs_per_day=(0, 0, 0), reserved=(BLOCK,))
        t2 = tech("T2", free=free_t2, jobs_per_day=(0, 0, 0))
        return problem(
            techs=(t1, t2),
            bays=(bay(free=((0, 1800),)),),
            borrows=FLEET_ROUTINE,
            earliest=780,
            now=0,
            urgency_weight=Urgency.HIGH.weight,
            **kw,
        )

    both_free = solve_slots(two(((600, 1200),)))
    assert both_free.best is not None and (both_free.best.technician_id, both_free.best.start) == ("T2", 780)
    assert all(("urgent_reserve_use", 100) in s.penalties for s in both_free.slots if s.technician_id == "T1")
    # T2 only free on day 2: waiting a day costs more than the block, so T1's block is taken now.
    t2_late = solve_slots(two(((1300, 1800),)))
    assert t2_late.best is not None and (t2_late.best.technician_id, t2_late.best.start) == ("T1", 780)
    assert ("urgent_reserve_use", 100) in t2_late.best.penalties
    # Released (now past its horizon): no cost.
    released = solve_slots(replace(two(((1300, 1800),)), now=300))
    assert released.best is not None and all(name != "urgent_reserve_use" for name, _ in released.best.penalties)


span_lists = st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 600)), max_size=30).map(
    lambda pairs: normalize((a, a + n) for a, n in pairs)
)


@given(span_lists, st.integers(0, 5000), st.integers(0, 2000))
def test_a_day_cut_by_bisection_is_the_intersection(spans: list[tuple[int, int]], lo: int, length: int) -> None:
    # place_blocks cuts each day out of a whole horizon's working time by bisection, not a scan
    assert _within(spans, lo, lo + length) == intersect(spans, [(lo, lo + length)])


@given(
    st.lists(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)), max_size=8),
    st.lists(st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=30)), min_size=8, max_size=8),
)
def test_inner_spans_round_inwards_to_whole_minutes(starts: list[datetime], lengths: list[timedelta]) -> None:
    origin = datetime(2025, 3, 9, tzinfo=ZoneInfo("America/New_York"))
    intervals = [
        Interval(s.replace(tzinfo=UTC), s.replace(tzinfo=UTC) + n) for s, n in zip(starts, lengths, strict=False)
    ]
    expected = normalize(
        (math.ceil((iv.start - origin).total_seconds() / 60), math.floor((iv.end - origin).total_seconds() / 60))
        for iv in intervals
    )
    assert list(inner_spans(intervals, origin)) == expected
