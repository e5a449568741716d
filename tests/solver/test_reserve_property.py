"""Reserves never make a request fail that an empty shop could serve outside them (hypothesis).

An empty shop has no bookings. Its urgent blocks come from
``solver.reserves.place_blocks`` over the technicians' working time. If a job
fits, on the slot grid, in some technician's working time clear of the held
blocks and their buffers, on a day whose unreserved volume (working minutes
less the priority share, while held) is at least the job, then with the
reserves it still gets a slot, and every slot passes the independent checker.
The stretch is found here by plain arithmetic, not by the solver's rules.
A second property checks where the blocks lie.
"""

from __future__ import annotations

import math
from itertools import pairwise

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from solver import solve_slots, violations
from solver.problem import BayFree, ReserveRule, SlotProblem, TechnicianFree
from solver.reserves import place_blocks

from .helpers import ORIGIN

DAY = 24 * 60
STEP = 15
BLOCK = 120
BUFFER = 30


@st.composite
def working_days(draw: st.DrawFn) -> tuple[int, dict[str, list[tuple[int, int]]]]:
    days = draw(st.integers(1, 4))
    working: dict[str, list[tuple[int, int]]] = {}
    for t in range(draw(st.integers(1, 4))):
        spans = []
        for d in range(days):
            if draw(st.booleans()) or not spans:  # some days off, but never every day
                opens = d * DAY + STEP * draw(st.integers(24, 44))  # 06:00..11:00
                spans.append((opens, opens + STEP * draw(st.integers(4, 44))))  # 1 h..11 h
        working[f"T{t}"] = spans
    return days, working


@st.composite
def empty_shops(draw: st.DrawFn) -> SlotProblem:
    days, working = draw(working_days())
    day_starts = tuple(d * DAY for d in range(days))
    urgent = ReserveRule("urgent_reserve", draw(st.sampled_from([0.1, 0.2, 0.3])), 60 * draw(st.integers(0, 72)), True)
    priority = ReserveRule("priority_reserve", draw(st.sampled_from([0.0, 0.1, 0.2])), 60 * draw(st.integers(0, 72)))
    kept = draw(st.sampled_from([(urgent, priority), (urgent,), ()]))  # regular routine, fleet routine, urgent work
    blocks = place_blocks(working, day_starts, days * DAY, urgent.share, BLOCK, STEP)
    techs = tuple(
        TechnicianFree(
            id=tid,
            free=tuple(spans),
            jobs_per_day=(0,) * days,
            daily_cap=6,
            working_minutes=tuple(
                sum(hi - lo for lo, hi in spans if d * DAY <= lo < (d + 1) * DAY) for d in range(days)
            ),
            booked_minutes=(0,) * days,
            reserved=blocks[tid],
        )
        for tid, spans in working.items()
    )
    now = draw(st.integers(-3 * DAY, days * DAY))  # days ahead of now hold their reserves longest
    return SlotProblem(
        origin=ORIGIN,
        duration=STEP * draw(st.integers(2, 24)),
        earliest=max(0, now),
        now=now,
        horizon_end=days * DAY,
        day_starts=day_starts,
        technicians=techs,
        bays=(BayFree("B1", ((0, days * DAY),)),),
        routine=bool(kept),
        reserves=kept,
        buffer=BUFFER,
        shortest_job=60,
    )


def _held(problem: SlotProblem, reserve: ReserveRule, day: int) -> bool:
    return problem.clock < day * DAY - reserve.release


def fits_outside_the_reserves(problem: SlotProblem) -> bool:
    """Some technician's day has a grid start clear of held blocks (with buffers) and within the held volume."""
    for tech in problem.technicians:
        for lo, hi in tech.free:
            day = lo // DAY
            holes: list[tuple[int, int]] = []
            too_long = False
            for r in problem.reserves:
                if not _held(problem, r, day):
                    continue
                if r.positioned:
                    holes += [(b_lo - BUFFER, b_hi + BUFFER) for b_lo, b_hi in tech.reserved if b_lo // DAY == day]
                else:
                    too_long = problem.duration > math.floor(tech.working_minutes[day] * (1 - r.share) + 1e-9)
            if too_long:
                continue
            cursor = lo
            for h_lo, h_hi in [*sorted(holes), (hi, hi)]:
                first = -(-max(cursor, problem.earliest) // STEP) * STEP
                if first + problem.duration <= min(h_lo, hi):
                    return True
                cursor = max(cursor, h_hi)
    return False


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(empty_shops())
def test_reserves_never_fail_a_job_an_empty_shop_could_serve_outside_them(problem: SlotProblem) -> None:
    assume(fits_outside_the_reserves(problem))
    result = solve_slots(problem)
    assert result.slots, result.reasons
    for slot in result.slots:
        assert violations(problem, slot.technician_id, slot.bay_id, slot.start) == []


@settings(max_examples=300, deadline=None)
@given(working_days(), st.sampled_from([0.1, 0.2, 0.3, 0.5]))
def test_blocks_lie_in_working_time_on_the_grid_and_near_the_share(
    shop: tuple[int, dict[str, list[tuple[int, int]]]], share: float
) -> None:
    days, working = shop
    blocks = place_blocks(working, [d * DAY for d in range(days)], days * DAY, share, BLOCK, STEP)
    for tid, spans in blocks.items():
        assert list(spans) == sorted(spans)
        for (_, a_hi), (b_lo, _) in pairwise(spans):
            assert a_hi <= b_lo  # one technician's blocks never overlap
        for lo, hi in spans:
            assert hi - lo == BLOCK and lo % STEP == 0
            assert any(w_lo <= lo and hi <= w_hi for w_lo, w_hi in working[tid])
    for d in range(days):
        total = sum(
            min(hi, (d + 1) * DAY) - max(lo, d * DAY)
            for w in working.values()
            for lo, hi in w
            if lo < (d + 1) * DAY and hi > d * DAY
        )
        kept = sum(hi - lo for spans in blocks.values() for lo, hi in spans if d * DAY <= lo < (d + 1) * DAY)
        assert kept <= max(BLOCK, math.floor(share * total / BLOCK + 0.5) * BLOCK)
        can_hold_one = any(hi - lo >= BLOCK for w in working.values() for lo, hi in w if d * DAY <= lo < (d + 1) * DAY)
        assert (kept > 0) == can_hold_one
