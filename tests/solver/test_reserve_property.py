"""Reserves never make a request fail that an empty shop could serve (hypothesis).

An empty shop has no bookings. If, without reserves, the job fits some
technician's day whose unreserved capacity (working minutes less every
reserve's share) is at least the job, then with the reserves none of those
times is withheld, it still gets a slot, and every slot passes the
independent checker.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from solver import solve_slots, violations
from solver.constraints import candidates
from solver.problem import BayFree, ReserveRule, SlotProblem, TechnicianFree

ORIGIN = datetime(2026, 2, 2, tzinfo=UTC)
DAY = 24 * 60


@st.composite
def empty_shops(draw: st.DrawFn) -> SlotProblem:
    days = draw(st.integers(1, 4))
    day_starts = tuple(d * DAY for d in range(days))
    techs = []
    for t in range(draw(st.integers(1, 3))):
        free, working = [], []
        for start in day_starts:
            if draw(st.booleans()) or not free:  # some days off, but never every day
                opens = start + 15 * draw(st.integers(24, 44))  # 06:00..11:00
                length = 15 * draw(st.integers(16, 44))  # 4 h..11 h
                free.append((opens, opens + length))
                working.append(length)
            else:
                working.append(0)
        techs.append(
            TechnicianFree(
                id=f"T{t}",
                free=tuple(free),
                jobs_per_day=(0,) * days,
                daily_cap=6,
                working_minutes=tuple(working),
                booked_minutes=(0,) * days,
            )
        )
    urgent = draw(st.sampled_from([0.0, 0.1, 0.2, 0.3, 0.5]))
    priority = draw(st.sampled_from([0.0, 0.1, 0.2]))
    reserves = (
        ReserveRule("urgent_reserve", urgent, 60 * draw(st.integers(0, 72))),
        ReserveRule("priority_reserve", priority, 60 * draw(st.integers(0, 72))),
    )
    kept = draw(st.sampled_from([reserves, reserves[:1], ()]))  # regular routine, fleet routine, urgent work
    now = draw(st.integers(-3 * DAY, days * DAY))  # days ahead of now hold their reserves longest
    duration = 15 * draw(st.integers(2, 24))
    if draw(st.booleans()):  # often exactly as long as one day's unreserved capacity allows (on the grid)
        tech = draw(st.sampled_from(techs))
        day = draw(st.sampled_from([d for d, w in enumerate(tech.working_minutes) if w]))
        capacity = math.floor(tech.working_minutes[day] * (1 - sum(r.share for r in kept)) + 1e-9)
        duration = max(15, 15 * (capacity // 15))
    return SlotProblem(
        origin=ORIGIN,
        duration=duration,
        earliest=max(0, now),
        now=now,
        horizon_end=days * DAY,
        day_starts=day_starts,
        technicians=tuple(techs),
        bays=(BayFree("B1", ((0, days * DAY),)),),
        routine=bool(kept),
        reserves=kept,
        buffer=30,
        shortest_job=60,
    )


def unreserved_capacity(problem: SlotProblem, tech: TechnicianFree, day: int) -> int:
    return math.floor(tech.working_minutes[day] * (1 - sum(r.share for r in problem.reserves)) + 1e-9)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(empty_shops())
def test_reserves_never_fail_a_job_an_empty_shop_could_serve_within_its_unreserved_capacity(
    problem: SlotProblem,
) -> None:
    without = replace(problem, reserves=())
    servable = [
        c
        for c in candidates(without)
        if problem.duration <= unreserved_capacity(problem, problem.technicians[c.tech], c.day)
    ]
    assume(servable)
    # Not one of those times is withheld, so the request cannot fail ...
    kept = {(c.tech, c.start) for c in candidates(problem)}
    assert all((c.tech, c.start) in kept for c in servable)
    # ... and it gets slots the independent checker accepts.
    result = solve_slots(problem)
    assert result.slots, result.reasons
    for slot in result.slots:
        assert violations(problem, slot.technician_id, slot.bay_id, slot.start) == []
